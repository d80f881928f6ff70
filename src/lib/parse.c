/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <libknot/errcode.h>
#include <libknot/descriptor.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "lib/name.h"
#include "lib/parse.h"

int canon_query_parse(knot_pkt_t *pkt)
{
	return knot_pkt_parse(pkt, KNOT_PF_NOCANON);
}

/* Each option's header and data inside the OPT RDATA (RFC 6891 §6.1.2); the first COOKIE noted. */
static bool scan_options(canon_query_t *q, const uint8_t *pos, const uint8_t *end)
{
	while (pos < end) {
		if (end - pos < KNOT_EDNS_OPTION_HDRLEN) {
			return false;
		}
		uint16_t code = knot_wire_read_u16(pos), len = knot_wire_read_u16(pos + 2);
		pos += KNOT_EDNS_OPTION_HDRLEN;
		if (end - pos < len) {
			return false;
		}
		if (code == KNOT_EDNS_OPTION_COOKIE && q->cookie == NULL) {
			q->cookie = pos;
			q->cookie_len = len;
		}
		pos += len;
	}
	return true;
}

/* One OPT RR (RFC 6891 §6.1.2) filling [pos, end) exactly. */
static bool scan_opt(canon_query_t *q, const uint8_t *pos, const uint8_t *end)
{
	/* Owner "." (one octet), TYPE, CLASS (payload), TTL (ext. rcode, version, flags), RDLEN. */
	if (end - pos < KNOT_EDNS_MIN_SIZE || pos[0] != 0 ||
	    knot_wire_read_u16(pos + 1) != KNOT_RRTYPE_OPT) {
		return false;
	}
	uint16_t rdlen = knot_wire_read_u16(pos + 9);
	if (end - pos - KNOT_EDNS_MIN_SIZE != rdlen) {
		return false;
	}
	q->edns = true;
	q->payload = knot_wire_read_u16(pos + 3);
	q->version = pos[6];
	q->dnssec_ok = knot_wire_read_u32(pos + 5) & KNOT_EDNS_DO_MASK;
	return scan_options(q, pos + KNOT_EDNS_MIN_SIZE, end);
}

bool canon_query_scan(canon_query_t *q, const uint8_t *wire, size_t len)
{
	uint16_t arcount = knot_wire_get_arcount(wire);
	if (len <= KNOT_WIRE_HEADER_SIZE || len > KNOT_WIRE_MAX_PKTSIZE ||
	    knot_wire_get_qdcount(wire) != 1 || knot_wire_get_ancount(wire) != 0 ||
	    knot_wire_get_nscount(wire) != 0 || arcount > 1) {
		return false;
	}
	const uint8_t *qname = wire + KNOT_WIRE_HEADER_SIZE, *end = wire + len;
	int name = canon_name_wire_size(qname, end);
	if (name <= 0 || end - qname < name + 4) {
		return false;
	}
	const uint8_t *rest = qname + name + 4;
	*q = (canon_query_t){.wire = wire,
	                     .len = len,
	                     .question_size = (uint16_t)(name + 4),
	                     .qtype = knot_wire_read_u16(qname + name),
	                     .qclass = knot_wire_read_u16(qname + name + 2)};
	if (arcount == 0) {
		return rest == end; /* Trailing data: libknot says FORMERR. */
	}
	return scan_opt(q, rest, end);
}

void canon_query_from_pkt(canon_query_t *q, const knot_pkt_t *pkt)
{
	*q = (canon_query_t){.wire = pkt->wire,
	                     .len = pkt->size,
	                     .question_size = pkt->qname_size > 0 ? pkt->qname_size + 4 : 0,
	                     .qtype = knot_pkt_qtype(pkt),
	                     .qclass = knot_pkt_qclass(pkt)};
	const knot_rrset_t *opt = pkt->opt_rr;
	if (opt == NULL) {
		return;
	}
	q->edns = true;
	q->payload = knot_edns_get_payload(opt);
	q->version = knot_edns_get_version(opt);
	q->dnssec_ok = knot_edns_do(opt);
	const uint8_t *cookie = knot_edns_get_option(opt, KNOT_EDNS_OPTION_COOKIE, NULL);
	if (cookie != NULL) {
		q->cookie = knot_edns_opt_get_data((uint8_t *)cookie);
		q->cookie_len = knot_edns_opt_get_length((uint8_t *)cookie);
	}
}
