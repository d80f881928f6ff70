/*
 * Zone transfers out: AXFR (RFC 5936) of a zone version, in canonical order
 * (RFC 4034 §6.1), and IXFR (RFC 1995) from the zone's journal, as many
 * messages as the zone needs, each TSIG-signed when the request was (RFC 8945
 * §5.3.1). An IXFR from a serial the journal no longer holds is answered with
 * the whole zone (RFC 1995 §4).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libknot/packet/pkt.h>

#include "lib/tsig.h"
#include "lib/zone.h"

/* A transfer's messages, each behind its 2-octet length (RFC 1035 §4.2.2): ready for TCP. */
typedef struct {
	uint8_t *data; /* malloc()ed */
	size_t len;
	size_t cap;
} canon_stream_t;

/*
 * Answer the AXFR or IXFR 'query' for 'zone' into 'stream'. 'journal' is the
 * zone's journal file (NULL: none, so IXFR gets the whole zone). Returns 0,
 * or the rcode to answer with instead (FORMERR for an IXFR without its SOA,
 * SERVFAIL when out of memory).
 */
int canon_xfr_answer(const canon_zone_t *zone, const knot_pkt_t *query, const char *journal,
                     canon_tsig_session_t *tsig, canon_stream_t *stream);
