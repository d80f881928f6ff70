/*
 * Each ALIAS target and address type is an entry. Its last good result is an
 * immutable struct behind an atomic pointer: queries read it without a lock,
 * the refresh thread swaps in a new one and frees the old one only after
 * synchronize() (no query can still read it). The index the query path walks
 * is a fixed-size open-addressed table of atomic pointers. A target no zone
 * uses any more (after a reload or an UPDATE) is no longer refreshed, and
 * after FORGET_SECONDS its slot becomes a tombstone (lookups probe past it,
 * new targets reuse it) and the entry is freed after synchronize().
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>

#include "lib/alias.h"
#include "lib/arena.h"
#include "lib/cache.h"
#include "lib/log.h"
#include "lib/name.h"
#include "lib/net.h"
#include "resolve/flatten.h"

#define INDEX_SLOTS        65536 /* Distinct ALIAS targets x 2 types, at most half of it. */
#define REFRESH_THREADS    4     /* A slow target holds up only its own thread. */
#define REFRESH_AT_PERCENT 75    /* Refresh when this share of the TTL has passed. */
#define RETRY_SECONDS      2     /* After a failure. */
#define NODATA_TTL         60    /* A negative result without an SOA. */
#define TICK_MS            100
#define ARENA_SIZE         (2u << 20)
/* A target no published table uses is forgotten after this long (queries on the old table end). */
#define FORGET_SECONDS 3
/* An index slot whose entry was forgotten: not the end of a probe chain. */
#define TOMBSTONE ((entry_t *)&tombstone_mark)

static const char tombstone_mark;

typedef struct {
	canon_alias_status_t status; /* FOUND or NODATA */
	knot_rrset_t *rr;            /* FOUND: the addresses (owner: the target) */
	uint32_t expire;             /* canon_cache_now() seconds */
	uint32_t at;                 /* canon_cache_now() when it was resolved */
} result_t;

typedef struct entry {
	knot_dname_t *target; /* lower-case */
	uint16_t type;
	uint32_t hash;
	_Atomic(result_t *) good; /* Last good result, or NULL. */
	atomic_bool tried;        /* Resolved (or failed) at least once. */
	atomic_bool failing;      /* The last refresh failed: past expiry, serve stale. */
	atomic_uint gen;          /* The last tracked table that uses it (canon_flattener_t.gen). */
	uint32_t next_refresh;    /* Refresh thread only. */
	uint32_t unused_since;    /* Refresh thread only: when it saw it unused first; 0: used. */
	/* Under status_lock (never taken on the query path): the last failure. */
	char last_failure[160];
	uint32_t failed_at;
} entry_t;

struct canon_flattener {
	canon_resolver_conf_t *resolver;
	void (*synchronize)(void *arg);
	void *sync_arg;
	_Atomic(entry_t *) index[INDEX_SLOTS];
	pthread_mutex_t add_lock; /* Serializes adding and forgetting entries. */
	atomic_uint gen;          /* Bumped by each canon_flattener_track(). */
	/*
	 * Held by canon_flattener_each() while it reads results, and by the
	 * refresh threads while they free retired results and write failures:
	 * the query path never takes it.
	 */
	pthread_mutex_t status_lock;
	atomic_uint count;
	canon_alias_source_t source;
	pthread_t threads[REFRESH_THREADS];
	unsigned started;
	atomic_bool stopping;
};

static uint32_t entry_hash(const knot_dname_t *lower, uint16_t type)
{
	return canon_name_hash(lower) ^ ((uint32_t)type * 2654435761u);
}

static entry_t *index_find(canon_flattener_t *fl, const knot_dname_t *lower, uint16_t type,
                           uint32_t hash)
{
	for (uint32_t i = hash % INDEX_SLOTS, n = 0; n < INDEX_SLOTS;
	     i = (i + 1) % INDEX_SLOTS, n++) {
		entry_t *e = atomic_load(&fl->index[i]);
		if (e == NULL) {
			return NULL;
		}
		if (e != TOMBSTONE && e->hash == hash && e->type == type &&
		    knot_dname_is_equal(e->target, lower)) {
			return e;
		}
	}
	return NULL;
}

/* The query path: never blocks, never allocates but from 'mm'. */
static canon_alias_status_t flattener_addresses(void *ctx, const knot_dname_t *target,
                                                uint16_t type, const knot_dname_t *owner,
                                                uint32_t ttl, knot_mm_t *mm,
                                                const knot_rrset_t **rr)
{
	canon_flattener_t *fl = ctx;
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	entry_t *e = index_find(fl, lower, type, entry_hash(lower, type));
	result_t *good = e ? atomic_load(&e->good) : NULL;
	if (good == NULL) {
		return CANON_ALIAS_FAILED; /* Not resolved (yet), or never resolvable. */
	}
	uint32_t now = canon_cache_now();
	/* RFC 8767 §4: stale only when a refresh failed; else it is just due (TTL 1). */
	bool expired = now >= good->expire;
	bool stale = expired && atomic_load(&e->failing);
	if (stale && now >= good->expire + CANON_FLATTEN_STALE_MAX) {
		return CANON_ALIAS_FAILED;
	}
	if (good->status == CANON_ALIAS_NODATA) {
		return CANON_ALIAS_NODATA;
	}
	knot_rrset_t *copy = knot_rrset_copy(good->rr, mm);
	if (copy == NULL) {
		return CANON_ALIAS_FAILED;
	}
	copy->owner = (knot_dname_t *)owner;
	/* The answer's TTL: the smallest over the chain (kept in the result) and the ALIAS. */
	uint32_t left = stale ? CANON_FLATTEN_STALE_TTL : expired ? 1 : good->expire - now;
	copy->ttl = left < ttl ? left : ttl;
	*rr = copy;
	return stale ? CANON_ALIAS_STALE : CANON_ALIAS_FOUND;
}

canon_flattener_t *canon_flattener_new(canon_resolver_conf_t *resolver,
                                       void (*synchronize)(void *arg), void *arg)
{
	canon_flattener_t *fl = calloc(1, sizeof(*fl));
	if (fl == NULL) {
		return NULL;
	}
	fl->resolver = resolver;
	fl->synchronize = synchronize;
	fl->sync_arg = arg;
	pthread_mutex_init(&fl->add_lock, NULL);
	pthread_mutex_init(&fl->status_lock, NULL);
	fl->source = (canon_alias_source_t){.addresses = flattener_addresses, .ctx = fl};
	return fl;
}

const canon_alias_source_t *canon_flattener_source(canon_flattener_t *fl)
{
	return &fl->source;
}

static int track_target(canon_flattener_t *fl, const knot_dname_t *target, uint16_t type,
                        unsigned gen)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	uint32_t hash = entry_hash(lower, type);
	entry_t *found = index_find(fl, lower, type, hash);
	if (found != NULL) {
		atomic_store(&found->gen, gen); /* Still used: kept (or taken back) in service. */
		return 0;
	}
	if (atomic_load(&fl->count) >= INDEX_SLOTS / 2) {
		return -ENOSPC;
	}
	entry_t *e = calloc(1, sizeof(*e));
	if (e == NULL || (e->target = knot_dname_copy(lower, NULL)) == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->type = type;
	e->hash = hash;
	atomic_init(&e->gen, gen);
	uint32_t i = hash % INDEX_SLOTS;
	for (entry_t *at; (at = atomic_load(&fl->index[i])) != NULL && at != TOMBSTONE;) {
		i = (i + 1) % INDEX_SLOTS;
	}
	atomic_store(&fl->index[i], e); /* Published complete: readers see it or nothing. */
	atomic_fetch_add(&fl->count, 1);
	return 0;
}

int canon_flattener_track(canon_flattener_t *fl, const canon_zonetable_t *table)
{
	static const uint16_t types[] = {KNOT_RRTYPE_A, KNOT_RRTYPE_AAAA};
	int ret = 0;
	unsigned before = atomic_load(&fl->count);
	pthread_mutex_lock(&fl->add_lock);
	unsigned gen = atomic_fetch_add(&fl->gen, 1) + 1;
	for (size_t z = 0; z < table->count; z++) {
		const canon_zone_t *zone = table->zones[z];
		for (size_t n = 0; n < zone->node_count && ret == 0; n++) {
			const canon_node_t *node = zone->nodes[n];
			const canon_rrset_t *alias = canon_node_alias(node);
			for (int t = 0; alias != NULL && t < 2 && ret == 0; t++) {
				ret = track_target(fl, knot_cname_name(alias->rr.rrs.rdata),
				                   types[t], gen);
			}
		}
	}
	pthread_mutex_unlock(&fl->add_lock);
	if (ret == -ENOSPC) {
		/* Not fatal: those names answer A/AAAA with SERVFAIL and an EDE. */
		canon_log(CANON_LOG_ERROR,
		          "ALIAS: more than %d targets, the rest are not flattened",
		          INDEX_SLOTS / 4);
		ret = 0;
	}
	if (atomic_load(&fl->count) > before) {
		canon_log(CANON_LOG_INFO, "ALIAS: %u target lookups to keep fresh",
		          atomic_load(&fl->count));
	}
	return ret;
}

size_t canon_flattener_count_names(const canon_zonetable_t *table)
{
	size_t count = 0;
	for (size_t z = 0; table != NULL && z < table->count; z++) {
		const canon_zone_t *zone = table->zones[z];
		for (size_t n = 0; n < zone->node_count; n++) {
			const canon_rrset_t *alias = canon_node_alias(zone->nodes[n]);
			if (alias == NULL) {
				continue;
			}
			/* A target in a zone served here is answered from it (lib/lookup.c). */
			canon_name_t target;
			canon_name_prepare(&target, knot_cname_name(alias->rr.rrs.rdata));
			count += canon_zonetable_find(table, &target, 0) == NULL ? 1 : 0;
		}
	}
	return count;
}

/* The smallest TTL over the chain's links and the final RRset (or negative SOA). */
static uint32_t chain_ttl(const canon_resolution_t *res)
{
	uint32_t ttl = UINT32_MAX;
	for (unsigned i = 0; i < res->answer_count; i++) {
		ttl = res->answer[i]->ttl < ttl ? res->answer[i]->ttl : ttl;
	}
	if (res->authority != NULL) {
		uint32_t neg = canon_negative_ttl(res->authority); /* RFC 2308 §5 */
		ttl = neg < ttl ? neg : ttl;
	}
	return ttl == UINT32_MAX ? NODATA_TTL : ttl;
}

/* A result from a resolution, or NULL when it failed (the old one stays). */
static result_t *make_result(const canon_resolution_t *res, uint16_t type, uint32_t now)
{
	if (res->rcode != KNOT_RCODE_NOERROR && res->rcode != KNOT_RCODE_NXDOMAIN) {
		return NULL;
	}
	result_t *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return NULL;
	}
	const knot_rrset_t *last = res->answer_count ? res->answer[res->answer_count - 1] : NULL;
	r->status = CANON_ALIAS_NODATA; /* An NXDOMAIN target: the ALIAS name has no addresses. */
	if (res->rcode == KNOT_RCODE_NOERROR && last != NULL && last->type == type) {
		r->rr = knot_rrset_copy(last, NULL);
		if (r->rr == NULL) {
			free(r);
			return NULL;
		}
		r->status = CANON_ALIAS_FOUND;
	}
	uint32_t ttl = chain_ttl(res);
	r->expire = now + (ttl > 0 ? ttl : 1);
	r->at = now;
	return r;
}

static void result_free(result_t *r)
{
	if (r != NULL) {
		knot_rrset_free(r->rr, NULL);
		free(r);
	}
}

/* Resolve one entry again; returns the result it replaced (to free after synchronize). */
static result_t *refresh(canon_flattener_t *fl, entry_t *e, canon_arena_t *arena)
{
	canon_arena_reset(arena);
	canon_resolution_t res;
	uint32_t now = canon_cache_now();
	int ret = canon_resolve(fl->resolver, e->target, e->type, CANON_RESOLVE_REFRESH, &res,
	                        &arena->mm);
	result_t *fresh = ret == 0 ? make_result(&res, e->type, now) : NULL;
	atomic_store(&e->tried, true);
	if (fresh == NULL) {
		/* Said once when it starts failing, not at every retry. */
		pthread_mutex_lock(&fl->status_lock);
		if (ret != 0) {
			snprintf(e->last_failure, sizeof(e->last_failure), "resolution failed (%d)",
			         ret);
		} else if (res.ede_text[0] != '\0') {
			snprintf(e->last_failure, sizeof(e->last_failure), "%s", res.ede_text);
		} else {
			snprintf(e->last_failure, sizeof(e->last_failure), "rcode %u", res.rcode);
		}
		e->failed_at = now;
		pthread_mutex_unlock(&fl->status_lock);
		if (!atomic_exchange(&e->failing, true)) {
			char name[KNOT_DNAME_TXT_MAXLEN + 1], type[16];
			knot_dname_to_str(name, e->target, sizeof(name));
			knot_rrtype_to_string(e->type, type, sizeof(type));
			canon_log(CANON_LOG_WARNING, "ALIAS target %s %s: resolution failed%s%s",
			          name, type, ret == 0 && res.ede_text[0] ? ": " : "",
			          ret == 0 ? res.ede_text : "");
		}
		e->next_refresh = now + RETRY_SECONDS;
		return NULL;
	}
	if (atomic_exchange(&e->failing, false)) {
		/* Said once when it recovers, as its failure was. */
		char name[KNOT_DNAME_TXT_MAXLEN + 1], type[16];
		knot_dname_to_str(name, e->target, sizeof(name));
		knot_rrtype_to_string(e->type, type, sizeof(type));
		canon_log(CANON_LOG_INFO, "ALIAS target %s %s: resolved again", name, type);
	}
	uint32_t ttl = fresh->expire - now;
	/* With whole seconds, a TTL of 1 is refreshed at the next tick. */
	e->next_refresh = now + ttl * REFRESH_AT_PERCENT / 100;
	return atomic_exchange(&e->good, fresh);
}

/* No table tracked last uses it: it is not refreshed, and forgotten in time. */
static bool entry_unused(canon_flattener_t *fl, entry_t *e)
{
	return atomic_load(&e->gen) != atomic_load(&fl->gen);
}

static void entry_free(entry_t *e)
{
	result_free(atomic_load(&e->good));
	free(e->target);
	free(e);
}

/* Take slot i's unused entry out of the index (a tombstone); false if used again meanwhile. */
static bool entry_forget(canon_flattener_t *fl, uint32_t i, entry_t *e)
{
	pthread_mutex_lock(&fl->add_lock);
	bool unused = entry_unused(fl, e);
	if (unused) {
		atomic_store(&fl->index[i], TOMBSTONE);
		atomic_fetch_sub(&fl->count, 1);
	}
	pthread_mutex_unlock(&fl->add_lock);
	return unused;
}

typedef struct {
	canon_flattener_t *fl;
	unsigned shard; /* This thread refreshes the index slots i with i % REFRESH_THREADS ==
	                   shard. */
} refresher_t;

static void *refresh_thread(void *arg)
{
	refresher_t *self = arg;
	canon_flattener_t *fl = self->fl;
	unsigned shard = self->shard;
	free(self);
	canon_arena_t arena;
	if (canon_arena_init(&arena, ARENA_SIZE) != 0) {
		return NULL;
	}
	while (!atomic_load(&fl->stopping)) {
		result_t *retired[64];
		entry_t *forgotten[64];
		unsigned retired_count = 0, forgotten_count = 0;
		uint32_t now = canon_cache_now();
		for (uint32_t i = shard;
		     i < INDEX_SLOTS && retired_count < 64 && forgotten_count < 64;
		     i += REFRESH_THREADS) {
			entry_t *e = atomic_load(&fl->index[i]);
			if (e == NULL || e == TOMBSTONE) {
				continue;
			}
			if (entry_unused(fl, e)) {
				/* No zone uses it any more: not refreshed, and forgotten in time.
				 */
				if (e->unused_since == 0) {
					e->unused_since = now > 0 ? now : 1;
				} else if (now - e->unused_since >= FORGET_SECONDS &&
				           entry_forget(fl, i, e)) {
					forgotten[forgotten_count++] = e;
				}
				continue;
			}
			e->unused_since = 0;
			if (e->next_refresh <= now && !atomic_load(&fl->stopping)) {
				result_t *old = refresh(fl, e, &arena);
				if (old != NULL) {
					retired[retired_count++] = old;
				}
			}
		}
		if (retired_count > 0 || forgotten_count > 0) {
			fl->synchronize(fl->sync_arg);
			pthread_mutex_lock(&fl->status_lock); /* canon_flattener_each() */
			for (unsigned i = 0; i < retired_count; i++) {
				result_free(retired[i]);
			}
			for (unsigned i = 0; i < forgotten_count; i++) {
				entry_free(forgotten[i]);
			}
			pthread_mutex_unlock(&fl->status_lock);
		}
		struct timespec tick = {0, TICK_MS * 1000000L};
		nanosleep(&tick, NULL);
	}
	canon_arena_deinit(&arena);
	return NULL;
}

int canon_flattener_start(canon_flattener_t *fl)
{
	for (unsigned i = 0; i < REFRESH_THREADS; i++) {
		refresher_t *self = malloc(sizeof(*self));
		if (self == NULL) {
			return -ENOMEM;
		}
		*self = (refresher_t){.fl = fl, .shard = i};
		int ret = pthread_create(&fl->threads[i], NULL, refresh_thread, self);
		if (ret != 0) {
			free(self);
			return -ret;
		}
		fl->started++;
	}
	return 0;
}

void canon_flattener_warm(canon_flattener_t *fl, unsigned ms)
{
	int64_t deadline = canon_now_ms() + ms;
	while (canon_now_ms() < deadline) {
		bool all = true;
		for (uint32_t i = 0; i < INDEX_SLOTS && all; i++) {
			entry_t *e = atomic_load(&fl->index[i]);
			all = e == NULL || e == TOMBSTONE || entry_unused(fl, e) ||
			      atomic_load(&e->tried);
		}
		if (all) {
			return;
		}
		struct timespec tick = {0, 20 * 1000000L};
		nanosleep(&tick, NULL);
	}
}

void canon_flattener_free(canon_flattener_t *fl)
{
	if (fl == NULL) {
		return;
	}
	atomic_store(&fl->stopping, true);
	for (unsigned i = 0; i < fl->started; i++) {
		pthread_join(fl->threads[i], NULL);
	}
	for (uint32_t i = 0; i < INDEX_SLOTS; i++) {
		entry_t *e = atomic_load(&fl->index[i]);
		if (e != NULL && e != TOMBSTONE) {
			entry_free(e);
		}
	}
	pthread_mutex_destroy(&fl->add_lock);
	pthread_mutex_destroy(&fl->status_lock);
	free(fl);
}

int canon_flattener_each(canon_flattener_t *fl, canon_flattener_visit_t visit, void *ctx)
{
	int ret = 0;
	uint32_t now = canon_cache_now();
	pthread_mutex_lock(&fl->status_lock);
	for (uint32_t i = 0; i < INDEX_SLOTS && ret == 0; i++) {
		entry_t *e = atomic_load(&fl->index[i]);
		if (e == NULL || e == TOMBSTONE) {
			continue;
		}
		const result_t *good = atomic_load(&e->good);
		bool failing = atomic_load(&e->failing);
		canon_flatten_status_t st = {
		        .target = e->target,
		        .type = e->type,
		        .resolved = good != NULL,
		        .nodata = good != NULL && good->status == CANON_ALIAS_NODATA,
		        .addresses = good != NULL ? good->rr : NULL,
		        .age = good != NULL ? now - good->at : 0,
		        .ttl_left = good != NULL && good->expire > now ? good->expire - now : 0,
		        .stale = good != NULL && now >= good->expire && failing,
		        .failing = failing,
		        .last_failure = e->last_failure[0] != '\0' ? e->last_failure : NULL,
		        .failure_age = e->last_failure[0] != '\0' ? now - e->failed_at : 0,
		};
		ret = visit(ctx, &st);
	}
	pthread_mutex_unlock(&fl->status_lock);
	return ret;
}

size_t canon_flattener_flush(canon_flattener_t *fl)
{
	return fl->resolver->cache != NULL ? canon_cache_flush(fl->resolver->cache) : 0;
}
