/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/tcplimit.h"
#include "serve/dnstap.h"
#include "serve/tcp.h"

#define TCP_MSG_MAX (2 + 65535)

/* The slowloris cut, shared with canon resolve (lib/tcplimit.h). */
#define TCP_MSG_DEADLINE_MS CANON_TCP_MSG_DEADLINE_MS

struct canon_tcp_conn {
	canon_ev_src_t src; /* Must be first. */
	canon_tcp_conn_t *prev, *next;
	uint64_t last_active; /* ms: accepted, a message answered, or output sent */
	uint64_t msg_start;   /* ms the first byte of the unfinished message came; 0: none */
	struct sockaddr_storage peer;
	canon_stream_t stream; /* A zone transfer being sent. */
	size_t stream_sent;
	size_t in_len;
	size_t out_len, out_sent;
	uint8_t in[TCP_MSG_MAX];
	uint8_t out[TCP_MSG_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether the connection has an answer or a zone transfer still to send. */
static bool conn_sending(const canon_tcp_conn_t *conn)
{
	return conn->out_len > 0 || conn->stream.data != NULL;
}

/* Same client for the per-address cap: the IPv4 address, or the IPv6 /64. */
static bool same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family) {
		return false;
	}
	if (a->ss_family == AF_INET) {
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		              &((const struct sockaddr_in6 *)b)->sin6_addr, 8) == 0;
	}
	return false;
}

static void conn_close(canon_worker_t *w, canon_tcp_conn_t *conn)
{
	epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, conn->src.fd, NULL);
	close(conn->src.fd);
	if (conn->prev != NULL) {
		conn->prev->next = conn->next;
	} else {
		w->conns = conn->next;
	}
	if (conn->next != NULL) {
		conn->next->prev = conn->prev;
	}
	w->conn_count--;
	free(conn->stream.data);
	free(conn);
}

static void conn_watch(canon_worker_t *w, canon_tcp_conn_t *conn, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = conn};
	epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, conn->src.fd, &ev);
}

/* How often at most each worker logs that it evicted connections (seconds). */
#define EVICT_LOG_INTERVAL 60

/*
 * Count an eviction, and log it at most once a EVICT_LOG_INTERVAL per worker:
 * a flood of connections evicts on every accept and would flood the log too.
 */
static void note_eviction(canon_worker_t *w)
{
	canon_metrics_bump(&w->metrics.tcp_evicted);
	w->tcp_evictions_unlogged++;
	time_t now = time(NULL);
	if (now - w->tcp_evict_logged >= EVICT_LOG_INTERVAL) {
		canon_log(CANON_LOG_WARNING,
		          "worker %u: all %u TCP slots taken (tcp-max-clients), closed %u idle "
		          "connection(s) for new ones since the last such message",
		          w->id, w->tcp_max, w->tcp_evictions_unlogged);
		w->tcp_evict_logged = now;
		w->tcp_evictions_unlogged = 0;
	}
}

/*
 * Make room for a connection from 'peer': false when the peer already holds its
 * share of the slots (the new connection is refused). When every slot is taken,
 * the connection idle longest goes, as NSD and Knot do: the slot of a client that
 * sends nothing useful goes to a new one. A connection still sending an answer or
 * a zone transfer goes only when every one is.
 */
static bool conn_make_room(canon_worker_t *w, const struct sockaddr_storage *peer)
{
	unsigned same = 0;
	canon_tcp_conn_t *idle = NULL, *sending = NULL;
	for (canon_tcp_conn_t *c = w->conns; c != NULL; c = c->next) {
		same += same_client(&c->peer, peer) ? 1 : 0;
		canon_tcp_conn_t **oldest = conn_sending(c) ? &sending : &idle;
		if (*oldest == NULL || c->last_active < (*oldest)->last_active) {
			*oldest = c;
		}
	}
	if (same >= w->tcp_per_addr) {
		return false;
	}
	if (w->conn_count >= w->tcp_max) {
		canon_tcp_conn_t *victim = idle != NULL ? idle : sending;
		if (victim == NULL) {
			return false;
		}
		conn_close(w, victim);
		note_eviction(w);
	}
	return true;
}

void canon_tcp_accept(canon_worker_t *w, int listen_fd)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		int fd = accept4(listen_fd, (struct sockaddr *)&peer, &peer_len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			return;
		}
		canon_tcp_conn_t *conn = NULL;
		if (conn_make_room(w, &peer)) {
			conn = malloc(sizeof(*conn));
		}
		if (conn == NULL) {
			close(fd);
			continue;
		}
		conn->src.kind = CANON_EV_TCP_CONN;
		conn->src.fd = fd;
		conn->in_len = conn->out_len = conn->out_sent = 0;
		conn->peer = peer;
		memset(&conn->stream, 0, sizeof(conn->stream));
		conn->stream_sent = 0;
		conn->last_active = now_ms();
		conn->msg_start = 0;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = conn};
		if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(conn);
			continue;
		}
		conn->prev = NULL;
		conn->next = w->conns;
		if (w->conns != NULL) {
			w->conns->prev = conn;
		}
		w->conns = conn;
		w->conn_count++;
	}
}

/* Send the rest of a zone transfer; 0 when all is out, 1 when the socket is full, -1 on error. */
static int stream_flush(canon_tcp_conn_t *conn)
{
	while (conn->stream_sent < conn->stream.len) {
		ssize_t n = send(conn->src.fd, conn->stream.data + conn->stream_sent,
		                 conn->stream.len - conn->stream_sent, MSG_NOSIGNAL);
		if (n < 0) {
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
		}
		conn->stream_sent += (size_t)n;
		conn->last_active = now_ms(); /* A slow reader of a big zone is not idle. */
	}
	free(conn->stream.data);
	memset(&conn->stream, 0, sizeof(conn->stream));
	conn->stream_sent = 0;
	return 0;
}

/* Send what is pending; returns 0 when all is out, 1 when the socket is full, -1 on error. */
static int conn_flush(canon_tcp_conn_t *conn)
{
	if (conn->stream.data != NULL) {
		return stream_flush(conn);
	}
	while (conn->out_sent < conn->out_len) {
		ssize_t n = send(conn->src.fd, conn->out + conn->out_sent,
		                 conn->out_len - conn->out_sent, MSG_NOSIGNAL);
		if (n < 0) {
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
		}
		conn->out_sent += (size_t)n;
		conn->last_active = now_ms();
	}
	conn->out_len = conn->out_sent = 0;
	return 0;
}

/*
 * Answer every complete message in the input, in order (RFC 7766 §6.2.1.1 allows
 * any order; in order is simplest). Returns 0, 1 when output is blocked, -1 to close.
 */
static int conn_process(canon_tcp_conn_t *conn, const canon_query_ctx_t *ctx, uint64_t now)
{
	size_t offset = 0;
	int ret = 0;
	canon_dnstap_queue_t *tap = ctx->worker != NULL ? ctx->worker->dnstap : NULL;
	while (conn->in_len - offset >= 2) {
		size_t msg_len = ((size_t)conn->in[offset] << 8) | conn->in[offset + 1];
		if (conn->in_len - offset < 2 + msg_len) {
			break;
		}
		if (tap != NULL) {
			canon_dnstap_query(tap, &conn->peer, true, conn->in + offset + 2, msg_len);
		}
		size_t len = canon_query_answer(ctx, &conn->peer, conn->in + offset + 2, msg_len,
		                                conn->out + 2, TCP_MSG_MAX - 2, &conn->stream);
		offset += 2 + msg_len;
		conn->last_active = now; /* A whole message: the client is not idle. */
		conn->msg_start = 0;
		if (conn->stream.data != NULL) {
			ret = stream_flush(
			        conn); /* A zone transfer: its messages go out in order. */
			if (ret != 0) {
				break;
			}
			continue;
		}
		if (len == 0) {
			continue;
		}
		if (tap != NULL) {
			canon_dnstap_response(tap, &conn->peer, true, conn->out + 2, len);
		}
		conn->out[0] = (uint8_t)(len >> 8);
		conn->out[1] = (uint8_t)len;
		conn->out_len = len + 2;
		conn->out_sent = 0;
		ret = conn_flush(conn);
		if (ret != 0) {
			break;
		}
	}
	memmove(conn->in, conn->in + offset, conn->in_len - offset);
	conn->in_len -= offset;
	if (conn->in_len > 0 && conn->msg_start == 0) {
		conn->msg_start = now; /* The next message's clock starts with its first byte. */
	}
	return ret;
}

void canon_tcp_serve(canon_worker_t *w, canon_tcp_conn_t *conn, uint32_t events,
                     const canon_query_ctx_t *ctx)
{
	/* Bytes alone do not make a connection active (slowloris): see conn_process(). */
	uint64_t now = now_ms();
	if (events & EPOLLERR) {
		conn_close(w, conn);
		return;
	}
	if (conn_sending(conn)) {
		int ret = conn_flush(conn);
		if (ret != 0) {
			if (ret < 0) {
				conn_close(w, conn);
			}
			return;
		}
		conn_watch(w, conn, EPOLLIN);
	}
	bool eof = false;
	if (events & (EPOLLIN | EPOLLHUP)) {
		ssize_t n =
		        recv(conn->src.fd, conn->in + conn->in_len, TCP_MSG_MAX - conn->in_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			eof = true;
		} else if (n > 0) {
			conn->in_len += (size_t)n;
		}
	}
	int ret = conn_process(conn, ctx, now);
	if (ret < 0 || (eof && ret == 0)) {
		conn_close(w, conn);
	} else if (ret == 1) {
		conn_watch(w, conn, EPOLLOUT);
	}
}

/*
 * Whether the connection has had its time: an unfinished message past its deadline,
 * output that has not moved for the idle timeout (a client that does not read), or
 * no message for the idle timeout (RFC 7766 §6.2.3).
 */
static bool conn_expired(const canon_worker_t *w, const canon_tcp_conn_t *conn, uint64_t now)
{
	if (!conn_sending(conn) && conn->in_len > 0) {
		return now - conn->msg_start > TCP_MSG_DEADLINE_MS;
	}
	return now - conn->last_active > w->tcp_idle_ms;
}

void canon_tcp_sweep(canon_worker_t *w)
{
	uint64_t now = now_ms();
	canon_tcp_conn_t *conn = w->conns;
	while (conn != NULL) {
		canon_tcp_conn_t *next = conn->next;
		if (conn_expired(w, conn, now)) {
			conn_close(w, conn);
		}
		conn = next;
	}
}

void canon_tcp_close_all(canon_worker_t *w)
{
	while (w->conns != NULL) {
		conn_close(w, w->conns);
	}
}
