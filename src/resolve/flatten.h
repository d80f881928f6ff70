/*
 * CNAME flattening for canon serve: the addresses of every ALIAS target (and
 * of every flattened CNAME's target, canon_node_alias()),
 * resolved by canon's resolver in a background thread and refreshed before
 * they expire, so a query never waits on the upstream once warm. When the
 * upstream fails, the last good answer is served stale (RFC 8767) for a
 * bounded time, then SERVFAIL with an Extended DNS Error.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/lookup.h"
#include "lib/zonetable.h"
#include "resolve/iterate.h"

/* How long the last good answer may be served after it expired (RFC 8767 §5: 1-3 days). */
#define CANON_FLATTEN_STALE_MAX (24 * 3600)

/* The TTL of a stale answer (RFC 8767 §4 recommends 30 seconds). */
#define CANON_FLATTEN_STALE_TTL 30

typedef struct canon_flattener canon_flattener_t;

/*
 * A flattener resolving with 'resolver' (which it keeps using; the caller
 * keeps it alive). 'synchronize' must return only when no query can still
 * hold a pointer handed out before the call (serve/server.c's quiescence
 * wait). NULL on allocation failure.
 */
canon_flattener_t *canon_flattener_new(canon_resolver_conf_t *resolver,
                                       void (*synchronize)(void *arg), void *arg);

/* Start (or warm) the targets of every ALIAS and flattened CNAME in 'table'; 0 or -ENOMEM. */
int canon_flattener_track(canon_flattener_t *fl, const canon_zonetable_t *table);

/*
 * Names in 'table' whose A/AAAA a flattener must resolve (ALIAS, flattened
 * CNAME): those whose target is outside the zones of 'table'.
 */
size_t canon_flattener_count_names(const canon_zonetable_t *table);

/* Start the refresh thread; 0 or -errno. */
int canon_flattener_start(canon_flattener_t *fl);

/* Wait up to 'ms' for every tracked target to have been resolved once. */
void canon_flattener_warm(canon_flattener_t *fl, unsigned ms);

/* The alias source for canon_lookup() (lib/lookup.h). */
const canon_alias_source_t *canon_flattener_source(canon_flattener_t *fl);

/* What canon ctl alias-status shows of one target and type. Valid during the visit only. */
typedef struct {
	const knot_dname_t *target;
	uint16_t type;
	bool resolved;                 /* There is a last good answer. */
	bool nodata;                   /* ... and it says the target has no such address. */
	const knot_rrset_t *addresses; /* Its addresses, or NULL. */
	uint32_t age;                  /* Seconds since it was resolved. */
	uint32_t ttl_left;             /* Seconds before it expires (0: expired). */
	bool stale;                    /* Expired, refresh failing: served stale (RFC 8767). */
	bool failing;                  /* The last refresh failed. */
	const char *last_failure;      /* Why the last failure happened, or NULL. */
	uint32_t failure_age;          /* Seconds since then. */
} canon_flatten_status_t;

typedef int (*canon_flattener_visit_t)(void *ctx, const canon_flatten_status_t *status);

/*
 * Visit every tracked target (for canon ctl). Takes a lock the refresh
 * threads take to free old answers, never the query path's. Stops at and
 * returns the first non-zero return of 'visit'.
 */
int canon_flattener_each(canon_flattener_t *fl, canon_flattener_visit_t visit, void *ctx);

/*
 * Empty the resolver's cache (canon ctl flush): the next refreshes ask the
 * upstream again. The answers in use stay until then. Returns the entries dropped.
 */
size_t canon_flattener_flush(canon_flattener_t *fl);

/* Stop the thread and free everything. */
void canon_flattener_free(canon_flattener_t *fl);
