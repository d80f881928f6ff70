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
		return -ENOMEM;
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

/* Note the line of a record just added to a set, at its place in rdata order. */
static int record_line(canon_rrset_pos_t *pos, const canon_rrset_t *rrset, const uint8_t *rdata,
                       uint16_t rdlen, uint32_t line)
{
	uint16_t count = rrset->rr.rrs.count;
	uint32_t *lines = realloc(pos->lines, count * sizeof(*lines));
	if (lines == NULL) {
		return -ENOMEM;
	}
	if (pos->lines == NULL) {
		lines[0] = pos->line; /* The set had one record until now. */
	}
	pos->lines = lines;
	uint16_t at = 0;
	knot_rdata_t *rd = rrset->rr.rrs.rdata;
	for (; at < count; at++, rd = knot_rdataset_next(rd)) {
		if (rd->len == rdlen && memcmp(rd->data, rdata, rdlen) == 0) {
			break;
		}
	}
	memmove(lines + at + 1, lines + at, (size_t)(count - 1 - at) * sizeof(*lines));
	lines[at] = line;
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
	return record_line(pos, rrset, rdata, rdlen, line);
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
