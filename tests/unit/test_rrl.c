/*
 * Unit tests of response rate limiting (serve/rrl.c) and of DNS cookies
 * (lib/cookie.c, with libknot's RFC 9018 server cookies).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/opt.h>
#include <libknot/packet/wire.h>

#include "lib/cookie.h"
#include "serve/config.h"
#include "serve/rrl.h"

#define NOW 1800000000u

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss = {0};
	if (strchr(text, ':') != NULL) {
		ss.ss_family = AF_INET6;
		assert_int_equal(
		        inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
	} else {
		ss.ss_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr),
		                 1);
	}
	return ss;
}

/* A response to 'qname' (wire form) of 'qtype' with 'rcode' and one answer record's worth of
 * counts. */
static size_t response(uint8_t *wire, const uint8_t *qname, size_t qname_len, uint16_t qtype,
                       uint8_t rcode, uint16_t ancount)
{
	memset(wire, 0, 512);
	knot_wire_set_qr(wire);
	knot_wire_set_aa(wire);
	knot_wire_set_rcode(wire, rcode);
	knot_wire_set_qdcount(wire, 1);
	knot_wire_set_ancount(wire, ancount);
	memcpy(wire + KNOT_WIRE_HEADER_SIZE, qname, qname_len);
	knot_wire_write_u16(wire + KNOT_WIRE_HEADER_SIZE + qname_len, qtype);
	knot_wire_write_u16(wire + KNOT_WIRE_HEADER_SIZE + qname_len + 2, KNOT_CLASS_IN);
	/* Some answer bytes after the question, which a slip cuts off. */
	return KNOT_WIRE_HEADER_SIZE + qname_len + 4 + 40;
}

static const uint8_t WWW[] = "\3www\7example\0";
static const uint8_t WWW_UPPER[] = "\3WWW\7EXAMPLE\0";
static const uint8_t MAIL[] = "\4mail\7example\0";

static canon_rrl_action_t send_one(canon_rrl_t *rrl, const char *client, const uint8_t *qname,
                                   uint8_t rcode, uint32_t now, size_t *len_out)
{
	uint8_t wire[512];
	size_t len = response(wire, qname, strlen((const char *)qname) + 1, KNOT_RRTYPE_A, rcode,
	                      rcode == KNOT_RCODE_NOERROR ? 1 : 0);
	struct sockaddr_storage ss = addr(client);
	canon_rrl_action_t action = canon_rrl_apply(rrl, &ss, wire, &len, now, false);
	if (len_out != NULL) {
		*len_out = len;
	}
	if (action == CANON_RRL_SLIPPED) {
		assert_true(knot_wire_get_tc(wire));
		assert_int_equal(knot_wire_get_ancount(wire), 0);
		assert_int_equal(len, KNOT_WIRE_HEADER_SIZE + strlen((const char *)qname) + 1 + 4);
	}
	return action;
}

static canon_rrl_t *make(unsigned limit, unsigned slip, canon_serve_conf_t *conf)
{
	canon_conf_init(conf);
	conf->rate_limit = limit;
	conf->rate_limit_slip = slip;
	canon_rrl_t *rrl = canon_rrl_new(conf);
	assert_non_null(rrl);
	return rrl;
}

static unsigned passed(canon_rrl_t *rrl, const char *client, const uint8_t *qname, uint8_t rcode,
                       unsigned count, uint32_t now)
{
	unsigned n = 0;
	for (unsigned i = 0; i < count; i++) {
		n += send_one(rrl, client, qname, rcode, now, NULL) == CANON_RRL_PASS;
	}
	return n;
}

static void test_off_when_zero(void **state)
{
	(void)state;
	canon_serve_conf_t conf;
	canon_conf_init(&conf);
	assert_null(canon_rrl_new(&conf));
	assert_int_equal(passed(NULL, "192.0.2.1", WWW, KNOT_RCODE_NOERROR, 100, NOW), 100);
	canon_conf_free(&conf);
}

static void test_limit_per_second_and_network(void **state)
{
	(void)state;
	canon_serve_conf_t conf;
	canon_rrl_t *rrl = make(10, 0, &conf);
	assert_int_equal(passed(rrl, "192.0.2.1", WWW, KNOT_RCODE_NOERROR, 50, NOW), 10);
	/* The same /24, another address: the same key; case does not matter (RFC 4343). */
	assert_int_equal(passed(rrl, "192.0.2.200", WWW_UPPER, KNOT_RCODE_NOERROR, 5, NOW), 0);
	/* Another /24, another name: keys of their own. */
	assert_int_equal(passed(rrl, "192.0.3.1", WWW, KNOT_RCODE_NOERROR, 50, NOW), 10);
	assert_int_equal(passed(rrl, "192.0.2.1", MAIL, KNOT_RCODE_NOERROR, 50, NOW), 10);
	/* The next second starts afresh. */
	assert_int_equal(passed(rrl, "192.0.2.1", WWW, KNOT_RCODE_NOERROR, 50, NOW + 1), 10);
	/* IPv6: one /56 is one network, the next /56 another. */
	assert_int_equal(passed(rrl, "2001:db8:0:1::1", WWW, KNOT_RCODE_NOERROR, 20, NOW), 10);
	assert_int_equal(passed(rrl, "2001:db8:0:ff::2", WWW, KNOT_RCODE_NOERROR, 20, NOW), 0);
	assert_int_equal(passed(rrl, "2001:db8:0:100::1", WWW, KNOT_RCODE_NOERROR, 20, NOW), 10);
	canon_rrl_free(rrl);
	canon_conf_free(&conf);
}

static void test_nxdomain_counts_per_network(void **state)
{
	(void)state;
	canon_serve_conf_t conf;
	canon_rrl_t *rrl = make(10, 0, &conf);
	/* Random names do not make new keys for NXDOMAIN: the flood is one key. */
	assert_int_equal(passed(rrl, "192.0.2.1", WWW, KNOT_RCODE_NXDOMAIN, 8, NOW), 8);
	assert_int_equal(passed(rrl, "192.0.2.1", MAIL, KNOT_RCODE_NXDOMAIN, 8, NOW), 2);
	/* Answers are another kind. */
	assert_int_equal(passed(rrl, "192.0.2.1", WWW, KNOT_RCODE_NOERROR, 8, NOW), 8);
	canon_rrl_free(rrl);
	canon_conf_free(&conf);
}

static void test_slip(void **state)
{
	(void)state;
	for (unsigned slip = 0; slip <= 3; slip++) {
		canon_serve_conf_t conf;
		canon_rrl_t *rrl = make(5, slip, &conf);
		unsigned counts[3] = {0};
		for (unsigned i = 0; i < 35; i++) {
			size_t len;
			canon_rrl_action_t a =
			        send_one(rrl, "198.51.100.1", WWW, KNOT_RCODE_NOERROR, NOW, &len);
			counts[a]++;
			if (a == CANON_RRL_DROPPED) {
				assert_int_equal(len, 0);
			}
		}
		assert_int_equal(counts[CANON_RRL_PASS], 5);
		assert_int_equal(counts[CANON_RRL_SLIPPED], slip == 0 ? 0 : 30 / slip);
		assert_int_equal(counts[CANON_RRL_DROPPED], 30 - counts[CANON_RRL_SLIPPED]);
		canon_rrl_free(rrl);
		canon_conf_free(&conf);
	}
}

static void test_exempt(void **state)
{
	(void)state;
	canon_serve_conf_t conf;
	canon_conf_init(&conf);
	assert_null(canon_conf_set_rate_limit(&conf, "1"));
	assert_null(canon_conf_add_rate_limit_exempt(&conf, "192.0.2.0/25, 2001:db8::/32"));
	assert_non_null(canon_conf_add_rate_limit_exempt(&conf, "192.0.2.0/40"));
	assert_non_null(canon_conf_add_rate_limit_exempt(&conf, " , "));
	assert_non_null(canon_conf_set_rate_limit(&conf, "-1"));
	assert_non_null(canon_conf_set_rate_limit_slip(&conf, "101"));
	canon_rrl_t *rrl = canon_rrl_new(&conf);
	assert_int_equal(passed(rrl, "192.0.2.127", WWW, KNOT_RCODE_NOERROR, 20, NOW), 20);
	assert_int_equal(passed(rrl, "2001:db8::7", WWW, KNOT_RCODE_NOERROR, 20, NOW), 20);
	assert_int_equal(passed(rrl, "192.0.2.128", WWW, KNOT_RCODE_NOERROR, 20, NOW), 1);
	canon_rrl_free(rrl);
	canon_conf_free(&conf);
}

/* A query OPT with a COOKIE option of 'len' octets. */
static void query_opt(knot_rrset_t *opt, const uint8_t *cookie, uint16_t len)
{
	assert_int_equal(knot_edns_init(opt, 1232, 0, 0, NULL), KNOT_EOK);
	assert_int_equal(knot_edns_add_option(opt, KNOT_EDNS_OPTION_COOKIE, len, cookie, NULL),
	                 KNOT_EOK);
}

/* Our answer's cookie (client + server), copied to 'out'; its length. */
static uint16_t answer_cookie(knot_rrset_t *opt, uint8_t *out)
{
	uint8_t *option = knot_edns_get_option(opt, KNOT_EDNS_OPTION_COOKIE, NULL);
	assert_non_null(option);
	uint16_t len = knot_edns_opt_get_length(option);
	memcpy(out, knot_edns_opt_get_data(option), len);
	return len;
}

static canon_cookie_status_t cookie_round(const canon_cookie_secret_t *secret, const char *client,
                                          const uint8_t *cookie, uint16_t len, uint32_t now,
                                          uint8_t *out, uint16_t *out_len)
{
	knot_rrset_t q, a;
	query_opt(&q, cookie, len);
	assert_int_equal(knot_edns_init(&a, 1232, 0, 0, NULL), KNOT_EOK);
	struct sockaddr_storage ss = addr(client);
	canon_cookie_status_t status = canon_cookie_answer(secret, &q, &ss, now, &a, NULL);
	if (out != NULL && status != CANON_COOKIE_MALFORMED) {
		*out_len = answer_cookie(&a, out);
	}
	knot_rrset_clear(&q, NULL);
	knot_rrset_clear(&a, NULL);
	return status;
}

static void test_cookies(void **state)
{
	(void)state;
	canon_cookie_secret_t secret, other;
	assert_int_equal(canon_cookie_secret_parse(&secret, "000102030405060708090a0b0c0d0e0f"), 0);
	assert_int_equal(canon_cookie_secret_parse(&other, "ff0102030405060708090a0b0c0d0e0f"), 0);
	assert_int_not_equal(canon_cookie_secret_parse(&other, "00010203"), 0);
	assert_int_not_equal(canon_cookie_secret_parse(&other, "zz0102030405060708090a0b0c0d0e0f"),
	                     0);
	const uint8_t client[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t cookie[40];
	uint16_t len = 0;
	assert_int_equal(cookie_round(&secret, "192.0.2.1", client, 8, NOW, cookie, &len),
	                 CANON_COOKIE_CLIENT);
	/* RFC 9018 §4: 8 client octets, version 1, 3 reserved, timestamp, 8-octet hash. */
	assert_int_equal(len, 24);
	assert_memory_equal(cookie, client, 8);
	assert_int_equal(cookie[8], 1);
	assert_int_equal(knot_wire_read_u32(cookie + 12), NOW);
	uint8_t again[40];
	uint16_t again_len;
	assert_int_equal(
	        cookie_round(&secret, "192.0.2.1", cookie, len, NOW + 10, again, &again_len),
	        CANON_COOKIE_VALID);
	/* Another client address, another secret, an hour and more later: not ours. */
	assert_int_equal(
	        cookie_round(&secret, "192.0.2.2", cookie, len, NOW + 10, again, &again_len),
	        CANON_COOKIE_BAD);
	assert_int_equal(
	        cookie_round(&other, "192.0.2.1", cookie, len, NOW + 10, again, &again_len),
	        CANON_COOKIE_BAD);
	assert_int_equal(
	        cookie_round(&secret, "192.0.2.1", cookie, len, NOW + 3601, again, &again_len),
	        CANON_COOKIE_BAD);
	/* A bad one is still answered with a fresh cookie (RFC 7873 §5.2.4). */
	assert_int_equal(again_len, 24);
	assert_int_equal(knot_wire_read_u32(again + 12), NOW + 3601);
	/* §5.2.2: a client cookie alone of other than 8 octets is malformed. */
	assert_int_equal(cookie_round(&secret, "192.0.2.1", client, 5, NOW, NULL, NULL),
	                 CANON_COOKIE_MALFORMED);
	knot_rrset_t none;
	assert_int_equal(knot_edns_init(&none, 1232, 0, 0, NULL), KNOT_EOK);
	struct sockaddr_storage ss = addr("192.0.2.1");
	assert_int_equal(canon_cookie_answer(&secret, &none, &ss, NOW, &none, NULL),
	                 CANON_COOKIE_NONE);
	assert_int_equal(canon_cookie_answer(&secret, NULL, &ss, NOW, &none, NULL),
	                 CANON_COOKIE_NONE);
	knot_rrset_clear(&none, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_off_when_zero),
	        cmocka_unit_test(test_limit_per_second_and_network),
	        cmocka_unit_test(test_nxdomain_counts_per_network),
	        cmocka_unit_test(test_slip),
	        cmocka_unit_test(test_exempt),
	        cmocka_unit_test(test_cookies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
