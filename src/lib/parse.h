/*
 * Parsing a received query on the query path.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libknot/packet/pkt.h>

/*
 * knot_pkt_parse(pkt, KNOT_PF_NOCANON) with a short cut for the common
 * query: one question and nothing else (no OPT, no TSIG). That one is set up
 * field by field, as libknot would (question size, lower-case QNAME, sections
 * reset), without its generic record parser. Any other message goes to
 * knot_pkt_parse(). Returns a libknot error code.
 */
int canon_query_parse(knot_pkt_t *pkt);
