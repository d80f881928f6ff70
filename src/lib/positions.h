/*
 * Where the RRsets of a zone were read (file:line), kept apart from the zone so
 * that serving memory holds none of it. The loader fills it beside the zone it
 * builds; the checker names file:line from it; `canon check` keeps it for its
 * output, `canon serve` frees it once the loaded zone is checked.
 *
 * Positions are keyed by node (canon_node_t.id) and type, so they describe the
 * one zone version they were built beside. Records without a place (added later, say by an
 * UPDATE) have none, and a NULL canon_zone_positions_t stands for a zone with
 * no places at all: every lookup then answers NULL.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/zone.h"

/* The place of one RRset. */
typedef struct {
	uint32_t next;  /* Index + 1 of the node's next placed RRset, or 0. */
	uint16_t type;  /* The RRset's type. */
	uint16_t file;  /* Index for canon_positions_file(). */
	uint32_t line;  /* Line of the RRset's first record read. */
	uint16_t count; /* Records placed so far. */
	/*
	 * With two or more records: the line of each, in the order the records
	 * were added (as the zone keeps them while it is built), in rdata order
	 * once canon_positions_order() ran.
	 */
	uint32_t *lines;
} canon_rrset_pos_t;

typedef struct canon_zone_positions canon_zone_positions_t;

/* An empty set of positions; NULL on allocation failure. */
canon_zone_positions_t *canon_positions_new(void);

/* Free the positions (NULL is fine). The zone they describe is not touched. */
void canon_positions_free(canon_zone_positions_t *positions);

/*
 * Remember a file name; returns its index for canon_positions_record(), -E2BIG
 * past 65,535 names, or -ENOMEM.
 */
int canon_positions_add_file(canon_zone_positions_t *positions, const char *file);

/* The name of file 'index', or NULL when there is no such file. */
const char *canon_positions_file(const canon_zone_positions_t *positions, uint16_t index);

/*
 * Note that the record 'rdata' of 'rrset' (the RRset of 'node' it was just
 * added to by canon_zone_add()) was read at file:line. A record that merged
 * with an identical one (the RRset did not grow) is not noted again.
 * Returns 0 or -ENOMEM.
 */
int canon_positions_record(canon_zone_positions_t *positions, const canon_node_t *node,
                           const canon_rrset_t *rrset, const uint8_t *rdata, uint16_t rdlen,
                           uint16_t file, uint32_t line);

/*
 * Once the zone is built, before canon_zone_seal() sorts each RRset's records
 * (lib/zone.h): put the lines of every RRset in the order the seal will put
 * its records in (knot_rdata_cmp), so that canon_rrset_pos_line() follows the
 * sealed zone. O(n log n) per RRset. Returns 0 or -ENOMEM.
 */
int canon_positions_order(canon_zone_positions_t *positions, const canon_zone_t *zone);

/* The place of the RRset of 'type' at 'node', or NULL (no positions, or none noted). */
const canon_rrset_pos_t *canon_positions_get(const canon_zone_positions_t *positions,
                                             const canon_node_t *node, uint16_t type);

/* The line of record 'index' (in rdata order) of a placed RRset. */
static inline uint32_t canon_rrset_pos_line(const canon_rrset_pos_t *pos, uint16_t index)
{
	return pos->lines != NULL && index < pos->count ? pos->lines[index] : pos->line;
}

/* The line of the RRset's record read last (the one that made it a set). */
uint32_t canon_rrset_pos_last_line(const canon_rrset_pos_t *pos);
