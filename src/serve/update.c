/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/soa.h>

#include "lib/check.h"
#include "lib/log.h"
#include "lib/name.h"
#include "lib/rrtext.h"
#include "serve/update.h"

/* A name as the update sees it: the zone's RRsets at it, copied on first touch. */
typedef struct {
	knot_dname_t *owner; /* Lower-case. */
	knot_rrset_t *rrsets;
	uint16_t count;
	uint16_t cap;
} draft_node_t;

/* The zone with the update's changes so far: only the names it touched are copied. */
typedef struct {
	const canon_zone_t *zone;
	const char *who;
	draft_node_t **slots; /* Open addressing by owner hash. */
	size_t mask;
	draft_node_t **nodes; /* In the order they were touched. */
	size_t count;
	bool soa_set; /* The update itself replaced the SOA (§3.4.2.2). */
	/* Strict callers (the API) have a change refused where RFC 2136 skips a record. */
	canon_update_refusal_t *refusal;
} draft_t;

static const knot_rdataset_t EMPTY_RRS = {0};

static void node_free(draft_node_t *node)
{
	for (uint16_t i = 0; i < node->count; i++) {
		knot_rdataset_clear(&node->rrsets[i].rrs, NULL);
	}
	free(node->rrsets);
	free(node->owner);
	free(node);
}

static void draft_free(draft_t *d)
{
	for (size_t i = 0; i < d->count; i++) {
		node_free(d->nodes[i]);
	}
	free(d->nodes);
	free(d->slots);
}

static knot_rrset_t *node_rrset(draft_node_t *node, uint16_t type)
{
	for (uint16_t i = 0; i < node->count; i++) {
		if (node->rrsets[i].type == type) {
			return &node->rrsets[i];
		}
	}
	return NULL;
}

static knot_rrset_t *node_add_rrset(draft_node_t *node, uint16_t type, uint32_t ttl)
{
	if (node->count == node->cap) {
		uint16_t cap = node->cap ? node->cap * 2 : 4;
		knot_rrset_t *rrsets = realloc(node->rrsets, cap * sizeof(*rrsets));
		if (rrsets == NULL) {
			return NULL;
		}
		node->rrsets = rrsets;
		node->cap = cap;
	}
	knot_rrset_t *rr = &node->rrsets[node->count++];
	knot_rrset_init(rr, node->owner, type, KNOT_CLASS_IN, ttl);
	return rr;
}

static void node_drop_rrset(draft_node_t *node, knot_rrset_t *rr)
{
	knot_rdataset_clear(&rr->rrs, NULL);
	*rr = node->rrsets[--node->count];
}

/* A draft node holding a copy of the zone's RRsets at 'lower'. */
static draft_node_t *node_new(const canon_zone_t *zone, const knot_dname_t *lower)
{
	draft_node_t *node = calloc(1, sizeof(*node));
	if (node == NULL || (node->owner = knot_dname_copy(lower, NULL)) == NULL) {
		free(node);
		return NULL;
	}
	const canon_node_t *base = canon_zone_get_name(zone, lower);
	for (uint16_t i = 0; base != NULL && i < base->rrset_count; i++) {
		const knot_rrset_t *src = &base->rrsets[i].rr;
		knot_rrset_t *rr = node_add_rrset(node, src->type, src->ttl);
		if (rr == NULL || knot_rdataset_copy(&rr->rrs, &src->rrs, NULL) != 0) {
			node_free(node);
			return NULL;
		}
	}
	return node;
}

static int draft_grow(draft_t *d)
{
	size_t size = (d->mask + 1) * 2;
	draft_node_t **slots = calloc(size, sizeof(*slots));
	draft_node_t **nodes = realloc(d->nodes, size / 2 * sizeof(*nodes));
	if (slots == NULL || nodes == NULL) {
		free(slots);
		if (nodes != NULL) {
			d->nodes = nodes;
		}
		return -1;
	}
	d->nodes = nodes;
	free(d->slots);
	d->slots = slots;
	d->mask = size - 1;
	for (size_t i = 0; i < d->count; i++) {
		size_t s = canon_name_hash(nodes[i]->owner) & d->mask;
		while (slots[s] != NULL) {
			s = (s + 1) & d->mask;
		}
		slots[s] = nodes[i];
	}
	return 0;
}

/* The draft node of 'lower'; with 'create', copied from the zone when not yet touched. */
static draft_node_t *draft_get(draft_t *d, const knot_dname_t *lower, bool create)
{
	size_t s = canon_name_hash(lower) & d->mask;
	for (; d->slots[s] != NULL; s = (s + 1) & d->mask) {
		if (knot_dname_is_equal(d->slots[s]->owner, lower)) {
			return d->slots[s];
		}
	}
	if (!create) {
		return NULL;
	}
	if ((d->count + 1) * 2 > d->mask + 1) {
		if (draft_grow(d) != 0) {
			return NULL;
		}
		return draft_get(d, lower, true);
	}
	draft_node_t *node = node_new(d->zone, lower);
	if (node == NULL) {
		return NULL;
	}
	d->slots[s] = node;
	d->nodes[d->count++] = node;
	return node;
}

static int draft_init(draft_t *d, const canon_zone_t *zone, const char *who)
{
	memset(d, 0, sizeof(*d));
	d->zone = zone;
	d->who = who;
	d->mask = 15;
	d->slots = calloc(d->mask + 1, sizeof(*d->slots));
	d->nodes = calloc((d->mask + 1) / 2, sizeof(*d->nodes));
	return d->slots && d->nodes ? 0 : -1;
}

/* Whether the draft holds an RRset of 'type' at 'lower'. */
static bool draft_has(draft_t *d, const knot_dname_t *lower, uint16_t type)
{
	draft_node_t *node = draft_get(d, lower, false);
	if (node != NULL) {
		return node_rrset(node, type) != NULL;
	}
	const canon_node_t *base = canon_zone_get_name(d->zone, lower);
	return base != NULL && canon_node_rrset(base, type) != NULL;
}

/* Whether any name strictly below 'lower' holds data in the draft. */
static bool draft_has_descendants(draft_t *d, const knot_dname_t *lower)
{
	for (size_t i = 0; i < d->count; i++) {
		if (d->nodes[i]->count > 0 &&
		    knot_dname_in_bailiwick(d->nodes[i]->owner, lower) > 0) {
			return true;
		}
	}
	for (size_t i = 0; i < d->zone->node_count; i++) {
		const canon_node_t *node = d->zone->nodes[i];
		if (node->rrset_count > 0 && knot_dname_in_bailiwick(node->owner, lower) > 0 &&
		    draft_get(d, node->owner, false) == NULL) {
			return true;
		}
	}
	return false;
}

/* Whether a DNAME above 'lower' (up to the apex) redirects it (RFC 6672 §2.3). */
static bool draft_below_dname(draft_t *d, const knot_dname_t *lower)
{
	const knot_dname_t *apex = d->zone->apex_name;
	for (const knot_dname_t *up = lower; !knot_dname_is_equal(up, apex);) {
		up = canon_name_parent(up);
		if (draft_has(d, up, KNOT_RRTYPE_DNAME)) {
			return true;
		}
	}
	return false;
}

static void log_skipped(draft_t *d, const knot_rrset_t *rr, const canon_rule_t *rule,
                        const char *why)
{
	char zone[KNOT_DNAME_TXT_MAXLEN + 1], owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
	knot_dname_to_str(zone, d->zone->apex_name, sizeof(zone));
	knot_dname_to_str(owner, rr->owner, sizeof(owner));
	knot_rrtype_to_string(rr->type, type, sizeof(type));
	canon_log(CANON_LOG_WARNING, "zone %s: update from %s: %s %s not applied: %s [%s]", zone,
	          d->who, owner, type, why, rule->id);
}

/* A strict caller's refusal: the rule, the record and the reason, in one sentence. */
static void refuse(draft_t *d, const knot_rrset_t *rr, const canon_rule_t *rule, const char *why)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32], data[512] = "";
	knot_dname_to_str(owner, rr->owner, sizeof(owner));
	canon_rrtype_name(rr->type, type, sizeof(type));
	if (rr->rrs.count > 0) {
		canon_rdata_format(rr->type, rr->rrs.rdata, data, sizeof(data));
	}
	d->refusal->rule = rule;
	snprintf(d->refusal->message, sizeof(d->refusal->message), "%s %s %s: %s [%s]", owner, type,
	         data, why, rule->id);
}

static const char *coexist_reason(const canon_rule_t *rule)
{
	if (rule == &CANON_RULE_DNAME_AND_CNAME) {
		return "a name holds a DNAME or a CNAME, not both (RFC 6672 §2.4, RFC 2136 "
		       "§3.4.2.2)";
	}
	if (rule == &CANON_RULE_ALIAS_AND_ADDRESS) {
		return "an ALIAS name holds no A, AAAA or CNAME of its own";
	}
	return "a CNAME name holds no other data (RFC 1034 §3.6.2, RFC 2181 §10.1, RFC 2136 "
	       "§3.4.2.2)";
}

/* The type the rules see at 'node': a CNAME the zone flattens is an ALIAS (lib/zone.h). */
static uint16_t ruled_type(const draft_t *d, const draft_node_t *node, uint16_t type)
{
	bool flat = type == KNOT_RRTYPE_CNAME && canon_zone_flattens(d->zone, node->owner);
	return flat ? CANON_RRTYPE_ALIAS : type;
}

/* The rule that forbids adding 'rr' at 'node' (RFC 2136 §3.4.2.2, RFC 6672 §5.2), or NULL. */
static const canon_rule_t *add_forbidden(draft_t *d, draft_node_t *node, const knot_rrset_t *rr,
                                         const char **why)
{
	if (draft_below_dname(d, node->owner)) {
		*why = "the name is below a DNAME, which redirects it (RFC 6672 §2.3)";
		return &CANON_RULE_DATA_BELOW_DNAME;
	}
	if (rr->type == KNOT_RRTYPE_DNAME && draft_has_descendants(d, node->owner)) {
		*why = "names below a DNAME owner would be unreachable (RFC 6672 §2.3)";
		return &CANON_RULE_DATA_BELOW_DNAME;
	}
	uint16_t type = ruled_type(d, node, rr->type);
	for (uint16_t i = 0; i < node->count; i++) {
		uint16_t other = ruled_type(d, node, node->rrsets[i].type);
		/* A CNAME and an ALIAS: the CNAME is not flattened there, and conflicts. */
		const canon_rule_t *rule = type == other && rr->type != node->rrsets[i].type
		                                   ? &CANON_RULE_ALIAS_AND_ADDRESS
		                                   : canon_check_coexist(type, other);
		if (rule != NULL) {
			*why = coexist_reason(rule);
			return rule;
		}
	}
	return NULL;
}

/* RFC 2136 §3.4.2.2: a SOA replaces the zone's when its serial is newer. */
static int add_soa(draft_t *d, draft_node_t *node, const knot_rrset_t *rr)
{
	knot_rrset_t *soa = node_rrset(node, KNOT_RRTYPE_SOA);
	if (!knot_dname_is_equal(node->owner, d->zone->apex_name) || soa == NULL ||
	    !canon_serial_newer(knot_soa_serial(rr->rrs.rdata), knot_soa_serial(soa->rrs.rdata))) {
		return 0; /* Ignored, as the RFC says. */
	}
	knot_rdataset_clear(&soa->rrs, NULL);
	soa->ttl = rr->ttl;
	d->soa_set = true;
	return knot_rdataset_add(&soa->rrs, rr->rrs.rdata, NULL) == 0 ? 0 : -1;
}

static int add_record(draft_t *d, draft_node_t *node, const knot_rrset_t *rr)
{
	if (rr->type == KNOT_RRTYPE_SOA) {
		return add_soa(d, node, rr);
	}
	const char *why = NULL;
	const canon_rule_t *rule = add_forbidden(d, node, rr, &why);
	if (rule != NULL && d->refusal != NULL) {
		refuse(d, rr, rule, why);
		return 1;
	}
	if (rule != NULL) {
		log_skipped(d, rr, rule, why);
		return 0;
	}
	knot_rrset_t *existing = node_rrset(node, rr->type);
	if (existing == NULL) {
		existing = node_add_rrset(node, rr->type, rr->ttl);
		if (existing == NULL) {
			return -1;
		}
	} else if (rr->type == KNOT_RRTYPE_CNAME || rr->type == KNOT_RRTYPE_DNAME ||
	           rr->type == CANON_RRTYPE_ALIAS) {
		/* §3.4.2.2: a CNAME replaces the CNAME; DNAME and ALIAS are single too. */
		knot_rdataset_clear(&existing->rrs, NULL);
	}
	/* Every record of a set has one TTL (RFC 2181 §5.2): the newest wins. */
	existing->ttl = rr->ttl;
	return knot_rdataset_add(&existing->rrs, rr->rrs.rdata, NULL) == 0 ? 0 : -1;
}

static bool is_apex(const draft_t *d, const draft_node_t *node)
{
	return knot_dname_is_equal(node->owner, d->zone->apex_name);
}

/* RFC 2136 §3.4.2.3: delete an RRset, or every RRset (type ANY) at the name. */
static void delete_rrsets(draft_t *d, draft_node_t *node, uint16_t type)
{
	for (uint16_t i = node->count; i-- > 0;) {
		uint16_t t = node->rrsets[i].type;
		if (type != KNOT_RRTYPE_ANY && t != type) {
			continue;
		}
		/* The apex keeps its SOA and NS. */
		if (is_apex(d, node) && (t == KNOT_RRTYPE_SOA || t == KNOT_RRTYPE_NS)) {
			continue;
		}
		node_drop_rrset(node, &node->rrsets[i]);
	}
}

/* RFC 2136 §3.4.2.4: delete one record; never the SOA, nor the apex's last NS. */
static void delete_record(draft_t *d, draft_node_t *node, const knot_rrset_t *rr)
{
	knot_rrset_t *existing = node_rrset(node, rr->type);
	if (existing == NULL || rr->type == KNOT_RRTYPE_SOA || rr->rrs.count == 0) {
		return;
	}
	if (rr->type == KNOT_RRTYPE_NS && is_apex(d, node) && existing->rrs.count == 1) {
		return;
	}
	knot_rdataset_remove(&existing->rrs, rr->rrs.rdata, NULL);
	if (existing->rrs.count == 0) {
		node_drop_rrset(node, existing);
	}
}

static int apply_update(draft_t *d, const knot_rrset_t *rr)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, rr->owner);
	draft_node_t *node = draft_get(d, lower, true);
	if (node == NULL) {
		return -1;
	}
	switch (rr->rclass) {
	case KNOT_CLASS_IN: {
		knot_rrset_t lowered = *rr;
		lowered.owner = node->owner;
		return add_record(d, node, &lowered);
	}
	case KNOT_CLASS_ANY:
		delete_rrsets(d, node, rr->type);
		return 0;
	default: /* KNOT_CLASS_NONE, checked by the prescan */
		delete_record(d, node, rr);
		return 0;
	}
}

static bool meta_type(uint16_t type)
{
	/* QTYPEs and pseudo-records: never data (RFC 2136 §3.4.1.3, RFC 6895 §3.1). */
	return type == KNOT_RRTYPE_ANY || type == KNOT_RRTYPE_AXFR || type == KNOT_RRTYPE_IXFR ||
	       type == 253 /* MAILB */ || type == 254 /* MAILA */ || type == KNOT_RRTYPE_OPT ||
	       type == KNOT_RRTYPE_TSIG || type == KNOT_RRTYPE_TKEY;
}

static bool empty_rdata(const knot_rrset_t *rr)
{
	return rr->rrs.count == 0 || rr->rrs.rdata->len == 0;
}

static bool in_zone(const canon_zone_t *zone, const knot_dname_t *owner)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, owner);
	return knot_dname_in_bailiwick(lower, zone->apex_name) >= 0;
}

/* RFC 2136 §3.4.1: every update record is checked before any is applied. */
static uint8_t prescan_update(const canon_zone_t *zone, const knot_rrset_t *rr)
{
	if (!in_zone(zone, rr->owner)) {
		return KNOT_RCODE_NOTZONE;
	}
	switch (rr->rclass) {
	case KNOT_CLASS_IN:
		return meta_type(rr->type) || empty_rdata(rr) ? KNOT_RCODE_FORMERR
		                                              : KNOT_RCODE_NOERROR;
	case KNOT_CLASS_ANY:
		return rr->ttl != 0 || !empty_rdata(rr) ||
		                       (meta_type(rr->type) && rr->type != KNOT_RRTYPE_ANY)
		               ? KNOT_RCODE_FORMERR
		               : KNOT_RCODE_NOERROR;
	case KNOT_CLASS_NONE:
		return rr->ttl != 0 || meta_type(rr->type) ? KNOT_RCODE_FORMERR
		                                           : KNOT_RCODE_NOERROR;
	default:
		return KNOT_RCODE_FORMERR;
	}
}

static const canon_node_t *zone_node(const canon_zone_t *zone, const knot_dname_t *owner)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, owner);
	return canon_zone_get_name(zone, lower);
}

/* RFC 2136 §3.2.5: the rcode of a prerequisite that does not hold, or NOERROR. */
static uint8_t check_prereq(const canon_zone_t *zone, const knot_rrset_t *rr)
{
	if (rr->ttl != 0) {
		return KNOT_RCODE_FORMERR;
	}
	if (!in_zone(zone, rr->owner)) {
		return KNOT_RCODE_NOTZONE;
	}
	const canon_node_t *node = zone_node(zone, rr->owner);
	bool in_use = node != NULL && !canon_node_empty(node);
	bool rrset = node != NULL && canon_node_rrset(node, rr->type) != NULL;
	switch (rr->rclass) {
	case KNOT_CLASS_ANY:
		if (!empty_rdata(rr)) {
			return KNOT_RCODE_FORMERR;
		}
		if (rr->type == KNOT_RRTYPE_ANY) {
			return in_use ? KNOT_RCODE_NOERROR : KNOT_RCODE_NXDOMAIN;
		}
		return rrset ? KNOT_RCODE_NOERROR : KNOT_RCODE_NXRRSET;
	case KNOT_CLASS_NONE:
		if (!empty_rdata(rr)) {
			return KNOT_RCODE_FORMERR;
		}
		if (rr->type == KNOT_RRTYPE_ANY) {
			return in_use ? KNOT_RCODE_YXDOMAIN : KNOT_RCODE_NOERROR;
		}
		return rrset ? KNOT_RCODE_YXRRSET : KNOT_RCODE_NOERROR;
	case KNOT_CLASS_IN:
		return meta_type(rr->type) ? KNOT_RCODE_FORMERR : KNOT_RCODE_NOERROR;
	default:
		return KNOT_RCODE_FORMERR;
	}
}

/* RFC 2136 §3.2.3: each value-dependent RRset must equal the zone's exactly. */
static uint8_t check_value_sets(const canon_zone_t *zone, const knot_pktsection_t *prereqs)
{
	canon_rrlist_t sets = {0};
	uint8_t rcode = KNOT_RCODE_NOERROR;
	for (uint16_t i = 0; i < prereqs->count && rcode == KNOT_RCODE_NOERROR; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(prereqs, i);
		if (rr->rclass != KNOT_CLASS_IN) {
			continue;
		}
		/* Gather the records of one owner and type into one set. */
		knot_rrset_t *set = NULL;
		for (size_t j = 0; j < sets.count && set == NULL; j++) {
			if (sets.items[j].type == rr->type &&
			    knot_dname_is_case_equal(sets.items[j].owner, rr->owner)) {
				set = &sets.items[j];
			}
		}
		int ret = set ? knot_rdataset_merge(&set->rrs, &rr->rrs, NULL)
		              : canon_rrlist_add_rrset(&sets, rr);
		rcode = ret == 0 ? KNOT_RCODE_NOERROR : KNOT_RCODE_SERVFAIL;
	}
	for (size_t j = 0; j < sets.count && rcode == KNOT_RCODE_NOERROR; j++) {
		const canon_node_t *node = zone_node(zone, sets.items[j].owner);
		const canon_rrset_t *have =
		        node ? canon_node_rrset(node, sets.items[j].type) : NULL;
		if (!knot_rdataset_eq(have ? &have->rr.rrs : &EMPTY_RRS, &sets.items[j].rrs)) {
			rcode = KNOT_RCODE_NXRRSET;
		}
	}
	canon_changeset_t holder = {.added = sets};
	canon_changeset_clear(&holder);
	return rcode;
}

static uint8_t check_prereqs(const canon_zone_t *zone, const knot_pkt_t *query)
{
	const knot_pktsection_t *prereqs = knot_pkt_section(query, KNOT_ANSWER);
	for (uint16_t i = 0; i < prereqs->count; i++) {
		uint8_t rcode = check_prereq(zone, knot_pkt_rr(prereqs, i));
		if (rcode != KNOT_RCODE_NOERROR) {
			return rcode;
		}
	}
	return check_value_sets(zone, prereqs);
}

/* The new SOA: the update's own when it set a newer one, else the old serial + 1. */
static int new_soa(draft_t *d, knot_rrset_t *soa)
{
	knot_rrset_init(soa, d->zone->apex_name, KNOT_RRTYPE_SOA, KNOT_CLASS_IN, 0);
	const knot_rrset_t *old = &d->zone->soa->rr;
	draft_node_t *apex = draft_get(d, d->zone->apex_name, false);
	const knot_rrset_t *src = d->soa_set ? node_rrset(apex, KNOT_RRTYPE_SOA) : old;
	soa->ttl = src->ttl;
	if (knot_rdataset_copy(&soa->rrs, &src->rrs, NULL) != 0) {
		return -1;
	}
	if (!d->soa_set) {
		/* RFC 2136 §3.6: the serial grows with every change (RFC 1982 wraps). */
		knot_soa_serial_set(soa->rrs.rdata, knot_soa_serial(old->rrs.rdata) + 1);
	}
	return 0;
}

/* The draft's difference from the zone, SOAs first (RFC 1995 §4 order). */
static int draft_changes(draft_t *d, canon_changeset_t *ch)
{
	knot_rrset_t soa;
	if (new_soa(d, &soa) != 0) {
		return -1;
	}
	const knot_rrset_t *old_soa = &d->zone->soa->rr;
	ch->serial_from = knot_soa_serial(old_soa->rrs.rdata);
	ch->serial_to = knot_soa_serial(soa.rrs.rdata);
	int ret = canon_rrlist_add_rrset(&ch->removed, old_soa);
	if (ret == 0) {
		ret = canon_rrlist_add_rrset(&ch->added, &soa);
	}
	knot_rdataset_clear(&soa.rrs, NULL);
	for (size_t i = 0; ret == 0 && i < d->count; i++) {
		draft_node_t *node = d->nodes[i];
		const canon_node_t *base = canon_zone_get_name(d->zone, node->owner);
		for (uint16_t j = 0; ret == 0 && base != NULL && j < base->rrset_count; j++) {
			const knot_rrset_t *old = &base->rrsets[j].rr;
			if (old->type != KNOT_RRTYPE_SOA) {
				ret = canon_rrlist_add_missing(&ch->removed, old,
				                               node_rrset(node, old->type));
			}
		}
		for (uint16_t j = 0; ret == 0 && j < node->count; j++) {
			const knot_rrset_t *now = &node->rrsets[j];
			const canon_rrset_t *old = base ? canon_node_rrset(base, now->type) : NULL;
			if (now->type != KNOT_RRTYPE_SOA) {
				ret = canon_rrlist_add_missing(&ch->added, now,
				                               old ? &old->rr : NULL);
			}
		}
	}
	return ret;
}

static uint8_t prescan_all(const canon_zone_t *zone, const knot_pktsection_t *updates)
{
	for (uint16_t i = 0; i < updates->count; i++) {
		uint8_t rcode = prescan_update(zone, knot_pkt_rr(updates, i));
		if (rcode != KNOT_RCODE_NOERROR) {
			return rcode;
		}
	}
	return KNOT_RCODE_NOERROR;
}

uint8_t canon_update_process(const canon_zone_t *zone, const knot_pkt_t *query, const char *who,
                             canon_changeset_t *ch)
{
	uint8_t rcode = check_prereqs(zone, query);
	const knot_pktsection_t *updates = knot_pkt_section(query, KNOT_AUTHORITY);
	if (rcode == KNOT_RCODE_NOERROR) {
		rcode = prescan_all(zone, updates);
	}
	if (rcode != KNOT_RCODE_NOERROR) {
		return rcode;
	}
	draft_t d;
	if (draft_init(&d, zone, who) != 0) {
		draft_free(&d);
		return KNOT_RCODE_SERVFAIL;
	}
	for (uint16_t i = 0; i < updates->count && rcode == KNOT_RCODE_NOERROR; i++) {
		if (apply_update(&d, knot_pkt_rr(updates, i)) != 0) {
			rcode = KNOT_RCODE_SERVFAIL;
		}
	}
	if (rcode == KNOT_RCODE_NOERROR && draft_changes(&d, ch) != 0) {
		rcode = KNOT_RCODE_SERVFAIL;
	}
	if (rcode == KNOT_RCODE_NOERROR && canon_changeset_empty(ch) && !d.soa_set) {
		/* Nothing changed: no new version and no new serial (RFC 2136 §3.6). */
		canon_changeset_clear(ch);
	}
	draft_free(&d);
	return rcode;
}

/* Pass 1 of an API change: the RRsets it replaces or deletes go. */
static int api_remove(draft_t *d, const canon_rrset_change_t *c, knot_dname_t *lower)
{
	draft_node_t *node = draft_get(d, lower, true);
	if (node == NULL) {
		return -ENOMEM;
	}
	knot_rrset_t *existing = node_rrset(node, c->rrset.type);
	bool apex = is_apex(d, node);
	if (apex && c->rrset.type == KNOT_RRTYPE_NS && c->rrset.rrs.count == 0) {
		snprintf(d->refusal->message, sizeof(d->refusal->message),
		         "the apex keeps its NS RRset (RFC 1034 §4.2.1)");
		return -EINVAL;
	}
	if (c->rrset.type == KNOT_RRTYPE_SOA && (!apex || c->rrset.rrs.count != 1)) {
		snprintf(d->refusal->message, sizeof(d->refusal->message),
		         "a zone has exactly one SOA, at its apex (RFC 1035 §5.2)");
		return -EINVAL;
	}
	if (existing != NULL && c->rrset.type != KNOT_RRTYPE_SOA) {
		node_drop_rrset(node, existing);
	}
	return 0;
}

/* An API SOA: taken as it is, with a serial above the old one (RFC 1982). */
static int api_soa(draft_t *d, draft_node_t *node, const knot_rrset_t *rr)
{
	knot_rrset_t *soa = node_rrset(node, KNOT_RRTYPE_SOA);
	uint32_t old = knot_soa_serial(d->zone->soa->rr.rrs.rdata);
	knot_rdataset_clear(&soa->rrs, NULL);
	soa->ttl = rr->ttl;
	if (knot_rdataset_add(&soa->rrs, rr->rrs.rdata, NULL) != 0) {
		return -ENOMEM;
	}
	if (!canon_serial_newer(knot_soa_serial(soa->rrs.rdata), old)) {
		knot_soa_serial_set(soa->rrs.rdata, old + 1);
	}
	d->soa_set = true;
	return 0;
}

/* The rule of the types a name holds one record of, or NULL. */
static const canon_rule_t *single_rule(uint16_t type)
{
	switch (type) {
	case KNOT_RRTYPE_CNAME:
		return &CANON_RULE_MULTIPLE_CNAMES;
	case KNOT_RRTYPE_DNAME:
		return &CANON_RULE_MULTIPLE_DNAMES;
	case CANON_RRTYPE_ALIAS:
		return &CANON_RULE_MULTIPLE_ALIASES;
	default:
		return NULL;
	}
}

/* Pass 2: the records of the replaced RRsets come, each checked by the alias rules. */
static int api_add(draft_t *d, const canon_rrset_change_t *c, knot_dname_t *lower)
{
	draft_node_t *node = draft_get(d, lower, true);
	if (node == NULL) {
		return -ENOMEM;
	}
	knot_rrset_t one = c->rrset;
	one.owner = node->owner;
	if (c->rrset.type == KNOT_RRTYPE_SOA) {
		return api_soa(d, node, &one);
	}
	const canon_rule_t *single = single_rule(c->rrset.type);
	if (single != NULL && c->rrset.rrs.count > 1) {
		/* RFC 2136 replaces such a record; a PATCH naming two of them asks for the
		 * impossible. */
		refuse(d, &one, single,
		       "a name holds one such record (RFC 2181 §10.1, RFC 6672 §2.4)");
		return -EINVAL;
	}
	knot_rdata_t *rd = c->rrset.rrs.rdata;
	for (uint16_t i = 0; i < c->rrset.rrs.count; i++, rd = knot_rdataset_next(rd)) {
		one.rrs.count = 1;
		one.rrs.size = (uint32_t)knot_rdata_size(rd->len);
		one.rrs.rdata = rd;
		int ret = add_record(d, node, &one);
		if (ret != 0) {
			return ret > 0 ? -EINVAL : -ENOMEM;
		}
	}
	return 0;
}

static int api_check(const canon_zone_t *zone, const canon_rrset_change_t *c, char *message,
                     size_t size)
{
	if (!in_zone(zone, c->rrset.owner)) {
		char owner[KNOT_DNAME_TXT_MAXLEN + 1];
		knot_dname_to_str(owner, c->rrset.owner, sizeof(owner));
		snprintf(message, size, "%s is out of the zone", owner);
		return -EINVAL;
	}
	if (meta_type(c->rrset.type)) {
		snprintf(message, size, "type %u is not data (RFC 6895 §3.1)", c->rrset.type);
		return -EINVAL;
	}
	return 0;
}

int canon_update_rrsets(const canon_zone_t *zone, const canon_rrset_change_t *changes, size_t count,
                        const char *who, canon_changeset_t *ch, canon_update_refusal_t *refusal)
{
	draft_t d;
	if (draft_init(&d, zone, who) != 0) {
		draft_free(&d);
		return -ENOMEM;
	}
	d.refusal = refusal;
	refusal->rule = NULL;
	refusal->message[0] = '\0';
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < count; i++) {
		ret = api_check(zone, &changes[i], refusal->message, sizeof(refusal->message));
	}
	/* Removals first, so that one PATCH can turn an A into a CNAME. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; ret == 0 && i < count; i++) {
			knot_dname_storage_t lower;
			knot_dname_copy_lower(lower, changes[i].rrset.owner);
			if (pass == 0) {
				ret = api_remove(&d, &changes[i], lower);
			} else if (changes[i].op == CANON_RRSET_REPLACE) {
				ret = api_add(&d, &changes[i], lower);
			}
		}
	}
	if (ret == 0 && draft_changes(&d, ch) != 0) {
		ret = -ENOMEM;
	}
	if (ret == 0 && canon_changeset_empty(ch) && !d.soa_set) {
		canon_changeset_clear(ch);
	}
	draft_free(&d);
	return ret;
}
