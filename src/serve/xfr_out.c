/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/soa.h>

#include "lib/changeset.h"
#include "lib/journal.h"
#include "lib/log.h"
#include "serve/xfr_out.h"

typedef struct {
	const knot_pkt_t *query;
	canon_tsig_session_t *tsig;
	canon_stream_t *stream;
	knot_pkt_t *pkt;
	uint8_t wire[KNOT_WIRE_MAX_PKTSIZE];
	uint16_t records; /* In the message being built. */
	bool first;
} xfr_t;

static int stream_append(canon_stream_t *s, const uint8_t *msg, size_t len)
{
	if (s->len + 2 + len > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		while (cap < s->len + 2 + len) {
			cap *= 2;
		}
		uint8_t *data = realloc(s->data, cap);
		if (data == NULL) {
			return -ENOMEM;
		}
		s->data = data;
		s->cap = cap;
	}
	s->data[s->len] = (uint8_t)(len >> 8);
	s->data[s->len + 1] = (uint8_t)len;
	memcpy(s->data + s->len + 2, msg, len);
	s->len += 2 + len;
	return 0;
}

/* A new message: the header and question of the query, AA set, room kept for TSIG. */
static int msg_start(xfr_t *x)
{
	knot_pkt_clear(x->pkt);
	if (knot_pkt_init_response(x->pkt, x->query) != KNOT_EOK) {
		return -ENOMEM;
	}
	knot_wire_set_aa(x->pkt->wire);
	knot_pkt_reserve(x->pkt, (uint16_t)canon_tsig_reserve(x->tsig));
	x->records = 0;
	return knot_pkt_begin(x->pkt, KNOT_ANSWER) == KNOT_EOK ? 0 : -ENOMEM;
}

/* Sign the message (the first with the request's MAC, later ones chained) and queue it. */
static int msg_finish(xfr_t *x)
{
	knot_pkt_reclaim(x->pkt, (uint16_t)canon_tsig_reserve(x->tsig));
	size_t len = x->pkt->size;
	int ret = x->first ? canon_tsig_sign(x->tsig, x->wire, &len, sizeof(x->wire))
	                   : canon_tsig_sign_next(x->tsig, x->wire, &len, sizeof(x->wire));
	x->first = false;
	if (ret != 0) {
		return -EINVAL;
	}
	return stream_append(x->stream, x->wire, len);
}

/* Add one record; a full message is sent on and a new one started. */
static int put_record(xfr_t *x, const knot_rrset_t *rr, knot_rdata_t *rd)
{
	knot_rrset_t one = *rr;
	one.rrs.count = 1;
	one.rrs.size = (uint32_t)knot_rdata_size(rd->len);
	one.rrs.rdata = rd;
	int ret = knot_pkt_put(x->pkt, KNOT_COMPR_HINT_NONE, &one, KNOT_PF_NOTRUNC);
	if (ret == KNOT_ESPACE && x->records > 0) {
		if ((ret = msg_finish(x)) != 0 || (ret = msg_start(x)) != 0) {
			return ret;
		}
		ret = knot_pkt_put(x->pkt, KNOT_COMPR_HINT_NONE, &one, KNOT_PF_NOTRUNC);
	}
	if (ret != KNOT_EOK) {
		return -EINVAL; /* One record larger than a message: cannot happen in a zone. */
	}
	x->records++;
	return 0;
}

static int put_rrset(xfr_t *x, const knot_rrset_t *rr)
{
	knot_rdata_t *rd = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count; i++, rd = knot_rdataset_next(rd)) {
		int ret = put_record(x, rr, rd);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

/* Every RRset of the node but the SOA, which opens and closes the transfer. */
static int put_node(const canon_node_t *node, void *ctx)
{
	int ret = 0;
	for (uint16_t j = 0; ret == 0 && j < node->rrset_count; j++) {
		const knot_rrset_t *rr = &node->rrsets[j].rr;
		if (rr->type != KNOT_RRTYPE_SOA) {
			ret = put_rrset(ctx, rr);
		}
	}
	return ret;
}

/*
 * RFC 5936 §2.2: the SOA, every other record, the SOA again; names in
 * canonical order (canon_zone_walk). The zone's records as written: a
 * flattened CNAME goes out as the CNAME (flattening is an answer policy).
 */
static int put_zone(xfr_t *x, const canon_zone_t *zone)
{
	int ret = put_rrset(x, &zone->soa->rr);
	if (ret == 0) {
		ret = canon_zone_walk(zone, put_node, x);
	}
	return ret == 0 ? put_rrset(x, &zone->soa->rr) : ret;
}

static int put_list(xfr_t *x, const canon_rrlist_t *list)
{
	for (size_t i = 0; i < list->count; i++) {
		int ret = put_rrset(x, &list->items[i]);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

/* RFC 1995 §4: each difference is the old SOA, what went, the new SOA, what came. */
static int put_changeset(const canon_changeset_t *ch, void *ctx)
{
	xfr_t *x = ctx;
	int ret = put_list(x, &ch->removed);
	return ret == 0 ? put_list(x, &ch->added) : ret;
}

/*
 * The IXFR body from the journal: 0 when written, -ENOENT when the journal
 * cannot lead from 'from' to the zone's serial (answer with the whole zone).
 */
static int put_increments(xfr_t *x, const canon_zone_t *zone, const char *path, uint32_t from)
{
	if (path == NULL) {
		return -ENOENT;
	}
	canon_journal_t *journal = NULL;
	char error[512];
	if (canon_journal_open(path, true, &journal, error, sizeof(error)) != 0) {
		canon_log(CANON_LOG_WARNING, "IXFR: %s; sending the whole zone", error);
		return -ENOENT;
	}
	/* The walk writes as it reads: a broken chain must leave no trace, so check it first. */
	int ret = canon_journal_walk(journal, from, canon_zone_serial(zone), NULL, NULL);
	if (ret == 0) {
		ret = put_rrset(x, &zone->soa->rr);
	}
	if (ret == 0) {
		ret = canon_journal_walk(journal, from, canon_zone_serial(zone), put_changeset, x);
	}
	if (ret == 0) {
		ret = put_rrset(x, &zone->soa->rr);
	}
	canon_journal_close(journal);
	return ret;
}

/* The client's serial: the SOA in the IXFR query's authority section (RFC 1995 §3). */
static int ixfr_serial(const knot_pkt_t *query, uint32_t *serial)
{
	const knot_pktsection_t *authority = knot_pkt_section(query, KNOT_AUTHORITY);
	for (uint16_t i = 0; i < authority->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(authority, i);
		if (rr->type == KNOT_RRTYPE_SOA && rr->rrs.count > 0) {
			*serial = knot_soa_serial(rr->rrs.rdata);
			return 0;
		}
	}
	return -EINVAL;
}

static int answer(xfr_t *x, const canon_zone_t *zone, const char *journal)
{
	int ret = msg_start(x);
	if (ret == 0 && knot_pkt_qtype(x->query) == KNOT_RRTYPE_IXFR) {
		uint32_t from = 0;
		if (ixfr_serial(x->query, &from) != 0) {
			return KNOT_RCODE_FORMERR;
		}
		if (!canon_serial_newer(canon_zone_serial(zone), from)) {
			/* RFC 1995 §2: up to date already; the current SOA alone says so. */
			ret = put_rrset(x, &zone->soa->rr);
		} else {
			ret = put_increments(x, zone, journal, from);
			if (ret == -ENOENT && (ret = msg_start(x)) == 0) {
				ret = put_zone(x, zone); /* RFC 1995 §4: the history is gone. */
			}
		}
	} else if (ret == 0) {
		ret = put_zone(x, zone);
	}
	if (ret == 0) {
		ret = msg_finish(x);
	}
	return ret;
}

int canon_xfr_answer(const canon_zone_t *zone, const knot_pkt_t *query, const char *journal,
                     canon_tsig_session_t *tsig, canon_stream_t *stream)
{
	xfr_t *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		return KNOT_RCODE_SERVFAIL;
	}
	x->query = query;
	x->tsig = tsig;
	x->stream = stream;
	x->first = true;
	x->pkt = knot_pkt_new(x->wire, sizeof(x->wire), NULL);
	int ret = x->pkt ? answer(x, zone, journal) : -ENOMEM;
	knot_pkt_free(x->pkt);
	free(x);
	if (ret > 0) {
		return ret; /* An rcode. */
	}
	if (ret != 0) {
		free(stream->data);
		memset(stream, 0, sizeof(*stream));
		return KNOT_RCODE_SERVFAIL;
	}
	return 0;
}
