/*
 * canon resolve's server side. For each listen address, one thread at a time
 * holds the front duty: it drains the UDP socket in recvmmsg batches and
 * answers straight from the cache. A query that needs the network goes to a
 * pool of resolver threads, so a slow or dead authoritative server holds up
 * only the thread waiting on it; when the socket is not busy and a pool
 * thread is idle, that thread takes the front duty over instead and the
 * holder resolves the query itself, one thread wake-up sooner
 * (leader/follower). TCP connections are served by the pool too.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/rrtype/opt.h>

#include "lib/arena.h"
#include "lib/cookie.h"
#include "lib/edns.h"
#include "lib/listen.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/privs.h"
#include "lib/sdnotify.h"
#include "lib/tcplimit.h"
#include "resolve/server.h"

#define POOL_THREADS 16
#define QUEUE_SIZE   1024
#define BATCH        32
#define QUERY_MAX    4096
#define ARENA_SIZE   (2u << 20)
#define TCP_IDLE_MS  3000 /* No new message for this long: closed (RFC 7766 §6.2.3). */
#define TCP_SEND_MS  2000 /* An answer the client does not read for this long: closed. */
/* A TCP connection holds a pool thread: leave at least half of them to UDP. */
#define TCP_MAX (POOL_THREADS / 2)
/* Slots: TCP_MAX in use, and as many again for connections being evicted. */
#define TCP_SLOTS (TCP_MAX * 2)
#define POLL_MS   500
/*
 * What a thread's first queries touch is backed at its start (lib/arena.h):
 * a cold resolution uses about 100 KiB of its arena (the reply buffer and what
 * the steps keep); faulting those pages in during the first resolutions cost
 * more than a millisecond in a VM (issue 15).
 */
#define PREFAULT_BYTES (128u << 10)
#define PREFAULT_STACK (32u << 10) /* Of each thread's stack: a resolution needs ~10 KiB. */
#define PREFAULT_JOBS  16          /* Slots of the queue. */

/* Back the first PREFAULT_STACK octets of the calling thread's stack now. */
static void __attribute__((noinline)) prefault_stack(void)
{
	uint8_t pad[PREFAULT_STACK];
	explicit_bzero(pad, sizeof(pad));
}

typedef struct {
	int fd; /* UDP socket to answer on, or the TCP connection. */
	bool tcp;
	int slot; /* TCP: the connection's slot in server_t.tcp. */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t len;
	uint8_t query[QUERY_MAX];
} job_t;

typedef struct {
	int fd;              /* -1: free */
	bool evicted;        /* Shut down to make room; its thread is closing it. */
	int64_t last_active; /* ms: accepted, or an answer sent */
} tcp_slot_t;

/*
 * What one thread counts (metrics): only that thread writes its block, on a
 * cache line of its own; a scrape adds the blocks up (docs/metrics.md).
 */
typedef struct {
	_Alignas(64) atomic_uint_fast64_t hits; /* Client queries answered from the cache alone. */
	atomic_uint_fast64_t misses;            /* ... that needed the network. */
	atomic_uint_fast64_t upstream;          /* Queries sent to servers. */
	atomic_uint_fast64_t upstream_failures; /* ... that got no reply (timeout, ICMP). */
	atomic_uint_fast64_t servfail;          /* SERVFAIL answers. */
} counters_t;

#define COUNTERS (POOL_THREADS + CANON_LISTEN_MAX) /* Threads at most. */

static void count(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

typedef struct {
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sockaddr_storage peer[BATCH];
	uint8_t query[BATCH][QUERY_MAX];
	uint8_t answer[BATCH][QUERY_MAX];
} batch_t;

/* One listen address: its sockets, and the batch of whichever thread holds its front duty. */
typedef struct front {
	int udp_fd;
	int tcp_fd;
	batch_t *batch;
} front_t;

typedef struct {
	const canon_listen_t *listen;
	size_t listen_count;
	canon_resolver_conf_t *resolver;
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t ready;
	pthread_cond_t pool_up; /* A pool thread is set up (pool_ready). */
	unsigned pool_ready;    /* Pool threads done with their set-up, failed or not. */
	/*
	 * Front duties waiting for a thread (leader/follower, below): a pool
	 * thread takes one before any job. 'idle' threads wait in queue_pop().
	 */
	struct front *fronts_waiting[CANON_LISTEN_MAX];
	unsigned fronts_waiting_count;
	unsigned idle;
	job_t *jobs; /* Ring of QUEUE_SIZE. */
	size_t head, count;
	/* TCP connections held by pool threads; only accept and the connection's end lock it. */
	pthread_mutex_t tcp_lock;
	tcp_slot_t tcp[TCP_SLOTS];
	int metrics_fd;                /* metrics: listener, or -1 */
	counters_t counters[COUNTERS]; /* One block per thread. */
	canon_cookie_secret_t cookies; /* DNS cookies (lib/cookie.h), random per start. */
} server_t;

static bool put_rrsets(knot_pkt_t *resp, knot_section_t id, knot_rrset_t *const *rrs,
                       unsigned count)
{
	knot_pkt_begin(resp, id);
	for (unsigned i = 0; i < count; i++) {
		if (knot_pkt_put(resp, KNOT_COMPR_HINT_NONE, rrs[i], KNOT_PF_NOTRUNC) != KNOT_EOK) {
			return false;
		}
	}
	return true;
}

/* The answer to 'query' from 'res' (or just 'rcode' when res is NULL). */
static size_t build_response(const server_t *srv, const struct sockaddr_storage *peer,
                             const knot_pkt_t *query, const canon_resolution_t *res, uint8_t rcode,
                             bool tcp, uint8_t *out, size_t size, knot_mm_t *mm)
{
	uint16_t limit = tcp ? KNOT_WIRE_MAX_PKTSIZE : KNOT_WIRE_MIN_PKTSIZE;
	bool edns = query->opt_rr != NULL;
	if (edns && !tcp) {
		uint16_t payload = knot_edns_get_payload(query->opt_rr);
		limit = payload > 1232 ? 1232 : payload < 512 ? 512 : payload;
	}
	knot_pkt_t *resp = knot_pkt_new(out, limit < size ? limit : (uint16_t)size, mm);
	if (resp == NULL || knot_pkt_init_response(resp, query) != KNOT_EOK) {
		return 0;
	}
	knot_wire_set_ra(resp->wire); /* RFC 1035 §4.1.1: recursion is available. */
	knot_rrset_t opt;
	if (edns) {
		knot_edns_init(&opt, 1232, 0, 0, mm);
		/* RFC 7873 §5.2: our cookie back to a client cookie; FORMERR when malformed. */
		if (canon_cookie_answer(&srv->cookies, query->opt_rr, peer, (uint32_t)time(NULL),
		                        &opt, mm) == CANON_COOKIE_MALFORMED) {
			res = NULL;
			rcode = KNOT_RCODE_FORMERR;
		}
		if (res != NULL && res->ede != KNOT_EDNS_EDE_NONE) {
			canon_edns_add_ede(&opt, res->ede, res->ede_text, mm);
		}
		/* RFC 6891 §6.1.3: BADVERS (16) is 1 in the OPT's extended rcode. */
		knot_edns_set_ext_rcode(&opt, (uint8_t)((res ? res->rcode : rcode) >> 4));
		knot_pkt_reserve(resp, knot_edns_wire_size(&opt));
	}
	knot_wire_set_rcode(resp->wire, (res ? res->rcode : rcode) & 0xf);
	if (res != NULL) {
		knot_rrset_t *auth = res->authority;
		if (!put_rrsets(resp, KNOT_ANSWER, res->answer, res->answer_count) ||
		    !put_rrsets(resp, KNOT_AUTHORITY, &auth, auth ? 1 : 0)) {
			/* Too big for UDP: question only with TC, the client retries on TCP. */
			knot_pkt_clear(resp);
			knot_pkt_init_response(resp, query);
			knot_wire_set_ra(resp->wire);
			knot_wire_set_tc(resp->wire);
			knot_wire_set_rcode(resp->wire, res->rcode);
			if (edns) {
				knot_pkt_reserve(resp, knot_edns_wire_size(&opt));
			}
		}
	}
	if (edns) {
		knot_pkt_reclaim(resp, knot_edns_wire_size(&opt));
		knot_pkt_begin(resp, KNOT_ADDITIONAL);
		knot_pkt_put(resp, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_NOTRUNC);
	}
	return resp->size;
}

/*
 * The clients of allow-recursion, or loopback only when it lists none: an
 * open resolver is an amplifier (RFC 5358 §4).
 */
static bool allowed(const server_t *srv, const struct sockaddr_storage *peer)
{
	if (srv->resolver->allow_recursion.count > 0) {
		return canon_prefix_list_match(&srv->resolver->allow_recursion,
		                               (const struct sockaddr *)peer);
	}
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)peer;
		return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)peer;
	return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
}

/*
 * Answer one query. With 'cache_only', returns 0 when the network is needed
 * (the caller queues it). Otherwise returns the answer's length (0: drop).
 */
static size_t answer(server_t *srv, counters_t *cnt, uint8_t *query, size_t len, bool tcp,
                     bool cache_only, const struct sockaddr_storage *peer, uint8_t *out,
                     size_t size, canon_arena_t *arena, bool *queued)
{
	*queued = false;
	canon_arena_reset(arena);
	knot_mm_t *mm = &arena->mm;
	if (len < KNOT_WIRE_HEADER_SIZE || knot_wire_get_qr(query)) {
		return 0;
	}
	knot_pkt_t *q = knot_pkt_new(query, (uint16_t)len, mm);
	if (q == NULL || knot_pkt_parse(q, 0) != KNOT_EOK || knot_wire_get_qdcount(query) != 1) {
		memset(out, 0, KNOT_WIRE_HEADER_SIZE);
		memcpy(out, query, 2);
		knot_wire_set_qr(out);
		knot_wire_set_rcode(out, KNOT_RCODE_FORMERR);
		return KNOT_WIRE_HEADER_SIZE;
	}
	uint8_t rcode = KNOT_RCODE_NOERROR;
	if (!allowed(srv, peer)) {
		rcode = KNOT_RCODE_REFUSED;
	} else if (knot_wire_get_opcode(query) != KNOT_OPCODE_QUERY) {
		rcode = KNOT_RCODE_NOTIMPL;
	} else if (knot_pkt_qclass(q) != KNOT_CLASS_IN) {
		rcode = KNOT_RCODE_REFUSED;
	} else if (q->opt_rr != NULL && knot_edns_get_version(q->opt_rr) != 0) {
		rcode = KNOT_RCODE_BADVERS; /* Only EDNS version 0 exists (RFC 6891 §6.1.3). */
	}
	if (rcode != KNOT_RCODE_NOERROR) {
		return build_response(srv, peer, q, NULL, rcode, tcp, out, size, mm);
	}
	canon_resolution_t res;
	int ret = canon_resolve(srv->resolver, knot_pkt_qname(q), knot_pkt_qtype(q),
	                        cache_only ? CANON_RESOLVE_CACHE_ONLY : 0, &res, mm);
	if (ret == -EAGAIN) {
		*queued = true; /* Counted by the pool thread that resolves it. */
		return 0;
	}
	count(ret == 0 && res.sent == 0 ? &cnt->hits : &cnt->misses, 1);
	count(&cnt->servfail, ret != 0 || res.rcode == KNOT_RCODE_SERVFAIL ? 1 : 0);
	if (ret == 0) {
		count(&cnt->upstream, res.sent);
		count(&cnt->upstream_failures, res.failed);
	}
	if (ret != 0) {
		return build_response(srv, peer, q, NULL, KNOT_RCODE_SERVFAIL, tcp, out, size, mm);
	}
	return build_response(srv, peer, q, &res, 0, tcp, out, size, mm);
}

/* --- the pool ------------------------------------------------------------- */

static bool queue_push(server_t *srv, int fd, int slot, const struct sockaddr_storage *peer,
                       socklen_t peer_len, const uint8_t *query, size_t len)
{
	pthread_mutex_lock(&srv->lock);
	bool ok = srv->count < QUEUE_SIZE;
	if (ok) {
		job_t *job = &srv->jobs[(srv->head + srv->count++) % QUEUE_SIZE];
		job->fd = fd;
		job->tcp = slot >= 0;
		job->slot = slot;
		job->peer = *peer;
		job->peer_len = peer_len;
		job->len = len;
		if (len > 0) {
			memcpy(job->query, query, len); /* TCP jobs carry no query yet. */
		}
	}
	pthread_mutex_unlock(&srv->lock);
	/*
	 * Signalled after the unlock: a thread woken while the lock is still
	 * held wakes only to wait for it again (two more futex calls and a
	 * context switch before a cold query is sent upstream).
	 */
	if (ok) {
		pthread_cond_signal(&srv->ready);
	}
	return ok;
}

typedef enum {
	POP_STOP,  /* Stopping, nothing left. */
	POP_JOB,   /* *job: a UDP query to resolve, or a TCP connection. */
	POP_FRONT, /* *front: a listen address's front duty. */
} pop_t;

/* The next front duty or job (front duties first: cache hits must not wait). */
static pop_t queue_pop(server_t *srv, job_t *job, front_t **front)
{
	pthread_mutex_lock(&srv->lock);
	srv->idle++;
	while (srv->count == 0 && srv->fronts_waiting_count == 0 && !atomic_load(&srv->stopping)) {
		pthread_cond_wait(&srv->ready, &srv->lock);
	}
	srv->idle--;
	pop_t got = POP_STOP;
	if (srv->fronts_waiting_count > 0 && !atomic_load(&srv->stopping)) {
		*front = srv->fronts_waiting[--srv->fronts_waiting_count];
		got = POP_FRONT;
	} else if (srv->count > 0) {
		*job = srv->jobs[srv->head];
		srv->head = (srv->head + 1) % QUEUE_SIZE;
		srv->count--;
		/*
		 * An empty ring starts over at its first slot: under a light load
		 * the same few slots (4 KiB each) serve every query, warm, instead
		 * of a new one, still to be faulted in, for each of the first 1024.
		 */
		if (srv->count == 0) {
			srv->head = 0;
		}
		got = POP_JOB;
	}
	pthread_mutex_unlock(&srv->lock);
	return got;
}

/*
 * Give the front duty of 'f' to an idle pool thread, if one waits beyond
 * those the queued jobs and front duties will take: then the duty is never
 * left without a thread. False: none is free, the caller keeps the duty.
 */
static bool front_hand_over(server_t *srv, front_t *f)
{
	pthread_mutex_lock(&srv->lock);
	bool ok = srv->idle > srv->fronts_waiting_count + srv->count &&
	          srv->fronts_waiting_count < CANON_LISTEN_MAX;
	if (ok) {
		srv->fronts_waiting[srv->fronts_waiting_count++] = f;
	}
	pthread_mutex_unlock(&srv->lock);
	if (ok) {
		pthread_cond_signal(&srv->ready);
	}
	return ok;
}

/* --- TCP connections --------------------------------------------------------- */

/*
 * A slot for a new connection. When TCP_MAX are in use, the one idle longest
 * (no answer sent for the longest time: a slowloris client, or one that does
 * not read) is shut down to make room, as canon serve does (serve/tcp.c): its
 * thread wakes from poll() or send() and closes it. -1 when no slot is free.
 */
static int tcp_admit(server_t *srv, int fd)
{
	pthread_mutex_lock(&srv->tcp_lock);
	int free_slot = -1, victim = -1;
	unsigned active = 0;
	for (int i = 0; i < TCP_SLOTS; i++) {
		tcp_slot_t *t = &srv->tcp[i];
		if (t->fd < 0) {
			free_slot = free_slot < 0 ? i : free_slot;
		} else if (!t->evicted) {
			active++;
			if (victim < 0 || t->last_active < srv->tcp[victim].last_active) {
				victim = i;
			}
		}
	}
	if (active >= TCP_MAX && victim >= 0) {
		srv->tcp[victim].evicted = true;
		shutdown(srv->tcp[victim].fd, SHUT_RDWR);
	}
	if (free_slot >= 0) {
		srv->tcp[free_slot] = (tcp_slot_t){.fd = fd, .last_active = canon_now_ms()};
	}
	pthread_mutex_unlock(&srv->tcp_lock);
	return free_slot;
}

static void tcp_touch(server_t *srv, int slot)
{
	pthread_mutex_lock(&srv->tcp_lock);
	srv->tcp[slot].last_active = canon_now_ms();
	pthread_mutex_unlock(&srv->tcp_lock);
}

static void tcp_release(server_t *srv, int slot)
{
	pthread_mutex_lock(&srv->tcp_lock);
	srv->tcp[slot] = (tcp_slot_t){.fd = -1};
	pthread_mutex_unlock(&srv->tcp_lock);
}

/* Wait until 'fd' is readable, up to 'deadline'; false on timeout, error or stop. */
static bool wait_readable(server_t *srv, int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - canon_now_ms();
		if (left <= 0 || atomic_load(&srv->stopping)) {
			return false;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ret = poll(&p, 1, left < POLL_MS ? (int)left : POLL_MS);
		if (ret > 0) {
			return true;
		}
		if (ret < 0 && errno != EINTR) {
			return false;
		}
	}
}

/* Read exactly 'len' octets before 'deadline' (however they trickle in). */
static int read_before(server_t *srv, int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t have = 0;
	while (have < len) {
		if (!wait_readable(srv, fd, deadline)) {
			return -1;
		}
		ssize_t n = read(fd, buf + have, len - have);
		if (n <= 0) {
			return -1;
		}
		have += (size_t)n;
	}
	return 0;
}

/*
 * One TCP connection: queries in, answers out, until EOF, idle (RFC 7766
 * §6.2.3), a message not whole within CANON_TCP_MSG_DEADLINE_MS of its first
 * octet (lib/tcplimit.h), an answer not taken within TCP_SEND_MS, or eviction.
 */
static void serve_tcp(server_t *srv, counters_t *cnt, job_t *job, uint8_t *out,
                      canon_arena_t *arena)
{
	struct timeval send_limit = {.tv_sec = TCP_SEND_MS / 1000,
	                             .tv_usec = (TCP_SEND_MS % 1000) * 1000};
	setsockopt(job->fd, SOL_SOCKET, SO_SNDTIMEO, &send_limit, sizeof(send_limit));
	uint8_t *query = malloc(KNOT_WIRE_MAX_PKTSIZE);
	int64_t idle_until = canon_now_ms() + TCP_IDLE_MS;
	while (query != NULL && wait_readable(srv, job->fd, idle_until)) {
		int64_t deadline = canon_now_ms() + CANON_TCP_MSG_DEADLINE_MS;
		uint8_t prefix[2];
		if (read_before(srv, job->fd, prefix, 2, deadline) != 0) {
			break;
		}
		size_t len = (size_t)prefix[0] << 8 | prefix[1];
		if (read_before(srv, job->fd, query, len, deadline) != 0) {
			break;
		}
		bool queued;
		size_t n = answer(srv, cnt, query, len, true, false, &job->peer, out + 2,
		                  KNOT_WIRE_MAX_PKTSIZE, arena, &queued);
		out[0] = (uint8_t)(n >> 8);
		out[1] = (uint8_t)n;
		if (n > 0 && send(job->fd, out, n + 2, MSG_NOSIGNAL) != (ssize_t)(n + 2)) {
			break;
		}
		tcp_touch(srv, job->slot);
		idle_until = canon_now_ms() + TCP_IDLE_MS;
	}
	free(query);
	tcp_release(srv, job->slot); /* First: eviction must never shut down a reused fd. */
	close(job->fd);
}

typedef struct {
	server_t *srv;
	counters_t *cnt; /* This thread's own. */
} pool_arg_t;

/* Tell canon_resolver_run() that this pool thread is set up (or gave up). */
static void pool_thread_up(server_t *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->pool_ready++;
	pthread_mutex_unlock(&srv->lock);
	pthread_cond_signal(&srv->pool_up);
}

/*
 * Wait until 'count' pool threads are set up: a resolver that answers its
 * readiness probe while its threads still fault their memory in makes its
 * first resolutions wait for CPU behind them.
 */
static void pool_wait_up(server_t *srv, unsigned count)
{
	pthread_mutex_lock(&srv->lock);
	while (srv->pool_ready < count) {
		pthread_cond_wait(&srv->pool_up, &srv->lock);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* --- front threads ---------------------------------------------------------- */

/*
 * One recvmmsg batch of the front duty of 'f': cache hits answered, misses
 * queued for the pool, except the first of a batch that is not full, kept
 * in 'keep'. Returns true when
 * the duty went to an idle pool thread: the caller then resolves 'keep'
 * itself (leader/follower), and the miss is spared a handoff to another
 * thread, which costs a wake-up, up to milliseconds on a busy machine. When
 * no thread is free, 'keep' is queued too and the caller stays the front.
 */
static bool front_udp(server_t *srv, counters_t *cnt, front_t *f, canon_arena_t *arena, job_t *keep)
{
	batch_t *b = f->batch;
	for (int i = 0; i < BATCH; i++) {
		b->in_iov[i] = (struct iovec){.iov_base = b->query[i], .iov_len = QUERY_MAX};
		b->in[i].msg_hdr = (struct msghdr){.msg_name = &b->peer[i],
		                                   .msg_namelen = sizeof(b->peer[i]),
		                                   .msg_iov = &b->in_iov[i],
		                                   .msg_iovlen = 1};
	}
	int n = recvmmsg(f->udp_fd, b->in, BATCH, MSG_DONTWAIT, NULL);
	unsigned replies = 0;
	/*
	 * A full batch: more queries wait in the socket, and the cache hits
	 * among them should not wait for another thread to wake up and take
	 * the duty over. Then every miss goes to the pool, as under any load.
	 */
	bool may_keep = n < BATCH, kept = false;
	for (int i = 0; i < n; i++) {
		bool queued;
		size_t len = answer(srv, cnt, b->query[i], b->in[i].msg_len, false, true,
		                    &b->peer[i], b->answer[i], QUERY_MAX, arena, &queued);
		if (queued && may_keep && !kept) {
			*keep = (job_t){.fd = f->udp_fd,
			                .slot = -1,
			                .peer = b->peer[i],
			                .peer_len = b->in[i].msg_hdr.msg_namelen,
			                .len = b->in[i].msg_len};
			memcpy(keep->query, b->query[i], b->in[i].msg_len);
			kept = true;
		} else if (queued && !queue_push(srv, f->udp_fd, -1, &b->peer[i],
		                                 b->in[i].msg_hdr.msg_namelen, b->query[i],
		                                 b->in[i].msg_len)) {
			canon_log(CANON_LOG_WARNING, "resolver queue full: query dropped");
		}
		if (len == 0) {
			continue;
		}
		b->out_iov[replies] = (struct iovec){.iov_base = b->answer[i], .iov_len = len};
		b->out[replies].msg_hdr =
		        (struct msghdr){.msg_name = &b->peer[i],
		                        .msg_namelen = b->in[i].msg_hdr.msg_namelen,
		                        .msg_iov = &b->out_iov[replies],
		                        .msg_iovlen = 1};
		replies++;
	}
	if (replies > 0) {
		sendmmsg(f->udp_fd, b->out, replies, 0);
	}
	/* Only now: the batch goes with the duty. */
	if (kept && !front_hand_over(srv, f)) {
		if (!queue_push(srv, keep->fd, -1, &keep->peer, keep->peer_len, keep->query,
		                keep->len)) {
			canon_log(CANON_LOG_WARNING, "resolver queue full: query dropped");
		}
		kept = false;
	}
	return kept;
}

static void front_tcp(server_t *srv, front_t *f)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(f->tcp_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		return;
	}
	int slot = tcp_admit(srv, fd);
	if (slot < 0 || !queue_push(srv, fd, slot, &peer, len, NULL, 0)) {
		if (slot >= 0) {
			tcp_release(srv, slot);
		}
		close(fd); /* Busy: the client retries (RFC 7766 §6.2.2). */
	}
}

/*
 * Hold the front duty of 'f': drain its UDP socket in recvmmsg batches,
 * answer from the cache, accept TCP connections for the pool. Returns true
 * with a cache miss in 'keep' when the duty went to another thread, false
 * when stopping.
 */
static bool front_serve(server_t *srv, counters_t *cnt, front_t *f, canon_arena_t *arena,
                        job_t *keep)
{
	while (!atomic_load(&srv->stopping)) {
		struct pollfd p[2] = {{.fd = f->udp_fd, .events = POLLIN},
		                      {.fd = f->tcp_fd, .events = POLLIN}};
		if (poll(p, 2, POLL_MS) <= 0) {
			continue;
		}
		if (p[1].revents & POLLIN) {
			front_tcp(srv, f);
		}
		if ((p[0].revents & POLLIN) && front_udp(srv, cnt, f, arena, keep)) {
			return true;
		}
	}
	return false;
}

/*
 * A resolver thread (leader/follower): it holds a listen address's front
 * duty until a cache miss comes and another thread is free to take the duty
 * over, then resolves that miss itself; or it resolves queued misses and
 * serves TCP connections. Front duties go first (queue_pop()).
 */
static void *pool_thread(void *arg)
{
	server_t *srv = ((pool_arg_t *)arg)->srv;
	counters_t *cnt = ((pool_arg_t *)arg)->cnt;
	canon_arena_t arena;
	uint8_t *out = malloc(2 + KNOT_WIRE_MAX_PKTSIZE);
	job_t *job = malloc(sizeof(*job));
	if (out == NULL || job == NULL || canon_arena_init(&arena, ARENA_SIZE) != 0) {
		canon_log(CANON_LOG_ERROR, "resolver thread: out of memory");
		free(out);
		free(job);
		pool_thread_up(srv);
		return NULL;
	}
	canon_arena_prefault(&arena, PREFAULT_BYTES);
	canon_prefault(out, KNOT_WIRE_MIN_PKTSIZE);
	canon_prefault(job, sizeof(*job));
	prefault_stack();
	pool_thread_up(srv);
	for (;;) {
		front_t *front = NULL;
		pop_t got = queue_pop(srv, job, &front);
		if (got == POP_STOP) {
			break;
		}
		if (got == POP_FRONT) {
			if (!front_serve(srv, cnt, front, &arena, job)) {
				continue; /* Stopping: what is queued is still answered. */
			}
		} else if (job->tcp) {
			serve_tcp(srv, cnt, job, out, &arena);
			continue;
		}
		bool queued;
		size_t n = answer(srv, cnt, job->query, job->len, false, false, &job->peer, out,
		                  KNOT_WIRE_MAX_PKTSIZE, &arena, &queued);
		if (n > 0) {
			sendto(job->fd, out, n, 0, (struct sockaddr *)&job->peer, job->peer_len);
		}
	}
	canon_arena_deinit(&arena);
	free(out);
	free(job);
	return NULL;
}

/* --- metrics ------------------------------------------------------------------ */

/* The Prometheus text (format 0.0.4) of the counters, summed over the threads. */
static size_t metrics_text(server_t *srv, char *out, size_t size)
{
	uint64_t hits = 0, misses = 0, upstream = 0, failures = 0, servfail = 0;
	for (unsigned i = 0; i < COUNTERS; i++) {
		counters_t *c = &srv->counters[i];
		hits += atomic_load_explicit(&c->hits, memory_order_relaxed);
		misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
		upstream += atomic_load_explicit(&c->upstream, memory_order_relaxed);
		failures += atomic_load_explicit(&c->upstream_failures, memory_order_relaxed);
		servfail += atomic_load_explicit(&c->servfail, memory_order_relaxed);
	}
	size_t entries, bytes;
	canon_cache_stats(srv->resolver->cache, &entries, &bytes);
	int n = snprintf(
	        out, size,
	        "# HELP canon_resolver_cache_hits_total Queries answered from the cache alone.\n"
	        "# TYPE canon_resolver_cache_hits_total counter\n"
	        "canon_resolver_cache_hits_total %llu\n"
	        "# HELP canon_resolver_cache_misses_total Queries that needed the network.\n"
	        "# TYPE canon_resolver_cache_misses_total counter\n"
	        "canon_resolver_cache_misses_total %llu\n"
	        "# HELP canon_resolver_upstream_queries_total Queries sent to servers.\n"
	        "# TYPE canon_resolver_upstream_queries_total counter\n"
	        "canon_resolver_upstream_queries_total %llu\n"
	        "# HELP canon_resolver_upstream_failures_total Queries to servers that got no "
	        "reply.\n"
	        "# TYPE canon_resolver_upstream_failures_total counter\n"
	        "canon_resolver_upstream_failures_total %llu\n"
	        "# HELP canon_resolver_servfail_total SERVFAIL answers.\n"
	        "# TYPE canon_resolver_servfail_total counter\n"
	        "canon_resolver_servfail_total %llu\n"
	        "# HELP canon_resolver_cache_entries Entries in the cache.\n"
	        "# TYPE canon_resolver_cache_entries gauge\n"
	        "canon_resolver_cache_entries %zu\n"
	        "# HELP canon_resolver_cache_bytes Memory the cache's entries use.\n"
	        "# TYPE canon_resolver_cache_bytes gauge\n"
	        "canon_resolver_cache_bytes %zu\n",
	        (unsigned long long)hits, (unsigned long long)misses, (unsigned long long)upstream,
	        (unsigned long long)failures, (unsigned long long)servfail, entries, bytes);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* One HTTP request on 'fd': GET /metrics, or 404. Bounded: 1 s to read, 1 s to send. */
static void metrics_serve(server_t *srv, int fd)
{
	char req[1024];
	size_t have = 0;
	int64_t deadline = canon_now_ms() + 1000;
	while (have < sizeof(req) - 1 && memmem(req, have, "\r\n\r\n", 4) == NULL) {
		if (!wait_readable(srv, fd, deadline)) {
			return;
		}
		ssize_t n = read(fd, req + have, sizeof(req) - 1 - have);
		if (n <= 0) {
			return;
		}
		have += (size_t)n;
	}
	req[have] = '\0';
	char body[4096], head[256];
	bool found =
	        strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0;
	size_t len = found ? metrics_text(srv, body, sizeof(body)) : 0;
	int n = found ? snprintf(head, sizeof(head),
	                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                         len)
	              : snprintf(head, sizeof(head),
	                         "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
	                         "Connection: close\r\n\r\n");
	struct timeval limit = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n && len > 0) {
		send(fd, body, len, MSG_NOSIGNAL);
	}
}

static void *metrics_thread(void *arg)
{
	server_t *srv = arg;
	while (!atomic_load(&srv->stopping)) {
		struct pollfd p = {.fd = srv->metrics_fd, .events = POLLIN};
		if (poll(&p, 1, POLL_MS) <= 0) {
			continue;
		}
		int fd = accept4(srv->metrics_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			metrics_serve(srv, fd);
			close(fd);
		}
	}
	return NULL;
}

/* The metrics: listener (bound with the DNS sockets, before privileges go); -1 on error. */
static int metrics_listen(const struct sockaddr_storage *addr, socklen_t len)
{
	char text[64];
	canon_net_addr_str(addr, text, sizeof(text));
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)addr, len) != 0 || listen(fd, 16) != 0) {
		canon_log(CANON_LOG_ERROR, "metrics: cannot listen on %s: %s", text,
		          strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	canon_log(CANON_LOG_INFO, "metrics on http://%s/metrics", text);
	return fd;
}

/* --- start and stop --------------------------------------------------------- */

/* The sockets and batch of each listen address; each front duty waits for a thread. */
static int open_fronts(server_t *srv, front_t *fronts)
{
	if (canon_listen_check_all(srv->listen, srv->listen_count) != 0) {
		return -1;
	}
	for (size_t i = 0; i < srv->listen_count; i++) {
		fronts[i].batch = malloc(sizeof(batch_t));
		if (fronts[i].batch == NULL) {
			canon_log(CANON_LOG_ERROR, "resolver: out of memory");
			return -1;
		}
		canon_prefault(fronts[i].batch, sizeof(batch_t));
		if (canon_listen_open(&srv->listen[i], &fronts[i].udp_fd, &fronts[i].tcp_fd) != 0) {
			return -1;
		}
		srv->fronts_waiting[srv->fronts_waiting_count++] = &fronts[i];
	}
	return 0;
}

static void wait_for_stop(void)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	for (;;) {
		int sig = 0;
		if (sigwait(&signals, &sig) == 0 && sig != SIGHUP) {
			canon_log(CANON_LOG_INFO, "signal %d: stopping", sig);
			return;
		}
	}
}

int canon_resolver_run(const canon_listen_t *listen, size_t count, const char *user,
                       canon_resolver_conf_t *resolver, const struct sockaddr_storage *metrics,
                       socklen_t metrics_len)
{
	server_t srv = {
	        .listen = listen, .listen_count = count, .resolver = resolver, .metrics_fd = -1};
	atomic_init(&srv.stopping, false);
	canon_cookie_secret_random(&srv.cookies);
	pthread_mutex_init(&srv.lock, NULL);
	pthread_mutex_init(&srv.tcp_lock, NULL);
	for (int i = 0; i < TCP_SLOTS; i++) {
		srv.tcp[i].fd = -1;
	}
	pthread_cond_init(&srv.ready, NULL);
	pthread_cond_init(&srv.pool_up, NULL);
	srv.jobs = calloc(QUEUE_SIZE, sizeof(job_t));
	if (srv.jobs != NULL) {
		canon_prefault(srv.jobs, PREFAULT_JOBS * sizeof(job_t));
	}
	front_t fronts[CANON_LISTEN_MAX];
	for (size_t i = 0; i < CANON_LISTEN_MAX; i++) {
		fronts[i] = (front_t){.udp_fd = -1, .tcp_fd = -1};
	}
	/* A thread per front duty besides the pool: as many resolve as before. */
	unsigned threads = POOL_THREADS + (unsigned)count;
	pthread_t pool[COUNTERS], metrics_thread_id;
	pool_arg_t pool_args[COUNTERS];
	unsigned pool_started = 0;
	bool metrics_started = false;
	int status = 1;

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The sockets as root (port 53), the threads as the user of user:. */
	if (srv.jobs != NULL && open_fronts(&srv, fronts) == 0 &&
	    (metrics == NULL || (srv.metrics_fd = metrics_listen(metrics, metrics_len)) >= 0) &&
	    canon_privs_drop(user, NULL) == 0) {
		for (; pool_started < threads; pool_started++) {
			pool_args[pool_started] =
			        (pool_arg_t){.srv = &srv, .cnt = &srv.counters[pool_started]};
			if (pthread_create(&pool[pool_started], NULL, pool_thread,
			                   &pool_args[pool_started]) != 0) {
				break;
			}
		}
		pool_wait_up(&srv, pool_started);
		metrics_started = srv.metrics_fd >= 0 && pthread_create(&metrics_thread_id, NULL,
		                                                        metrics_thread, &srv) == 0;
		for (size_t i = 0; i < count; i++) {
			canon_log(CANON_LOG_INFO, "resolver listening on %s (UDP and TCP)",
			          listen[i].text);
		}
		status = 0;
		canon_sdnotify_ready();
		wait_for_stop();
		canon_sdnotify_stopping();
	}
	atomic_store(&srv.stopping, true);
	pthread_mutex_lock(&srv.lock);
	pthread_cond_broadcast(&srv.ready);
	pthread_mutex_unlock(&srv.lock);
	for (unsigned i = 0; i < pool_started; i++) {
		pthread_join(pool[i], NULL);
	}
	if (metrics_started) {
		pthread_join(metrics_thread_id, NULL);
	}
	if (srv.metrics_fd >= 0) {
		close(srv.metrics_fd);
	}
	for (size_t i = 0; i < count; i++) {
		if (fronts[i].udp_fd >= 0) {
			close(fronts[i].udp_fd);
		}
		if (fronts[i].tcp_fd >= 0) {
			close(fronts[i].tcp_fd);
		}
		free(fronts[i].batch);
	}
	free(srv.jobs);
	return status;
}
