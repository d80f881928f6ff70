/*
 * The resolver's state for one resolution is a small struct passed down; the
 * chain is a loop (as in the authoritative lookup), and each link is one
 * "step": answered from the cache, or by walking down from the closest cached
 * zone cut, one referral at a time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/rrtype/opt.h>
#include <libknot/rrtype/rdname.h>
#include <libzscanner/scanner.h>

#include "lib/alias.h"
#include "lib/log.h"
#include "lib/net.h"
#include "resolve/iterate.h"

#define REFERRALS_MAX  16 /* Zone cuts walked for one name. */
#define DEPTH_MAX      3  /* Nested look-ups of name server addresses. */
#define TRIES_PER_ZONE 6  /* Server addresses asked before a zone counts as unreachable. */
/*
 * Work bounds per resolution, against amplification by referrals with many
 * glueless NS names (NXNSAttack, CVE-2020-12662; Unbound and BIND bound it the
 * same way): upstream queries sent in all, glueless NS names looked up for one
 * referral, and for the whole resolution.
 */
#define QUERIES_MAX         48
#define NS_LOOKUPS_PER_ZONE 3
#define NS_LOOKUPS_MAX      6
#define EDNS_PAYLOAD        1232
/*
 * A server never heard from gets this long before the next one is tried (as
 * Unbound's first 376 ms): a burst of queries into a blackholed zone holds
 * threads for this long once, before the infrastructure cache knows it.
 */
#define FIRST_CONTACT_MS 400

typedef enum {
	STEP_DATA,     /* rr: the RRset asked for */
	STEP_CNAME,    /* rr: the CNAME at the name */
	STEP_DNAME,    /* rr: the DNAME above the name, synth: the CNAME made from it */
	STEP_NXDOMAIN, /* rr: the SOA, or NULL */
	STEP_NODATA,   /* rr: the SOA, or NULL */
	STEP_FAIL,     /* ede, why */
	STEP_REFERRAL, /* internal: rr is the NS of a deeper zone */
	STEP_LAME,     /* internal: this server's answer is unusable */
} step_kind_t;

typedef struct {
	step_kind_t kind;
	knot_rrset_t *rr;
	knot_rrset_t *synth;
	int ede;
	const char *why;
} step_t;

typedef struct {
	const canon_resolver_conf_t *conf;
	knot_mm_t *mm;
	bool cache_only;
	bool refresh;      /* Chain links are asked again even when cached. */
	bool need_network; /* Set when cache_only stopped the resolution. */
	int64_t deadline;
	uint32_t now;
	unsigned sent;       /* Upstream queries so far (QUERIES_MAX). */
	unsigned failed;     /* ... of which got no reply (timeout, ICMP). */
	unsigned ns_lookups; /* Glueless NS names looked up so far (NS_LOOKUPS_MAX). */
	/*
	 * Every reply of the resolution is received here, in turn: what a step
	 * keeps is copied out of the reply (section_find(), keep()) before the
	 * next exchange. One buffer instead of one per exchange keeps a
	 * resolution in a few pages of the arena: 64 KiB more per upstream query
	 * is a fresh page to fault in for each (20-50 us in a VM).
	 */
	uint8_t *wire;
} ctx_t;

static step_t step_fail(int ede, const char *why)
{
	return (step_t){.kind = STEP_FAIL, .ede = ede, .why = why};
}

/* --- root hints ------------------------------------------------------------ */

typedef struct {
	canon_resolver_conf_t *conf;
	int error;
} hints_t;

static void hints_record(zs_scanner_t *s)
{
	hints_t *h = s->process.data;
	knot_rrset_t rr;
	knot_rrset_init(&rr, s->r_owner, s->r_type, KNOT_CLASS_IN, s->r_ttl);
	if (knot_rrset_add_rdata(&rr, s->r_data, (uint16_t)s->r_data_length, NULL) != 0) {
		h->error = -ENOMEM;
		return;
	}
	if (s->r_type == KNOT_RRTYPE_NS && s->r_owner[0] == 0) {
		if (h->conf->root_ns == NULL) {
			h->conf->root_ns = knot_rrset_new(s->r_owner, KNOT_RRTYPE_NS, KNOT_CLASS_IN,
			                                  s->r_ttl, NULL);
		}
		if (h->conf->root_ns == NULL ||
		    knot_rrset_add_rdata(h->conf->root_ns, s->r_data, (uint16_t)s->r_data_length,
		                         NULL) != 0) {
			h->error = -ENOMEM;
		}
	} else if ((s->r_type == KNOT_RRTYPE_A || s->r_type == KNOT_RRTYPE_AAAA) &&
	           h->conf->root_addr_count < CANON_RESOLVE_SERVERS_MAX) {
		/* Kept apart from the cache: hints never expire. */
		knot_rrset_t *copy = knot_rrset_copy(&rr, NULL);
		if (copy == NULL) {
			h->error = -ENOMEM;
		} else {
			h->conf->root_addrs[h->conf->root_addr_count++] = copy;
		}
	}
	knot_rdataset_clear(&rr.rrs, NULL);
}

static void hints_error(zs_scanner_t *s)
{
	hints_t *h = s->process.data;
	fprintf(stderr, "%s:%lu: %s\n", s->file.name, (unsigned long)s->line_counter,
	        zs_strerror(s->error.code));
	h->error = -EINVAL;
}

int canon_resolver_load_hints(canon_resolver_conf_t *conf, const char *path)
{
	zs_scanner_t s;
	hints_t h = {.conf = conf};
	if (zs_init(&s, ".", KNOT_CLASS_IN, 3600000) != 0 || zs_set_input_file(&s, path) != 0) {
		fprintf(stderr, "%s: cannot read root hints: %s\n", path,
		        zs_strerror(s.error.code));
		zs_deinit(&s);
		return -EINVAL;
	}
	zs_set_processing(&s, hints_record, hints_error, &h);
	zs_parse_all(&s);
	zs_deinit(&s);
	if (h.error == 0 && conf->root_ns == NULL) {
		fprintf(stderr, "%s: no NS record for the root zone\n", path);
		h.error = -EINVAL;
	}
	return h.error;
}

/* --- the cache ----------------------------------------------------------- */

/* The DNAME above 'name' in the cache, with the CNAME it makes, if any. */
static bool cached_dname(ctx_t *c, const knot_dname_t *name, step_t *out);

/*
 * What the cache knows of 'name'/'qtype', from entries of at least 'rank':
 * CANON_CACHE_RANK_AUTH for what becomes an answer, GLUE to find servers.
 */
static bool from_cache(ctx_t *c, const knot_dname_t *name, uint16_t qtype, canon_cache_rank_t rank,
                       step_t *out)
{
	canon_cache_t *cache = c->conf->cache;
	knot_rrset_t *rr = NULL;
	switch (canon_cache_get_ranked(cache, name, qtype, c->now, rank, c->mm, &rr)) {
	case CANON_CACHE_POSITIVE:
		*out = (step_t){.kind = STEP_DATA, .rr = rr};
		return true;
	case CANON_CACHE_NODATA:
		*out = (step_t){.kind = STEP_NODATA, .rr = rr};
		return true;
	case CANON_CACHE_NXDOMAIN:
		*out = (step_t){.kind = STEP_NXDOMAIN, .rr = rr};
		return true;
	case CANON_CACHE_MISS:
		break;
	}
	if (qtype != KNOT_RRTYPE_CNAME &&
	    canon_cache_get(cache, name, KNOT_RRTYPE_CNAME, c->now, c->mm, &rr) ==
	            CANON_CACHE_POSITIVE &&
	    rr->type == KNOT_RRTYPE_CNAME && rr->rrs.count > 0) {
		*out = (step_t){.kind = STEP_CNAME, .rr = rr};
		return true;
	}
	return cached_dname(c, name, out);
}

/* --- DNAME ---------------------------------------------------------------- */

/* A DNAME above 'name' applies: the CNAME it makes (lib/alias.h), or YXDOMAIN. */
static step_t dname_step(ctx_t *c, knot_rrset_t *dname, const knot_dname_t *name)
{
	knot_dname_t *owner = knot_dname_copy(name, c->mm);
	knot_rrset_t *cname = NULL;
	int ret = owner ? canon_dname_synthesize(dname, owner, c->mm, &cname) : -ENOMEM;
	if (ret == -EMSGSIZE) {
		return (step_t){.kind = STEP_FAIL, .rr = dname, .ede = -2, .why = "YXDOMAIN"};
	}
	if (ret != 0) {
		return step_fail(KNOT_EDNS_EDE_OTHER, "out of memory");
	}
	return (step_t){.kind = STEP_DNAME, .rr = dname, .synth = cname};
}

static bool cached_dname(ctx_t *c, const knot_dname_t *name, step_t *out)
{
	for (const knot_dname_t *up = name; *up != 0;) {
		up += *up + 1;
		knot_rrset_t *rr = NULL;
		if (canon_cache_get(c->conf->cache, up, KNOT_RRTYPE_DNAME, c->now, c->mm, &rr) ==
		    CANON_CACHE_POSITIVE) {
			*out = dname_step(c, rr, name);
			return true;
		}
	}
	return false;
}

/* --- asking servers ------------------------------------------------------- */

static knot_pkt_t *make_query(ctx_t *c, const knot_dname_t *name, uint16_t qtype, bool rd)
{
	knot_pkt_t *q = knot_pkt_new(NULL, KNOT_WIRE_MIN_PKTSIZE, c->mm);
	if (q == NULL || knot_pkt_put_question(q, name, KNOT_CLASS_IN, qtype) != KNOT_EOK) {
		return NULL;
	}
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		return NULL; /* Unpredictable IDs are a defence (RFC 5452 §4.3); no fallback. */
	}
	knot_wire_set_id(q->wire, id);
	if (rd) {
		knot_wire_set_rd(q->wire);
	}
	knot_rrset_t opt;
	if (knot_edns_init(&opt, EDNS_PAYLOAD, 0, 0, c->mm) != KNOT_EOK ||
	    knot_pkt_begin(q, KNOT_ADDITIONAL) != KNOT_EOK ||
	    knot_pkt_put(q, KNOT_COMPR_HINT_NONE, &opt, 0) != KNOT_EOK) {
		return NULL;
	}
	return q;
}

/* The reply in 'wire', parsed, if it answers 'qname'/'qtype' (RFC 5452 §9.1); else NULL. */
static knot_pkt_t *parse_reply(ctx_t *c, uint8_t *wire, size_t len, const knot_dname_t *qname,
                               uint16_t qtype)
{
	if (len < KNOT_WIRE_HEADER_SIZE || len > KNOT_WIRE_MAX_PKTSIZE) {
		return NULL;
	}
	knot_pkt_t *reply = knot_pkt_new(wire, (uint16_t)len, c->mm);
	if (reply == NULL || knot_pkt_parse(reply, 0) != KNOT_EOK ||
	    knot_wire_get_qdcount(wire) != 1 ||
	    !knot_dname_is_equal(knot_pkt_qname(reply), qname) || knot_pkt_qtype(reply) != qtype ||
	    !knot_wire_get_qr(wire)) {
		return NULL;
	}
	return reply;
}

/*
 * One exchange with one server (UDP, then TCP when truncated). Returns the
 * parsed reply, or NULL. The reply must answer our question (RFC 5452 §9.1).
 * *silent tells a server that did not answer at all (timeout, ICMP) from one
 * that answered garbage; NULL when the caller does not care.
 */
static knot_pkt_t *exchange(ctx_t *c, const canon_upstream_t *server, const knot_pkt_t *query,
                            unsigned timeout_ms, bool *silent)
{
	int64_t now = canon_now_ms();
	if (silent != NULL) {
		*silent = false;
	}
	int64_t deadline = now + timeout_ms;
	if (deadline > c->deadline) {
		deadline = c->deadline;
	}
	if (deadline <= now) {
		return NULL;
	}
	if (c->wire == NULL) {
		c->wire = c->mm->alloc(c->mm->ctx, KNOT_WIRE_MAX_PKTSIZE);
	}
	uint8_t *wire = c->wire;
	if (wire == NULL) {
		return NULL;
	}
	canon_net_peer_t peer = {.addr = (const struct sockaddr *)&server->addr,
	                         .addrlen = server->len};
	canon_msg_t q = {.data = query->wire, .len = query->size, .cap = query->size};
	canon_msg_t r = {.data = wire, .cap = KNOT_WIRE_MAX_PKTSIZE};
	int ret = canon_net_udp(&peer, &q, &r, deadline);
	if (ret == 0 && r.len >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_tc(wire)) {
		ret = canon_net_tcp(&peer, &q, &r, deadline);
	}
	c->sent++;
	if (ret != 0) {
		c->failed++;
		if (silent != NULL) {
			*silent = true;
		}
		return NULL;
	}
	return parse_reply(c, wire, r.len, knot_pkt_qname(query), knot_pkt_qtype(query));
}

static bool in_bailiwick(const knot_dname_t *name, const knot_dname_t *zone)
{
	return knot_dname_in_bailiwick(name, zone) >= 0;
}

/*
 * Whether one record's rdata has the shape its type needs where this file
 * reads it: a name that fills it (CNAME, DNAME, NS), two names and five
 * numbers (SOA), an address (A, AAAA). libknot accepts an empty rdata for any
 * type, and a hostile server sends one (found by fuzz/fuzz_resolve.c).
 */
static bool rdata_usable(uint16_t type, const knot_rdata_t *rd)
{
	const uint8_t *end = rd->data + rd->len;
	switch (type) {
	case KNOT_RRTYPE_CNAME:
	case KNOT_RRTYPE_DNAME:
	case KNOT_RRTYPE_NS:
		return rd->len > 0 && knot_dname_wire_check(rd->data, end, NULL) == rd->len;
	case KNOT_RRTYPE_SOA: {
		int mname = rd->len > 0 ? knot_dname_wire_check(rd->data, end, NULL) : -1;
		int rname = mname > 0 ? knot_dname_wire_check(rd->data + mname, end, NULL) : -1;
		return rname > 0 && (size_t)(mname + rname) + 20 == rd->len;
	}
	case KNOT_RRTYPE_A:
		return rd->len == 4;
	case KNOT_RRTYPE_AAAA:
		return rd->len == 16;
	default:
		return true;
	}
}

/*
 * The RRset of 'section' with this owner and type (the first owner found when
 * 'owner' is NULL), merged from its records: libknot parses each record of a
 * message as an RRset of its own. Allocated from the arena; NULL if none.
 */
static knot_rrset_t *section_find(ctx_t *c, const knot_pkt_t *pkt, knot_section_t id,
                                  const knot_dname_t *owner, uint16_t type)
{
	const knot_pktsection_t *section = knot_pkt_section(pkt, id);
	knot_rrset_t *merged = NULL;
	for (uint16_t i = 0; i < section->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(section, i);
		if (rr->type != type || (owner != NULL && !knot_dname_is_equal(rr->owner, owner))) {
			continue;
		}
		if (merged == NULL) {
			owner = rr->owner;
			merged = knot_rrset_new(rr->owner, type, rr->rclass, rr->ttl, c->mm);
			if (merged == NULL) {
				return NULL;
			}
		}
		/* RFC 2181 §5.2: one TTL for the set; the smallest is the safe one. */
		merged->ttl = rr->ttl < merged->ttl ? rr->ttl : merged->ttl;
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count; j++, rd = knot_rdataset_next(rd)) {
			if (rdata_usable(type, rd)) {
				knot_rrset_add_rdata(merged, rd->data, rd->len, c->mm);
			}
		}
	}
	return merged != NULL && merged->rrs.count > 0 ? merged : NULL;
}

/* A copy in the arena (the reply's RRsets live as long as the reply anyway). */
static knot_rrset_t *keep(ctx_t *c, const knot_rrset_t *rr)
{
	return knot_rrset_copy(rr, c->mm);
}

/* RFC 2308 §2.1-2.2: the SOA of a negative answer, if it is the asked zone's (or below). */
static knot_rrset_t *negative_soa(ctx_t *c, const knot_pkt_t *reply, const knot_dname_t *zone,
                                  const knot_dname_t *name)
{
	knot_rrset_t *soa = section_find(c, reply, KNOT_AUTHORITY, NULL, KNOT_RRTYPE_SOA);
	if (soa == NULL || !in_bailiwick(soa->owner, zone) || !in_bailiwick(name, soa->owner)) {
		return NULL;
	}
	return soa;
}

/* Cache the glue for 'ns' that lies inside the zone the referral came from. */
static void cache_glue(ctx_t *c, const knot_pkt_t *reply, const knot_rrset_t *ns,
                       const knot_dname_t *zone)
{
	const knot_pktsection_t *additional = knot_pkt_section(reply, KNOT_ADDITIONAL);
	for (uint16_t i = 0; i < additional->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(additional, i);
		if (rr->type != KNOT_RRTYPE_A && rr->type != KNOT_RRTYPE_AAAA) {
			continue;
		}
		bool is_target = false;
		knot_rdata_t *rd = ns->rrs.rdata;
		for (uint16_t j = 0; j < ns->rrs.count; j++, rd = knot_rdataset_next(rd)) {
			is_target |= knot_dname_is_equal(knot_ns_name(rd), rr->owner);
		}
		/* Out-of-bailiwick glue is the poisoning vector of old (RFC 5452 §6). */
		if (is_target && in_bailiwick(rr->owner, zone)) {
			knot_rrset_t *all =
			        section_find(c, reply, KNOT_ADDITIONAL, rr->owner, rr->type);
			if (all != NULL) {
				canon_cache_put_ranked(c->conf->cache, all, c->now,
				                       CANON_CACHE_RANK_GLUE);
			}
		}
	}
}

/* What the answer section says about 'name', taking only records owned by the zone. */
static bool classify_answer(ctx_t *c, const knot_pkt_t *reply, const knot_dname_t *zone,
                            const knot_dname_t *name, uint16_t qtype, step_t *out)
{
	canon_cache_t *cache = c->conf->cache;
	knot_rrset_t *rr = section_find(c, reply, KNOT_ANSWER, name, qtype);
	if (rr != NULL) {
		canon_cache_put(cache, rr, c->now);
		*out = (step_t){.kind = STEP_DATA, .rr = rr};
		return true;
	}
	/* A DNAME above the name comes first: its CNAME is synthesized here (RFC 6672 §3.4). */
	const knot_pktsection_t *answer = knot_pkt_section(reply, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *d = knot_pkt_rr(answer, i);
		if (d->type == KNOT_RRTYPE_DNAME && d->rrs.count > 0 &&
		    rdata_usable(KNOT_RRTYPE_DNAME, d->rrs.rdata) && in_bailiwick(d->owner, zone) &&
		    knot_dname_in_bailiwick(name, d->owner) > 0) {
			canon_cache_put(cache, d, c->now);
			*out = dname_step(c, keep(c, d), name);
			return true;
		}
	}
	rr = section_find(c, reply, KNOT_ANSWER, name, KNOT_RRTYPE_CNAME);
	if (rr != NULL && qtype != KNOT_RRTYPE_CNAME) {
		/* Only the first link: its target is asked of its own servers. */
		canon_cache_put(cache, rr, c->now);
		*out = (step_t){.kind = STEP_CNAME, .rr = rr};
		return true;
	}
	return false;
}

/* Decide what a reply from a server of 'zone' means for 'name'/'qtype'. */
static step_t classify(ctx_t *c, const knot_pkt_t *reply, const knot_dname_t *zone,
                       const knot_dname_t *name, uint16_t qtype)
{
	uint8_t rcode = knot_wire_get_rcode(reply->wire);
	if (rcode != KNOT_RCODE_NOERROR && rcode != KNOT_RCODE_NXDOMAIN) {
		return (step_t){.kind = STEP_LAME};
	}
	step_t out;
	if (classify_answer(c, reply, zone, name, qtype, &out)) {
		return out;
	}
	knot_rrset_t *soa = negative_soa(c, reply, zone, name);
	if (rcode == KNOT_RCODE_NXDOMAIN) {
		if (soa != NULL) {
			canon_cache_put_negative(c->conf->cache, name, qtype, true, soa, c->now);
		}
		return (step_t){.kind = STEP_NXDOMAIN, .rr = soa};
	}
	knot_rrset_t *ns = section_find(c, reply, KNOT_AUTHORITY, NULL, KNOT_RRTYPE_NS);
	bool aa = knot_wire_get_aa(reply->wire);
	if (!aa && ns != NULL && knot_dname_in_bailiwick(ns->owner, zone) > 0 &&
	    in_bailiwick(name, ns->owner)) {
		/* A referral one or more cuts down (RFC 1034 §4.3.2 step 3b). */
		canon_cache_put_ranked(c->conf->cache, ns, c->now, CANON_CACHE_RANK_GLUE);
		cache_glue(c, reply, ns, zone);
		return (step_t){.kind = STEP_REFERRAL, .rr = ns};
	}
	if (aa || soa != NULL) {
		if (soa != NULL) {
			canon_cache_put_negative(c->conf->cache, name, qtype, false, soa, c->now);
		}
		return (step_t){.kind = STEP_NODATA, .rr = soa};
	}
	return (step_t){.kind = STEP_LAME}; /* Neither an answer nor a referral: lame. */
}

/* --- name server addresses -------------------------------------------------- */

static step_t resolve_step(ctx_t *c, const knot_dname_t *name, uint16_t qtype, int depth);

static void add_addresses(ctx_t *c, const knot_rrset_t *rr, canon_upstream_t *out, unsigned *count)
{
	uint16_t port = c->conf->query_port;
	knot_rdata_t *rd = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count && *count < TRIES_PER_ZONE;
	     i++, rd = knot_rdataset_next(rd)) {
		canon_upstream_t *u = &out[(*count)++];
		memset(u, 0, sizeof(*u));
		if (rr->type == KNOT_RRTYPE_A && rd->len == 4) {
			struct sockaddr_in *v4 = (struct sockaddr_in *)&u->addr;
			v4->sin_family = AF_INET;
			v4->sin_port = htons(port);
			memcpy(&v4->sin_addr, rd->data, 4);
			u->len = sizeof(*v4);
		} else if (rr->type == KNOT_RRTYPE_AAAA && rd->len == 16) {
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&u->addr;
			v6->sin6_family = AF_INET6;
			v6->sin6_port = htons(port);
			memcpy(&v6->sin6_addr, rd->data, 16);
			u->len = sizeof(*v6);
		} else {
			(*count)--;
			continue;
		}
		if (canon_prefix_list_match(&c->conf->dont_query,
		                            (const struct sockaddr *)&u->addr)) {
			(*count)--; /* do-not-query-address: fenced off by the operator. */
		}
	}
}

/*
 * Addresses of the servers in 'ns': from the cache (glue or earlier answers),
 * else looked up (RFC 1034 §5.3.3 step 3), A and AAAA, one NS name at a time
 * until some are found; at most NS_LOOKUPS_PER_ZONE names for this zone and
 * NS_LOOKUPS_MAX for the whole resolution (NXNSAttack).
 */
static unsigned server_addresses(ctx_t *c, const knot_rrset_t *ns, int depth, canon_upstream_t *out)
{
	static const uint16_t types[] = {KNOT_RRTYPE_A, KNOT_RRTYPE_AAAA};
	unsigned count = 0;
	knot_rdata_t *rd = ns->rrs.rdata;
	for (uint16_t i = 0; i < ns->rrs.count; i++, rd = knot_rdataset_next(rd)) {
		for (int t = 0; t < 2; t++) {
			step_t s;
			if (from_cache(c, knot_ns_name(rd), types[t], CANON_CACHE_RANK_GLUE, &s) &&
			    s.kind == STEP_DATA) {
				add_addresses(c, s.rr, out, &count);
			}
		}
	}
	unsigned looked = 0;
	rd = ns->rrs.rdata;
	for (uint16_t i = 0; i < ns->rrs.count && count == 0 && depth < DEPTH_MAX;
	     i++, rd = knot_rdataset_next(rd)) {
		if (looked >= NS_LOOKUPS_PER_ZONE || c->ns_lookups >= NS_LOOKUPS_MAX) {
			break;
		}
		looked++;
		c->ns_lookups++;
		for (int t = 0; t < 2; t++) {
			step_t s = resolve_step(c, knot_ns_name(rd), types[t], depth + 1);
			if (s.kind == STEP_DATA) {
				add_addresses(c, s.rr, out, &count);
			}
		}
	}
	return count;
}

/* --- walking down --------------------------------------------------------- */

/* The NS RRset of the closest enclosing zone cut we know of. */
static knot_rrset_t *closest_cut(ctx_t *c, const knot_dname_t *name)
{
	for (const knot_dname_t *up = name; *up != 0; up += *up + 1) {
		knot_rrset_t *ns = NULL;
		if (canon_cache_get(c->conf->cache, up, KNOT_RRTYPE_NS, c->now, c->mm, &ns) ==
		    CANON_CACHE_POSITIVE) {
			return ns;
		}
	}
	return c->conf->root_ns;
}

/*
 * One exchange with one server of a zone, its outcome told to the
 * infrastructure cache: a timeout (or ICMP) marks the server, any reply clears
 * it. A timeout cut short by the resolution's own deadline says nothing.
 */
static knot_pkt_t *ask_server(ctx_t *c, const canon_upstream_t *server, const knot_pkt_t *query,
                              unsigned timeout_ms)
{
	int64_t start = canon_now_ms();
	unsigned sent = c->sent;
	bool silent;
	knot_pkt_t *reply = exchange(c, server, query, timeout_ms, &silent);
	canon_infra_t *infra = c->conf->infra;
	if (infra == NULL) {
		return reply;
	}
	const struct sockaddr *addr = (const struct sockaddr *)&server->addr;
	if (c->sent == sent || (silent && canon_now_ms() >= c->deadline)) {
		canon_infra_release(infra, addr);
	} else {
		int64_t now = canon_now_ms();
		canon_infra_report(infra, addr, !silent, (unsigned)(now - start), now);
	}
	return reply;
}

/*
 * The order to ask a zone's servers in: those not known to time out first,
 * the fastest first (an unknown one, RTT 0, is tried early to learn it); then
 * those that timed out, each only as the one probe out to it (lib infra.h).
 */
static void order_servers(ctx_t *c, const canon_upstream_t *servers, unsigned count,
                          unsigned *order, bool *good, unsigned *rtt)
{
	for (unsigned i = 0; i < count; i++) {
		rtt[i] = 0;
		good[i] =
		        c->conf->infra == NULL ||
		        canon_infra_check(c->conf->infra, (const struct sockaddr *)&servers[i].addr,
		                          false, 0, &rtt[i]) == CANON_INFRA_GOOD;
		unsigned j = i;
		for (; j > 0; j--) { /* Insertion sort: a handful of servers. */
			unsigned k = order[j - 1];
			if (good[k] > good[i] || (good[k] == good[i] && rtt[k] <= rtt[i])) {
				break;
			}
			order[j] = k;
		}
		order[j] = i;
	}
}

/*
 * Say why a zone gave no usable answer (issue 13), at most one line a second
 * for the whole process: a dead zone asked a thousand times a second must not
 * flood the log. The lines left out are counted in the next one.
 */
static void log_unusable(ctx_t *c, const knot_dname_t *zone, unsigned silent, unsigned lame,
                         unsigned skipped)
{
	static atomic_int_fast64_t last_ms;
	static atomic_uint suppressed;
	if (!c->conf->log_unusable) {
		return;
	}
	int64_t now = canon_now_ms(), last = atomic_load(&last_ms);
	if (now - last < 1000 || !atomic_compare_exchange_strong(&last_ms, &last, now)) {
		atomic_fetch_add(&suppressed, 1);
		return;
	}
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(name, zone, sizeof(name));
	canon_log(CANON_LOG_WARNING,
	          "resolver: zone %s gave no usable answer: %u servers did not answer, %u "
	          "answered unusably (REFUSED, SERVFAIL, lame, garbage), %u skipped after "
	          "a timeout (%u such lines left out)",
	          name, silent, lame, skipped, atomic_exchange(&suppressed, 0));
}

/* Ask the servers of one zone; a referral hands back the deeper zone's NS. */
static step_t ask_zone(ctx_t *c, const knot_rrset_t *ns, const knot_dname_t *name, uint16_t qtype,
                       int depth)
{
	canon_upstream_t servers[TRIES_PER_ZONE];
	unsigned count = 0;
	if (ns == c->conf->root_ns) {
		for (unsigned i = 0; i < c->conf->root_addr_count; i++) {
			add_addresses(c, c->conf->root_addrs[i], servers, &count);
		}
	} else {
		count = server_addresses(c, ns, depth, servers);
	}
	if (count == 0) {
		return step_fail(KNOT_EDNS_EDE_NREACH_AUTH, "no address for any name server");
	}
	knot_pkt_t *query = make_query(c, name, qtype, false);
	if (query == NULL) {
		return step_fail(KNOT_EDNS_EDE_OTHER, "out of memory");
	}
	unsigned order[TRIES_PER_ZONE], rtt[TRIES_PER_ZONE];
	bool good[TRIES_PER_ZONE];
	order_servers(c, servers, count, order, good, rtt);
	bool asked = false;
	unsigned silent = 0, lame = 0, skipped = 0;
	for (unsigned i = 0; i < count; i++) {
		const canon_upstream_t *server = &servers[order[i]];
		if (c->sent >= QUERIES_MAX) {
			return step_fail(KNOT_EDNS_EDE_OTHER,
			                 "too many upstream queries for one name");
		}
		unsigned unused;
		if (!good[order[i]] &&
		    canon_infra_check(c->conf->infra, (const struct sockaddr *)&server->addr, true,
		                      canon_now_ms(), &unused) != CANON_INFRA_PROBE) {
			skipped++;
			continue; /* Timed out lately: held down, or another query probes it. */
		}
		asked = true;
		unsigned timeout = c->conf->timeout_ms;
		if (good[order[i]] && rtt[order[i]] == 0 && timeout > FIRST_CONTACT_MS) {
			timeout = FIRST_CONTACT_MS;
		}
		unsigned failed = c->failed;
		knot_pkt_t *reply = ask_server(c, server, query, timeout);
		if (reply == NULL) {
			silent += c->failed > failed ? 1 : 0;
			lame += c->failed > failed ? 0 : 1;
			continue; /* Timeout or garbage: the next server (RFC 1035 §7.2). */
		}
		step_t s = classify(c, reply, ns->owner, name, qtype);
		if (s.kind != STEP_LAME) {
			return s;
		}
		lame++;
	}
	log_unusable(c, ns->owner, silent, lame, skipped);
	if (!asked) {
		return step_fail(KNOT_EDNS_EDE_NREACH_AUTH,
		                 "every server of the zone timed out lately (held down or probed)");
	}
	return step_fail(KNOT_EDNS_EDE_NREACH_AUTH, "no server of the zone gave a usable answer");
}

/* Forwarding: the forwarders recurse; each link is still asked on its own. */
static step_t ask_forwarders(ctx_t *c, const knot_dname_t *name, uint16_t qtype)
{
	knot_pkt_t *query = make_query(c, name, qtype, true);
	if (query == NULL) {
		return step_fail(KNOT_EDNS_EDE_OTHER, "out of memory");
	}
	for (unsigned i = 0; i < c->conf->forward_count; i++) {
		if (canon_prefix_list_match(&c->conf->dont_query,
		                            (const struct sockaddr *)&c->conf->forward[i].addr)) {
			continue;
		}
		knot_pkt_t *reply =
		        exchange(c, &c->conf->forward[i], query, c->conf->timeout_ms, NULL);
		if (reply != NULL) {
			step_t s = classify(c, reply, (const knot_dname_t *)"", name, qtype);
			if (s.kind != STEP_LAME && s.kind != STEP_REFERRAL) {
				return s;
			}
		}
	}
	return step_fail(KNOT_EDNS_EDE_NREACH_AUTH, "no forwarder answered");
}

/* One link: what 'name' has for 'qtype' (data, an alias, or a negative answer). */
static step_t resolve_step(ctx_t *c, const knot_dname_t *name, uint16_t qtype, int depth)
{
	step_t s;
	/* Name server addresses (depth > 0) may come from the cache even when refreshing. */
	/* Glue finds servers but answers no client (RFC 2181 §5.4.1). */
	canon_cache_rank_t rank = depth > 0 ? CANON_CACHE_RANK_GLUE : CANON_CACHE_RANK_AUTH;
	if ((!c->refresh || depth > 0) && from_cache(c, name, qtype, rank, &s)) {
		return s;
	}
	if (c->cache_only) {
		c->need_network = true;
		return step_fail(KNOT_EDNS_EDE_OTHER, "not cached");
	}
	if (c->conf->forward_count > 0) {
		return ask_forwarders(c, name, qtype);
	}
	knot_rrset_t *ns = closest_cut(c, name);
	for (int i = 0; i < REFERRALS_MAX; i++) {
		if (canon_now_ms() >= c->deadline) {
			return step_fail(KNOT_EDNS_EDE_NREACH_AUTH, "resolution timed out");
		}
		s = ask_zone(c, ns, name, qtype, depth);
		if (s.kind != STEP_REFERRAL) {
			return s;
		}
		ns = s.rr;
	}
	return step_fail(KNOT_EDNS_EDE_OTHER, "too many referrals");
}

/* --- the chain ------------------------------------------------------------ */

static void fail(canon_resolution_t *out, int ede, const char *fmt, const char *arg)
{
	out->rcode = KNOT_RCODE_SERVFAIL;
	out->answer_count = 0; /* A failed chain is not an answer (as Unbound does). */
	out->authority = NULL;
	out->ede = ede;
	snprintf(out->ede_text, sizeof(out->ede_text), fmt, arg);
}

/* Record a step in the answer; returns the next name to chase, or NULL when done. */
static const knot_dname_t *take_step(canon_resolution_t *out, const step_t *s, uint16_t qtype)
{
	switch (s->kind) {
	case STEP_DATA:
		out->answer[out->answer_count++] = s->rr;
		return NULL;
	case STEP_CNAME:
		out->answer[out->answer_count++] = s->rr;
		return qtype == KNOT_RRTYPE_CNAME ? NULL : knot_cname_name(s->rr->rrs.rdata);
	case STEP_DNAME:
		out->answer[out->answer_count++] = s->rr;
		out->answer[out->answer_count++] = s->synth;
		return knot_cname_name(s->synth->rrs.rdata);
	case STEP_NXDOMAIN:
	case STEP_NODATA:
		/* RFC 6604 §3: the rcode and SOA of the last name of the chain. */
		out->rcode = s->kind == STEP_NXDOMAIN ? KNOT_RCODE_NXDOMAIN : KNOT_RCODE_NOERROR;
		out->authority = s->rr;
		return NULL;
	default:
		if (s->ede == -2) { /* YXDOMAIN from a DNAME (RFC 6672 §2.2). */
			out->answer[out->answer_count++] = s->rr;
			out->rcode = KNOT_RCODE_YXDOMAIN;
		} else {
			fail(out, s->ede, "%.150s", s->why);
		}
		return NULL;
	}
}

/* Follow the chain from 'qname', one link at a time. */
static int resolve_chain(ctx_t *c, const knot_dname_t *qname, uint16_t qtype,
                         canon_resolution_t *out)
{
	canon_chain_t chain;
	canon_chain_init(&chain, qname);
	const knot_dname_t *name = qname;
	for (;;) {
		step_t s = resolve_step(c, name, qtype, 0);
		if (c->need_network) {
			return -EAGAIN;
		}
		name = take_step(out, &s, qtype);
		if (name == NULL) {
			return 0;
		}
		char text[KNOT_DNAME_TXT_MAXLEN + 1];
		switch (canon_chain_follow(&chain, name)) {
		case CANON_CHAIN_LOOP:
			knot_dname_to_str(text, name, sizeof(text));
			fail(out, KNOT_EDNS_EDE_OTHER, "CNAME loop: %.100s repeats in the chain",
			     text);
			return 0;
		case CANON_CHAIN_TOO_LONG:
			snprintf(text, sizeof(text), "%d", CANON_CHAIN_MAX);
			fail(out, KNOT_EDNS_EDE_OTHER, "alias chain longer than %.8s links", text);
			return 0;
		default:
			break;
		}
	}
}

int canon_resolve(const canon_resolver_conf_t *conf, const knot_dname_t *qname, uint16_t qtype,
                  unsigned flags, canon_resolution_t *out, knot_mm_t *mm)
{
	ctx_t c = {.conf = conf,
	           .mm = mm,
	           .cache_only = flags & CANON_RESOLVE_CACHE_ONLY,
	           .refresh = flags & CANON_RESOLVE_REFRESH,
	           .deadline = canon_now_ms() + conf->deadline_ms,
	           .now = canon_cache_now()};
	memset(out, 0, sizeof(*out));
	out->ede = KNOT_EDNS_EDE_NONE;
	int ret = resolve_chain(&c, qname, qtype, out);
	out->sent = c.sent;
	out->failed = c.failed;
	return ret;
}

int canon_resolve_reply(const canon_resolver_conf_t *conf, uint8_t *wire, size_t len,
                        const knot_dname_t *zone, const knot_dname_t *qname, uint16_t qtype,
                        knot_mm_t *mm)
{
	ctx_t c = {.conf = conf,
	           .mm = mm,
	           .deadline = canon_now_ms() + conf->deadline_ms,
	           .now = canon_cache_now()};
	knot_pkt_t *reply = parse_reply(&c, wire, len, qname, qtype);
	if (reply == NULL || !in_bailiwick(qname, zone)) {
		return -EINVAL; /* Dropped, as exchange() drops it; or not a server of the zone. */
	}
	return (int)classify(&c, reply, zone, qname, qtype).kind;
}
