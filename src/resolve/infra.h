/*
 * The infrastructure cache: what the resolver has learnt about the
 * authoritative servers themselves, by address: a smoothed round-trip time and
 * whether the last query timed out. A server that timed out is held down for
 * a while (1 s, doubling with each timeout in a row up to 8 s), then asked by
 * one query at a time (a probe) until it answers again, so a blackholed zone
 * holds up at most one resolver thread instead of every query that needs it (as
 * Unbound's infrastructure cache does). RFC 1035 §7.2 asks resolvers to keep
 * such a history of each server's response times.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct canon_infra canon_infra_t;

/* A new infrastructure cache, or NULL on allocation failure. */
canon_infra_t *canon_infra_new(void);
void canon_infra_free(canon_infra_t *infra);

typedef enum {
	CANON_INFRA_GOOD,  /* Never timed out, or answered since: ask it. */
	CANON_INFRA_PROBE, /* Timed out; this caller is its one probe: ask it, report back. */
	CANON_INFRA_SKIP,  /* Timed out; held down, or a probe is out: do not ask it now. */
} canon_infra_state_t;

/*
 * What to do with 'addr' at 'now_ms' (canon_now_ms()). Without 'claim', only
 * GOOD or SKIP (timed out). With 'claim', a server that timed out, whose
 * hold-down is over and that has no probe out becomes this caller's probe
 * (CANON_INFRA_PROBE), to be followed by canon_infra_report() or
 * canon_infra_release(). *rtt_ms is the smoothed RTT (0 when unknown).
 */
canon_infra_state_t canon_infra_check(canon_infra_t *infra, const struct sockaddr *addr, bool claim,
                                      int64_t now_ms, unsigned *rtt_ms);

/* The outcome of one query to 'addr' at 'now_ms': answered after 'rtt_ms', or timed out. */
void canon_infra_report(canon_infra_t *infra, const struct sockaddr *addr, bool answered,
                        unsigned rtt_ms, int64_t now_ms);

/* Give back a probe claimed by canon_infra_check() that was not sent after all. */
void canon_infra_release(canon_infra_t *infra, const struct sockaddr *addr);
