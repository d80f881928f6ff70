/*
 * canon dig +trace: the delegation walk, printed the way dig +trace prints
 * it. The root NS set comes from the given server (asked with RD), then each
 * zone's servers are asked without RD (RFC 1034 §5.3.3) until one answers,
 * every step ending in ";; Received N bytes from ADDR#PORT(NAME) in T ms".
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/rrtype/rdname.h>

#include "cli/dig.h"

#define TRACE_STEPS_MAX 30 /* Zone cuts walked at most. */

static int ask(dig_out_t *out, const dig_server_t *server, const knot_dname_t *name, uint16_t type,
               bool rd, dig_reply_t *reply)
{
	dig_params_t params = *out->params;
	params.recurse = rd;
	dig_out_t quiet = *out;
	quiet.params = &params;
	int ret = dig_exec_query(&quiet, server, name, type, reply);
	if (ret == KNOT_EOK && reply->pkt == NULL) {
		dig_reply_clear(reply);
		return KNOT_EMALF;
	}
	return ret;
}

static void print_step(const dig_reply_t *reply, const char *server_name, bool answer_only)
{
	dig_print_records(reply->pkt, KNOT_ANSWER);
	if (!answer_only) {
		dig_print_records(reply->pkt, KNOT_AUTHORITY);
	}
	char addr[80];
	printf(";; Received %zu bytes from %s(%s) in %ld ms\n\n", reply->len,
	       dig_server_addr_str(reply->server, addr, sizeof(addr)), server_name, reply->rtt_ms);
}

static bool set_address(dig_server_t *server, const knot_rrset_t *rr, uint16_t port)
{
	memset(server, 0, sizeof(*server));
	const knot_rdata_t *rd = rr->rrs.rdata;
	if (rr->type == KNOT_RRTYPE_A && rd->len == 4) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&server->addr;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		memcpy(&v4->sin_addr, rd->data, 4);
		server->addrlen = sizeof(*v4);
		return true;
	}
	return false;
}

/* The IPv4 address of 'host': glue in 'referral', else asked of 'first' with RD. */
static bool host_address(dig_out_t *out, const dig_server_t *first, const knot_pkt_t *referral,
                         const knot_dname_t *host, dig_server_t *server)
{
	uint16_t port = out->params->port;
	const knot_pktsection_t *add = knot_pkt_section(referral, KNOT_ADDITIONAL);
	for (uint16_t i = 0; i < add->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(add, i);
		if (knot_dname_is_equal(rr->owner, host) && set_address(server, rr, port)) {
			return true;
		}
	}
	dig_reply_t reply = {0};
	bool found = false;
	if (ask(out, first, host, KNOT_RRTYPE_A, true, &reply) == KNOT_EOK) {
		const knot_pktsection_t *answer = knot_pkt_section(reply.pkt, KNOT_ANSWER);
		for (uint16_t i = 0; i < answer->count && !found; i++) {
			found = set_address(server, knot_pkt_rr(answer, i), port);
		}
	}
	dig_reply_clear(&reply);
	return found;
}

/* A referral to a zone below 'zone' in the reply's AUTHORITY, or NULL. */
static const knot_rrset_t *referral_ns(const knot_pkt_t *pkt, const knot_dname_t *zone)
{
	if (knot_pkt_section(pkt, KNOT_ANSWER)->count > 0 ||
	    knot_wire_get_rcode(pkt->wire) != KNOT_RCODE_NOERROR) {
		return NULL;
	}
	const knot_pktsection_t *auth = knot_pkt_section(pkt, KNOT_AUTHORITY);
	for (uint16_t i = 0; i < auth->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(auth, i);
		if (rr->type == KNOT_RRTYPE_NS && knot_dname_in_bailiwick(rr->owner, zone) > 0) {
			return rr;
		}
	}
	return NULL;
}

/* Ask the servers of one zone in turn; the first reply wins. */
static int ask_zone(dig_out_t *out, const dig_server_t *first, const dig_reply_t *from,
                    const knot_rrset_t *ns, dig_server_t *server, dig_reply_t *reply)
{
	const knot_rdata_t *rd = ns->rrs.rdata;
	for (uint16_t i = 0; i < ns->rrs.count; i++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
		if (!host_address(out, first, from->pkt, knot_ns_name(rd), server)) {
			continue;
		}
		knot_dname_to_str(server->name, knot_ns_name(rd), sizeof(server->name));
		*reply = (dig_reply_t){0};
		if (ask(out, server, out->params->qname, out->params->qtype, false, reply) ==
		    KNOT_EOK) {
			return KNOT_EOK;
		}
	}
	return KNOT_ECONN;
}

int dig_trace(dig_out_t *out, const dig_server_t *server)
{
	dig_print_banner(out);
	dig_reply_t prev = {0};
	if (ask(out, server, (const knot_dname_t *)"", KNOT_RRTYPE_NS, true, &prev) != KNOT_EOK) {
		return KNOT_ECONN;
	}
	print_step(&prev, server->name, true);
	const knot_rrset_t *ns = NULL;
	const knot_pktsection_t *answer = knot_pkt_section(prev.pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count && ns == NULL; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		ns = rr->type == KNOT_RRTYPE_NS && rr->owner[0] == 0 ? rr : NULL;
	}
	int ret = ns ? KNOT_EOK : KNOT_ENOENT;
	dig_server_t servers[2]; /* The one asked now, and the one before (prev's). */
	for (int step = 0; ns != NULL && step < TRACE_STEPS_MAX; step++) {
		dig_reply_t reply;
		dig_server_t *asked = &servers[step % 2];
		if (ask_zone(out, server, &prev, ns, asked, &reply) != KNOT_EOK) {
			char zone[KNOT_DNAME_TXT_MAXLEN + 1];
			knot_dname_to_str(zone, ns->owner, sizeof(zone));
			printf(";; no server of %s could be reached\n", zone);
			ret = KNOT_ECONN;
			break;
		}
		print_step(&reply, asked->name, false);
		const knot_rrset_t *next = referral_ns(reply.pkt, ns->owner);
		dig_reply_clear(&prev);
		prev = reply;
		ns = next;
	}
	dig_reply_clear(&prev);
	return ret;
}
