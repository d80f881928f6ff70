/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libknot/errcode.h>
#include <libknot/descriptor.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

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

/*
 * canon_name_wire_size() for the QNAME, with one bound per label instead of
 * two: past the message and past 255 octets (RFC 1035 §3.1) both mean -1.
 */
static inline int qname_size(const uint8_t *name, const uint8_t *end)
{
	const uint8_t *limit = end - name > KNOT_DNAME_MAXLEN ? name + KNOT_DNAME_MAXLEN : end;
	const uint8_t *p = name;
	while (p < limit) {
		uint8_t label = *p;
		if (label == 0) {
			return (int)(p - name) + 1;
		}
		if (label > KNOT_DNAME_MAXLABELLEN) {
			return -1; /* A compression pointer or a reserved label type. */
		}
		p += label + 1;
	}
	return -1;
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
	int name = qname_size(qname, end);
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
