/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "lib/lookup.h"
#include "serve/query.h"

#define EDNS_VERSION 0

typedef struct {
	const canon_query_ctx_t *ctx;
	knot_pkt_t *query;
	knot_pkt_t *resp;
	knot_rrset_t opt; /* Our OPT record when the query had EDNS0. */
	bool edns;
} answer_t;

/* A header-only answer for a message we could not parse (RFC 1035 §4.1.1). */
static size_t answer_header_only(const uint8_t *query, uint8_t *resp, uint8_t rcode)
{
	memset(resp, 0, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_id(resp, knot_wire_get_id(query));
	resp[2] = query[2] & (KNOT_WIRE_OPCODE_MASK | KNOT_WIRE_RD_MASK);
	knot_wire_set_qr(resp);
	knot_wire_set_rcode(resp, rcode);
	return KNOT_WIRE_HEADER_SIZE;
}

/* The UDP answer size: the client's EDNS0 payload within our bounds (RFC 6891 §6.2.5). */
static uint16_t answer_size_limit(const answer_t *a, size_t resp_size)
{
	uint16_t limit = KNOT_WIRE_MIN_PKTSIZE;
	if (a->ctx->tcp) {
		limit = KNOT_WIRE_MAX_PKTSIZE;
	} else if (a->edns) {
		uint16_t client = knot_edns_get_payload(a->query->opt_rr);
		limit = client < a->ctx->udp_max_payload ? client : a->ctx->udp_max_payload;
		if (limit < KNOT_WIRE_MIN_PKTSIZE) {
			limit = KNOT_WIRE_MIN_PKTSIZE;
		}
	}
	return limit < resp_size ? limit : (uint16_t)resp_size;
}

/* Question-level checks; returns the rcode to answer with, or NOERROR to look up. */
static uint8_t check_question(const knot_pkt_t *query)
{
	if (knot_wire_get_opcode(query->wire) != KNOT_OPCODE_QUERY) {
		return KNOT_RCODE_NOTIMPL;
	}
	if (knot_wire_get_qdcount(query->wire) != 1) {
		return KNOT_RCODE_FORMERR;
	}
	uint16_t qtype = knot_pkt_qtype(query);
	if (qtype == KNOT_RRTYPE_OPT || qtype == KNOT_RRTYPE_TSIG || qtype == KNOT_RRTYPE_TKEY) {
		return KNOT_RCODE_FORMERR; /* Pseudo-types are not questions (RFC 6891 §6.1.1). */
	}
	if (qtype == KNOT_RRTYPE_AXFR || qtype == KNOT_RRTYPE_IXFR) {
		return KNOT_RCODE_REFUSED; /* Zone transfers are not offered (yet). */
	}
	if (knot_pkt_qclass(query) != KNOT_CLASS_IN) {
		return KNOT_RCODE_REFUSED; /* Only class IN zones are served. */
	}
	return KNOT_RCODE_NOERROR;
}

/* Write one section; false when an RRset did not fit (the caller sets TC). */
static bool put_section(answer_t *a, const canon_answer_t *ans, knot_section_t id)
{
	const canon_answer_section_t *section = &ans->section[id];
	if (knot_pkt_begin(a->resp, id) != KNOT_EOK) {
		return false;
	}
	for (uint16_t i = 0; i < section->count; i++) {
		int ret = knot_pkt_put(a->resp, section->rrs[i].compr_hint, section->rrs[i].rr,
		                       KNOT_PF_NOTRUNC);
		if (ret != KNOT_EOK) {
			return false;
		}
	}
	return true;
}

/* Restart the answer as header and question only, for TC (RFC 2181 §9). */
static int reset_to_question(answer_t *a)
{
	knot_pkt_clear(a->resp);
	int ret = knot_pkt_init_response(a->resp, a->query);
	if (ret == KNOT_EOK && a->edns) {
		ret = knot_pkt_reserve(a->resp, knot_edns_wire_size(&a->opt));
	}
	knot_wire_set_tc(a->resp->wire);
	return ret;
}

static void put_answer(answer_t *a, const canon_answer_t *ans)
{
	knot_wire_set_rcode(a->resp->wire, ans->rcode);
	if (ans->aa) {
		knot_wire_set_aa(a->resp->wire);
	}
	if (!put_section(a, ans, KNOT_ANSWER) || !put_section(a, ans, KNOT_AUTHORITY)) {
		reset_to_question(a);
		knot_wire_set_rcode(a->resp->wire, ans->rcode);
		if (ans->aa) {
			knot_wire_set_aa(a->resp->wire);
		}
		return;
	}
	/* Additional data that does not fit is left out without TC (RFC 2181 §9). */
	put_section(a, ans, KNOT_ADDITIONAL);
}

static void put_opt(answer_t *a)
{
	knot_pkt_reclaim(a->resp, knot_edns_wire_size(&a->opt));
	if (knot_pkt_begin(a->resp, KNOT_ADDITIONAL) == KNOT_EOK) {
		knot_pkt_put(a->resp, KNOT_COMPR_HINT_NONE, &a->opt, KNOT_PF_NOTRUNC);
	}
}

static size_t answer_parsed(answer_t *a, uint8_t *resp, size_t resp_size)
{
	const canon_query_ctx_t *ctx = a->ctx;
	knot_mm_t *mm = &ctx->arena->mm;
	a->resp = knot_pkt_new(resp, answer_size_limit(a, resp_size), mm);
	if (a->resp == NULL || knot_pkt_init_response(a->resp, a->query) != KNOT_EOK) {
		return answer_header_only(a->query->wire, resp, KNOT_RCODE_SERVFAIL);
	}
	uint8_t rcode = check_question(a->query);
	if (a->edns) {
		uint8_t version = knot_edns_get_version(a->query->opt_rr);
		if (knot_edns_init(&a->opt, ctx->udp_max_payload, 0, EDNS_VERSION, mm) != KNOT_EOK) {
			return answer_header_only(a->query->wire, resp, KNOT_RCODE_SERVFAIL);
		}
		knot_pkt_reserve(a->resp, knot_edns_wire_size(&a->opt));
		if (version != EDNS_VERSION) {
			/* RFC 6891 §6.1.3: BADVERS (16) is 1 in the OPT's extended rcode. */
			knot_edns_set_ext_rcode(&a->opt, KNOT_RCODE_BADVERS >> 4);
			rcode = KNOT_RCODE_NOERROR;
			put_opt(a);
			return a->resp->size;
		}
	}
	if (rcode == KNOT_RCODE_NOERROR) {
		canon_answer_t ans;
		int ret = canon_lookup(ctx->table, knot_pkt_wire_qname(a->query),
		                       knot_pkt_qtype(a->query), &ans, mm);
		if (ret == 0) {
			put_answer(a, &ans);
		} else {
			knot_wire_set_rcode(a->resp->wire, KNOT_RCODE_SERVFAIL);
		}
	} else {
		knot_wire_set_rcode(a->resp->wire, rcode);
	}
	if (a->edns) {
		put_opt(a);
	}
	return a->resp->size;
}

size_t canon_query_answer(const canon_query_ctx_t *ctx, uint8_t *query, size_t query_len,
                          uint8_t *resp, size_t resp_size)
{
	/* Too short for a header, or a response: nothing to say (RFC 1035 §4.1.1). */
	if (query_len < KNOT_WIRE_HEADER_SIZE || knot_wire_get_qr(query)) {
		return 0;
	}
	canon_arena_reset(ctx->arena);
	answer_t a = {.ctx = ctx};
	a.query = knot_pkt_new(query, (uint16_t)query_len, &ctx->arena->mm);
	if (a.query == NULL) {
		return answer_header_only(query, resp, KNOT_RCODE_SERVFAIL);
	}
	if (knot_pkt_parse(a.query, KNOT_PF_NOCANON) != KNOT_EOK) {
		uint8_t rcode = knot_wire_get_opcode(query) == KNOT_OPCODE_QUERY ? KNOT_RCODE_FORMERR
		                                                                  : KNOT_RCODE_NOTIMPL;
		return answer_header_only(query, resp, rcode);
	}
	a.edns = a.query->opt_rr != NULL;
	return answer_parsed(&a, resp, resp_size);
}
