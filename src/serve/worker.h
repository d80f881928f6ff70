/*
 * Server and worker state shared by server.c, udp.c and tcp.c.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/zonetable.h"
#include "serve/config.h"
#include "serve/metrics.h"
#include "serve/query.h"

typedef struct canon_worker canon_worker_t;

/* One client address (IPv6: one /64) may hold at most 1/TCP_PER_ADDR_SHARE of a worker's slots. */
#define TCP_PER_ADDR_SHARE 4

typedef struct canon_server {
	canon_serve_conf_t *conf;
	_Atomic(canon_zonetable_t *) table;
	_Atomic uint64_t epoch; /* Bumped after each table swap. */
	_Atomic bool stopping;
	int wake_fd; /* eventfd every worker polls; written once to stop them all. */
	canon_worker_t *workers;
	unsigned worker_count;
	const canon_alias_source_t *aliases; /* ALIAS flattening, or NULL when not set up. */
	struct canon_zonemgr *zonemgr;       /* The single writer of the zones. */
	struct canon_dnstap *dnstap;         /* dnstap's writer (serve/dnstap.h), or NULL. */
} canon_server_t;

typedef enum {
	CANON_EV_UDP,
	CANON_EV_TCP_LISTEN,
	CANON_EV_TCP_CONN,
	CANON_EV_WAKE,
} canon_ev_kind_t;

/* What an epoll event points at; first member of whatever owns the fd. */
typedef struct {
	canon_ev_kind_t kind;
	int fd;
} canon_ev_src_t;

typedef struct canon_udp_batch canon_udp_batch_t;
typedef struct canon_tcp_conn canon_tcp_conn_t;

struct canon_worker {
	canon_server_t *server;
	unsigned id;
	pthread_t thread;
	bool started;
	/* Epoch this worker entered its event processing with; 0 while it waits. */
	_Atomic uint64_t active_epoch;
	int epoll_fd;
	int udp_fds[CANON_CONF_MAX_LISTEN];
	int tcp_fds[CANON_CONF_MAX_LISTEN];
	canon_ev_src_t udp_src[CANON_CONF_MAX_LISTEN];
	canon_ev_src_t tcp_src[CANON_CONF_MAX_LISTEN];
	canon_ev_src_t wake_src;
	canon_arena_t arena;
	canon_udp_batch_t *udp;  /* recvmmsg/sendmmsg buffers. */
	canon_tcp_conn_t *conns; /* Open TCP connections, a doubly linked list. */
	unsigned conn_count;
	unsigned tcp_max;      /* Slots: this worker's share of tcp-max-clients. */
	unsigned tcp_per_addr; /* Slots one address (IPv6: /64) may hold: TCP_PER_ADDR_SHARE. */
	uint64_t tcp_idle_ms;  /* tcp-idle-timeout */
	canon_query_ctx_t *contexts[2]; /* The UDP and TCP contexts, to refresh their table. */
	canon_metrics_t metrics;        /* Written by this worker only (serve/metrics.h). */

	/* TCP evictions: when last logged (tcp.c logs at most once a minute), how many since. */
	time_t tcp_evict_logged;
	unsigned tcp_evictions_unlogged;
	/* This worker's rate-limit table (serve/rrl.h), or NULL when rate-limit is 0. */
	struct canon_rrl *rrl;
	/* Signatures of dnssec=online zones (serve/online_sign.h). */
	canon_online_cache_t online;
	/* This worker's dnstap queue (serve/dnstap.h), or NULL when dnstap is off. */
	struct canon_dnstap_queue *dnstap;
};

/* Allocate the worker's buffers; sockets are opened by the caller. 0 or -1. */
int canon_worker_init(canon_worker_t *w, canon_server_t *server, unsigned id);

/* Thread body: serve events until the server stops. */
void *canon_worker_run(void *arg);

/*
 * Read the current table into the worker's contexts: after it waited outside
 * its epoch (an UPDATE), the table it read before may be gone.
 */
void canon_worker_refresh(canon_worker_t *w);

/* Close the worker's sockets and connections, free its buffers. */
void canon_worker_deinit(canon_worker_t *w);
