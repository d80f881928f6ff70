/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>
#include <libknot/wire.h>

#include "lib/changeset.h"
#include "lib/name.h"

void canon_changeset_init(canon_changeset_t *ch)
{
	memset(ch, 0, sizeof(*ch));
}

static void rrlist_clear(canon_rrlist_t *list)
{
	for (size_t i = 0; i < list->count; i++) {
		knot_rrset_clear(&list->items[i], NULL);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void canon_changeset_clear(canon_changeset_t *ch)
{
	rrlist_clear(&ch->removed);
	rrlist_clear(&ch->added);
	canon_changeset_init(ch);
}

static size_t non_soa_records(const canon_rrlist_t *list)
{
	size_t count = 0;
	for (size_t i = 0; i < list->count; i++) {
		if (list->items[i].type != KNOT_RRTYPE_SOA) {
			count += list->items[i].rrs.count;
		}
	}
	return count;
}

bool canon_changeset_empty(const canon_changeset_t *ch)
{
	return non_soa_records(&ch->removed) == 0 && non_soa_records(&ch->added) == 0;
}

static knot_rrset_t *rrlist_append(canon_rrlist_t *list, const knot_dname_t *owner, uint16_t type,
                                   uint32_t ttl)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		knot_rrset_t *items = realloc(list->items, cap * sizeof(*items));
		if (items == NULL) {
			return NULL;
		}
		list->items = items;
		list->cap = cap;
	}
	knot_dname_t *copy = knot_dname_copy(owner, NULL);
	if (copy == NULL) {
		return NULL;
	}
	knot_dname_to_lower(copy);
	knot_rrset_t *rr = &list->items[list->count++];
	knot_rrset_init(rr, copy, type, KNOT_CLASS_IN, ttl);
	return rr;
}

int canon_rrlist_add(canon_rrlist_t *list, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen)
{
	knot_rrset_t *rr = list->count ? &list->items[list->count - 1] : NULL;
	if (rr == NULL || rr->type != type || !knot_dname_is_case_equal(rr->owner, owner)) {
		rr = rrlist_append(list, owner, type, ttl);
		if (rr == NULL) {
			return -ENOMEM;
		}
	}
	uint16_t before = rr->rrs.count;
	if (knot_rrset_add_rdata(rr, rdata, rdlen, NULL) != 0) {
		return -ENOMEM;
	}
	list->records += rr->rrs.count - before;
	return 0;
}

int canon_rrlist_add_rrset(canon_rrlist_t *list, const knot_rrset_t *rr)
{
	knot_rdata_t *rd = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count; i++, rd = knot_rdataset_next(rd)) {
		int ret = canon_rrlist_add(list, rr->owner, rr->type, rr->ttl, rd->data, rd->len);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

/* Bytes the wire form of a list takes. */
static size_t rrlist_wire_size(const canon_rrlist_t *list)
{
	size_t size = 4;
	for (size_t i = 0; i < list->count; i++) {
		const knot_rrset_t *rr = &list->items[i];
		size_t owner = knot_dname_size(rr->owner);
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count; j++, rd = knot_rdataset_next(rd)) {
			size += owner + 10 + rd->len;
		}
	}
	return size;
}

static uint8_t *rrlist_write(const canon_rrlist_t *list, uint8_t *pos)
{
	knot_wire_write_u32(pos, (uint32_t)list->records);
	pos += 4;
	for (size_t i = 0; i < list->count; i++) {
		const knot_rrset_t *rr = &list->items[i];
		size_t owner = knot_dname_size(rr->owner);
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count; j++, rd = knot_rdataset_next(rd)) {
			memcpy(pos, rr->owner, owner);
			pos += owner;
			knot_wire_write_u16(pos, rr->type);
			knot_wire_write_u16(pos + 2, KNOT_CLASS_IN);
			knot_wire_write_u32(pos + 4, rr->ttl);
			knot_wire_write_u16(pos + 8, rd->len);
			memcpy(pos + 10, rd->data, rd->len);
			pos += 10 + rd->len;
		}
	}
	return pos;
}

int canon_changeset_to_blob(const canon_changeset_t *ch, uint8_t **blob, size_t *len)
{
	size_t size = rrlist_wire_size(&ch->removed) + rrlist_wire_size(&ch->added);
	uint8_t *buf = malloc(size);
	if (buf == NULL) {
		return -ENOMEM;
	}
	uint8_t *end = rrlist_write(&ch->added, rrlist_write(&ch->removed, buf));
	*blob = buf;
	*len = (size_t)(end - buf);
	return 0;
}

/* Read one list; returns the position after it, or NULL (*err set). */
static const uint8_t *rrlist_read(const uint8_t *pos, const uint8_t *end, canon_rrlist_t *list,
                                  int *err)
{
	*err = -EINVAL;
	if (end - pos < 4) {
		return NULL;
	}
	uint32_t count = knot_wire_read_u32(pos);
	pos += 4;
	for (uint32_t i = 0; i < count; i++) {
		int owner = knot_dname_wire_check(pos, end, NULL);
		if (owner <= 0 || end - pos < owner + 10) {
			return NULL;
		}
		const uint8_t *fixed = pos + owner;
		uint16_t rdlen = knot_wire_read_u16(fixed + 8);
		if (end - fixed - 10 < rdlen) {
			return NULL;
		}
		int ret = canon_rrlist_add(list, pos, knot_wire_read_u16(fixed),
		                           knot_wire_read_u32(fixed + 4), fixed + 10, rdlen);
		if (ret != 0) {
			*err = ret;
			return NULL;
		}
		pos = fixed + 10 + rdlen;
	}
	*err = 0;
	return pos;
}

int canon_changeset_from_blob(const uint8_t *blob, size_t len, canon_changeset_t *ch)
{
	int err = 0;
	const uint8_t *end = blob + len;
	const uint8_t *pos = rrlist_read(blob, end, &ch->removed, &err);
	if (pos != NULL) {
		pos = rrlist_read(pos, end, &ch->added, &err);
	}
	if (pos != NULL && pos != end) {
		err = -EINVAL; /* Trailing bytes: not a blob we wrote. */
	}
	return err;
}

uint32_t canon_zone_serial(const canon_zone_t *zone)
{
	return knot_soa_serial(zone->soa->rr.rrs.rdata);
}

bool canon_serial_newer(uint32_t a, uint32_t b)
{
	/* RFC 1982 §3.2: a > b when (a - b) mod 2^32 lies in 1 .. 2^31 - 1. */
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

int canon_rrlist_add_missing(canon_rrlist_t *list, const knot_rrset_t *rrset,
                             const knot_rrset_t *other)
{
	bool all = other == NULL || other->ttl != rrset->ttl;
	knot_rdata_t *rd = rrset->rrs.rdata;
	for (uint16_t i = 0; i < rrset->rrs.count; i++, rd = knot_rdataset_next(rd)) {
		if (all || !knot_rdataset_member(&other->rrs, rd)) {
			int ret = canon_rrlist_add(list, rrset->owner, rrset->type, rrset->ttl,
			                           rd->data, rd->len);
			if (ret != 0) {
				return ret;
			}
		}
	}
	return 0;
}

/* Records of 'from' that 'to' lacks go to 'list' (SOA excepted: the caller puts it first). */
static int diff_one_way(const canon_zone_t *from, const canon_zone_t *to, canon_rrlist_t *list)
{
	for (size_t i = 0; i < from->node_count; i++) {
		const canon_node_t *node = from->nodes[i];
		const canon_node_t *peer =
		        canon_zone_get(to, node->owner, node->owner_size, node->hash);
		for (uint16_t j = 0; j < node->rrset_count; j++) {
			const knot_rrset_t *rr = &node->rrsets[j].rr;
			if (rr->type == KNOT_RRTYPE_SOA) {
				continue;
			}
			const canon_rrset_t *other = peer ? canon_node_rrset(peer, rr->type) : NULL;
			int ret = canon_rrlist_add_missing(list, rr, other ? &other->rr : NULL);
			if (ret != 0) {
				return ret;
			}
		}
	}
	return 0;
}

int canon_changeset_diff(const canon_zone_t *from, const canon_zone_t *to, canon_changeset_t *ch)
{
	ch->serial_from = canon_zone_serial(from);
	ch->serial_to = canon_zone_serial(to);
	int ret = canon_rrlist_add_rrset(&ch->removed, &from->soa->rr);
	if (ret == 0) {
		ret = canon_rrlist_add_rrset(&ch->added, &to->soa->rr);
	}
	if (ret == 0) {
		ret = diff_one_way(from, to, &ch->removed);
	}
	if (ret == 0) {
		ret = diff_one_way(to, from, &ch->added);
	}
	return ret;
}

int canon_changeset_from_zone(const canon_zone_t *zone, canon_changeset_t *ch)
{
	ch->serial_from = ch->serial_to = canon_zone_serial(zone);
	int ret = canon_rrlist_add_rrset(&ch->added, &zone->soa->rr);
	for (size_t i = 0; ret == 0 && i < zone->node_count; i++) {
		const canon_node_t *node = zone->nodes[i];
		for (uint16_t j = 0; ret == 0 && j < node->rrset_count; j++) {
			if (node->rrsets[j].rr.type != KNOT_RRTYPE_SOA) {
				ret = canon_rrlist_add_rrset(&ch->added, &node->rrsets[j].rr);
			}
		}
	}
	return ret;
}

/*
 * The removed RRsets by owner and type: an open-addressing table of indices
 * into ch->removed, so that copying a large zone costs one probe per RRset.
 */
typedef struct {
	const canon_rrlist_t *list;
	size_t *slots; /* index + 1; 0 is empty */
	size_t mask;
} removed_index_t;

static size_t rr_key(const knot_dname_t *lower, uint16_t type)
{
	return (size_t)canon_name_hash(lower) * 31u + type;
}

static int removed_index_build(removed_index_t *idx, const canon_rrlist_t *list)
{
	size_t size = 16;
	while (size < list->count * 2) {
		size *= 2;
	}
	idx->list = list;
	idx->mask = size - 1;
	idx->slots = calloc(size, sizeof(*idx->slots));
	if (idx->slots == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < list->count; i++) {
		size_t s = rr_key(list->items[i].owner, list->items[i].type) & idx->mask;
		while (idx->slots[s] != 0) {
			s = (s + 1) & idx->mask;
		}
		idx->slots[s] = i + 1;
	}
	return 0;
}

/* Whether the changeset removes this record ('owner' lower-case). */
static bool removed_has(const removed_index_t *idx, const knot_dname_t *owner, uint16_t type,
                        const knot_rdata_t *rd)
{
	for (size_t s = rr_key(owner, type) & idx->mask; idx->slots[s] != 0;
	     s = (s + 1) & idx->mask) {
		const knot_rrset_t *rr = &idx->list->items[idx->slots[s] - 1];
		if (rr->type == type && knot_dname_is_equal(rr->owner, owner) &&
		    knot_rdataset_member(&rr->rrs, rd)) {
			return true;
		}
	}
	return false;
}

static int copy_kept(const canon_zone_t *base, const removed_index_t *removed, canon_zone_t *zone)
{
	bool mismatch;
	for (size_t i = 0; i < base->node_count; i++) {
		const canon_node_t *node = base->nodes[i];
		for (uint16_t j = 0; j < node->rrset_count; j++) {
			const canon_rrset_t *rrset = &node->rrsets[j];
			knot_rdata_t *rd = rrset->rr.rrs.rdata;
			for (uint16_t k = 0; k < rrset->rr.rrs.count;
			     k++, rd = knot_rdataset_next(rd)) {
				if (removed_has(removed, node->owner, rrset->rr.type, rd)) {
					continue;
				}
				int ret =
				        canon_zone_add(zone, node->owner, rrset->rr.type,
				                       rrset->rr.ttl, rd->data, rd->len, &mismatch);
				if (ret != 0) {
					return ret;
				}
			}
		}
	}
	return 0;
}

static int add_list(canon_zone_t *zone, const canon_rrlist_t *list)
{
	bool mismatch;
	for (size_t i = 0; i < list->count; i++) {
		const knot_rrset_t *rr = &list->items[i];
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t k = 0; k < rr->rrs.count; k++, rd = knot_rdataset_next(rd)) {
			int ret = canon_zone_add(zone, rr->owner, rr->type, rr->ttl, rd->data,
			                         rd->len, &mismatch);
			if (ret != 0 && ret != -EDOM) {
				return ret;
			}
		}
	}
	return 0;
}

int canon_changeset_apply(const canon_zone_t *base, const canon_changeset_t *ch,
                          canon_zone_t **result)
{
	canon_flatten_t flatten = base != NULL ? base->flatten : CANON_FLATTEN_NONE;
	return canon_changeset_apply_flatten(base, ch, flatten, result);
}

int canon_changeset_apply_flatten(const canon_zone_t *base, const canon_changeset_t *ch,
                                  canon_flatten_t flatten, canon_zone_t **result)
{
	const knot_dname_t *apex = base ? base->apex_name : NULL;
	for (size_t i = 0; apex == NULL && i < ch->added.count; i++) {
		if (ch->added.items[i].type == KNOT_RRTYPE_SOA) {
			apex = ch->added.items[i].owner;
		}
	}
	if (apex == NULL) {
		return -ENOENT;
	}
	removed_index_t removed;
	if (removed_index_build(&removed, &ch->removed) != 0) {
		return -ENOMEM;
	}
	/* Without a base, the zone is what the changeset adds (a snapshot); its SOA names the apex. */
	canon_zone_t *zone = canon_zone_new(apex);
	int ret = zone ? 0 : -ENOMEM;
	if (ret == 0 && base != NULL) {
		ret = copy_kept(base, &removed, zone);
	}
	if (ret == 0) {
		ret = add_list(zone, &ch->added);
	}
	if (ret == 0) {
		zone->flatten = flatten;
		ret = canon_zone_seal(zone);
	}
	free(removed.slots);
	if (ret != 0) {
		canon_zone_free(zone);
		return ret;
	}
	*result = zone;
	return 0;
}
