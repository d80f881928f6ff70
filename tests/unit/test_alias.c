/*
 * Unit tests of the alias rules (lib/alias.c): the chain walker and its hop
 * limit, DNAME substitution, and the negative-answer TTL.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>
#include <libknot/rrtype/soa.h>

#include "lib/alias.h"
#include "lib/arena.h"

/* A name from text, in 'buf'. */
static const knot_dname_t *name(knot_dname_storage_t buf, const char *text)
{
	assert_non_null(knot_dname_from_str(buf, text, KNOT_DNAME_MAXLEN));
	return buf;
}

/* A name of 'labels' labels of 63 'a's (64 octets each) under 'suffix'. */
static const knot_dname_t *long_name(knot_dname_storage_t buf, int labels, const char *suffix)
{
	char text[KNOT_DNAME_TXT_MAXLEN + 1] = "";
	size_t used = 0;
	for (int i = 0; i < labels; i++) {
		used += snprintf(text + used, sizeof(text) - used, "%.63s.",
		                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	}
	snprintf(text + used, sizeof(text) - used, "%s", suffix);
	return name(buf, text);
}

static void test_dname_substitution_fits(void **state)
{
	(void)state;
	knot_dname_storage_t n, owner, target, want;
	uint8_t out[KNOT_DNAME_MAXLEN];
	/* RFC 6672 §2.2: www.Old.example. under old.example. DNAME new.example.net. */
	int size = canon_dname_substitute(name(n, "www.Old.example."), name(owner, "old.example."),
	                                  name(target, "new.example.net."), out);
	assert_int_equal(size, knot_dname_size(name(want, "www.new.example.net.")));
	assert_memory_equal(out, want, size);
	/* The prefix keeps its case: only the owner suffix is replaced. */
	size = canon_dname_substitute(name(n, "WwW.old.example."), name(owner, "old.example."),
	                              name(target, "."), out);
	assert_int_equal(size, knot_dname_size(name(want, "WwW.")));
	assert_memory_equal(out, want, size);
}

static void test_dname_substitution_too_long(void **state)
{
	(void)state;
	knot_dname_storage_t n, owner, target;
	uint8_t out[KNOT_DNAME_MAXLEN];
	/* 3 labels of 64 octets + "x.": the prefix is 192 octets; a 69-octet target: 261. */
	long_name(n, 3, "x.");
	name(owner, "x.");
	long_name(target, 1, "b.c.");
	assert_int_equal(canon_dname_substitute(n, owner, target, out), -EMSGSIZE);
	/* Exactly 255 octets still fits: the prefix and a 63-octet target. */
	knot_dname_storage_t fit;
	char label61[62];
	memset(label61, 'b', 61);
	label61[61] = '\0';
	char text[80];
	snprintf(text, sizeof(text), "%s.", label61);
	name(fit, text); /* 63 octets: 1 + 61 + root */
	assert_int_equal(canon_dname_substitute(n, owner, fit, out), 192 + 63);
}

static void test_dname_synthesize(void **state)
{
	(void)state;
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 4096), 0);
	knot_dname_storage_t owner, target, n;
	knot_rrset_t dname;
	name(owner, "old.example.");
	knot_rrset_init(&dname, owner, KNOT_RRTYPE_DNAME, KNOT_CLASS_IN, 600);
	name(target, "new.example.");
	assert_int_equal(knot_rrset_add_rdata(&dname, target, knot_dname_size(target), &arena.mm),
	                 0);
	knot_rrset_t *cname = NULL;
	name(n, "a.b.old.example.");
	assert_int_equal(canon_dname_synthesize(&dname, n, &arena.mm, &cname), 0);
	assert_int_equal(cname->type, KNOT_RRTYPE_CNAME);
	assert_int_equal(cname->ttl, 600); /* RFC 6672 §3.2 step 3c: the DNAME's TTL. */
	assert_ptr_equal(cname->owner, n);
	knot_dname_storage_t want;
	assert_true(knot_dname_is_equal(knot_cname_name(cname->rrs.rdata),
	                                name(want, "a.b.new.example.")));
	/* The rdataset knot_rrset_add_rdata() builds: one record, its size, the same octets. */
	for (const char *const *text =
	             (const char *const[]){"a.b.old.example.", "ab.old.example.", NULL};
	     *text != NULL; text++) {
		name(n, *text);
		assert_int_equal(canon_dname_synthesize(&dname, n, &arena.mm, &cname), 0);
		knot_rrset_t built;
		knot_rrset_init(&built, n, KNOT_RRTYPE_CNAME, KNOT_CLASS_IN, 600);
		const knot_dname_t *new_name = knot_cname_name(cname->rrs.rdata);
		assert_int_equal(knot_rrset_add_rdata(&built, new_name, knot_dname_size(new_name),
		                                      &arena.mm),
		                 0);
		assert_int_equal(cname->rrs.count, 1);
		assert_int_equal(cname->rrs.size, built.rrs.size);
		assert_memory_equal(cname->rrs.rdata, built.rrs.rdata, built.rrs.size);
		assert_true(knot_rrset_equal(cname, &built, true));
	}
	/* A name that would grow past 255 octets: YXDOMAIN. */
	long_name(n, 3, "old.example.");
	knot_rrset_t long_dname;
	knot_rrset_init(&long_dname, owner, KNOT_RRTYPE_DNAME, KNOT_CLASS_IN, 600);
	long_name(target, 1, "new.example.");
	assert_int_equal(
	        knot_rrset_add_rdata(&long_dname, target, knot_dname_size(target), &arena.mm), 0);
	assert_int_equal(canon_dname_synthesize(&long_dname, n, &arena.mm, &cname), -EMSGSIZE);
	canon_arena_deinit(&arena);
}

static knot_rrset_t *soa(knot_mm_t *mm, uint32_t ttl, uint32_t minimum)
{
	knot_dname_storage_t owner, mname, rname;
	uint8_t rdata[2 * KNOT_DNAME_MAXLEN + 20];
	size_t m = knot_dname_size(name(mname, "ns.example."));
	size_t r = knot_dname_size(name(rname, "hostmaster.example."));
	memcpy(rdata, mname, m);
	memcpy(rdata + m, rname, r);
	memset(rdata + m + r, 0, 20);
	/* Serial, refresh, retry, expire, then MINIMUM: the last 32 bits, network order. */
	uint8_t *min = rdata + m + r + 16;
	min[0] = (uint8_t)(minimum >> 24);
	min[1] = (uint8_t)(minimum >> 16);
	min[2] = (uint8_t)(minimum >> 8);
	min[3] = (uint8_t)minimum;
	knot_rrset_t *rr =
	        knot_rrset_new(name(owner, "example."), KNOT_RRTYPE_SOA, KNOT_CLASS_IN, ttl, mm);
	assert_non_null(rr);
	assert_int_equal(knot_rrset_add_rdata(rr, rdata, m + r + 20, mm), 0);
	assert_int_equal(knot_soa_minimum(rr->rrs.rdata), minimum);
	return rr;
}

static void test_negative_ttl(void **state)
{
	(void)state;
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 4096), 0);
	/* RFC 2308 §3 and §5: the smaller of the SOA TTL and MINIMUM. */
	assert_int_equal(canon_negative_ttl(soa(&arena.mm, 3600, 300)), 300);
	assert_int_equal(canon_negative_ttl(soa(&arena.mm, 60, 86400)), 60);
	assert_int_equal(canon_negative_ttl(soa(&arena.mm, 900, 900)), 900);
	canon_arena_deinit(&arena);
}

static void test_chain_loop(void **state)
{
	(void)state;
	knot_dname_storage_t a, b, c, a_upper;
	canon_chain_t chain;
	canon_chain_init(&chain, name(a, "a.example."));
	assert_int_equal(canon_chain_follow(&chain, name(b, "b.example.")), CANON_CHAIN_COMPLETE);
	assert_int_equal(canon_chain_follow(&chain, name(c, "c.example.")), CANON_CHAIN_COMPLETE);
	/* Back to the first name, in another case (RFC 4343 §2): a loop. */
	assert_int_equal(canon_chain_follow(&chain, name(a_upper, "A.Example.")), CANON_CHAIN_LOOP);
	assert_int_equal(canon_chain_find(&chain, a_upper), 0);
	assert_int_equal(canon_chain_links(&chain), 2);
	/* A name pointing at itself is a loop at once. */
	canon_chain_init(&chain, a);
	assert_int_equal(canon_chain_follow(&chain, a), CANON_CHAIN_LOOP);
	/* Names that differ only past a case fold are not equal. */
	knot_dname_storage_t x, y;
	assert_false(canon_name_case_equal(name(x, "a@.example."), name(y, "a`.example.")));
	assert_true(canon_name_case_equal(name(x, "MiXeD.example."), name(y, "mixed.EXAMPLE.")));
}

/* Link i of a chain: "c<i>.example.". */
static const knot_dname_t *link_name(knot_dname_storage_t buf, int i)
{
	char text[32];
	snprintf(text, sizeof(text), "c%d.example.", i);
	return name(buf, text);
}

static void test_chain_limit(void **state)
{
	(void)state;
	knot_dname_storage_t names[CANON_CHAIN_MAX + 2];
	canon_chain_t chain;
	canon_chain_init(&chain, link_name(names[0], 0));
	/* CANON_CHAIN_MAX links are followed ... */
	for (int i = 1; i <= CANON_CHAIN_MAX; i++) {
		assert_false(canon_chain_full(&chain));
		assert_int_equal(canon_chain_follow(&chain, link_name(names[i], i)),
		                 CANON_CHAIN_COMPLETE);
	}
	assert_int_equal(canon_chain_links(&chain), CANON_CHAIN_MAX);
	assert_true(canon_chain_full(&chain));
	/* ... and one more is too long; the chain stays as it was. */
	link_name(names[CANON_CHAIN_MAX + 1], CANON_CHAIN_MAX + 1);
	assert_int_equal(canon_chain_follow(&chain, names[CANON_CHAIN_MAX + 1]),
	                 CANON_CHAIN_TOO_LONG);
	assert_int_equal(canon_chain_links(&chain), CANON_CHAIN_MAX);
	assert_int_equal(canon_chain_find(&chain, names[CANON_CHAIN_MAX + 1]), -1);
	/* A loop back is still told apart from the limit. */
	assert_int_equal(canon_chain_follow(&chain, names[3]), CANON_CHAIN_LOOP);
}

static void test_chain_prepared(void **state)
{
	(void)state;
	/* The answer path's flavour: prepared (lower-case) names, the same rules. */
	canon_name_t prepared[CANON_CHAIN_MAX + 2];
	knot_dname_storage_t buf;
	canon_chain_t chain;
	for (int i = 0; i <= CANON_CHAIN_MAX + 1; i++) {
		canon_name_prepare(&prepared[i], link_name(buf, i));
	}
	canon_chain_init_prepared(&chain, &prepared[0]);
	for (int i = 1; i <= CANON_CHAIN_MAX; i++) {
		assert_int_equal(canon_chain_follow_prepared(&chain, &prepared[i]),
		                 CANON_CHAIN_COMPLETE);
	}
	assert_int_equal(canon_chain_follow_prepared(&chain, &prepared[CANON_CHAIN_MAX + 1]),
	                 CANON_CHAIN_TOO_LONG);
	assert_int_equal(canon_chain_follow_prepared(&chain, &prepared[0]), CANON_CHAIN_LOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dname_substitution_fits),
	        cmocka_unit_test(test_dname_substitution_too_long),
	        cmocka_unit_test(test_dname_synthesize),
	        cmocka_unit_test(test_negative_ttl),
	        cmocka_unit_test(test_chain_loop),
	        cmocka_unit_test(test_chain_limit),
	        cmocka_unit_test(test_chain_prepared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
