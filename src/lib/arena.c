/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/arena.h"

static void *arena_mm_alloc(void *ctx, size_t len)
{
	return canon_arena_alloc(ctx, len);
}

static void arena_mm_free(void *ptr)
{
	/* Memory comes back in one piece at canon_arena_reset(). */
	(void)ptr;
}

int canon_arena_init(canon_arena_t *arena, size_t size)
{
	arena->base = malloc(size);
	if (arena->base == NULL) {
		return -ENOMEM;
	}
	/* A multiple of 16: with 'used' one too, an allocation needs one comparison. */
	arena->size = size & ~(size_t)15;
	arena->used = 0;
	arena->mm.ctx = arena;
	arena->mm.alloc = arena_mm_alloc;
	arena->mm.free = arena_mm_free;
	return 0;
}

void canon_prefault(void *block, size_t bytes)
{
	volatile uint8_t *p = block;
	long page = sysconf(_SC_PAGESIZE);
	size_t step = page > 0 ? (size_t)page : 4096;
	for (size_t off = 0; off < bytes; off += step) {
		p[off] = p[off]; /* A write: a read would map the shared zero page only. */
	}
}

void canon_arena_prefault(canon_arena_t *arena, size_t bytes)
{
	canon_prefault(arena->base, bytes < arena->size ? bytes : arena->size);
}

void *canon_arena_alloc(canon_arena_t *arena, size_t len)
{
	/*
	 * 'used' stays a multiple of 16 (every block starts aligned for any
	 * type), and so does 'size': a block that fits fits rounded up too.
	 */
	size_t start = arena->used;
	if (len > arena->size - start) {
		return NULL;
	}
	arena->used = start + ((len + 15) & ~(size_t)15);
	return arena->base + start;
}

void canon_arena_deinit(canon_arena_t *arena)
{
	free(arena->base);
	arena->base = NULL;
	arena->size = arena->used = 0;
}
