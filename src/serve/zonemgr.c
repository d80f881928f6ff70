/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/rrset-dump.h>

#include "lib/changeset.h"
#include "lib/check.h"
#include "lib/journal.h"
#include "lib/log.h"
#include "lib/zone_load.h"
#include "serve/notify.h"
#include "serve/online_sign.h"
#include "serve/update.h"
#include "serve/zonemgr.h"
#include "serve/zonemgr_internal.h"

/* Findings of one rule logged one by one when a change adds them; the rest are counted. */
#define NEW_FINDINGS_LOGGED 3

/* ---- findings: log what a change adds, not the whole zone again ---- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * 1099511628211ull;
	}
	return h;
}

uint64_t zm_finding_key(const canon_finding_t *f)
{
	uint64_t h = 14695981039346656037ull;
	h = fnv(h, f->rule->id, strlen(f->rule->id));
	h = fnv(h, f->owner ? f->owner : "", f->owner ? strlen(f->owner) : 0);
	h = fnv(h, &f->type, sizeof(f->type));
	return fnv(h, f->message, strlen(f->message));
}

int zm_key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t *zm_finding_keys(const canon_findings_t *findings)
{
	uint64_t *keys = malloc((findings->count ? findings->count : 1) * sizeof(*keys));
	for (size_t i = 0; keys != NULL && i < findings->count; i++) {
		keys[i] = zm_finding_key(&findings->items[i]);
	}
	if (keys != NULL) {
		qsort(keys, findings->count, sizeof(*keys), zm_key_cmp);
	}
	return keys;
}

static void log_finding(const char *origin, const char *why, const canon_finding_t *f)
{
	canon_log(f->rule->severity == CANON_SEVERITY_ERROR ? CANON_LOG_ERROR : CANON_LOG_WARNING,
	          "zone %s: %s: %s [%s]", origin, why, f->message, f->rule->id);
}

/*
 * Check 'version' and log the findings its predecessor did not have; keep
 * the fingerprints for the next change. Returns whether a finding blocks
 * serving the zone (then nothing is kept).
 */
static bool check_version(zm_zone_t *z, const canon_zone_t *version, const char *why);

/*
 * The fingerprints of the served version's findings, taken the first time a
 * change needs them: the load logged those findings already, and a zone that
 * never changes never pays for a second check.
 */
static void remember_findings(zm_zone_t *z)
{
	if (z->finding_keys != NULL || z->current == NULL) {
		return;
	}
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_check_zone(z->current, NULL, &findings);
	z->finding_keys = zm_finding_keys(&findings);
	z->finding_count = z->finding_keys ? findings.count : 0;
	canon_findings_free(&findings);
}

static bool check_version(zm_zone_t *z, const canon_zone_t *version, const char *why)
{
	remember_findings(z);
	z->refused[0] = '\0';
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_check_zone(version, NULL, &findings);
	if (canon_findings_block_load(&findings)) {
		z->refused[0] = '\0';
		for (size_t i = 0; i < findings.count; i++) {
			const canon_finding_t *f = &findings.items[i];
			if (f->rule->blocks_load) {
				log_finding(z->origin, why, f);
				if (z->refused[0] == '\0') {
					char place[PATH_MAX + 32];
					canon_finding_place(f, place, sizeof(place));
					/* A long message is cut: the log above has it whole. */
					if (snprintf(z->refused, sizeof(z->refused), "%s: %s [%s]",
					             place, f->message,
					             f->rule->id) >= (int)sizeof(z->refused)) {
						z->refused[sizeof(z->refused) - 1] = '\0';
					}
				}
			}
		}
		canon_findings_free(&findings);
		return true;
	}
	uint64_t *keys = zm_finding_keys(&findings);
	canon_findings_t added; /* The findings the predecessor did not have. */
	canon_findings_init(&added);
	for (size_t i = 0; keys != NULL && i < findings.count; i++) {
		uint64_t key = zm_finding_key(&findings.items[i]);
		if (z->finding_keys == NULL || bsearch(&key, z->finding_keys, z->finding_count,
		                                       sizeof(key), zm_key_cmp) == NULL) {
			canon_findings_append_copy(&added, &findings.items[i]);
		}
	}
	canon_findings_log(&added, z->origin, why, NEW_FINDINGS_LOGGED);
	canon_findings_free(&added);
	if (keys != NULL) {
		free(z->finding_keys);
		z->finding_keys = keys;
		z->finding_count = findings.count;
	}
	canon_findings_free(&findings);
	return false;
}

/* ---- loading: the file, then the journal ---- */

int zm_file_stat(const char *path, struct timespec *mtime)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		return -errno;
	}
	*mtime = st.st_mtim;
	return 0;
}

/* Load the zone's file; NULL on failure, with the reason in 'why'. */
static canon_zone_t *load_file(canon_zonemgr_t *mgr, zm_zone_t *z, char *why, size_t why_size)
{
	canon_zone_t *zone = NULL;
	snprintf(why, why_size, "the process is stopping");
	/*
	 * SIGTERM came (serve/server.c): the load in progress stopped, and the
	 * zones after it are not read at all, at start as in a reload.
	 */
	if (canon_zone_load_interrupted()) {
		canon_log(CANON_LOG_INFO, "zone %s: %s not read: the process is stopping",
		          z->origin, z->conf->file);
		return NULL;
	}
	/*
	 * The time before the read: a file replaced while it is read looks changed
	 * at the next reload (after the read, that edit would be missed for good).
	 */
	struct timespec mtime = {0};
	zm_file_stat(z->conf->file, &mtime);
	if (canon_zone_load_for_serving(z->conf->origin, z->conf->file, z->conf->flatten, &zone,
	                                why, why_size) != 0) {
		return NULL;
	}
	/* dnssec=online: the zone must not be signed already, and its key is at hand. */
	if (canon_online_check_zone(z->conf, zone, z->conf->file, why, why_size) != 0 ||
	    canon_online_attach(mgr->conf->state_dir, (canon_zone_conf_t *)z->conf, why,
	                        why_size) != 0) {
		canon_zone_free(zone);
		return NULL;
	}
	zone->settings = z->conf;
	z->file_mtime = mtime;
	z->file_serial = canon_zone_serial(zone);
	return zone;
}

/* Replace z->current by 'next' when it was never published (only ours to free). */
static void set_current(zm_zone_t *z, canon_zone_t *next)
{
	if (z->current != NULL && z->current != next && z->current->refs == 0 &&
	    z->current != z->before) {
		canon_zone_free(z->current);
	}
	next->settings = z->conf;
	z->current = next;
}

static int replay_one(const canon_changeset_t *ch, void *ctx)
{
	zm_zone_t *z = ctx;
	canon_zone_t *next = NULL;
	int ret = canon_changeset_apply(z->current, ch, &next);
	if (ret != 0) {
		return ret;
	}
	set_current(z, next);
	return 0;
}

/* The journal's snapshot as the base, when it is newer than the zone file. */
static int base_from_snapshot(zm_zone_t *z)
{
	canon_changeset_t snap;
	canon_changeset_init(&snap);
	bool found = false;
	int ret = canon_journal_snapshot(z->journal, &snap, &found);
	if (ret == 0 && found &&
	    canon_serial_newer(snap.serial_to, canon_zone_serial(z->current))) {
		canon_zone_t *zone = NULL;
		ret = canon_changeset_apply_flatten(NULL, &snap, z->conf->flatten, &zone);
		if (ret == 0) {
			canon_log(CANON_LOG_INFO,
			          "zone %s: starting from the journal's snapshot at serial %u "
			          "(%s has %u)",
			          z->origin, snap.serial_to, z->conf->file, z->file_serial);
			set_current(z, zone);
		}
	}
	canon_changeset_clear(&snap);
	return ret;
}

static void journal_fail(zm_zone_t *z, const char *what)
{
	canon_log(CANON_LOG_ERROR,
	          "zone %s: journal: %s; serving the zone file, UPDATE answers SERVFAIL until "
	          "the journal is repaired or removed",
	          z->origin, what);
	canon_journal_close(z->journal);
	z->journal = NULL;
	z->journal_failed = true;
}

/* Bring the file's version up to date with the journal (RFC 1995 history kept for IXFR). */
static void replay_journal(zm_zone_t *z)
{
	uint32_t last = 0, file_serial = canon_zone_serial(z->current);
	bool any = false;
	if (base_from_snapshot(z) != 0 || canon_journal_last_serial(z->journal, &last, &any) != 0) {
		journal_fail(z, canon_journal_error(z->journal));
		return;
	}
	uint32_t base = canon_zone_serial(z->current);
	if (!any || last == base) {
		return;
	}
	int ret = canon_journal_walk(z->journal, base, last, replay_one, z);
	if (ret == 0) {
		canon_log(CANON_LOG_INFO, "zone %s: journal replayed from serial %u to %u",
		          z->origin, base, last);
		return;
	}
	if (ret == -ENOENT && canon_serial_newer(file_serial, last)) {
		/* The file was edited while we were down: it wins, history starts again. */
		canon_log(CANON_LOG_WARNING,
		          "zone %s: %s has serial %u, newer than the journal's %u: serving the "
		          "file and starting a new history",
		          z->origin, z->conf->file, file_serial, last);
		if (canon_journal_clear(z->journal) != 0) {
			journal_fail(z, canon_journal_error(z->journal));
		}
		return;
	}
	char what[256];
	snprintf(what, sizeof(what),
	         "its changesets (up to serial %u) do not continue from serial %u of %s", last,
	         base, z->conf->file);
	journal_fail(z, what);
}

void zm_open_journal(canon_zonemgr_t *mgr, zm_zone_t *z)
{
	if (mgr->conf->state_dir == NULL) {
		return;
	}
	char path[PATH_MAX], error[PATH_MAX + 128];
	canon_journal_path(mgr->conf->state_dir, z->origin, path, sizeof(path));
	if (canon_journal_open(path, false, &z->journal, error, sizeof(error)) != 0) {
		journal_fail(z, error);
		return;
	}
	replay_journal(z);
}

/*
 * After loading: what the loads freed (positions, findings, scanner buffers)
 * lies between the zones' allocations; hand its pages back, as Knot does after
 * zone events. After a reload, once zm_publish() freed the versions it
 * replaced: trimmed before, a reloaded 100,000-name zone kept its old version's
 * pages (VmRSS 27 -> 43-51 MiB after one to three reloads, 32 -> 59 before the
 * zone store).
 */
static void trim_heap(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Load one zone: its file, then its journal. Returns 0, or -1 when it is not served. */
int zm_zone_start(canon_zonemgr_t *mgr, zm_zone_t *z)
{
	char why[sizeof(z->last_error)];
	z->current = load_file(mgr, z, why, sizeof(why));
	if (z->current == NULL) {
		/* One line that says what stopped it; queries for the zone get SERVFAIL. */
		canon_log(CANON_LOG_ERROR, "zone %s: load from %s failed, not served: %s",
		          z->origin, z->conf->file, why);
		if (snprintf(z->last_error, sizeof(z->last_error), "not loaded: %s", why) >=
		    (int)sizeof(z->last_error)) {
			z->last_error[sizeof(z->last_error) - 1] =
			        '\0'; /* Cut; the log has it whole. */
		}
		return -1;
	}
	canon_log(CANON_LOG_INFO, "zone %s loaded from %s: %zu records, serial %u", z->origin,
	          z->conf->file, z->current->record_count, canon_zone_serial(z->current));
	zm_open_journal(mgr, z);
	return 0;
}

void zm_zone_stop(zm_zone_t *z)
{
	canon_conf_free_zones(z->own_conf, z->own_conf ? 1 : 0);
	canon_journal_close(z->journal);
	free(z->finding_keys);
	free(z->origin);
	memset(z, 0, sizeof(*z));
}

/* ---- publishing ---- */

/* Note the time of each version that this publication made the served one. */
static void stamp_published(canon_zonemgr_t *mgr)
{
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (z->current != z->published) {
			z->published = z->current;
			z->published_at = z->current != NULL ? now : 0;
		}
	}
}

void zm_publish(canon_zonemgr_t *mgr)
{
	canon_zone_t **zones = calloc(mgr->count + 1, sizeof(*zones));
	if (zones == NULL) {
		canon_log(CANON_LOG_ERROR, "out of memory: the new zone versions are not served");
		return;
	}
	/* Zones that failed to load answer SERVFAIL (lib/zonetable.h). */
	knot_dname_t **unloaded = calloc(mgr->count + 1, sizeof(*unloaded));
	size_t n = 0, failed = 0;
	for (size_t i = 0; unloaded != NULL && i < mgr->count; i++) {
		if (mgr->zones[i].current != NULL) {
			zones[n++] = mgr->zones[i].current;
		} else if ((unloaded[failed] = knot_dname_from_str_alloc(mgr->zones[i].origin)) !=
		           NULL) {
			failed++;
		}
	}
	if (mgr->catalog.current != NULL) {
		zones[n++] = mgr->catalog.current;
	}
	canon_zonetable_t *fresh =
	        unloaded == NULL ? NULL
	                         : canon_zonetable_new_unloaded(
	                                   zones, n, (const knot_dname_t *const *)unloaded, failed);
	for (size_t i = 0; i < failed; i++) {
		knot_dname_free(unloaded[i], NULL);
	}
	free(unloaded);
	free(zones);
	if (fresh == NULL) {
		canon_log(CANON_LOG_ERROR, "out of memory: the new zone versions are not served");
		return;
	}
	if (mgr->publish != NULL) {
		mgr->publish(mgr->publish_ctx, fresh);
	}
	canon_zonetable_t *old = atomic_exchange(mgr->table, fresh);
	stamp_published(mgr);
	if (old != NULL) {
		mgr->sync(mgr->sync_ctx);
		canon_zonetable_free(old);
	}
}

void zm_announce(canon_zonemgr_t *mgr, const zm_zone_t *z)
{
	if (z->conf->notify_count > 0 && mgr->notifier != NULL) {
		canon_notifier_queue(mgr->notifier, z->current->apex_name,
		                     canon_zone_serial(z->current), z->conf, &mgr->conf->keys);
	}
}

/* ---- the change path: check, journal, publish, notify ---- */

/*
 * Take 'next' (built from z->current by 'ch') as the zone's new version:
 * checked, then written to the journal inside the batch's transaction.
 * Returns 0, or an rcode-worthy failure (-EINVAL refused by the checker,
 * -EIO journal).
 */
int zm_commit_version(canon_zonemgr_t *mgr, zm_zone_t *z, canon_zone_t *next,
                      const canon_changeset_t *ch, const char *who)
{
	char why[192];
	snprintf(why, sizeof(why), "change %u -> %u by %s", ch->serial_from, ch->serial_to, who);
	if (check_version(z, next, why)) {
		return -EINVAL;
	}
	char signed_why[512];
	if (canon_online_check_zone(z->conf, next, "the new version", signed_why,
	                            sizeof(signed_why)) != 0) {
		/* canon signs a dnssec=online zone: DNSSEC records of its own contradict that. */
		canon_log(CANON_LOG_ERROR, "zone %s: %s refused: %s", z->origin, why, signed_why);
		return -EINVAL;
	}
	if (z->journal != NULL) {
		if (!z->in_transaction) {
			if (canon_journal_begin(z->journal) != 0) {
				return -EIO;
			}
			z->in_transaction = true;
		}
		if (canon_journal_append(z->journal, ch, who) != 0 ||
		    canon_journal_trim(z->journal, mgr->conf->journal_max_depth, next) != 0) {
			return -EIO;
		}
	}
	set_current(z, next);
	return 0;
}

static zm_zone_t *zone_by_apex(canon_zonemgr_t *mgr, const knot_dname_t *name)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, name);
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (z->current != NULL && knot_dname_is_equal(z->current->apex_name, lower)) {
			return z;
		}
	}
	return NULL;
}

static uint8_t run_update(canon_zonemgr_t *mgr, job_t *job)
{
	knot_pkt_t *pkt = knot_pkt_new((void *)job->wire, job->len, NULL);
	if (pkt == NULL || knot_pkt_parse(pkt, 0) != KNOT_EOK) {
		knot_pkt_free(pkt);
		return KNOT_RCODE_FORMERR;
	}
	zm_zone_t *z = zone_by_apex(mgr, knot_pkt_qname(pkt));
	uint8_t rcode = KNOT_RCODE_NOTAUTH; /* RFC 2136 §3.1.2: not a zone we are primary for. */
	if (z != NULL && z->journal == NULL) {
		canon_log(CANON_LOG_ERROR, "zone %s: update from %s refused: no usable journal",
		          z->origin, job->who);
		rcode = KNOT_RCODE_SERVFAIL;
	} else if (z != NULL) {
		canon_changeset_t ch;
		canon_changeset_init(&ch);
		rcode = canon_update_process(z->current, pkt, job->who, &ch);
		canon_zone_t *next = NULL;
		if (rcode == KNOT_RCODE_NOERROR && ch.added.count > 0) {
			int ret = canon_changeset_apply(z->current, &ch, &next);
			if (ret == 0) {
				ret = zm_commit_version(mgr, z, next, &ch, job->who);
			}
			if (ret != 0) {
				if (next != NULL && next != z->current) {
					canon_zone_free(next);
				}
				rcode = ret == -EINVAL ? KNOT_RCODE_REFUSED : KNOT_RCODE_SERVFAIL;
			}
		}
		canon_changeset_clear(&ch);
	}
	knot_pkt_free(pkt);
	return rcode;
}

/* Start a batch: remember each zone's version so a failed commit can go back. */
void zm_batch_begin(canon_zonemgr_t *mgr)
{
	for (size_t i = 0; i < mgr->count; i++) {
		mgr->zones[i].before = mgr->zones[i].current;
	}
}

/* Commit each zone's journal transaction: one fsync per zone per batch. */
void zm_batch_commit(canon_zonemgr_t *mgr, job_t *jobs, bool *changed)
{
	*changed = false;
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (z->in_transaction) {
			z->in_transaction = false;
			if (canon_journal_commit(z->journal) != 0) {
				canon_log(
				        CANON_LOG_ERROR,
				        "zone %s: journal commit failed (%s): the batch's updates "
				        "are undone",
				        z->origin, canon_journal_error(z->journal));
				canon_journal_rollback(z->journal);
				if (z->current != z->before && z->current->refs == 0) {
					canon_zone_free(z->current);
				}
				z->current = z->before;
				for (job_t *j = jobs; j != NULL; j = j->next) {
					j->rcode = j->kind == JOB_UPDATE ? KNOT_RCODE_SERVFAIL
					                                 : j->rcode;
				}
				continue;
			}
		}
		*changed |= z->current != z->before;
	}
}

void zm_batch_announce(canon_zonemgr_t *mgr)
{
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (z->current != z->before && z->current != NULL) {
			zm_announce(mgr, z);
		}
		z->before = NULL;
	}
}

/* ---- reload (SIGHUP) ---- */

static bool file_unchanged(const zm_zone_t *z)
{
	struct timespec now = {0};
	return zm_file_stat(z->conf->file, &now) == 0 && now.tv_sec == z->file_mtime.tv_sec &&
	       now.tv_nsec == z->file_mtime.tv_nsec;
}

/*
 * The config file changed the zone's flatten= mode: the same records, answered
 * under the new policy (no new serial: the data did not change).
 */
static void refollow_flatten(zm_zone_t *z)
{
	canon_changeset_t none;
	canon_changeset_init(&none);
	canon_zone_t *next = NULL;
	if (canon_changeset_apply_flatten(z->current, &none, z->conf->flatten, &next) != 0) {
		canon_log(CANON_LOG_ERROR, "zone %s: out of memory, flatten= not changed",
		          z->origin);
		return;
	}
	if (check_version(z, next, "the new flatten= mode")) {
		canon_log(CANON_LOG_ERROR,
		          "zone %s: flatten= not changed, keeping the served version", z->origin);
		canon_zone_free(next);
		return;
	}
	canon_log(CANON_LOG_INFO, "zone %s: flatten mode changed", z->origin);
	set_current(z, next);
}

/*
 * What a reload did to a zone: a line for canon ctl (mgr->report), and when
 * it kept the old version, the zone's last error (zone-status).
 */
static void outcome(canon_zonemgr_t *mgr, zm_zone_t *z, bool kept, const char *fmt, ...)
{
	char text[sizeof(z->last_error)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (mgr->report != NULL) {
		fprintf(mgr->report, "%s %s\n", z->origin, text);
	}
	if (kept) {
		snprintf(z->last_error, sizeof(z->last_error), "%s", text);
	} else if (z->current != NULL) {
		z->last_error[0] = '\0';
	}
}

static void kept(canon_zonemgr_t *mgr, zm_zone_t *z, uint32_t served, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/*
 * A reload that keeps the served version: one log line that says so and why
 * ("zone ORIGIN: kept serial N: REASON"), the same text for canon ctl and
 * zone-status, and a count for the reload's closing line.
 */
static void kept(canon_zonemgr_t *mgr, zm_zone_t *z, uint32_t served, const char *fmt, ...)
{
	char reason[sizeof(z->last_error) - 32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	canon_log(CANON_LOG_ERROR, "zone %s: kept serial %u (the old version): %s", z->origin,
	          served, reason);
	outcome(mgr, z, true, "kept serial %u: %s", served, reason);
	mgr->reload_kept++;
	/* The file still differs from what is served: the next reload reads it again. */
	z->file_mtime = (struct timespec){0};
}

/* Reload one zone's file; a changed file with a newer serial becomes a changeset. */
static void reload_zone(canon_zonemgr_t *mgr, zm_zone_t *z)
{
	if (z->current == NULL) {
		if (zm_zone_start(mgr, z) == 0) {
			outcome(mgr, z, false, "loaded: serial %u", canon_zone_serial(z->current));
		} else {
			/* zm_zone_start logged the reason. */
			char reason[sizeof(z->last_error)];
			snprintf(reason, sizeof(reason), "%s", z->last_error);
			outcome(mgr, z, true, "%s", reason);
			mgr->reload_kept++;
		}
		return;
	}
	if (z->current->flatten != z->conf->flatten) {
		refollow_flatten(z);
	}
	if (file_unchanged(z)) {
		outcome(mgr, z, false, "unchanged: serial %u", canon_zone_serial(z->current));
		return;
	}
	uint32_t served = canon_zone_serial(z->current), old_file = z->file_serial;
	char why[sizeof(z->last_error)];
	canon_zone_t *fresh = load_file(mgr, z, why, sizeof(why));
	if (fresh == NULL) {
		kept(mgr, z, served, "%s", why);
		return;
	}
	uint32_t serial = canon_zone_serial(fresh);
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	int ret = canon_changeset_diff(z->current, fresh, &ch);
	if (ret == 0 && canon_changeset_empty(&ch) && serial == served) {
		canon_zone_free(fresh); /* Touched, not changed. */
		outcome(mgr, z, false, "unchanged: serial %u", served);
	} else if (ret == 0 && !canon_serial_newer(serial, served)) {
		kept(mgr, z, served,
		     "%s changed but its serial %u is not greater than %u%s (increase the serial, "
		     "RFC 1982)",
		     z->conf->file, serial, served,
		     served != old_file ? ", changed by UPDATE since the file was read" : "");
		canon_zone_free(fresh);
	} else if (ret == 0) {
		char who[PATH_MAX + 16];
		snprintf(who, sizeof(who), "reload of %s", z->conf->file);
		if (zm_commit_version(mgr, z, fresh, &ch, who) != 0) {
			kept(mgr, z, served, "the new version (serial %u) was refused: %s", serial,
			     z->refused[0] ? z->refused : "its journal could not be written");
			canon_zone_free(fresh);
		} else {
			canon_log(CANON_LOG_INFO,
			          "zone %s reloaded from %s: serial %u -> %u, %zu records",
			          z->origin, z->conf->file, served, serial, fresh->record_count);
			outcome(mgr, z, false, "reloaded: serial %u -> %u", served, serial);
		}
	} else {
		kept(mgr, z, served, "out of memory");
		canon_zone_free(fresh);
	}
	canon_changeset_clear(&ch);
}

zm_zone_t *zm_zone_by_origin(zm_zone_t *zones, size_t count, const char *origin)
{
	for (size_t i = 0; i < count; i++) {
		if (zones[i].origin != NULL && strcasecmp(zones[i].origin, origin) == 0) {
			return &zones[i];
		}
	}
	return NULL;
}

/* A zone list from the settings: each origin once (the first wins), as the table needs. */
static int zones_from_conf(canon_zonemgr_t *mgr, zm_zone_t **out, size_t *count)
{
	zm_zone_t *zones =
	        calloc(mgr->conf->zone_count ? mgr->conf->zone_count : 1, sizeof(*zones));
	if (zones == NULL) {
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < mgr->conf->zone_count; i++) {
		const canon_zone_conf_t *zc = &mgr->conf->zones[i];
		if (zm_zone_by_origin(zones, n, zc->origin) != NULL) {
			canon_log(CANON_LOG_ERROR,
			          "zone %s configured twice, the first one is served", zc->origin);
			continue;
		}
		zones[n].conf = zc;
		zones[n].origin = strdup(zc->origin);
		if (zones[n].origin == NULL) {
			free(zones);
			return -ENOMEM;
		}
		n++;
	}
	*out = zones;
	*count = n;
	return 0;
}

/* Re-read the config file's zone list; returns the list it replaced (to free later). */
static canon_zone_conf_t *reread_zone_list(canon_zonemgr_t *mgr, size_t *old_count)
{
	canon_serve_conf_t *conf = mgr->conf;
	*old_count = 0;
	if (conf->path == NULL) {
		return NULL;
	}
	canon_serve_conf_t fresh;
	canon_conf_init(&fresh);
	/* Keys are read at start only; the new zone lines may name them. */
	fresh.keys = conf->keys;
	fresh.keys_frozen = true;
	canon_zone_conf_t *old = NULL;
	if (canon_conf_read_file(&fresh, conf->path) == 0) {
		old = conf->zones;
		*old_count = conf->zone_count;
		conf->zones = fresh.zones;
		conf->zone_count = fresh.zone_count;
		fresh.zones = NULL;
		fresh.zone_count = 0;
	} else {
		canon_log(CANON_LOG_ERROR, "%s has errors, keeping the zone list", conf->path);
	}
	fresh.keys = (canon_tsig_keyring_t){0};
	canon_conf_free(&fresh);
	return old;
}

/* Zones made through the API are not in the config file: a reload keeps them. */
static size_t keep_dynamic_zones(canon_zonemgr_t *mgr, zm_zone_t **zones, size_t count)
{
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (!z->dynamic) {
			continue;
		}
		if (zm_zone_by_origin(*zones, count, z->origin) != NULL) {
			canon_log(CANON_LOG_ERROR,
			          "zone %s is in the config file now; the one made through the API "
			          "is no longer served (its files stay in the state-dir)",
			          z->origin);
			continue;
		}
		zm_zone_t *grown = realloc(*zones, (count + 1) * sizeof(**zones));
		if (grown == NULL) {
			canon_log(CANON_LOG_ERROR, "reload: out of memory, zone %s dropped",
			          z->origin);
			continue;
		}
		*zones = grown;
		grown[count++] = *z;
		memset(z, 0, sizeof(*z));
	}
	return count;
}

static void run_reload(canon_zonemgr_t *mgr)
{
	canon_log(CANON_LOG_INFO, "SIGHUP: reloading zones");
	mgr->reload_kept = 0;
	size_t old_conf_count = 0;
	canon_zone_conf_t *old_conf = reread_zone_list(mgr, &old_conf_count);
	zm_zone_t *zones = NULL;
	size_t count = 0;
	if (zones_from_conf(mgr, &zones, &count) != 0) {
		canon_log(CANON_LOG_ERROR, "reload: out of memory, keeping every zone");
		return;
	}
	/* Zones that stay keep their state; the others start or stop. */
	for (size_t i = 0; i < count; i++) {
		zm_zone_t *prev = zm_zone_by_origin(mgr->zones, mgr->count, zones[i].origin);
		if (prev != NULL) {
			const canon_zone_conf_t *conf = zones[i].conf;
			free(zones[i].origin);
			zones[i] = *prev;
			zones[i].conf = conf;
			memset(prev, 0, sizeof(*prev));
			/* The new settings carry the key before readers see them. */
			canon_online_attach(mgr->conf->state_dir, (canon_zone_conf_t *)conf, NULL,
			                    0);
			if (zones[i].current != NULL) {
				/* Readers take the settings from the version they answer from. */
				__atomic_store_n(&zones[i].current->settings, conf,
				                 __ATOMIC_RELEASE);
			}
		}
	}
	count = keep_dynamic_zones(mgr, &zones, count);
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_stop(&mgr->zones[i]);
	}
	free(mgr->zones);
	mgr->zones = zones;
	mgr->count = count;
	zm_batch_begin(mgr);
	for (size_t i = 0; i < count; i++) {
		reload_zone(mgr, &zones[i]);
	}
	bool changed = false;
	zm_batch_commit(mgr, NULL, &changed);
	bool catalog = zm_catalog_refresh(mgr);
	zm_publish(mgr); /* Also when only the zone list changed. */
	trim_heap();
	zm_batch_announce(mgr);
	if (catalog) {
		zm_announce(mgr, &mgr->catalog);
	}
	/* publish() waited for the readers: the old settings are no longer in use. */
	canon_conf_free_zones(old_conf, old_conf_count);
	if (mgr->reload_kept > 0) {
		canon_log(CANON_LOG_WARNING,
		          "reload done: %zu zones served, %zu kept at their old version or not "
		          "loaded (see the lines above)",
		          (*mgr->table)->count, mgr->reload_kept);
	} else {
		canon_log(CANON_LOG_INFO, "reload done: %zu zones served", (*mgr->table)->count);
	}
}

/* ---- flush (SIGUSR1): the served version back to the zone file ---- */

static int write_rrset(FILE *out, const knot_rrset_t *rr, char **buf, size_t *size)
{
	if (knot_rrset_txt_dump(rr, buf, size, &KNOT_DUMP_STYLE_DEFAULT) < 0) {
		return -EINVAL;
	}
	return fputs(*buf, out) < 0 ? -EIO : 0;
}

int zm_write_zone(FILE *out, const canon_zone_t *zone)
{
	/* libknot grows the buffer (doubling it), but wants one to start from. */
	size_t size = 4096;
	char *buf = malloc(size);
	if (buf == NULL) {
		return -ENOMEM;
	}
	int ret = write_rrset(out, &zone->soa->rr, &buf, &size);
	for (size_t i = 0; ret == 0 && i < zone->node_count; i++) {
		const canon_node_t *node = zone->nodes[i];
		for (uint16_t j = 0; ret == 0 && j < node->rrset_count; j++) {
			if (node->rrsets[j].rr.type != KNOT_RRTYPE_SOA) {
				ret = write_rrset(out, &node->rrsets[j].rr, &buf, &size);
			}
		}
	}
	free(buf);
	return ret;
}

/* Write to FILE.canon-new, fsync, rename over FILE (as Knot's zonefile-sync does). */
static int flush_zone(zm_zone_t *z)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.canon-new", z->conf->file);
	FILE *out = fopen(tmp, "w");
	if (out == NULL) {
		return -errno;
	}
	fprintf(out, ";; zone %s, serial %u, written by canon serve\n", z->origin,
	        canon_zone_serial(z->current));
	int ret = zm_write_zone(out, z->current);
	if (ret == 0 && (fflush(out) != 0 || fsync(fileno(out)) != 0)) {
		ret = -errno;
	}
	if (fclose(out) != 0 && ret == 0) {
		ret = -errno;
	}
	if (ret == 0 && rename(tmp, z->conf->file) != 0) {
		ret = -errno;
	}
	if (ret != 0) {
		unlink(tmp);
		return ret;
	}
	z->file_serial = canon_zone_serial(z->current);
	zm_file_stat(z->conf->file, &z->file_mtime);
	return 0;
}

static void run_flush(canon_zonemgr_t *mgr)
{
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_t *z = &mgr->zones[i];
		if (z->current == NULL || canon_zone_serial(z->current) == z->file_serial) {
			continue;
		}
		int ret = flush_zone(z);
		if (ret == 0) {
			canon_log(CANON_LOG_INFO, "zone %s written to %s at serial %u", z->origin,
			          z->conf->file, z->file_serial);
		} else {
			canon_log(CANON_LOG_ERROR, "zone %s: cannot write %s: %s", z->origin,
			          z->conf->file, strerror(-ret));
		}
	}
}

/* ---- the thread ---- */

static void run_batch(canon_zonemgr_t *mgr, job_t *jobs)
{
	zm_batch_begin(mgr);
	for (job_t *j = jobs; j != NULL; j = j->next) {
		if (j->kind == JOB_UPDATE) {
			j->rcode = run_update(mgr, j);
		}
	}
	bool changed = false;
	zm_batch_commit(mgr, jobs, &changed);
	if (changed) {
		zm_publish(mgr);
	}
	zm_batch_announce(mgr);
}

static void finish(canon_zonemgr_t *mgr, job_t *jobs)
{
	pthread_mutex_lock(&mgr->lock);
	for (job_t *j = jobs; j != NULL;) {
		job_t *next = j->next;
		j->done = true;
		j = next;
	}
	pthread_cond_broadcast(&mgr->done);
	pthread_mutex_unlock(&mgr->lock);
}

/* Take every queued job: updates that arrive together share one journal commit. */
static job_t *take_jobs(canon_zonemgr_t *mgr)
{
	pthread_mutex_lock(&mgr->lock);
	while (mgr->head == NULL && !mgr->stopping) {
		pthread_cond_wait(&mgr->work, &mgr->lock);
	}
	job_t *jobs = mgr->head;
	mgr->head = mgr->tail = NULL;
	pthread_mutex_unlock(&mgr->lock);
	return jobs;
}

static void *zonemgr_thread(void *arg)
{
	canon_zonemgr_t *mgr = arg;
	for (;;) {
		job_t *jobs = take_jobs(mgr);
		if (jobs == NULL) {
			return NULL; /* Stopping, and nothing left to do. */
		}
		if (jobs->kind == JOB_UPDATE) {
			/* Updates first, as one batch; a reload or flush behind them waits a turn.
			 */
			job_t *rest = jobs, **tail = &jobs;
			while (rest != NULL && rest->kind == JOB_UPDATE) {
				tail = &rest->next;
				rest = rest->next;
			}
			*tail = NULL;
			run_batch(mgr, jobs);
			finish(mgr, jobs);
			jobs = rest;
		}
		while (jobs != NULL) {
			job_t *next = jobs->next;
			jobs->next = NULL;
			if (jobs->kind == JOB_RELOAD) {
				run_reload(mgr);
			} else if (jobs->kind == JOB_FLUSH) {
				run_flush(mgr);
			} else if (jobs->kind == JOB_CALL) {
				jobs->result = jobs->call(mgr, jobs->ctx);
			} else {
				run_batch(mgr, jobs);
			}
			finish(mgr, jobs);
			jobs = next;
		}
	}
}

/* Queue a job and wait until the manager has done it. */
void zm_submit(canon_zonemgr_t *mgr, job_t *job)
{
	pthread_mutex_lock(&mgr->lock);
	if (mgr->tail != NULL) {
		mgr->tail->next = job;
	} else {
		mgr->head = job;
	}
	mgr->tail = job;
	pthread_cond_signal(&mgr->work);
	while (!job->done) {
		pthread_cond_wait(&mgr->done, &mgr->lock);
	}
	pthread_mutex_unlock(&mgr->lock);
}

uint8_t canon_zonemgr_update(canon_zonemgr_t *mgr, const uint8_t *wire, size_t len, const char *who)
{
	job_t job = {.kind = JOB_UPDATE, .wire = wire, .len = len, .who = who};
	if (!mgr->started) {
		return KNOT_RCODE_SERVFAIL;
	}
	zm_submit(mgr, &job);
	return job.rcode;
}

void canon_zonemgr_reload(canon_zonemgr_t *mgr)
{
	job_t job = {.kind = JOB_RELOAD};
	zm_submit(mgr, &job);
}

/* One zone's reload, as run_reload() does it for every zone, without re-reading the list. */
static void reload_one(canon_zonemgr_t *mgr, zm_zone_t *z)
{
	zm_batch_begin(mgr);
	reload_zone(mgr, z);
	bool changed = false;
	zm_batch_commit(mgr, NULL, &changed);
	zm_publish(mgr); /* Also when only its flatten= mode or its loaded state changed. */
	trim_heap();
	zm_batch_announce(mgr);
}

typedef struct {
	const char *origin; /* NULL: every zone */
	FILE *out;
} reload_req_t;

static int run_reload_report(canon_zonemgr_t *mgr, void *ctx)
{
	reload_req_t *req = ctx;
	zm_zone_t *z = NULL;
	if (req->origin != NULL &&
	    (z = zm_zone_by_origin(mgr->zones, mgr->count, req->origin)) == NULL) {
		return -ENOENT;
	}
	mgr->report = req->out;
	if (z != NULL) {
		reload_one(mgr, z);
	} else {
		run_reload(mgr);
	}
	mgr->report = NULL;
	return 0;
}

int canon_zonemgr_reload_report(canon_zonemgr_t *mgr, const char *origin, FILE *out)
{
	reload_req_t req = {.origin = origin, .out = out};
	job_t job = {.kind = JOB_CALL, .call = run_reload_report, .ctx = &req};
	if (!mgr->started) {
		return -EAGAIN;
	}
	zm_submit(mgr, &job);
	return job.result;
}

void canon_zonemgr_flush(canon_zonemgr_t *mgr)
{
	job_t job = {.kind = JOB_FLUSH};
	zm_submit(mgr, &job);
}

canon_zonemgr_t *canon_zonemgr_new(canon_serve_conf_t *conf, _Atomic(canon_zonetable_t *) *table,
                                   canon_zonemgr_sync_t sync, void *sync_ctx)
{
	canon_zonemgr_t *mgr = calloc(1, sizeof(*mgr));
	if (mgr == NULL) {
		return NULL;
	}
	mgr->conf = conf;
	mgr->table = table;
	mgr->sync = sync;
	mgr->sync_ctx = sync_ctx;
	pthread_mutex_init(&mgr->lock, NULL);
	pthread_cond_init(&mgr->work, NULL);
	pthread_cond_init(&mgr->done, NULL);
	if (zones_from_conf(mgr, &mgr->zones, &mgr->count) != 0) {
		canon_zonemgr_free(mgr);
		return NULL;
	}
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_start(mgr, &mgr->zones[i]);
	}
	zm_load_dynamic_zones(mgr);
	zm_catalog_start(mgr);
	trim_heap();
	zm_publish(mgr);
	if (atomic_load(mgr->table) == NULL) {
		canon_zonemgr_free(mgr);
		return NULL;
	}
	return mgr;
}

void canon_zonemgr_on_publish(canon_zonemgr_t *mgr, canon_zonemgr_publish_t publish_cb, void *ctx)
{
	mgr->publish = publish_cb;
	mgr->publish_ctx = ctx;
	if (publish_cb != NULL) {
		publish_cb(ctx, atomic_load(mgr->table));
	}
}

int canon_zonemgr_start(canon_zonemgr_t *mgr)
{
	mgr->notifier = canon_notifier_start();
	if (mgr->notifier == NULL || pthread_create(&mgr->thread, NULL, zonemgr_thread, mgr) != 0) {
		canon_log(CANON_LOG_ERROR, "cannot start the zone manager");
		return -1;
	}
	mgr->started = true;
	/* The secondaries hear of the versions we start with. */
	for (size_t i = 0; i < mgr->count; i++) {
		if (mgr->zones[i].current != NULL) {
			zm_announce(mgr, &mgr->zones[i]);
		}
	}
	if (mgr->catalog.current != NULL) {
		zm_announce(mgr, &mgr->catalog);
	}
	return 0;
}

void canon_zonemgr_free(canon_zonemgr_t *mgr)
{
	if (mgr == NULL) {
		return;
	}
	if (mgr->started) {
		pthread_mutex_lock(&mgr->lock);
		mgr->stopping = true;
		pthread_cond_signal(&mgr->work);
		pthread_mutex_unlock(&mgr->lock);
		pthread_join(mgr->thread, NULL);
	}
	canon_notifier_free(mgr->notifier);
	for (size_t i = 0; i < mgr->count; i++) {
		zm_zone_stop(&mgr->zones[i]);
	}
	zm_zone_stop(&mgr->catalog);
	free(mgr->zones);
	pthread_mutex_destroy(&mgr->lock);
	pthread_cond_destroy(&mgr->work);
	pthread_cond_destroy(&mgr->done);
	free(mgr);
}
