/*
 * The zone manager's side of serve/zoneapi.h: each function queues a call
 * that runs in the manager's thread, like an UPDATE, and waits for it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libknot/descriptor.h>

#include "lib/log.h"
#include "serve/update.h"
#include "serve/zoneapi.h"
#include "serve/zonemgr_internal.h"

/* The folder of the zones made through the API: state-dir/zones/ORIGINzone. */
#define DYNAMIC_DIR "zones"

void canon_change_result_init(canon_change_result_t *result)
{
	memset(result, 0, sizeof(*result));
	canon_findings_init(&result->added);
	canon_findings_init(&result->cleared);
}

void canon_change_result_free(canon_change_result_t *result)
{
	canon_findings_free(&result->added);
	canon_findings_free(&result->cleared);
}

static int call(canon_zonemgr_t *mgr, int (*fn)(canon_zonemgr_t *, void *), void *ctx)
{
	job_t job = {.kind = JOB_CALL, .call = fn, .ctx = ctx};
	zm_submit(mgr, &job);
	return job.result;
}

/* ---- reading ---- */

typedef struct {
	canon_zone_reader_t read;
	void *ctx;
} read_call_t;

static int run_read(canon_zonemgr_t *mgr, void *arg)
{
	read_call_t *rc = arg;
	canon_zone_view_t *views = calloc(mgr->count ? mgr->count : 1, sizeof(*views));
	if (views == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < mgr->count; i++) {
		const zm_zone_t *z = &mgr->zones[i];
		views[i] = (canon_zone_view_t){
		        .origin = z->origin,
		        .zone = z->current,
		        .conf = z->conf,
		        .file = z->conf->file,
		        .dynamic = z->dynamic,
		        .journal_ok = z->journal != NULL,
		        .last_error = z->last_error[0] != '\0' ? z->last_error
		                      : z->current             ? NULL
		                                   : "the zone could not be loaded (see the log)",
		        .published = z->current == z->published ? z->published_at : 0,
		        .findings = z->finding_count,
		};
	}
	int ret = rc->read(rc->ctx, views, mgr->count, atomic_load(mgr->table));
	free(views);
	return ret;
}

int canon_zonemgr_read(canon_zonemgr_t *mgr, canon_zone_reader_t read, void *ctx)
{
	read_call_t rc = {.read = read, .ctx = ctx};
	return call(mgr, run_read, &rc);
}

/* ---- changing ---- */

static zm_zone_t *find_zone(canon_zonemgr_t *mgr, const char *origin)
{
	knot_dname_storage_t apex;
	if (knot_dname_from_str(apex, origin, sizeof(apex)) == NULL) {
		return NULL;
	}
	knot_dname_to_lower(apex);
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (z->current != NULL && knot_dname_is_equal(z->current->apex_name, apex)) {
			return z;
		}
	}
	return NULL;
}

static bool has_key(const uint64_t *keys, size_t count, const canon_finding_t *f)
{
	uint64_t key = zm_finding_key(f);
	return keys != NULL && bsearch(&key, keys, count, sizeof(key), zm_key_cmp) != NULL;
}

/* The findings only one side has: what a change adds, and what it clears. */
static void findings_delta(const canon_zone_t *before, const canon_zone_t *after,
                           canon_change_result_t *result)
{
	canon_findings_t old, now;
	canon_findings_init(&old);
	canon_findings_init(&now);
	canon_check_zone(before, NULL, &old);
	canon_check_zone(after, NULL, &now);
	uint64_t *old_keys = zm_finding_keys(&old), *now_keys = zm_finding_keys(&now);
	for (size_t i = 0; i < now.count; i++) {
		if (!has_key(old_keys, old.count, &now.items[i])) {
			canon_findings_append_copy(&result->added, &now.items[i]);
		}
	}
	for (size_t i = 0; i < old.count; i++) {
		if (!has_key(now_keys, now.count, &old.items[i])) {
			canon_findings_append_copy(&result->cleared, &old.items[i]);
		}
	}
	free(old_keys);
	free(now_keys);
	canon_findings_free(&old);
	canon_findings_free(&now);
}

typedef struct {
	const char *origin;
	const canon_rrset_change_t *changes;
	size_t count;
	const char *who;
	bool preview;
	canon_change_result_t *result;
} change_call_t;

/* Commit one zone's change now: its own batch, journaled, published, announced. */
static int commit_alone(canon_zonemgr_t *mgr, zm_zone_t *z, canon_zone_t *next,
                        const canon_changeset_t *ch, const char *who)
{
	zm_batch_begin(mgr);
	int ret = zm_commit_version(mgr, z, next, ch, who);
	bool changed = false;
	zm_batch_commit(mgr, NULL, &changed);
	if (ret == 0 && z->current != next) {
		ret = -EIO; /* The journal did not take it: the previous version stays. */
	}
	if (changed) {
		zm_publish(mgr);
	}
	zm_batch_announce(mgr);
	return ret;
}

static int run_change(canon_zonemgr_t *mgr, void *arg)
{
	change_call_t *cc = arg;
	canon_change_result_t *result = cc->result;
	zm_zone_t *z = find_zone(mgr, cc->origin);
	if (z == NULL) {
		return result->status = -ENOENT;
	}
	result->serial = canon_zone_serial(z->current);
	if (!cc->preview && z->journal == NULL) {
		snprintf(
		        result->message, sizeof(result->message),
		        "zone %s has no usable journal (state-dir): changes cannot be made durable",
		        z->origin);
		return result->status = -EIO;
	}
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	canon_update_refusal_t refusal;
	int ret = canon_update_rrsets(z->current, cc->changes, cc->count, cc->who, &ch, &refusal);
	canon_zone_t *next = NULL;
	if (ret == -EINVAL) {
		result->rule = refusal.rule;
		snprintf(result->message, sizeof(result->message), "%s", refusal.message);
	} else if (ret == 0 && ch.added.count > 0) {
		ret = canon_changeset_apply(z->current, &ch, &next);
	}
	if (ret == 0 && next != NULL) {
		result->changed = true;
		result->serial = ch.serial_to;
		findings_delta(z->current, next, result);
		if (cc->preview) {
			canon_zone_free(next);
		} else {
			ret = commit_alone(mgr, z, next, &ch, cc->who);
			if (ret != 0 && z->current != next) {
				canon_zone_free(next);
				snprintf(result->message, sizeof(result->message),
				         "the change could not be committed (see the log)");
			}
		}
	}
	canon_changeset_clear(&ch);
	return result->status = ret;
}

int canon_zonemgr_change(canon_zonemgr_t *mgr, const char *origin,
                         const canon_rrset_change_t *changes, size_t count, const char *who,
                         bool preview, canon_change_result_t *result)
{
	change_call_t cc = {origin, changes, count, who, preview, result};
	return call(mgr, run_change, &cc);
}

/* ---- zones made and deleted through the API ---- */

static void dynamic_path(const char *state_dir, const char *origin, char *out, size_t size)
{
	snprintf(out, size, "%s/" DYNAMIC_DIR "/%szone", state_dir, origin);
}

/*
 * Settings of a zone made through the API: the catalog's transfer= and
 * notify=, so that the secondaries that follow the catalog can transfer it.
 */
static canon_zone_conf_t *dynamic_conf(const canon_zonemgr_t *mgr, const char *origin,
                                       const char *file)
{
	canon_zone_conf_t *conf = calloc(1, sizeof(*conf));
	if (conf == NULL || (conf->origin = strdup(origin)) == NULL ||
	    (conf->file = strdup(file)) == NULL ||
	    (mgr->conf->catalog != NULL && canon_conf_copy_access(conf, mgr->conf->catalog) != 0)) {
		canon_conf_free_zones(conf, conf ? 1 : 0);
		return NULL;
	}
	return conf;
}

/* A new slot in the zone list, for a zone made through the API. */
static zm_zone_t *add_slot(canon_zonemgr_t *mgr, const char *origin, const char *file)
{
	zm_zone_t *zones = realloc(mgr->zones, (mgr->count + 1) * sizeof(*zones));
	if (zones == NULL) {
		return NULL;
	}
	mgr->zones = zones;
	zm_zone_t *z = &zones[mgr->count];
	memset(z, 0, sizeof(*z));
	z->own_conf = dynamic_conf(mgr, origin, file);
	z->origin = strdup(origin);
	if (z->own_conf == NULL || z->origin == NULL) {
		zm_zone_stop(z);
		return NULL;
	}
	z->conf = z->own_conf;
	z->dynamic = true;
	mgr->count++;
	return z;
}

static void drop_last_slot(canon_zonemgr_t *mgr)
{
	zm_zone_stop(&mgr->zones[--mgr->count]);
}

/* Write the zone file of a zone made through the API (temp file, fsync, rename). */
static int write_dynamic_file(const char *path, const canon_zone_t *zone)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.canon-new", path);
	FILE *out = fopen(tmp, "w");
	if (out == NULL) {
		return -errno;
	}
	int ret = zm_write_zone(out, zone);
	if (ret == 0 && (fflush(out) != 0 || fsync(fileno(out)) != 0)) {
		ret = -errno;
	}
	if (fclose(out) != 0 && ret == 0) {
		ret = -errno;
	}
	if (ret == 0 && rename(tmp, path) != 0) {
		ret = -errno;
	}
	if (ret != 0) {
		unlink(tmp);
	}
	return ret;
}

typedef struct {
	const char *origin;
	const canon_rrlist_t *records;
	const char *who;
	canon_change_result_t *result;
} create_call_t;

/* The new zone's first version, checked like a loaded file (blocking findings refuse it). */
static int first_version(const create_call_t *cc, canon_zone_t **zone)
{
	canon_changeset_t ch = {.added = *cc->records};
	int ret = canon_changeset_apply(NULL, &ch, zone);
	if (ret != 0) {
		snprintf(cc->result->message, sizeof(cc->result->message),
		         "the zone needs a SOA record at its apex (RFC 1035 §5.2)");
		return -EINVAL;
	}
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_check_zone(*zone, NULL, &findings);
	for (size_t i = 0; i < findings.count; i++) {
		if (findings.items[i].rule->blocks_load) {
			cc->result->rule = findings.items[i].rule;
			snprintf(cc->result->message, sizeof(cc->result->message), "%s [%s]",
			         findings.items[i].message, findings.items[i].rule->id);
			ret = -EINVAL;
			break;
		}
		canon_findings_append_copy(&cc->result->added, &findings.items[i]);
	}
	canon_findings_free(&findings);
	if (ret != 0) {
		canon_zone_free(*zone);
	}
	return ret;
}

static int run_create(canon_zonemgr_t *mgr, void *arg)
{
	create_call_t *cc = arg;
	const char *state_dir = mgr->conf->state_dir;
	if (state_dir == NULL) {
		return cc->result->status = -EPERM;
	}
	if (find_zone(mgr, cc->origin) != NULL ||
	    zm_zone_by_origin(mgr->zones, mgr->count, cc->origin) != NULL) {
		return cc->result->status = -EEXIST;
	}
	canon_zone_t *zone = NULL;
	int ret = first_version(cc, &zone);
	if (ret != 0) {
		return cc->result->status = ret;
	}
	char dir[PATH_MAX], path[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" DYNAMIC_DIR, state_dir);
	dynamic_path(state_dir, cc->origin, path, sizeof(path));
	if ((mkdir(dir, 0750) != 0 && errno != EEXIST) ||
	    (ret = write_dynamic_file(path, zone)) != 0) {
		ret = ret ? ret : -errno;
		canon_log(CANON_LOG_ERROR, "zone %s: cannot write %s: %s", cc->origin, path,
		          strerror(-ret));
		canon_zone_free(zone);
		return cc->result->status = -EIO;
	}
	canon_zone_free(zone);
	/* Served as it will be after a restart: loaded from the file just written. */
	zm_zone_t *z = add_slot(mgr, cc->origin, path);
	if (z == NULL || zm_zone_start(mgr, z) != 0) {
		if (z != NULL) {
			drop_last_slot(mgr);
		}
		unlink(path);
		return cc->result->status = -EIO;
	}
	cc->result->serial = canon_zone_serial(z->current);
	cc->result->changed = true;
	canon_log(CANON_LOG_INFO, "zone %s created by %s", cc->origin, cc->who);
	bool catalog = zm_catalog_refresh(mgr);
	zm_publish(mgr);
	zm_announce(mgr, z);
	if (catalog) {
		zm_announce(mgr, &mgr->catalog);
	}
	return cc->result->status = 0;
}

int canon_zonemgr_create(canon_zonemgr_t *mgr, const char *origin, const canon_rrlist_t *records,
                         const char *who, canon_change_result_t *result)
{
	create_call_t cc = {origin, records, who, result};
	return call(mgr, run_create, &cc);
}

/* The files of a deleted zone: its zone file and its journal (with SQLite's side files). */
static void remove_files(const char *state_dir, const zm_zone_t *z)
{
	char journal[PATH_MAX], side[PATH_MAX + 8];
	unlink(z->conf->file);
	canon_journal_path(state_dir, z->origin, journal, sizeof(journal));
	unlink(journal);
	snprintf(side, sizeof(side), "%s-wal", journal);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", journal);
	unlink(side);
}

typedef struct {
	const char *origin;
	const char *who;
} delete_call_t;

static int run_delete(canon_zonemgr_t *mgr, void *arg)
{
	delete_call_t *dc = arg;
	zm_zone_t *z = find_zone(mgr, dc->origin);
	if (z == NULL) {
		return -ENOENT;
	}
	if (!z->dynamic) {
		return -EPERM;
	}
	zm_zone_t gone = *z;
	*z = mgr->zones[--mgr->count];
	/* Readers may still hold the old table: it goes (and the zone with it) before its state. */
	bool catalog = zm_catalog_refresh(mgr);
	zm_publish(mgr);
	if (catalog) {
		zm_announce(mgr, &mgr->catalog);
	}
	remove_files(mgr->conf->state_dir, &gone);
	canon_log(CANON_LOG_INFO, "zone %s deleted by %s", gone.origin, dc->who);
	zm_zone_stop(&gone);
	return 0;
}

int canon_zonemgr_delete(canon_zonemgr_t *mgr, const char *origin, const char *who)
{
	delete_call_t dc = {origin, who};
	return call(mgr, run_delete, &dc);
}

static int run_renotify(canon_zonemgr_t *mgr, void *arg)
{
	zm_zone_t *z = find_zone(mgr, arg);
	if (z == NULL) {
		return -ENOENT;
	}
	zm_announce(mgr, z);
	return 0;
}

int canon_zonemgr_renotify(canon_zonemgr_t *mgr, const char *origin)
{
	return call(mgr, run_renotify, (void *)origin);
}

typedef struct {
	const char *origin;
	size_t limit;
	canon_history_visit_t visit;
	void *ctx;
} history_call_t;

static int history_entry(void *ctx, int64_t time, const char *source, const canon_changeset_t *ch)
{
	history_call_t *hc = ctx;
	canon_history_entry_t entry = {.time = time, .source = source, .changes = ch};
	return hc->visit(hc->ctx, &entry);
}

static int run_history(canon_zonemgr_t *mgr, void *arg)
{
	history_call_t *hc = arg;
	zm_zone_t *z = find_zone(mgr, hc->origin);
	if (z == NULL) {
		return -ENOENT;
	}
	if (z->journal == NULL) {
		return 0; /* No journal, no history: an empty list. */
	}
	return canon_journal_history(z->journal, hc->limit, history_entry, hc);
}

int canon_zonemgr_history(canon_zonemgr_t *mgr, const char *origin, size_t limit,
                          canon_history_visit_t visit, void *ctx)
{
	history_call_t hc = {origin, limit, visit, ctx};
	return call(mgr, run_history, &hc);
}

/* ---- at start ---- */

/* "example.org.zone" -> "example.org." */
static bool origin_of(const char *name, char *origin, size_t size)
{
	size_t len = strlen(name);
	if (len < 5 || len - 4 >= size || strcmp(name + len - 4, "zone") != 0 ||
	    name[len - 5] != '.') {
		return false;
	}
	memcpy(origin, name, len - 4);
	origin[len - 4] = '\0';
	return true;
}

void zm_load_dynamic_zones(canon_zonemgr_t *mgr)
{
	if (mgr->conf->state_dir == NULL) {
		return;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/" DYNAMIC_DIR, mgr->conf->state_dir);
	DIR *d = opendir(dir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		char origin[KNOT_DNAME_TXT_MAXLEN + 1], path[PATH_MAX];
		if (!origin_of(e->d_name, origin, sizeof(origin))) {
			continue;
		}
		if (zm_zone_by_origin(mgr->zones, mgr->count, origin) != NULL) {
			canon_log(CANON_LOG_ERROR,
			          "zone %s is in the config file and in %s: the config file's is "
			          "served",
			          origin, dir);
			continue;
		}
		dynamic_path(mgr->conf->state_dir, origin, path, sizeof(path));
		zm_zone_t *z = add_slot(mgr, origin, path);
		if (z != NULL && zm_zone_start(mgr, z) != 0) {
			drop_last_slot(mgr);
		}
	}
	if (d != NULL) {
		closedir(d);
	}
}
