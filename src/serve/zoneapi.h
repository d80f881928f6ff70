/*
 * What callers other than UPDATE (the HTTP API, later control and transfers
 * in) may do with zones. Every function runs its work in the zone manager's
 * thread and waits for it, so a reader sees one consistent set of versions
 * and a writer takes the one change path: check, journal, publish, NOTIFY.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/rrset.h>

#include "lib/changeset.h"
#include "lib/check.h"
#include "lib/zonetable.h"
#include "serve/config.h"

struct canon_zonemgr;

/* One zone as a reader sees it. Valid only during the reader's callback. */
typedef struct {
	const char *origin;            /* As configured or created: "example.org." */
	const canon_zone_t *zone;      /* The served version; NULL when it failed to load. */
	const canon_zone_conf_t *conf; /* Its settings (update=, transfer=, notify=, flatten=). */
	const char *file;              /* Its zone file. */
	bool dynamic;                  /* Created through the API (and deletable there). */
	bool journal_ok;               /* Changes can be made durable. */
	const char *last_error;        /* Why it did not load, or NULL. */
	int64_t published;             /* Unix time the served version was published, or 0. */
	size_t findings;               /* Checker findings of the served version. */
} canon_zone_view_t;

/* A reader: every zone, and the table the workers answer from (for lookups). */
typedef int (*canon_zone_reader_t)(void *ctx, const canon_zone_view_t *zones, size_t count,
                                   const canon_zonetable_t *table);

/* Run 'read' in the manager's thread; returns what it returns. */
int canon_zonemgr_read(struct canon_zonemgr *mgr, canon_zone_reader_t read, void *ctx);

/* One RRset change, as the PowerDNS API's PATCH expresses it. */
typedef enum {
	CANON_RRSET_REPLACE, /* The RRset becomes exactly 'rrset' (no records: it goes). */
	CANON_RRSET_DELETE,  /* The RRset of that owner and type goes. */
} canon_rrset_op_t;

typedef struct {
	canon_rrset_op_t op;
	knot_rrset_t rrset; /* Owner, type, TTL, and for REPLACE the records. */
} canon_rrset_change_t;

/* What a change did, or would do, or why it was refused. */
typedef struct {
	int status;               /* 0, or a negative errno (see the functions). */
	char message[2048];       /* Why it was refused: the rule, the record, the RFC. */
	const canon_rule_t *rule; /* The rule that refused it, or NULL. */
	uint32_t serial;          /* The serial after the change (or the current one). */
	bool changed;             /* Whether anything changed (or would). */
	canon_findings_t added;   /* Checker findings the change adds ... */
	canon_findings_t cleared; /* ... and those it clears. */
} canon_change_result_t;

void canon_change_result_init(canon_change_result_t *result);
void canon_change_result_free(canon_change_result_t *result);

/*
 * Apply the changes to zone 'origin' as one changeset (all or nothing): the
 * alias rules refuse a record outright (status -EINVAL, rule and message set)
 * rather than skip it as RFC 2136 does, the serial grows, the change is
 * journaled, published and NOTIFYed. With 'preview' nothing changes, and the
 * result says what would. Status -ENOENT: no such zone; -EIO: no usable
 * journal; -ENOMEM.
 */
int canon_zonemgr_change(struct canon_zonemgr *mgr, const char *origin,
                         const canon_rrset_change_t *changes, size_t count, const char *who,
                         bool preview, canon_change_result_t *result);

/*
 * Create zone 'origin' from 'records' (which must hold the apex SOA and NS),
 * kept in the state-dir so that it survives a restart. Status -EEXIST when
 * the zone is served already, -EINVAL for records the rules refuse or no
 * SOA, -EPERM without a state-dir.
 */
int canon_zonemgr_create(struct canon_zonemgr *mgr, const char *origin,
                         const canon_rrlist_t *records, const char *who,
                         canon_change_result_t *result);

/* Delete a zone created through the API: 0, -ENOENT, -EPERM for a zone of the config file. */
int canon_zonemgr_delete(struct canon_zonemgr *mgr, const char *origin, const char *who);

/* NOTIFY the zone's secondaries again: 0 or -ENOENT. */
int canon_zonemgr_renotify(struct canon_zonemgr *mgr, const char *origin);

/* One entry of a zone's history, newest first. */
typedef struct {
	int64_t time; /* Unix time it was made. */
	const char
	        *source; /* Who made it: "update ... with key k1.", "api ...", "reload of FILE". */
	const canon_changeset_t *changes;
} canon_history_entry_t;

typedef int (*canon_history_visit_t)(void *ctx, const canon_history_entry_t *entry);

/* Visit at most 'limit' of the zone's journal entries, newest first: 0, -ENOENT, -EIO. */
int canon_zonemgr_history(struct canon_zonemgr *mgr, const char *origin, size_t limit,
                          canon_history_visit_t visit, void *ctx);
