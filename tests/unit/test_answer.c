/*
 * Unit tests of the response writer (serve/answer.c) and of the query scan
 * (lib/parse.c, canon_query_scan): answers come out octet for octet as
 * libknot's packet writer makes them (knot_pkt_put(), the writer canon used
 * before), compression pointers included, and the rules of RFC 2181 §9 (TC
 * when the answer or authority section does not fit, additional data left out
 * without TC), OPT placement and EDE (RFC 8914) hold.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>

#include "lib/lookup.h"
#include "lib/parse.h"
#include "serve/answer.h"

#define MAX_RRSETS 16

typedef struct {
	uint8_t query[512];
	size_t query_len;
	canon_query_t q;
	knot_rrset_t *rrs[MAX_RRSETS];
	unsigned nrrs;
	canon_answer_t ans;
} fixture_t;

static knot_dname_t *dname(const char *text)
{
	knot_dname_t *name = knot_dname_from_str_alloc(text);
	assert_non_null(name);
	return name;
}

/* A query for 'qname' (case kept) of 'qtype', with an OPT (payload 'edns', DO) when 'edns' > 0. */
static void make_query(fixture_t *f, const char *qname, uint16_t qtype, uint16_t edns, bool dnssec)
{
	memset(f->query, 0, sizeof(f->query));
	knot_wire_set_id(f->query, 0xbeef);
	knot_wire_set_rd(f->query);
	knot_wire_set_cd(f->query);
	knot_wire_set_qdcount(f->query, 1);
	uint8_t *p = f->query + KNOT_WIRE_HEADER_SIZE;
	int size = knot_dname_from_str(p, qname, KNOT_DNAME_MAXLEN) ? (int)knot_dname_size(p) : -1;
	assert_true(size > 0);
	p += size;
	knot_wire_write_u16(p, qtype);
	knot_wire_write_u16(p + 2, KNOT_CLASS_IN);
	p += 4;
	if (edns > 0) {
		knot_wire_set_arcount(f->query, 1);
		p[0] = 0;
		knot_wire_write_u16(p + 1, KNOT_RRTYPE_OPT);
		knot_wire_write_u16(p + 3, edns);
		knot_wire_write_u32(p + 5, dnssec ? KNOT_EDNS_DO_MASK : 0);
		knot_wire_write_u16(p + 9, 0);
		p += 11;
	}
	f->query_len = (size_t)(p - f->query);
	assert_true(canon_query_scan(&f->q, f->query, f->query_len));
	memset(&f->ans, 0, sizeof(f->ans));
	for (int i = 0; i < 3; i++) {
		f->ans.section[i].rrs = f->ans.section[i].first;
		f->ans.section[i].capacity = CANON_SECTION_MAX;
	}
	f->ans.aa = true;
	f->ans.ede = KNOT_EDNS_EDE_NONE;
}

/* An RRset of 'type' owned by 'owner' with one record per rdata (wire form, 'len' octets). */
static knot_rrset_t *rrset(fixture_t *f, const char *owner, uint16_t type, uint32_t ttl)
{
	assert_true(f->nrrs < MAX_RRSETS);
	knot_dname_t *name = dname(owner);
	knot_rrset_t *rr = knot_rrset_new(name, type, KNOT_CLASS_IN, ttl, NULL); /* A copy. */
	free(name);
	assert_non_null(rr);
	f->rrs[f->nrrs++] = rr;
	return rr;
}

static void add_rdata(knot_rrset_t *rr, const uint8_t *data, size_t len)
{
	assert_int_equal(knot_rrset_add_rdata(rr, data, (uint16_t)len, NULL), KNOT_EOK);
}

/* RDATA of names and fixed fields: each name as text, then 'tail' octets. */
static void add_names(knot_rrset_t *rr, const uint8_t *head, size_t head_len, const char *n1,
                      const char *n2, const uint8_t *tail, size_t tail_len)
{
	uint8_t data[600];
	size_t len = 0;
	if (head_len > 0) {
		memcpy(data, head, head_len);
		len += head_len;
	}
	const char *names[] = {n1, n2};
	for (int i = 0; i < 2; i++) {
		if (names[i] != NULL) {
			assert_non_null(
			        knot_dname_from_str(data + len, names[i], KNOT_DNAME_MAXLEN));
			len += knot_dname_size(data + len);
		}
	}
	if (tail_len > 0) {
		memcpy(data + len, tail, tail_len);
		len += tail_len;
	}
	add_rdata(rr, data, len);
}

static void push(fixture_t *f, int section, knot_rrset_t *rr, uint16_t hint)
{
	canon_answer_section_t *s = &f->ans.section[section];
	s->rrs[s->count++] = (canon_answer_rr_t){.rr = rr, .compr_hint = hint};
}

/* What libknot writes for the same answer (canon's writer before serve/answer.c). */
static size_t knot_render(fixture_t *f, uint8_t *out, uint16_t max, const knot_rrset_t *opt)
{
	knot_pkt_t *query = knot_pkt_new(f->query, (uint16_t)f->query_len, NULL);
	assert_int_equal(knot_pkt_parse(query, KNOT_PF_NOCANON), KNOT_EOK);
	knot_pkt_t *resp = knot_pkt_new(out, max, NULL);
	assert_int_equal(knot_pkt_init_response(resp, query), KNOT_EOK);
	if (opt != NULL) {
		knot_pkt_reserve(resp, knot_edns_wire_size((knot_rrset_t *)opt));
	}
	bool fits = true;
	for (int id = KNOT_ANSWER; id <= KNOT_AUTHORITY && fits; id++) {
		const canon_answer_section_t *s = &f->ans.section[id];
		if (s->count > 0 && knot_pkt_begin(resp, id) != KNOT_EOK) {
			fits = false;
		}
		for (uint16_t i = 0; i < s->count && fits; i++) {
			fits = knot_pkt_put(resp, s->rrs[i].compr_hint, s->rrs[i].rr,
			                    KNOT_PF_NOTRUNC) == KNOT_EOK;
		}
	}
	if (!fits) {
		knot_pkt_clear(resp);
		assert_int_equal(knot_pkt_init_response(resp, query), KNOT_EOK);
		if (opt != NULL) {
			knot_pkt_reserve(resp, knot_edns_wire_size((knot_rrset_t *)opt));
		}
		knot_wire_set_tc(resp->wire);
	} else if (f->ans.section[KNOT_ADDITIONAL].count > 0) {
		knot_pkt_begin(resp, KNOT_ADDITIONAL);
		const canon_answer_section_t *s = &f->ans.section[KNOT_ADDITIONAL];
		for (uint16_t i = 0; i < s->count; i++) {
			if (knot_pkt_put(resp, s->rrs[i].compr_hint, s->rrs[i].rr,
			                 KNOT_PF_NOTRUNC) != KNOT_EOK) {
				break;
			}
		}
	}
	knot_wire_set_rcode(resp->wire, f->ans.rcode);
	if (f->ans.aa) {
		knot_wire_set_aa(resp->wire);
	}
	if (opt != NULL) {
		knot_pkt_reclaim(resp, knot_edns_wire_size((knot_rrset_t *)opt));
		knot_pkt_begin(resp, KNOT_ADDITIONAL);
		assert_int_equal(knot_pkt_put(resp, KNOT_COMPR_HINT_NONE, opt, KNOT_PF_NOTRUNC),
		                 KNOT_EOK);
	}
	size_t len = resp->size;
	knot_pkt_free(resp);
	knot_pkt_free(query);
	return len;
}

/* canon's writer, no EDNS. */
static size_t canon_render(fixture_t *f, uint8_t *out, uint16_t max)
{
	canon_writer_t w;
	assert_true(canon_writer_init(&w, out, max, &f->q));
	canon_writer_put_answer(&w, &f->ans);
	return w.size;
}

static void free_fixture(fixture_t *f)
{
	for (unsigned i = 0; i < f->nrrs; i++) {
		knot_rrset_free(f->rrs[i], NULL);
	}
	f->nrrs = 0;
}

/* Both writers agree octet for octet; returns canon's length. */
static size_t same_as_knot(fixture_t *f, uint8_t *mine, uint16_t max)
{
	uint8_t theirs[65535];
	size_t want = knot_render(f, theirs, max, NULL);
	size_t got = canon_render(f, mine, max);
	assert_int_equal(got, want);
	assert_memory_equal(mine, theirs, got);
	return got;
}

static const uint8_t A1[] = {192, 0, 2, 1}, A2[] = {192, 0, 2, 2};
static const uint8_t SOA_TAIL[20] = {0,    0,    0, 1, 0,    0,    0x0e, 0x10, 0,    0,
                                     0x07, 0x08, 0, 9, 0x3a, 0x80, 0,    0,    0x0e, 0x10};

/* An A RRset at the QNAME: the question as sent (case kept), owners point at offset 12. */
static void test_qname_pointer(void **state)
{
	(void)state;
	fixture_t f = {0};
	make_query(&f, "WwW.Example.TEST.", KNOT_RRTYPE_A, 0, false);
	knot_rrset_t *a = rrset(&f, "www.example.test.", KNOT_RRTYPE_A, 3600);
	add_rdata(a, A1, 4);
	add_rdata(a, A2, 4);
	push(&f, KNOT_ANSWER, a, KNOT_COMPR_HINT_QNAME);
	uint8_t wire[512];
	size_t len = same_as_knot(&f, wire, 512);
	size_t q_end = KNOT_WIRE_HEADER_SIZE + f.q.question_size;
	assert_int_equal(len, q_end + 2 * (2 + 10 + 4));
	assert_memory_equal(wire + KNOT_WIRE_HEADER_SIZE, f.query + KNOT_WIRE_HEADER_SIZE,
	                    f.q.question_size);
	assert_int_equal(knot_wire_get_id(wire), 0xbeef);
	assert_true(knot_wire_get_qr(wire) && knot_wire_get_aa(wire) && knot_wire_get_rd(wire) &&
	            knot_wire_get_cd(wire));
	assert_false(knot_wire_get_tc(wire) || knot_wire_get_ra(wire) || knot_wire_get_ad(wire));
	assert_int_equal(knot_wire_get_ancount(wire), 2);
	assert_int_equal(wire[q_end], 0xc0);
	assert_int_equal(wire[q_end + 1], KNOT_WIRE_HEADER_SIZE);
	assert_int_equal(knot_wire_read_u32(wire + q_end + 6), 3600);
	free_fixture(&f);
}

/*
 * NXDOMAIN: the SOA's owner and its MNAME and RNAME compressed against the
 * QNAME's suffix (RFC 1035 §4.1.4); a CNAME chain, an MX, and names RFC 3597
 * §4 keeps whole (DNAME, SRV targets, the RRSIG signer).
 */
static void test_compression_like_knot(void **state)
{
	(void)state;
	fixture_t f = {0};
	make_query(&f, "Nope.Sub.Example.Test.", KNOT_RRTYPE_A, 0, false);
	knot_rrset_t *cname = rrset(&f, "nope.sub.example.test.", KNOT_RRTYPE_CNAME, 300);
	add_names(cname, NULL, 0, "target.example.test.", NULL, NULL, 0);
	push(&f, KNOT_ANSWER, cname, KNOT_COMPR_HINT_QNAME);
	knot_rrset_t *dn = rrset(&f, "sub.example.test.", KNOT_RRTYPE_DNAME, 300);
	add_names(dn, NULL, 0, "example.test.", NULL, NULL, 0);
	push(&f, KNOT_ANSWER, dn, KNOT_COMPR_HINT_NONE);
	knot_rrset_t *mx = rrset(&f, "target.example.test.", KNOT_RRTYPE_MX, 300);
	const uint8_t pref[] = {0, 10};
	add_names(mx, pref, 2, "mail.example.test.", NULL, NULL, 0);
	add_names(mx, pref, 2, "mail2.sub.example.test.", NULL, NULL, 0);
	push(&f, KNOT_ANSWER, mx, KNOT_COMPR_HINT_NONE);
	knot_rrset_t *soa = rrset(&f, "example.test.", KNOT_RRTYPE_SOA, 3600);
	add_names(soa, NULL, 0, "ns1.example.test.", "hostmaster.example.test.", SOA_TAIL, 20);
	push(&f, KNOT_AUTHORITY, soa, KNOT_COMPR_HINT_NONE);
	knot_rrset_t *srv = rrset(&f, "_sip._udp.example.test.", KNOT_RRTYPE_SRV, 60);
	const uint8_t srv_head[] = {0, 1, 0, 2, 0x13, 0xc4};
	add_names(srv, srv_head, 6, "sip.example.test.", NULL, NULL, 0);
	push(&f, KNOT_ADDITIONAL, srv, KNOT_COMPR_HINT_NONE);
	knot_rrset_t *ns = rrset(&f, "example.test.", KNOT_RRTYPE_NS, 3600);
	add_names(ns, NULL, 0, "ns1.example.test.", NULL, NULL, 0);
	add_names(ns, NULL, 0, "ns2.elsewhere.", NULL, NULL, 0);
	push(&f, KNOT_ADDITIONAL, ns, KNOT_COMPR_HINT_NONE);
	knot_rrset_t *root = rrset(&f, ".", KNOT_RRTYPE_TXT, 60);
	const uint8_t txt[] = {3, 'a', 'b', 'c'};
	add_rdata(root, txt, sizeof(txt));
	push(&f, KNOT_ADDITIONAL, root, KNOT_COMPR_HINT_NONE);
	f.ans.rcode = KNOT_RCODE_NXDOMAIN;
	uint8_t wire[512];
	size_t len = same_as_knot(&f, wire, 512);
	/* DNAME and SRV targets are written whole: their names appear uncompressed. */
	uint8_t whole[64];
	knot_dname_from_str(whole, "sip.example.test.", sizeof(whole));
	assert_non_null(memmem(wire, len, whole, knot_dname_size(whole)));
	assert_int_equal(knot_wire_get_rcode(wire), KNOT_RCODE_NXDOMAIN);
	assert_int_equal(knot_wire_get_ancount(wire), 4);
	assert_int_equal(knot_wire_get_nscount(wire), 1);
	assert_int_equal(knot_wire_get_arcount(wire), 4);
	free_fixture(&f);
}

/* The same answers over a query in another case: the suffix match folds only the wire's case. */
static void test_compression_case(void **state)
{
	(void)state;
	const char *qnames[] = {"a.b.example.test.", "A.B.EXAMPLE.TEST.", "x.Example.test.",
	                        "example.test."};
	for (size_t i = 0; i < sizeof(qnames) / sizeof(qnames[0]); i++) {
		fixture_t f = {0};
		make_query(&f, qnames[i], KNOT_RRTYPE_NS, 0, false);
		knot_rrset_t *soa = rrset(&f, "example.test.", KNOT_RRTYPE_SOA, 3600);
		add_names(soa, NULL, 0, "ns1.example.test.", "h.example.test.", SOA_TAIL, 20);
		push(&f, KNOT_AUTHORITY, soa, KNOT_COMPR_HINT_NONE);
		/* Synthesized records keep the client's case in their owner. */
		knot_rrset_t *syn = rrset(&f, "B.example.TEST.", KNOT_RRTYPE_PTR, 60);
		add_names(syn, NULL, 0, "ptr.b.example.test.", NULL, NULL, 0);
		push(&f, KNOT_ADDITIONAL, syn, KNOT_COMPR_HINT_NONE);
		uint8_t wire[512];
		same_as_knot(&f, wire, 512);
		free_fixture(&f);
	}
}

/* An answer too large: header and question with TC, no records (RFC 2181 §9). */
static void test_tc_on_overflow(void **state)
{
	(void)state;
	fixture_t f = {0};
	make_query(&f, "big.example.test.", KNOT_RRTYPE_TXT, 0, false);
	knot_rrset_t *txt = rrset(&f, "big.example.test.", KNOT_RRTYPE_TXT, 60);
	uint8_t data[256];
	memset(data, 'x', sizeof(data));
	data[0] = 255;
	for (int i = 0; i < 3; i++) {
		data[1] = (uint8_t)('a' + i);
		add_rdata(txt, data, sizeof(data));
	}
	push(&f, KNOT_ANSWER, txt, KNOT_COMPR_HINT_QNAME);
	uint8_t wire[512];
	size_t len = same_as_knot(&f, wire, 512);
	assert_int_equal(len, KNOT_WIRE_HEADER_SIZE + f.q.question_size);
	assert_true(knot_wire_get_tc(wire));
	assert_int_equal(knot_wire_get_ancount(wire), 0);
	/* Over TCP it fits. */
	uint8_t big[65535];
	len = same_as_knot(&f, big, 65535);
	assert_false(knot_wire_get_tc(big));
	assert_int_equal(knot_wire_get_ancount(big), 3);
	/* Told by the lookup that an RRset was left out: TC too. */
	f.ans.truncated = true;
	len = canon_render(&f, big, 65535);
	assert_int_equal(len, KNOT_WIRE_HEADER_SIZE + f.q.question_size);
	assert_true(knot_wire_get_tc(big));
	free_fixture(&f);
}

/* Additional data that does not fit is left out, without TC; what fits before it stays. */
static void test_additional_dropped(void **state)
{
	(void)state;
	fixture_t f = {0};
	make_query(&f, "example.test.", KNOT_RRTYPE_NS, 0, false);
	knot_rrset_t *ns = rrset(&f, "example.test.", KNOT_RRTYPE_NS, 3600);
	add_names(ns, NULL, 0, "ns1.example.test.", NULL, NULL, 0);
	push(&f, KNOT_ANSWER, ns, KNOT_COMPR_HINT_QNAME);
	knot_rrset_t *glue = rrset(&f, "ns1.example.test.", KNOT_RRTYPE_A, 3600);
	add_rdata(glue, A1, 4);
	push(&f, KNOT_ADDITIONAL, glue, KNOT_COMPR_HINT_NONE);
	knot_rrset_t *txt = rrset(&f, "ns1.example.test.", KNOT_RRTYPE_TXT, 60);
	uint8_t data[256];
	memset(data, 'y', sizeof(data));
	data[0] = 255;
	add_rdata(txt, data, sizeof(data));
	add_rdata(txt, data, 200);
	push(&f, KNOT_ADDITIONAL, txt, KNOT_COMPR_HINT_NONE);
	uint8_t wire[512];
	size_t len = same_as_knot(&f, wire, 512);
	assert_false(knot_wire_get_tc(wire));
	assert_int_equal(knot_wire_get_ancount(wire), 1);
	assert_int_equal(knot_wire_get_arcount(wire), 1);
	assert_true(len < 512);
	free_fixture(&f);
}

/* EDNS: the OPT last in the additional section, DO copied, room kept for it and its EDE. */
static void test_opt_and_ede(void **state)
{
	(void)state;
	fixture_t f = {0};
	make_query(&f, "www.example.test.", KNOT_RRTYPE_A, 1232, true);
	assert_true(f.q.edns && f.q.dnssec_ok);
	assert_int_equal(f.q.payload, 1232);
	knot_rrset_t *a = rrset(&f, "www.example.test.", KNOT_RRTYPE_A, 60);
	add_rdata(a, A1, 4);
	push(&f, KNOT_ANSWER, a, KNOT_COMPR_HINT_QNAME);
	knot_rrset_t *glue = rrset(&f, "ns1.example.test.", KNOT_RRTYPE_A, 3600);
	add_rdata(glue, A2, 4);
	push(&f, KNOT_ADDITIONAL, glue, KNOT_COMPR_HINT_NONE);

	/* Without EDE: as libknot writes our OPT (knot_edns_init, DO set). */
	knot_rrset_t opt;
	assert_int_equal(knot_edns_init(&opt, 1232, 0, 0, NULL), KNOT_EOK);
	knot_edns_set_do(&opt);
	uint8_t theirs[1232], mine[1232];
	size_t want = knot_render(&f, theirs, 1232, &opt);
	canon_writer_t w;
	canon_opt_t o = {.payload = 1232, .dnssec_ok = true};
	assert_true(canon_writer_init(&w, mine, 1232, &f.q));
	assert_true(canon_writer_reserve(&w, canon_opt_size(&o)));
	canon_writer_put_answer(&w, &f.ans);
	assert_true(canon_writer_put_opt(&w, &o));
	assert_int_equal(w.size, want);
	assert_memory_equal(mine, theirs, want);

	/* With an EDE: the option after the others, its text as given. */
	assert_int_equal(canon_edns_add_ede(&opt, KNOT_EDNS_EDE_STALE_NXD, "stale", NULL), 0);
	want = knot_render(&f, theirs, 1232, &opt);
	assert_true(canon_writer_init(&w, mine, 1232, &f.q));
	o.options_len = 0;
	assert_true(canon_writer_reserve(&w, canon_opt_size(&o)));
	canon_writer_put_answer(&w, &f.ans);
	canon_opt_add_ede(&o, &w, KNOT_EDNS_EDE_STALE_NXD, "stale");
	assert_int_equal(o.options_len, 4 + 2 + 5);
	assert_true(canon_writer_put_opt(&w, &o));
	assert_int_equal(w.size, want);
	assert_memory_equal(mine, theirs, want);
	uint8_t *end = mine + w.size;
	assert_int_equal(knot_wire_read_u16(end - 11), KNOT_EDNS_OPTION_EDE);
	assert_int_equal(knot_wire_read_u16(end - 7), KNOT_EDNS_EDE_STALE_NXD);
	assert_memory_equal(end - 5, "stale", 5);
	assert_int_equal(knot_wire_get_arcount(mine), 2);
	knot_rrset_clear(&opt, NULL);

	/* An EDE with no room left is dropped; the OPT itself still goes out. */
	assert_true(canon_writer_init(&w, mine, 60, &f.q));
	o.options_len = 0;
	assert_true(canon_writer_reserve(&w, canon_opt_size(&o)));
	canon_writer_put_answer(&w, &f.ans);
	canon_opt_add_ede(&o, &w, KNOT_EDNS_EDE_STALE_NXD, "a text longer than the room left");
	assert_int_equal(o.options_len, 0);
	assert_true(canon_writer_put_opt(&w, &o));
	assert_true(w.size <= 60);
	assert_int_equal(mine[w.size - 11], 0);
	assert_int_equal(knot_wire_read_u16(mine + w.size - 10), KNOT_RRTYPE_OPT);
	free_fixture(&f);
}

/* The scan takes the common query and leaves everything else to knot_pkt_parse(). */
static void test_scan(void **state)
{
	(void)state;
	fixture_t f = {0};
	make_query(&f, "www.example.test.", KNOT_RRTYPE_A, 4096, false);
	canon_query_t q;
	/* With options, a COOKIE among them. */
	uint8_t wire[512];
	memcpy(wire, f.query, f.query_len);
	size_t len = f.query_len;
	const uint8_t options[] = {0, 3, 0, 0, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	memcpy(wire + len, options, sizeof(options));
	knot_wire_write_u16(wire + len - 2, sizeof(options));
	len += sizeof(options);
	assert_true(canon_query_scan(&q, wire, len));
	assert_non_null(q.cookie);
	assert_int_equal(q.cookie_len, 8);
	assert_int_equal(q.cookie[0], 1);
	/* What libknot reads from the same message. */
	knot_pkt_t *pkt = knot_pkt_new(wire, (uint16_t)len, NULL);
	assert_int_equal(knot_pkt_parse(pkt, KNOT_PF_NOCANON), KNOT_EOK);
	canon_query_t slow;
	canon_query_from_pkt(&slow, pkt);
	assert_int_equal(slow.question_size, q.question_size);
	assert_int_equal(slow.qtype, q.qtype);
	assert_int_equal(slow.payload, q.payload);
	assert_int_equal(slow.cookie_len, q.cookie_len);
	assert_memory_equal(slow.cookie, q.cookie, q.cookie_len);
	knot_pkt_free(pkt);
	/* A truncated option, trailing data, an OPT not at the root, two records: not scanned. */
	assert_false(canon_query_scan(&q, wire, len - 1));
	wire[len] = 0;
	assert_false(canon_query_scan(&q, wire, len + 1));
	size_t opt_at = f.query_len - 11;
	wire[opt_at] = 1;
	assert_false(canon_query_scan(&q, wire, len));
	wire[opt_at] = 0;
	knot_wire_set_arcount(wire, 2);
	assert_false(canon_query_scan(&q, wire, len));
	knot_wire_set_arcount(wire, 1);
	knot_wire_set_ancount(wire, 1);
	assert_false(canon_query_scan(&q, wire, len));
}

static const char *const PLAIN_LABELS[] = {"a", "b", "www", "mail", "example", "test", "sub", "x1"};

/*
 * Labels that test the writer's word-wise compares and its label alignment:
 * long ones (tails of 8 octets and more), octets that read as label lengths
 * (the label \001a ends the label \002\001a, but is not one of its labels),
 * upper case in the zone's names, and octets above 0x7f, which are not folded.
 */
static const char *const ODD_LABELS[] = {"a",
                                         "\\001a",
                                         "\\002\\001a",
                                         "abcdefghijklmnopqrstuvwxyz0123456789",
                                         "abcdefghijklmnopqrstuvwxyz0123456789-",
                                         "x\\195y",
                                         "X\\227Y",
                                         "[\\064]"};

/* A name of 1..4 labels drawn from 'labels' (8), in random case ('upper' of 1 in 4 letters). */
static void random_name_of(char *out, unsigned *seed, bool mixed_case, const char *const *labels)
{
	int n = 1 + rand_r(seed) % 4;
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		strcat(out, labels[rand_r(seed) % 8]);
		strcat(out, ".");
	}
	if (rand_r(seed) % 2) {
		strcat(out, "example.test.");
	}
	for (char *p = out; mixed_case && *p; p++) {
		if (*p >= 'a' && *p <= 'z' && rand_r(seed) % 4 == 0) {
			*p = (char)(*p - 'a' + 'A');
		}
	}
}

/* Random answers of names that share suffixes, in random case: always libknot's octets. */
static void random_like_knot(unsigned seed, const char *const *labels)
{
	static const uint16_t types[] = {KNOT_RRTYPE_A,     KNOT_RRTYPE_CNAME, KNOT_RRTYPE_NS,
	                                 KNOT_RRTYPE_MX,    KNOT_RRTYPE_SOA,   KNOT_RRTYPE_PTR,
	                                 KNOT_RRTYPE_DNAME, KNOT_RRTYPE_SRV,   KNOT_RRTYPE_TXT,
	                                 KNOT_RRTYPE_AAAA};
	for (int round = 0; round < 3000; round++) {
		fixture_t f = {0};
		char qname[300], owner[300], n1[300], n2[300];
		random_name_of(qname, &seed, round % 3 == 0, labels);
		make_query(&f, qname, KNOT_RRTYPE_A, 0, false);
		int rrsets = 1 + rand_r(&seed) % (MAX_RRSETS - 1);
		for (int i = 0; i < rrsets; i++) {
			uint16_t type = types[rand_r(&seed) % 10];
			bool at_qname = rand_r(&seed) % 3 == 0;
			if (at_qname) {
				strcpy(owner, qname); /* The hint's case: as the client sent it. */
			} else {
				random_name_of(owner, &seed, round % 5 == 0, labels);
			}
			knot_rrset_t *rr = rrset(&f, owner, type, 300);
			int records = 1 + rand_r(&seed) % 3;
			for (int r = 0; r < records; r++) {
				random_name_of(n1, &seed, round % 7 == 0, labels);
				random_name_of(n2, &seed, false, labels);
				const uint8_t pref[6] = {0, (uint8_t)r, 0, 2, 0x13, 0xc4};
				uint8_t addr[4] = {192, 0, 2, (uint8_t)r};
				switch (type) {
				case KNOT_RRTYPE_A:
					add_rdata(rr, addr, 4);
					break;
				case KNOT_RRTYPE_AAAA: {
					uint8_t addr6[16] = {0x20, 1, 0xd, 0xb8, [15] = (uint8_t)r};
					add_rdata(rr, addr6, 16);
					break;
				}
				case KNOT_RRTYPE_TXT:
					add_rdata(rr, (const uint8_t *)"\003abc", 4 - (r == 1));
					break;
				case KNOT_RRTYPE_MX:
					add_names(rr, pref, 2, n1, NULL, NULL, 0);
					break;
				case KNOT_RRTYPE_SRV:
					add_names(rr, pref, 6, n1, NULL, NULL, 0);
					break;
				case KNOT_RRTYPE_SOA:
					add_names(rr, NULL, 0, n1, n2, SOA_TAIL, 20);
					break;
				default:
					add_names(rr, NULL, 0, n1, NULL, NULL, 0);
					break;
				}
			}
			push(&f, rand_r(&seed) % 3, rr, at_qname ? KNOT_COMPR_HINT_QNAME : 0);
		}
		/* Sections in order, as the lookup fills them. */
		uint8_t wire[65535];
		uint16_t max = round % 4 == 0 ? 512 : 65535;
		same_as_knot(&f, wire, max);
		free_fixture(&f);
	}
}

static void test_random_like_knot(void **state)
{
	(void)state;
	random_like_knot(20261202, PLAIN_LABELS);
}

/* The same with long labels, octets that look like label lengths, octets above 0x7f. */
static void test_random_odd_labels_like_knot(void **state)
{
	(void)state;
	random_like_knot(20261203, ODD_LABELS);
}

/* A question of labels of the given lengths (then the root), type A class IN; returns its size. */
static size_t raw_question(uint8_t *wire, const int *labels, int count)
{
	memset(wire, 0, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_qdcount(wire, 1);
	size_t at = KNOT_WIRE_HEADER_SIZE;
	for (int i = 0; i < count; i++) {
		wire[at] = (uint8_t)labels[i];
		memset(wire + at + 1, 'a', (size_t)(labels[i] & 0x3f));
		at += 1 + (size_t)(labels[i] & 0x3f);
	}
	wire[at++] = 0;
	knot_wire_write_u16(wire + at, KNOT_RRTYPE_A);
	knot_wire_write_u16(wire + at + 2, KNOT_CLASS_IN);
	return at + 4;
}

/* The QNAME's bounds (RFC 1035 §3.1): 255 octets at most, labels of 63, no pointers. */
static void test_scan_qname_bounds(void **state)
{
	(void)state;
	uint8_t wire[600];
	canon_query_t q;
	const int longest[] = {63, 63, 63, 61}; /* 255 octets with the root. */
	size_t len = raw_question(wire, longest, 4);
	assert_true(canon_query_scan(&q, wire, len));
	assert_int_equal(q.question_size, 255 + 4);
	const int too_long[] = {63, 63, 63, 62}; /* 256 octets. */
	len = raw_question(wire, too_long, 4);
	assert_false(canon_query_scan(&q, wire, len));
	const int wide_label[] = {64};
	len = raw_question(wire, wide_label, 1);
	assert_false(canon_query_scan(&q, wire, len));
	const int pointer[] = {3, 0xc0};
	len = raw_question(wire, pointer, 2);
	assert_false(canon_query_scan(&q, wire, len));
	/* A name that runs past the message, or one whose root is its last octet. */
	const int plain[] = {3, 7, 4};
	len = raw_question(wire, plain, 3);
	assert_true(canon_query_scan(&q, wire, len));
	assert_false(canon_query_scan(&q, wire, KNOT_WIRE_HEADER_SIZE + 10));
	assert_false(canon_query_scan(&q, wire, len - 4));
	assert_false(canon_query_scan(&q, wire, len - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_qname_pointer),
	        cmocka_unit_test(test_compression_like_knot),
	        cmocka_unit_test(test_compression_case),
	        cmocka_unit_test(test_tc_on_overflow),
	        cmocka_unit_test(test_additional_dropped),
	        cmocka_unit_test(test_opt_and_ede),
	        cmocka_unit_test(test_scan),
	        cmocka_unit_test(test_scan_qname_bounds),
	        cmocka_unit_test(test_random_like_knot),
	        cmocka_unit_test(test_random_odd_labels_like_knot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
