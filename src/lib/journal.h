/*
 * The journal of one zone: its changesets in the order they were made, kept
 * in SQLite (WAL, synchronous=FULL: a committed changeset survives a crash or
 * a power cut), plus at most one snapshot of the whole zone, written when old
 * changesets are dropped so that the history stays bounded and no
 * acknowledged change is lost. The zone manager is its only writer; transfers
 * read it through connections of their own (WAL lets readers run beside it).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/changeset.h"

typedef struct canon_journal canon_journal_t;

/*
 * Open (creating it unless 'readonly') the journal at 'path' and check that it
 * is one we can read. Returns 0, or a negative errno with a message naming
 * the file and the problem in 'error'.
 */
int canon_journal_open(const char *path, bool readonly, canon_journal_t **journal, char *error,
                       size_t error_size);

void canon_journal_close(canon_journal_t *journal);

/* The text of the last SQLite error of this journal, for messages. */
const char *canon_journal_error(const canon_journal_t *journal);

/* Group several appends into one transaction (one fsync). 0 or -EIO. */
int canon_journal_begin(canon_journal_t *journal);
int canon_journal_commit(canon_journal_t *journal);
void canon_journal_rollback(canon_journal_t *journal);

/* Append a changeset; 'source' says who made it ("update key k1 from 127.0.0.1", "reload"). */
int canon_journal_append(canon_journal_t *journal, const canon_changeset_t *ch, const char *source);

/* Number of changesets held. */
int canon_journal_depth(canon_journal_t *journal, size_t *depth);

/*
 * Bound the history: when more than 'max_depth' changesets are held, store
 * 'current' (the version after the last changeset) as the snapshot and drop
 * the oldest changesets. Inside the caller's transaction. 0 or -EIO.
 */
int canon_journal_trim(canon_journal_t *journal, size_t max_depth, const canon_zone_t *current);

/* Drop every changeset and the snapshot (the zone file was replaced). 0 or -EIO. */
int canon_journal_clear(canon_journal_t *journal);

/* The snapshot as a changeset adding the whole zone; *found false when there is none. */
int canon_journal_snapshot(canon_journal_t *journal, canon_changeset_t *ch, bool *found);

/* The serial the last changeset leads to; *found false when there is none. */
int canon_journal_last_serial(canon_journal_t *journal, uint32_t *serial, bool *found);

/* Called with each changeset, in order; a non-zero return stops the walk and is returned. */
typedef int (*canon_journal_visit_t)(const canon_changeset_t *ch, void *ctx);

/*
 * Walk the changesets that lead from 'from' to 'to' (serials). Returns 0 when
 * the walk reached 'to', -ENOENT when the history does not hold that path
 * (no changeset starts at 'from', or the chain breaks), -EIO, -EINVAL for a
 * changeset that cannot be read, or what 'visit' returned. With 'visit' NULL
 * it only says whether the path is there.
 */
int canon_journal_walk(canon_journal_t *journal, uint32_t from, uint32_t to,
                       canon_journal_visit_t visit, void *ctx);

/* Called with each changeset of a history walk, with when it was made and by whom. */
typedef int (*canon_journal_history_t)(void *ctx, int64_t time, const char *source,
                                       const canon_changeset_t *ch);

/* Visit at most 'limit' changesets, newest first: 0, -EIO, -EINVAL, or what 'visit' returned. */
int canon_journal_history(canon_journal_t *journal, size_t limit, canon_journal_history_t visit,
                          void *ctx);

/* The journal's file name for zone 'origin' ("example.test.") under 'dir'. */
void canon_journal_path(const char *dir, const char *origin, char *out, size_t size);
