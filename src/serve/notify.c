/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>

#include "lib/log.h"
#include "lib/net.h"
#include "serve/notify.h"

/* One try waits this long for the answer; pauses between tries double up to the cap. */
#define NOTIFY_TIMEOUT_MS   1000
#define NOTIFY_PAUSE_MS     1000
#define NOTIFY_PAUSE_MAX_MS 60000
/* Tries before we give up and say so (a new version starts again). */
#define NOTIFY_TRIES 15
/* A NOTIFY and its answer: a question and a TSIG. */
#define NOTIFY_MSG_MAX 1232

typedef struct pending {
	knot_dname_storage_t apex;
	uint32_t serial;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const canon_tsig_key_t *key;
	unsigned tries;
	int64_t due_ms;
	struct pending *next;
} pending_t;

struct canon_notifier {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pending_t *list;
	bool stopping;
};

/* A NOTIFY for the zone's SOA (RFC 1996 §3.7), TSIG-signed when the zone has a key. */
static int build(const pending_t *p, uint8_t *wire, size_t *len, canon_tsig_session_t *tsig)
{
	knot_pkt_t *pkt = knot_pkt_new(wire, NOTIFY_MSG_MAX, NULL);
	if (pkt == NULL) {
		return -1;
	}
	/* knot_pkt_new over a caller's buffer takes it as a message: start a new one. */
	knot_pkt_clear(pkt);
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		id = (uint16_t)rand();
	}
	knot_wire_set_id(pkt->wire, id);
	knot_wire_set_opcode(pkt->wire, KNOT_OPCODE_NOTIFY);
	knot_wire_set_aa(pkt->wire);
	int ret = knot_pkt_put_question(pkt, p->apex, KNOT_CLASS_IN, KNOT_RRTYPE_SOA);
	*len = pkt->size;
	knot_pkt_free(pkt);
	if (ret != 0) {
		return -1;
	}
	memset(tsig, 0, sizeof(*tsig));
	if (p->key != NULL &&
	    canon_tsig_sign_request(tsig, p->key, wire, len, NOTIFY_MSG_MAX) != 0) {
		return -1;
	}
	return 0;
}

/* Send one NOTIFY and wait for its answer; true when the secondary acknowledged it. */
static bool send_one(const pending_t *p)
{
	uint8_t query[NOTIFY_MSG_MAX], reply[NOTIFY_MSG_MAX];
	size_t len = 0;
	canon_tsig_session_t tsig;
	if (build(p, query, &len, &tsig) != 0) {
		return false;
	}
	canon_msg_t q = {.data = query, .len = len, .cap = sizeof(query)};
	canon_msg_t r = {.data = reply, .len = 0, .cap = sizeof(reply)};
	canon_net_peer_t peer = {.addr = (const struct sockaddr *)&p->addr, .addrlen = p->addrlen};
	if (canon_net_udp(&peer, &q, &r, canon_now_ms() + NOTIFY_TIMEOUT_MS) != 0 ||
	    r.len < KNOT_WIRE_HEADER_SIZE) {
		return false;
	}
	/* RFC 1996 §4.7: the answer echoes the opcode; NOERROR acknowledges. */
	return knot_wire_get_opcode(reply) == KNOT_OPCODE_NOTIFY &&
	       knot_wire_get_rcode(reply) == KNOT_RCODE_NOERROR &&
	       (p->key == NULL || canon_tsig_check_reply(&tsig, reply, r.len) == 0);
}

static void describe(const pending_t *p, char *out, size_t size)
{
	char zone[KNOT_DNAME_TXT_MAXLEN + 1], addr[64];
	knot_dname_to_str(zone, p->apex, sizeof(zone));
	canon_net_addr_str(&p->addr, addr, sizeof(addr));
	snprintf(out, size, "NOTIFY of zone %s serial %u to %s", zone, p->serial, addr);
}

/* Try 'p' now; returns whether it is done (answered, or given up). */
static bool attempt(pending_t *p)
{
	char what[KNOT_DNAME_TXT_MAXLEN + 128];
	describe(p, what, sizeof(what));
	if (send_one(p)) {
		canon_log(CANON_LOG_DEBUG, "%s answered", what);
		return true;
	}
	p->tries++;
	if (p->tries >= NOTIFY_TRIES) {
		canon_log(CANON_LOG_ERROR, "%s: no answer after %u tries, giving up", what,
		          p->tries);
		return true;
	}
	if (p->tries == 1) {
		canon_log(CANON_LOG_WARNING, "%s: no answer, retrying", what);
	}
	int64_t pause = (int64_t)NOTIFY_PAUSE_MS << (p->tries - 1);
	p->due_ms = canon_now_ms() + (pause < NOTIFY_PAUSE_MAX_MS ? pause : NOTIFY_PAUSE_MAX_MS);
	return false;
}

/* The first pending NOTIFY that is due, unlinked; or NULL and *wait_ms until the next. */
static pending_t *take_due(canon_notifier_t *n, int64_t *wait_ms)
{
	int64_t now = canon_now_ms();
	*wait_ms = -1;
	for (pending_t **at = &n->list; *at != NULL; at = &(*at)->next) {
		pending_t *p = *at;
		if (p->due_ms <= now) {
			*at = p->next;
			return p;
		}
		if (*wait_ms < 0 || p->due_ms - now < *wait_ms) {
			*wait_ms = p->due_ms - now;
		}
	}
	return NULL;
}

static void wait_for(canon_notifier_t *n, int64_t wait_ms)
{
	if (wait_ms < 0) {
		pthread_cond_wait(&n->wake, &n->lock);
		return;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (wait_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&n->wake, &n->lock, &until);
}

/* Whether two NOTIFYs are for the same zone and the same secondary. */
static bool same_target(const pending_t *a, const pending_t *b)
{
	return knot_dname_is_equal(a->apex, b->apex) && a->addrlen == b->addrlen &&
	       memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

/* Whether a newer NOTIFY for the same zone and address was queued meanwhile. */
static bool superseded(const canon_notifier_t *n, const pending_t *p)
{
	for (const pending_t *q = n->list; q != NULL; q = q->next) {
		if (same_target(q, p)) {
			return true;
		}
	}
	return false;
}

static void *notifier_thread(void *arg)
{
	canon_notifier_t *n = arg;
	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		int64_t wait_ms;
		pending_t *p = take_due(n, &wait_ms);
		if (p == NULL) {
			wait_for(n, wait_ms);
			continue;
		}
		pthread_mutex_unlock(&n->lock);
		bool done = attempt(p);
		pthread_mutex_lock(&n->lock);
		if (done || superseded(n, p)) {
			free(p);
		} else {
			p->next = n->list;
			n->list = p;
		}
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

canon_notifier_t *canon_notifier_start(void)
{
	canon_notifier_t *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->wake, NULL);
	if (pthread_create(&n->thread, NULL, notifier_thread, n) != 0) {
		pthread_mutex_destroy(&n->lock);
		pthread_cond_destroy(&n->wake);
		free(n);
		return NULL;
	}
	return n;
}

static const canon_tsig_key_t *zone_key(const canon_zone_conf_t *zone,
                                        const canon_tsig_keyring_t *keys)
{
	for (size_t i = 0; i < zone->transfer_count; i++) {
		if (zone->transfer[i].key != NULL) {
			return canon_tsig_keyring_find_str(keys, zone->transfer[i].key);
		}
	}
	return NULL;
}

/* Drop a pending NOTIFY for the same zone and address: the new serial replaces it. */
static void drop_same(canon_notifier_t *n, const pending_t *p)
{
	for (pending_t **at = &n->list; *at != NULL;) {
		pending_t *q = *at;
		if (same_target(q, p)) {
			*at = q->next;
			free(q);
		} else {
			at = &q->next;
		}
	}
}

void canon_notifier_queue(canon_notifier_t *n, const knot_dname_t *apex, uint32_t serial,
                          const canon_zone_conf_t *zone, const canon_tsig_keyring_t *keys)
{
	const canon_tsig_key_t *key = zone_key(zone, keys);
	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < zone->notify_count; i++) {
		pending_t *p = calloc(1, sizeof(*p));
		if (p == NULL) {
			canon_log(CANON_LOG_ERROR, "out of memory: a NOTIFY is not sent");
			continue;
		}
		memcpy(p->apex, apex, knot_dname_size(apex));
		p->serial = serial;
		p->addr = zone->notify[i];
		p->addrlen = zone->notify_len[i];
		p->key = key;
		p->due_ms = canon_now_ms();
		drop_same(n, p);
		p->next = n->list;
		n->list = p;
	}
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
}

void canon_notifier_free(canon_notifier_t *n)
{
	if (n == NULL) {
		return;
	}
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	while (n->list != NULL) {
		pending_t *p = n->list;
		n->list = p->next;
		free(p);
	}
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->wake);
	free(n);
}
