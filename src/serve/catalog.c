/*
 * The catalog zone (RFC 9432): one zone that lists every zone canon serves,
 * so that secondaries which consume catalogs (knotd, named) pick up zones
 * made or deleted through the API without editing their configuration. It is
 * made here from the zone list, served and transferred like any zone.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/descriptor.h>

#include "lib/log.h"
#include "lib/rrtext.h"
#include "serve/zonemgr_internal.h"

/* RFC 9432 §4: the catalog's records live outside the DNS: TTL 0, NS invalid. */
#define CATALOG_TTL 0

static int add_text(canon_rrlist_t *list, const char *origin, const char *owner, uint16_t type,
                    const char *data)
{
	uint8_t rdata[512];
	uint16_t len = 0;
	char error[256];
	knot_dname_storage_t name;
	if (knot_dname_from_str(name, owner, sizeof(name)) == NULL ||
	    canon_rdata_parse(origin, type, data, rdata, &len, error, sizeof(error)) != 0) {
		return -1;
	}
	return canon_rrlist_add(list, name, type, CATALOG_TTL, rdata, len);
}

/* RFC 9432 §4.3: a member's unique label; a hash of its name keeps it stable across restarts. */
static void member_label(const knot_dname_t *apex, char *out, size_t size)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < knot_dname_size(apex); i++) {
		h = (h ^ apex[i]) * 1099511628211ull;
	}
	snprintf(out, size, "%016llx", (unsigned long long)h);
}

static int add_members(canon_zonemgr_t *mgr, canon_rrlist_t *list, const char *origin)
{
	for (size_t i = 0; i < mgr->count; i++) {
		const canon_zone_t *member = mgr->zones[i].current;
		if (member == NULL) {
			continue;
		}
		char label[32], owner[KNOT_DNAME_TXT_MAXLEN + 64];
		member_label(member->apex_name, label, sizeof(label));
		snprintf(owner, sizeof(owner), "%s.zones.%s", label, origin);
		knot_dname_storage_t name;
		if (knot_dname_from_str(name, owner, sizeof(name)) == NULL ||
		    canon_rrlist_add(list, name, KNOT_RRTYPE_PTR, CATALOG_TTL, member->apex_name,
		                     (uint16_t)knot_dname_size(member->apex_name)) != 0) {
			return -1;
		}
	}
	return 0;
}

/* The catalog with 'serial': SOA, NS invalid., version "2", one PTR per member zone. */
static canon_zone_t *build(canon_zonemgr_t *mgr, uint32_t serial)
{
	const char *origin = mgr->catalog.origin;
	char soa[128], version[KNOT_DNAME_TXT_MAXLEN + 16];
	snprintf(soa, sizeof(soa), "invalid. invalid. %u 3600 600 2147483646 0", serial);
	snprintf(version, sizeof(version), "version.%s", origin);
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	canon_zone_t *zone = NULL;
	if (add_text(&ch.added, origin, origin, KNOT_RRTYPE_SOA, soa) == 0 &&
	    add_text(&ch.added, origin, origin, KNOT_RRTYPE_NS, "invalid.") == 0 &&
	    add_text(&ch.added, origin, version, KNOT_RRTYPE_TXT, "\"2\"") == 0 &&
	    add_members(mgr, &ch.added, origin) == 0 &&
	    canon_changeset_apply(NULL, &ch, &zone) == 0) {
		zone->settings = mgr->catalog.conf;
	}
	canon_changeset_clear(&ch);
	return zone;
}

/* A serial that grows, and that a restart does not take back: the clock, or one more. */
static uint32_t next_serial(const canon_zone_t *current)
{
	uint32_t now = (uint32_t)time(NULL);
	if (current == NULL || canon_serial_newer(now, canon_zone_serial(current))) {
		return now;
	}
	return canon_zone_serial(current) + 1;
}

static bool same_members(const canon_zone_t *a, const canon_zone_t *b)
{
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	bool same = canon_changeset_diff(a, b, &ch) == 0 && canon_changeset_empty(&ch);
	canon_changeset_clear(&ch);
	return same;
}

bool zm_catalog_refresh(canon_zonemgr_t *mgr)
{
	zm_zone_t *cat = &mgr->catalog;
	if (cat->conf == NULL) {
		return false;
	}
	canon_zone_t *next = build(mgr, next_serial(cat->current));
	if (next == NULL) {
		canon_log(CANON_LOG_ERROR, "catalog %s: out of memory, not updated", cat->origin);
		return false;
	}
	if (cat->current != NULL && same_members(cat->current, next)) {
		canon_zone_free(next);
		return false;
	}
	if (cat->current != NULL && cat->current->refs == 0) {
		canon_zone_free(cat->current);
	}
	cat->current = next;
	canon_log(CANON_LOG_INFO, "catalog %s: serial %u, %zu zones", cat->origin,
	          canon_zone_serial(next), mgr->count);
	return true;
}

void zm_catalog_start(canon_zonemgr_t *mgr)
{
	const canon_zone_conf_t *conf = mgr->conf->catalog;
	if (conf == NULL) {
		return;
	}
	if (zm_zone_by_origin(mgr->zones, mgr->count, conf->origin) != NULL) {
		canon_log(CANON_LOG_ERROR, "catalog %s is also a zone of its own: not made",
		          conf->origin);
		return;
	}
	mgr->catalog.origin = strdup(conf->origin);
	mgr->catalog.conf = mgr->catalog.origin ? conf : NULL;
	zm_catalog_refresh(mgr);
}
