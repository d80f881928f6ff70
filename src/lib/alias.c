/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <libknot/rrtype/soa.h>

#include "lib/alias.h"

/* Whether two octets of a label are equal without regard to ASCII case. */
static inline bool octet_case_equal(uint8_t a, uint8_t b)
{
	return a == b || ((a ^ b) == 0x20 && (uint8_t)((a | 0x20) - 'a') < 26);
}

/* RFC 1034 §3.1, RFC 4343 §2: labels compare without regard to ASCII case. */
bool canon_name_case_equal(const knot_dname_t *a, const knot_dname_t *b)
{
	/* Written out rather than knot_dname_is_case_equal(), which folds every octet. */
	for (;;) {
		if (*a != *b) {
			return false; /* Label lengths (or the root label) differ. */
		}
		uint8_t len = *a;
		if (len == 0) {
			return true;
		}
		for (uint8_t i = 1; i <= len; i++) {
			if (!octet_case_equal(a[i], b[i])) {
				return false;
			}
		}
		a += len + 1;
		b += len + 1;
	}
}

void canon_chain_init(canon_chain_t *chain, const knot_dname_t *first)
{
	chain->names[0] = first;
	chain->sizes[0] = (uint16_t)knot_dname_size(first);
	chain->count = 1;
	chain->lower = false;
}

int canon_chain_find(const canon_chain_t *chain, const knot_dname_t *name)
{
	return canon_chain_index(chain, name, (uint16_t)knot_dname_size(name));
}

canon_chain_end_t canon_chain_follow(canon_chain_t *chain, const knot_dname_t *target)
{
	return canon_chain_add(chain, target, (uint16_t)knot_dname_size(target));
}

uint32_t canon_negative_ttl(const knot_rrset_t *soa)
{
	/* RFC 2308 §3 (the server) and §5 (the cache): min(SOA TTL, SOA MINIMUM). */
	uint32_t minimum = knot_soa_minimum(soa->rrs.rdata);
	return minimum < soa->ttl ? minimum : soa->ttl;
}
