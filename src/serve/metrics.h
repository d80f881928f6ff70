/*
 * Counters of canon serve for Prometheus (docs/metrics.md). Each worker owns
 * one canon_metrics_t and is its only writer; the HTTP thread that renders
 * /metrics sums every worker's block when asked, so the query path writes
 * nothing another thread writes, takes no lock and no atomic read-modify-write.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>

#include "lib/lookup.h"

struct canon_worker;
struct canon_zonemgr;

/* Label values kept bounded: every other rcode or qtype counts as "other". */
#define CANON_METRICS_RCODES 13 /* NOERROR .. NOTZONE, BADVERS, other */
#define CANON_METRICS_QTYPES 16 /* A AAAA ... AXFR IXFR, other */
#define CANON_METRICS_HOPS   CANON_CHAIN_MAX

/*
 * One worker's counters. The owner adds with canon_metrics_bump(): a relaxed
 * atomic load and store of a naturally aligned uint64_t, which on x86-64 and
 * aarch64 are the plain load/add/store of a '++' (no lock prefix, no fence).
 * Readers use relaxed atomic loads too, so a reader never sees a torn value
 * and the C11 memory model has no data race (ThreadSanitizer stays quiet),
 * at the cost of nothing on the query path. Counts read while workers run
 * may lag by the queries in flight; they never go backwards.
 */
typedef struct {
	uint64_t responses[CANON_METRICS_RCODES][CANON_METRICS_QTYPES][2]; /* [.][.][tcp] */
	uint64_t chained[CANON_METRICS_HOPS];                              /* [hops - 1] */
	uint64_t flattened;
	uint64_t stale;
	uint64_t rrl_dropped; /* UDP answers not sent: over rate-limit (serve/rrl.h) */
	uint64_t rrl_slipped; /* UDP answers sent cut, with TC, instead */
	uint64_t tcp_evicted; /* Idle TCP connections closed for a new one (serve/tcp.c) */
	/* dnssec=online: RRSIGs from the cache, made, failed (CANON_SIG_*, serve/online_sign.c) */
	uint64_t signatures[3];
} canon_metrics_t;

/* Index into canon_metrics_t.signatures (serve/online_sign.c). */
enum { CANON_SIG_CACHED, CANON_SIG_MADE, CANON_SIG_FAILED };

/* Add one to a counter of the calling worker's own block. */
static inline void canon_metrics_bump(uint64_t *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/*
 * Index of an rcode (header rcode, or 16 for BADVERS) and of a qtype, in the
 * order of the names metrics.c prints. Inline, the qtype's a switch: once per
 * response, a call and a search of a table cost more than the counting.
 */
static inline unsigned canon_metrics_rcode_index(uint16_t rcode)
{
	if (rcode <= KNOT_RCODE_NOTZONE) {
		return rcode;
	}
	return rcode == KNOT_RCODE_BADVERS ? CANON_METRICS_RCODES - 2 : CANON_METRICS_RCODES - 1;
}

static inline unsigned canon_metrics_qtype_index(uint16_t qtype)
{
	switch (qtype) {
	case KNOT_RRTYPE_A:
		return 0;
	case KNOT_RRTYPE_AAAA:
		return 1;
	case KNOT_RRTYPE_CNAME:
		return 2;
	case KNOT_RRTYPE_MX:
		return 3;
	case KNOT_RRTYPE_TXT:
		return 4;
	case KNOT_RRTYPE_NS:
		return 5;
	case KNOT_RRTYPE_SOA:
		return 6;
	case KNOT_RRTYPE_SRV:
		return 7;
	case KNOT_RRTYPE_PTR:
		return 8;
	case KNOT_RRTYPE_DS:
		return 9;
	case KNOT_RRTYPE_DNSKEY:
		return 10;
	case KNOT_RRTYPE_HTTPS:
		return 11;
	case KNOT_RRTYPE_ANY:
		return 12;
	case KNOT_RRTYPE_AXFR:
		return 13;
	case KNOT_RRTYPE_IXFR:
		return 14;
	default:
		return CANON_METRICS_QTYPES - 1;
	}
}

/* Count one response: its rcode, the question's type, the transport. */
static inline void canon_metrics_response(canon_metrics_t *m, uint16_t rcode, uint16_t qtype,
                                          bool tcp)
{
	canon_metrics_bump(&m->responses[canon_metrics_rcode_index(rcode)]
	                                [canon_metrics_qtype_index(qtype)][tcp ? 1 : 0]);
}

/* Count what a lookup's answer did: alias hops, ALIAS flattening, stale data. */
static inline void canon_metrics_answer(canon_metrics_t *m, const canon_answer_t *ans)
{
	if (ans->hops > 0) {
		unsigned hops = ans->hops < CANON_METRICS_HOPS ? ans->hops : CANON_METRICS_HOPS;
		canon_metrics_bump(&m->chained[hops - 1]);
	}
	if (ans->flattened) {
		canon_metrics_bump(&m->flattened);
	}
	if (ans->ede == KNOT_EDNS_EDE_STALE) {
		canon_metrics_bump(&m->stale);
	}
}

/*
 * The Prometheus text exposition (format 0.0.4) of the sum of 'count'
 * workers' counters and of each zone's serial and load time (read through
 * the zone manager, whose thread this waits for). Returns 0 with *text
 * malloc()ed (the caller frees it) and *len set, or -ENOMEM.
 */
/*
 * The same counters, summed the same way, as text for people (canon ctl
 * stats): totals, then each rcode and qtype that counted something.
 * 0 or -ENOMEM.
 */
int canon_metrics_write_text(const struct canon_worker *workers, unsigned count, FILE *out);

int canon_metrics_render(const struct canon_worker *workers, unsigned count,
                         struct canon_zonemgr *mgr, char **text, size_t *len);
