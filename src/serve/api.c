/*
 * The PowerDNS API v1 subset: routes, zone documents and the write calls.
 * Shapes, status codes and error texts follow pdns 4.7 (tests/e2e/test_api.py
 * runs one request sequence against both); docs/api.md lists what differs.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libknot/descriptor.h>

#include "lib/rrtext.h"
#include "serve/api_int.h"

#define SERVERS   "/api/v1/servers"
#define LOCALHOST SERVERS "/localhost"
#define ZONES     LOCALHOST "/zones"

/* PowerDNS's default SOA for a zone created without one (pdns 4.7, default-soa-content). */
#define DEFAULT_SOA_MNAME "a.misconfigured.dns.server.invalid."
#define DEFAULT_TTL       3600

/* ---- replies ---- */

void api_reply_json(canon_api_reply_t *reply, unsigned status, json_t *doc)
{
	reply->status = status;
	reply->type = "application/json";
	reply->body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	reply->len = reply->body != NULL ? strlen(reply->body) : 0;
	if (doc != NULL && reply->body == NULL) {
		reply->status = 500;
	}
	json_decref(doc);
}

void canon_api_error(canon_api_reply_t *reply, unsigned status, const char *message)
{
	api_reply_json(reply, status, json_pack("{s:s}", "error", message));
}

void api_reply_no_zone(canon_api_reply_t *reply, const char *name)
{
	char text[1100];
	snprintf(text, sizeof(text), "Could not find domain '%s'", name);
	canon_api_error(reply, 404, text);
}

/* ---- zone ids ---- */

void canon_api_zone_id(const char *name, char *out, size_t size)
{
	size_t len = 0;
	if (strcmp(name, ".") == 0) {
		snprintf(out, size, "=2E");
		return;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p && len + 4 < size; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '-') {
			out[len++] = (char)*p;
		} else {
			len += (size_t)snprintf(out + len, size - len, "=%02X", *p);
		}
	}
	out[len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int canon_api_zone_name(const char *id, char *out, size_t size)
{
	size_t len = 0;
	for (const char *p = id; *p != '\0'; p++) {
		char c = *p;
		if (c == '=') {
			int hi = hex_digit(p[1]), lo = hi >= 0 ? hex_digit(p[2]) : -1;
			if (lo < 0) {
				return -EINVAL;
			}
			c = (char)(hi * 16 + lo);
			p += 2;
		}
		if (len + 2 >= size || c == '\0') {
			return -EINVAL;
		}
		out[len++] = c;
	}
	/* PowerDNS takes "example.org" for "example.org." in a zone id. */
	if (len == 0 || out[len - 1] != '.') {
		out[len++] = '.';
	}
	out[len] = '\0';
	return 0;
}

/* ---- finding zones ---- */

typedef struct {
	knot_dname_storage_t name;
	api_zone_fn_t fn;
	void *ctx;
} find_t;

static bool origin_is(const char *origin, const knot_dname_t *lower)
{
	knot_dname_storage_t name;
	if (knot_dname_from_str(name, origin, sizeof(name)) == NULL) {
		return false;
	}
	knot_dname_to_lower(name);
	return knot_dname_is_equal(name, lower);
}

static int find_reader(void *ctx, const canon_zone_view_t *zones, size_t count,
                       const canon_zonetable_t *table)
{
	find_t *find = ctx;
	for (size_t i = 0; i < count; i++) {
		if (origin_is(zones[i].origin, find->name)) {
			return find->fn(find->ctx, &zones[i], table);
		}
	}
	return -ENOENT;
}

int api_with_zone(const canon_api_t *api, const char *name, api_zone_fn_t fn, void *ctx)
{
	find_t find = {.fn = fn, .ctx = ctx};
	if (knot_dname_from_str(find.name, name, sizeof(find.name)) == NULL) {
		return -ENOENT;
	}
	knot_dname_to_lower(find.name);
	return canon_zonemgr_read(api->mgr, find_reader, &find);
}

typedef struct {
	char *out;
	size_t size;
} origin_t;

static int copy_origin(void *ctx, const canon_zone_view_t *view, const canon_zonetable_t *table)
{
	(void)table;
	origin_t *o = ctx;
	snprintf(o->out, o->size, "%s", view->origin);
	return 0;
}

int api_zone_origin(const canon_api_t *api, const char *name, char *origin, size_t size)
{
	origin_t o = {origin, size};
	return api_with_zone(api, name, copy_origin, &o);
}

/* ---- zone documents ---- */

json_t *api_records_json(const knot_rrset_t *rr, char *text)
{
	json_t *list = json_array();
	for (uint16_t i = 0; list != NULL && i < rr->rrs.count; i++) {
		if (canon_rdata_format(rr->type, knot_rdataset_at(&rr->rrs, i), text,
		                       API_RDATA_TEXT_MAX) != 0) {
			snprintf(text, API_RDATA_TEXT_MAX, "\\# (unprintable)");
		}
		json_array_append_new(list, json_pack("{s:s, s:b}", "content", text, "disabled", 0));
	}
	return list;
}

json_t *api_rrset_json(const knot_rrset_t *rr, char *text)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
	if (knot_dname_to_str(owner, rr->owner, sizeof(owner)) == NULL) {
		owner[0] = '\0';
	}
	canon_rrtype_name(rr->type, type, sizeof(type));
	return json_pack("{s:s, s:s, s:I, s:o, s:[]}", "name", owner, "type", type, "ttl",
	                 (json_int_t)rr->ttl, "records", api_records_json(rr, text), "comments");
}

static const char *zone_kind(const canon_zone_view_t *view)
{
	/* canon is a primary: a zone with secondaries to NOTIFY is what pdns calls Master. */
	return view->conf != NULL && view->conf->notify_count > 0 ? "Master" : "Native";
}

/* The fields of a zone in the zone list (PowerDNS's "Zone" without rrsets). */
static json_t *zone_summary(const canon_zone_view_t *view)
{
	char id[1024], url[1200];
	canon_api_zone_id(view->origin, id, sizeof(id));
	snprintf(url, sizeof(url), ZONES "/%s", id);
	uint32_t serial = view->zone != NULL ? canon_zone_serial(view->zone) : 0;
	/* NOTIFY goes out with every version: the served serial is the one notified. */
	uint32_t notified = strcmp(zone_kind(view), "Master") == 0 ? serial : 0;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:[], s:s, s:{s:s?, "
	                 "s:b, s:b, s:s?}}",
	                 "id", id, "name", view->origin, "url", url, "kind", zone_kind(view),
	                 "account", "", "dnssec", 0, "serial", (json_int_t)serial, "edited_serial",
	                 (json_int_t)serial, "notified_serial", (json_int_t)notified, "last_check",
	                 (json_int_t)0, "masters", "catalog", "", "canon", "file", view->file,
	                 "dynamic", view->dynamic, "journal", view->journal_ok, "error",
	                 view->last_error);
}

typedef struct {
	json_t *list;
	char *text;
} rrsets_t;

static int rrsets_visit(const canon_node_t *node, void *ctx)
{
	rrsets_t *r = ctx;
	for (uint16_t j = 0; j < node->rrset_count; j++) {
		json_array_append_new(r->list, api_rrset_json(&node->rrsets[j].rr, r->text));
	}
	return 0;
}

/* The zone's RRsets in canonical order (RFC 4034 §6.1), as GET zone lists them. */
static json_t *zone_rrsets(const canon_zone_t *zone, char *text)
{
	rrsets_t r = {json_array(), text};
	if (zone != NULL && r.list != NULL) {
		canon_zone_walk(zone, rrsets_visit, &r);
	}
	return r.list;
}

typedef struct {
	json_t *doc;
	char *text;
} zone_doc_t;

static int zone_reader(void *ctx, const canon_zone_view_t *view, const canon_zonetable_t *table)
{
	(void)table;
	zone_doc_t *d = ctx;
	d->doc = zone_summary(view);
	json_t *extra = json_pack("{s:o, s:b, s:[], s:[], s:b, s:s, s:s, s:s}", "rrsets",
	                          zone_rrsets(view->zone, d->text), "api_rectify", 0,
	                          "master_tsig_key_ids", "slave_tsig_key_ids", "nsec3narrow", 0,
	                          "nsec3param", "", "soa_edit", "", "soa_edit_api", "DEFAULT");
	if (d->doc == NULL || extra == NULL || json_object_update(d->doc, extra) != 0) {
		json_decref(extra);
		return -ENOMEM;
	}
	json_decref(extra);
	return 0;
}

static void reply_zone(const canon_api_t *api, const char *name, unsigned status,
                       canon_api_reply_t *reply)
{
	zone_doc_t d = {.text = malloc(API_RDATA_TEXT_MAX)};
	int ret = d.text != NULL ? api_with_zone(api, name, zone_reader, &d) : -ENOMEM;
	free(d.text);
	if (ret == -ENOENT) {
		api_reply_no_zone(reply, name);
	} else if (ret != 0) {
		json_decref(d.doc);
		canon_api_error(reply, 500, "out of memory");
	} else {
		api_reply_json(reply, status, d.doc);
	}
}

static int list_reader(void *ctx, const canon_zone_view_t *zones, size_t count,
                       const canon_zonetable_t *table)
{
	(void)table;
	json_t *list = ctx;
	for (size_t i = 0; i < count; i++) {
		json_array_append_new(list, zone_summary(&zones[i]));
	}
	return 0;
}

static void get_zones(const canon_api_t *api, const canon_api_request_t *req,
                      canon_api_reply_t *reply)
{
	json_t *list = json_array();
	canon_zonemgr_read(api->mgr, list_reader, list);
	/* ?zone=NAME narrows the list to that zone (what clients use to find one). */
	const char *only = req->arg != NULL ? req->arg(req->arg_ctx, "zone") : NULL;
	if (only != NULL) {
		char want[1024];
		snprintf(want, sizeof(want), "%s%s", only,
		         only[0] && only[strlen(only) - 1] == '.' ? "" : ".");
		for (size_t i = json_array_size(list); i-- > 0;) {
			const char *name = json_string_value(json_object_get(json_array_get(list, i), "name"));
			if (name == NULL || strcasecmp(name, want) != 0) {
				json_array_remove(list, i);
			}
		}
	}
	api_reply_json(reply, 200, list);
}

typedef struct {
	FILE *out;
	char *text;
} export_t;

/* PowerDNS's export format: "owner<TAB>ttl<TAB>IN<TAB>type<TAB>data". */
static int export_visit(const canon_node_t *node, void *ctx)
{
	export_t *e = ctx;
	for (uint16_t j = 0; j < node->rrset_count; j++) {
		const knot_rrset_t *rr = &node->rrsets[j].rr;
		char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
		knot_dname_to_str(owner, rr->owner, sizeof(owner));
		canon_rrtype_name(rr->type, type, sizeof(type));
		for (uint16_t k = 0; k < rr->rrs.count; k++) {
			canon_rdata_format(rr->type, knot_rdataset_at(&rr->rrs, k), e->text,
			                   API_RDATA_TEXT_MAX);
			fprintf(e->out, "%s\t%u\tIN\t%s\t%s\n", owner, rr->ttl, type, e->text);
		}
	}
	return 0;
}

static int export_reader(void *ctx, const canon_zone_view_t *view, const canon_zonetable_t *table)
{
	(void)table;
	size_t size = 0;
	export_t e = {.out = open_memstream((char **)ctx, &size), .text = malloc(API_RDATA_TEXT_MAX)};
	if (e.out != NULL && e.text != NULL && view->zone != NULL) {
		canon_zone_walk(view->zone, export_visit, &e);
	}
	bool ok = e.text != NULL;
	free(e.text);
	return e.out != NULL && fclose(e.out) == 0 && ok ? 0 : -ENOMEM;
}

static void get_export(const canon_api_t *api, const char *name, canon_api_reply_t *reply)
{
	char *text = NULL;
	int ret = api_with_zone(api, name, export_reader, &text);
	if (ret == -ENOENT) {
		api_reply_no_zone(reply, name);
	} else if (ret != 0) {
		canon_api_error(reply, 500, "out of memory");
	} else {
		reply->status = 200;
		reply->type = "text/plain; charset=us-ascii";
		reply->body = text;
		reply->len = strlen(text);
		return;
	}
	free(text);
}

/* ---- writes ---- */

void api_reply_change_error(canon_api_reply_t *reply, const char *zone,
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
		canon_api_error(reply, 500, "the zone's journal cannot be written: no change is "
		                            "accepted until it is repaired (see the log)");
		return;
	default:
		canon_api_error(reply, 500, result->message[0] ? result->message : "out of memory");
	}
}

static void patch_zone(const canon_api_t *api, const canon_api_request_t *req, const char *name,
                       canon_api_reply_t *reply)
{
	char origin[1024];
	if (api_zone_origin(api, name, origin, sizeof(origin)) != 0) {
		api_reply_no_zone(reply, name);
		return;
	}
	api_changes_t changes = {0};
	if (api_changes_parse(req, origin, &changes, reply) != 0) {
		return;
	}
	canon_change_result_t result;
	canon_change_result_init(&result);
	result.status = canon_zonemgr_change(api->mgr, origin, changes.items, changes.count,
	                                     req->who, false, &result);
	if (result.status == 0) {
		reply->status = 204;
	} else {
		api_reply_change_error(reply, name, &result);
	}
	canon_change_result_free(&result);
	api_changes_free(&changes);
}

static void delete_zone(const canon_api_t *api, const canon_api_request_t *req, const char *name,
                        canon_api_reply_t *reply)
{
	char origin[1024], text[1200];
	int ret = api_zone_origin(api, name, origin, sizeof(origin));
	if (ret == 0) {
		ret = canon_zonemgr_delete(api->mgr, origin, req->who);
	}
	if (ret == 0) {
		reply->status = 204;
	} else if (ret == -ENOENT) {
		api_reply_no_zone(reply, name);
	} else if (ret == -EPERM) {
		snprintf(text, sizeof(text),
		         "Zone '%s' comes from canon's configuration: remove its zone: line there",
		         name);
		canon_api_error(reply, 422, text);
	} else {
		canon_api_error(reply, 500, strerror(-ret));
	}
}

static void notify_zone(const canon_api_t *api, const char *name, canon_api_reply_t *reply)
{
	char origin[1024];
	int ret = api_zone_origin(api, name, origin, sizeof(origin));
	if (ret == 0) {
		ret = canon_zonemgr_renotify(api->mgr, origin);
	}
	if (ret == 0) {
		api_reply_json(reply, 200, json_pack("{s:s}", "result", "Notification queued"));
	} else {
		api_reply_no_zone(reply, name);
	}
}

/* ---- POST zones ---- */

/* A name as PowerDNS wants it: absolute ("canonical"), parsed. */
static int canonical_name(const char *text, knot_dname_storage_t out, char *error, size_t size)
{
	size_t len = strlen(text);
	if (len == 0 || text[len - 1] != '.') {
		snprintf(error, size, "DNS Name '%s' is not canonical", text);
		return -EINVAL;
	}
	if (knot_dname_from_str(out, text, KNOT_DNAME_MAXLEN) == NULL) {
		snprintf(error, size, "DNS Name '%s' is not valid", text);
		return -EINVAL;
	}
	return 0;
}

typedef struct {
	canon_changeset_t records; /* 'added' holds the new zone's records. */
	knot_dname_storage_t apex;
	char origin[KNOT_DNAME_TXT_MAXLEN + 1];
	char error[2200];
	uint8_t *rdata;
} new_zone_t;

static int add_record(new_zone_t *z, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                      const char *text)
{
	uint16_t len = 0;
	char error[400];
	if (canon_rdata_parse(z->origin, type, text, z->rdata, &len, error, sizeof(error)) != 0) {
		char owner_text[KNOT_DNAME_TXT_MAXLEN + 1], type_text[32];
		knot_dname_to_str(owner_text, owner, sizeof(owner_text));
		canon_rrtype_name(type, type_text, sizeof(type_text));
		snprintf(z->error, sizeof(z->error), "Record %.300s/%s '%.300s': %s", owner_text,
		         type_text, text, error);
		return -EINVAL;
	}
	if (canon_rrlist_add(&z->records.added, owner, type, ttl, z->rdata, len) != 0) {
		snprintf(z->error, sizeof(z->error), "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* One rrset of the POST body ({name, type, ttl, records}); notes an apex SOA and NS. */
static int add_post_rrset(new_zone_t *z, json_t *rrset, bool *soa, bool *ns)
{
	const char *name = json_string_value(json_object_get(rrset, "name"));
	const char *type_text = json_string_value(json_object_get(rrset, "type"));
	json_t *ttl = json_object_get(rrset, "ttl");
	json_t *records = json_object_get(rrset, "records");
	knot_dname_storage_t owner;
	uint16_t type;
	if (name == NULL || type_text == NULL || !json_is_integer(ttl) || !json_is_array(records)) {
		snprintf(z->error, sizeof(z->error),
		         "Each rrset needs 'name', 'type', 'ttl' (an Integer) and 'records'");
		return -EINVAL;
	}
	if (canonical_name(name, owner, z->error, sizeof(z->error)) != 0) {
		return -EINVAL;
	}
	if (knot_dname_in_bailiwick(owner, z->apex) < 0) {
		snprintf(z->error, sizeof(z->error), "RRset %s IN %s: Name is out of zone", name,
		         type_text);
		return -EINVAL;
	}
	if (canon_rrtype_parse(type_text, &type) != 0) {
		snprintf(z->error, sizeof(z->error), "RRset %s IN %s: unknown type given", name,
		         type_text);
		return -EINVAL;
	}
	bool apex = knot_dname_is_equal(owner, z->apex) || knot_dname_is_case_equal(owner, z->apex);
	*soa |= apex && type == KNOT_RRTYPE_SOA;
	*ns |= apex && type == KNOT_RRTYPE_NS;
	size_t i;
	json_t *record;
	json_array_foreach(records, i, record) {
		const char *content = json_string_value(json_object_get(record, "content"));
		if (content == NULL) {
			snprintf(z->error, sizeof(z->error), "Key 'content' not present or not a String");
			return -EINVAL;
		}
		int ret = add_record(z, owner, type, (uint32_t)json_integer_value(ttl), content);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

/* PowerDNS's serial for a new zone (SOA-EDIT-API DEFAULT): today's date and 01. */
static uint32_t date_serial(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	return (uint32_t)(tm.tm_year + 1900) * 1000000u + (uint32_t)(tm.tm_mon + 1) * 10000u +
	       (uint32_t)tm.tm_mday * 100u + 1u;
}

static int build_zone(new_zone_t *z, json_t *body)
{
	bool soa = false, ns = false;
	json_t *rrsets = json_object_get(body, "rrsets");
	size_t i;
	json_t *rrset;
	json_array_foreach(rrsets, i, rrset) {
		int ret = add_post_rrset(z, rrset, &soa, &ns);
		if (ret != 0) {
			return ret;
		}
	}
	json_t *nameservers = json_object_get(body, "nameservers");
	if (ns && json_array_size(nameservers) > 0) {
		snprintf(z->error, sizeof(z->error),
		         "Nameservers list MUST NOT be mixed with zone-level NS in rrsets");
		return -EINVAL;
	}
	json_t *server;
	json_array_foreach(nameservers, i, server) {
		knot_dname_storage_t target;
		const char *text = json_string_value(server);
		if (text == NULL) {
			snprintf(z->error, sizeof(z->error), "Nameservers must be strings");
			return -EINVAL;
		}
		if (canonical_name(text, target, z->error, sizeof(z->error)) != 0 ||
		    add_record(z, z->apex, KNOT_RRTYPE_NS, DEFAULT_TTL, text) != 0) {
			return -EINVAL;
		}
	}
	if (!soa) {
		char text[KNOT_DNAME_TXT_MAXLEN * 2 + 100];
		snprintf(text, sizeof(text), DEFAULT_SOA_MNAME " hostmaster.%s %u 10800 3600 604800 3600",
		         strcmp(z->origin, ".") == 0 ? "" : z->origin, date_serial());
		return add_record(z, z->apex, KNOT_RRTYPE_SOA, DEFAULT_TTL, text);
	}
	return 0;
}

/* kind: Native or Master (any case); canon is a primary only. */
static bool kind_ok(json_t *kind)
{
	const char *text = json_string_value(kind);
	return kind == NULL || (text != NULL && (strcasecmp(text, "Native") == 0 ||
	                                         strcasecmp(text, "Master") == 0 ||
	                                         strcasecmp(text, "Primary") == 0));
}

static unsigned create_zone(const canon_api_t *api, const canon_api_request_t *req, json_t *body,
                            new_zone_t *z)
{
	const char *name = json_string_value(json_object_get(body, "name"));
	if (name == NULL) {
		snprintf(z->error, sizeof(z->error), "Key 'name' not present or not a String");
		return 422;
	}
	if (canonical_name(name, z->apex, z->error, sizeof(z->error)) != 0) {
		return 422;
	}
	knot_dname_to_str(z->origin, z->apex, sizeof(z->origin));
	if (!kind_ok(json_object_get(body, "kind"))) {
		snprintf(z->error, sizeof(z->error),
		         "canon is a primary server: a zone's kind is Native or Master");
		return 422;
	}
	if (build_zone(z, body) != 0) {
		return 422;
	}
	canon_change_result_t result;
	canon_change_result_init(&result);
	int ret = canon_zonemgr_create(api->mgr, z->origin, &z->records.added, req->who, &result);
	snprintf(z->error, sizeof(z->error), "%s", result.message);
	canon_change_result_free(&result);
	switch (ret) {
	case 0:
		return 201;
	case -EEXIST:
		snprintf(z->error, sizeof(z->error), "Domain '%s' already exists", z->origin);
		return 409;
	case -EPERM:
		snprintf(z->error, sizeof(z->error),
		         "canon keeps zones created through the API in its state directory: start "
		         "it with --state-dir");
		return 422;
	case -EINVAL:
		if (z->error[0] == '\0') {
			snprintf(z->error, sizeof(z->error), "the zone needs an SOA and NS records");
		}
		return 422;
	default:
		snprintf(z->error, sizeof(z->error), "%s", strerror(-ret));
		return 500;
	}
}

static json_t *parse_body(const canon_api_request_t *req, canon_api_reply_t *reply)
{
	json_error_t error;
	json_t *body = json_loadb(req->body, req->body_len, 0, &error);
	if (body == NULL || !json_is_object(body)) {
		char text[300];
		snprintf(text, sizeof(text), "Request body is not a JSON object%s%s",
		         body == NULL ? ": " : "", body == NULL ? error.text : "");
		canon_api_error(reply, 400, text);
		json_decref(body);
		return NULL;
	}
	return body;
}

static void post_zone(const canon_api_t *api, const canon_api_request_t *req,
                      canon_api_reply_t *reply)
{
	json_t *body = parse_body(req, reply);
	if (body == NULL) {
		return;
	}
	new_zone_t *z = calloc(1, sizeof(*z));
	uint8_t *rdata = malloc(65536);
	if (z == NULL || rdata == NULL) {
		canon_api_error(reply, 500, "out of memory");
	} else {
		z->rdata = rdata;
		canon_changeset_init(&z->records);
		unsigned status = create_zone(api, req, body, z);
		if (status == 201) {
			reply_zone(api, z->origin, 201, reply);
		} else {
			canon_api_error(reply, status, z->error);
		}
		canon_changeset_clear(&z->records);
	}
	free(rdata);
	free(z);
	json_decref(body);
}

/* ---- routes ---- */

static json_t *server_json(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Server", "id", "localhost",
	                 "daemon_type", "authoritative", "version", "canon " CANON_VERSION,
	                 "url", LOCALHOST, "zones_url", ZONES "{/zone}", "config_url",
	                 LOCALHOST "/config{/config_setting}");
}

static void method_not_allowed(canon_api_reply_t *reply)
{
	canon_api_error(reply, 405, "Method Not Allowed");
}

static bool is(const canon_api_request_t *req, const char *method)
{
	return strcmp(req->method, method) == 0;
}

/* .../zones/{id}[/what] */
static void zone_route(const canon_api_t *api, const canon_api_request_t *req, const char *rest,
                       canon_api_reply_t *reply)
{
	char id[1024], name[1024];
	size_t len = strcspn(rest, "/");
	const char *what = rest[len] == '/' ? rest + len + 1 : NULL;
	snprintf(id, sizeof(id), "%.*s", (int)len, rest);
	if (len == 0 || canon_api_zone_name(id, name, sizeof(name)) != 0) {
		canon_api_error(reply, 404, "Not Found");
		return;
	}
	if (what == NULL) {
		if (is(req, "GET")) {
			reply_zone(api, name, 200, reply);
		} else if (is(req, "PATCH")) {
			patch_zone(api, req, name, reply);
		} else if (is(req, "DELETE")) {
			delete_zone(api, req, name, reply);
		} else {
			method_not_allowed(reply);
		}
	} else if (strcmp(what, "notify") == 0) {
		is(req, "PUT") ? notify_zone(api, name, reply) : method_not_allowed(reply);
	} else if (strcmp(what, "export") == 0) {
		is(req, "GET") ? get_export(api, name, reply) : method_not_allowed(reply);
	} else {
		api_zone_extra(api, req, name, what, reply);
	}
}

void canon_api_handle(const canon_api_t *api, const canon_api_request_t *req,
                      canon_api_reply_t *reply)
{
	const char *path = req->path;
	memset(reply, 0, sizeof(*reply));
	if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0) {
		api_reply_json(reply, 200, json_pack("[{s:s, s:i}]", "url", "/api/v1", "version", 1));
	} else if (strcmp(path, SERVERS) == 0) {
		is(req, "GET") ? api_reply_json(reply, 200, json_pack("[o]", server_json()))
		               : method_not_allowed(reply);
	} else if (strcmp(path, LOCALHOST) == 0) {
		is(req, "GET") ? api_reply_json(reply, 200, server_json()) : method_not_allowed(reply);
	} else if (strcmp(path, ZONES) == 0) {
		if (is(req, "GET")) {
			get_zones(api, req, reply);
		} else if (is(req, "POST")) {
			post_zone(api, req, reply);
		} else {
			method_not_allowed(reply);
		}
	} else if (strncmp(path, ZONES "/", strlen(ZONES) + 1) == 0) {
		zone_route(api, req, path + strlen(ZONES) + 1, reply);
	} else {
		canon_api_error(reply, 404, "Not Found");
	}
}
