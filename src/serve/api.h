/*
 * The HTTP API: the PowerDNS API v1 subset that clients use (servers, zones,
 * rrsets with REPLACE/DELETE, notify, export) with PowerDNS's JSON shapes and
 * status codes, and canon's additions under a zone (check, chain, history,
 * preview). Every change goes through the zone manager (serve/zoneapi.h).
 * Transport-free: serve/http.c hands requests in and sends the replies out.
 * See docs/api.md.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

#include "lib/lookup.h"

struct canon_zonemgr;

typedef struct {
	struct canon_zonemgr *mgr;
	const canon_alias_source_t *aliases; /* For the chain route's ALIAS answers, or NULL. */
} canon_api_t;

typedef struct {
	const char *method; /* "GET", "PATCH", ... */
	const char *path;   /* Decoded, without the query string: "/api/v1/servers". */
	const char *body;   /* NUL-terminated; "" when there is none. */
	size_t body_len;
	/* A query argument's value ("name" of ?name=www), or NULL. */
	const char *(*arg)(void *ctx, const char *name);
	void *arg_ctx;
	const char *who; /* The requester, for the journal: "api from 127.0.0.1". */
} canon_api_request_t;

typedef struct {
	unsigned status;  /* HTTP status. */
	char *body;       /* malloc()ed, or NULL for none (204). */
	size_t len;
	const char *type; /* Content-Type. */
} canon_api_reply_t;

/* Answer one request under /api. The caller frees reply->body. */
void canon_api_handle(const canon_api_t *api, const canon_api_request_t *req,
                      canon_api_reply_t *reply);

/* A reply {"error": message} with 'status'. */
void canon_api_error(canon_api_reply_t *reply, unsigned status, const char *message);

/*
 * PowerDNS's zone id of a zone name: letters, digits, '.' and '-' as they
 * are, any other octet as "=XX" (upper-case hex); the root is "=2E".
 */
void canon_api_zone_id(const char *name, char *out, size_t size);

/* The name of a zone id ("odd=2Fzone.org." -> "odd/zone.org."). 0 or -EINVAL. */
int canon_api_zone_name(const char *id, char *out, size_t size);
