/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libknot/descriptor.h>

#include "lib/alias.h"
#include "lib/name.h"
#include "lib/zone.h"
#include "lib/zone_find.h"

static knot_dname_t *dname_lower_copy(const knot_dname_t *name)
{
	knot_dname_t *copy = knot_dname_copy(name, NULL);
	if (copy != NULL) {
		knot_dname_to_lower(copy);
	}
	return copy;
}

canon_zone_t *canon_zone_new(const knot_dname_t *apex)
{
	canon_zone_t *zone = calloc(1, sizeof(*zone));
	if (zone == NULL) {
		return NULL;
	}
	zone->apex_name = dname_lower_copy(apex);
	zone->slot_mask = 63;
	zone->slots = calloc(zone->slot_mask + 1, sizeof(*zone->slots));
	if (zone->apex_name == NULL || zone->slots == NULL) {
		canon_zone_free(zone);
		return NULL;
	}
	return zone;
}

const canon_node_t *canon_zone_get(const canon_zone_t *zone, const knot_dname_t *lower,
                                   uint16_t size, uint32_t hash)
{
	return canon_zone_get_inline(zone, lower, size, hash);
}

const canon_node_t *canon_zone_get_name(const canon_zone_t *zone, const knot_dname_t *lower)
{
	return canon_zone_get(zone, lower, (uint16_t)knot_dname_size(lower),
	                      canon_name_hash(lower));
}

static void slots_insert(canon_slot_t *slots, uint32_t mask, canon_node_t *node)
{
	uint32_t i = node->hash & mask;
	while (slots[i].node != 0) {
		i = (i + 1) & mask;
	}
	slots[i].hash = node->hash;
	slots[i].node = node->id + 1;
}

/* Keep the table at most half full so probes stay short. */
static int slots_reserve(canon_zone_t *zone, size_t count)
{
	if (count * 2 <= (size_t)zone->slot_mask + 1) {
		return 0;
	}
	uint32_t mask = zone->slot_mask * 2 + 1;
	canon_slot_t *slots = calloc((size_t)mask + 1, sizeof(*slots));
	if (slots == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		slots_insert(slots, mask, zone->nodes[i]);
	}
	free(zone->slots);
	zone->slots = slots;
	zone->slot_mask = mask;
	return 0;
}

/* Store offsets: nodes and RRsets hold pointers, so each starts 8-aligned. */
static size_t store_align(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

/*
 * Nodes live as long as their zone, so they are cut from slabs instead of
 * allocated one by one: no malloc header and rounding per node (8 to 16
 * octets of each), and nodes made one after the other lie side by side.
 */
struct canon_zone_slab {
	struct canon_zone_slab *next;
	size_t used, size;
	uint64_t data[]; /* Aligned for the nodes' pointers. */
};

/*
 * Each slab twice the last, from a page (a small zone takes little) up to
 * SLAB_MAX: below glibc's mmap threshold, so that the store's slabs reuse the
 * heap the seal frees as it fills them (zone_compact).
 */
#define SLAB_FIRST 4096
#define SLAB_MAX   (64u << 10)

/* 'size' octets (a multiple of 8) cut from the slabs of 'list', or NULL. */
static void *slab_alloc(struct canon_zone_slab **list, size_t size)
{
	struct canon_zone_slab *slab = *list;
	if (slab == NULL || slab->size - slab->used < size) {
		size_t room = slab == NULL ? SLAB_FIRST : slab->size * 2;
		room = room > SLAB_MAX ? SLAB_MAX : room;
		room = room < size ? size : room;
		slab = malloc(sizeof(*slab) + room);
		if (slab == NULL) {
			return NULL;
		}
		slab->next = *list;
		slab->used = 0;
		slab->size = room;
		*list = slab;
	}
	uint8_t *at = (uint8_t *)slab->data + slab->used;
	slab->used += size;
	return at;
}

static void slabs_free(struct canon_zone_slab *list)
{
	while (list != NULL) {
		struct canon_zone_slab *next = list->next;
		free(list);
		list = next;
	}
}

/* 'size' zeroed octets for a node, 8-aligned, freed with the zone. */
static void *node_alloc(canon_zone_t *zone, size_t size)
{
	size = store_align(size);
	void *node = slab_alloc(&zone->slabs, size);
	return node != NULL ? memset(node, 0, size) : NULL;
}

/* The node for a lower-case name, created (empty) when missing. */
static canon_node_t *node_get_or_add(canon_zone_t *zone, const knot_dname_t *lower)
{
	uint32_t hash = canon_name_hash(lower);
	uint16_t size = (uint16_t)knot_dname_size(lower);
	canon_node_t *node = (canon_node_t *)canon_zone_get(zone, lower, size, hash);
	if (node != NULL) {
		return node;
	}
	if (slots_reserve(zone, zone->node_count + 1) != 0) {
		return NULL;
	}
	if (zone->node_count == zone->node_cap) {
		size_t cap = zone->node_cap ? zone->node_cap * 2 : 64;
		canon_node_t **nodes = realloc(zone->nodes, cap * sizeof(*nodes));
		if (nodes == NULL) {
			return NULL;
		}
		zone->nodes = nodes;
		zone->node_cap = cap;
	}
	/* The owner right after the node: one cache line fewer to miss. */
	node = node_alloc(zone, sizeof(*node) + size);
	if (node == NULL) {
		return NULL;
	}
	node->owner = (knot_dname_t *)(node + 1);
	memcpy(node->owner, lower, size);
	node->hash = hash;
	node->owner_size = size;
	node->id = (uint32_t)zone->node_count;
	zone->nodes[zone->node_count++] = node;
	slots_insert(zone->slots, zone->slot_mask, node);
	return node;
}

const canon_rrset_t *canon_node_rrset(const canon_node_t *node, uint16_t type)
{
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		if (node->rrsets[i].rr.type == type) {
			return &node->rrsets[i];
		}
	}
	return NULL;
}

static canon_rrset_t *node_add_rrset(canon_node_t *node, uint16_t type, uint32_t ttl)
{
	if (node->rrset_count == node->rrset_cap) {
		if (node->rrset_cap == UINT16_MAX) {
			return NULL;
		}
		uint16_t cap = node->rrset_cap ? node->rrset_cap * 2 : 1;
		canon_rrset_t *rrsets = realloc(node->rrsets, cap * sizeof(*rrsets));
		if (rrsets == NULL) {
			return NULL;
		}
		node->rrsets = rrsets;
		node->rrset_cap = cap;
	}
	canon_rrset_t *rrset = &node->rrsets[node->rrset_count++];
	memset(rrset, 0, sizeof(*rrset));
	knot_rrset_init(&rrset->rr, node->owner, type, KNOT_CLASS_IN, ttl);
	return rrset;
}

/*
 * While a zone is built, an RRset of INDEX_FROM records or more finds its
 * duplicates through a hash index of the zone's big RRsets, and records are
 * appended in file order; canon_zone_seal() sorts each RRset once. So an RRset
 * of n records costs O(n log n) to build, where libknot's sorted insert
 * (knot_rrset_add_rdata) costs O(n^2).
 */
#define INDEX_FROM 16

typedef struct {
	canon_node_t *node; /* NULL: an empty slot. */
	uint32_t offset;    /* Of the record's rdata in its RRset's buffer. */
	uint32_t hash;
	uint16_t type;
} record_slot_t;

struct canon_zone_build {
	record_slot_t *slots;
	uint32_t mask; /* Slots less one; 0 before the first big RRset. */
	size_t count;
	uint64_t seed; /* Random: a zone file cannot aim records at one slot. */
};

/* Allocated size of a buffer holding 'used' bytes while the zone is built: it doubles. */
static size_t build_room(size_t used)
{
	size_t room = 8;
	while (room < used) {
		room *= 2;
	}
	return room;
}

static uint32_t record_hash(uint64_t seed, const canon_node_t *node, uint16_t type,
                            const uint8_t *data, uint16_t len)
{
	uint64_t h = seed ^ (uint64_t)(uintptr_t)node ^ ((uint64_t)type << 48) ^ len;
	for (uint16_t i = 0; i < len; i++) {
		h = (h ^ data[i]) * 0x100000001b3ULL; /* FNV-1a step */
	}
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (uint32_t)h;
}

static struct canon_zone_build *zone_build(canon_zone_t *zone)
{
	if (zone->build == NULL) {
		zone->build = calloc(1, sizeof(*zone->build));
		if (zone->build != NULL && getrandom(&zone->build->seed, sizeof(uint64_t), 0) < 0) {
			zone->build->seed = (uint64_t)(uintptr_t)zone->build ^ (uint64_t)time(NULL);
		}
	}
	return zone->build;
}

static void index_insert(record_slot_t *slots, uint32_t mask, const record_slot_t *entry)
{
	uint32_t i = entry->hash & mask;
	while (slots[i].node != NULL) {
		i = (i + 1) & mask;
	}
	slots[i] = *entry;
}

/* Room for one more entry, the table at most half full. */
static int index_reserve(struct canon_zone_build *b)
{
	if (b->mask != 0 && (b->count + 1) * 2 <= (size_t)b->mask + 1) {
		return 0;
	}
	uint32_t mask = b->mask ? b->mask * 2 + 1 : 1023;
	if (mask < b->mask) {
		return -ENOMEM;
	}
	record_slot_t *slots = calloc((size_t)mask + 1, sizeof(*slots));
	if (slots == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; b->mask != 0 && i <= b->mask; i++) {
		if (b->slots[i].node != NULL) {
			index_insert(slots, mask, &b->slots[i]);
		}
	}
	free(b->slots);
	b->slots = slots;
	b->mask = mask;
	return 0;
}

static int index_add(struct canon_zone_build *b, canon_node_t *node, uint16_t type,
                     const knot_rdataset_t *rrs, const knot_rdata_t *rd)
{
	if (index_reserve(b) != 0) {
		return -ENOMEM;
	}
	record_slot_t entry = {
	        .node = node,
	        .offset = (uint32_t)((const uint8_t *)rd - (const uint8_t *)rrs->rdata),
	        .hash = record_hash(b->seed, node, type, rd->data, rd->len),
	        .type = type,
	};
	index_insert(b->slots, b->mask, &entry);
	b->count++;
	return 0;
}

/* Whether the RRset already holds this rdata. */
static bool rrset_has(const canon_zone_t *zone, const canon_node_t *node,
                      const canon_rrset_t *rrset, const uint8_t *rdata, uint16_t rdlen)
{
	const knot_rdataset_t *rrs = &rrset->rr.rrs;
	if (rrs->count < INDEX_FROM) {
		const knot_rdata_t *rd = rrs->rdata;
		for (uint16_t i = 0; i < rrs->count;
		     i++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
			if (rd->len == rdlen && memcmp(rd->data, rdata, rdlen) == 0) {
				return true;
			}
		}
		return false;
	}
	const struct canon_zone_build *b = zone->build;
	uint32_t hash = record_hash(b->seed, node, rrset->rr.type, rdata, rdlen);
	for (uint32_t i = hash & b->mask; b->slots[i].node != NULL; i = (i + 1) & b->mask) {
		const record_slot_t *slot = &b->slots[i];
		if (slot->hash != hash || slot->node != node || slot->type != rrset->rr.type) {
			continue;
		}
		const knot_rdata_t *rd =
		        (const knot_rdata_t *)((const uint8_t *)rrs->rdata + slot->offset);
		if (rd->len == rdlen && memcmp(rd->data, rdata, rdlen) == 0) {
			return true;
		}
	}
	return false;
}

/* Index the RRset's records once it is big enough to need it (see INDEX_FROM). */
static int rrset_index(canon_zone_t *zone, canon_node_t *node, canon_rrset_t *rrset,
                       knot_rdata_t *added)
{
	const knot_rdataset_t *rrs = &rrset->rr.rrs;
	if (rrs->count < INDEX_FROM) {
		return 0;
	}
	struct canon_zone_build *b = zone_build(zone);
	if (b == NULL) {
		return -ENOMEM;
	}
	if (rrs->count > INDEX_FROM) {
		return index_add(b, node, rrset->rr.type, rrs, added);
	}
	knot_rdata_t *rd = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rd = knot_rdataset_next(rd)) {
		if (index_add(b, node, rrset->rr.type, rrs, rd) != 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* Append a record to the RRset (canon_zone_seal sorts); the new rdata in *added. */
static int rdata_append(knot_rdataset_t *rrs, const uint8_t *rdata, uint16_t rdlen,
                        knot_rdata_t **added)
{
	size_t size = knot_rdata_size(rdlen);
	/* RFC 1035 §4.1.1: a message counts records in 16 bits, so no RRset can hold more. */
	if (rrs->count == UINT16_MAX || rrs->size + size > UINT32_MAX) {
		return -E2BIG;
	}
	size_t need = rrs->size + size;
	/*
	 * Most RRsets hold one record: the first gets exactly its size (no
	 * doubling slack: 0.6 MiB of a 100,000-name zone, bench/run --memory);
	 * from the second on the room doubles, so it is build_room(size) then.
	 */
	if (rrs->count == 0) {
		knot_rdata_t *first = realloc(rrs->rdata, need);
		if (first == NULL) {
			return -ENOMEM;
		}
		rrs->rdata = first;
	} else if (rrs->count == 1 || need > build_room(rrs->size)) {
		knot_rdata_t *grown = realloc(rrs->rdata, build_room(need));
		if (grown == NULL) {
			return -ENOMEM;
		}
		rrs->rdata = grown;
	}
	*added = (knot_rdata_t *)((uint8_t *)rrs->rdata + rrs->size);
	knot_rdata_init(*added, rdlen, rdata);
	rrs->count++;
	rrs->size = (uint32_t)need;
	return 0;
}

int canon_zone_add(canon_zone_t *zone, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, uint16_t rdlen, bool *ttl_mismatch)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, owner);
	/* knot_dname_in_bailiwick: >= 0 at or below the apex, < 0 outside. */
	if (knot_dname_in_bailiwick(lower, zone->apex_name) < 0) {
		return -EDOM;
	}
	canon_node_t *node = node_get_or_add(zone, lower);
	if (node == NULL) {
		return -ENOMEM;
	}
	canon_rrset_t *rrset = (canon_rrset_t *)canon_node_rrset(node, type);
	*ttl_mismatch = false;
	if (rrset == NULL) {
		rrset = node_add_rrset(node, type, ttl);
		if (rrset == NULL) {
			return -ENOMEM;
		}
	} else if (rrset->rr.ttl != ttl && type != KNOT_RRTYPE_RRSIG) {
		/* RRSIGs take the TTL of the RRset each covers (RFC 4034 §3): they may differ. */
		*ttl_mismatch = true;
	}
	if (rrset_has(zone, node, rrset, rdata, rdlen)) {
		return 0; /* A duplicate record: merged. */
	}
	knot_rdata_t *added = NULL;
	int ret = rdata_append(&rrset->rr.rrs, rdata, rdlen, &added);
	if (ret == 0) {
		ret = rrset_index(zone, node, rrset, added);
	}
	if (ret == 0) {
		zone->record_count++;
	}
	return ret;
}

static int rdata_ptr_cmp(const void *a, const void *b)
{
	return knot_rdata_cmp(*(const knot_rdata_t *const *)a, *(const knot_rdata_t *const *)b);
}

static bool rrset_sorted(const knot_rdataset_t *rrs)
{
	const knot_rdata_t *rd = rrs->rdata;
	for (uint16_t i = 1; i < rrs->count; i++) {
		const knot_rdata_t *next = knot_rdataset_next((knot_rdata_t *)rd);
		if (knot_rdata_cmp(rd, next) > 0) {
			return false;
		}
		rd = next;
	}
	return true;
}

/* Put the RRset's records in the order libknot keeps them (knot_rdata_cmp). */
static int rrset_sort(canon_rrset_t *rrset)
{
	knot_rdataset_t *rrs = &rrset->rr.rrs;
	if (rrs->count < 2 || rrset_sorted(rrs)) {
		return 0;
	}
	const knot_rdata_t **items = malloc(rrs->count * sizeof(*items));
	uint8_t *data = malloc(rrs->size);
	if (items == NULL || data == NULL) {
		free(items);
		free(data);
		return -ENOMEM;
	}
	knot_rdata_t *rd = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rd = knot_rdataset_next(rd)) {
		items[i] = rd;
	}
	qsort(items, rrs->count, sizeof(*items), rdata_ptr_cmp);
	size_t used = 0;
	for (uint16_t i = 0; i < rrs->count; i++) {
		size_t size = knot_rdata_size(items[i]->len);
		memcpy(data + used, items[i], size);
		used += size;
	}
	free(items);
	free(rrs->rdata);
	rrs->rdata = (knot_rdata_t *)data;
	return 0;
}

/* End of building: sort every RRset, drop the duplicate index. */
static int finish_rrsets(canon_zone_t *zone)
{
	for (size_t i = 0; i < zone->node_count; i++) {
		canon_node_t *node = zone->nodes[i];
		for (uint16_t j = 0; j < node->rrset_count; j++) {
			if (rrset_sort(&node->rrsets[j]) != 0) {
				return -ENOMEM;
			}
		}
	}
	if (zone->build != NULL) {
		free(zone->build->slots);
		free(zone->build);
		zone->build = NULL;
	}
	return 0;
}

/* Create the empty non-terminals between every node and the apex, link parents. */
static int link_parents(canon_zone_t *zone)
{
	/* The loop also visits nodes it creates, which link their own parents. */
	for (size_t i = 0; i < zone->node_count; i++) {
		canon_node_t *node = zone->nodes[i];
		if (knot_dname_is_equal(node->owner, zone->apex_name)) {
			zone->apex = node;
			continue;
		}
		canon_node_t *parent = node_get_or_add(zone, canon_name_parent(node->owner));
		if (parent == NULL) {
			return -ENOMEM;
		}
		/* node_get_or_add may have moved the array: reload the child. */
		node = zone->nodes[i];
		node->parent = parent;
		if (node->owner[0] == 1 && node->owner[1] == '*') {
			parent->wildcard = node;
		}
	}
	return 0;
}

static void set_own_flags(canon_zone_t *zone, canon_node_t *node)
{
	if (node != zone->apex && canon_node_rrset(node, KNOT_RRTYPE_NS) != NULL) {
		node->flags |= CANON_NODE_DELEG;
	}
	if (canon_node_rrset(node, KNOT_RRTYPE_DNAME) != NULL) {
		node->flags |= CANON_NODE_DNAME;
	}
	bool alias = canon_node_rrset(node, CANON_RRTYPE_ALIAS) != NULL;
	if (alias) {
		node->flags |= CANON_NODE_ALIAS;
	}
	if (canon_node_rrset(node, KNOT_RRTYPE_CNAME) == NULL) {
		return;
	}
	/* Beside an ALIAS the CNAME stays a CNAME, for the checker to report the pair. */
	if (canon_zone_flattens(zone, node->owner) && !alias) {
		node->flags |= CANON_NODE_ALIAS | CANON_NODE_FLATTENED;
	} else {
		node->flags |= CANON_NODE_CNAME;
	}
}

bool canon_zone_flattens(const canon_zone_t *zone, const knot_dname_t *lower)
{
	return zone->flatten == CANON_FLATTEN_ALL ||
	       (zone->flatten == CANON_FLATTEN_APEX && knot_dname_is_equal(lower, zone->apex_name));
}

const canon_rrset_t *canon_node_alias(const canon_node_t *node)
{
	if (!(node->flags & CANON_NODE_ALIAS)) {
		return NULL;
	}
	uint16_t type =
	        (node->flags & CANON_NODE_FLATTENED) ? KNOT_RRTYPE_CNAME : CANON_RRTYPE_ALIAS;
	return canon_node_rrset(node, type);
}

/* Flags inherited from ancestors: what lies below a cut or a DNAME. */
static void set_inherited_flags(canon_node_t *node)
{
	for (const canon_node_t *up = node->parent; up != NULL; up = up->parent) {
		if (up->flags & (CANON_NODE_DELEG | CANON_NODE_BELOW_CUT)) {
			node->flags |= CANON_NODE_BELOW_CUT;
		}
		if (up->flags & (CANON_NODE_DNAME | CANON_NODE_BELOW_DNAME)) {
			node->flags |= CANON_NODE_BELOW_DNAME;
		}
	}
}

static void set_negative_soa(canon_zone_t *zone)
{
	const knot_rrset_t *soa = &zone->soa->rr;
	zone->negative_soa = *soa;
	zone->negative_soa.ttl = canon_negative_ttl(soa); /* RFC 2308 §3 (lib/alias.h) */
}

/* A node and its owner in libknot's lookup format (knot_dname_lf): labels from the root. */
typedef struct {
	const uint8_t *key; /* key[0]: length of the rest. */
	uint32_t index;     /* In zone->nodes. */
} sort_item_t;

/*
 * RFC 4034 §6.1 on lower-case owners: the lookup formats compared as octets,
 * the shorter first when one is a prefix of the other (as knot_dname_cmp does,
 * without converting both names at every comparison).
 */
static int sort_item_cmp(const void *a, const void *b)
{
	const uint8_t *ka = ((const sort_item_t *)a)->key, *kb = ((const sort_item_t *)b)->key;
	int ret = memcmp(ka + 1, kb + 1, ka[0] < kb[0] ? ka[0] : kb[0]);
	return ret != 0 ? ret : (int)ka[0] - (int)kb[0];
}

/*
 * zone->canonical: the nodes in canonical order. zone->nodes keeps the order
 * they were allocated in, so that the passes over every node (the seal, the
 * checker, the free) read memory in order.
 */
static int sort_canonical(canon_zone_t *zone)
{
	size_t key_size = 0;
	for (size_t i = 0; i < zone->node_count; i++) {
		key_size += zone->nodes[i]->owner_size; /* The lookup format is as long. */
	}
	size_t count = zone->node_count;
	sort_item_t *items = malloc(count * sizeof(*items));
	uint8_t *keys = malloc(key_size ? key_size : 1);
	zone->canonical = malloc(count * sizeof(*zone->canonical));
	if (items == NULL || keys == NULL || zone->canonical == NULL) {
		free(items);
		free(keys);
		return -ENOMEM;
	}
	uint8_t *next = keys;
	bool sorted = true; /* Zone files are often written in canonical order already. */
	for (size_t i = 0; i < count; i++) {
		knot_dname_storage_t storage;
		const uint8_t *lf = knot_dname_lf(zone->nodes[i]->owner, storage);
		memcpy(next, lf, lf[0] + 1);
		items[i] = (sort_item_t){.key = next, .index = (uint32_t)i};
		sorted = sorted && (i == 0 || sort_item_cmp(&items[i - 1], &items[i]) < 0);
		next += lf[0] + 1;
	}
	if (!sorted) {
		qsort(items, count, sizeof(*items), sort_item_cmp);
	}
	for (size_t i = 0; i < count; i++) {
		zone->canonical[i] = items[i].index;
	}
	free(items);
	free(keys);
	return 0;
}

int canon_zone_walk(const canon_zone_t *zone, canon_zone_walk_fn fn, void *ctx)
{
	for (size_t i = 0; i < zone->node_count; i++) {
		int ret = fn(zone->nodes[zone->canonical[i]], ctx);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

/* RRSIG RDATA starts with the Type Covered (RFC 4034 §3.1). */
static uint16_t sig_covered(const knot_rdata_t *rdata)
{
	return rdata->len >= 2 ? (uint16_t)(rdata->data[0] << 8 | rdata->data[1]) : 0;
}

/*
 * The RRSIGs of 'rrset' out of the node's RRSIG RRset 'rrsig'. libknot keeps
 * an rdataset sorted by RDATA, so the signatures of one covered type are
 * contiguous: the view points at the first and counts them.
 */
static int make_sig_view(canon_rrset_t *rrset, const knot_rrset_t *rrsig)
{
	uint16_t type = rrset->rr.type;
	knot_rdata_t *rdata = rrsig->rrs.rdata, *first = NULL;
	uint16_t count = 0;
	uint32_t size = 0;
	for (uint16_t i = 0; i < rrsig->rrs.count; i++, rdata = knot_rdataset_next(rdata)) {
		if (sig_covered(rdata) == type) {
			first = first ? first : rdata;
			count++;
			size += knot_rdata_size(rdata->len);
		} else if (first != NULL) {
			break;
		}
	}
	if (count == 0) {
		return 0;
	}
	rrset->sigs = malloc(sizeof(*rrset->sigs));
	if (rrset->sigs == NULL) {
		return -ENOMEM;
	}
	knot_rrset_init(rrset->sigs, rrsig->owner, KNOT_RRTYPE_RRSIG, KNOT_CLASS_IN, rrset->rr.ttl);
	rrset->sigs->rrs.count = count;
	rrset->sigs->rrs.size = size;
	rrset->sigs->rrs.rdata = first;
	return 0;
}

static int set_sigs(canon_node_t *node)
{
	const canon_rrset_t *rrsig = canon_node_rrset(node, KNOT_RRTYPE_RRSIG);
	for (uint16_t i = 0; rrsig != NULL && i < node->rrset_count; i++) {
		canon_rrset_t *rrset = &node->rrsets[i];
		if (rrset->rr.type != KNOT_RRTYPE_RRSIG && make_sig_view(rrset, &rrsig->rr) != 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* The NSEC or NSEC3 index (canon_zone_t.denial_nodes) of a signed zone. */
static int set_denial(canon_zone_t *zone)
{
	const canon_rrset_t *param = canon_node_rrset(zone->apex, KNOT_RRTYPE_NSEC3PARAM);
	uint16_t type = KNOT_RRTYPE_NSEC;
	if (param != NULL && param->rr.rrs.count > 0 && param->rr.rrs.rdata->len >= 5) {
		zone->denial = CANON_DENIAL_NSEC3;
		zone->nsec3param = param->rr.rrs.rdata->data;
		type = KNOT_RRTYPE_NSEC3;
	} else if (canon_node_rrset(zone->apex, KNOT_RRTYPE_NSEC) != NULL) {
		zone->denial = CANON_DENIAL_NSEC;
	} else {
		return 0;
	}
	zone->denial_nodes = malloc(zone->node_count * sizeof(*zone->denial_nodes));
	if (zone->denial_nodes == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		canon_node_t *node = zone->nodes[zone->canonical[i]];
		if (canon_node_rrset(node, type) == NULL) {
			continue;
		}
		zone->denial_nodes[zone->denial_count++] = node;
		if (type == KNOT_RRTYPE_NSEC3 &&
		    node->rrset_count == 1 + (canon_node_rrset(node, KNOT_RRTYPE_RRSIG) != NULL)) {
			node->flags |= CANON_NODE_NSEC3;
		}
	}
	if (zone->denial_count > 0) { /* Room was made for every node: give back the rest. */
		const canon_node_t **fit =
		        realloc(zone->denial_nodes, zone->denial_count * sizeof(*fit));
		zone->denial_nodes = fit != NULL ? fit : zone->denial_nodes;
	}
	return 0;
}

/*
 * A sealed zone never changes, so it needs none of the room to grow its
 * pieces were built with: compaction moves every node with its owner, its
 * RRsets, their RRSIG views and their records into the zone's store, one
 * after the other. Built apart, the RRsets of a name took two or three
 * allocations (the array with its doubling slack, the records, the views),
 * each with malloc's header and its rounding to 16 octets (a 6-octet A record
 * took 32); packed, they take what they use (bench/run --memory), and a query
 * finds a node's RRsets and records on the cache lines after the node.
 */
static size_t node_store_size(const canon_node_t *node)
{
	size_t size = store_align(sizeof(*node) + node->owner_size);
	size += node->rrset_count * sizeof(canon_rrset_t);
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const canon_rrset_t *rrset = &node->rrsets[i];
		size += (rrset->sigs != NULL ? sizeof(*rrset->sigs) : 0) + rrset->rr.rrs.size;
	}
	return store_align(size); /* Records are 2-aligned (knot_rdata_t), the next node 8. */
}

/* Free the node's RRsets and what they own, when they are not in the store. */
static void node_free_rrsets(canon_node_t *node)
{
	for (uint16_t j = 0; j < node->rrset_count; j++) {
		knot_rdataset_clear(&node->rrsets[j].rr.rrs, NULL);
		free(node->rrsets[j].sigs);
	}
	free(node->rrsets);
}

/* Copy the RRsets of 'old' to 'at' (their views after them, then their records). */
static void rrsets_store(const canon_node_t *old, canon_rrset_t *rrsets)
{
	uint8_t *at = (uint8_t *)(rrsets + old->rrset_count);
	knot_rrset_t *views = (knot_rrset_t *)at;
	for (uint16_t i = 0; i < old->rrset_count; i++) {
		at += old->rrsets[i].sigs != NULL ? sizeof(knot_rrset_t) : 0;
	}
	const uint8_t *old_sigs = NULL;
	uint8_t *new_sigs = NULL;
	for (uint16_t i = 0; i < old->rrset_count; i++) {
		rrsets[i] = old->rrsets[i];
		knot_rdataset_t *rrs = &rrsets[i].rr.rrs;
		if (rrs->size > 0) {
			memcpy(at, rrs->rdata, rrs->size);
			rrs->rdata = (knot_rdata_t *)at;
			at += rrs->size;
		}
		if (rrsets[i].rr.type == KNOT_RRTYPE_RRSIG) {
			old_sigs = (const uint8_t *)old->rrsets[i].rr.rrs.rdata;
			new_sigs = (uint8_t *)rrs->rdata;
		}
	}
	/* A view points into its node's RRSIG RRset (make_sig_view): into the copy now. */
	for (uint16_t i = 0; i < old->rrset_count; i++) {
		const knot_rrset_t *sigs = old->rrsets[i].sigs;
		if (sigs != NULL) {
			*views = *sigs;
			views->rrs.rdata =
			        (knot_rdata_t *)(new_sigs +
			                         ((const uint8_t *)sigs->rrs.rdata - old_sigs));
			rrsets[i].sigs = views++;
		}
	}
}

/*
 * Copy 'old' with all it owns to 'at' (node_store_size octets) and free its
 * old RRsets. The owner and RRsets' owners point at the copy's owner; the
 * parent and wildcard links are zone_relink's.
 */
static canon_node_t *node_store(canon_node_t *old, uint8_t *at)
{
	canon_node_t *node = (canon_node_t *)at;
	*node = *old;
	node->owner = (knot_dname_t *)(node + 1);
	memcpy(node->owner, old->owner, old->owner_size);
	node->rrsets = NULL;
	if (old->rrset_count > 0) {
		node->rrsets = (canon_rrset_t *)(at + store_align(sizeof(*node) + old->owner_size));
		rrsets_store(old, node->rrsets);
		for (uint16_t i = 0; i < node->rrset_count; i++) {
			node->rrsets[i].rr.owner = node->owner;
			if (node->rrsets[i].sigs != NULL) {
				node->rrsets[i].sigs->owner = node->owner;
			}
		}
	}
	node->rrset_cap = node->rrset_count;
	node->flags |= CANON_NODE_STORED;
	node_free_rrsets(old);
	return node;
}

/* Parents from 'up' (index + 1 of each node's parent, 0 at the apex), and wildcards again. */
static void zone_relink(canon_zone_t *zone, const uint32_t *up)
{
	for (size_t i = 0; i < zone->node_count; i++) {
		canon_node_t *node = zone->nodes[i];
		node->parent = up[i] != 0 ? zone->nodes[up[i] - 1] : NULL;
		node->wildcard = NULL;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		canon_node_t *node = zone->nodes[i];
		if (node->parent != NULL && node->owner[0] == 1 && node->owner[1] == '*') {
			node->parent->wildcard = node;
		}
	}
}

/* The node slabs in the order they were cut (node_alloc pushes each new one first). */
static struct canon_zone_slab *slabs_reverse(struct canon_zone_slab *list)
{
	struct canon_zone_slab *done = NULL;
	while (list != NULL) {
		struct canon_zone_slab *next = list->next;
		list->next = done;
		done = list;
		list = next;
	}
	return done;
}

static bool slab_holds(const struct canon_zone_slab *slab, const void *p)
{
	const uint8_t *start = (const uint8_t *)slab->data;
	return (const uint8_t *)p >= start && (const uint8_t *)p < start + slab->used;
}

/* Free a node slab, or keep it in 'kept' when a node in it did not move; the next slab. */
static struct canon_zone_slab *slab_retire(struct canon_zone_slab *slab, bool keep,
                                           struct canon_zone_slab **kept)
{
	struct canon_zone_slab *next = slab->next;
	if (keep) {
		slab->next = *kept;
		*kept = slab;
	} else {
		free(slab);
	}
	return next;
}

/*
 * Move the zone into its store (see node_store_size), after set_sigs and
 * before anything else points at its nodes but the parent and wildcard links
 * and the apex. Node slabs are freed as soon as their nodes moved (nodes are
 * cut in the order of their ids), and the store's slabs are cut from the heap
 * the moved RRsets free: loading peaks no higher than before. A node that
 * finds no room stays where it is, as built: as correct, only bigger.
 */
static int zone_compact(canon_zone_t *zone)
{
	uint32_t *up = malloc(zone->node_count * sizeof(*up));
	if (up == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		const canon_node_t *parent = zone->nodes[i]->parent;
		up[i] = parent != NULL ? parent->id + 1 : 0;
	}
	uint32_t apex = zone->apex->id;
	struct canon_zone_slab *slabs = slabs_reverse(zone->slabs), *kept = NULL;
	bool keep = false; /* Whether the first of 'slabs' holds a node that did not move. */
	zone->slabs = NULL;
	for (size_t i = 0; i < zone->node_count; i++) {
		canon_node_t *old = zone->nodes[i];
		/* The slabs before the one holding this node hold no node still to move. */
		while (slabs != NULL && !slab_holds(slabs, old)) {
			slabs = slab_retire(slabs, keep, &kept);
			keep = false;
		}
		uint8_t *at = slab_alloc(&zone->store, node_store_size(old));
		if (at != NULL) {
			zone->nodes[i] = node_store(old, at);
		}
		keep = keep || at == NULL;
	}
	while (slabs != NULL) {
		slabs = slab_retire(slabs, keep, &kept);
		keep = false;
	}
	zone->slabs = kept;
	zone_relink(zone, up);
	free(up);
	zone->apex = zone->nodes[apex];
	/* The node array doubled as the zone grew: give back its unused end. */
	canon_node_t **nodes = realloc(zone->nodes, zone->node_count * sizeof(*nodes));
	if (nodes != NULL) {
		zone->nodes = nodes;
		zone->node_cap = zone->node_count;
	}
	return 0;
}

int canon_zone_seal(canon_zone_t *zone)
{
	if (finish_rrsets(zone) != 0) {
		return -ENOMEM;
	}
	if (zone->apex == NULL) {
		/* Make sure the apex node exists even for a zone with no apex records. */
		if (node_get_or_add(zone, zone->apex_name) == NULL) {
			return -ENOMEM;
		}
	}
	int ret = link_parents(zone);
	if (ret != 0) {
		return ret;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		set_own_flags(zone, zone->nodes[i]);
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		set_inherited_flags(zone->nodes[i]);
	}
	ret = sort_canonical(zone);
	if (ret != 0) {
		return ret;
	}
	if (canon_node_rrset(zone->apex, KNOT_RRTYPE_SOA) == NULL) {
		return -ENOENT;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		if (set_sigs(zone->nodes[i]) != 0) {
			return -ENOMEM;
		}
	}
	/* From here on pointers into the nodes are those of their final place. */
	if (zone_compact(zone) != 0) {
		return -ENOMEM;
	}
	zone->soa = canon_node_rrset(zone->apex, KNOT_RRTYPE_SOA);
	set_negative_soa(zone);
	if (zone->soa->sigs != NULL) {
		zone->negative_soa_sigs = *zone->soa->sigs;
		zone->negative_soa_sigs.ttl = zone->negative_soa.ttl;
	}
	return set_denial(zone);
}

canon_find_t canon_zone_find(const canon_zone_t *zone, const canon_name_t *name,
                             const canon_node_t **node)
{
	return canon_zone_find_inline(zone, name, node);
}

void canon_zone_free(canon_zone_t *zone)
{
	if (zone == NULL) {
		return;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		if (!(zone->nodes[i]->flags & CANON_NODE_STORED)) {
			node_free_rrsets(zone->nodes[i]);
		}
	}
	slabs_free(zone->store);
	slabs_free(zone->slabs);
	free(zone->nodes);
	free(zone->canonical);
	free(zone->denial_nodes);
	if (zone->build != NULL) {
		free(zone->build->slots);
		free(zone->build);
	}
	free(zone->slots);
	free(zone->apex_name);
	free(zone);
}
