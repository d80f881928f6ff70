/*
 * A bump allocator behind libknot's knot_mm_t: the answer path allocates from a
 * preallocated block that is reset after each query, so no query calls malloc
 * (NSD's region allocator, Knot's mempool).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libknot/mm_ctx.h>

typedef struct canon_arena {
	knot_mm_t mm; /* Must be first: mm.ctx points back at the arena. */
	uint8_t *base;
	size_t size;
	size_t used;
} canon_arena_t;

/*
 * Allocate the arena's block of 'size' bytes (rounded down to a multiple of
 * 16). Returns 0 or -ENOMEM.
 */
int canon_arena_init(canon_arena_t *arena, size_t size);

/*
 * Write to the first 'bytes' of the block now, one octet a page, so that the
 * kernel backs them before the first query instead of during it: a first
 * touch costs a page fault, 20-50 us in a VM, and a cold resolution touches
 * a few dozen pages.
 */
void canon_arena_prefault(canon_arena_t *arena, size_t bytes);

/* The same for any block of 'bytes' (its content is kept). */
void canon_prefault(void *block, size_t bytes);

/* Forget every allocation at once (O(1)). */
static inline void canon_arena_reset(canon_arena_t *arena)
{
	arena->used = 0;
}

/* Allocate from the arena, 16-aligned; NULL when the block is exhausted. */
void *canon_arena_alloc(canon_arena_t *arena, size_t len);

/* Release the block. */
void canon_arena_deinit(canon_arena_t *arena);
