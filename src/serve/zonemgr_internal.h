/*
 * The zone manager's insides, shared by zonemgr.c (the change path, reload,
 * flush) and zoneapi.c (what the API asks of it). Everything here runs in
 * the manager's thread only.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "lib/changeset.h"
#include "lib/check.h"
#include "lib/journal.h"
#include "serve/notify.h"
#include "serve/zonemgr.h"

typedef struct {
	char *origin;
	const canon_zone_conf_t *conf;
	canon_zone_t *current;    /* The published version. */
	canon_journal_t *journal; /* NULL: no state-dir, or the journal failed. */
	bool journal_failed;      /* state-dir is set but the journal cannot be used. */
	uint32_t file_serial;     /* Serial of the zone file when last read or written. */
	struct timespec file_mtime;
	uint64_t *finding_keys; /* Fingerprints of the current version's findings, sorted. */
	size_t finding_count;
	bool dynamic;                /* Created through the API, kept in state-dir/zones. */
	canon_zone_conf_t *own_conf; /* Its settings, owned here (dynamic zones). */
	/* Within one batch of jobs. */
	canon_zone_t *before; /* The version before the batch. */
	bool in_transaction;
	/*
	 * The version last published and when (for zone-status and metrics). A
	 * published version stays allocated while it is 'published', so a new
	 * version cannot have its address: comparing pointers tells a new one.
	 */
	const canon_zone_t *published;
	int64_t published_at;
	char last_error[512]; /* Why the last reload kept the old version, or "". */
	char refused[384];    /* Why the checker refused the last version offered, or "". */
} zm_zone_t;

typedef enum { JOB_UPDATE, JOB_RELOAD, JOB_FLUSH, JOB_CALL } job_kind_t;

typedef struct job {
	job_kind_t kind;
	const uint8_t *wire;
	size_t len;
	const char *who;
	uint8_t rcode;
	int (*call)(canon_zonemgr_t *mgr, void *ctx); /* JOB_CALL */
	void *ctx;
	int result;
	bool done;
	struct job *next;
} job_t;

struct canon_zonemgr {
	canon_serve_conf_t *conf;
	_Atomic(canon_zonetable_t *) *table;
	canon_zonemgr_sync_t sync;
	void *sync_ctx;
	canon_zonemgr_publish_t publish;
	void *publish_ctx;
	zm_zone_t *zones;
	size_t count;
	canon_notifier_t *notifier;
	zm_zone_t catalog; /* The catalog zone (RFC 9432), when catalog: names one. */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t work; /* Jobs queued, or stopping. */
	pthread_cond_t done; /* Jobs finished. */
	job_t *head, *tail;
	bool stopping;
	FILE *report;       /* While a reload runs for canon ctl: one line per zone goes here. */
	size_t reload_kept; /* Zones the reload running now kept at their old version. */
};

/* Publish a table of every zone's current version and wait until readers left the old one. */
void zm_publish(canon_zonemgr_t *mgr);

/* NOTIFY the zone's secondaries of its current serial. */
void zm_announce(canon_zonemgr_t *mgr, const zm_zone_t *z);

/* Check 'next' (built from z->current by 'ch'), journal it, make it current (unpublished). */
int zm_commit_version(canon_zonemgr_t *mgr, zm_zone_t *z, canon_zone_t *next,
                      const canon_changeset_t *ch, const char *who);

/* A batch: remember each zone's version; commit the journals; NOTIFY what changed. */
void zm_batch_begin(canon_zonemgr_t *mgr);
void zm_batch_commit(canon_zonemgr_t *mgr, job_t *jobs, bool *changed);
void zm_batch_announce(canon_zonemgr_t *mgr);

zm_zone_t *zm_zone_by_origin(zm_zone_t *zones, size_t count, const char *origin);

/* Load a zone (file, then journal); 0 or -1 when it is not served. */
int zm_zone_start(canon_zonemgr_t *mgr, zm_zone_t *z);
void zm_zone_stop(zm_zone_t *z);
void zm_open_journal(canon_zonemgr_t *mgr, zm_zone_t *z);

/* Fingerprints of findings, for telling what a change adds. */
uint64_t zm_finding_key(const canon_finding_t *f);
uint64_t *zm_finding_keys(const canon_findings_t *findings);
int zm_key_cmp(const void *a, const void *b);

int zm_file_stat(const char *path, struct timespec *mtime);

/* The zone in master-file form. */
int zm_write_zone(FILE *out, const canon_zone_t *zone);

/* Queue a job and wait until the manager has done it. */
void zm_submit(canon_zonemgr_t *mgr, job_t *job);

/* At start: the zones made through the API, from state-dir/zones. */
void zm_load_dynamic_zones(canon_zonemgr_t *mgr);

/* Make the catalog zone's first version (catalog: NAME), at start. */
void zm_catalog_start(canon_zonemgr_t *mgr);

/*
 * Rebuild the catalog from the zones served now; when its members changed it
 * gets a new version (not yet published): returns true, and the caller
 * publishes and announces it.
 */
bool zm_catalog_refresh(canon_zonemgr_t *mgr);
