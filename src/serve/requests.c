/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/wire.h>

#include "lib/journal.h"
#include "lib/log.h"
#include "lib/net.h"
#include "serve/requests.h"
#include "serve/worker.h"
#include "serve/zonemgr.h"

/* The answer header and question, the rcode, a TSIG when the request had one. */
static size_t finish(const canon_request_t *req, canon_tsig_session_t *tsig, uint8_t rcode)
{
	knot_pkt_t *resp = knot_pkt_new(req->resp, req->resp_size, &req->ctx->arena->mm);
	if (resp == NULL || knot_pkt_init_response(resp, req->query) != KNOT_EOK) {
		return 0;
	}
	knot_wire_set_rcode(resp->wire, rcode);
	size_t len = resp->size;
	if (canon_tsig_sign(tsig, req->resp, &len, req->resp_size) != 0) {
		len = resp->size; /* Unsigned rather than nothing: the client learns the rcode. */
	}
	return len;
}

/* The zone whose apex is the question's name, from the version the worker reads. */
static const canon_zone_t *asked_zone(const canon_request_t *req)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, knot_pkt_qname(req->query));
	return canon_zonetable_get(req->ctx->table, lower);
}

static void describe(const canon_request_t *req, const canon_tsig_session_t *tsig, char *out,
                     size_t size)
{
	char addr[64] = "?";
	if (req->peer != NULL) {
		canon_net_addr_str(req->peer, addr, sizeof(addr));
	}
	if (tsig->key != NULL) {
		snprintf(out, size, "%s with key %s", addr, tsig->key->name);
	} else {
		snprintf(out, size, "%s without a key", addr);
	}
}

/* TSIG first (RFC 8945 §5.2), then the question. Returns NOERROR to go on. */
static uint8_t check_request(const canon_request_t *req, canon_tsig_session_t *tsig)
{
	const canon_server_t *server = req->ctx->worker->server;
	uint8_t rcode = canon_tsig_verify(&server->conf->keys, req->query, tsig);
	if (rcode != KNOT_RCODE_NOERROR) {
		return rcode;
	}
	if (knot_wire_get_qdcount(req->query->wire) != 1 ||
	    knot_pkt_qclass(req->query) != KNOT_CLASS_IN) {
		return KNOT_RCODE_FORMERR;
	}
	return KNOT_RCODE_NOERROR;
}

/* Block on the zone manager with this worker marked idle, so a publish need not wait for it. */
static uint8_t wait_for_manager(const canon_request_t *req, const char *who)
{
	canon_worker_t *w = req->ctx->worker;
	canon_server_t *server = w->server;
	/* The message as parsed: libknot took the TSIG off its end (and out of ARCOUNT). */
	atomic_store(&w->active_epoch, 0);
	uint8_t rcode =
	        canon_zonemgr_update(server->zonemgr, req->query->wire, req->query->size, who);
	/* Back in: announce the epoch again, then read the (maybe new) table. */
	atomic_store(&w->active_epoch, atomic_load(&server->epoch));
	canon_worker_refresh(w);
	return rcode;
}

size_t canon_request_update(const canon_request_t *req)
{
	canon_tsig_session_t tsig;
	uint8_t rcode = check_request(req, &tsig);
	if (rcode == KNOT_RCODE_NOERROR && knot_pkt_qtype(req->query) != KNOT_RRTYPE_SOA) {
		rcode = KNOT_RCODE_FORMERR; /* RFC 2136 §3.1.1: the zone section names a SOA. */
	}
	char who[KNOT_DNAME_TXT_MAXLEN + 96], zone_name[KNOT_DNAME_TXT_MAXLEN + 1];
	describe(req, &tsig, who, sizeof(who));
	knot_dname_to_str(zone_name, knot_pkt_qname(req->query), sizeof(zone_name));
	const canon_zone_t *zone = rcode == KNOT_RCODE_NOERROR ? asked_zone(req) : NULL;
	if (rcode == KNOT_RCODE_NOERROR && zone == NULL) {
		rcode = KNOT_RCODE_NOTAUTH; /* RFC 2136 §3.1.2 */
	} else if (zone != NULL && !canon_conf_update_allowed(zone->settings, tsig.key)) {
		canon_log(CANON_LOG_INFO, "zone %s: update from %s refused (not in update=)",
		          zone_name, who);
		rcode = KNOT_RCODE_REFUSED; /* RFC 2136 §3.3 */
	} else if (zone != NULL) {
		rcode = wait_for_manager(req, who);
	}
	if (rcode == KNOT_RCODE_NOTAUTH && tsig.error != 0) {
		canon_log(CANON_LOG_INFO, "update of %s from %s: TSIG error %u", zone_name, who,
		          tsig.error);
	}
	return finish(req, &tsig, rcode);
}

static size_t refuse_transfer(const canon_request_t *req, canon_tsig_session_t *tsig, uint8_t rcode,
                              const char *why)
{
	char who[KNOT_DNAME_TXT_MAXLEN + 96], zone_name[KNOT_DNAME_TXT_MAXLEN + 1];
	describe(req, tsig, who, sizeof(who));
	knot_dname_to_str(zone_name, knot_pkt_qname(req->query), sizeof(zone_name));
	canon_log(CANON_LOG_INFO, "transfer of %s to %s refused: %s", zone_name, who, why);
	return finish(req, tsig, rcode);
}

/* RFC 1995 §2: over UDP an IXFR is answered with the current SOA (the client then uses TCP). */
static size_t answer_soa(const canon_request_t *req, canon_tsig_session_t *tsig,
                         const canon_zone_t *zone)
{
	knot_pkt_t *resp = knot_pkt_new(req->resp, req->resp_size, &req->ctx->arena->mm);
	if (resp == NULL || knot_pkt_init_response(resp, req->query) != KNOT_EOK) {
		return 0;
	}
	knot_wire_set_aa(resp->wire);
	knot_pkt_reserve(resp, (uint16_t)canon_tsig_reserve(tsig));
	knot_pkt_begin(resp, KNOT_ANSWER);
	knot_pkt_put(resp, KNOT_COMPR_HINT_QNAME, &zone->soa->rr, 0);
	knot_pkt_reclaim(resp, (uint16_t)canon_tsig_reserve(tsig));
	size_t len = resp->size;
	canon_tsig_sign(tsig, req->resp, &len, req->resp_size);
	return len;
}

size_t canon_request_transfer(const canon_request_t *req)
{
	canon_tsig_session_t tsig;
	uint8_t rcode = check_request(req, &tsig);
	if (rcode != KNOT_RCODE_NOERROR) {
		return refuse_transfer(req, &tsig, rcode, "bad TSIG or question");
	}
	bool ixfr = knot_pkt_qtype(req->query) == KNOT_RRTYPE_IXFR;
	if (req->stream == NULL && !ixfr) {
		/* RFC 5936 §4.2: AXFR is defined over TCP only. */
		return refuse_transfer(req, &tsig, KNOT_RCODE_NOTIMPL, "AXFR over UDP");
	}
	const canon_zone_t *zone = asked_zone(req);
	if (zone == NULL) {
		return refuse_transfer(req, &tsig, KNOT_RCODE_NOTAUTH, "not a zone served here");
	}
	const canon_zone_conf_t *conf = zone->settings;
	if (!canon_conf_transfer_allowed(conf, req->peer, tsig.key)) {
		return refuse_transfer(req, &tsig, KNOT_RCODE_REFUSED, "not allowed by transfer=");
	}
	if (req->stream == NULL) {
		return answer_soa(req, &tsig, zone);
	}
	const char *state_dir = req->ctx->worker->server->conf->state_dir;
	char journal[PATH_MAX];
	if (state_dir != NULL) {
		canon_journal_path(state_dir, conf->origin, journal, sizeof(journal));
	}
	rcode = canon_xfr_answer(zone, req->query, state_dir ? journal : NULL, &tsig, req->stream);
	if (rcode != 0) {
		return refuse_transfer(req, &tsig, rcode, "the answer could not be built");
	}
	char who[KNOT_DNAME_TXT_MAXLEN + 96];
	describe(req, &tsig, who, sizeof(who));
	canon_log(CANON_LOG_INFO, "%s of %s serial %u to %s: %zu bytes", ixfr ? "IXFR" : "AXFR",
	          conf->origin, canon_zone_serial(zone), who, req->stream->len);
	return 0;
}
