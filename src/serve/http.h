/*
 * The HTTP server of canon serve: the API (serve/api.c) under /api, the
 * Prometheus metrics (serve/metrics.c) at /metrics and the web page's files
 * (serve/static.c) everywhere else, served by libmicrohttpd from threads of
 * its own, so that no DNS query ever waits for HTTP. API calls and /metrics
 * wait on the zone manager, never on the workers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lib/lookup.h"
#include "serve/config.h"

struct canon_worker;
struct canon_zonemgr;
typedef struct canon_http canon_http_t;

/* Largest request body read; a larger one is answered 413 without reading it. */
#define CANON_HTTP_BODY_MAX (1u << 20)

/*
 * Open a listening TCP socket on 'addr' (conf->http_addr or conf->metrics_addr;
 * before privileges are dropped: the port may be privileged). The socket, or
 * -1 after logging why, under the name of the setting 'what'.
 */
int canon_http_listen(const struct sockaddr_storage *addr, socklen_t len, const char *what);

/*
 * Serve HTTP on 'fd' (from canon_http_listen(), owned from now on) with the API key conf->api_key
 * (NULL: none, the address is loopback) and the files of conf->web_root (NULL: the compiled-in
 * CANON_WEB_DIR). 'aliases' (or NULL) answers ALIAS names in the chain route. GET /metrics, without
 * the key, sums the counters of the 'worker_count' 'workers', which must outlive the server.
 * Returns NULL after logging why it could not start.
 */
canon_http_t *canon_http_start(const canon_serve_conf_t *conf, int fd, struct canon_zonemgr *mgr,
                               const canon_alias_source_t *aliases,
                               const struct canon_worker *workers, unsigned worker_count);

/*
 * Serve GET /metrics only (as canon_http_start() does, no key) on 'fd', the
 * socket of conf->metrics_addr; every other path is 404. NULL after logging why.
 */
canon_http_t *canon_http_start_metrics(const canon_serve_conf_t *conf, int fd,
                                       struct canon_zonemgr *mgr,
                                       const struct canon_worker *workers, unsigned worker_count);

/* Stop serving: waits for the requests in progress. NULL is fine. */
void canon_http_stop(canon_http_t *http);
