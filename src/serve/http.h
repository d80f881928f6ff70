/*
 * The HTTP server of canon serve: the API (serve/api.c) under /api and the
 * web page's files (serve/static.c) everywhere else, served by libmicrohttpd
 * from threads of its own, so that no DNS query ever waits for HTTP. API
 * calls wait on the zone manager, never on the workers.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lib/lookup.h"
#include "serve/config.h"

struct canon_zonemgr;
typedef struct canon_http canon_http_t;

/* Largest request body read; a larger one is answered 413 without reading it. */
#define CANON_HTTP_BODY_MAX (1u << 20)

/*
 * Serve HTTP on conf->http_addr with the API key conf->api_key (NULL: none,
 * the address is loopback) and the files of conf->web_root (NULL: the
 * compiled-in CANON_WEB_DIR). 'aliases' (or NULL) answers ALIAS names in
 * the chain route. Returns NULL after logging why it could not start.
 */
canon_http_t *canon_http_start(const canon_serve_conf_t *conf, struct canon_zonemgr *mgr,
                               const canon_alias_source_t *aliases);

/* Stop serving: waits for the requests in progress. NULL is fine. */
void canon_http_stop(canon_http_t *http);
