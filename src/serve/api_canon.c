/*
 * The PATCH body parser (shared by PATCH and preview) and canon's own routes
 * under a zone: check, chain, history and preview. No peer offers these;
 * their shapes are canon's (docs/api.md).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/codes.h>
#include <libknot/descriptor.h>

#include "lib/arena.h"
#include "lib/check_json.h"
#include "lib/rrtext.h"
#include "serve/api_int.h"

/* History entries returned when the request names no limit, and at most. */
#define HISTORY_DEFAULT 100
#define HISTORY_MAX     10000

/* The chain route's arena: a full chain of synthesized records fits many times over. */
#define CHAIN_ARENA_SIZE (256u << 10)

/* ---- the PATCH body ---- */

void api_changes_free(api_changes_t *changes)
{
	for (size_t i = 0; i < changes->count; i++) {
		knot_rrset_clear(&changes->items[i].rrset, NULL);
	}
	free(changes->items);
	changes->items = NULL;
	changes->count = 0;
}

typedef struct {
	const char *origin;
	knot_dname_storage_t apex;
	uint8_t *rdata;
	char error[1600];
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	char type[32];
} parse_t;

static int fail(parse_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parse_t *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_records(parse_t *p, json_t *records, knot_rrset_t *rrset)
{
	size_t i;
	json_t *record;
	if (!json_is_array(records)) {
		return fail(p, "RRset %s IN %s: Key 'records' not present or not an Array", p->name,
		            p->type);
	}
	json_array_foreach(records, i, record)
	{
		const char *content = json_string_value(json_object_get(record, "content"));
		if (content == NULL) {
			return fail(p, "Key 'content' not present or not a String");
		}
		if (json_is_true(json_object_get(record, "disabled"))) {
			return fail(
			        p,
			        "Record %s/%s '%s': canon keeps no disabled records (delete the "
			        "record, or keep it elsewhere)",
			        p->name, p->type, content);
		}
		uint16_t len = 0;
		char error[400];
		if (canon_rdata_parse(p->origin, rrset->type, content, p->rdata, &len, error,
		                      sizeof(error)) != 0) {
			snprintf(p->error, sizeof(p->error), "Record %.300s/%s '%.300s': %s",
			         p->name, p->type, content, error);
			return -EINVAL;
		}
		if (knot_rrset_add_rdata(rrset, p->rdata, len, NULL) != KNOT_EOK) {
			return fail(p, "out of memory");
		}
	}
	return 0;
}

/* One element of "rrsets": {name, type, ttl, changetype, records}. */
static int parse_rrset(parse_t *p, json_t *item, canon_rrset_change_t *change)
{
	const char *name = json_string_value(json_object_get(item, "name"));
	const char *type = json_string_value(json_object_get(item, "type"));
	const char *op = json_string_value(json_object_get(item, "changetype"));
	if (name == NULL) {
		return fail(p, "Key 'name' not present or not a String");
	}
	if (type == NULL) {
		return fail(p, "Key 'type' not present or not a String");
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->type, sizeof(p->type), "%s", type);
	knot_dname_storage_t owner;
	size_t len = strlen(name);
	if (len == 0 || name[len - 1] != '.') {
		return fail(p, "DNS Name '%s' is not canonical", name);
	}
	if (knot_dname_from_str(owner, name, sizeof(owner)) == NULL) {
		return fail(p, "DNS Name '%s' is not valid", name);
	}
	if (knot_dname_in_bailiwick(owner, p->apex) < 0) {
		return fail(p, "RRset %s IN %s: Name is out of zone", name, type);
	}
	uint16_t rrtype;
	if (canon_rrtype_parse(type, &rrtype) != 0) {
		return fail(p, "RRset %s IN %s: unknown type given", name, type);
	}
	if (op == NULL || (strcasecmp(op, "REPLACE") != 0 && strcasecmp(op, "DELETE") != 0)) {
		return fail(p, "Changetype not understood");
	}
	change->op = strcasecmp(op, "DELETE") == 0 ? CANON_RRSET_DELETE : CANON_RRSET_REPLACE;
	json_t *ttl = json_object_get(item, "ttl");
	if (change->op == CANON_RRSET_REPLACE &&
	    (!json_is_integer(ttl) || json_integer_value(ttl) < 0 ||
	     json_integer_value(ttl) > INT32_MAX)) {
		return fail(p, "Key 'ttl' not an Integer or not present");
	}
	knot_dname_t *copy = knot_dname_copy(owner, NULL);
	if (copy == NULL) {
		return fail(p, "out of memory");
	}
	knot_rrset_init(&change->rrset, copy, rrtype, KNOT_CLASS_IN,
	                json_is_integer(ttl) ? (uint32_t)json_integer_value(ttl) : 0);
	if (change->op == CANON_RRSET_REPLACE) {
		return parse_records(p, json_object_get(item, "records"), &change->rrset);
	}
	return 0;
}

/* PowerDNS refuses two entries for one name and type in one request. */
static int find_duplicate(parse_t *p, const api_changes_t *changes)
{
	const knot_rrset_t *last = &changes->items[changes->count - 1].rrset;
	for (size_t i = 0; i + 1 < changes->count; i++) {
		const knot_rrset_t *rr = &changes->items[i].rrset;
		if (rr->type == last->type && knot_dname_is_case_equal(rr->owner, last->owner)) {
			return fail(p, "Duplicate RRset %s IN %s", p->name, p->type);
		}
	}
	return 0;
}

static int parse_changes(parse_t *p, json_t *rrsets, api_changes_t *changes)
{
	if (!json_is_array(rrsets)) {
		return fail(p, "No rrsets given in update request");
	}
	changes->items = calloc(json_array_size(rrsets) + 1, sizeof(*changes->items));
	if (changes->items == NULL) {
		return fail(p, "out of memory");
	}
	size_t i;
	json_t *item;
	json_array_foreach(rrsets, i, item)
	{
		if (!json_is_object(item)) {
			return fail(p, "Each rrset must be an object");
		}
		int ret = parse_rrset(p, item, &changes->items[changes->count]);
		if (changes->items[changes->count].rrset.owner != NULL) {
			changes->count++;
		}
		if (ret != 0 || (ret = find_duplicate(p, changes)) != 0) {
			return ret;
		}
	}
	return 0;
}

unsigned api_changes_parse(const canon_api_request_t *req, const char *origin,
                           api_changes_t *changes, canon_api_reply_t *reply)
{
	json_error_t error;
	json_t *body = json_loadb(req->body, req->body_len, 0, &error);
	if (!json_is_object(body)) {
		char text[300];
		snprintf(text, sizeof(text), "Request body is not a JSON object%s%s",
		         body == NULL ? ": " : "", body == NULL ? error.text : "");
		json_decref(body);
		canon_api_error(reply, 400, text);
		return 400;
	}
	parse_t *p = calloc(1, sizeof(*p));
	uint8_t *rdata = malloc(65536);
	int ret = -ENOMEM;
	if (p != NULL && rdata != NULL) {
		p->origin = origin;
		p->rdata = rdata;
		ret = knot_dname_from_str(p->apex, origin, sizeof(p->apex)) != NULL
		              ? parse_changes(p, json_object_get(body, "rrsets"), changes)
		              : fail(p, "bad zone name %s", origin);
	}
	unsigned status = 0;
	if (ret != 0) {
		canon_api_error(reply, p != NULL ? 422 : 500,
		                p != NULL ? p->error : "out of memory");
		status = reply->status;
		api_changes_free(changes);
	}
	free(rdata);
	free(p);
	json_decref(body);
	return status;
}

/* ---- check ---- */

static int check_reader(void *ctx, const canon_zone_view_t *view, const canon_zonetable_t *table)
{
	(void)table;
	json_t **doc = ctx;
	canon_findings_t findings;
	canon_findings_init(&findings);
	if (view->zone != NULL) {
		canon_check_zone(view->zone, NULL, &findings);
	}
	/* The shape of `canon check --json` (cli/check_main.c), for one zone. */
	*doc = json_pack(
	        "{s:[{s:s?, s:s, s:b, s:s?}], s:o, s:{s:I, s:I}}", "zones", "file", view->file,
	        "origin", view->origin, "read", view->zone != NULL, "error", view->last_error,
	        "findings", canon_findings_json(&findings), "summary", "errors",
	        (json_int_t)canon_findings_count(&findings, CANON_SEVERITY_ERROR), "warnings",
	        (json_int_t)canon_findings_count(&findings, CANON_SEVERITY_WARNING));
	canon_findings_free(&findings);
	return *doc != NULL ? 0 : -ENOMEM;
}

/* ---- chain ---- */

typedef struct {
	const canon_api_t *api;
	knot_dname_storage_t qname;
	uint16_t qtype;
	json_t *doc;
	char *text;
} chain_t;

static const char *chain_status(const canon_answer_t *answer, bool data)
{
	switch (answer->chain_end) {
	case CANON_CHAIN_LOOP:
		return "LOOP";
	case CANON_CHAIN_TOO_LONG:
		return "TOOLONG";
	case CANON_CHAIN_LEFT:
		return "LEFT";
	default:
		break;
	}
	if (answer->rcode != KNOT_RCODE_NOERROR) {
		const knot_lookup_t *rcode = knot_lookup_by_id(knot_rcode_names, answer->rcode);
		return rcode != NULL ? rcode->name : "ERROR";
	}
	if (data) {
		return "ANSWER";
	}
	return answer->aa ? "NODATA" : "REFERRAL";
}

/* {"name", "ttl", "type", "target"} for a CNAME or DNAME link. */
static json_t *link_json(const knot_rrset_t *rr)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], target[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, rr->owner, sizeof(owner));
	const knot_rdata_t *rd = knot_rdataset_at(&rr->rrs, 0);
	if (rd == NULL || knot_dname_to_str(target, rd->data, sizeof(target)) == NULL) {
		target[0] = '\0';
	}
	return json_pack("{s:s, s:I, s:s, s:s}", "name", owner, "ttl", (json_int_t)rr->ttl, "type",
	                 rr->type == KNOT_RRTYPE_CNAME ? "CNAME" : "DNAME", "target", target);
}

/* The answer's alias links and final RRsets, and the least TTL of the whole answer. */
static void chain_fill(chain_t *c, const canon_answer_t *answer)
{
	json_t *links = json_array(), *final = json_array();
	int64_t ttl = -1;
	const canon_answer_section_t *an = &answer->section[KNOT_ANSWER];
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = an->rrs[i].rr;
		bool link = (rr->type == KNOT_RRTYPE_CNAME || rr->type == KNOT_RRTYPE_DNAME) &&
		            rr->type != c->qtype;
		json_array_append_new(link ? links : final,
		                      link ? link_json(rr) : api_rrset_json(rr, c->text));
		ttl = ttl < 0 || rr->ttl < ttl ? rr->ttl : ttl;
	}
	/* A negative answer lives as long as its SOA (RFC 2308 §5: min(TTL, MINIMUM)). */
	const canon_answer_section_t *ns = &answer->section[KNOT_AUTHORITY];
	for (uint16_t i = 0; json_array_size(final) == 0 && i < ns->count; i++) {
		const knot_rrset_t *rr = ns->rrs[i].rr;
		if (rr->type == KNOT_RRTYPE_SOA && (ttl < 0 || rr->ttl < ttl)) {
			ttl = rr->ttl;
		}
	}
	char name[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
	knot_dname_to_str(name, c->qname, sizeof(name));
	canon_rrtype_name(c->qtype, type, sizeof(type));
	json_t *ttl_json = ttl >= 0 ? json_integer(ttl) : json_null();
	c->doc = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "name", name, "type", type,
	                   "status", chain_status(answer, json_array_size(final) > 0), "hops",
	                   (int)answer->hops, "links", links, "answer", final, "ttl", ttl_json);
}

static int chain_reader(void *ctx, const canon_zone_view_t *view, const canon_zonetable_t *table)
{
	(void)view;
	chain_t *c = ctx;
	canon_arena_t arena;
	if (canon_arena_init(&arena, CHAIN_ARENA_SIZE) != 0) {
		return -ENOMEM;
	}
	canon_answer_t answer;
	memset(&answer, 0, sizeof(answer));
	int ret = canon_lookup(table, c->api->aliases, c->qname, c->qtype, 0, &answer, &arena.mm);
	if (ret == 0) {
		chain_fill(c, &answer);
		ret = c->doc != NULL ? 0 : -ENOMEM;
	}
	canon_arena_deinit(&arena);
	return ret;
}

/* "www" is relative to the zone, "www.example.org" and "www.example.org." are not. */
static int chain_name(const char *zone, const char *text, knot_dname_storage_t out)
{
	char full[KNOT_DNAME_TXT_MAXLEN * 2 + 2];
	size_t len = strlen(text), zlen = strlen(zone) - 1; /* zone without its dot */
	bool absolute = len > 0 && text[len - 1] == '.';
	bool inside = len >= zlen && strncasecmp(text + len - zlen, zone, zlen) == 0 &&
	              (len == zlen || text[len - zlen - 1] == '.');
	if (absolute || strcmp(text, "@") == 0) {
		snprintf(full, sizeof(full), "%s", absolute ? text : zone);
	} else if (inside) {
		snprintf(full, sizeof(full), "%s.", text);
	} else {
		snprintf(full, sizeof(full), "%s.%s", text, zone);
	}
	return knot_dname_from_str(out, full, KNOT_DNAME_MAXLEN) != NULL ? 0 : -EINVAL;
}

static void get_chain(const canon_api_t *api, const canon_api_request_t *req, const char *zone,
                      canon_api_reply_t *reply)
{
	const char *name = req->arg ? req->arg(req->arg_ctx, "name") : NULL;
	const char *type = req->arg ? req->arg(req->arg_ctx, "type") : NULL;
	chain_t c = {.api = api, .qtype = KNOT_RRTYPE_A};
	if (name == NULL || chain_name(zone, name, c.qname) != 0) {
		canon_api_error(reply, 422, "chain needs ?name=NAME (and &type=TYPE, default A)");
		return;
	}
	if (type != NULL && canon_rrtype_parse(type, &c.qtype) != 0) {
		canon_api_error(reply, 422, "chain: unknown type given");
		return;
	}
	c.text = malloc(API_RDATA_TEXT_MAX);
	int ret = c.text != NULL ? api_with_zone(api, zone, chain_reader, &c) : -ENOMEM;
	free(c.text);
	if (ret == -ENOENT) {
		api_reply_no_zone(reply, zone);
	} else if (ret != 0) {
		canon_api_error(reply, 500, "out of memory");
	} else {
		api_reply_json(reply, 200, c.doc);
	}
}

/* ---- history ---- */

typedef struct {
	json_t *list;
	char *text;
} history_t;

/* [{"name", "type", "ttl", "content"}] for every record of a list. */
static json_t *records_json(const canon_rrlist_t *list, char *text)
{
	json_t *out = json_array();
	for (size_t i = 0; out != NULL && i < list->count; i++) {
		const knot_rrset_t *rr = &list->items[i];
		char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
		knot_dname_to_str(owner, rr->owner, sizeof(owner));
		canon_rrtype_name(rr->type, type, sizeof(type));
		for (uint16_t j = 0; j < rr->rrs.count; j++) {
			canon_rdata_format(rr->type, knot_rdataset_at(&rr->rrs, j), text,
			                   API_RDATA_TEXT_MAX);
			json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:s}", "name", owner,
			                                     "type", type, "ttl",
			                                     (json_int_t)rr->ttl, "content", text));
		}
	}
	return out;
}

static int history_visit(void *ctx, const canon_history_entry_t *entry)
{
	history_t *h = ctx;
	char when[32] = "";
	time_t t = (time_t)entry->time;
	struct tm tm;
	if (gmtime_r(&t, &tm) != NULL) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	const canon_changeset_t *ch = entry->changes;
	json_t *item = json_pack(
	        "{s:I, s:s, s:s?, s:I, s:I, s:o, s:o}", "time", (json_int_t)entry->time, "when",
	        when, "source", entry->source, "serial_from", (json_int_t)ch->serial_from,
	        "serial_to", (json_int_t)ch->serial_to, "removed",
	        records_json(&ch->removed, h->text), "added", records_json(&ch->added, h->text));
	return item != NULL && json_array_append_new(h->list, item) == 0 ? 0 : -ENOMEM;
}

static void get_history(const canon_api_t *api, const canon_api_request_t *req, const char *zone,
                        canon_api_reply_t *reply)
{
	const char *limit_text = req->arg ? req->arg(req->arg_ctx, "limit") : NULL;
	long limit = limit_text != NULL ? strtol(limit_text, NULL, 10) : HISTORY_DEFAULT;
	limit = limit < 1 ? 1 : limit > HISTORY_MAX ? HISTORY_MAX : limit;
	char origin[1024];
	history_t h = {.list = json_array(), .text = malloc(API_RDATA_TEXT_MAX)};
	int ret = api_zone_origin(api, zone, origin, sizeof(origin));
	if (ret == 0) {
		ret = h.list && h.text ? canon_zonemgr_history(api->mgr, origin, (size_t)limit,
		                                               history_visit, &h)
		                       : -ENOMEM;
	}
	free(h.text);
	if (ret == -ENOENT) {
		api_reply_no_zone(reply, zone);
	} else if (ret == -EIO) {
		canon_api_error(reply, 500, "the zone's journal cannot be read (see the log)");
	} else if (ret != 0) {
		canon_api_error(reply, 500, "out of memory");
	} else {
		api_reply_json(reply, 200, json_incref(h.list));
	}
	json_decref(h.list);
}

/* ---- changes: PATCH and preview ---- */

/* The reply to a change the zone manager refused or could not make. */
static void change_error(canon_api_reply_t *reply, const char *zone,
                         const canon_change_result_t *result)
{
	switch (result->status) {
	case -ENOENT:
		api_reply_no_zone(reply, zone);
		return;
	case -EINVAL: {
		char text[sizeof(result->message) + 100];
		const char *rule = result->rule != NULL ? result->rule->id : NULL;
		if (rule != NULL && strstr(result->message, rule) == NULL) {
			snprintf(text, sizeof(text), "%s [%s]", result->message, rule);
		} else {
			snprintf(text, sizeof(text), "%s", result->message);
		}
		api_reply_json(reply, 422, json_pack("{s:s, s:s?}", "error", text, "rule", rule));
		return;
	}
	case -EIO:
		canon_api_error(reply, 500,
		                "the zone's journal cannot be written: no change is "
		                "accepted until it is repaired (see the log)");
		return;
	default:
		canon_api_error(reply, 500, result->message[0] ? result->message : "out of memory");
	}
}

bool api_change(const canon_api_t *api, const canon_api_request_t *req, const char *name,
                bool preview, canon_change_result_t *result, canon_api_reply_t *reply)
{
	char origin[1024];
	if (api_zone_origin(api, name, origin, sizeof(origin)) != 0) {
		api_reply_no_zone(reply, name);
		return false;
	}
	api_changes_t changes = {0};
	if (api_changes_parse(req, origin, &changes, reply) != 0) {
		return false;
	}
	result->status = canon_zonemgr_change(api->mgr, origin, changes.items, changes.count,
	                                      req->who, preview, result);
	api_changes_free(&changes);
	if (result->status != 0) {
		change_error(reply, name, result);
	}
	return result->status == 0;
}

static void post_preview(const canon_api_t *api, const canon_api_request_t *req, const char *zone,
                         canon_api_reply_t *reply)
{
	canon_change_result_t result;
	canon_change_result_init(&result);
	if (api_change(api, req, zone, true, &result, reply)) {
		api_reply_json(reply, 200,
		               json_pack("{s:b, s:I, s:o, s:o}", "changed", result.changed,
		                         "serial", (json_int_t)result.serial, "added",
		                         canon_findings_json(&result.added), "cleared",
		                         canon_findings_json(&result.cleared)));
	}
	canon_change_result_free(&result);
}

void api_zone_extra(const canon_api_t *api, const canon_api_request_t *req, const char *zone,
                    const char *what, canon_api_reply_t *reply)
{
	bool get = strcmp(req->method, "GET") == 0;
	if (strcmp(what, "preview") == 0) {
		if (strcmp(req->method, "POST") == 0) {
			post_preview(api, req, zone, reply);
			return;
		}
	} else if (strcmp(what, "chain") == 0) {
		if (get) {
			get_chain(api, req, zone, reply);
			return;
		}
	} else if (strcmp(what, "history") == 0) {
		if (get) {
			get_history(api, req, zone, reply);
			return;
		}
	} else if (strcmp(what, "check") == 0) {
		if (get) {
			json_t *doc = NULL;
			int ret = api_with_zone(api, zone, check_reader, &doc);
			if (ret == 0) {
				api_reply_json(reply, 200, doc);
			} else if (ret == -ENOENT) {
				api_reply_no_zone(reply, zone);
			} else {
				canon_api_error(reply, 500, "out of memory");
			}
			return;
		}
	} else {
		canon_api_error(reply, 404, "Not Found");
		return;
	}
	canon_api_error(reply, 405, "Method Not Allowed");
}
