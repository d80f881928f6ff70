/*
 * canon dig +chain: follow the CNAME/DNAME chain of a reply hop by hop.
 *
 * A loop over a state (the current name), as Knot's solve_answer does, with
 * the two stops every command shares (lib/alias.h): the hop limit
 * CANON_CHAIN_MAX and a check for a name already seen. When the chain leaves
 * what this reply answers, the same server is asked about the target.
 *
 * Output, one line per step, greppable by the mark after ";;":
 *   ;; CHAIN: <qname> <qtype>
 *   ;;   N  <name> <ttl> CNAME <target>
 *   ;;   N  <name> <ttl> DNAME <target> (<dname owner> DNAME <dname target>)
 *   ;;   >  <name> <why>, re-querying <server>
 *   ;;   =  <name> <ttl> <type> <rdata>        (one per final record)
 *   ;;   !  <name> <STATUS> <detail>           (the failure, if any)
 *   ;; CHAIN END: <n> hops, <STATUS>, effective TTL <ttl>[, DNSSEC: <what>]
 * STATUS is ANSWER, NXDOMAIN, NODATA, LOOP, LEFT, TOOLONG, YXDOMAIN, NOREPLY
 * or the reply's rcode (SERVFAIL, REFUSED, ...). LEFT also covers an
 * authoritative server's REFUSED for a name outside its zones.
 * With +dnssec a record line whose RRset came with its RRSIG ends in
 * "(signed)", and the end line says "DNSSEC: all signed" or how many of the
 * records were not (a synthesized CNAME is never signed: RFC 6672 §5.3).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "cli/dig.h"
#include "lib/alias.h"
#include "lib/zone.h"

#define CHAIN_REQUERY_MAX 8 /* extra queries when the chain leaves a reply */
#define CHAIN_TTL_NONE    UINT64_MAX

/* One output line; text fields are malloc'd. */
typedef struct {
	char mark[8];
	char *owner;
	bool has_ttl;
	uint32_t ttl;
	char type[16];
	char *text;
	bool is_rr;   /* a hop or final record (counted for DNSSEC) */
	bool signed_; /* its RRset came with an RRSIG covering it */
} chain_line_t;

typedef struct {
	chain_line_t *lines;
	size_t nlines;
	size_t cap;
	knot_dname_storage_t cur; /* the name the chain has reached */
	/* The names visited, for the walker; one spare slot for the hop past the limit. */
	knot_dname_storage_t seen[CANON_CHAIN_MAX + 2];
	canon_chain_t walk;
	unsigned hops;
	uint64_t ttl; /* minimum TTL so far, CHAIN_TTL_NONE if none */
	char status[16];
	bool asked; /* the reply in hand was asked about cur itself */
	char why_left[KNOT_DNAME_TXT_MAXLEN + 32]; /* why the reply stops at cur */
	unsigned requeries;
	bool dnssec; /* +dnssec: mark the signed records */
} chain_t;

typedef enum {
	STEP_MOVED, /* followed a hop; cur is the target */
	STEP_NONE,  /* no alias at cur */
	STEP_DONE,  /* the chain ended (answer or failure) */
	STEP_LEFT,  /* this reply says nothing more about cur */
} step_t;

static char *name_str(const knot_dname_t *name)
{
	char *text = knot_dname_to_str_alloc(name);
	return text ? text : strdup("?");
}

/* Copy a name from a parsed packet (always valid there; root if not). */
static void name_set(knot_dname_storage_t dst, const knot_dname_t *src)
{
	if (knot_dname_store(dst, src) == 0) {
		dst[0] = '\0';
	}
}

static chain_line_t *chain_add(chain_t *c, const char *mark, const knot_dname_t *owner)
{
	if (c->nlines == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		chain_line_t *lines = realloc(c->lines, cap * sizeof(*lines));
		if (lines == NULL) {
			return NULL;
		}
		c->lines = lines;
		c->cap = cap;
	}
	chain_line_t *line = &c->lines[c->nlines++];
	memset(line, 0, sizeof(*line));
	snprintf(line->mark, sizeof(line->mark), "%s", mark);
	line->owner = name_str(owner);
	return line;
}

static void chain_ttl(chain_t *c, uint32_t ttl)
{
	if (ttl < c->ttl) {
		c->ttl = ttl;
	}
}

/* RFC 4035 §3.1.1: an RRset's RRSIGs share its owner and name its type in
 * Type Covered; the server puts them in the same section. */
static bool rrset_signed(const knot_pkt_t *pkt, const knot_dname_t *owner, uint16_t type)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		if (rr->type != KNOT_RRTYPE_RRSIG || !knot_dname_is_case_equal(rr->owner, owner)) {
			continue;
		}
		const knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count;
		     j++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
			if (knot_rrsig_type_covered(rd) == type) {
				return true;
			}
		}
	}
	return false;
}

/* A record line (hop or final) from pkt; text is taken over. */
static void chain_add_rr(chain_t *c, const knot_pkt_t *pkt, const char *mark,
                         const knot_dname_t *owner, const knot_rrset_t *rr, char *text)
{
	uint16_t type = rr->type;
	uint32_t ttl = rr->ttl;
	chain_line_t *line = chain_add(c, mark, owner);
	if (line == NULL) {
		free(text);
		return;
	}
	line->is_rr = true;
	line->signed_ = rrset_signed(pkt, rr->owner, rr->type);
	line->has_ttl = true;
	line->ttl = ttl;
	knot_rrtype_to_string(type, line->type, sizeof(line->type));
	line->text = text ? text : strdup("?");
	chain_ttl(c, ttl);
}

/* The "!" line and the chain's status. */
static step_t chain_fail(chain_t *c, const char *status, const char *detail)
{
	chain_line_t *line = chain_add(c, "!", c->cur);
	if (line != NULL) {
		size_t len = strlen(status) + strlen(detail) + 2;
		line->text = malloc(len);
		if (line->text != NULL) {
			snprintf(line->text, len, "%s%s%s", status, *detail ? " " : "", detail);
		}
	}
	snprintf(c->status, sizeof(c->status), "%s", status);
	return STEP_DONE;
}

static bool is_cur(const chain_t *c, const knot_rrset_t *rr)
{
	return knot_dname_is_case_equal(rr->owner, c->cur);
}

/* The records of the asked type at cur end the chain (RFC 1034 §3.6.2). */
static bool chain_final(chain_t *c, const knot_pkt_t *pkt, uint16_t qtype)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	bool found = false;
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		bool wanted = rr->type == qtype ||
		              (qtype == KNOT_RRTYPE_ANY && rr->type != KNOT_RRTYPE_RRSIG);
		if (!wanted || !is_cur(c, rr)) {
			continue;
		}
		for (uint16_t pos = 0; pos < rr->rrs.count; pos++) {
			chain_add_rr(c, pkt, "=", rr->owner, rr, dig_rdata_str(rr, pos));
		}
		found = true;
	}
	if (found) {
		snprintf(c->status, sizeof(c->status), "ANSWER");
	}
	return found;
}

static void hop_mark(const chain_t *c, char *mark, size_t len)
{
	snprintf(mark, len, "%u", c->hops + 1);
}

static step_t follow_cname(chain_t *c, const knot_pkt_t *pkt)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		if (rr->type != KNOT_RRTYPE_CNAME || !is_cur(c, rr) || rr->rrs.count == 0) {
			continue;
		}
		const knot_dname_t *target = knot_cname_name(rr->rrs.rdata);
		char mark[8];
		hop_mark(c, mark, sizeof(mark));
		chain_add_rr(c, pkt, mark, c->cur, rr, name_str(target));
		name_set(c->cur, target);
		return STEP_MOVED;
	}
	return STEP_NONE;
}

/* The DNAME whose owner is the closest proper ancestor of cur (RFC 6672 §2.3:
 * a DNAME does not apply to its own owner). */
static const knot_rrset_t *find_dname(const chain_t *c, const knot_pkt_t *pkt)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	const knot_rrset_t *best = NULL;
	int best_depth = 0;
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		if (rr->type != KNOT_RRTYPE_DNAME || rr->rrs.count == 0) {
			continue;
		}
		int depth = knot_dname_in_bailiwick(c->cur, rr->owner);
		if (depth > 0 && (best == NULL || depth < best_depth)) {
			best = rr;
			best_depth = depth;
		}
	}
	return best;
}

/* The TTL of the CNAME the server synthesized for cur, if it sent one. */
static void synthesized_ttl(chain_t *c, const knot_pkt_t *pkt)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		if (rr->type == KNOT_RRTYPE_CNAME && is_cur(c, rr)) {
			chain_ttl(c, rr->ttl);
		}
	}
}

static char *dname_hop_text(const knot_dname_t *synth, const knot_rrset_t *dname)
{
	char *to = name_str(synth);
	char *owner = name_str(dname->owner);
	char *target = name_str(knot_dname_target(dname->rrs.rdata));
	size_t len = strlen(to) + strlen(owner) + strlen(target) + 16;
	char *text = malloc(len);
	if (text != NULL) {
		snprintf(text, len, "%s (%s DNAME %s)", to, owner, target);
	}
	free(to);
	free(owner);
	free(target);
	return text;
}

/* RFC 6672 §2.2: replace the DNAME owner suffix of cur by the DNAME target. */
static step_t follow_dname(chain_t *c, const knot_pkt_t *pkt)
{
	const knot_rrset_t *dname = find_dname(c, pkt);
	if (dname == NULL) {
		return STEP_NONE;
	}
	knot_dname_storage_t synth;
	if (canon_dname_substitute(c->cur, dname->owner, knot_dname_target(dname->rrs.rdata),
	                           synth) < 0) {
		return chain_fail(c, "YXDOMAIN", "(DNAME substitution longer than 255 octets)");
	}
	char mark[8];
	hop_mark(c, mark, sizeof(mark));
	chain_add_rr(c, pkt, mark, c->cur, dname, dname_hop_text(synth, dname));
	synthesized_ttl(c, pkt);
	name_set(c->cur, synth);
	return STEP_MOVED;
}

/* RFC 2308 §5: a negative answer lives canon_negative_ttl() seconds. */
static bool negative_ttl(const knot_pkt_t *pkt, const knot_dname_t *name, uint32_t *ttl)
{
	const knot_pktsection_t *auth = knot_pkt_section(pkt, KNOT_AUTHORITY);
	for (uint16_t i = 0; i < auth->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(auth, i);
		if (rr->type == KNOT_RRTYPE_SOA && rr->rrs.count > 0 &&
		    knot_dname_in_bailiwick(name, rr->owner) >= 0) {
			*ttl = canon_negative_ttl(rr);
			return true;
		}
	}
	return false;
}

/* A referral (RFC 1034 §4.3.2 step 3b: NS for an enclosing zone in the
 * authority section) or just nothing about cur. */
static void chain_why_left(chain_t *c, const knot_pkt_t *pkt)
{
	const knot_pktsection_t *auth = knot_pkt_section(pkt, KNOT_AUTHORITY);
	for (uint16_t i = 0; i < auth->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(auth, i);
		if (rr->type == KNOT_RRTYPE_NS && knot_dname_in_bailiwick(c->cur, rr->owner) >= 0) {
			char zone[KNOT_DNAME_TXT_MAXLEN + 1];
			knot_dname_to_str(zone, rr->owner, sizeof(zone));
			snprintf(c->why_left, sizeof(c->why_left), "referral to %s", zone);
			return;
		}
	}
	snprintf(c->why_left, sizeof(c->why_left), "not in this answer");
}

/* No alias and no data at cur: say why, from the rcode and authority. */
static step_t chain_dead_end(chain_t *c, const knot_pkt_t *pkt, uint16_t qtype)
{
	uint16_t rcode = dig_reply_rcode(pkt);
	uint32_t neg = 0;
	bool has_soa = negative_ttl(pkt, c->cur, &neg);
	char detail[64] = "";
	if (has_soa) {
		chain_ttl(c, neg);
		snprintf(detail, sizeof(detail), "(negative TTL %u)", neg);
	}
	if (rcode == KNOT_RCODE_NXDOMAIN) {
		/* RFC 6604 §3: the rcode is that of the last name in the chain. */
		return chain_fail(c, "NXDOMAIN", detail);
	}
	if (rcode == KNOT_RCODE_REFUSED && c->hops > 0 && !knot_wire_get_ra(pkt->wire)) {
		/* An authoritative server (no RA, RFC 1035 §4.1.1) refuses names
		 * outside its zones: the chain has left what it serves. */
		return chain_fail(c, "LEFT", "(outside this server's zones: it answered REFUSED)");
	}
	if (rcode != KNOT_RCODE_NOERROR) {
		char buf[16];
		return chain_fail(c, dig_rcode_str(rcode, buf, sizeof(buf)), "");
	}
	if (has_soa) {
		char type[16];
		knot_rrtype_to_string(qtype, type, sizeof(type));
		char text[96];
		snprintf(text, sizeof(text), "(no %s records) %s", type, detail);
		return chain_fail(c, "NODATA", text);
	}
	chain_why_left(c, pkt);
	return STEP_LEFT;
}

/* After a hop: stop on a name already seen or past the hop limit. */
static step_t chain_check_hop(chain_t *c)
{
	c->hops++;
	c->asked = false;
	/* The walker keeps pointers: cur goes to a slot of its own first. */
	knot_dname_t *slot = c->seen[c->walk.count];
	name_set(slot, c->cur);
	char text[64];
	switch (canon_chain_follow(&c->walk, slot)) {
	case CANON_CHAIN_LOOP:
		snprintf(text, sizeof(text), "(back to hop %d)",
		         canon_chain_find(&c->walk, slot) + 1);
		return chain_fail(c, "LOOP", text);
	case CANON_CHAIN_TOO_LONG:
		snprintf(text, sizeof(text), "(more than %d hops)", CANON_CHAIN_MAX);
		return chain_fail(c, "TOOLONG", text);
	default:
		return STEP_MOVED;
	}
}

/* Walk the chain as far as this reply goes. */
static step_t chain_walk(chain_t *c, const knot_pkt_t *pkt, uint16_t qtype)
{
	for (;;) {
		if (chain_final(c, pkt, qtype)) {
			return STEP_DONE;
		}
		step_t step = follow_dname(c, pkt);
		if (step == STEP_NONE) {
			step = follow_cname(c, pkt);
		}
		if (step == STEP_NONE) {
			return chain_dead_end(c, pkt, qtype);
		}
		if (step == STEP_DONE || chain_check_hop(c) == STEP_DONE) {
			return STEP_DONE;
		}
	}
}

static bool chain_requery_note(chain_t *c, const dig_server_t *server)
{
	char addr[80];
	chain_line_t *line = chain_add(c, ">", c->cur);
	if (line == NULL) {
		return false;
	}
	size_t len = strlen(c->why_left) + sizeof(addr) + 32;
	line->text = malloc(len);
	if (line->text != NULL) {
		snprintf(line->text, len, "%s, re-querying %s", c->why_left,
		         dig_server_addr_str(server, addr, sizeof(addr)));
	}
	return true;
}

/* The chain left the reply at cur: ask the same server about cur. */
static int chain_requery(chain_t *c, dig_out_t *out, const dig_server_t *server, dig_reply_t *extra)
{
	if (c->asked || c->requeries >= CHAIN_REQUERY_MAX) {
		char text[sizeof(c->why_left) + 40];
		snprintf(text, sizeof(text), "(%s; not answered by this server)", c->why_left);
		chain_fail(c, "LEFT", text);
		return KNOT_ENOENT;
	}
	chain_requery_note(c, server);
	c->asked = true;
	c->requeries++;
	dig_reply_clear(extra);
	int ret = dig_exec_query(out, server, c->cur, out->params->qtype, extra);
	if (ret != KNOT_EOK) {
		chain_fail(c, "NOREPLY", "(re-query got no reply)");
		return ret;
	}
	if (extra->parse_ret != KNOT_EOK && extra->parse_ret != KNOT_ETRAIL) {
		chain_fail(c, "NOREPLY", "(re-query reply did not parse)");
		return extra->parse_ret;
	}
	return KNOT_EOK;
}

/*
 * An address answer may have been flattened from canon's ALIAS (type 65401):
 * ask the same server for an ALIAS at the final name, and show it as a "~" line.
 */
static void chain_note_alias(chain_t *c, dig_out_t *out, const dig_server_t *server, uint16_t qtype)
{
	if (strcmp(c->status, "ANSWER") != 0 ||
	    (qtype != KNOT_RRTYPE_A && qtype != KNOT_RRTYPE_AAAA)) {
		return;
	}
	dig_reply_t reply = {0};
	if (dig_exec_query(out, server, c->cur, CANON_RRTYPE_ALIAS, &reply) == KNOT_EOK &&
	    reply.parse_ret == KNOT_EOK) {
		const knot_pktsection_t *answer = knot_pkt_section(reply.pkt, KNOT_ANSWER);
		for (uint16_t i = 0; i < answer->count; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(answer, i);
			if (rr->type != CANON_RRTYPE_ALIAS || !is_cur(c, rr) ||
			    rr->rrs.count == 0) {
				continue;
			}
			chain_line_t *line = chain_add(c, "~", rr->owner);
			if (line != NULL) {
				char *target = name_str(knot_cname_name(rr->rrs.rdata));
				line->has_ttl = true;
				line->ttl = rr->ttl;
				snprintf(line->type, sizeof(line->type), "ALIAS");
				if (asprintf(&line->text,
				             "%s (flattened: the server answered with its "
				             "addresses)",
				             target ? target : "?") < 0) {
					line->text = NULL;
				}
				free(target);
			}
		}
	}
	dig_reply_clear(&reply);
}

static int max_width(const chain_t *c, bool ttl_field)
{
	int width = 0;
	for (size_t i = 0; i < c->nlines; i++) {
		const chain_line_t *l = &c->lines[i];
		int w = 0;
		if (!ttl_field) {
			w = (int)strlen(l->owner);
		} else if (l->has_ttl) {
			w = snprintf(NULL, 0, "%u", l->ttl);
		}
		width = w > width ? w : width;
	}
	return width;
}

static void chain_print_lines(const chain_t *c)
{
	int owner_w = max_width(c, false);
	int ttl_w = max_width(c, true);
	int type_w = 5;
	for (size_t i = 0; i < c->nlines; i++) {
		const chain_line_t *l = &c->lines[i];
		const char *text = l->text ? l->text : "?";
		const char *sig = c->dnssec && l->signed_ ? " (signed)" : "";
		if (l->has_ttl) {
			printf(";; %3s  %-*s  %*u %-*s %s%s\n", l->mark, owner_w, l->owner, ttl_w,
			       l->ttl, type_w, l->type, text, sig);
		} else {
			printf(";; %3s  %-*s  %s\n", l->mark, owner_w, l->owner, text);
		}
	}
}

/* ", DNSSEC: all signed" or how many records came without their RRSIG. */
static void chain_print_dnssec(const chain_t *c)
{
	size_t records = 0, unsigned_ = 0;
	for (size_t i = 0; i < c->nlines; i++) {
		records += c->lines[i].is_rr;
		unsigned_ += c->lines[i].is_rr && !c->lines[i].signed_;
	}
	if (records == 0) {
		printf(", DNSSEC: no records");
	} else if (unsigned_ == 0) {
		printf(", DNSSEC: all signed");
	} else {
		printf(", DNSSEC: %zu of %zu unsigned", unsigned_, records);
	}
}

static void chain_print(const chain_t *c, const dig_params_t *p)
{
	char name[KNOT_DNAME_TXT_MAXLEN + 1], type[16];
	knot_dname_to_str(name, p->qname, sizeof(name));
	knot_rrtype_to_string(p->qtype, type, sizeof(type));
	printf(";; CHAIN: %s %s\n", name, type);
	chain_print_lines(c);
	printf(";; CHAIN END: %u hop%s, %s, effective TTL ", c->hops, c->hops == 1 ? "" : "s",
	       c->status);
	if (c->ttl == CHAIN_TTL_NONE) {
		printf("none");
	} else {
		printf("%u", (uint32_t)c->ttl);
	}
	if (c->dnssec) {
		chain_print_dnssec(c);
	}
	printf("\n");
}

static void chain_free(chain_t *c)
{
	for (size_t i = 0; i < c->nlines; i++) {
		free(c->lines[i].owner);
		free(c->lines[i].text);
	}
	free(c->lines);
	free(c);
}

int dig_chain_print(dig_out_t *out, const dig_server_t *server, const dig_reply_t *reply)
{
	const dig_params_t *p = out->params;
	if (reply->parse_ret != KNOT_EOK && reply->parse_ret != KNOT_ETRAIL) {
		printf(";; CHAIN: the reply did not parse\n");
		return KNOT_EMALF;
	}
	chain_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return KNOT_ENOMEM;
	}
	c->ttl = CHAIN_TTL_NONE;
	c->asked = true;
	c->dnssec = p->dnssec;
	name_set(c->cur, p->qname);
	name_set(c->seen[0], p->qname);
	canon_chain_init(&c->walk, c->seen[0]);
	dig_reply_t extra = {0};
	const knot_pkt_t *pkt = reply->pkt;
	while (chain_walk(c, pkt, p->qtype) == STEP_LEFT) {
		if (chain_requery(c, out, server, &extra) != KNOT_EOK) {
			break;
		}
		pkt = extra.pkt;
	}
	chain_note_alias(c, out, server, p->qtype);
	chain_print(c, p);
	chain_free(c);
	dig_reply_clear(&extra);
	return KNOT_EOK;
}
