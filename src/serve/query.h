/*
 * One DNS message in, one answer out: parse (libknot), check the header, run
 * the lookup, write the sections and the EDNS0 OPT record.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/lookup.h"
#include "lib/zonetable.h"

/* Room the query path needs in its arena (packet structures, synthesized RRsets). */
#define CANON_QUERY_ARENA_SIZE (256 * 1024)

typedef struct {
	const canon_zonetable_t *table;
	const canon_alias_source_t *aliases; /* ALIAS targets' addresses, or NULL. */
	canon_arena_t *arena;                /* Reset at the start of every query. */
	uint16_t udp_max_payload;            /* Largest UDP answer we send with EDNS0. */
	bool tcp;
} canon_query_ctx_t;

/*
 * Answer the message in 'query' (which may be modified) into 'resp' of
 * 'resp_size' bytes. Returns the answer's length, or 0 when nothing must be
 * sent (too short to answer, or itself a response).
 */
size_t canon_query_answer(const canon_query_ctx_t *ctx, uint8_t *query, size_t query_len,
                          uint8_t *resp, size_t resp_size);
