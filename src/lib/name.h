/*
 * Domain-name helpers on top of libknot's wire-format names.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdint.h>

#include <libknot/dname.h>

/* Hash of a lower-case wire-format name (FNV-1a); equal names hash equal. */
static inline uint32_t canon_name_hash(const knot_dname_t *lower)
{
	uint32_t h = 2166136261u;
	while (*lower != 0) {
		uint8_t len = *lower;
		for (uint8_t i = 0; i <= len; i++) {
			h = (h ^ lower[i]) * 16777619u;
		}
		lower += len + 1;
	}
	return h;
}

/* The name without its leftmost label; the root stays the root. */
static inline const knot_dname_t *canon_name_parent(const knot_dname_t *name)
{
	return *name == 0 ? name : name + *name + 1;
}
