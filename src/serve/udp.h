/*
 * UDP: SO_REUSEPORT sockets drained in recvmmsg/sendmmsg batches.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "serve/config.h"
#include "serve/worker.h"

/*
 * Whether 'l' is free for UDP and TCP: binds it briefly without SO_REUSEPORT,
 * which fails when another process (say a second canon) holds it, since
 * SO_REUSEPORT sockets of the same user would otherwise share the port
 * silently. Returns 0 or -errno.
 */
int canon_listen_check_free(const canon_listen_t *l);

/* canon_listen_check_free() for every listen address; logs the one taken. 0 or -1. */
int canon_listen_check_all(const canon_serve_conf_t *conf);

/* Open the UDP and TCP sockets of 'l' (SO_REUSEPORT); logs why not and returns -1. */
int canon_listen_open(const canon_listen_t *l, int *udp_fd, int *tcp_fd);

/* A non-blocking UDP socket bound to 'l' with SO_REUSEPORT; fd or -errno. */
int canon_udp_socket(const canon_listen_t *l);

/* The batch buffers of one worker; NULL on allocation failure. */
canon_udp_batch_t *canon_udp_batch_new(void);
void canon_udp_batch_free(canon_udp_batch_t *batch);

/* Answer what is waiting on 'fd' (a bounded number of batches). */
void canon_udp_serve(canon_worker_t *w, int fd, const canon_query_ctx_t *ctx);
