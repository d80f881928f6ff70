/*
 * Online signing (dnssec=online on a zone line): an answer from such a zone
 * gets, after the lookup, the zone's DNSKEY/CDS/CDNSKEY at the apex and, when
 * the query had DO, an RRSIG for every RRset it is authoritative for and
 * compact denial (RFC 9824) for negative answers. Signatures come from a
 * per-worker cache; a miss signs (lib/sign.h) and fills it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libknot/mm_ctx.h>

#include "lib/lookup.h"
#include "lib/zonetable.h"
#include "serve/config.h"
#include "serve/metrics.h"

/*
 * Cache entries per worker (a power of two, 94 octets each: 23.5 MiB),
 * allocated at the worker's first signed answer: room for every RRset of a
 * zone of 100,000 names and its negative answers.
 */
#define CANON_ONLINE_CACHE_ENTRIES (1u << 18)
/* RFC 4034 §3.1.5: inception this far back (clock skew), expiration this far ahead. */
#define CANON_ONLINE_INCEPTION_BACK (3600)
#define CANON_ONLINE_VALIDITY       (7 * 86400)
/* A cached signature with less than this left to live is made again. */
#define CANON_ONLINE_REFRESH (2 * 86400)

/* A miss signs its RRset's records in this much room (an answer's RRset fits a message). */
#define CANON_ONLINE_SCRATCH 65536

typedef struct canon_online_set canon_online_set_t;

/* One worker's signature cache; written by that worker only. */
typedef struct {
	canon_online_set_t *sets; /* NULL until the worker signs its first answer. */
	uint8_t *scratch;         /* CANON_ONLINE_SCRATCH octets for a miss's signing. */
	canon_metrics_t *metrics; /* The worker's counters (signatures[]), or NULL. */
} canon_online_cache_t;

/* Free the cache's sets. */
void canon_online_cache_free(canon_online_cache_t *cache);

/* Note that some zone is dnssec=online (the answer pass is skipped until then). */
void canon_online_enable(void);

/* Set once by canon_online_enable(), read by every answer: written once, so no shared line moves.
 */
extern _Atomic bool canon_online_any;

/* Whether any zone is dnssec=online: answers skip the signing pass (and its call) until then. */
static inline bool canon_online_active(void)
{
	return atomic_load_explicit(&canon_online_any, memory_order_relaxed);
}

/*
 * Complete 'answer' (from canon_lookup for 'qname'/'qtype') for the
 * dnssec=online zones in it; 'dnssec': the query had DO. Records made here
 * come from 'mm'. Returns 0, or -ENOMEM / -EIO (answer SERVFAIL).
 */
int canon_online_sign_answer(canon_online_cache_t *cache, const canon_zonetable_t *table,
                             const knot_dname_t *qname, uint16_t qtype, bool dnssec,
                             canon_answer_t *answer, knot_mm_t *mm);

/*
 * For a dnssec=online zone: its key from 'state_dir' (made there at the first
 * start), set in conf->online_key. 0, or negative with the reason in 'why'
 * (NULL: logged instead).
 */
int canon_online_attach(const char *state_dir, canon_zone_conf_t *conf, char *why, size_t why_size);

/*
 * A dnssec=online zone must not be pre-signed (RRSIG, NSEC, NSEC3,
 * NSEC3PARAM or DNSKEY in it): 0, or -EINVAL with the record named in 'why'.
 * 'source' names where 'zone' came from in that message (its file, a change).
 */
int canon_online_check_zone(const canon_zone_conf_t *conf, const canon_zone_t *zone,
                            const char *source, char *why, size_t why_size);
