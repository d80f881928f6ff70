/*
 * Unit tests of the per-query bump allocator (lib/arena.c): aligned blocks,
 * no overlap, the exact point where the block is spent, reset, and the mm
 * interface libknot allocates through.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/arena.h"

/* Every block starts on 16 octets and follows the one before, without overlap. */
static void test_aligned_and_apart(void **state)
{
	(void)state;
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 4096), 0);
	uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (size_t len = 1; len <= 40; len++) {
		uint8_t *p = canon_arena_alloc(&arena, len);
		assert_non_null(p);
		assert_int_equal((uintptr_t)(p - arena.base) % 16, 0);
		if (prev != NULL) {
			assert_true(p >= prev + prev_len);
			assert_true(p < prev + prev_len + 16);
		}
		memset(p, (int)len, len);
		prev = p;
		prev_len = len;
	}
	canon_arena_deinit(&arena);
}

/* The block is used to its last octet, and not one past it. */
static void test_exhaustion(void **state)
{
	(void)state;
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 256), 0);
	assert_non_null(canon_arena_alloc(&arena, 100)); /* 112 with the rounding */
	assert_null(canon_arena_alloc(&arena, 145));
	assert_non_null(canon_arena_alloc(&arena, 144)); /* Ends at 256 exactly. */
	assert_null(canon_arena_alloc(&arena, 1));
	assert_null(canon_arena_alloc(&arena, SIZE_MAX));
	/* The mm interface says the same. */
	assert_null(arena.mm.alloc(arena.mm.ctx, 1));
	canon_arena_reset(&arena);
	assert_non_null(arena.mm.alloc(arena.mm.ctx, 256));
	assert_null(arena.mm.alloc(arena.mm.ctx, 1));
	canon_arena_reset(&arena);
	assert_null(canon_arena_alloc(&arena, 257));
	assert_null(canon_arena_alloc(&arena, SIZE_MAX - 7));
	assert_non_null(canon_arena_alloc(&arena, 0));
	canon_arena_deinit(&arena);
}

/* A size that is no multiple of 16 loses its odd tail, never overruns. */
static void test_odd_size(void **state)
{
	(void)state;
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 100), 0);
	assert_non_null(canon_arena_alloc(&arena, 90)); /* 96 with the rounding */
	assert_null(canon_arena_alloc(&arena, 1));
	canon_arena_deinit(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_aligned_and_apart),
	        cmocka_unit_test(test_exhaustion),
	        cmocka_unit_test(test_odd_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
