/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <time.h>

#include <libknot/dname.h>

#include "lib/log.h"
#include "lib/zone_load.h"
#include "serve/zoneset.h"

static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1e3 + (now.tv_nsec - start->tv_nsec) / 1e6;
}

/* The previous version of the zone 'origin', or NULL. */
static canon_zone_t *previous_zone(const canon_zonetable_t *previous, const char *origin)
{
	knot_dname_storage_t apex;
	if (previous == NULL || knot_dname_from_str(apex, origin, sizeof(apex)) == NULL) {
		return NULL;
	}
	knot_dname_to_lower(apex);
	return canon_zonetable_get(previous, apex);
}

canon_zonetable_t *canon_zoneset_load(const canon_serve_conf_t *conf,
                                      const canon_zonetable_t *previous)
{
	canon_zone_t **zones = calloc(conf->zone_count ? conf->zone_count : 1, sizeof(*zones));
	if (zones == NULL) {
		return NULL;
	}
	size_t count = 0;
	for (size_t i = 0; i < conf->zone_count; i++) {
		const canon_zone_conf_t *zc = &conf->zones[i];
		struct timespec start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		canon_zone_t *zone = NULL;
		if (canon_zone_load_for_serving(zc->origin, zc->file, zc->flatten, &zone) == 0) {
			canon_log(CANON_LOG_INFO, "zone %s loaded from %s: %zu records in %.1f ms",
			          zc->origin, zc->file, zone->record_count, elapsed_ms(&start));
			zones[count++] = zone;
			continue;
		}
		zone = previous_zone(previous, zc->origin);
		if (zone != NULL) {
			canon_log(CANON_LOG_ERROR,
			          "zone %s: load from %s failed, keeping the "
			          "previous version",
			          zc->origin, zc->file);
			zones[count++] = zone;
		} else {
			canon_log(CANON_LOG_ERROR, "zone %s: load from %s failed, not served",
			          zc->origin, zc->file);
		}
	}
	canon_zonetable_t *table = canon_zonetable_new(zones, count);
	/* Zones the table did not take (a second zone for one apex) are dropped. */
	for (size_t i = 0; i < count; i++) {
		if (zones[i]->refs == 0) {
			char name[KNOT_DNAME_TXT_MAXLEN + 1];
			knot_dname_to_str(name, zones[i]->apex_name, sizeof(name));
			canon_log(CANON_LOG_ERROR,
			          "zone %s configured twice, the first one is served", name);
			canon_zone_free(zones[i]);
		}
	}
	free(zones);
	return table;
}
