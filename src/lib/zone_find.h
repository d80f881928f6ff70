/*
 * The read side of the zone index, inline: canon_zone_get() and
 * canon_zone_find() as the answer path (lib/lookup.c) calls them once or more
 * per name of a chain, where the calls' register saves cost as much as a
 * probe (bench/run --cost). zone.c defines the extern functions with these.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lib/name.h"
#include "lib/zone.h"

/* canon_zone_get(), inline. */
static inline const canon_node_t *canon_zone_get_inline(const canon_zone_t *zone,
                                                        const knot_dname_t *lower, uint16_t size,
                                                        uint32_t hash)
{
	for (uint32_t i = hash & zone->slot_mask;; i = (i + 1) & zone->slot_mask) {
		const canon_slot_t *slot = &zone->slots[i];
		if (slot->node == 0) {
			return NULL;
		}
		if (slot->hash == hash) {
			const canon_node_t *node = zone->nodes[slot->node - 1];
			if (canon_name_equal(node->owner, node->owner_size, lower, size)) {
				return node;
			}
		}
	}
}

/* canon_zone_find(), inline. */
static inline canon_find_t canon_zone_find_inline(const canon_zone_t *zone,
                                                  const canon_name_t *name,
                                                  const canon_node_t **node_out)
{
	const canon_node_t *node = canon_zone_get_inline(zone, name->wire, name->size,
	                                                 canon_name_suffix_hash(name, 0));
	if (node != NULL && (node->flags & CANON_NODE_NSEC3)) {
		node = NULL; /* An NSEC3 owner is no name of the zone (RFC 5155 §7.2.8). */
	}
	bool exact = node != NULL;
	/* Not found: strip labels until a name exists, the closest encloser (RFC 4592 §3.3.1). */
	for (unsigned i = 1; node == NULL; i++) {
		if (i > name->labels) {
			node = zone->apex; /* Not in the zone at all: the caller's mistake. */
			break;
		}
		node = canon_zone_get_inline(zone, canon_name_suffix(name, i),
		                             canon_name_suffix_size(name, i),
		                             canon_name_suffix_hash(name, i));
	}
	*node_out = node;
	uint16_t self_redirect = exact ? CANON_NODE_DELEG : (CANON_NODE_DELEG | CANON_NODE_DNAME);
	if (!(node->flags & (self_redirect | CANON_NODE_BELOW_CUT | CANON_NODE_BELOW_DNAME))) {
		return exact ? CANON_FIND_FOUND : CANON_FIND_NXNAME;
	}
	/* The topmost cut or DNAME above the name decides (RFC 1034 §4.3.2 step 3b, RFC 6672 §3.2).
	 */
	const canon_node_t *top = (node->flags & self_redirect) ? node : NULL;
	for (const canon_node_t *up = node->parent; up != NULL; up = up->parent) {
		if (up->flags & (CANON_NODE_DELEG | CANON_NODE_DNAME)) {
			top = up;
		}
	}
	if (top == NULL) {
		return exact ? CANON_FIND_FOUND : CANON_FIND_NXNAME;
	}
	*node_out = top;
	return (top->flags & CANON_NODE_DELEG) ? CANON_FIND_DELEG : CANON_FIND_DNAME;
}
