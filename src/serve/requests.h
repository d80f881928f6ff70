/*
 * The requests that change or copy whole zones, as they arrive on a worker:
 * RFC 2136 UPDATE (authenticated with TSIG, authorized by the zone's update=
 * keys, then handed to the zone manager) and AXFR/IXFR (authorized by the
 * zone's transfer= list, answered from the version the worker reads).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libknot/packet/pkt.h>

#include "serve/query.h"

typedef struct {
	const canon_query_ctx_t *ctx;
	const struct sockaddr_storage *peer;
	knot_pkt_t *query; /* Parsed; a TSIG is no longer part of its wire. */
	uint8_t *resp;
	size_t resp_size;
	canon_stream_t *stream; /* NULL over UDP. */
} canon_request_t;

/*
 * Answer an UPDATE; blocks until the zone manager has journaled and published
 * the change (RFC 2136 §3.5), with the worker marked idle meanwhile. Returns
 * the answer's length.
 */
size_t canon_request_update(const canon_request_t *req);

/*
 * Answer an AXFR/IXFR: over TCP the messages go to req->stream and 0 is
 * returned; refusals and UDP answers are written to req->resp (length
 * returned).
 */
size_t canon_request_transfer(const canon_request_t *req);
