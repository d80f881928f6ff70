/*
 * The control socket of canon serve (canon ctl, docs/control.md): a thread
 * that accepts on an AF_UNIX stream socket, reads one request line
 * ("status", "reload [ZONE]", "zone-status [ZONE]", "stats",
 * "alias-status", "flush"), writes the answer and closes. An answer is
 * "ok\n" and then the text, or one line "error: why\n".
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdint.h>

#include "serve/config.h"

struct canon_worker;
struct canon_zonemgr;
struct canon_flattener;

/* Longest request line; a longer one is refused. */
#define CANON_CONTROL_LINE_MAX 512

/* Seconds a client may take to send its request and read the answer. */
#define CANON_CONTROL_TIMEOUT 10

/* What the control thread answers from; everything must outlive it. */
typedef struct {
	const canon_serve_conf_t *conf;
	struct canon_zonemgr *zonemgr;
	const struct canon_worker *workers;
	unsigned worker_count;
	struct canon_flattener *flattener; /* NULL: no ALIAS resolution set up. */
	int64_t started;                   /* Unix time the server started. */
} canon_control_env_t;

typedef struct canon_control canon_control_t;

/*
 * The socket path of 'conf': control:, else STATE_DIR/canon.sock, else NULL
 * (no control socket). Writes into 'buf'.
 */
const char *canon_control_path(const canon_serve_conf_t *conf, char *buf, size_t size);

/*
 * Bind 'path' (mode 0660, owned by whoever runs the call: call it after the
 * privileges are dropped), replacing a stale socket but not one a running
 * server answers on, and start the thread. NULL after logging why.
 */
canon_control_t *canon_control_start(const canon_control_env_t *env, const char *path);

/* Stop the thread, close and remove the socket. NULL is fine. */
void canon_control_stop(canon_control_t *ctl);
