/*
 * Unit tests of the answer algorithm (lib/lookup.c) on zones loaded in memory.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <cmocka.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>

#include "lib/arena.h"
#include "lib/lookup.h"
#include "lib/zone_load.h"

typedef struct {
	canon_zonetable_t *table;
	canon_arena_t arena;
	canon_answer_t answer;
} fixture_t;

static canon_zone_t *load(const char *origin, const char *file)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/unit/%s", CANON_TEST_ZONES, file);
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *zone = NULL;
	assert_int_equal(canon_zone_load(origin, path, &findings, &zone), 0);
	assert_false(canon_findings_block_load(&findings));
	canon_findings_free(&findings);
	return zone;
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	canon_zone_t *zones[] = {
	        load("alias.test.", "alias.test.zone"),
	        load("other.test.", "other.test.zone"),
	        load("chain.test.", "chain.test.zone"),
	};
	f->table = canon_zonetable_new(zones, 3);
	assert_int_equal(canon_arena_init(&f->arena, 64 * 1024), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	canon_zonetable_free(f->table);
	canon_arena_deinit(&f->arena);
	free(f);
	return 0;
}

static const canon_answer_t *ask(fixture_t *f, const char *qname, uint16_t qtype)
{
	knot_dname_storage_t name;
	assert_non_null(knot_dname_from_str(name, qname, sizeof(name)));
	canon_arena_reset(&f->arena);
	assert_int_equal(canon_lookup(f->table, NULL, name, qtype, 0, &f->answer, &f->arena.mm), 0);
	return &f->answer;
}

/* Assert record 'i' of 'section' has this owner and type. */
static void assert_rr(const canon_answer_t *a, knot_section_t section, uint16_t i,
                      const char *owner, uint16_t type)
{
	assert_true(i < a->section[section].count);
	const knot_rrset_t *rr = a->section[section].rrs[i].rr;
	knot_dname_storage_t want;
	knot_dname_from_str(want, owner, sizeof(want));
	char got[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(got, rr->owner, sizeof(got));
	if (!knot_dname_is_equal(rr->owner, want)) {
		fail_msg("section %d record %u: owner %s, expected %s", section, i, got, owner);
	}
	assert_int_equal(rr->type, type);
}

static void assert_counts(const canon_answer_t *a, uint8_t rcode, uint16_t an, uint16_t ns,
                          uint16_t ar)
{
	assert_int_equal(a->rcode, rcode);
	assert_int_equal(a->section[KNOT_ANSWER].count, an);
	assert_int_equal(a->section[KNOT_AUTHORITY].count, ns);
	assert_int_equal(a->section[KNOT_ADDITIONAL].count, ar);
}

static void test_plain_answer(void **state)
{
	const canon_answer_t *a = ask(*state, "alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
	assert_true(a->aa);
	assert_rr(a, KNOT_ANSWER, 0, "alias.test.", KNOT_RRTYPE_A);
}

static void test_cname_chased(void **state)
{
	/* RFC 1034 §4.3.2 step 3a: add the CNAME, restart at its target. */
	const canon_answer_t *a = ask(*state, "shop.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 3, 0, 0);
	assert_rr(a, KNOT_ANSWER, 0, "shop.alias.test.", KNOT_RRTYPE_CNAME);
	assert_rr(a, KNOT_ANSWER, 1, "www.alias.test.", KNOT_RRTYPE_CNAME);
	assert_rr(a, KNOT_ANSWER, 2, "alias.test.", KNOT_RRTYPE_A);
	assert_int_equal(a->hops, 2);
	assert_int_equal(a->section[KNOT_ANSWER].rrs[0].compr_hint, KNOT_COMPR_HINT_QNAME);
	assert_int_equal(a->section[KNOT_ANSWER].rrs[1].compr_hint, KNOT_COMPR_HINT_NONE);
}

static void test_cname_qtype_cname(void **state)
{
	/* QTYPE CNAME (and ANY) matches the CNAME itself: no restart. */
	const canon_answer_t *a = ask(*state, "shop.alias.test.", KNOT_RRTYPE_CNAME);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
	a = ask(*state, "shop.alias.test.", KNOT_RRTYPE_ANY);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
	assert_rr(a, KNOT_ANSWER, 0, "shop.alias.test.", KNOT_RRTYPE_CNAME);
}

static void test_cname_mx_additional(void **state)
{
	const canon_answer_t *a = ask(*state, "www.alias.test.", KNOT_RRTYPE_MX);
	assert_counts(a, KNOT_RCODE_NOERROR, 2, 0, 2);
	assert_rr(a, KNOT_ANSWER, 1, "alias.test.", KNOT_RRTYPE_MX);
	assert_rr(a, KNOT_ADDITIONAL, 0, "mail.alias.test.", KNOT_RRTYPE_A);
	assert_rr(a, KNOT_ADDITIONAL, 1, "mail.alias.test.", KNOT_RRTYPE_AAAA);
}

static void test_cross_zone_chain(void **state)
{
	const canon_answer_t *a = ask(*state, "ext.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 2, 0, 0);
	assert_rr(a, KNOT_ANSWER, 1, "host.other.test.", KNOT_RRTYPE_A);
	assert_true(a->aa);
}

static void test_chain_to_nxdomain(void **state)
{
	/* RFC 6604 §3: the rcode and SOA are those of the last name. */
	const canon_answer_t *a = ask(*state, "gone.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NXDOMAIN, 1, 1, 0);
	assert_rr(a, KNOT_AUTHORITY, 0, "alias.test.", KNOT_RRTYPE_SOA);
	/* RFC 2308 §3: negative TTL is min(SOA TTL 600, MINIMUM 120). */
	assert_int_equal(a->section[KNOT_AUTHORITY].rrs[0].rr->ttl, 120);
}

static void test_chain_to_nodata(void **state)
{
	const canon_answer_t *a = ask(*state, "empty.alias.test.", KNOT_RRTYPE_TXT);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 1, 0);
	assert_rr(a, KNOT_AUTHORITY, 0, "alias.test.", KNOT_RRTYPE_SOA);
}

static void test_loops_end(void **state)
{
	const canon_answer_t *a = ask(*state, "loop1.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 2, 0, 0);
	assert_int_equal(a->chain_end, CANON_CHAIN_LOOP);
	a = ask(*state, "self.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
	assert_int_equal(a->chain_end, CANON_CHAIN_LOOP);
}

static void test_chain_limit(void **state)
{
	/* c1 -> ... -> c21 is 20 links: the answer stops after CANON_CHAIN_MAX. */
	const canon_answer_t *a = ask(*state, "c1.chain.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, CANON_CHAIN_MAX, 0, 0);
	assert_int_equal(a->chain_end, CANON_CHAIN_TOO_LONG);
	/* c5 -> c21 is exactly CANON_CHAIN_MAX (16) links plus the address: complete. */
	a = ask(*state, "c5.chain.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, CANON_CHAIN_MAX + 1, 0, 0);
	assert_int_equal(a->chain_end, CANON_CHAIN_COMPLETE);
	assert_rr(a, KNOT_ANSWER, CANON_CHAIN_MAX, "c21.chain.test.", KNOT_RRTYPE_A);
	/* c4 -> c21 is 17 links: one too many. */
	a = ask(*state, "c4.chain.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, CANON_CHAIN_MAX, 0, 0);
	assert_int_equal(a->chain_end, CANON_CHAIN_TOO_LONG);
}

static void test_chain_leaves_zones(void **state)
{
	const canon_answer_t *a = ask(*state, "out.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
	assert_int_equal(a->chain_end, CANON_CHAIN_LEFT);
}

static void test_refused(void **state)
{
	const canon_answer_t *a = ask(*state, "example.org.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_REFUSED, 0, 0, 0);
	assert_false(a->aa);
}

/* A configured zone that failed to load answers SERVFAIL; the others, and other names, as before.
 */
static void test_unloaded_zone_servfail(void **state)
{
	fixture_t *f = *state;
	canon_zone_t *zones[] = {load("other.test.", "other.test.zone")};
	knot_dname_storage_t failed, twice;
	knot_dname_from_str(failed, "Sub.Alias.TEST.", sizeof(failed));
	knot_dname_from_str(twice, "other.test.", sizeof(twice));
	const knot_dname_t *unloaded[] = {failed, twice};
	canon_zonetable_t *table = canon_zonetable_new_unloaded(zones, 1, unloaded, 2);
	assert_non_null(table);
	assert_int_equal(table->count, 1);
	assert_int_equal(table->unloaded_count, 1); /* other.test. is served: no placeholder. */
	canon_zonetable_t *saved = f->table;
	f->table = table;
	const canon_answer_t *a = ask(f, "www.sub.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_SERVFAIL, 0, 0, 0);
	assert_false(a->aa);
	a = ask(f, "sub.alias.test.", KNOT_RRTYPE_SOA);
	assert_counts(a, KNOT_RCODE_SERVFAIL, 0, 0, 0);
	a = ask(f, "alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_REFUSED, 0, 0, 0);
	a = ask(f, "other.test.", KNOT_RRTYPE_SOA);
	assert_int_equal(a->rcode, KNOT_RCODE_NOERROR);
	/* UPDATE and transfers find no zone to work on. */
	knot_dname_storage_t lower;
	knot_dname_from_str(lower, "sub.alias.test.", sizeof(lower));
	assert_null(canon_zonetable_get(table, lower));
	f->table = saved;
	canon_zonetable_free(table);
}

static void test_dname(void **state)
{
	/* RFC 6672 §3.2: DNAME, synthesized CNAME with the DNAME's TTL, then the target. */
	const canon_answer_t *a = ask(*state, "www.old.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 3, 0, 0);
	assert_rr(a, KNOT_ANSWER, 0, "old.alias.test.", KNOT_RRTYPE_DNAME);
	assert_rr(a, KNOT_ANSWER, 1, "www.old.alias.test.", KNOT_RRTYPE_CNAME);
	assert_rr(a, KNOT_ANSWER, 2, "www.new.alias.test.", KNOT_RRTYPE_A);
	const knot_rrset_t *cname = a->section[KNOT_ANSWER].rrs[1].rr;
	assert_int_equal(cname->ttl, 600);
	knot_dname_storage_t want;
	knot_dname_from_str(want, "www.new.alias.test.", sizeof(want));
	assert_true(knot_dname_is_equal(knot_cname_name(cname->rrs.rdata), want));
}

static void test_dname_owner_not_redirected(void **state)
{
	/* RFC 6672 §2.3: the owner itself is not redirected. */
	const canon_answer_t *a = ask(*state, "old.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 0, 1, 0);
	a = ask(*state, "old.alias.test.", KNOT_RRTYPE_DNAME);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
}

static void test_dname_yxdomain(void **state)
{
	/* RFC 6672 §2.2: a substituted name over 255 octets is YXDOMAIN. */
	const canon_answer_t *a = ask(
	        *state,
	        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.long.alias.test.",
	        KNOT_RRTYPE_A);
	assert_int_equal(a->rcode, KNOT_RCODE_YXDOMAIN);
	assert_int_equal(a->section[KNOT_ANSWER].count, 1);
	assert_rr(a, KNOT_ANSWER, 0, "long.alias.test.", KNOT_RRTYPE_DNAME);
}

static void test_wildcard(void **state)
{
	/* RFC 4592 §4.1: synthesized with the query name as owner. */
	const canon_answer_t *a = ask(*state, "a.b.wild.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 1, 0, 0);
	assert_rr(a, KNOT_ANSWER, 0, "a.b.wild.alias.test.", KNOT_RRTYPE_A);
	a = ask(*state, "a.wild.alias.test.", KNOT_RRTYPE_MX);
	assert_counts(a, KNOT_RCODE_NOERROR, 0, 1, 0);
}

static void test_wildcard_cname(void **state)
{
	const canon_answer_t *a = ask(*state, "cdn.wc.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 3, 0, 0);
	assert_rr(a, KNOT_ANSWER, 0, "cdn.wc.alias.test.", KNOT_RRTYPE_CNAME);
	assert_rr(a, KNOT_ANSWER, 1, "www.alias.test.", KNOT_RRTYPE_CNAME);
	assert_rr(a, KNOT_ANSWER, 2, "alias.test.", KNOT_RRTYPE_A);
}

static void test_empty_non_terminal(void **state)
{
	/* RFC 4592 §2.2.2: an empty non-terminal exists: NODATA, not NXDOMAIN. */
	const canon_answer_t *a = ask(*state, "ent.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 0, 1, 0);
	a = ask(*state, "nope.ent.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NXDOMAIN, 0, 1, 0);
}

static void test_referral(void **state)
{
	const canon_answer_t *a = ask(*state, "host.sub.alias.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 0, 1, 1);
	assert_false(a->aa);
	assert_rr(a, KNOT_AUTHORITY, 0, "sub.alias.test.", KNOT_RRTYPE_NS);
	assert_rr(a, KNOT_ADDITIONAL, 0, "ns.sub.alias.test.", KNOT_RRTYPE_A);
	/* RFC 4035 §3.1.4.1: DS at the cut comes from the parent. */
	a = ask(*state, "sub.alias.test.", KNOT_RRTYPE_DS);
	assert_counts(a, KNOT_RCODE_NOERROR, 0, 1, 0);
	assert_true(a->aa);
}

static void test_case_insensitive(void **state)
{
	const canon_answer_t *a = ask(*state, "WwW.ALIAS.test.", KNOT_RRTYPE_A);
	assert_counts(a, KNOT_RCODE_NOERROR, 2, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain_answer),
	        cmocka_unit_test(test_cname_chased),
	        cmocka_unit_test(test_cname_qtype_cname),
	        cmocka_unit_test(test_cname_mx_additional),
	        cmocka_unit_test(test_cross_zone_chain),
	        cmocka_unit_test(test_chain_to_nxdomain),
	        cmocka_unit_test(test_chain_to_nodata),
	        cmocka_unit_test(test_loops_end),
	        cmocka_unit_test(test_chain_limit),
	        cmocka_unit_test(test_chain_leaves_zones),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_unloaded_zone_servfail),
	        cmocka_unit_test(test_dname),
	        cmocka_unit_test(test_dname_owner_not_redirected),
	        cmocka_unit_test(test_dname_yxdomain),
	        cmocka_unit_test(test_wildcard),
	        cmocka_unit_test(test_wildcard_cname),
	        cmocka_unit_test(test_empty_non_terminal),
	        cmocka_unit_test(test_referral),
	        cmocka_unit_test(test_case_insensitive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
