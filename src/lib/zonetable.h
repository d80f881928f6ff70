/*
 * The set of zones a server answers from, found by longest suffix match.
 * A table is immutable once built; a reload builds a new table and swaps it in
 * (see serve/server.c). Zones are reference-counted so that a zone that failed
 * to reload can stay in the new table while the old table is freed.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/zone.h"

typedef struct canon_zonetable {
	canon_zone_t **zones;
	size_t count;
	canon_zone_t **slots; /* Open-addressing hash of apex names. */
	uint32_t slot_mask;
	/* Labels of the deepest apex, loaded or not: no longer suffix can be a zone. */
	uint8_t max_labels;
	/*
	 * Zones configured but not loaded (their file failed): an empty sealed
	 * zone with no SOA for each, found by canon_zonetable_find() (so that
	 * their names answer SERVFAIL, not REFUSED) but not listed in 'zones'
	 * and never returned by canon_zonetable_get().
	 */
	canon_zone_t **unloaded;
	size_t unloaded_count;
} canon_zonetable_t;

/*
 * A table of 'count' zones; each gains a reference. With two zones for one
 * apex the first wins. Returns NULL on allocation failure.
 */
canon_zonetable_t *canon_zonetable_new(canon_zone_t *const *zones, size_t count);

/*
 * canon_zonetable_new() plus a placeholder for each of the 'unloaded_count'
 * apex names in 'unloaded' (zones that failed to load): the table answers for
 * their names, with a zone that has no SOA (canon_zone_unloaded). An apex that
 * 'zones' also has is left out. NULL on allocation failure.
 */
canon_zonetable_t *canon_zonetable_new_unloaded(canon_zone_t *const *zones, size_t count,
                                                const knot_dname_t *const *unloaded,
                                                size_t unloaded_count);

/* Whether 'zone' stands for a zone that failed to load (it has no SOA). */
static inline bool canon_zone_unloaded(const canon_zone_t *zone)
{
	return zone->soa == NULL;
}

/* The zone (loaded or not) whose apex is 'lower' ('size' octets, 'hash'), or NULL. */
static inline const canon_zone_t *canon_zonetable_probe(const canon_zonetable_t *table,
                                                        const knot_dname_t *lower, uint16_t size,
                                                        uint32_t hash)
{
	for (uint32_t i = hash & table->slot_mask;; i = (i + 1) & table->slot_mask) {
		const canon_zone_t *zone = table->slots[i];
		if (zone == NULL) {
			return NULL;
		}
		const canon_node_t *apex = zone->apex;
		if (apex->hash == hash &&
		    canon_name_equal(apex->owner, apex->owner_size, lower, size)) {
			return zone;
		}
	}
}

/*
 * The zone with the longest apex that is a suffix of 'name', trying suffixes
 * from label 'first' on (0: the whole name), or NULL. Inline: the answer path
 * calls it once per name of a chain, and the call cost a sixth of it.
 */
static inline const canon_zone_t *canon_zonetable_find(const canon_zonetable_t *table,
                                                       const canon_name_t *name, unsigned first)
{
	/* Suffixes with more labels than any apex are no zone: not looked up. */
	unsigned labels = name->labels;
	unsigned deepest = table->max_labels;
	if (labels > deepest && first < labels - deepest) {
		first = labels - deepest;
	}
	for (unsigned i = first; i <= labels; i++) {
		const canon_zone_t *zone = canon_zonetable_probe(table, canon_name_suffix(name, i),
		                                                 canon_name_suffix_size(name, i),
		                                                 canon_name_suffix_hash(name, i));
		if (zone != NULL) {
			return zone;
		}
	}
	return NULL;
}

/* The loaded zone whose apex is exactly 'lower', or NULL. */
canon_zone_t *canon_zonetable_get(const canon_zonetable_t *table, const knot_dname_t *lower);

/* Drop the table's references; zones left with none are freed. */
void canon_zonetable_free(canon_zonetable_t *table);
