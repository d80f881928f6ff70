/*
 * What the API's two files share: zone lookup through the zone manager,
 * records as JSON, the PATCH body parser, replies.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <jansson.h>
#include <libknot/dname.h>

#include "serve/api.h"
#include "serve/zoneapi.h"

/* Room for one record's data in presentation format (64 KiB of TXT, escaped). */
#define API_RDATA_TEXT_MAX (256u << 10)

/* Called in the zone manager's thread with the zone a request names. */
typedef int (*api_zone_fn_t)(void *ctx, const canon_zone_view_t *view,
                             const canon_zonetable_t *table);

/*
 * Find zone 'name' (presentation format) and run 'fn' on it in the manager's
 * thread: fn's result, or -ENOENT when no such zone is served.
 */
int api_with_zone(const canon_api_t *api, const char *name, api_zone_fn_t fn, void *ctx);

/* The zone's origin as the manager names it (for the write calls). 0 or -ENOENT. */
int api_zone_origin(const canon_api_t *api, const char *name, char *origin, size_t size);

/* A reply with 'doc' (stolen) as JSON. */
void api_reply_json(canon_api_reply_t *reply, unsigned status, json_t *doc);

/* 404 for zone 'name'. */
void api_reply_no_zone(canon_api_reply_t *reply, const char *name);

/* [{"content", "disabled": false}] for each record of 'rr'; 'text' has API_RDATA_TEXT_MAX. */
json_t *api_records_json(const knot_rrset_t *rr, char *text);

/* {"name", "type", "ttl", "records": [...], "comments": []}. */
json_t *api_rrset_json(const knot_rrset_t *rr, char *text);

/* A list of PATCH changes, parsed. */
typedef struct {
	canon_rrset_change_t *items;
	size_t count;
} api_changes_t;

void api_changes_free(api_changes_t *changes);

/*
 * Parse a PATCH body for the zone of 'origin': 0, or the HTTP status of the
 * error (400 malformed JSON, 422 a bad rrset) with the reply filled.
 */
unsigned api_changes_parse(const canon_api_request_t *req, const char *origin,
                           api_changes_t *changes, canon_api_reply_t *reply);

/* The reply to a refused or failed change (status of canon_zonemgr_change()). */
void api_reply_change_error(canon_api_reply_t *reply, const char *zone,
                            const canon_change_result_t *result);

/* canon's own routes under a zone: check, chain, history, preview. */
void api_zone_extra(const canon_api_t *api, const canon_api_request_t *req, const char *zone,
                    const char *what, canon_api_reply_t *reply);
