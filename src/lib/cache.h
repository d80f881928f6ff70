/*
 * The resolver's cache: RRsets and negative answers (RFC 2308) keyed by owner
 * name and type, each alias link (CNAME, DNAME) cached on its own so that a
 * later query for a chain's target is a hit. TTLs are capped, memory is
 * bounded (least recently used entries go first), and the cache is split into
 * shards with a lock each so that threads rarely wait on each other.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/mm_ctx.h>
#include <libknot/rrset.h>

typedef struct canon_cache canon_cache_t;

typedef enum {
	CANON_CACHE_MISS = 0,
	CANON_CACHE_POSITIVE, /* *rr holds the RRset. */
	CANON_CACHE_NODATA,   /* The name exists without this type; *soa for AUTHORITY. */
	CANON_CACHE_NXDOMAIN, /* The name does not exist; *soa for AUTHORITY. */
} canon_cache_result_t;

typedef struct {
	size_t max_bytes;     /* Memory for entries, all shards together. */
	uint32_t max_ttl;     /* Positive TTL cap (default one day). */
	uint32_t max_neg_ttl; /* Negative TTL cap (RFC 2308 §5: 1-3 hours; default 3 h). */
} canon_cache_limits_t;

/* A new cache; NULL on allocation failure. */
canon_cache_t *canon_cache_new(const canon_cache_limits_t *limits);
void canon_cache_free(canon_cache_t *cache);

/* Seconds on the monotonic clock, the cache's notion of now. */
uint32_t canon_cache_now(void);

/*
 * How trustworthy an entry is (RFC 2181 §5.4.1): glue and the NS of a referral
 * come from a server that is not authoritative for them; an answer does.
 */
typedef enum {
	CANON_CACHE_RANK_GLUE = 1, /* Referral NS and glue: to find servers, never an answer. */
	CANON_CACHE_RANK_AUTH = 2, /* Answer data and negative answers. */
} canon_cache_rank_t;

/* Store a copy of 'rr' (its TTL capped) for 'now', as an answer. Returns 0 or -ENOMEM. */
int canon_cache_put(canon_cache_t *cache, const knot_rrset_t *rr, uint32_t now);

/*
 * The same with a rank: data of a lower rank never replaces a live entry of a
 * higher one (RFC 2181 §5.4.1: glue does not override an answer).
 */
int canon_cache_put_ranked(canon_cache_t *cache, const knot_rrset_t *rr, uint32_t now,
                           canon_cache_rank_t rank);

/*
 * Store a negative answer for 'name': NXDOMAIN (any type) or NODATA for 'type'.
 * The TTL is min(SOA TTL, MINIMUM) (RFC 2308 §5), capped. 0 or -ENOMEM.
 */
int canon_cache_put_negative(canon_cache_t *cache, const knot_dname_t *name, uint16_t type,
                             bool nxdomain, const knot_rrset_t *soa, uint32_t now);

/*
 * Look up 'name'/'type'. On a hit, copies of the RRset (or the SOA of a
 * negative entry) with the remaining TTL are allocated from 'mm'.
 * NXDOMAIN entries answer every type.
 */
canon_cache_result_t canon_cache_get(canon_cache_t *cache, const knot_dname_t *name, uint16_t type,
                                     uint32_t now, knot_mm_t *mm, knot_rrset_t **rr);

/* The same, but entries below 'min_rank' are a miss (glue is not an answer to a client). */
canon_cache_result_t canon_cache_get_ranked(canon_cache_t *cache, const knot_dname_t *name,
                                            uint16_t type, uint32_t now,
                                            canon_cache_rank_t min_rank, knot_mm_t *mm,
                                            knot_rrset_t **rr);

/* Entries and bytes in use, for logs and tests. */
/*
 * Drop every entry (canon ctl flush); readers copy out under the shard's
 * lock, so nothing they hold goes. Returns how many entries were dropped.
 */
size_t canon_cache_flush(canon_cache_t *cache);

void canon_cache_stats(canon_cache_t *cache, size_t *entries, size_t *bytes);
