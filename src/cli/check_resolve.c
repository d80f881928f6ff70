/*
 * canon check --resolve: what the zone alone cannot tell. Out-of-zone CNAME
 * targets are looked up: one that does not exist (NXDOMAIN) is a dangling
 * alias, which anyone who registers the name can take over. Out-of-zone MX
 * and NS targets that turn out to be aliases break RFC 2181 §10.3.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libknot/codes.h>
#include <libknot/descriptor.h>
#include <libknot/lookup.h>
#include <libknot/packet/pkt.h>
#include <libknot/rrtype/rdname.h>

#include "cli/check.h"
#include "lib/net.h"
#include "lib/rdata.h"

#define RESOLVE_TIMEOUT_MS 2000
#define RESOLVE_TRIES      2
#define RESOLV_CONF        "/etc/resolv.conf"

const canon_rule_t CANON_RULE_DANGLING_EXTERNAL = {"cname-dangling-external", CANON_SEVERITY_ERROR,
                                                   false};
const canon_rule_t CANON_RULE_UNRESOLVED = {"unresolved-target", CANON_SEVERITY_WARNING, false};

typedef struct {
	canon_net_peer_t peer;
	struct sockaddr_storage addr;
	char text[64];
} resolver_t;

/* The answer to one lookup of a target. */
typedef struct {
	int error;     /* 0, or a negative errno when no answer came. */
	uint8_t rcode; /* KNOT_RCODE_* */
	bool alias;    /* The target itself owns a CNAME. */
} lookup_result_t;

static int first_resolv_conf_server(char *out, size_t size)
{
	FILE *f = fopen(RESOLV_CONF, "r");
	if (f == NULL) {
		return -ENOENT;
	}
	char line[256];
	int ret = -ENOENT;
	while (ret != 0 && fgets(line, sizeof(line), f) != NULL) {
		char addr[128];
		if (sscanf(line, " nameserver %127s", addr) == 1) {
			/* A bare IPv6 address has colons: bracket it so no port is read. */
			snprintf(out, size, strchr(addr, ':') ? "[%s]" : "%s", addr);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

static int resolver_init(resolver_t *r, const char *server)
{
	char text[160];
	if (server == NULL) {
		if (first_resolv_conf_server(text, sizeof(text)) != 0) {
			fprintf(stderr, "canon check: --resolve: no nameserver in %s\n",
			        RESOLV_CONF);
			return -EINVAL;
		}
		server = text;
	}
	socklen_t len;
	if (canon_net_addr_parse(server, 53, &r->addr, &len) != 0) {
		fprintf(stderr, "canon check: --resolve=%s: expected ADDRESS[:PORT]\n", server);
		return -EINVAL;
	}
	r->peer = (canon_net_peer_t){.addr = (struct sockaddr *)&r->addr, .addrlen = len};
	canon_net_addr_str(&r->addr, r->text, sizeof(r->text));
	return 0;
}

/* Whether the answer holds a CNAME owned by the query name itself. */
static bool answer_is_alias(const knot_pkt_t *reply)
{
	const knot_pktsection_t *answer = knot_pkt_section(reply, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		if (rr->type == KNOT_RRTYPE_CNAME &&
		    knot_dname_is_equal(rr->owner, knot_pkt_qname(reply))) {
			return true;
		}
	}
	return false;
}

static lookup_result_t lookup(const resolver_t *r, const knot_dname_t *name)
{
	lookup_result_t result = {.error = -ENOMEM};
	uint8_t wire[KNOT_WIRE_MAX_PKTSIZE];
	knot_pkt_t *query = knot_pkt_new(NULL, KNOT_WIRE_MIN_PKTSIZE, NULL);
	if (query == NULL ||
	    knot_pkt_put_question(query, name, KNOT_CLASS_IN, KNOT_RRTYPE_A) != 0) {
		knot_pkt_free(query);
		return result;
	}
	uint16_t id;
	getrandom(&id, sizeof(id), 0);
	knot_wire_set_id(query->wire, id);
	knot_wire_set_rd(query->wire);
	canon_msg_t q = {.data = query->wire, .len = query->size, .cap = query->size};
	canon_msg_t a = {.data = wire, .cap = sizeof(wire)};
	for (int i = 0; i < RESOLVE_TRIES; i++) {
		int64_t deadline = canon_now_ms() + RESOLVE_TIMEOUT_MS;
		result.error = canon_net_udp(&r->peer, &q, &a, deadline);
		if (result.error == 0 && knot_wire_get_tc(wire)) {
			result.error = canon_net_tcp(&r->peer, &q, &a, deadline);
		}
		if (result.error == 0) {
			break;
		}
	}
	knot_pkt_free(query);
	knot_pkt_t *reply = result.error == 0 ? knot_pkt_new(wire, (uint16_t)a.len, NULL) : NULL;
	if (reply != NULL && knot_pkt_parse(reply, 0) == 0) {
		result.rcode = knot_wire_get_rcode(wire);
		result.alias = answer_is_alias(reply);
	} else if (result.error == 0) {
		result.error = -EBADMSG;
	}
	knot_pkt_free(reply);
	return result;
}

/* Where a record was read, from the loader's positions. */
typedef struct {
	const char *file;
	uint32_t line;       /* Of the record. */
	uint32_t rrset_line; /* Of the RRset's first record. */
} place_t;

static place_t place_of(const canon_check_zone_t *cz, const canon_node_t *node,
                        const canon_rrset_t *rrset, uint16_t index)
{
	place_t p = {.file = cz->path};
	const canon_rrset_pos_t *pos = canon_positions_get(cz->positions, node, rrset->rr.type);
	if (pos != NULL) {
		p.file = canon_positions_file(cz->positions, pos->file);
		p.line = canon_rrset_pos_line(pos, index);
		p.rrset_line = pos->line;
	}
	return p;
}

static void report(canon_check_zone_t *cz, const canon_rrset_t *rrset, place_t at,
                   const resolver_t *r, const knot_dname_t *owner, const knot_dname_t *target,
                   lookup_result_t res)
{
	const char *file = at.file;
	uint32_t line = at.line;
	char owner_text[KNOT_DNAME_TXT_MAXLEN + 1], target_text[KNOT_DNAME_TXT_MAXLEN + 1];
	char type[16];
	knot_dname_to_str(owner_text, owner, sizeof(owner_text));
	knot_dname_to_str(target_text, target, sizeof(target_text));
	knot_rrtype_to_string(rrset->rr.type, type, sizeof(type));
	if (res.error != 0) {
		canon_findings_add(&cz->findings, &CANON_RULE_UNRESOLVED, file, line, owner,
		                   rrset->rr.type, NULL,
		                   "%s target %s of %s could not be resolved at "
		                   "%s: %s",
		                   type, target_text, owner_text, r->text,
		                   canon_net_strerror(res.error));
	} else if (res.rcode != KNOT_RCODE_NOERROR && res.rcode != KNOT_RCODE_NXDOMAIN) {
		const knot_lookup_t *rcode = knot_lookup_by_id(knot_rcode_names, res.rcode);
		canon_findings_add(&cz->findings, &CANON_RULE_UNRESOLVED, file, line, owner,
		                   rrset->rr.type, NULL,
		                   "%s target %s of %s could not be resolved at "
		                   "%s: it answered %s",
		                   type, target_text, owner_text, r->text,
		                   rcode ? rcode->name : "an error");
	} else if (rrset->rr.type == KNOT_RRTYPE_CNAME && res.rcode == KNOT_RCODE_NXDOMAIN) {
		canon_findings_add(
		        &cz->findings, &CANON_RULE_DANGLING_EXTERNAL, file, at.rrset_line, owner,
		        rrset->rr.type, "remove the CNAME, or register and serve the target name",
		        "CNAME target %s of %s does not exist (NXDOMAIN at %s): a dangling "
		        "alias is a subdomain-takeover risk; whoever registers the target "
		        "controls %s",
		        target_text, owner_text, r->text, owner_text);
	} else if (rrset->rr.type != KNOT_RRTYPE_CNAME && res.alias) {
		const canon_rule_t *rule = rrset->rr.type == KNOT_RRTYPE_MX
		                                   ? &CANON_RULE_MX_TO_CNAME
		                                   : &CANON_RULE_NS_TO_CNAME;
		canon_findings_add(
		        &cz->findings, rule, file, line, owner, rrset->rr.type,
		        "point it at the name the alias leads to",
		        "%s target %s of %s is an alias (CNAME, found at %s); %s must name "
		        "a host with addresses (RFC 2181 §10.3)",
		        type, target_text, owner_text, r->text, type);
	}
}

static const knot_dname_t *out_of_zone_target(const canon_zone_t *zone, const knot_rrset_t *rr,
                                              const knot_rdata_t *rdata)
{
	if (rr->type != KNOT_RRTYPE_CNAME && rr->type != KNOT_RRTYPE_MX &&
	    rr->type != KNOT_RRTYPE_NS) {
		return NULL;
	}
	const knot_dname_t *target = canon_rdata_target(rr->type, rdata);
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	return knot_dname_in_bailiwick(lower, zone->apex_name) < 0 ? target : NULL;
}

int canon_check_resolve(canon_check_zone_t *cz, const char *server)
{
	resolver_t r;
	if (resolver_init(&r, server) != 0) {
		return -EINVAL;
	}
	size_t first = cz->findings.count;
	const canon_zone_t *zone = cz->zone;
	for (size_t i = 0; i < zone->node_count; i++) {
		const canon_node_t *node = zone->nodes[i];
		for (uint16_t j = 0; j < node->rrset_count; j++) {
			const canon_rrset_t *rrset = &node->rrsets[j];
			knot_rdata_t *rdata = rrset->rr.rrs.rdata;
			for (uint16_t k = 0; k < rrset->rr.rrs.count;
			     k++, rdata = knot_rdataset_next(rdata)) {
				const knot_dname_t *target =
				        out_of_zone_target(zone, &rrset->rr, rdata);
				if (target != NULL) {
					report(cz, rrset, place_of(cz, node, rrset, k), &r,
					       node->owner, target, lookup(&r, target));
				}
			}
		}
	}
	canon_findings_sort(&cz->findings, first);
	return 0;
}
