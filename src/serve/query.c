/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <time.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "lib/edns.h"
#include "lib/lookup.h"
#include "lib/name.h"
#include "lib/parse.h"
#include "serve/answer.h"
#include "serve/query.h"
#include "serve/requests.h"
#include "serve/rrl.h"

#define EDNS_VERSION 0

/* The common query's steps, each called once on its path: one function, no calls between them. */
#define HOT_INLINE static inline __attribute__((always_inline))

typedef struct {
	const canon_query_ctx_t *ctx;
	const struct sockaddr_storage *peer;
	canon_stream_t *stream;
	const canon_query_t *q; /* The query's question and EDNS0 fields. */
	knot_pkt_t *query;      /* The query parsed by libknot, off the fast path; or NULL. */
	knot_pkt_t *resp;       /* FORMERR and TSIG errors: libknot writes those. */
	knot_rrset_t opt;       /* Their OPT record. */
	uint16_t limit;         /* The answer's size limit (answer_query()). */
	bool *badvers; /* Set when the answer is BADVERS (in the OPT, not the header), or NULL. */
	canon_cookie_status_t *cookie; /* What the query's COOKIE was, or NULL. */
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
HOT_INLINE uint16_t answer_size_limit(const answer_t *a, size_t resp_size)
{
	uint16_t limit = KNOT_WIRE_MIN_PKTSIZE;
	if (a->ctx->tcp) {
		limit = KNOT_WIRE_MAX_PKTSIZE;
	} else if (a->q->edns) {
		uint16_t client = a->q->payload;
		limit = client < a->ctx->udp_max_payload ? client : a->ctx->udp_max_payload;
		if (limit < KNOT_WIRE_MIN_PKTSIZE) {
			limit = KNOT_WIRE_MIN_PKTSIZE;
		}
	}
	return limit < resp_size ? limit : (uint16_t)resp_size;
}

/* Question-level checks; returns the rcode to answer with, or NOERROR to look up. */
HOT_INLINE uint8_t check_question(const canon_query_t *q)
{
	if (knot_wire_get_opcode(q->wire) != KNOT_OPCODE_QUERY) {
		return KNOT_RCODE_NOTIMPL;
	}
	if (knot_wire_get_qdcount(q->wire) != 1) {
		return KNOT_RCODE_FORMERR;
	}
	uint16_t qtype = q->qtype;
	if (qtype == KNOT_RRTYPE_OPT || qtype == KNOT_RRTYPE_TSIG || qtype == KNOT_RRTYPE_TKEY) {
		return KNOT_RCODE_FORMERR; /* Pseudo-types are not questions (RFC 6891 §6.1.1). */
	}
	if (q->qclass != KNOT_CLASS_IN) {
		return KNOT_RCODE_REFUSED; /* Only class IN zones are served. */
	}
	return KNOT_RCODE_NOERROR;
}

/*
 * RFC 7873 §5.2: a client cookie gets ours back, whether the server cookie it
 * came with was good or not: cookies are not required, so BADCOOKIE is only
 * sent when rate limiting slips the answer (serve/rrl.c). A malformed COOKIE
 * option is answered FORMERR (§5.2.2) by the caller.
 */
static canon_cookie_status_t answer_cookie(answer_t *a, canon_opt_t *opt)
{
	if (a->ctx->cookies == NULL || a->peer == NULL || a->q->cookie == NULL) {
		return CANON_COOKIE_NONE; /* (Before time(): most queries have no COOKIE.) */
	}
	uint16_t len = 0;
	canon_cookie_status_t status = canon_cookie_answer_wire(
	        a->ctx->cookies, a->q->cookie, a->q->cookie_len, a->peer, (uint32_t)time(NULL),
	        opt->options + opt->options_len, &len);
	opt->options_len = (uint16_t)(opt->options_len + len);
	if (a->cookie != NULL) {
		*a->cookie = status;
	}
	return status;
}

static void put_opt(answer_t *a)
{
	knot_pkt_reclaim(a->resp, knot_edns_wire_size(&a->opt));
	if (knot_pkt_begin(a->resp, KNOT_ADDITIONAL) == KNOT_EOK) {
		knot_pkt_put(a->resp, KNOT_COMPR_HINT_NONE, &a->opt, KNOT_PF_NOTRUNC);
	}
}

/*
 * Whether a message that libknot could not parse has an OPT record in its
 * additional section: a scan of the RR framing only (names, types, lengths).
 */
static bool wire_has_opt(const uint8_t *wire, size_t len)
{
	const uint8_t *pos = wire + KNOT_WIRE_HEADER_SIZE, *end = wire + len;
	for (uint16_t i = 0; i < knot_wire_get_qdcount(wire); i++) {
		int size = knot_dname_wire_check(pos, end, wire);
		if (size <= 0 || end - pos < size + 4) {
			return false;
		}
		pos += size + 4;
	}
	unsigned before_additional = knot_wire_get_ancount(wire) + knot_wire_get_nscount(wire);
	unsigned total = before_additional + knot_wire_get_arcount(wire);
	for (unsigned i = 0; i < total; i++) {
		int size = knot_dname_wire_check(pos, end, wire);
		if (size <= 0 || end - pos < size + 10) {
			return false;
		}
		if (i >= before_additional && knot_wire_read_u16(pos + size) == KNOT_RRTYPE_OPT) {
			return true;
		}
		pos += size + 10 + knot_wire_read_u16(pos + size + 8);
		if (pos > end) {
			return false;
		}
	}
	return false;
}

/*
 * FORMERR for a message libknot could not parse: the question when it can be
 * read, and an OPT when the query had one (RFC 6891 §6.1.1 and §7).
 */
static size_t answer_formerr(answer_t *a, uint8_t *query, size_t query_len, uint8_t *resp)
{
	knot_mm_t *mm = &a->ctx->arena->mm;
	bool opt = wire_has_opt(query, query_len);
	a->query = knot_pkt_new(query, (uint16_t)query_len, mm);
	bool question = a->query != NULL && knot_wire_get_qdcount(query) == 1 &&
	                knot_pkt_parse_question(a->query) == KNOT_EOK;
	if (!opt) {
		size_t len = answer_header_only(query, resp, KNOT_RCODE_FORMERR);
		if (question) {
			memcpy(resp + len, query + len, knot_pkt_question_size(a->query));
			knot_wire_set_qdcount(resp, 1);
			len += knot_pkt_question_size(a->query);
		}
		return len;
	}
	a->resp = knot_pkt_new(resp, KNOT_WIRE_MIN_PKTSIZE, mm);
	if (a->resp == NULL ||
	    knot_edns_init(&a->opt, a->ctx->udp_max_payload, 0, EDNS_VERSION, mm) != KNOT_EOK) {
		return answer_header_only(query, resp, KNOT_RCODE_FORMERR);
	}
	if (question) {
		knot_pkt_init_response(a->resp, a->query);
	} else {
		knot_pkt_clear(a->resp); /* Header only: knot_pkt_new took resp as a full packet. */
		answer_header_only(query, resp, 0);
	}
	knot_wire_set_rcode(resp, KNOT_RCODE_FORMERR);
	knot_pkt_reserve(a->resp, knot_edns_wire_size(&a->opt));
	put_opt(a);
	return a->resp->size;
}

/* UPDATE and zone transfers leave the query path: serve/requests.c answers them. */
static bool special(answer_t *a, uint8_t *resp, size_t resp_size, size_t *len)
{
	uint8_t opcode = knot_wire_get_opcode(a->query->wire);
	uint16_t qtype = knot_pkt_qtype(a->query);
	bool transfer = opcode == KNOT_OPCODE_QUERY && knot_wire_get_qdcount(a->query->wire) == 1 &&
	                (qtype == KNOT_RRTYPE_AXFR || qtype == KNOT_RRTYPE_IXFR);
	if (opcode != KNOT_OPCODE_UPDATE && !transfer) {
		return false;
	}
	if (a->ctx->worker == NULL) {
		*len = answer_header_only(a->query->wire, resp, KNOT_RCODE_NOTIMPL);
		return true;
	}
	canon_request_t req = {.ctx = a->ctx,
	                       .peer = a->peer,
	                       .query = a->query,
	                       .resp = resp,
	                       .resp_size = resp_size,
	                       .stream = a->stream};
	*len = transfer ? canon_request_transfer(&req) : canon_request_update(&req);
	return true;
}

static size_t answer_parsed(answer_t *a, uint8_t *resp, size_t resp_size);

/*
 * An UPDATE may carry thousands of records (up to 64 KiB over TCP), more than
 * the per-query arena holds: it is parsed on the heap, off the query path.
 */
static size_t answer_update(const canon_query_ctx_t *ctx, const struct sockaddr_storage *peer,
                            uint8_t *query, size_t query_len, uint8_t *resp, size_t resp_size)
{
	answer_t a = {.ctx = ctx, .peer = peer};
	a.query = knot_pkt_new(query, (uint16_t)query_len, NULL);
	if (a.query == NULL) {
		return answer_header_only(query, resp, KNOT_RCODE_SERVFAIL);
	}
	size_t len;
	if (knot_pkt_parse(a.query, KNOT_PF_NOCANON) != KNOT_EOK) {
		knot_pkt_free(a.query);
		a.query = NULL;
		len = answer_formerr(&a, query, query_len, resp);
	} else {
		len = answer_parsed(&a, resp, resp_size);
		knot_pkt_free(a.query);
	}
	return len;
}

/* The EDNS0 part of an answer: our OPT, the cookie; BADVERS ends the answer there. */
static bool answer_edns(answer_t *a, canon_writer_t *w, canon_opt_t *opt, uint8_t *rcode,
                        bool *cookie_request)
{
	/* Field by field: the options' room is not cleared. */
	opt->payload = a->ctx->udp_max_payload;
	opt->ext_rcode = 0;
	opt->dnssec_ok = a->q->dnssec_ok;
	opt->options_len = 0;
	canon_cookie_status_t cookie = answer_cookie(a, opt);
	if (cookie == CANON_COOKIE_MALFORMED) {
		*rcode = KNOT_RCODE_FORMERR;
	} else if (cookie != CANON_COOKIE_NONE && *rcode == KNOT_RCODE_FORMERR &&
	           knot_wire_get_qdcount(a->q->wire) == 0) {
		/* RFC 7873 §5.4 (and RFC 9619): no question, a COOKIE: a cookie request. */
		*rcode = KNOT_RCODE_NOERROR;
		*cookie_request = true;
	}
	canon_writer_reserve(w, canon_opt_size(opt));
	if (a->q->version == EDNS_VERSION) {
		return false;
	}
	/* RFC 6891 §6.1.3: BADVERS (16) is 1 in the OPT's extended rcode, 0 in the header. */
	opt->ext_rcode = KNOT_RCODE_BADVERS >> 4;
	if (a->badvers != NULL) {
		*a->badvers = true;
	}
	canon_writer_put_opt(w, opt);
	return true;
}

/* Look the question up and write the answer's sections (and its EDE into 'opt'). */
HOT_INLINE void answer_lookup(answer_t *a, canon_writer_t *w, canon_opt_t *opt)
{
	const canon_query_ctx_t *ctx = a->ctx;
	knot_mm_t *mm = &ctx->arena->mm;
	const knot_dname_t *qname = a->q->wire + KNOT_WIRE_HEADER_SIZE;
	canon_answer_t ans;
	unsigned flags = a->q->edns && a->q->dnssec_ok ? CANON_LOOKUP_DNSSEC : 0;
	flags |= ctx->tcp ? 0 : CANON_LOOKUP_MINIMAL_ANY;
	int ret = canon_lookup(ctx->table, ctx->aliases, qname, a->q->qtype, flags, &ans, mm);
	if (ret == 0 && ctx->online != NULL && canon_online_active()) {
		/* dnssec=online: keys, RRSIGs, compact denial (serve/online_sign.h). */
		ret = canon_online_sign_answer(ctx->online, ctx->table, qname, a->q->qtype,
		                               flags != 0, &ans, mm);
	}
	if (ret != 0) {
		canon_writer_set_rcode(w, KNOT_RCODE_SERVFAIL);
		return;
	}
	if (ctx->metrics != NULL) {
		canon_metrics_answer(ctx->metrics, &ans);
	}
	canon_writer_put_answer(w, &ans);
	if (a->q->edns && ans.ede != KNOT_EDNS_EDE_NONE) {
		canon_opt_add_ede(opt, w, ans.ede, ans.ede_text);
	}
}

/*
 * The answer to a QUERY, with 'tsig_room' octets kept free at its end for a
 * TSIG: written by serve/answer.c straight into 'resp'.
 */
HOT_INLINE size_t answer_query_inline(answer_t *a, uint8_t *resp, size_t resp_size,
                                      uint16_t tsig_room)
{
	canon_writer_t w;
	a->limit = answer_size_limit(a, resp_size);
	if (!canon_writer_init(&w, resp, a->limit, a->q)) {
		return answer_header_only(a->q->wire, resp, KNOT_RCODE_SERVFAIL);
	}
	if (tsig_room > 0) {
		canon_writer_reserve(&w, tsig_room);
	}
	uint8_t rcode = check_question(a->q);
	bool cookie_request = false; /* Answered by the OPT alone. */
	canon_opt_t opt;
	if (a->q->edns && answer_edns(a, &w, &opt, &rcode, &cookie_request)) {
		return w.size; /* BADVERS */
	}
	if (rcode == KNOT_RCODE_NOERROR && !cookie_request) {
		answer_lookup(a, &w, &opt);
	} else {
		canon_writer_set_rcode(&w, rcode);
	}
	if (a->q->edns) {
		canon_writer_put_opt(&w, &opt);
	}
	return w.size;
}

static size_t answer_query(answer_t *a, uint8_t *resp, size_t resp_size, uint16_t tsig_room)
{
	return answer_query_inline(a, resp, resp_size, tsig_room);
}

/*
 * A query signed with TSIG (a secondary checking the SOA before a transfer,
 * RFC 8945 §5): a valid one gets its answer signed; a bad one gets NOTAUTH
 * with the TSIG error (§5.2), and nothing else.
 */
static size_t answer_signed(answer_t *a, uint8_t *resp, size_t resp_size)
{
	static const canon_tsig_keyring_t no_keys = {0};
	canon_tsig_session_t tsig;
	const canon_tsig_keyring_t *keys = a->ctx->keys ? a->ctx->keys : &no_keys;
	uint8_t rcode = canon_tsig_verify(keys, a->query, &tsig);
	size_t len = 0, max;
	if (rcode == KNOT_RCODE_NOERROR) {
		len = answer_query(a, resp, resp_size, (uint16_t)canon_tsig_reserve(&tsig));
		max = a->limit;
	} else {
		a->resp = knot_pkt_new(resp, answer_size_limit(a, resp_size), &a->ctx->arena->mm);
		if (a->resp == NULL || knot_pkt_init_response(a->resp, a->query) != KNOT_EOK) {
			return answer_header_only(a->query->wire, resp, KNOT_RCODE_SERVFAIL);
		}
		knot_wire_set_rcode(a->resp->wire, rcode);
		len = a->resp->size;
		max = a->resp->max_size;
	}
	if (canon_tsig_sign(&tsig, resp, &len, max) != 0) {
		return answer_header_only(a->query->wire, resp, KNOT_RCODE_SERVFAIL);
	}
	return len;
}

static size_t answer_parsed(answer_t *a, uint8_t *resp, size_t resp_size)
{
	size_t special_len = 0;
	if (special(a, resp, resp_size, &special_len)) {
		return special_len;
	}
	canon_query_t q;
	canon_query_from_pkt(&q, a->query);
	a->q = &q;
	if (a->query->tsig_rr != NULL) {
		return answer_signed(a, resp, resp_size);
	}
	return answer_query(a, resp, resp_size, 0);
}

HOT_INLINE size_t answer_message(const canon_query_ctx_t *ctx, const struct sockaddr_storage *peer,
                                 uint8_t *query, size_t query_len, uint8_t *resp, size_t resp_size,
                                 canon_stream_t *stream, bool *badvers,
                                 canon_cookie_status_t *cookie, int32_t *qtype)
{
	/* Too short for a header, or a response: nothing to say (RFC 1035 §4.1.1). */
	if (query_len < KNOT_WIRE_HEADER_SIZE || knot_wire_get_qr(query)) {
		return 0;
	}
	canon_arena_reset(ctx->arena);
	uint8_t opcode = knot_wire_get_opcode(query);
	if (opcode == KNOT_OPCODE_UPDATE && ctx->worker != NULL) {
		return answer_update(ctx, peer, query, query_len, resp, resp_size);
	}
	answer_t a = {
	        .ctx = ctx, .peer = peer, .stream = stream, .badvers = badvers, .cookie = cookie};
	canon_query_t q;
	if (opcode == KNOT_OPCODE_QUERY && canon_query_scan(&q, query, query_len) &&
	    q.qtype != KNOT_RRTYPE_AXFR && q.qtype != KNOT_RRTYPE_IXFR) {
		/* The common query: no libknot packet for it or for its answer. */
		a.q = &q;
		*qtype = q.qtype;
		return answer_query_inline(&a, resp, resp_size, 0);
	}
	a.query = knot_pkt_new(query, (uint16_t)query_len, &ctx->arena->mm);
	if (a.query == NULL) {
		return answer_header_only(query, resp, KNOT_RCODE_SERVFAIL);
	}
	if (canon_query_parse(a.query) != KNOT_EOK) {
		if (opcode != KNOT_OPCODE_QUERY && opcode != KNOT_OPCODE_UPDATE) {
			return answer_header_only(query, resp, KNOT_RCODE_NOTIMPL);
		}
		return answer_formerr(&a, query, query_len, resp);
	}
	return answer_parsed(&a, resp, resp_size);
}

/* The question's type from the wire (the query may not have parsed): 0 when it has none. */
static uint16_t wire_qtype(const uint8_t *query, size_t query_len)
{
	if (knot_wire_get_qdcount(query) == 0) {
		return 0;
	}
	const uint8_t *name = query + KNOT_WIRE_HEADER_SIZE, *end = query + query_len;
	int size = canon_name_wire_size(name, end);
	if (size <= 0 || end - name < size + 2) {
		return 0;
	}
	return knot_wire_read_u16(name + size);
}

/* One response sent (or a transfer's stream): counted in the worker's own block. */
static void count_response(const canon_query_ctx_t *ctx, const uint8_t *query, size_t query_len,
                           const uint8_t *resp, size_t len, const canon_stream_t *stream,
                           bool badvers, int32_t qtype)
{
	uint16_t rcode;
	if (len >= KNOT_WIRE_HEADER_SIZE) {
		rcode = badvers ? KNOT_RCODE_BADVERS : knot_wire_get_rcode(resp);
	} else if (stream != NULL && stream->data != NULL) {
		rcode = KNOT_RCODE_NOERROR; /* A transfer's messages. */
	} else {
		return; /* Nothing sent. */
	}
	if (qtype < 0) {
		qtype = wire_qtype(query, query_len); /* Not read by the fast path. */
	}
	canon_metrics_response(ctx->metrics, rcode, (uint16_t)qtype, ctx->tcp);
}

/* Response rate limiting (serve/rrl.h): drop or truncate the answer past the limit. */
static void rate_limit(const canon_query_ctx_t *ctx, const struct sockaddr_storage *peer,
                       uint8_t *resp, size_t *len, canon_cookie_status_t cookie)
{
	bool client_cookie = cookie == CANON_COOKIE_CLIENT || cookie == CANON_COOKIE_BAD;
	canon_rrl_action_t action =
	        canon_rrl_apply(ctx->rrl, peer, resp, len, (uint32_t)time(NULL), client_cookie);
	if (ctx->metrics == NULL || action == CANON_RRL_PASS) {
		return;
	}
	canon_metrics_bump(action == CANON_RRL_DROPPED ? &ctx->metrics->rrl_dropped
	                                               : &ctx->metrics->rrl_slipped);
}

size_t canon_query_answer(const canon_query_ctx_t *ctx, const struct sockaddr_storage *peer,
                          uint8_t *query, size_t query_len, uint8_t *resp, size_t resp_size,
                          canon_stream_t *stream)
{
	bool badvers = false;
	canon_cookie_status_t cookie = CANON_COOKIE_NONE;
	int32_t qtype = -1;
	size_t len = answer_message(ctx, peer, query, query_len, resp, resp_size, stream, &badvers,
	                            &cookie, &qtype);
	/* A valid server cookie proves the address (RFC 7873 §5.2.5): not limited, as in NSD, BIND.
	 */
	if (ctx->rrl != NULL && len > 0 && peer != NULL && cookie != CANON_COOKIE_VALID) {
		rate_limit(ctx, peer, resp, &len, cookie);
	}
	if (ctx->metrics != NULL) {
		count_response(ctx, query, query_len, resp, len, stream, badvers, qtype);
	}
	return len;
}
