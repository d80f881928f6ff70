/*
 * The zone manager: the single writer of every zone. Each change (an UPDATE,
 * a SIGHUP reload of a zone file) becomes a changeset that one thread
 * validates with the checker, writes to the zone's journal, publishes with
 * the atomic table swap, and announces to the secondaries (NOTIFY). Readers
 * never lock: they take the current table, as before.
 *
 * At start each zone is its file plus the journal's changesets after the
 * file's serial (or after the journal's snapshot, when that is newer).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/zonetable.h"
#include "serve/config.h"

typedef struct canon_zonemgr canon_zonemgr_t;

/* Told of every table the manager publishes (the ALIAS flattener tracks its targets). */
typedef void (*canon_zonemgr_publish_t)(void *ctx, const canon_zonetable_t *table);

/* Called to wait until no worker can still use a table swapped out before the call. */
typedef void (*canon_zonemgr_sync_t)(void *ctx);

/*
 * Load every zone of 'conf' (file, then journal) and publish the first table
 * into *table. The manager keeps 'conf' and changes its zone list on reload.
 * Returns NULL when out of memory.
 */
canon_zonemgr_t *canon_zonemgr_new(canon_serve_conf_t *conf, _Atomic(canon_zonetable_t *) *table,
                                   canon_zonemgr_sync_t sync, void *sync_ctx);

/* Tell 'publish' of the current table and every later one. */
void canon_zonemgr_on_publish(canon_zonemgr_t *mgr, canon_zonemgr_publish_t publish, void *ctx);

/* Start the manager's thread and the NOTIFY sender. 0 or -1. */
int canon_zonemgr_start(canon_zonemgr_t *mgr);

/*
 * Apply an UPDATE message (already authenticated and authorized by the
 * caller; 'who' names the requester for logs and the journal). Blocks until
 * the change is on stable storage and published (RFC 2136 §3.5), or refused.
 * Returns the answer's rcode.
 */
uint8_t canon_zonemgr_update(canon_zonemgr_t *mgr, const uint8_t *wire, size_t len,
                             const char *who);

/* SIGHUP: re-read the zone list and every zone file; changed zones become changesets. */
void canon_zonemgr_reload(canon_zonemgr_t *mgr);

/*
 * canon ctl reload [ZONE]: reload 'origin' (its file, as SIGHUP does), or
 * with NULL everything SIGHUP reloads; one line per zone saying what
 * happened ("ORIGIN reloaded: serial 1 -> 2", "... unchanged: serial 2",
 * "... kept serial 2: why") goes to 'out'. 0, -ENOENT (no such zone) or
 * -EAGAIN (the manager is not running).
 */
int canon_zonemgr_reload_report(canon_zonemgr_t *mgr, const char *origin, FILE *out);

/* SIGUSR1: write each zone that changed since its file was read back to the file. */
void canon_zonemgr_flush(canon_zonemgr_t *mgr);

/* Stop the thread, close the journals; the last table stays with the caller. */
void canon_zonemgr_free(canon_zonemgr_t *mgr);
