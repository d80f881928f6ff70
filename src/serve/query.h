/*
 * One DNS message in, one answer out: parse (libknot), check the header, run
 * the lookup, write the sections and the EDNS0 OPT record.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/arena.h"
#include "lib/cookie.h"
#include "lib/lookup.h"
#include "lib/zonetable.h"
#include "lib/tsig.h"
#include "serve/metrics.h"
#include "serve/online_sign.h"
#include "serve/xfr_out.h"

struct canon_worker;

/* Room the query path needs in its arena (packet structures, synthesized RRsets). */
#define CANON_QUERY_ARENA_SIZE (256 * 1024)

typedef struct {
	const canon_zonetable_t *table;
	const canon_alias_source_t *aliases; /* ALIAS targets' addresses, or NULL. */
	canon_arena_t *arena;                /* Reset at the start of every query. */
	uint16_t udp_max_payload;            /* Largest UDP answer we send with EDNS0. */
	bool tcp;
	struct canon_worker *worker;      /* UPDATE and transfers go through it; NULL: NOTIMP. */
	const canon_tsig_keyring_t *keys; /* TSIG keys for signed queries (NULL: none). */
	canon_metrics_t *metrics;         /* The worker's counters (NULL: not counted). */
	const canon_cookie_secret_t *cookies; /* Answer DNS cookies (RFC 7873), or NULL. */
	struct canon_rrl *rrl;                /* The worker's rate limit (UDP), or NULL: none. */
	/* The worker's signature cache for dnssec=online zones (serve/online_sign.h), or NULL. */
	canon_online_cache_t *online;
} canon_query_ctx_t;

/*
 * Answer the message in 'query' (which may be modified) from 'peer' into
 * 'resp' of 'resp_size' bytes. Returns the answer's length, or 0 when nothing
 * must be sent (too short to answer, or itself a response). Over TCP,
 * 'stream' may instead receive a zone transfer's messages (stream->data set;
 * the caller sends and frees them); over UDP it is NULL.
 */
size_t canon_query_answer(const canon_query_ctx_t *ctx, const struct sockaddr_storage *peer,
                          uint8_t *query, size_t query_len, uint8_t *resp, size_t resp_size,
                          canon_stream_t *stream);
