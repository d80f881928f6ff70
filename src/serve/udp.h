/*
 * UDP: SO_REUSEPORT sockets drained in recvmmsg/sendmmsg batches.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "serve/config.h"
#include "serve/worker.h"

/* The batch buffers of one worker; NULL on allocation failure. */
canon_udp_batch_t *canon_udp_batch_new(void);
void canon_udp_batch_free(canon_udp_batch_t *batch);

/* Answer what is waiting on 'fd' (a bounded number of batches). */
void canon_udp_serve(canon_worker_t *w, int fd, const canon_query_ctx_t *ctx);
