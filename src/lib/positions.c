/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/positions.h"

/*
 * The RRsets' places in one array, in the order they were first read; each
 * node's (canon_node_t.id) chain of them starts in 'first'. Both are filled in
 * order as the loader reads the file: no hashing, no random access.
 */
struct canon_zone_positions {
	canon_rrset_pos_t *entries;
	size_t count;
	size_t cap;
	uint32_t *first; /* By node id: index + 1 of the node's first placed RRset, or 0. */
	size_t first_cap;
	char **files;
	size_t file_count;
};

canon_zone_positions_t *canon_positions_new(void)
{
	return calloc(1, sizeof(canon_zone_positions_t));
}

void canon_positions_free(canon_zone_positions_t *positions)
{
	if (positions == NULL) {
		return;
	}
	for (size_t i = 0; i < positions->count; i++) {
		free(positions->entries[i].lines);
	}
	for (size_t i = 0; i < positions->file_count; i++) {
		free(positions->files[i]);
	}
	free(positions->files);
	free(positions->entries);
	free(positions->first);
	free(positions);
}

int canon_positions_add_file(canon_zone_positions_t *positions, const char *file)
{
	for (size_t i = 0; i < positions->file_count; i++) {
		if (strcmp(positions->files[i], file) == 0) {
			return (int)i;
		}
	}
	if (positions->file_count >= UINT16_MAX) {
		return -E2BIG; /* canon_rrset_pos_t.file is 16 bits. */
	}
	char **files = realloc(positions->files, (positions->file_count + 1) * sizeof(*files));
	if (files == NULL) {
		return -ENOMEM;
	}
	positions->files = files;
	files[positions->file_count] = strdup(file);
	if (files[positions->file_count] == NULL) {
		return -ENOMEM;
	}
	return (int)positions->file_count++;
}

const char *canon_positions_file(const canon_zone_positions_t *positions, uint16_t index)
{
	return positions != NULL && index < positions->file_count ? positions->files[index] : NULL;
}

/* The entry of the RRset of 'type' at node 'id', or NULL. */
static canon_rrset_pos_t *entry_find(const canon_zone_positions_t *positions, uint32_t id,
                                     uint16_t type)
{
	uint32_t at = id < positions->first_cap ? positions->first[id] : 0;
	while (at != 0) {
		canon_rrset_pos_t *pos = &positions->entries[at - 1];
		if (pos->type == type) {
			return pos;
		}
		at = pos->next;
	}
	return NULL;
}

const canon_rrset_pos_t *canon_positions_get(const canon_zone_positions_t *positions,
                                             const canon_node_t *node, uint16_t type)
{
	return positions != NULL ? entry_find(positions, node->id, type) : NULL;
}

static int first_reserve(canon_zone_positions_t *positions, uint32_t id)
{
	if (id < positions->first_cap) {
		return 0;
	}
	size_t cap = positions->first_cap ? positions->first_cap : 256;
	while (cap <= id) {
		cap *= 2;
	}
	uint32_t *first = realloc(positions->first, cap * sizeof(*first));
	if (first == NULL) {
		return -ENOMEM;
	}
	memset(first + positions->first_cap, 0, (cap - positions->first_cap) * sizeof(*first));
	positions->first = first;
	positions->first_cap = cap;
	return 0;
}

/* A new entry for the RRset of 'type' at node 'id', first in the node's chain. */
static canon_rrset_pos_t *entry_add(canon_zone_positions_t *positions, uint32_t id, uint16_t type)
{
	if (first_reserve(positions, id) != 0) {
		return NULL;
	}
	if (positions->count == positions->cap) {
		size_t cap = positions->cap ? positions->cap * 2 : 256;
		canon_rrset_pos_t *entries = realloc(positions->entries, cap * sizeof(*entries));
		if (entries == NULL) {
			return NULL;
		}
		positions->entries = entries;
		positions->cap = cap;
	}
	canon_rrset_pos_t *pos = &positions->entries[positions->count++];
	*pos = (canon_rrset_pos_t){.next = positions->first[id], .type = type};
	positions->first[id] = (uint32_t)positions->count;
	return pos;
}

/* Allocated size of a lines array holding 'count' lines: it doubles. */
static size_t lines_room(size_t count)
{
	size_t room = 4;
	while (room < count) {
		room *= 2;
	}
	return room;
}

/*
 * Note the line of a record just appended to a set: lines are kept in the
 * order read, as the zone keeps the records until canon_positions_order().
 */
static int record_line(canon_rrset_pos_t *pos, uint16_t count, uint32_t line)
{
	if (pos->lines == NULL || count > lines_room(count - 1u)) {
		uint32_t *lines = realloc(pos->lines, lines_room(count) * sizeof(*lines));
		if (lines == NULL) {
			return -ENOMEM;
		}
		if (pos->lines == NULL) {
			lines[0] = pos->line; /* The set had one record until now. */
		}
		pos->lines = lines;
	}
	pos->lines[count - 1] = line;
	pos->count = count;
	return 0;
}

int canon_positions_record(canon_zone_positions_t *positions, const canon_node_t *node,
                           const canon_rrset_t *rrset, const uint8_t *rdata, uint16_t rdlen,
                           uint16_t file, uint32_t line)
{
	canon_rrset_pos_t *pos = entry_find(positions, node->id, rrset->rr.type);
	if (pos == NULL) {
		pos = entry_add(positions, node->id, rrset->rr.type);
		if (pos == NULL) {
			return -ENOMEM;
		}
		pos->file = file;
		pos->line = line;
		pos->count = 1;
		return 0;
	}
	if (rrset->rr.rrs.count == pos->count) {
		return 0; /* A duplicate record: merged, its first line stays. */
	}
	(void)rdata;
	(void)rdlen;
	return record_line(pos, rrset->rr.rrs.count, line);
}

uint32_t canon_rrset_pos_last_line(const canon_rrset_pos_t *pos)
{
	uint32_t last = pos->line;
	for (uint16_t i = 0; pos->lines != NULL && i < pos->count; i++) {
		if (pos->lines[i] > last) {
			last = pos->lines[i];
		}
	}
	return last;
}

typedef struct {
	const knot_rdata_t *rd;
	uint32_t line;
} line_item_t;

static int line_item_cmp(const void *a, const void *b)
{
	return knot_rdata_cmp(((const line_item_t *)a)->rd, ((const line_item_t *)b)->rd);
}

/* Put the lines of one RRset in the order canon_zone_seal() will sort its records into. */
static int order_lines(canon_rrset_pos_t *pos, const knot_rdataset_t *rrs)
{
	const knot_rdata_t *rd = rrs->rdata;
	bool sorted = true;
	for (uint16_t i = 1; sorted && i < rrs->count; i++) {
		const knot_rdata_t *next = knot_rdataset_next((knot_rdata_t *)rd);
		sorted = knot_rdata_cmp(rd, next) < 0;
		rd = next;
	}
	if (sorted) {
		return 0;
	}
	line_item_t *items = malloc(rrs->count * sizeof(*items));
	if (items == NULL) {
		return -ENOMEM;
	}
	rd = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
		items[i] = (line_item_t){.rd = rd, .line = pos->lines[i]};
	}
	/* An RRset holds no two equal records, so the order is the seal's. */
	qsort(items, rrs->count, sizeof(*items), line_item_cmp);
	for (uint16_t i = 0; i < rrs->count; i++) {
		pos->lines[i] = items[i].line;
	}
	free(items);
	return 0;
}

int canon_positions_order(canon_zone_positions_t *positions, const canon_zone_t *zone)
{
	for (size_t i = 0; positions != NULL && i < zone->node_count; i++) {
		const canon_node_t *node = zone->nodes[i];
		for (uint16_t j = 0; j < node->rrset_count; j++) {
			const canon_rrset_t *rrset = &node->rrsets[j];
			canon_rrset_pos_t *pos = entry_find(positions, node->id, rrset->rr.type);
			if (pos == NULL || pos->lines == NULL ||
			    pos->count != rrset->rr.rrs.count) {
				continue;
			}
			if (order_lines(pos, &rrset->rr.rrs) != 0) {
				return -ENOMEM;
			}
		}
	}
	return 0;
}
