/*
 * libFuzzer target for the resolver's handling of a server's reply: any bytes
 * in as the answer of a server of a zone above the reply's own question
 * (the ID chooses how far above). The reply is classified (answer, alias,
 * referral, negative, lame) and cached as iterate.c would; then the question
 * is resolved from the cache alone, which follows whatever alias chain and
 * DNAME the reply left there. Nothing may crash, hang or leak; the cache's
 * memory bound keeps a long run flat.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/packet/pkt.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "resolve/iterate.h"

static canon_resolver_conf_t conf;
static canon_arena_t arena;

static void setup(void)
{
	canon_log_set_level(CANON_LOG_ERROR);
	canon_cache_limits_t limits = {.max_bytes = 4u << 20};
	conf.cache = canon_cache_new(&limits);
	conf.timeout_ms = 100;
	conf.deadline_ms = 1000;
	if (conf.cache == NULL || canon_arena_init(&arena, 4u << 20) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < KNOT_WIRE_HEADER_SIZE || size > KNOT_WIRE_MAX_PKTSIZE) {
		return 0;
	}
	canon_arena_reset(&arena);
	uint8_t *question = malloc(size), *reply = malloc(size);
	if (question == NULL || reply == NULL) {
		abort();
	}
	memcpy(question, data, size);
	memcpy(reply, data, size);
	knot_pkt_t *pkt = knot_pkt_new(question, (uint16_t)size, &arena.mm);
	if (pkt != NULL && knot_pkt_parse_question(pkt) == KNOT_EOK && pkt->qname_size > 0) {
		const knot_dname_t *qname = knot_pkt_qname(pkt);
		uint16_t qtype = knot_pkt_qtype(pkt);
		/* The zone asked: the question's name, up to all of its labels stripped. */
		const knot_dname_t *zone = qname;
		for (unsigned strip = knot_wire_get_id(data) % 4; strip > 0 && *zone != 0;
		     strip--) {
			zone += *zone + 1;
		}
		canon_resolve_reply(&conf, reply, size, zone, qname, qtype, &arena.mm);
		canon_resolution_t res;
		canon_resolve(&conf, qname, qtype, CANON_RESOLVE_CACHE_ONLY, &res, &arena.mm);
	}
	free(question);
	free(reply);
	return 0;
}
