/*
 * A fixed table of server entries, direct-mapped by a hash of the address: a
 * collision forgets the older server, which costs only its history. Shards
 * with a lock each, as in lib/cache.c: resolver threads rarely meet.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "resolve/infra.h"

#define SLOTS  4096
#define SHARDS 16
/* Hold-down after a timeout: 1 s, doubled for each timeout in a row, at most 8 s. */
#define HOLD_BASE_MS 1000
#define HOLD_MAX_MS  8000

typedef struct {
	uint8_t family; /* 0: empty */
	uint16_t port;
	uint8_t addr[16];
} key_t_;

typedef struct {
	key_t_ key;
	unsigned srtt_ms;      /* Smoothed RTT (7/8 old + 1/8 new, as TCP's RFC 6298 §2). */
	unsigned timeouts;     /* Consecutive timeouts; 0: good. */
	int64_t hold_until_ms; /* After a timeout: no probe before this. */
	bool probing;          /* A query is out to a server that timed out. */
} entry_t;

struct canon_infra {
	pthread_mutex_t locks[SHARDS];
	entry_t slots[SLOTS];
};

canon_infra_t *canon_infra_new(void)
{
	canon_infra_t *infra = calloc(1, sizeof(*infra));
	if (infra == NULL) {
		return NULL;
	}
	/* Touched now, not a page at a time by the first queries (lib/arena.h, issue 15). */
	canon_prefault(infra, sizeof(*infra));
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&infra->locks[i], NULL);
	}
	return infra;
}

void canon_infra_free(canon_infra_t *infra)
{
	if (infra == NULL) {
		return;
	}
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_destroy(&infra->locks[i]);
	}
	free(infra);
}

static key_t_ make_key(const struct sockaddr *addr)
{
	key_t_ k = {.family = (uint8_t)addr->sa_family};
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
		k.port = v4->sin_port;
		memcpy(k.addr, &v4->sin_addr, 4);
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
		k.port = v6->sin6_port;
		memcpy(k.addr, &v6->sin6_addr, 16);
	}
	return k;
}

static unsigned slot_of(const key_t_ *k)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const uint8_t *p = (const uint8_t *)k;
	for (size_t i = 0; i < sizeof(*k); i++) {
		h = (h ^ p[i]) * 16777619u;
	}
	return h % SLOTS;
}

static bool key_equal(const key_t_ *a, const key_t_ *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The entry of 'k' (created, replacing another, when 'create'), locked; or NULL, unlocked. */
static entry_t *entry_lock(canon_infra_t *infra, const key_t_ *k, bool create)
{
	unsigned slot = slot_of(k);
	pthread_mutex_lock(&infra->locks[slot % SHARDS]);
	entry_t *e = &infra->slots[slot];
	if (key_equal(&e->key, k)) {
		return e;
	}
	if (create) {
		*e = (entry_t){.key = *k};
		return e;
	}
	pthread_mutex_unlock(&infra->locks[slot % SHARDS]);
	return NULL;
}

static void entry_unlock(canon_infra_t *infra, const key_t_ *k)
{
	pthread_mutex_unlock(&infra->locks[slot_of(k) % SHARDS]);
}

canon_infra_state_t canon_infra_check(canon_infra_t *infra, const struct sockaddr *addr, bool claim,
                                      int64_t now_ms, unsigned *rtt_ms)
{
	key_t_ k = make_key(addr);
	*rtt_ms = 0;
	entry_t *e = entry_lock(infra, &k, false);
	if (e == NULL) {
		return CANON_INFRA_GOOD;
	}
	canon_infra_state_t state = CANON_INFRA_GOOD;
	*rtt_ms = e->srtt_ms;
	if (e->timeouts > 0) {
		bool can_probe = claim && !e->probing && now_ms >= e->hold_until_ms;
		state = can_probe ? CANON_INFRA_PROBE : CANON_INFRA_SKIP;
		e->probing |= can_probe;
	}
	entry_unlock(infra, &k);
	return state;
}

void canon_infra_report(canon_infra_t *infra, const struct sockaddr *addr, bool answered,
                        unsigned rtt_ms, int64_t now_ms)
{
	key_t_ k = make_key(addr);
	entry_t *e = entry_lock(infra, &k, true);
	e->probing = false;
	if (answered) {
		e->timeouts = 0;
		e->srtt_ms = e->srtt_ms == 0 ? rtt_ms + 1 : (e->srtt_ms * 7 + rtt_ms + 1) / 8;
	} else {
		e->timeouts += e->timeouts < UINT32_MAX ? 1 : 0;
		unsigned shift = e->timeouts - 1 < 3 ? e->timeouts - 1 : 3;
		int64_t hold = (int64_t)HOLD_BASE_MS << shift;
		e->hold_until_ms = now_ms + (hold < HOLD_MAX_MS ? hold : HOLD_MAX_MS);
	}
	entry_unlock(infra, &k);
}

void canon_infra_release(canon_infra_t *infra, const struct sockaddr *addr)
{
	key_t_ k = make_key(addr);
	entry_t *e = entry_lock(infra, &k, false);
	if (e != NULL) {
		e->probing = false;
		entry_unlock(infra, &k);
	}
}
