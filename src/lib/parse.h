/*
 * Parsing a received query on the query path.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/packet/pkt.h>

/*
 * knot_pkt_parse(pkt, KNOT_PF_NOCANON), for what canon_query_scan() below
 * does not take (TSIG, UPDATE, transfers, NOTIFY, anything malformed): the
 * common query never gets here. Returns a libknot error code.
 */
int canon_query_parse(knot_pkt_t *pkt);

/*
 * What the query path needs from a QUERY, read straight from the wire: the
 * question as the client sent it (case preserved) and the EDNS0 fields
 * (RFC 6891 §6.1.3). 'wire' is the message, not copied.
 */
typedef struct {
	const uint8_t *wire;
	size_t len;
	uint16_t question_size; /* QNAME, QTYPE and QCLASS; 0 when there is no question. */
	uint16_t qtype;         /* 0 without a question, as knot_pkt_qtype(). */
	uint16_t qclass;
	bool edns;             /* An OPT record came with it; the fields below are set. */
	bool dnssec_ok;        /* The DO bit (RFC 3225). */
	uint8_t version;       /* EDNS version. */
	uint16_t payload;      /* The requestor's UDP payload size. */
	const uint8_t *cookie; /* The first COOKIE option's data (RFC 7873 §4), or NULL. */
	uint16_t cookie_len;
} canon_query_t;

/*
 * The common query read without libknot: one question, no answer or
 * authority records, and in the additional section nothing or one OPT record
 * owned by the root whose options are well formed. Returns false for any
 * other message (a TSIG, several records, trailing data, anything malformed):
 * the caller parses those with knot_pkt_parse(), which says what is wrong.
 */
bool canon_query_scan(canon_query_t *q, const uint8_t *wire, size_t len);

/* The same fields from a message knot_pkt_parse() accepted. */
void canon_query_from_pkt(canon_query_t *q, const knot_pkt_t *pkt);
