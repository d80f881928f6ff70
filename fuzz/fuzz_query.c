/*
 * libFuzzer target for the query path: any bytes in as a UDP and as a TCP
 * query against a zone with every alias case, with DNS cookies answered, and
 * once more over UDP past a rate limit of one (so the answer is slipped: cut
 * to its question with TC, or BADCOOKIE); nothing may crash, leak or write
 * past the answer buffer, and every answer must parse.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/packet/pkt.h>

#include "lib/zone_load.h"
#include "serve/query.h"
#include "serve/rrl.h"

static canon_zonetable_t *table;
static canon_arena_t arena;
static canon_serve_conf_t conf; /* rate-limit 1, slip 1; its cookie secret */
static canon_rrl_t *rrl;
static struct sockaddr_storage peer;

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
	canon_conf_init(&conf);
	conf.rate_limit = 1;
	conf.rate_limit_slip = 1;
	rrl = canon_rrl_new(&conf);
	peer.ss_family = AF_INET;
	if (table == NULL || rrl == NULL || canon_arena_init(&arena, CANON_QUERY_ARENA_SIZE) != 0) {
		abort();
	}
}

static void answer_and_verify(const uint8_t *data, size_t size, bool tcp, size_t resp_size,
                              canon_rrl_t *limit)
{
	static uint8_t query[65535], resp[65535];
	canon_query_ctx_t ctx = {.table = table,
	                         .arena = &arena,
	                         .udp_max_payload = 1232,
	                         .tcp = tcp,
	                         .cookies = &conf.cookie_secret,
	                         .rrl = limit};
	memcpy(query, data, size);
	size_t len = canon_query_answer(&ctx, &peer, query, size, resp, resp_size, NULL);
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
	answer_and_verify(data, size, false, 4096, NULL);
	answer_and_verify(data, size, true, 65535, NULL);
	answer_and_verify(data, size, false, 4096, rrl);
	return 0;
}
