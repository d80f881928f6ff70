/*
 * The zone database: one zone's nodes in a hash table keyed by owner name, each
 * node with its RRsets and the flags the answer algorithm needs (zone cut, DNAME,
 * CNAME, occlusion). Where the records came from (file:line) is not kept here:
 * the loader returns it apart (lib/positions.h), for the checker only.
 *
 * A zone is built with canon_zone_add() calls and sealed with canon_zone_seal();
 * after that it is read-only and may be shared by any number of threads.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/rrset.h>

#include "lib/name.h"

/*
 * ALIAS, canon's private type (RFC 6895 §3.1 private use range) for CNAME
 * flattening: its data is one domain name, and A/AAAA queries at its owner are
 * answered with the addresses of that name. Written "ALIAS target." in zone
 * files; on the wire it is TYPE65401.
 */
#define CANON_RRTYPE_ALIAS 65401

typedef struct canon_rrset {
	knot_rrset_t rr;
	/*
	 * Sealed: the RRSIGs covering this RRset, a view into the node's RRSIG
	 * RRset (no copy of the signatures) with this RRset's TTL (RFC 4034 §3);
	 * NULL when it has none.
	 */
	knot_rrset_t *sigs;
} canon_rrset_t;

enum canon_node_flags {
	CANON_NODE_DELEG = 1 << 0,       /* NS below the apex: a zone cut (RFC 1034 §4.2.1). */
	CANON_NODE_DNAME = 1 << 1,       /* Owns a DNAME (RFC 6672). */
	CANON_NODE_CNAME = 1 << 2,       /* Owns a CNAME. */
	CANON_NODE_BELOW_CUT = 1 << 3,   /* Strictly below a zone cut: glue or occluded. */
	CANON_NODE_BELOW_DNAME = 1 << 4, /* Strictly below a DNAME owner (RFC 6672 §2.3). */
	/* A/AAAA come from a target: the node owns an ALIAS, or a flattened CNAME. */
	CANON_NODE_ALIAS = 1 << 5,
	/*
	 * Its CNAME is flattened (canon_zone_t.flatten): answered as an ALIAS to the
	 * CNAME's target. CANON_NODE_CNAME is then clear, CANON_NODE_ALIAS set.
	 */
	CANON_NODE_FLATTENED = 1 << 6,
	/*
	 * Holds only an NSEC3 and its RRSIGs (in a zone whose apex has an
	 * NSEC3PARAM): not a name of the zone's tree, a query for it gets NXDOMAIN
	 * (RFC 5155 §7.2.8), canon_zone_find() does not find it.
	 */
	CANON_NODE_NSEC3 = 1 << 7,
	/* It and its RRsets are in canon_zone_t.store, freed with it (zone.c; not for readers). */
	CANON_NODE_STORED = 1 << 8,
};

/* CNAME flattening modes (Cloudflare's): which CNAMEs are answered as ALIAS. */
typedef enum {
	CANON_FLATTEN_NONE = 0, /* none: CNAMEs are CNAMEs (RFC 1034) */
	CANON_FLATTEN_APEX,     /* apex: a CNAME at the zone apex is flattened */
	CANON_FLATTEN_ALL,      /* all: every CNAME in the zone is flattened */
} canon_flatten_t;

typedef struct canon_node {
	knot_dname_t *owner;         /* Lower-case wire format, stored right after the node. */
	struct canon_node *parent;   /* NULL at the apex. */
	struct canon_node *wildcard; /* The '*' child (RFC 4592), if the zone has one. */
	canon_rrset_t *rrsets;
	uint16_t rrset_count;
	uint16_t rrset_cap;
	uint16_t flags;
	uint16_t owner_size; /* Wire size of owner. */
	uint32_t hash;       /* canon_name_hash(owner) */
	uint32_t id;         /* Order of creation in its zone (lib/positions.h keys on it). */
} canon_node_t;

/*
 * A hash slot keeps the node's hash beside its index, so that probing past
 * other names costs no memory access to their nodes (the lookup's cache misses
 * dominated the query path's own time). An index, not a pointer: 8 octets a
 * slot instead of 16, 2 MiB less for a zone of 100,000 names (bench/run
 * --memory).
 */
typedef struct {
	uint32_t hash;
	uint32_t node; /* 1 + the node's index in the zone's nodes (its id); 0: empty slot. */
} canon_slot_t;

/* How a sealed zone proves that names and types do not exist (RFC 4035 §3.1.3, RFC 5155). */
typedef enum {
	CANON_DENIAL_NONE = 0, /* Unsigned, or signed without NSEC/NSEC3 at the apex. */
	CANON_DENIAL_NSEC,     /* NSEC at the apex. */
	CANON_DENIAL_NSEC3,    /* NSEC3PARAM at the apex. */
} canon_denial_t;

typedef struct canon_zone {
	knot_dname_t *apex_name; /* Lower-case wire format. */
	canon_node_t *apex;
	canon_node_t **nodes; /* In the order the zone file named them first. */
	uint32_t *canonical;  /* Sealed: indices into nodes in canonical order (canon_zone_walk). */
	size_t node_count;
	size_t node_cap;
	canon_slot_t *slots; /* Open-addressing hash table of nodes. */
	uint32_t slot_mask;
	size_t record_count;
	canon_flatten_t flatten; /* Set before canon_zone_seal(); the zone keeps its CNAMEs. */
	const canon_rrset_t *soa;
	knot_rrset_t negative_soa;      /* SOA with TTL min(TTL, MINIMUM) (RFC 2308 §3). */
	knot_rrset_t negative_soa_sigs; /* Its RRSIGs with that TTL (count 0: none). */
	canon_denial_t denial;
	/*
	 * Sealed, signed zones: the nodes owning an NSEC (CANON_DENIAL_NSEC) or an
	 * NSEC3 (CANON_DENIAL_NSEC3) in canonical order, for finding the record
	 * that matches or covers a name (lib/denial.h).
	 */
	const canon_node_t **denial_nodes;
	size_t denial_count;
	const uint8_t *nsec3param; /* CANON_DENIAL_NSEC3: the apex NSEC3PARAM's RDATA. */
	int refs;                  /* Zone tables holding this zone. */
	const void *settings;      /* The server's settings for the zone; lib never reads it. */
	struct canon_zone_build *build; /* While built: the duplicate index (zone.c). */
	/*
	 * While built: the nodes with their owners (zone.c, node_alloc). Sealed:
	 * only the nodes that found no room in the store, if any.
	 */
	struct canon_zone_slab *slabs;
	/*
	 * Sealed: the slabs holding each node (CANON_NODE_STORED) with its
	 * owner, RRsets, RRSIG views and records side by side (zone.c,
	 * zone_compact). The RRsets of the other nodes, if any, are allocations
	 * of their own.
	 */
	struct canon_zone_slab *store;
} canon_zone_t;

/* Results of canon_zone_find(). */
typedef enum {
	CANON_FIND_FOUND,  /* The name exists (maybe as an empty non-terminal). */
	CANON_FIND_NXNAME, /* It does not: *node is the closest encloser. */
	CANON_FIND_DELEG,  /* A zone cut at or above it: *node is the cut. */
	CANON_FIND_DNAME,  /* A DNAME owner above it: *node is that owner. */
} canon_find_t;

/* A new empty zone for 'apex' (any case). NULL on allocation failure. */
canon_zone_t *canon_zone_new(const knot_dname_t *apex);

/*
 * Add one record. The owner may be in any case. Identical records merge.
 * Returns 0, -EDOM when the owner is outside the zone, -E2BIG when the RRset
 * already holds 65,535 records (a message counts them in 16 bits, RFC 1035
 * §4.1.1), -ENOMEM; sets *ttl_mismatch when the RRset already had another TTL
 * (RFC 2181 §5.2: the first TTL is kept). Records are kept in the order added
 * until canon_zone_seal() sorts them, so adding costs O(1) even to big RRsets.
 */
int canon_zone_add(canon_zone_t *zone, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, uint16_t rdlen, bool *ttl_mismatch);

/*
 * Finish building: sort each RRset's records (knot_rdata_cmp order, as
 * libknot keeps them), create empty non-terminals, link parents and wildcards,
 * note the canonical order of the nodes (canon_zone_walk), set
 * node flags (CANON_NODE_FLATTENED at the CNAMEs zone->flatten covers, except
 * beside an ALIAS, where the checker reports the pair), the negative-answer SOA
 * and, in a signed zone, each RRset's RRSIGs and the NSEC/NSEC3 index. Returns 0,
 * -ENOENT when the apex has no SOA, -ENOMEM.
 */
int canon_zone_seal(canon_zone_t *zone);

/* Called by canon_zone_walk() for each node; non-zero stops the walk. */
typedef int (*canon_zone_walk_fn)(const canon_node_t *node, void *ctx);

/*
 * Visit the nodes of a sealed zone in canonical order (RFC 4034 §6.1: by
 * labels from the root, each compared as lower-case octets), the apex first,
 * as AXFR, IXFR and NSEC need them. Empty non-terminals are visited too
 * (canon_node_empty). Returns 0, or the first non-zero value of 'fn'.
 */
int canon_zone_walk(const canon_zone_t *zone, canon_zone_walk_fn fn, void *ctx);

/* The node owning 'lower' (lower-case, of wire size 'size', hash from canon_name_hash), or NULL. */
const canon_node_t *canon_zone_get(const canon_zone_t *zone, const knot_dname_t *lower,
                                   uint16_t size, uint32_t hash);

/* canon_zone_get() for any lower-case name. */
const canon_node_t *canon_zone_get_name(const canon_zone_t *zone, const knot_dname_t *lower);

/* Find where the answer to 'name' comes from; 'name' must be at or below the apex. */
canon_find_t canon_zone_find(const canon_zone_t *zone, const canon_name_t *name,
                             const canon_node_t **node);

/* The RRset of 'type' at 'node', or NULL. */
const canon_rrset_t *canon_node_rrset(const canon_node_t *node, uint16_t type);

/*
 * Whether the zone's flatten mode covers a CNAME owned by 'lower' (lower-case):
 * the apex with CANON_FLATTEN_APEX, every name with CANON_FLATTEN_ALL. Such a
 * CNAME is answered and checked as an ALIAS, unless the name also owns an ALIAS.
 */
bool canon_zone_flattens(const canon_zone_t *zone, const knot_dname_t *lower);

/*
 * The RRset whose target answers A/AAAA at 'node' (CANON_NODE_ALIAS): its ALIAS,
 * or its flattened CNAME. NULL at other nodes.
 */
const canon_rrset_t *canon_node_alias(const canon_node_t *node);

/* Whether the node is an empty non-terminal or otherwise holds no data. */
static inline bool canon_node_empty(const canon_node_t *node)
{
	return node->rrset_count == 0;
}

/* Free the zone and everything in it. */
void canon_zone_free(canon_zone_t *zone);
