/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libknot/errcode.h>
#include <libknot/packet/wire.h>

#include "lib/name.h"
#include "lib/parse.h"

/*
 * The bare question (RFC 1035 §4.1.2) is most of the traffic; libknot's
 * parser spent ~500 instructions on it (a name check, a lower-case copy per
 * octet, a record array), a quarter of an answer's cost (bench/run --cost).
 */
static bool bare_question(knot_pkt_t *pkt)
{
	const uint8_t *wire = pkt->wire;
	size_t size = pkt->size;
	if (size <= KNOT_WIRE_HEADER_SIZE || knot_wire_get_qdcount(wire) != 1 ||
	    knot_wire_get_ancount(wire) != 0 || knot_wire_get_nscount(wire) != 0 ||
	    knot_wire_get_arcount(wire) != 0) {
		return false;
	}
	const uint8_t *qname = wire + KNOT_WIRE_HEADER_SIZE;
	int len = canon_name_wire_size(qname, wire + size);
	if (len <= 0 || KNOT_WIRE_HEADER_SIZE + (size_t)len + 2 * sizeof(uint16_t) != size) {
		return false; /* Malformed or trailing data: libknot says which. */
	}
	pkt->parsed = size;
	pkt->qname_size = (uint16_t)len;
	canon_name_copy_lower(pkt->lower_qname, qname, (size_t)len);
	pkt->rrset_count = 0;
	pkt->opt_rr = NULL;
	pkt->tsig_rr = NULL;
	memset(pkt->sections, 0, sizeof(pkt->sections));
	pkt->current = KNOT_ANSWER;
	for (int i = KNOT_ANSWER; i <= KNOT_ADDITIONAL; i++) {
		pkt->sections[i].pkt = pkt;
	}
	return true;
}

int canon_query_parse(knot_pkt_t *pkt)
{
	if (bare_question(pkt)) {
		return KNOT_EOK;
	}
	return knot_pkt_parse(pkt, KNOT_PF_NOCANON);
}
