/*
 * The answer algorithm, as one loop over the chain (Knot's solve_answer style):
 * each turn finds the zone and the node for the current name, adds what RFC 1034
 * §4.3.2 step 3 says, and either stops or moves to the alias target.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <string.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>

#include "lib/denial.h"
#include "lib/lookup.h"
#include "lib/name.h"
#include "lib/rdata.h"
#include "lib/zone_find.h"

typedef struct {
	const canon_zonetable_t *table;
	const canon_alias_source_t *aliases;
	bool nested; /* Inside alias_from_zones: an ALIAS here is not followed again. */
	bool dnssec; /* DO was set: RRSIGs and proofs go in (RFC 4035 §3.1). */
	bool nodata; /* The last answer_node() found no data of the type. */
	/* CANON_LOOKUP_MINIMAL_ANY: one RRset for ANY (RFC 8482). */
	bool minimal_any;
	uint16_t qtype;
	canon_answer_t *answer;
	knot_mm_t *mm;
	canon_chain_t chain; /* Names visited so far (lib/alias.h). */
} lookup_t;

static uint16_t owner_hint(const lookup_t *lk)
{
	/* Only the first name of the chain is the QNAME written in the question. */
	return lk->answer->hops == 0 ? KNOT_COMPR_HINT_QNAME : KNOT_COMPR_HINT_NONE;
}

/*
 * Move a full section into an arena block twice its size (the arena is the
 * query's own: no malloc on the query path). False when the arena is spent.
 */
static bool section_grow(lookup_t *lk, canon_answer_section_t *section)
{
	if (section->capacity > UINT16_MAX / 2) {
		return false;
	}
	uint16_t capacity = (uint16_t)(section->capacity * 2);
	canon_answer_rr_t *rrs = lk->mm->alloc(lk->mm->ctx, capacity * sizeof(*rrs));
	if (rrs == NULL) {
		return false;
	}
	memcpy(rrs, section->rrs, section->count * sizeof(*rrs));
	section->rrs = rrs;
	section->capacity = capacity;
	return true;
}

static inline void section_add(lookup_t *lk, knot_section_t id, const knot_rrset_t *rr,
                               uint16_t hint)
{
	canon_answer_section_t *section = &lk->answer->section[id];
	for (size_t i = 0, n = section->count; i < n; i++) {
		if (section->rrs[i].rr == rr) {
			return;
		}
	}
	if (section->count == section->capacity && !section_grow(lk, section)) {
		/*
		 * Never drop an answer or authority RRset silently: the writer
		 * answers with TC (RFC 2181 §9). Additional data may be left out.
		 */
		lk->answer->truncated |= id != KNOT_ADDITIONAL;
		return;
	}
	section->rrs[section->count].rr = rr;
	section->rrs[section->count].compr_hint = hint;
	section->count++;
}

static const knot_rrset_t *synthesize_owner(lookup_t *lk, const knot_rrset_t *rr,
                                            const knot_dname_t *owner);

/* add_signed()'s DNSSEC half, out of line: unsigned answers never come here. */
static int add_sigs(lookup_t *lk, knot_section_t id, const knot_rrset_t *rr,
                    const knot_rrset_t *sigs, uint16_t hint)
{
	if (sigs->rrs.count == 0) {
		return 0;
	}
	if (sigs->owner != rr->owner) {
		sigs = synthesize_owner(lk, sigs, rr->owner);
		if (sigs == NULL) {
			return -ENOMEM;
		}
	}
	section_add(lk, id, sigs, hint);
	return 0;
}

/*
 * Add 'rr' and, when the client set DO, the RRSIGs 'sigs' that cover it
 * (RFC 4035 §3.1.1), under the owner of 'rr' (a wildcard expansion keeps the
 * signatures of the wildcard, whose Labels field tells, RFC 4035 §3.1.3.3).
 */
static inline int add_signed(lookup_t *lk, knot_section_t id, const knot_rrset_t *rr,
                             const knot_rrset_t *sigs, uint16_t hint)
{
	section_add(lk, id, rr, hint);
	return lk->dnssec && sigs != NULL ? add_sigs(lk, id, rr, sigs, hint) : 0;
}

/* A proof of denial, signed, in the authority section (RFC 4035 §3.1.3). */
static int add_proof(lookup_t *lk, const canon_rrset_t *rrset)
{
	if (rrset == NULL) {
		return 0;
	}
	return add_signed(lk, KNOT_AUTHORITY, &rrset->rr, rrset->sigs, KNOT_COMPR_HINT_NONE);
}

/* The NSEC3 that covers (or matches) the hash of 'name'. */
static int add_nsec3(lookup_t *lk, const canon_zone_t *zone, const knot_dname_t *name)
{
	bool match;
	return add_proof(lk, canon_denial_nsec3(zone, name, &match));
}

/*
 * RFC 5155 §7.2.1: the closest provable encloser of 'name', tried from
 * 'strip' labels up: the NSEC3 matching it and the one covering the next
 * closer name. Returns how many labels of 'name' the encloser strips, or -1
 * on -ENOMEM.
 */
static int nsec3_closest_encloser(lookup_t *lk, const canon_zone_t *zone, const canon_name_t *name,
                                  unsigned strip)
{
	unsigned apex = name->labels - (unsigned)knot_dname_labels(zone->apex_name, NULL);
	for (unsigned i = strip; i <= apex; i++) {
		bool match = false;
		const canon_rrset_t *nsec3 =
		        canon_denial_nsec3(zone, canon_name_suffix(name, i), &match);
		if (!match && i < apex) {
			continue;
		}
		if (add_proof(lk, match ? nsec3 : NULL) != 0 ||
		    (i > 0 && add_nsec3(lk, zone, canon_name_suffix(name, i - 1)) != 0)) {
			return -1;
		}
		return (int)i;
	}
	return (int)apex;
}

/* '*.' before 'encloser' (RFC 4592 §2.1.1), in 'buf'; NULL when too long. */
static const knot_dname_t *wildcard_of(const knot_dname_t *encloser, uint8_t *buf)
{
	size_t size = knot_dname_size(encloser);
	if (size + 2 > KNOT_DNAME_MAXLEN) {
		return NULL;
	}
	buf[0] = 1;
	buf[1] = '*';
	memcpy(buf + 2, encloser, size);
	return buf;
}

/*
 * NXDOMAIN (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2): no name 'name' and no
 * wildcard at its closest encloser 'ce'.
 */
static int prove_nxdomain(lookup_t *lk, const canon_zone_t *zone, const canon_name_t *name,
                          const canon_node_t *ce)
{
	uint8_t buf[KNOT_DNAME_MAXLEN];
	bool match;
	if (zone->denial == CANON_DENIAL_NSEC) {
		const knot_dname_t *star = wildcard_of(ce->owner, buf);
		int ret = add_proof(lk, canon_denial_nsec(zone, name->wire, &match));
		if (ret == 0 && star != NULL) {
			ret = add_proof(lk, canon_denial_nsec(zone, star, &match));
		}
		return ret;
	}
	if (zone->denial != CANON_DENIAL_NSEC3) {
		return 0;
	}
	unsigned strip = name->labels - (unsigned)knot_dname_labels(ce->owner, NULL);
	int found = nsec3_closest_encloser(lk, zone, name, strip);
	if (found < 0) {
		return -ENOMEM;
	}
	const knot_dname_t *star = wildcard_of(canon_name_suffix(name, (unsigned)found), buf);
	return star != NULL ? add_nsec3(lk, zone, star) : 0;
}

/*
 * NODATA at the existing name 'owner' (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3),
 * also the DS absent at a delegation (§3.1.4, §7.2.7): the NSEC or NSEC3 of
 * the name. An empty non-terminal has no NSEC: the one covering it proves it.
 * No NSEC3 at the name (opt-out, §7.2.4): the closest provable encloser.
 */
static int prove_nodata(lookup_t *lk, const canon_zone_t *zone, const knot_dname_t *owner)
{
	bool match = false;
	if (zone->denial == CANON_DENIAL_NSEC) {
		return add_proof(lk, canon_denial_nsec(zone, owner, &match));
	}
	if (zone->denial != CANON_DENIAL_NSEC3) {
		return 0;
	}
	const canon_rrset_t *nsec3 = canon_denial_nsec3(zone, owner, &match);
	if (match) {
		return add_proof(lk, nsec3);
	}
	canon_name_t name;
	canon_name_prepare(&name, owner);
	return nsec3_closest_encloser(lk, zone, &name, 1) < 0 ? -ENOMEM : 0;
}

/*
 * A wildcard expansion (RFC 4035 §3.1.3.3, RFC 5155 §7.2.5 and §7.2.6): no
 * closer match for 'name' below the closest encloser 'ce'. A NODATA answer
 * from the wildcard also proves the type absent there (answer_node did).
 */
static int prove_wildcard(lookup_t *lk, const canon_zone_t *zone, const canon_name_t *name,
                          const canon_node_t *ce)
{
	bool match;
	if (zone->denial == CANON_DENIAL_NSEC) {
		return add_proof(lk, canon_denial_nsec(zone, name->wire, &match));
	}
	if (zone->denial != CANON_DENIAL_NSEC3) {
		return 0;
	}
	unsigned strip = name->labels - (unsigned)knot_dname_labels(ce->owner, NULL);
	int ret = add_nsec3(lk, zone, canon_name_suffix(name, strip - 1));
	if (ret == 0 && lk->nodata) {
		ret = add_proof(lk, canon_denial_nsec3(zone, ce->owner, &match));
	}
	return ret;
}

/* A copy of 'rr' owned by 'owner', for wildcard synthesis (RFC 4592 §4.1). */
static const knot_rrset_t *synthesize_owner(lookup_t *lk, const knot_rrset_t *rr,
                                            const knot_dname_t *owner)
{
	knot_rrset_t *copy = lk->mm->alloc(lk->mm->ctx, sizeof(*copy));
	if (copy == NULL) {
		return NULL;
	}
	*copy = *rr;
	copy->owner = (knot_dname_t *)owner;
	return copy;
}

/* Whether the answer already holds CANON_CHAIN_MAX alias links: add no more. */
static bool chain_full(lookup_t *lk)
{
	if (!canon_chain_full(&lk->chain)) {
		return false;
	}
	lk->answer->chain_end = CANON_CHAIN_TOO_LONG;
	return true;
}

/* add_node_rrset()'s copy, out of line: a wildcard owner or a flattened CNAME shown as ALIAS. */
static int add_node_rrset_copy(lookup_t *lk, const canon_rrset_t *rrset, uint16_t type,
                               const knot_dname_t *name, bool wildcard)
{
	const knot_rrset_t *rr = &rrset->rr;
	knot_rrset_t *copy = (knot_rrset_t *)synthesize_owner(lk, rr, wildcard ? name : rr->owner);
	if (copy == NULL) {
		return -ENOMEM;
	}
	copy->type = type;
	/* A flattened CNAME answered as ALIAS has no signature of that type. */
	const knot_rrset_t *sigs = type == rr->type ? rrset->sigs : NULL;
	return add_signed(lk, KNOT_ANSWER, copy, sigs, owner_hint(lk));
}

/*
 * Add an RRset of the node answering 'name' as 'type': wildcard RRsets take
 * 'name' as owner, a flattened CNAME is shown as the ALIAS it is answered as.
 * Inline: most answers are the zone's own RRset, added as it is.
 */
static inline int add_node_rrset(lookup_t *lk, const canon_rrset_t *rrset, uint16_t type,
                                 const knot_dname_t *name, bool wildcard)
{
	if (wildcard || type != rrset->rr.type) {
		return add_node_rrset_copy(lk, rrset, type, name, wildcard);
	}
	return add_signed(lk, KNOT_ANSWER, &rrset->rr, rrset->sigs, owner_hint(lk));
}

/*
 * The type an RRset of 'node' is answered as: a flattened CNAME is an ALIAS to
 * its target, so that resolvers never see the CNAME (as with Cloudflare's
 * flattening) while the zone keeps it as written.
 */
static uint16_t answered_type(const canon_node_t *node, const canon_rrset_t *rrset)
{
	if ((node->flags & CANON_NODE_FLATTENED) && rrset->rr.type == KNOT_RRTYPE_CNAME) {
		return CANON_RRTYPE_ALIAS;
	}
	return rrset->rr.type;
}

static int add_negative(lookup_t *lk, const canon_zone_t *zone, uint8_t rcode)
{
	/* RFC 2308 §3 and RFC 6604 §3: the SOA and rcode are those of the last name. */
	lk->answer->rcode = rcode;
	return add_signed(lk, KNOT_AUTHORITY, &zone->negative_soa, &zone->negative_soa_sigs,
	                  KNOT_COMPR_HINT_NONE);
}

/* The node holding the data of 'name' in 'zone', wildcards included (RFC 4592 §3.3.1). */
static const canon_node_t *data_node(const canon_zone_t *zone, const canon_name_t *name,
                                     bool *wildcard)
{
	const canon_node_t *node = NULL;
	*wildcard = false;
	if (!canon_name_under(name, zone->apex_name, zone->apex->owner_size)) {
		return NULL; /* Not in this zone (nor its apex): no additional data from here. */
	}
	switch (canon_zone_find(zone, name, &node)) {
	case CANON_FIND_FOUND:
		return node;
	case CANON_FIND_NXNAME:
		*wildcard = node->wildcard != NULL;
		return node->wildcard;
	case CANON_FIND_DELEG:
		/* Glue below a cut is still additional data (RFC 1034 §4.3.2 step 6). */
		return canon_zone_get(zone, name->wire, name->size,
		                      canon_name_suffix_hash(name, 0));
	default:
		return NULL;
	}
}

/* add_additional()'s work, out of line: most RRsets answered have no target. */
static int add_target_addresses(lookup_t *lk, const canon_zone_t *zone, const knot_rrset_t *rr)
{
	static const uint16_t address_types[] = {KNOT_RRTYPE_A, KNOT_RRTYPE_AAAA};
	knot_rdata_t *rdata = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count; i++, rdata = knot_rdataset_next(rdata)) {
		const knot_dname_t *target = canon_rdata_target(rr->type, rdata);
		canon_name_t name;
		canon_name_prepare(&name, target);
		bool wildcard;
		const canon_node_t *node = data_node(zone, &name, &wildcard);
		for (size_t t = 0; node != NULL && t < 2; t++) {
			const canon_rrset_t *addr = canon_node_rrset(node, address_types[t]);
			if (addr == NULL) {
				continue;
			}
			const knot_rrset_t *rr_addr =
			        wildcard ? synthesize_owner(lk, &addr->rr, target) : &addr->rr;
			if (rr_addr == NULL) {
				return -ENOMEM;
			}
			if (add_signed(lk, KNOT_ADDITIONAL, rr_addr, addr->sigs,
			               KNOT_COMPR_HINT_NONE) != 0) {
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/* RFC 1034 §4.3.2 step 6 (and §3.7): addresses of NS, MX and SRV targets in the zone. */
static inline int add_additional(lookup_t *lk, const canon_zone_t *zone, const knot_rrset_t *rr)
{
	if (rr->type != KNOT_RRTYPE_NS && rr->type != KNOT_RRTYPE_MX &&
	    rr->type != KNOT_RRTYPE_SRV) {
		return 0;
	}
	return add_target_addresses(lk, zone, rr);
}

/* RFC 1034 §4.3.2 step 3b: a referral to the servers of the cut; AA is clear. */
static int answer_referral(lookup_t *lk, const canon_zone_t *zone, const canon_node_t *cut)
{
	const canon_rrset_t *ns = canon_node_rrset(cut, KNOT_RRTYPE_NS);
	if (lk->answer->hops == 0) {
		lk->answer->aa = false;
	}
	section_add(lk, KNOT_AUTHORITY, &ns->rr, KNOT_COMPR_HINT_NONE);
	if (lk->dnssec) {
		/* RFC 4035 §3.1.4: the DS and its RRSIGs, or the proof there is none. */
		const canon_rrset_t *ds = canon_node_rrset(cut, KNOT_RRTYPE_DS);
		int ret = ds != NULL ? add_proof(lk, ds) : prove_nodata(lk, zone, cut->owner);
		if (ret != 0) {
			return ret;
		}
	}
	return add_additional(lk, zone, &ns->rr);
}

/*
 * A/AAAA at an ALIAS name: the target's addresses under the ALIAS owner's name
 * (CNAME flattening), from the alias source's background-refreshed answers.
 */
/*
 * A target inside the zones we serve is answered from them, as a nested
 * lookup (without ALIAS, so an ALIAS to an ALIAS cannot recurse). Returns
 * CANON_ALIAS_FAILED when the target's chain leaves our zones: the upstream
 * answers then.
 */
/*
 * canon_lookup() flag of alias_from_zones' own lookups, above the public
 * CANON_LOOKUP_* ones: an ALIAS met there is not followed again.
 */
#define LOOKUP_NESTED (1u << 15)

static canon_alias_status_t alias_from_zones(lookup_t *lk, const knot_dname_t *target,
                                             const knot_dname_t *owner, uint32_t ttl,
                                             const knot_rrset_t **rr)
{
	canon_answer_t nested;
	if (lk->nested ||
	    canon_lookup(lk->table, NULL, target, lk->qtype, LOOKUP_NESTED, &nested, lk->mm) != 0 ||
	    nested.rcode == KNOT_RCODE_REFUSED || nested.chain_end != CANON_CHAIN_COMPLETE ||
	    !nested.aa) {
		return CANON_ALIAS_FAILED;
	}
	const canon_answer_section_t *answer = &nested.section[KNOT_ANSWER];
	if (nested.rcode == KNOT_RCODE_NXDOMAIN ||
	    (nested.rcode == KNOT_RCODE_NOERROR && answer->count == 0)) {
		return CANON_ALIAS_NODATA;
	}
	const knot_rrset_t *last = answer->count ? answer->rrs[answer->count - 1].rr : NULL;
	if (nested.rcode != KNOT_RCODE_NOERROR || last == NULL || last->type != lk->qtype) {
		return CANON_ALIAS_FAILED;
	}
	for (uint16_t i = 0; i < answer->count; i++) {
		ttl = answer->rrs[i].rr->ttl < ttl ? answer->rrs[i].rr->ttl : ttl;
	}
	knot_rrset_t *copy = (knot_rrset_t *)synthesize_owner(lk, last, owner);
	if (copy == NULL) {
		return CANON_ALIAS_FAILED;
	}
	copy->ttl = ttl;
	*rr = copy;
	return CANON_ALIAS_FOUND;
}

static int answer_alias(lookup_t *lk, const canon_zone_t *zone, const canon_node_t *node,
                        const knot_dname_t *name)
{
	const canon_rrset_t *alias = canon_node_alias(node);
	const knot_dname_t *target = knot_cname_name(alias->rr.rrs.rdata);
	const knot_rrset_t *rr = NULL;
	canon_alias_status_t status = alias_from_zones(lk, target, name, alias->rr.ttl, &rr);
	if (status == CANON_ALIAS_FAILED && lk->aliases != NULL && !lk->nested) {
		status = lk->aliases->addresses(lk->aliases->ctx, target, lk->qtype, name,
		                                alias->rr.ttl, lk->mm, &rr);
	}
	switch (status) {
	case CANON_ALIAS_STALE:
		lk->answer->ede = KNOT_EDNS_EDE_STALE; /* RFC 8767 §6, RFC 8914 §4.4 */
		lk->answer->ede_text = "ALIAS target could not be refreshed";
		/* fall through */
	case CANON_ALIAS_FOUND:
		lk->answer->flattened = true;
		section_add(lk, KNOT_ANSWER, rr, owner_hint(lk));
		return 0;
	case CANON_ALIAS_NODATA:
		return add_negative(lk, zone, KNOT_RCODE_NOERROR);
	case CANON_ALIAS_FAILED:
		break;
	}
	lk->answer->rcode = KNOT_RCODE_SERVFAIL;
	lk->answer->ede = KNOT_EDNS_EDE_NREACH_AUTH;
	lk->answer->ede_text = "ALIAS target could not be resolved";
	return 0;
}

/*
 * Whether ANY lists an RRset of 'type': RRSIGs come with the RRsets they cover
 * and only with DO; NSEC and NSEC3 too (RFC 4035 §3.1: DNSSEC records only
 * for a client that set DO, unless asked for by type).
 */
static bool any_includes(const lookup_t *lk, uint16_t type)
{
	if (type == KNOT_RRTYPE_RRSIG) {
		return false;
	}
	return lk->dnssec || (type != KNOT_RRTYPE_NSEC && type != KNOT_RRTYPE_NSEC3);
}

/*
 * The one RRset a minimal ANY answer gives (RFC 8482 §4.2): the lowest type
 * ANY would list, as knotd picks (its nodes keep RRsets sorted by type), so
 * the choice does not depend on the zone file's order. -1 when none.
 */
static int minimal_any_index(const lookup_t *lk, const canon_node_t *node)
{
	int best = -1;
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		uint16_t type = answered_type(node, &node->rrsets[i]);
		if (any_includes(lk, type) &&
		    (best < 0 || type < answered_type(node, &node->rrsets[best]))) {
			best = i;
		}
	}
	return best;
}

/*
 * QTYPE RRSIG: every signature at the name, each with the TTL of the RRset it
 * covers (RFC 4034 §3), which the node's one RRSIG RRset cannot carry.
 */
static int answer_rrsigs(lookup_t *lk, const canon_node_t *node, const knot_dname_t *name,
                         bool wildcard, bool *any_data)
{
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const knot_rrset_t *sigs = node->rrsets[i].sigs;
		if (sigs == NULL) {
			continue;
		}
		if (wildcard && (sigs = synthesize_owner(lk, sigs, name)) == NULL) {
			return -ENOMEM;
		}
		section_add(lk, KNOT_ANSWER, sigs, owner_hint(lk));
		*any_data = true;
	}
	return 0;
}

/* QTYPE ANY: every RRset at the name ANY lists, or the one of a minimal answer (RFC 8482). */
static int answer_any(lookup_t *lk, const canon_zone_t *zone, const canon_node_t *node,
                      const knot_dname_t *name, bool wildcard, bool *any_data)
{
	int only = lk->minimal_any ? minimal_any_index(lk, node) : -1;
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const canon_rrset_t *rrset = &node->rrsets[i];
		uint16_t type = answered_type(node, rrset);
		if (!any_includes(lk, type) || (only >= 0 && i != only)) {
			continue;
		}
		int ret = add_node_rrset(lk, rrset, type, name, wildcard);
		if (ret == 0) {
			ret = add_additional(lk, zone, &rrset->rr);
		}
		if (ret != 0) {
			return ret;
		}
		*any_data = true;
	}
	return 0;
}

/*
 * RFC 1034 §4.3.2 step 3a (and 3c for a wildcard source): data at the name.
 * Sets *target when a CNAME sends the chase on.
 */
static int answer_node(lookup_t *lk, const canon_zone_t *zone, const canon_node_t *node,
                       const knot_dname_t *name, bool wildcard, const knot_dname_t **target)
{
	uint16_t qtype = lk->qtype;
	/* A CNAME answers every type but CNAME itself, and ANY which matches it. */
	if ((node->flags & CANON_NODE_CNAME) && qtype != KNOT_RRTYPE_CNAME &&
	    qtype != KNOT_RRTYPE_ANY) {
		if (chain_full(lk)) {
			return 0;
		}
		const canon_rrset_t *cname = canon_node_rrset(node, KNOT_RRTYPE_CNAME);
		*target = knot_cname_name(cname->rr.rrs.rdata);
		return add_node_rrset(lk, cname, KNOT_RRTYPE_CNAME, name, wildcard);
	}
	if ((node->flags & CANON_NODE_ALIAS) &&
	    (qtype == KNOT_RRTYPE_A || qtype == KNOT_RRTYPE_AAAA)) {
		return answer_alias(lk, zone, node, name);
	}
	bool any_data = false;
	int ret = 0;
	if (qtype == KNOT_RRTYPE_RRSIG) {
		ret = answer_rrsigs(lk, node, name, wildcard, &any_data);
	} else if (qtype == KNOT_RRTYPE_ANY) {
		ret = answer_any(lk, zone, node, name, wildcard, &any_data);
	} else {
		/* The common case, one type: its RRset as it is, with no ANY rules to weigh. */
		for (size_t i = 0, n = node->rrset_count; i < n; i++) {
			const canon_rrset_t *rrset = &node->rrsets[i];
			if (answered_type(node, rrset) != qtype) {
				continue;
			}
			ret = add_node_rrset(lk, rrset, qtype, name, wildcard);
			if (ret == 0) {
				ret = add_additional(lk, zone, &rrset->rr);
			}
			if (ret != 0) {
				return ret;
			}
			any_data = true;
		}
	}
	if (ret != 0) {
		return ret;
	}
	if (!any_data) {
		/* NODATA (RFC 2308 §2.2), also at an empty non-terminal (RFC 4592 §2.2.2). */
		lk->nodata = true;
		ret = add_negative(lk, zone, KNOT_RCODE_NOERROR);
		if (ret == 0 && lk->dnssec) {
			ret = prove_nodata(lk, zone, node->owner);
		}
	}
	return ret;
}

/*
 * RFC 6672 §3.2 step 3c: add the DNAME and a CNAME synthesized from it with the
 * DNAME's TTL, then chase the new name; YXDOMAIN when it would exceed 255 octets.
 */
static int answer_dname(lookup_t *lk, const canon_node_t *node, const knot_dname_t *name,
                        const knot_dname_t **target)
{
	if (chain_full(lk)) {
		return 0;
	}
	const canon_rrset_t *rrset = canon_node_rrset(node, KNOT_RRTYPE_DNAME);
	const knot_rrset_t *dname = &rrset->rr;
	/* RFC 6672 §5.3: the DNAME signed, the CNAME synthesized from it not. */
	int ret = add_signed(lk, KNOT_ANSWER, dname, rrset->sigs, KNOT_COMPR_HINT_NONE);
	if (ret != 0) {
		return ret;
	}
	knot_rrset_t *cname = NULL;
	ret = canon_dname_synthesize(dname, name, lk->mm, &cname);
	if (ret == -EMSGSIZE) {
		lk->answer->rcode = KNOT_RCODE_YXDOMAIN;
		return 0;
	}
	if (ret != 0) {
		return ret;
	}
	section_add(lk, KNOT_ANSWER, cname, owner_hint(lk));
	/* QTYPE CNAME is answered by the synthesized CNAME itself (as Knot and NSD do). */
	if (lk->qtype != KNOT_RRTYPE_CNAME) {
		*target = knot_cname_name(cname->rrs.rdata);
	}
	return 0;
}

/* 'name' prepared for lookups (lib/name.h), in the arena; NULL when it is full. */
static const canon_name_t *prepare(lookup_t *lk, const knot_dname_t *name)
{
	canon_name_t *prepared = lk->mm->alloc(lk->mm->ctx, sizeof(*prepared));
	if (prepared != NULL) {
		canon_name_prepare(prepared, name);
	}
	return prepared;
}

/*
 * Move the chase to 'target'. Returns it prepared, or NULL when the chase must
 * stop here because the target was already visited (a loop). Either way the
 * answer keeps the records up to that point.
 */
static const canon_name_t *chase_to(lookup_t *lk, const knot_dname_t *target)
{
	const canon_name_t *next = prepare(lk, target);
	if (next == NULL) {
		return NULL;
	}
	canon_chain_end_t end = canon_chain_follow_prepared(&lk->chain, next);
	if (end != CANON_CHAIN_COMPLETE) {
		lk->answer->chain_end = end;
		return NULL;
	}
	lk->answer->hops++;
	return next;
}

/*
 * The zone to answer 'name' from: the longest match, except that the DS at a
 * zone's apex belongs to the parent zone when we serve it (RFC 4035 §3.1.4.1).
 */
static const canon_zone_t *zone_for(const lookup_t *lk, const canon_name_t *name)
{
	const canon_zone_t *zone = canon_zonetable_find(lk->table, name, 0);
	if (zone != NULL && lk->qtype == KNOT_RRTYPE_DS && name->labels > 0 &&
	    zone->apex->owner_size == name->size) {
		const canon_zone_t *parent = canon_zonetable_find(lk->table, name, 1);
		if (parent != NULL) {
			return parent;
		}
	}
	return zone;
}

/* One turn of the loop: answer 'name' from 'zone'; *target set to go on. */
static int answer_in_zone(lookup_t *lk, const canon_zone_t *zone, const knot_dname_t *name,
                          const canon_name_t *prepared, const knot_dname_t **target)
{
	const canon_node_t *node = NULL;
	switch (canon_zone_find_inline(zone, prepared, &node)) {
	case CANON_FIND_DELEG:
		/* The parent is authoritative for the DS at a cut (RFC 4035 §3.1.4.1). */
		if (lk->qtype == KNOT_RRTYPE_DS && node->owner_size == prepared->size) {
			return answer_node(lk, zone, node, name, false, target);
		}
		return answer_referral(lk, zone, node);
	case CANON_FIND_DNAME:
		return answer_dname(lk, node, name, target);
	case CANON_FIND_FOUND:
		return answer_node(lk, zone, node, name, false, target);
	case CANON_FIND_NXNAME:
		/* RFC 4592 §3.3.1: the wildcard child of the closest encloser, if any. */
		if (node->wildcard != NULL) {
			lk->nodata = false;
			int ret = answer_node(lk, zone, node->wildcard, name, true, target);
			if (ret == 0 && lk->dnssec) {
				ret = prove_wildcard(lk, zone, prepared, node);
			}
			return ret;
		}
		int ret = add_negative(lk, zone, KNOT_RCODE_NXDOMAIN);
		if (ret == 0 && lk->dnssec) {
			ret = prove_nxdomain(lk, zone, prepared, node);
		}
		return ret;
	}
	return 0;
}

int canon_lookup(const canon_zonetable_t *table, const canon_alias_source_t *aliases,
                 const knot_dname_t *qname, uint16_t qtype, unsigned flags, canon_answer_t *answer,
                 knot_mm_t *mm)
{
	/* Field by field: the chain's arrays need no zeroing (canon_chain_init_prepared). */
	lookup_t lk;
	lk.table = table;
	lk.aliases = aliases;
	lk.nested = (flags & LOOKUP_NESTED) != 0;
	lk.dnssec = (flags & CANON_LOOKUP_DNSSEC) != 0;
	lk.nodata = false;
	lk.minimal_any = (flags & CANON_LOOKUP_MINIMAL_ANY) != 0;
	lk.qtype = qtype;
	lk.answer = answer;
	lk.mm = mm;
	answer->rcode = KNOT_RCODE_NOERROR;
	answer->ede = KNOT_EDNS_EDE_NONE;
	answer->ede_text = NULL;
	answer->aa = false;
	answer->hops = 0;
	answer->flattened = false;
	answer->chain_end = CANON_CHAIN_COMPLETE;
	answer->truncated = false;
	for (int i = 0; i < 3; i++) {
		answer->section[i].rrs = answer->section[i].first;
		answer->section[i].count = 0;
		answer->section[i].capacity = CANON_SECTION_MAX;
	}

	/* The QNAME lives as long as the chain that points at it: here, not in the arena. */
	canon_name_t first;
	canon_name_prepare(&first, qname);
	const knot_dname_t *name = qname;
	const canon_name_t *prepared = &first;
	canon_chain_init_prepared(&lk.chain, prepared);
	for (;;) {
		const canon_zone_t *zone = zone_for(&lk, prepared);
		if (zone == NULL) {
			/* Not ours at all: REFUSED; a chain that leaves our zones ends here. */
			if (answer->hops == 0) {
				answer->rcode = KNOT_RCODE_REFUSED;
			} else {
				answer->chain_end = CANON_CHAIN_LEFT;
			}
			return 0;
		}
		if (canon_zone_unloaded(zone)) {
			/* A configured zone whose file failed to load: SERVFAIL, as BIND and Knot.
			 */
			answer->rcode = KNOT_RCODE_SERVFAIL;
			return 0;
		}
		if (answer->hops == 0) {
			answer->aa = true;
		}
		const knot_dname_t *target = NULL;
		int ret = answer_in_zone(&lk, zone, name, prepared, &target);
		if (ret != 0 || target == NULL) {
			return ret;
		}
		prepared = chase_to(&lk, target);
		if (prepared == NULL) {
			return answer->chain_end == CANON_CHAIN_COMPLETE ? -ENOMEM : 0;
		}
		name = target;
	}
}
