/*
 * Iterative resolution (RFC 1034 §5.3.3) with alias chains followed across
 * zones and servers. Every link of a chain is asked of the servers
 * authoritative for it: records a server sends for names outside its own zone
 * (its bailiwick) are never used nor cached, which closes the classic
 * cache-poisoning path through CNAME answers (RFC 2181 §5.4.1, RFC 5452 §6).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libknot/mm_ctx.h>
#include <libknot/rrset.h>

#include "lib/alias.h"
#include "lib/cache.h"
#include "lib/prefix.h"
#include "resolve/infra.h"

#define CANON_RESOLVE_SERVERS_MAX 16

typedef struct {
	struct sockaddr_storage addr;
	socklen_t len;
} canon_upstream_t;

typedef struct canon_resolver canon_resolver_t;

typedef struct {
	canon_cache_t *cache;  /* Shared; the resolver does not own it. */
	canon_infra_t *infra;  /* Servers that time out (shared, may be NULL). */
	knot_rrset_t *root_ns; /* NS of the root from the hints (owned). */
	knot_rrset_t *root_addrs[CANON_RESOLVE_SERVERS_MAX]; /* Their A/AAAA (owned). */
	unsigned root_addr_count;
	canon_upstream_t forward[CANON_RESOLVE_SERVERS_MAX]; /* Forwarders, if any. */
	unsigned forward_count;
	uint16_t query_port; /* Port of authoritative servers (53; tests may change it). */
	canon_prefix_list_t dont_query;      /* Never sent a query (do-not-query-address). */
	canon_prefix_list_t allow_recursion; /* Clients answered; empty: loopback only. */
	unsigned timeout_ms;                 /* One query to one server. */
	unsigned deadline_ms;                /* A whole resolution. */
	bool log_unusable; /* Log (rate-limited) why a zone gave no usable answer. */
} canon_resolver_conf_t;

typedef struct {
	uint8_t rcode;
	int ede; /* KNOT_EDNS_EDE_NONE, or the RFC 8914 code. */
	char ede_text[160];
	/* CANON_CHAIN_MAX DNAME links with their CNAMEs, and the link past the limit. */
	knot_rrset_t *answer[CANON_CHAIN_MAX * 2 + 2];
	unsigned answer_count;
	knot_rrset_t *authority; /* SOA of a negative answer, or NULL. */
	unsigned sent;           /* Queries sent upstream for it (0: from the cache alone). */
	unsigned failed;         /* ... of which got no reply (timeout, ICMP unreachable). */
} canon_resolution_t;

/*
 * Load root hints (a master file with the root's NS and their A/AAAA) into the
 * cache and conf->root_ns. Returns 0, or -EINVAL with a message on stderr.
 */
int canon_resolver_load_hints(canon_resolver_conf_t *conf, const char *path);

enum {
	CANON_RESOLVE_CACHE_ONLY = 1 << 0, /* Return -EAGAIN when a server must be asked. */
	CANON_RESOLVE_REFRESH = 1 << 1,    /* Ask again for every link, cached or not. */
};

/*
 * Resolve qname/qtype; 'flags' from the enum above. A loop, or a chain of more
 * than CANON_CHAIN_MAX links (lib/alias.h), is SERVFAIL with an Extended DNS
 * Error (RFC 8914). Allocations come from 'mm'.
 * Returns 0 (the outcome, SERVFAIL included, is in 'out'), -EAGAIN or -ENOMEM.
 */
int canon_resolve(const canon_resolver_conf_t *conf, const knot_dname_t *qname, uint16_t qtype,
                  unsigned flags, canon_resolution_t *out, knot_mm_t *mm);

/*
 * What a reply ('wire', 'len' octets) from a server of 'zone' to qname/qtype
 * means, with what it may cache cached: the resolver's handling of a
 * server's answer without the network, for the fuzzer (fuzz/fuzz_resolve.c).
 * Returns an internal step kind (>= 0), or -EINVAL for a reply that is
 * dropped (garbage, not an answer to the question).
 */
int canon_resolve_reply(const canon_resolver_conf_t *conf, uint8_t *wire, size_t len,
                        const knot_dname_t *zone, const knot_dname_t *qname, uint16_t qtype,
                        knot_mm_t *mm);
