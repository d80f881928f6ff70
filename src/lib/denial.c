/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libdnssec/binary.h>
#include <libdnssec/nsec.h>
#include <libknot/descriptor.h>

#include "lib/denial.h"

/*
 * The last index in zone->denial_nodes whose owner sorts at or before the key
 * under 'cmp', or the last one of all when the key sorts before every owner
 * (the chain wraps around, RFC 4034 §4.1.1 and RFC 5155 §3.1.7).
 */
static size_t predecessor(const canon_zone_t *zone, const void *key,
                          int (*cmp)(const void *key, const canon_node_t *node))
{
	size_t lo = 0, hi = zone->denial_count; /* Answer in [lo - 1, hi). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp(key, zone->denial_nodes[mid]) >= 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo == 0 ? zone->denial_count - 1 : lo - 1;
}

static int nsec_cmp(const void *key, const canon_node_t *node)
{
	return knot_dname_cmp((const knot_dname_t *)key, node->owner);
}

const canon_rrset_t *canon_denial_nsec(const canon_zone_t *zone, const knot_dname_t *name,
                                       bool *match)
{
	if (zone->denial != CANON_DENIAL_NSEC || zone->denial_count == 0) {
		return NULL;
	}
	const canon_node_t *node = zone->denial_nodes[predecessor(zone, name, nsec_cmp)];
	*match = knot_dname_is_equal(node->owner, name);
	return canon_node_rrset(node, KNOT_RRTYPE_NSEC);
}

/* RFC 4648 §7, lower case as owners are stored: the first label of an NSEC3 owner. */
static void base32hex(const uint8_t *in, size_t len, uint8_t *out)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
	uint32_t bits = 0;
	int have = 0;
	for (size_t i = 0; i < len; i++) {
		bits = bits << 8 | in[i];
		have += 8;
		while (have >= 5) {
			*out++ = (uint8_t)alphabet[(bits >> (have - 5)) & 31];
			have -= 5;
		}
	}
	if (have > 0) {
		*out++ = (uint8_t)alphabet[(bits << (5 - have)) & 31];
	}
}

/* The key: the hashed owner's first label, length octet included. */
static int nsec3_cmp(const void *key, const canon_node_t *node)
{
	const uint8_t *label = key, *owner = node->owner;
	size_t len = label[0] < owner[0] ? label[0] : owner[0];
	int ret = memcmp(label + 1, owner + 1, len);
	return ret != 0 ? ret : (int)label[0] - (int)owner[0];
}

const canon_rrset_t *canon_denial_nsec3(const canon_zone_t *zone, const knot_dname_t *name,
                                        bool *match)
{
	if (zone->denial != CANON_DENIAL_NSEC3 || zone->denial_count == 0) {
		return NULL;
	}
	/* NSEC3PARAM RDATA (RFC 5155 §4.2): algorithm, flags, iterations, salt length, salt. */
	const uint8_t *p = zone->nsec3param;
	dnssec_nsec3_params_t params = {
	        .algorithm = p[0],
	        .flags = 0,
	        .iterations = (uint16_t)(p[2] << 8 | p[3]),
	        .salt = {.size = p[4], .data = (uint8_t *)p + 5},
	};
	dnssec_binary_t data = {.size = knot_dname_size(name), .data = (uint8_t *)name};
	dnssec_binary_t hash = {0};
	if (dnssec_nsec3_hash(&data, &params, &hash) != 0 || hash.size > 40) {
		dnssec_binary_free(&hash);
		return NULL;
	}
	uint8_t label[1 + 64];
	label[0] = (uint8_t)((hash.size * 8 + 4) / 5);
	base32hex(hash.data, hash.size, label + 1);
	dnssec_binary_free(&hash);
	const canon_node_t *node = zone->denial_nodes[predecessor(zone, label, nsec3_cmp)];
	*match = memcmp(label, node->owner, (size_t)label[0] + 1) == 0;
	return canon_node_rrset(node, KNOT_RRTYPE_NSEC3);
}
