/*
 * The alias rules, written once for every command: the chain walk with its one
 * hop limit and its loop check, DNAME substitution, and the TTL of a negative
 * answer. canon serve (lib/lookup.c), canon resolve (resolve/iterate.c), canon
 * check (lib/check.c) and canon dig +chain (cli/dig_chain.c) all use these, so
 * they draw the same lines.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/mm_ctx.h>
#include <libknot/rrset.h>
#include <libknot/rrtype/rdname.h>

#include "lib/name.h"

/*
 * Longest CNAME/DNAME chain followed, in links from the first name. Knot stops
 * at 5, NSD at 18 by default, Unbound restarts at most 11 times; 16 keeps every
 * real-world CDN chain and still bounds the packet. canon serve answers a
 * longer chain with its first CANON_CHAIN_MAX links and NOERROR (like a loop),
 * canon resolve with SERVFAIL, canon dig +chain stops with TOOLONG, and canon
 * check warns about it.
 */
#define CANON_CHAIN_MAX 16

/* Why a chain walk stopped (or, from canon_chain_follow(), that it goes on). */
typedef enum {
	CANON_CHAIN_COMPLETE = 0, /* Ended at data, NODATA, NXDOMAIN or a referral. */
	CANON_CHAIN_LOOP,         /* A target repeated an earlier name. */
	CANON_CHAIN_TOO_LONG,     /* CANON_CHAIN_MAX links were followed. */
	CANON_CHAIN_LEFT,         /* The target lies outside what the walker knows. */
} canon_chain_end_t;

/*
 * The names a chain has visited, its first name first. The walker keeps
 * pointers: the names must outlive it. Names compare without regard to case.
 */
typedef struct {
	const knot_dname_t *names[CANON_CHAIN_MAX + 1];
	uint16_t sizes[CANON_CHAIN_MAX + 1];
	unsigned count;
	bool lower; /* Every name is lower-case: memcmp() decides. */
} canon_chain_t;

/* Start a chain at 'first'; names may come in any case. */
void canon_chain_init(canon_chain_t *chain, const knot_dname_t *first);

/*
 * Start a chain at a prepared name (lib/name.h), for the answer path: follow it
 * with canon_chain_follow_prepared() only. Prepared names are lower-case and
 * know their size, so comparing them is a memcmp().
 */
static inline void canon_chain_init_prepared(canon_chain_t *chain, const canon_name_t *first)
{
	chain->names[0] = first->wire;
	chain->sizes[0] = first->size;
	chain->count = 1;
	chain->lower = true;
}

/* Links followed so far. */
static inline unsigned canon_chain_links(const canon_chain_t *chain)
{
	return chain->count - 1;
}

/* Whether CANON_CHAIN_MAX links were followed: one more is too long. */
static inline bool canon_chain_full(const canon_chain_t *chain)
{
	return chain->count > CANON_CHAIN_MAX;
}

/* RFC 4343 §2: whether two names are equal without regard to ASCII case. */
bool canon_name_case_equal(const knot_dname_t *a, const knot_dname_t *b);

/* The position of 'name' ('size' octets) in the chain (0: the first name), or -1. */
static inline int canon_chain_index(const canon_chain_t *chain, const knot_dname_t *name,
                                    uint16_t size)
{
	for (unsigned i = 0; i < chain->count; i++) {
		if (chain->sizes[i] == size &&
		    (canon_wire_equal(chain->names[i], name, size) ||
		     (!chain->lower && canon_name_case_equal(chain->names[i], name)))) {
			return (int)i;
		}
	}
	return -1;
}

/*
 * Follow one more link, to 'target' ('size' octets). Returns
 * CANON_CHAIN_COMPLETE when the walk goes on (target recorded),
 * CANON_CHAIN_LOOP when the target was visited before (RFC 1034 §3.6.2),
 * CANON_CHAIN_TOO_LONG when CANON_CHAIN_MAX links were followed already; the
 * chain is unchanged then. Inline: the answer path calls it once per link.
 */
static inline canon_chain_end_t canon_chain_add(canon_chain_t *chain, const knot_dname_t *target,
                                                uint16_t size)
{
	if (canon_chain_index(chain, target, size) >= 0) {
		return CANON_CHAIN_LOOP;
	}
	if (canon_chain_full(chain)) {
		return CANON_CHAIN_TOO_LONG;
	}
	chain->names[chain->count] = target;
	chain->sizes[chain->count] = size;
	chain->count++;
	return CANON_CHAIN_COMPLETE;
}

/* canon_chain_add() of a prepared name, for a chain from canon_chain_init_prepared(). */
static inline canon_chain_end_t canon_chain_follow_prepared(canon_chain_t *chain,
                                                            const canon_name_t *target)
{
	return canon_chain_add(chain, target->wire, target->size);
}

/* canon_chain_add() of a name in any case. */
canon_chain_end_t canon_chain_follow(canon_chain_t *chain, const knot_dname_t *target);

/* canon_chain_index() of a name in any case. */
int canon_chain_find(const canon_chain_t *chain, const knot_dname_t *name);

/*
 * RFC 6672 §2.2: the name that 'name' becomes under the DNAME owned by 'owner'
 * (a proper ancestor of 'name') with target 'target': the owner suffix of
 * 'name' replaced by 'target', the prefix keeping its case. Writes it to 'out'
 * (KNOT_DNAME_MAXLEN octets). Returns its size, or -EMSGSIZE when it would be
 * longer than 255 octets (the answer is YXDOMAIN then).
 */
static inline int canon_dname_substitute(const knot_dname_t *name, const knot_dname_t *owner,
                                         const knot_dname_t *target, uint8_t *out)
{
	size_t prefix = canon_name_size(name) - canon_name_size(owner);
	size_t suffix = canon_name_size(target);
	/* RFC 6672 §2.2: a name longer than 255 octets is YXDOMAIN, never cut short. */
	if (prefix + suffix > KNOT_DNAME_MAXLEN) {
		return -EMSGSIZE;
	}
	memcpy(out, name, prefix);
	memcpy(out + prefix, target, suffix);
	return (int)(prefix + suffix);
}

/*
 * RFC 6672 §3.2 step 3c: the CNAME that the DNAME RRset 'dname' synthesizes
 * for 'name', with the DNAME's TTL. The RRset and its rdata come from 'mm'
 * (not NULL); its owner is 'name' itself, not a copy. Returns 0 with *cname
 * set, -EMSGSIZE when the new name is too long (YXDOMAIN), or -ENOMEM.
 * Inline, like canon_dname_substitute(): the answer path calls it per DNAME hop.
 */
static inline int canon_dname_synthesize(const knot_rrset_t *dname, const knot_dname_t *name,
                                         knot_mm_t *mm, knot_rrset_t **cname)
{
	uint8_t rdata[KNOT_DNAME_MAXLEN];
	int size = canon_dname_substitute(name, dname->owner, knot_dname_target(dname->rrs.rdata),
	                                  rdata);
	if (size < 0) {
		return size;
	}
	knot_rrset_t *rr = mm->alloc(mm->ctx, sizeof(*rr));
	if (rr == NULL) {
		return -ENOMEM;
	}
	/* One record: the rdataset knot_rrset_add_rdata() would build, without its search and copy.
	 */
	size_t rd_size = knot_rdata_size((uint16_t)size);
	knot_rdata_t *rd = mm->alloc(mm->ctx, rd_size);
	if (rd == NULL) {
		return -ENOMEM;
	}
	knot_rdata_init(rd, (uint16_t)size, rdata);
	/* RFC 6672 §3.2 step 3c: the synthesized CNAME has the DNAME's TTL. */
	knot_rrset_init(rr, (knot_dname_t *)name, KNOT_RRTYPE_CNAME, KNOT_CLASS_IN, dname->ttl);
	rr->rrs.count = 1;
	rr->rrs.size = (uint32_t)rd_size;
	rr->rrs.rdata = rd;
	*cname = rr;
	return 0;
}

/*
 * RFC 2308 §3 and §5: how long a negative answer (NXDOMAIN or NODATA) lives,
 * the smaller of the TTL of the SOA RRset 'soa' and its MINIMUM field.
 */
uint32_t canon_negative_ttl(const knot_rrset_t *soa);
