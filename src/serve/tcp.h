/*
 * TCP (RFC 7766): non-blocking connections in the worker's epoll set, with
 * pipelined queries answered in order and an idle timeout.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdint.h>

#include "serve/config.h"
#include "serve/worker.h"

/* Accept waiting connections on 'listen_fd' into the worker. */
void canon_tcp_accept(canon_worker_t *w, int listen_fd);

/* Handle epoll 'events' on a connection. */
void canon_tcp_serve(canon_worker_t *w, canon_tcp_conn_t *conn, uint32_t events,
                     const canon_query_ctx_t *ctx);

/* Close connections idle for longer than the timeout. */
void canon_tcp_sweep(canon_worker_t *w);

/* Close every connection of the worker. */
void canon_tcp_close_all(canon_worker_t *w);
