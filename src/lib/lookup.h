/*
 * The authoritative answer algorithm of RFC 1034 §4.3.2 with its later
 * clarifications: CNAME chasing across the zones served (RFC 2181 §10.1.1),
 * DNAME (RFC 6672), wildcards (RFC 4592), negative answers (RFC 2308) and the
 * rcode of a chain (RFC 6604). It fills a canon_answer_t with pointers to zone
 * RRsets and to RRsets synthesized in the caller's arena; writing the packet is
 * the server's job.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <libknot/mm_ctx.h>
#include <libknot/packet/pkt.h>

#include "lib/alias.h" /* CANON_CHAIN_MAX, canon_chain_end_t */
#include "lib/zonetable.h"

/*
 * RRsets one section holds in place (ANY at a busy name plus a full chain);
 * a section that needs more grows into the lookup's arena.
 */
#define CANON_SECTION_MAX 64

typedef struct {
	const knot_rrset_t *rr;
	uint16_t compr_hint; /* KNOT_COMPR_HINT_QNAME when the owner is the QNAME. */
} canon_answer_rr_t;

typedef struct {
	canon_answer_rr_t *rrs; /* 'first', or a larger copy in the arena. */
	uint16_t count;
	uint16_t capacity;
	canon_answer_rr_t first[CANON_SECTION_MAX];
} canon_answer_section_t;

/* What an ALIAS source says about a target (see canon_alias_source_t). */
typedef enum {
	CANON_ALIAS_FOUND,  /* *rr holds the addresses. */
	CANON_ALIAS_STALE,  /* *rr holds the last good addresses, past their TTL (RFC 8767). */
	CANON_ALIAS_NODATA, /* The target has no address of this type, or does not exist. */
	CANON_ALIAS_FAILED, /* No answer could be had: SERVFAIL. */
} canon_alias_status_t;

/*
 * Where the addresses of ALIAS targets come from (serve/flatten.c keeps them
 * resolved in the background). 'addresses' must not block: it fills *rr with
 * a copy (in 'mm') of the target's RRset of 'type', owned by 'owner', with a
 * TTL of at most 'ttl'.
 */
typedef struct {
	canon_alias_status_t (*addresses)(void *ctx, const knot_dname_t *target, uint16_t type,
	                                  const knot_dname_t *owner, uint32_t ttl, knot_mm_t *mm,
	                                  const knot_rrset_t **rr);
	void *ctx;
} canon_alias_source_t;

typedef struct canon_answer {
	uint8_t rcode; /* KNOT_RCODE_* */
	bool aa;
	int ede;                           /* RFC 8914 Extended DNS Error to add, or -1. */
	const char *ede_text;              /* Its EXTRA-TEXT, or NULL. */
	uint8_t hops;                      /* CNAME/DNAME links followed. */
	bool flattened;                    /* A/AAAA from an ALIAS target's addresses. */
	canon_chain_end_t chain_end;       /* Why the chase stopped. */
	bool truncated;                    /* An RRset was left out (no room): answer with TC. */
	canon_answer_section_t section[3]; /* KNOT_ANSWER, KNOT_AUTHORITY, KNOT_ADDITIONAL */
} canon_answer_t;

/* canon_lookup() flags (1 << 15 is lookup.c's own, for its nested lookups). */
enum {
	/*
	 * The query had the DO bit (RFC 3225): answers from signed zones carry the
	 * RRSIGs of their RRsets and the NSEC/NSEC3 proofs of denial (RFC 4035
	 * §3.1, RFC 5155 §7.2). Without it no DNSSEC record is added unasked.
	 */
	CANON_LOOKUP_DNSSEC = 1 << 0,
	/*
	 * RFC 8482 §4.2: answer ANY with one RRset, the one of the lowest type at
	 * the name, as knotd does (over UDP, where a full answer is an amplifier).
	 */
	CANON_LOOKUP_MINIMAL_ANY = 1 << 1,
};

/*
 * Answer QNAME/QTYPE (class IN) from 'table', with A/AAAA at ALIAS names from
 * 'aliases' (NULL: such queries fail). 'qname' is in the case the client
 * sent; synthesized records use it. 'flags': CANON_LOOKUP_*. Allocations (synthesized RRsets, name
 * copies) come from 'mm', which the caller resets per query. Returns 0 or
 * -ENOMEM when 'mm' ran out (answer SERVFAIL).
 */
int canon_lookup(const canon_zonetable_t *table, const canon_alias_source_t *aliases,
                 const knot_dname_t *qname, uint16_t qtype, unsigned flags, canon_answer_t *answer,
                 knot_mm_t *mm);
