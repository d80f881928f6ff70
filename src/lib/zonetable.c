/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>

#include "lib/name.h"
#include "lib/zonetable.h"

static inline canon_zone_t *slot_lookup(const canon_zonetable_t *table, const knot_dname_t *lower,
                                        uint16_t size, uint32_t hash)
{
	return (canon_zone_t *)canon_zonetable_probe(table, lower, size, hash);
}

static void slot_insert(canon_zonetable_t *table, canon_zone_t *zone)
{
	uint32_t slot = zone->apex->hash & table->slot_mask;
	while (table->slots[slot] != NULL) {
		slot = (slot + 1) & table->slot_mask;
	}
	table->slots[slot] = zone;
	int labels = knot_dname_labels(zone->apex_name, NULL);
	if (labels > table->max_labels) {
		table->max_labels = (uint8_t)labels;
	}
}

/* An empty zone for 'apex' with no SOA: the seal's -ENOENT is what makes it a placeholder. */
static canon_zone_t *placeholder_new(const knot_dname_t *apex)
{
	canon_zone_t *zone = canon_zone_new(apex);
	if (zone != NULL && canon_zone_seal(zone) != -ENOENT) {
		canon_zone_free(zone);
		return NULL;
	}
	return zone;
}

static int add_unloaded(canon_zonetable_t *table, const knot_dname_t *const *unloaded,
                        size_t unloaded_count)
{
	table->unloaded = calloc(unloaded_count ? unloaded_count : 1, sizeof(*table->unloaded));
	if (table->unloaded == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < unloaded_count; i++) {
		knot_dname_storage_t lower;
		knot_dname_copy_lower(lower, unloaded[i]);
		if (slot_lookup(table, lower, (uint16_t)knot_dname_size(lower),
		                canon_name_hash(lower)) != NULL) {
			continue; /* Served (a dynamic zone, say), or named twice. */
		}
		canon_zone_t *zone = placeholder_new(lower);
		if (zone == NULL) {
			return -ENOMEM;
		}
		slot_insert(table, zone);
		table->unloaded[table->unloaded_count++] = zone;
	}
	return 0;
}

canon_zonetable_t *canon_zonetable_new(canon_zone_t *const *zones, size_t count)
{
	return canon_zonetable_new_unloaded(zones, count, NULL, 0);
}

canon_zonetable_t *canon_zonetable_new_unloaded(canon_zone_t *const *zones, size_t count,
                                                const knot_dname_t *const *unloaded,
                                                size_t unloaded_count)
{
	canon_zonetable_t *table = calloc(1, sizeof(*table));
	if (table == NULL) {
		return NULL;
	}
	uint32_t size = 8;
	while (size < (count + unloaded_count) * 2) {
		size *= 2;
	}
	table->slot_mask = size - 1;
	table->slots = calloc(size, sizeof(*table->slots));
	table->zones = calloc(count ? count : 1, sizeof(*table->zones));
	if (table->slots == NULL || table->zones == NULL) {
		canon_zonetable_free(table);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		canon_zone_t *zone = zones[i];
		uint32_t hash = zone->apex->hash;
		if (slot_lookup(table, zone->apex_name, zone->apex->owner_size, hash) != NULL) {
			continue;
		}
		slot_insert(table, zone);
		table->zones[table->count++] = zone;
		zone->refs++;
	}
	if (add_unloaded(table, unloaded, unloaded_count) != 0) {
		canon_zonetable_free(table);
		return NULL;
	}
	return table;
}

canon_zone_t *canon_zonetable_get(const canon_zonetable_t *table, const knot_dname_t *lower)
{
	canon_zone_t *zone =
	        slot_lookup(table, lower, (uint16_t)knot_dname_size(lower), canon_name_hash(lower));
	return zone != NULL && !canon_zone_unloaded(zone) ? zone : NULL;
}

void canon_zonetable_free(canon_zonetable_t *table)
{
	if (table == NULL) {
		return;
	}
	for (size_t i = 0; i < table->count; i++) {
		if (--table->zones[i]->refs == 0) {
			canon_zone_free(table->zones[i]);
		}
	}
	for (size_t i = 0; i < table->unloaded_count; i++) {
		canon_zone_free(table->unloaded[i]);
	}
	free(table->unloaded);
	free(table->zones);
	free(table->slots);
	free(table);
}
