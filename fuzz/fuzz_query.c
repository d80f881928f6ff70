/*
 * libFuzzer target for the query path: any bytes in as a UDP and as a TCP
 * query against a zone with every alias case; nothing may crash, leak or
 * write past the answer buffer, and every answer must parse.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/packet/pkt.h>

#include "lib/zone_load.h"
#include "serve/query.h"

static canon_zonetable_t *table;
static canon_arena_t arena;

static void setup(void)
{
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *zone = NULL;
	if (canon_zone_load("alias.test.", CANON_FUZZ_ZONE, &findings, &zone) != 0) {
		abort();
	}
	canon_findings_free(&findings);
	table = canon_zonetable_new(&zone, 1);
	if (table == NULL || canon_arena_init(&arena, CANON_QUERY_ARENA_SIZE) != 0) {
		abort();
	}
}

static void answer_and_verify(const uint8_t *data, size_t size, bool tcp, size_t resp_size)
{
	static uint8_t query[65535], resp[65535];
	canon_query_ctx_t ctx = {
	        .table = table, .arena = &arena, .udp_max_payload = 1232, .tcp = tcp};
	memcpy(query, data, size);
	size_t len = canon_query_answer(&ctx, NULL, query, size, resp, resp_size, NULL);
	if (len > resp_size) {
		abort();
	}
	if (len == 0) {
		return;
	}
	/* Whatever we send must be a DNS message a client can parse. */
	knot_pkt_t *pkt = knot_pkt_new(resp, (uint16_t)len, NULL);
	if (pkt == NULL || knot_pkt_parse(pkt, 0) != 0) {
		abort();
	}
	knot_pkt_free(pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (table == NULL) {
		setup();
	}
	if (size > 65535) {
		return 0;
	}
	answer_and_verify(data, size, false, 4096);
	answer_and_verify(data, size, true, 65535);
	return 0;
}
