/*
 * The set of zones a server answers from, found by longest suffix match.
 * A table is immutable once built; a reload builds a new table and swaps it in
 * (see serve/server.c). Zones are reference-counted so that a zone that failed
 * to reload can stay in the new table while the old table is freed.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

#include "lib/zone.h"

typedef struct canon_zonetable {
	canon_zone_t **zones;
	size_t count;
	canon_zone_t **slots; /* Open-addressing hash of apex names. */
	uint32_t slot_mask;
	uint8_t max_labels; /* Labels of the deepest apex: no longer suffix can be a zone. */
} canon_zonetable_t;

/*
 * A table of 'count' zones; each gains a reference. With two zones for one
 * apex the first wins. Returns NULL on allocation failure.
 */
canon_zonetable_t *canon_zonetable_new(canon_zone_t *const *zones, size_t count);

/*
 * The zone with the longest apex that is a suffix of 'name', trying suffixes
 * from label 'first' on (0: the whole name), or NULL.
 */
const canon_zone_t *canon_zonetable_find(const canon_zonetable_t *table, const canon_name_t *name,
                                         unsigned first);

/* The zone whose apex is exactly 'lower', or NULL. */
canon_zone_t *canon_zonetable_get(const canon_zonetable_t *table, const knot_dname_t *lower);

/* Drop the table's references; zones left with none are freed. */
void canon_zonetable_free(canon_zonetable_t *table);
