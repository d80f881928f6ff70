/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/descriptor.h>

#include "lib/alias.h"
#include "lib/arena.h"
#include "lib/cache.h"
#include "lib/name.h"

#define CACHE_SHARDS          16
#define CACHE_SLOTS_PER_SHARD 4096 /* Chained buckets: a soft size only. */
#define NXDOMAIN_TYPE         0    /* Key type of NXDOMAIN entries: they cover all types. */

typedef struct entry {
	struct entry *next_in_bucket;
	struct entry *lru_prev, *lru_next; /* Most recently used at the head. */
	uint32_t hash;
	uint16_t type;
	uint8_t kind;    /* canon_cache_result_t */
	uint8_t rank;    /* canon_cache_rank_t */
	uint32_t expire; /* canon_cache_now() seconds */
	size_t bytes;
	knot_rrset_t *rr;     /* The RRset, or the SOA of a negative entry. */
	knot_dname_t owner[]; /* Lower-case. */
} entry_t;

typedef struct {
	pthread_mutex_t lock;
	entry_t *buckets[CACHE_SLOTS_PER_SHARD];
	entry_t *lru_head, *lru_tail;
	size_t bytes;
	size_t entries;
} shard_t;

struct canon_cache {
	canon_cache_limits_t limits;
	shard_t shards[CACHE_SHARDS];
};

uint32_t canon_cache_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_sec;
}

canon_cache_t *canon_cache_new(const canon_cache_limits_t *limits)
{
	canon_cache_t *cache = calloc(1, sizeof(*cache));
	if (cache == NULL) {
		return NULL;
	}
	/*
	 * The bucket arrays (512 KiB) are touched now: calloc leaves them to be
	 * faulted in a page at a time by the first lookups, and a cold
	 * resolution looks up a few dozen keys, each on a page of its own, at
	 * 20-50 us per first touch in a VM (issue 15).
	 */
	canon_prefault(cache, sizeof(*cache));
	cache->limits = *limits;
	if (cache->limits.max_ttl == 0) {
		cache->limits.max_ttl = 86400;
	}
	if (cache->limits.max_neg_ttl == 0) {
		cache->limits.max_neg_ttl = 10800;
	}
	for (int i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_init(&cache->shards[i].lock, NULL);
	}
	return cache;
}

static void entry_free(entry_t *e)
{
	knot_rrset_free(e->rr, NULL);
	free(e);
}

void canon_cache_free(canon_cache_t *cache)
{
	if (cache == NULL) {
		return;
	}
	for (int i = 0; i < CACHE_SHARDS; i++) {
		shard_t *shard = &cache->shards[i];
		for (entry_t *e = shard->lru_head; e != NULL;) {
			entry_t *next = e->lru_next;
			entry_free(e);
			e = next;
		}
		pthread_mutex_destroy(&shard->lock);
	}
	free(cache);
}

static uint32_t key_hash(const knot_dname_t *lower, uint16_t type)
{
	return canon_name_hash(lower) ^ ((uint32_t)type * 2654435761u);
}

static void lru_unlink(shard_t *shard, entry_t *e)
{
	if (e->lru_prev) {
		e->lru_prev->lru_next = e->lru_next;
	} else {
		shard->lru_head = e->lru_next;
	}
	if (e->lru_next) {
		e->lru_next->lru_prev = e->lru_prev;
	} else {
		shard->lru_tail = e->lru_prev;
	}
}

static void lru_push_front(shard_t *shard, entry_t *e)
{
	e->lru_prev = NULL;
	e->lru_next = shard->lru_head;
	if (shard->lru_head) {
		shard->lru_head->lru_prev = e;
	}
	shard->lru_head = e;
	if (shard->lru_tail == NULL) {
		shard->lru_tail = e;
	}
}

/* The bucket link pointing at the entry for the key, or at the NULL ending the chain. */
static entry_t **bucket_find(shard_t *shard, const knot_dname_t *lower, uint16_t type,
                             uint32_t hash)
{
	entry_t **link = &shard->buckets[(hash / CACHE_SHARDS) % CACHE_SLOTS_PER_SHARD];
	while (*link != NULL) {
		entry_t *e = *link;
		if (e->hash == hash && e->type == type && knot_dname_is_equal(e->owner, lower)) {
			break;
		}
		link = &e->next_in_bucket;
	}
	return link;
}

static void entry_remove(shard_t *shard, entry_t **link)
{
	entry_t *e = *link;
	*link = e->next_in_bucket;
	lru_unlink(shard, e);
	shard->bytes -= e->bytes;
	shard->entries--;
	entry_free(e);
}

static void evict(canon_cache_t *cache, shard_t *shard)
{
	size_t budget = cache->limits.max_bytes / CACHE_SHARDS;
	while (shard->bytes > budget && shard->lru_tail != NULL) {
		entry_t *victim = shard->lru_tail;
		entry_t **link = bucket_find(shard, victim->owner, victim->type, victim->hash);
		entry_remove(shard, link);
	}
}

static int insert(canon_cache_t *cache, const knot_dname_t *owner, uint16_t type, uint8_t kind,
                  uint8_t rank, const knot_rrset_t *rr, uint32_t ttl, uint32_t now)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, owner);
	size_t owner_size = knot_dname_size(lower);
	entry_t *e = malloc(sizeof(*e) + owner_size);
	if (e == NULL) {
		return -ENOMEM;
	}
	memcpy(e->owner, lower, owner_size);
	e->rr = knot_rrset_copy(rr, NULL);
	if (e->rr == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->type = type;
	e->kind = kind;
	e->rank = rank;
	e->expire = now + ttl;
	e->hash = key_hash(lower, type);
	e->bytes = sizeof(*e) + owner_size + knot_rrset_size(rr) + sizeof(knot_rrset_t);

	shard_t *shard = &cache->shards[e->hash % CACHE_SHARDS];
	pthread_mutex_lock(&shard->lock);
	entry_t **link = bucket_find(shard, lower, type, e->hash);
	if (*link != NULL && (*link)->rank > rank && (*link)->expire > now) {
		/* RFC 2181 §5.4.1: lower-ranked data never replaces higher-ranked. */
		pthread_mutex_unlock(&shard->lock);
		entry_free(e);
		return 0;
	}
	if (*link != NULL) {
		entry_remove(shard, link); /* Newer data replaces older (RFC 2181 §5.4.1). */
		link = bucket_find(shard, lower, type, e->hash);
	}
	e->next_in_bucket = NULL;
	*link = e;
	lru_push_front(shard, e);
	shard->bytes += e->bytes;
	shard->entries++;
	evict(cache, shard);
	pthread_mutex_unlock(&shard->lock);
	return 0;
}

int canon_cache_put_ranked(canon_cache_t *cache, const knot_rrset_t *rr, uint32_t now,
                           canon_cache_rank_t rank)
{
	if (rr->type == NXDOMAIN_TYPE) {
		return 0; /* Type 0 is reserved (RFC 6895 §3.1), and the key of NXDOMAIN entries. */
	}
	uint32_t ttl = rr->ttl < cache->limits.max_ttl ? rr->ttl : cache->limits.max_ttl;
	return insert(cache, rr->owner, rr->type, CANON_CACHE_POSITIVE, (uint8_t)rank, rr, ttl,
	              now);
}

int canon_cache_put(canon_cache_t *cache, const knot_rrset_t *rr, uint32_t now)
{
	return canon_cache_put_ranked(cache, rr, now, CANON_CACHE_RANK_AUTH);
}

int canon_cache_put_negative(canon_cache_t *cache, const knot_dname_t *name, uint16_t type,
                             bool nxdomain, const knot_rrset_t *soa, uint32_t now)
{
	if (!nxdomain && type == NXDOMAIN_TYPE) {
		return 0; /* Type 0 is the key of NXDOMAIN entries: NODATA for it is not kept. */
	}
	uint32_t ttl = canon_negative_ttl(soa); /* RFC 2308 §5 */
	if (ttl > cache->limits.max_neg_ttl) {
		ttl = cache->limits.max_neg_ttl;
	}
	return insert(cache, name, nxdomain ? NXDOMAIN_TYPE : type,
	              nxdomain ? CANON_CACHE_NXDOMAIN : CANON_CACHE_NODATA, CANON_CACHE_RANK_AUTH,
	              soa, ttl, now);
}

/* Copy the entry's RRset out with its remaining TTL; called with the shard locked. */
static knot_rrset_t *copy_out(const entry_t *e, uint32_t now, knot_mm_t *mm)
{
	knot_rrset_t *copy = knot_rrset_copy(e->rr, mm);
	if (copy != NULL) {
		copy->ttl = e->expire - now;
	}
	return copy;
}

static canon_cache_result_t get_key(canon_cache_t *cache, const knot_dname_t *lower, uint16_t type,
                                    uint32_t now, uint8_t min_rank, knot_mm_t *mm,
                                    knot_rrset_t **rr)
{
	uint32_t hash = key_hash(lower, type);
	shard_t *shard = &cache->shards[hash % CACHE_SHARDS];
	canon_cache_result_t result = CANON_CACHE_MISS;
	pthread_mutex_lock(&shard->lock);
	entry_t **link = bucket_find(shard, lower, type, hash);
	entry_t *e = *link;
	if (e != NULL && e->expire <= now) {
		entry_remove(shard, link);
	} else if (e != NULL && e->rank >= min_rank) {
		lru_unlink(shard, e);
		lru_push_front(shard, e);
		*rr = copy_out(e, now, mm);
		result = *rr != NULL ? (canon_cache_result_t)e->kind : CANON_CACHE_MISS;
	}
	pthread_mutex_unlock(&shard->lock);
	return result;
}

canon_cache_result_t canon_cache_get_ranked(canon_cache_t *cache, const knot_dname_t *name,
                                            uint16_t type, uint32_t now,
                                            canon_cache_rank_t min_rank, knot_mm_t *mm,
                                            knot_rrset_t **rr)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, name);
	canon_cache_result_t result = CANON_CACHE_MISS;
	if (type != NXDOMAIN_TYPE) {
		result = get_key(cache, lower, type, now, (uint8_t)min_rank, mm, rr);
	}
	if (result == CANON_CACHE_MISS) {
		result = get_key(cache, lower, NXDOMAIN_TYPE, now, (uint8_t)min_rank, mm, rr);
	}
	return result;
}

canon_cache_result_t canon_cache_get(canon_cache_t *cache, const knot_dname_t *name, uint16_t type,
                                     uint32_t now, knot_mm_t *mm, knot_rrset_t **rr)
{
	return canon_cache_get_ranked(cache, name, type, now, CANON_CACHE_RANK_GLUE, mm, rr);
}

size_t canon_cache_flush(canon_cache_t *cache)
{
	size_t dropped = 0;
	for (int i = 0; i < CACHE_SHARDS; i++) {
		shard_t *shard = &cache->shards[i];
		pthread_mutex_lock(&shard->lock);
		for (entry_t *e = shard->lru_head; e != NULL;) {
			entry_t *next = e->lru_next;
			entry_free(e);
			e = next;
		}
		dropped += shard->entries;
		memset(shard->buckets, 0, sizeof(shard->buckets));
		shard->lru_head = shard->lru_tail = NULL;
		shard->bytes = shard->entries = 0;
		pthread_mutex_unlock(&shard->lock);
	}
	return dropped;
}

void canon_cache_stats(canon_cache_t *cache, size_t *entries, size_t *bytes)
{
	*entries = *bytes = 0;
	for (int i = 0; i < CACHE_SHARDS; i++) {
		shard_t *shard = &cache->shards[i];
		pthread_mutex_lock(&shard->lock);
		*entries += shard->entries;
		*bytes += shard->bytes;
		pthread_mutex_unlock(&shard->lock);
	}
}
