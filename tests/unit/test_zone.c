/*
 * Unit tests of a zone version apart from its file (lib/zone.c, lib/positions.c):
 * the canonical walk, flattening as a node flag, checks with and without
 * the loader's positions, and the DNSSEC views made at seal (signatures per
 * covered type, the NSEC index).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libknot/descriptor.h>

#include "lib/denial.h"
#include "lib/zone_load.h"

/* Add one record given in presentation form ("192.0.2.1" for A, a name for NS/CNAME). */
static void add(canon_zone_t *zone, const char *owner, uint16_t type, const char *data)
{
	knot_dname_storage_t name;
	assert_non_null(knot_dname_from_str(name, owner, sizeof(name)));
	uint8_t rdata[KNOT_DNAME_MAXLEN + 32];
	uint16_t len = 0;
	if (type == KNOT_RRTYPE_A) {
		unsigned a, b, c, d;
		assert_int_equal(sscanf(data, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
		rdata[0] = (uint8_t)a, rdata[1] = (uint8_t)b, rdata[2] = (uint8_t)c;
		rdata[3] = (uint8_t)d;
		len = 4;
	} else if (type == KNOT_RRTYPE_SOA) {
		/* Two root names and five counters: enough for the seal. */
		memset(rdata, 0, 22);
		rdata[21] = 60;
		len = 22;
	} else {
		assert_non_null(knot_dname_from_str(rdata, data, sizeof(rdata)));
		len = (uint16_t)knot_dname_size(rdata);
	}
	bool ttl_mismatch = true;
	assert_int_equal(canon_zone_add(zone, name, type, 300, rdata, len, &ttl_mismatch), 0);
	assert_false(ttl_mismatch);
}

static canon_zone_t *new_zone(const char *apex)
{
	knot_dname_storage_t name;
	assert_non_null(knot_dname_from_str(name, apex, sizeof(name)));
	canon_zone_t *zone = canon_zone_new(name);
	assert_non_null(zone);
	add(zone, apex, KNOT_RRTYPE_SOA, NULL);
	return zone;
}

typedef struct {
	char names[32][KNOT_DNAME_TXT_MAXLEN + 1];
	const canon_node_t *nodes[32];
	size_t count;
	size_t stop_at; /* Stop the walk after this many nodes (0: never). */
} walked_t;

static int collect(const canon_node_t *node, void *ctx)
{
	walked_t *w = ctx;
	assert_true(w->count < 32);
	w->nodes[w->count] = node;
	knot_dname_to_str(w->names[w->count++], node->owner, sizeof(w->names[0]));
	return w->count == w->stop_at ? 7 : 0;
}

/* RFC 4034 §6.1's example, added in scrambled order and mixed case. */
static void test_walk_canonical_order(void **state)
{
	(void)state;
	static const char *const expected[] = {
	        "example.",         "a.example.",      "yljkjljk.a.example.",
	        "z.a.example.",     "zabc.a.example.", "z.example.",
	        "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
	};
	static const char *const scrambled[] = {
	        "\\200.z.example.", "zABC.a.EXAMPLE.",     "*.z.example.", "Z.a.example.",
	        "\\001.z.example.", "yljkjljk.a.example.", "z.example.",   "a.example.",
	};
	canon_zone_t *zone = new_zone("example.");
	for (size_t i = 0; i < sizeof(scrambled) / sizeof(scrambled[0]); i++) {
		add(zone, scrambled[i], KNOT_RRTYPE_A, "192.0.2.1");
	}
	assert_int_equal(canon_zone_seal(zone), 0);
	walked_t w = {.count = 0};
	assert_int_equal(canon_zone_walk(zone, collect, &w), 0);
	assert_int_equal(w.count, sizeof(expected) / sizeof(expected[0]));
	for (size_t i = 0; i < w.count; i++) {
		assert_string_equal(w.names[i], expected[i]);
	}
	/* The hash index still finds every name after the sort. */
	knot_dname_storage_t lower;
	knot_dname_from_str(lower, "zabc.a.example.", sizeof(lower));
	assert_non_null(canon_zone_get_name(zone, lower));
	/* A non-zero return stops the walk and is returned. */
	w = (walked_t){.stop_at = 3};
	assert_int_equal(canon_zone_walk(zone, collect, &w), 7);
	assert_int_equal(w.count, 3);
	canon_zone_free(zone);
}

/* Empty non-terminals made at the seal take their place in the order too. */
static void test_walk_empty_non_terminals(void **state)
{
	(void)state;
	canon_zone_t *zone = new_zone("example.");
	add(zone, "b.y.x.example.", KNOT_RRTYPE_A, "192.0.2.1");
	add(zone, "a.example.", KNOT_RRTYPE_A, "192.0.2.2");
	add(zone, "a.y.x.example.", KNOT_RRTYPE_A, "192.0.2.3");
	assert_int_equal(canon_zone_seal(zone), 0);
	walked_t w = {.count = 0};
	assert_int_equal(canon_zone_walk(zone, collect, &w), 0);
	static const char *const expected[] = {"example.",     "a.example.",     "x.example.",
	                                       "y.x.example.", "a.y.x.example.", "b.y.x.example."};
	assert_int_equal(w.count, 6);
	for (size_t i = 0; i < w.count; i++) {
		assert_string_equal(w.names[i], expected[i]);
	}
	assert_true(canon_node_empty(w.nodes[2]));
	assert_ptr_equal(w.nodes[0], zone->apex);
	canon_zone_free(zone);
}

static const canon_node_t *node(const canon_zone_t *zone, const char *name)
{
	knot_dname_storage_t lower;
	knot_dname_from_str(lower, name, sizeof(lower));
	return canon_zone_get_name(zone, lower);
}

/* The flatten mode is a policy: the CNAMEs stay, the covered nodes get the flag. */
static void test_flatten_flags(void **state)
{
	(void)state;
	static const canon_flatten_t modes[] = {CANON_FLATTEN_NONE, CANON_FLATTEN_APEX,
	                                        CANON_FLATTEN_ALL};
	for (size_t m = 0; m < 3; m++) {
		canon_zone_t *zone = new_zone("example.");
		add(zone, "example.", KNOT_RRTYPE_CNAME, "target.example.net.");
		add(zone, "www.example.", KNOT_RRTYPE_CNAME, "target.example.net.");
		zone->flatten = modes[m];
		assert_int_equal(canon_zone_seal(zone), 0);
		const canon_node_t *apex = node(zone, "example."),
		                   *www = node(zone, "www.example.");
		bool apex_flat = modes[m] != CANON_FLATTEN_NONE;
		bool www_flat = modes[m] == CANON_FLATTEN_ALL;
		assert_int_equal(!!(apex->flags & CANON_NODE_FLATTENED), apex_flat);
		assert_int_equal(!!(apex->flags & CANON_NODE_CNAME), !apex_flat);
		assert_int_equal(!!(www->flags & CANON_NODE_FLATTENED), www_flat);
		assert_int_equal(!!(www->flags & CANON_NODE_ALIAS), www_flat);
		/* The zone keeps the CNAME as written; canon_node_alias() hands it out. */
		const canon_rrset_t *cname = canon_node_rrset(apex, KNOT_RRTYPE_CNAME);
		assert_non_null(cname);
		assert_null(canon_node_rrset(apex, CANON_RRTYPE_ALIAS));
		assert_ptr_equal(canon_node_alias(apex), apex_flat ? cname : NULL);
		canon_zone_free(zone);
	}
}

/* The finding of 'rule', or NULL. */
static const canon_finding_t *find(const canon_findings_t *findings, const char *rule)
{
	for (size_t i = 0; i < findings->count; i++) {
		if (strcmp(findings->items[i].rule->id, rule) == 0) {
			return &findings->items[i];
		}
	}
	return NULL;
}

/* With positions the findings have file:line; without, the owner and type. */
static void test_check_with_and_without_positions(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/unit/bad-cname-other.zone", CANON_TEST_ZONES);
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *zone = NULL;
	canon_zone_positions_t *positions = NULL;
	assert_int_equal(canon_zone_load_full("bad.test.", path, CANON_FLATTEN_NONE, &findings,
	                                      &zone, &positions),
	                 0);
	assert_non_null(positions);
	const canon_finding_t *f = find(&findings, "cname-and-other-data");
	assert_non_null(f);
	assert_string_equal(f->file, path);
	assert_int_equal(f->line, 7);
	assert_non_null(strstr(f->message, "(line 6)"));
	const canon_rrset_pos_t *pos =
	        canon_positions_get(positions, node(zone, "two.bad.test."), KNOT_RRTYPE_CNAME);
	assert_non_null(pos);
	assert_int_equal(pos->line, 8);
	assert_int_equal(canon_rrset_pos_last_line(pos), 9);
	assert_string_equal(canon_positions_file(positions, pos->file), path);
	size_t with = findings.count;
	canon_findings_free(&findings);

	canon_check_zone(zone, NULL, &findings);
	assert_int_equal(findings.count, with);
	f = find(&findings, "cname-and-other-data");
	assert_non_null(f);
	assert_null(f->file);
	assert_int_equal(f->line, 0);
	assert_null(strstr(f->message, "(line"));
	char place[256];
	canon_finding_place(f, place, sizeof(place));
	assert_string_equal(place, "www.bad.test. A");
	f = find(&findings, "multiple-cnames");
	canon_finding_place(f, place, sizeof(place));
	assert_string_equal(place, "two.bad.test. CNAME");
	canon_findings_free(&findings);
	canon_positions_free(positions);
	canon_zone_free(zone);
}

static void add_raw(canon_zone_t *zone, const char *owner, uint16_t type, uint32_t ttl,
                    const uint8_t *rdata, uint16_t len)
{
	knot_dname_storage_t name;
	assert_non_null(knot_dname_from_str(name, owner, sizeof(name)));
	bool ttl_mismatch = true;
	assert_int_equal(canon_zone_add(zone, name, type, ttl, rdata, len, &ttl_mismatch), 0);
	assert_false(ttl_mismatch); /* RRSIGs of one name may differ in TTL (RFC 4034 §3). */
}

/* An RRSIG covering 'covered' with a one-octet signature 'tag' (enough for the views). */
static void add_sig(canon_zone_t *zone, const char *owner, uint16_t covered, uint32_t ttl,
                    uint8_t tag)
{
	uint8_t rdata[64] = {(uint8_t)(covered >> 8), (uint8_t)covered, 13, 2};
	size_t len = 18;
	assert_non_null(knot_dname_from_str(rdata + len, "sig.test.", sizeof(rdata) - len));
	len += knot_dname_size(rdata + len);
	rdata[len++] = tag;
	add_raw(zone, owner, KNOT_RRTYPE_RRSIG, ttl, rdata, (uint16_t)len);
}

/* An NSEC to 'next' (an empty type bitmap is enough here). */
static void add_nsec(canon_zone_t *zone, const char *owner, const char *next)
{
	uint8_t rdata[KNOT_DNAME_MAXLEN];
	assert_non_null(knot_dname_from_str(rdata, next, sizeof(rdata)));
	add_raw(zone, owner, KNOT_RRTYPE_NSEC, 60, rdata, (uint16_t)knot_dname_size(rdata));
}

static uint16_t first_covered(const knot_rrset_t *sigs)
{
	return (uint16_t)(sigs->rrs.rdata->data[0] << 8 | sigs->rrs.rdata->data[1]);
}

static void test_signature_views(void **state)
{
	(void)state;
	canon_zone_t *zone = new_zone("sig.test.");
	add(zone, "www.sig.test.", KNOT_RRTYPE_A, "192.0.2.1");
	add(zone, "www.sig.test.", KNOT_RRTYPE_NS, "ns.sig.test.");
	add_nsec(zone, "www.sig.test.", "sig.test.");
	/* Added out of order: two for A, one for NSEC, none for NS. */
	add_sig(zone, "www.sig.test.", KNOT_RRTYPE_NSEC, 60, 3);
	add_sig(zone, "www.sig.test.", KNOT_RRTYPE_A, 300, 2);
	add_sig(zone, "www.sig.test.", KNOT_RRTYPE_A, 300, 1);
	assert_int_equal(canon_zone_seal(zone), 0);
	knot_dname_storage_t www;
	knot_dname_from_str(www, "www.sig.test.", sizeof(www));
	const canon_node_t *node = canon_zone_get_name(zone, www);
	const canon_rrset_t *a = canon_node_rrset(node, KNOT_RRTYPE_A);
	const canon_rrset_t *nsec = canon_node_rrset(node, KNOT_RRTYPE_NSEC);
	assert_non_null(a->sigs);
	assert_int_equal(a->sigs->rrs.count, 2);
	assert_int_equal(first_covered(a->sigs), KNOT_RRTYPE_A);
	assert_int_equal(a->sigs->ttl, 300);
	assert_non_null(nsec->sigs);
	assert_int_equal(nsec->sigs->rrs.count, 1);
	assert_int_equal(first_covered(nsec->sigs), KNOT_RRTYPE_NSEC);
	assert_int_equal(nsec->sigs->ttl, 60);
	assert_null(canon_node_rrset(node, KNOT_RRTYPE_NS)->sigs);
	assert_null(zone->soa->sigs); /* Unsigned SOA: no view, no negative SOA RRSIG. */
	assert_int_equal(zone->negative_soa_sigs.rrs.count, 0);
	canon_zone_free(zone);
}

/* The NSEC that matches or covers a name: its canonical predecessor (RFC 4034 §6.1). */
static void test_nsec_index(void **state)
{
	(void)state;
	canon_zone_t *zone = new_zone("n.test.");
	add_nsec(zone, "n.test.", "a.n.test.");
	add_nsec(zone, "a.n.test.", "z.a.n.test.");
	add_nsec(zone, "z.a.n.test.", "c.n.test.");
	add_nsec(zone, "c.n.test.", "n.test.");
	add(zone, "x.y.c.n.test.", KNOT_RRTYPE_A, "192.0.2.1"); /* Unsigned here: no NSEC. */
	assert_int_equal(canon_zone_seal(zone), 0);
	assert_int_equal(zone->denial, CANON_DENIAL_NSEC);
	assert_int_equal(zone->denial_count, 4);
	static const struct {
		const char *name, *owner;
		bool match;
	} cases[] = {
	        {"n.test.", "n.test.", true},           {"0.n.test.", "n.test.", false},
	        {"a.n.test.", "a.n.test.", true},       {"b.a.n.test.", "a.n.test.", false},
	        {"zz.a.n.test.", "z.a.n.test.", false}, {"b.n.test.", "z.a.n.test.", false},
	        {"y.c.n.test.", "c.n.test.", false},    {"zzz.n.test.", "c.n.test.", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		knot_dname_storage_t name, owner;
		knot_dname_from_str(name, cases[i].name, sizeof(name));
		knot_dname_from_str(owner, cases[i].owner, sizeof(owner));
		bool match = !cases[i].match;
		const canon_rrset_t *nsec = canon_denial_nsec(zone, name, &match);
		assert_non_null(nsec);
		if (!knot_dname_is_equal(nsec->rr.owner, owner) || match != cases[i].match) {
			fail_msg("%s: wrong NSEC", cases[i].name);
		}
	}
	canon_zone_free(zone);
}

/* Whether [p, p + size) lies in the octets of 'rrs'. */
static bool in_rdataset(const knot_rdataset_t *rrs, const void *p, size_t size)
{
	const uint8_t *start = (const uint8_t *)rrs->rdata;
	return (const uint8_t *)p >= start && (const uint8_t *)p + size <= start + rrs->size;
}

/* One node of a sealed zone: in the store, its links and views pointing at the moved copies. */
static void check_stored_node(const canon_zone_t *zone, const canon_node_t *node)
{
	assert_true(node->flags & CANON_NODE_STORED);
	assert_ptr_equal(node->owner, (const uint8_t *)(node + 1));
	assert_ptr_equal(canon_zone_get_name(zone, node->owner), node);
	if (node == zone->apex) {
		assert_null(node->parent);
	} else {
		assert_ptr_equal(node->parent,
		                 canon_zone_get_name(zone, canon_name_parent(node->owner)));
	}
	knot_dname_storage_t star = {1, '*'};
	memcpy(star + 2, node->owner, node->owner_size);
	assert_ptr_equal(node->wildcard, canon_zone_get_name(zone, star));
	const canon_rrset_t *rrsig = canon_node_rrset(node, KNOT_RRTYPE_RRSIG);
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const canon_rrset_t *rrset = &node->rrsets[i];
		assert_ptr_equal(rrset->rr.owner, node->owner);
		if (rrset->sigs != NULL) {
			assert_non_null(rrsig);
			assert_ptr_equal(rrset->sigs->owner, node->owner);
			assert_true(in_rdataset(&rrsig->rr.rrs, rrset->sigs->rrs.rdata,
			                        rrset->sigs->rrs.size));
		}
	}
}

/*
 * The seal moves every node into the zone's store (zone_compact): enough
 * names to fill several node slabs, empty non-terminals, a wildcard, an RRset
 * of many records and signatures; after it every link, view and record must
 * be those of the moved copies.
 */
static void test_sealed_store(void **state)
{
	(void)state;
	canon_zone_t *zone = new_zone("sig.test.");
	char owner[64], addr[32];
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(owner, sizeof(owner), "h%u.e%u.sig.test.", i, i % 7); /* e0..e6: ENTs */
		snprintf(addr, sizeof(addr), "10.%u.%u.1", i / 256, i % 256);
		add(zone, owner, KNOT_RRTYPE_A, addr);
	}
	for (unsigned i = 0; i < 40; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%u", i);
		add(zone, "many.sig.test.", KNOT_RRTYPE_A, addr);
	}
	add(zone, "*.e3.sig.test.", KNOT_RRTYPE_A, "192.0.2.200");
	add(zone, "h5.e5.sig.test.", KNOT_RRTYPE_NS, "ns.example.");
	add_sig(zone, "h5.e5.sig.test.", KNOT_RRTYPE_A, 300, 1);
	add_sig(zone, "sig.test.", KNOT_RRTYPE_SOA, 300, 2);
	add_nsec(zone, "sig.test.", "h0.e0.sig.test.");
	add_sig(zone, "sig.test.", KNOT_RRTYPE_NSEC, 60, 3);
	assert_int_equal(canon_zone_seal(zone), 0);
	assert_null(zone->slabs); /* Every node moved. */
	for (size_t i = 0; i < zone->node_count; i++) {
		assert_int_equal(zone->nodes[i]->id, i);
		check_stored_node(zone, zone->nodes[i]);
	}
	assert_ptr_equal(zone->soa, canon_node_rrset(zone->apex, KNOT_RRTYPE_SOA));
	assert_ptr_equal(zone->negative_soa.rrs.rdata, zone->soa->rr.rrs.rdata);
	assert_ptr_equal(zone->negative_soa_sigs.rrs.rdata, zone->soa->sigs->rrs.rdata);
	assert_int_equal(zone->denial, CANON_DENIAL_NSEC);
	assert_ptr_equal(zone->denial_nodes[0], zone->apex);
	knot_dname_storage_t name;
	knot_dname_from_str(name, "h2999.e3.sig.test.", sizeof(name));
	const canon_rrset_t *a = canon_node_rrset(canon_zone_get_name(zone, name), KNOT_RRTYPE_A);
	static const uint8_t last[] = {10, 11, 183, 1};
	assert_int_equal(a->rr.rrs.count, 1);
	assert_memory_equal(a->rr.rrs.rdata->data, last, sizeof(last));
	knot_dname_from_str(name, "many.sig.test.", sizeof(name));
	a = canon_node_rrset(canon_zone_get_name(zone, name), KNOT_RRTYPE_A);
	assert_int_equal(a->rr.rrs.count, 40);
	const knot_rdata_t *rd = a->rr.rrs.rdata;
	for (uint16_t i = 0; i < a->rr.rrs.count;
	     i++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
		assert_int_equal(rd->len, 4);
		assert_int_equal(rd->data[3], i); /* Sorted as octets (knot_rdata_cmp). */
	}
	canon_zone_free(zone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_walk_canonical_order),
	        cmocka_unit_test(test_walk_empty_non_terminals),
	        cmocka_unit_test(test_flatten_flags),
	        cmocka_unit_test(test_check_with_and_without_positions),
	        cmocka_unit_test(test_signature_views),
	        cmocka_unit_test(test_nsec_index),
	        cmocka_unit_test(test_sealed_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
