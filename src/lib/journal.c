/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "lib/journal.h"

struct canon_journal {
	sqlite3 *db;
	char *path;
};

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS changesets ("
                             "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                             "  serial_from INTEGER NOT NULL,"
                             "  serial_to INTEGER NOT NULL,"
                             "  time INTEGER NOT NULL,"
                             "  source TEXT NOT NULL,"
                             "  data BLOB NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS snapshot ("
                             "  id INTEGER PRIMARY KEY CHECK (id = 1),"
                             "  serial INTEGER NOT NULL,"
                             "  time INTEGER NOT NULL,"
                             "  data BLOB NOT NULL);";

void canon_journal_path(const char *dir, const char *origin, char *out, size_t size)
{
	/* "example.test." -> DIR/example.test.journal; the root zone -> DIR/root.journal */
	snprintf(out, size, "%s/%sjournal", dir, strcmp(origin, ".") == 0 ? "root." : origin);
}

const char *canon_journal_error(const canon_journal_t *journal)
{
	return sqlite3_errmsg(journal->db);
}

static int exec(canon_journal_t *j, const char *sql)
{
	return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* Whether SQLite can read every page: a truncated or overwritten file fails here. */
static int integrity(canon_journal_t *j)
{
	sqlite3_stmt *st = NULL;
	int ret = -EIO;
	if (sqlite3_prepare_v2(j->db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *result = (const char *)sqlite3_column_text(st, 0);
		ret = result != NULL && strcmp(result, "ok") == 0 ? 0 : -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

static int setup(canon_journal_t *j, bool readonly)
{
	/* A writer that finds the database busy waits a little instead of failing. */
	sqlite3_busy_timeout(j->db, 5000);
	if (readonly) {
		return 0; /* A reader of a journal the writer keeps open: checked there. */
	}
	/* WAL and synchronous=FULL: a commit is on disk before it returns (RFC 2136 §3.5). */
	if (exec(j, "PRAGMA journal_mode=WAL") != 0 || exec(j, "PRAGMA synchronous=FULL") != 0 ||
	    integrity(j) != 0 || exec(j, SCHEMA) != 0) {
		return -EIO;
	}
	return 0;
}

int canon_journal_open(const char *path, bool readonly, canon_journal_t **journal, char *error,
                       size_t error_size)
{
	canon_journal_t *j = calloc(1, sizeof(*j));
	if (j == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		snprintf(error, error_size, "journal %s: out of memory", path);
		return -ENOMEM;
	}
	int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(path, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK || setup(j, readonly) != 0) {
		snprintf(error, error_size, "journal %s cannot be read: %s", path,
		         j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
		canon_journal_close(j);
		return -EIO;
	}
	*journal = j;
	return 0;
}

void canon_journal_close(canon_journal_t *journal)
{
	if (journal == NULL) {
		return;
	}
	sqlite3_close(journal->db);
	free(journal->path);
	free(journal);
}

int canon_journal_begin(canon_journal_t *journal)
{
	return exec(journal, "BEGIN IMMEDIATE");
}

int canon_journal_commit(canon_journal_t *journal)
{
	return exec(journal, "COMMIT");
}

void canon_journal_rollback(canon_journal_t *journal)
{
	exec(journal, "ROLLBACK");
}

/* Run 'st' to completion and finalize it. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int canon_journal_append(canon_journal_t *journal, const canon_changeset_t *ch, const char *source)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	if (canon_changeset_to_blob(ch, &blob, &len) != 0) {
		return -ENOMEM;
	}
	sqlite3_stmt *st = NULL;
	int ret = -EIO;
	if (sqlite3_prepare_v2(
	            journal->db,
	            "INSERT INTO changesets (serial_from, serial_to, time, source, data) "
	            "VALUES (?, ?, ?, ?, ?)",
	            -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ch->serial_from);
		sqlite3_bind_int64(st, 2, ch->serial_to);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
		sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
		sqlite3_bind_blob64(st, 5, blob, len, SQLITE_STATIC);
		ret = step_done(st);
	} else {
		sqlite3_finalize(st);
	}
	free(blob);
	return ret;
}

/* One integer from a query that returns a single row, or *found false. */
static int query_int(canon_journal_t *journal, const char *sql, int64_t *value, bool *found)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(journal->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (*found) {
		*value = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int canon_journal_depth(canon_journal_t *journal, size_t *depth)
{
	int64_t value = 0;
	bool found;
	int ret = query_int(journal, "SELECT COUNT(*) FROM changesets", &value, &found);
	*depth = (size_t)value;
	return ret;
}

int canon_journal_last_serial(canon_journal_t *journal, uint32_t *serial, bool *found)
{
	int64_t value = 0;
	int ret = query_int(journal, "SELECT serial_to FROM changesets ORDER BY seq DESC LIMIT 1",
	                    &value, found);
	*serial = (uint32_t)value;
	return ret;
}

static int write_snapshot(canon_journal_t *journal, const canon_zone_t *zone)
{
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	uint8_t *blob = NULL;
	size_t len = 0;
	int ret = canon_changeset_from_zone(zone, &ch);
	if (ret == 0) {
		ret = canon_changeset_to_blob(&ch, &blob, &len);
	}
	canon_changeset_clear(&ch);
	if (ret != 0) {
		return ret;
	}
	sqlite3_stmt *st = NULL;
	ret = -EIO;
	if (sqlite3_prepare_v2(journal->db,
	                       "INSERT OR REPLACE INTO snapshot (id, serial, time, data) "
	                       "VALUES (1, ?, ?, ?)",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, canon_zone_serial(zone));
		sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
		sqlite3_bind_blob64(st, 3, blob, len, SQLITE_STATIC);
		ret = step_done(st);
	} else {
		sqlite3_finalize(st);
	}
	free(blob);
	return ret;
}

int canon_journal_trim(canon_journal_t *journal, size_t max_depth, const canon_zone_t *current)
{
	size_t depth = 0;
	if (canon_journal_depth(journal, &depth) != 0) {
		return -EIO;
	}
	if (depth <= max_depth) {
		return 0;
	}
	/* The snapshot keeps every change the dropped changesets made. */
	int ret = write_snapshot(journal, current);
	if (ret != 0) {
		return ret;
	}
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "DELETE FROM changesets WHERE seq IN "
	         "(SELECT seq FROM changesets ORDER BY seq LIMIT %zu)",
	         depth - max_depth);
	return exec(journal, sql);
}

int canon_journal_clear(canon_journal_t *journal)
{
	return exec(journal, "DELETE FROM changesets; DELETE FROM snapshot;");
}

/* Decode the blob in column 'col' of the current row. */
static int column_changeset(sqlite3_stmt *st, int col, canon_changeset_t *ch)
{
	const void *blob = sqlite3_column_blob(st, col);
	int len = sqlite3_column_bytes(st, col);
	if (blob == NULL && len != 0) {
		return -ENOMEM;
	}
	return canon_changeset_from_blob(blob, (size_t)len, ch);
}

int canon_journal_snapshot(canon_journal_t *journal, canon_changeset_t *ch, bool *found)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	if (sqlite3_prepare_v2(journal->db, "SELECT serial, data FROM snapshot WHERE id = 1", -1,
	                       &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	int rc = sqlite3_step(st);
	int ret = rc == SQLITE_DONE ? 0 : -EIO;
	if (rc == SQLITE_ROW) {
		ch->serial_from = ch->serial_to = (uint32_t)sqlite3_column_int64(st, 0);
		ret = column_changeset(st, 1, ch);
		*found = ret == 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/* The seq of the newest changeset that starts at 'from', or 0. */
static int64_t start_of_path(canon_journal_t *journal, uint32_t from)
{
	sqlite3_stmt *st = NULL;
	int64_t seq = 0;
	if (sqlite3_prepare_v2(journal->db,
	                       "SELECT seq FROM changesets WHERE serial_from = ? "
	                       "ORDER BY seq DESC LIMIT 1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, from);
		if (sqlite3_step(st) == SQLITE_ROW) {
			seq = sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_finalize(st);
	return seq;
}

static int walk_rows(sqlite3_stmt *st, uint32_t from, uint32_t to, canon_journal_visit_t visit,
                     void *ctx)
{
	uint32_t serial = from;
	int rc;
	while (serial != to && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		canon_changeset_t ch;
		canon_changeset_init(&ch);
		ch.serial_from = (uint32_t)sqlite3_column_int64(st, 0);
		ch.serial_to = (uint32_t)sqlite3_column_int64(st, 1);
		if (ch.serial_from != serial) {
			return -ENOENT; /* The chain breaks: this history cannot lead to 'to'. */
		}
		serial = ch.serial_to;
		if (visit == NULL) {
			continue; /* Only asked whether the path exists. */
		}
		int ret = column_changeset(st, 2, &ch);
		if (ret == 0) {
			ret = visit(&ch, ctx);
		}
		canon_changeset_clear(&ch);
		if (ret != 0) {
			return ret;
		}
	}
	return serial == to ? 0 : -ENOENT;
}

int canon_journal_walk(canon_journal_t *journal, uint32_t from, uint32_t to,
                       canon_journal_visit_t visit, void *ctx)
{
	if (from == to) {
		return 0;
	}
	int64_t start = start_of_path(journal, from);
	if (start == 0) {
		return -ENOENT;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(journal->db,
	                       "SELECT serial_from, serial_to, data FROM changesets "
	                       "WHERE seq >= ? ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, start);
	int ret = walk_rows(st, from, to, visit, ctx);
	sqlite3_finalize(st);
	return ret;
}

int canon_journal_history(canon_journal_t *journal, size_t limit, canon_journal_history_t visit,
                          void *ctx)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(journal->db,
	                       "SELECT serial_from, serial_to, time, source, data FROM changesets "
	                       "ORDER BY seq DESC LIMIT ?",
	                       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	int ret = 0, rc;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		canon_changeset_t ch;
		canon_changeset_init(&ch);
		ch.serial_from = (uint32_t)sqlite3_column_int64(st, 0);
		ch.serial_to = (uint32_t)sqlite3_column_int64(st, 1);
		ret = column_changeset(st, 4, &ch);
		if (ret == 0) {
			const char *source = (const char *)sqlite3_column_text(st, 3);
			ret = visit(ctx, sqlite3_column_int64(st, 2), source ? source : "", &ch);
		}
		canon_changeset_clear(&ch);
	}
	sqlite3_finalize(st);
	return ret;
}
