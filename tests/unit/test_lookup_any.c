/*
 * Unit tests of ANY and of answers past the RRsets a section holds in place
 * (lib/lookup.c): every RRset, one RRset with CANON_LOOKUP_MINIMAL_ANY (RFC
 * 8482), and the truncated flag (never a silent cut) when the arena is spent.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <libknot/descriptor.h>

#include "lib/arena.h"
#include "lib/lookup.h"
#include "zone_text.h"

#define TYPES 100 /* RRsets at big.any.test.: more than CANON_SECTION_MAX */

static canon_zonetable_t *table;

static int setup(void **state)
{
	(void)state;
	static char text[16384];
	int len = snprintf(text, sizeof(text),
	                   "$ORIGIN any.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n"
	                   "@ NS ns\nns A 192.0.2.1\nbig TXT \"first\"\nbig A 192.0.2.9\n");
	for (int t = 0; t < TYPES - 2; t++) {
		len += snprintf(text + len, sizeof(text) - (size_t)len, "big TYPE%d \\# 1 00\n",
		                1000 + t);
	}
	canon_zone_t *zone = canon_test_zone("any.test.", text);
	table = canon_zonetable_new(&zone, 1);
	assert_non_null(table);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	canon_zonetable_free(table);
	return 0;
}

/*
 * ANY at big.any.test. in a fresh arena of arena_size octets. A grown section
 * lives in the arena, so the caller reads the answer before freeing it.
 */
static int ask(canon_arena_t *arena, size_t arena_size, unsigned flags, canon_answer_t *answer)
{
	assert_int_equal(canon_arena_init(arena, arena_size), 0);
	knot_dname_storage_t name;
	assert_non_null(knot_dname_from_str(name, "big.any.test.", sizeof(name)));
	return canon_lookup(table, NULL, name, KNOT_RRTYPE_ANY, flags, answer, &arena->mm);
}

static void test_any_gives_every_rrset(void **state)
{
	(void)state;
	canon_answer_t answer;
	canon_arena_t arena;
	assert_int_equal(ask(&arena, 64 * 1024, 0, &answer), 0);
	assert_int_equal(answer.section[KNOT_ANSWER].count, TYPES);
	assert_false(answer.truncated);
	/* Each RRset once (the section grew, nothing was repeated or lost). */
	unsigned seen_a = 0, seen_txt = 0;
	for (unsigned i = 0; i < TYPES; i++) {
		uint16_t type = answer.section[KNOT_ANSWER].rrs[i].rr->type;
		seen_a += type == KNOT_RRTYPE_A;
		seen_txt += type == KNOT_RRTYPE_TXT;
	}
	assert_int_equal(seen_a, 1);
	assert_int_equal(seen_txt, 1);
	canon_arena_deinit(&arena);
}

static void test_minimal_any_gives_the_lowest_type(void **state)
{
	(void)state;
	canon_answer_t answer;
	canon_arena_t arena;
	assert_int_equal(ask(&arena, 64 * 1024, CANON_LOOKUP_MINIMAL_ANY, &answer), 0);
	assert_int_equal(answer.section[KNOT_ANSWER].count, 1);
	/* The TXT comes first in the file; the A has the lower type. */
	assert_int_equal(answer.section[KNOT_ANSWER].rrs[0].rr->type, KNOT_RRTYPE_A);
	assert_false(answer.truncated);
	canon_arena_deinit(&arena);
}

static void test_no_room_sets_truncated(void **state)
{
	(void)state;
	/* The smallest arena a lookup works in has no room to grow the section. */
	canon_answer_t answer;
	canon_arena_t arena;
	size_t size = 64;
	while (ask(&arena, size, 0, &answer) != 0) {
		canon_arena_deinit(&arena);
		size += 64;
		assert_true(size < 64 * 1024);
	}
	assert_true(answer.truncated);
	assert_int_equal(answer.section[KNOT_ANSWER].count, CANON_SECTION_MAX);
	canon_arena_deinit(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_any_gives_every_rrset),
	        cmocka_unit_test(test_minimal_any_gives_the_lowest_type),
	        cmocka_unit_test(test_no_room_sets_truncated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
