/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "serve/rrl.h"
#include "serve/tcp.h"
#include "serve/udp.h"
#include "serve/worker.h"

#define EVENTS_PER_WAIT 64
#define WAIT_TIMEOUT_MS 1000

int canon_worker_init(canon_worker_t *w, canon_server_t *server, unsigned id)
{
	memset(w, 0, sizeof(*w));
	w->server = server;
	w->id = id;
	atomic_init(&w->active_epoch, 0);
	/* tcp-max-clients is per server: each worker takes its share, rounded up. */
	unsigned workers = server->worker_count > 0 ? server->worker_count : 1;
	w->tcp_max = (server->conf->tcp_max_clients + workers - 1) / workers;
	w->tcp_per_addr = w->tcp_max / TCP_PER_ADDR_SHARE > 0 ? w->tcp_max / TCP_PER_ADDR_SHARE : 1;
	w->tcp_idle_ms = (uint64_t)server->conf->tcp_idle_timeout * 1000;
	for (size_t i = 0; i < CANON_CONF_MAX_LISTEN; i++) {
		w->udp_fds[i] = w->tcp_fds[i] = -1;
	}
	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	w->udp = canon_udp_batch_new();
	w->rrl = canon_rrl_new(server->conf);
	if (w->epoll_fd < 0 || w->udp == NULL || (server->conf->rate_limit > 0 && w->rrl == NULL) ||
	    canon_arena_init(&w->arena, CANON_QUERY_ARENA_SIZE) != 0) {
		canon_log(CANON_LOG_ERROR, "worker %u: out of resources", id);
		return -1;
	}
	return 0;
}

static int watch(canon_worker_t *w, canon_ev_src_t *src, canon_ev_kind_t kind, int fd)
{
	src->kind = kind;
	src->fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};
	return epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int watch_all(canon_worker_t *w)
{
	const canon_serve_conf_t *conf = w->server->conf;
	for (size_t i = 0; i < conf->listen_count; i++) {
		if (watch(w, &w->udp_src[i], CANON_EV_UDP, w->udp_fds[i]) != 0 ||
		    watch(w, &w->tcp_src[i], CANON_EV_TCP_LISTEN, w->tcp_fds[i]) != 0) {
			return -1;
		}
	}
	return watch(w, &w->wake_src, CANON_EV_WAKE, w->server->wake_fd);
}

static void dispatch(canon_worker_t *w, const struct epoll_event *ev, const canon_query_ctx_t *udp,
                     const canon_query_ctx_t *tcp)
{
	canon_ev_src_t *src = ev->data.ptr;
	switch (src->kind) {
	case CANON_EV_UDP:
		canon_udp_serve(w, src->fd, udp);
		break;
	case CANON_EV_TCP_LISTEN:
		canon_tcp_accept(w, src->fd);
		break;
	case CANON_EV_TCP_CONN:
		canon_tcp_serve(w, (canon_tcp_conn_t *)src, ev->events, tcp);
		break;
	case CANON_EV_WAKE:
		break;
	}
}

void *canon_worker_run(void *arg)
{
	canon_worker_t *w = arg;
	canon_server_t *server = w->server;
	if (watch_all(w) != 0) {
		canon_log(CANON_LOG_ERROR, "worker %u: cannot watch its sockets", w->id);
		return NULL;
	}
	canon_query_ctx_t udp = {.arena = &w->arena,
	                         .aliases = server->aliases,
	                         .udp_max_payload = server->conf->udp_max_payload};
	udp.worker = w;
	udp.keys = &server->conf->keys;
	udp.metrics = &w->metrics;
	udp.cookies = &server->conf->cookie_secret;
	udp.rrl = w->rrl; /* UDP only: TCP answers go to a client that completed a handshake. */
	w->online.metrics = &w->metrics;
	udp.online = &w->online;
	canon_query_ctx_t tcp = udp;
	tcp.rrl = NULL;
	tcp.tcp = true;
	w->contexts[0] = &udp;
	w->contexts[1] = &tcp;
	time_t last_sweep = time(NULL);
	struct epoll_event events[EVENTS_PER_WAIT];
	while (!atomic_load(&server->stopping)) {
		int n = epoll_wait(w->epoll_fd, events, EVENTS_PER_WAIT, WAIT_TIMEOUT_MS);
		/* Announce the epoch before reading the table (see server.c). */
		atomic_store(&w->active_epoch, atomic_load(&server->epoch));
		udp.table = tcp.table = atomic_load(&server->table);
		for (int i = 0; i < n; i++) {
			dispatch(w, &events[i], &udp, &tcp);
		}
		atomic_store(&w->active_epoch, 0);
		time_t now = time(NULL);
		if (now != last_sweep) {
			canon_tcp_sweep(w);
			last_sweep = now;
		}
	}
	return NULL;
}

void canon_worker_refresh(canon_worker_t *w)
{
	canon_zonetable_t *table = atomic_load(&w->server->table);
	for (int i = 0; i < 2; i++) {
		w->contexts[i]->table = table;
	}
}

void canon_worker_deinit(canon_worker_t *w)
{
	canon_tcp_close_all(w);
	for (size_t i = 0; i < CANON_CONF_MAX_LISTEN; i++) {
		if (w->udp_fds[i] >= 0) {
			close(w->udp_fds[i]);
		}
		if (w->tcp_fds[i] >= 0) {
			close(w->tcp_fds[i]);
		}
	}
	if (w->epoll_fd >= 0) {
		close(w->epoll_fd);
	}
	canon_udp_batch_free(w->udp);
	canon_rrl_free(w->rrl);
	canon_online_cache_free(&w->online);
	canon_arena_deinit(&w->arena);
}
