/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>

#include "lib/name.h"
#include "lib/zonetable.h"

static canon_zone_t *slot_lookup(const canon_zonetable_t *table, const knot_dname_t *lower,
                                 uint32_t hash)
{
	for (uint32_t i = hash & table->slot_mask;; i = (i + 1) & table->slot_mask) {
		canon_zone_t *zone = table->slots[i];
		if (zone == NULL) {
			return NULL;
		}
		if (zone->apex->hash == hash && knot_dname_is_case_equal(zone->apex_name, lower)) {
			return zone;
		}
	}
}

canon_zonetable_t *canon_zonetable_new(canon_zone_t *const *zones, size_t count)
{
	canon_zonetable_t *table = calloc(1, sizeof(*table));
	if (table == NULL) {
		return NULL;
	}
	uint32_t size = 8;
	while (size < count * 2) {
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
		if (slot_lookup(table, zone->apex_name, hash) != NULL) {
			continue;
		}
		uint32_t slot = hash & table->slot_mask;
		while (table->slots[slot] != NULL) {
			slot = (slot + 1) & table->slot_mask;
		}
		table->slots[slot] = zone;
		table->zones[table->count++] = zone;
		zone->refs++;
	}
	return table;
}

const canon_zone_t *canon_zonetable_find(const canon_zonetable_t *table, const knot_dname_t *lower)
{
	for (const knot_dname_t *name = lower;; name = canon_name_parent(name)) {
		const canon_zone_t *zone = slot_lookup(table, name, canon_name_hash(name));
		if (zone != NULL) {
			return zone;
		}
		if (*name == 0) {
			return NULL;
		}
	}
}

canon_zone_t *canon_zonetable_get(const canon_zonetable_t *table, const knot_dname_t *lower)
{
	return slot_lookup(table, lower, canon_name_hash(lower));
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
	free(table->zones);
	free(table->slots);
	free(table);
}
