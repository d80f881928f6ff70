/*
 * Unit tests of the resolver's cache (lib/cache.c: ranks, type 0), its
 * infrastructure cache (resolve/infra.c: one probe at a time) and address
 * prefixes (lib/prefix.c).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/rrset.h>

#include "lib/arena.h"
#include "lib/cache.h"
#include "lib/prefix.h"
#include "resolve/infra.h"
#include "resolve/iterate.h"

static knot_rrset_t *a_rrset(const char *owner, const char *addr)
{
	knot_dname_t *name = knot_dname_from_str_alloc(owner);
	knot_rrset_t *rr = knot_rrset_new(name, KNOT_RRTYPE_A, KNOT_CLASS_IN, 300, NULL);
	uint8_t data[4];
	assert_int_equal(inet_pton(AF_INET, addr, data), 1);
	assert_int_equal(knot_rrset_add_rdata(rr, data, 4, NULL), 0);
	knot_dname_free(name, NULL);
	return rr;
}

static canon_cache_result_t get_a(canon_cache_t *cache, const char *owner, canon_cache_rank_t rank,
                                  canon_arena_t *arena, uint8_t first_octet[1])
{
	knot_dname_t *name = knot_dname_from_str_alloc(owner);
	knot_rrset_t *rr = NULL;
	canon_cache_result_t r = canon_cache_get_ranked(cache, name, KNOT_RRTYPE_A,
	                                                canon_cache_now(), rank, &arena->mm, &rr);
	if (r == CANON_CACHE_POSITIVE) {
		first_octet[0] = rr->rrs.rdata->data[0];
	}
	knot_dname_free(name, NULL);
	return r;
}

/* RFC 2181 §5.4.1: glue never replaces an answer, and is no answer itself. */
static void test_glue_does_not_replace_an_answer(void **state)
{
	(void)state;
	canon_cache_limits_t limits = {.max_bytes = 1 << 20};
	canon_cache_t *cache = canon_cache_new(&limits);
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 1 << 16), 0);
	uint32_t now = canon_cache_now();
	uint8_t octet[1];

	knot_rrset_t *glue = a_rrset("ns.example.", "10.0.0.1");
	knot_rrset_t *answer = a_rrset("ns.example.", "192.0.2.1");
	assert_int_equal(canon_cache_put_ranked(cache, glue, now, CANON_CACHE_RANK_GLUE), 0);
	assert_int_equal(get_a(cache, "ns.example.", CANON_CACHE_RANK_AUTH, &arena, octet),
	                 CANON_CACHE_MISS);
	assert_int_equal(get_a(cache, "ns.example.", CANON_CACHE_RANK_GLUE, &arena, octet),
	                 CANON_CACHE_POSITIVE);
	assert_int_equal(octet[0], 10);
	/* An answer replaces glue; glue then does not replace the answer. */
	assert_int_equal(canon_cache_put(cache, answer, now), 0);
	assert_int_equal(canon_cache_put_ranked(cache, glue, now, CANON_CACHE_RANK_GLUE), 0);
	assert_int_equal(get_a(cache, "ns.example.", CANON_CACHE_RANK_AUTH, &arena, octet),
	                 CANON_CACHE_POSITIVE);
	assert_int_equal(octet[0], 192);

	knot_rrset_free(glue, NULL);
	knot_rrset_free(answer, NULL);
	canon_arena_deinit(&arena);
	canon_cache_free(cache);
}

/* Type 0 is the key of NXDOMAIN entries: an RRset or NODATA of type 0 must not pose as one. */
static void test_type_zero_is_not_an_nxdomain(void **state)
{
	(void)state;
	canon_cache_limits_t limits = {.max_bytes = 1 << 20};
	canon_cache_t *cache = canon_cache_new(&limits);
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 1 << 16), 0);
	uint32_t now = canon_cache_now();
	uint8_t octet[1];

	knot_rrset_t *zero = a_rrset("x.example.", "192.0.2.9");
	zero->type = 0;
	assert_int_equal(canon_cache_put(cache, zero, now), 0);
	knot_rrset_t *soa = knot_rrset_new(zero->owner, KNOT_RRTYPE_SOA, KNOT_CLASS_IN, 60, NULL);
	uint8_t soa_rdata[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 60};
	assert_int_equal(knot_rrset_add_rdata(soa, soa_rdata, sizeof(soa_rdata), NULL), 0);
	assert_int_equal(canon_cache_put_negative(cache, zero->owner, 0, false, soa, now), 0);
	assert_int_equal(get_a(cache, "x.example.", CANON_CACHE_RANK_GLUE, &arena, octet),
	                 CANON_CACHE_MISS);
	size_t entries, bytes;
	canon_cache_stats(cache, &entries, &bytes);
	assert_int_equal(entries, 0);

	knot_rrset_free(zero, NULL);
	knot_rrset_free(soa, NULL);
	canon_arena_deinit(&arena);
	canon_cache_free(cache);
}

static struct sockaddr_in v4(const char *text, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
	return a;
}

/*
 * A server that timed out is held down (1 s, then 2, 4, 8 s for timeouts in a
 * row), then gets one probe at a time until it answers again.
 */
static void test_infra_hold_down_and_one_probe(void **state)
{
	(void)state;
	canon_infra_t *infra = canon_infra_new();
	struct sockaddr_in dead = v4("192.0.2.9", 53), other = v4("192.0.2.9", 5353);
	const struct sockaddr *d = (const struct sockaddr *)&dead;
	unsigned rtt;
	int64_t t = 100000;
	assert_int_equal(canon_infra_check(infra, d, true, t, &rtt), CANON_INFRA_GOOD);
	assert_int_equal(rtt, 0);
	canon_infra_report(infra, d, false, 800, t);
	assert_int_equal(canon_infra_check(infra, d, false, t, &rtt), CANON_INFRA_SKIP);
	assert_int_equal(canon_infra_check(infra, d, true, t + 999, &rtt), CANON_INFRA_SKIP);
	assert_int_equal(canon_infra_check(infra, d, true, t + 1000, &rtt), CANON_INFRA_PROBE);
	assert_int_equal(canon_infra_check(infra, d, true, t + 1000, &rtt), CANON_INFRA_SKIP);
	canon_infra_release(infra, d); /* Not sent after all: the next caller may probe. */
	assert_int_equal(canon_infra_check(infra, d, true, t + 1000, &rtt), CANON_INFRA_PROBE);
	t += 1800;
	canon_infra_report(infra, d, false, 800, t); /* The second timeout in a row: 2 s. */
	assert_int_equal(canon_infra_check(infra, d, true, t + 1999, &rtt), CANON_INFRA_SKIP);
	for (int i = 0; i < 5; i++) { /* Then 4 s, and 8 s at most. */
		assert_int_equal(canon_infra_check(infra, d, true, t + 8000, &rtt),
		                 CANON_INFRA_PROBE);
		t += 8000;
		canon_infra_report(infra, d, false, 800, t);
	}
	assert_int_equal(canon_infra_check(infra, d, true, t + 7999, &rtt), CANON_INFRA_SKIP);
	/* Another port of the same address is another server. */
	assert_int_equal(canon_infra_check(infra, (const struct sockaddr *)&other, true, t, &rtt),
	                 CANON_INFRA_GOOD);
	assert_int_equal(canon_infra_check(infra, d, true, t + 8000, &rtt), CANON_INFRA_PROBE);
	canon_infra_report(infra, d, true, 20, t + 8020);
	assert_int_equal(canon_infra_check(infra, d, true, t + 8020, &rtt), CANON_INFRA_GOOD);
	assert_true(rtt > 0 && rtt <= 21);
	canon_infra_free(infra);
}

/*
 * A server's CNAME with an empty rdata (libknot parses one when the class is
 * 0, as in UPDATE, RFC 2136 §2.5) is not an alias:
 * not cached, not followed (found by fuzz/fuzz_resolve.c: read out of bounds).
 */
static void test_reply_with_empty_cname_rdata(void **state)
{
	(void)state;
	canon_cache_limits_t limits = {.max_bytes = 1 << 20};
	canon_resolver_conf_t conf = {.cache = canon_cache_new(&limits), .deadline_ms = 1000};
	canon_arena_t arena;
	assert_int_equal(canon_arena_init(&arena, 1 << 16), 0);
	uint8_t wire[] = {0x00, 0x01, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	                  /* a.example. A IN */
	                  1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0x00, 0x01, 0x00, 0x01,
	                  /* a.example. CNAME, class 0 (libknot then takes an empty rdata), 300 */
	                  0xc0, 0x0c, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x00};
	knot_dname_t *zone = knot_dname_from_str_alloc("example.");
	knot_dname_t *name = knot_dname_from_str_alloc("a.example.");
	int kind = canon_resolve_reply(&conf, wire, sizeof(wire), zone, name, KNOT_RRTYPE_A,
	                               &arena.mm);
	assert_true(kind >= 0);
	knot_rrset_t *rr = NULL;
	assert_int_equal(canon_cache_get(conf.cache, name, KNOT_RRTYPE_CNAME, canon_cache_now(),
	                                 &arena.mm, &rr),
	                 CANON_CACHE_MISS);
	canon_resolution_t res;
	assert_int_equal(canon_resolve(&conf, name, KNOT_RRTYPE_A, CANON_RESOLVE_CACHE_ONLY, &res,
	                               &arena.mm),
	                 -EAGAIN);
	knot_dname_free(zone, NULL);
	knot_dname_free(name, NULL);
	canon_arena_deinit(&arena);
	canon_cache_free(conf.cache);
}

static void test_prefixes(void **state)
{
	(void)state;
	canon_prefix_list_t list = {0};
	assert_int_equal(canon_prefix_list_add(&list, "10.0.0.0/8"), 0);
	assert_int_equal(canon_prefix_list_add(&list, "2001:db8::/33"), 0);
	assert_int_equal(canon_prefix_list_add(&list, "192.0.2.1"), 0);
	assert_int_equal(canon_prefix_list_add(&list, "10.0.0.0/33"), -EINVAL);
	assert_int_equal(canon_prefix_list_add(&list, "10.0.0.0/"), -EINVAL);
	assert_int_equal(canon_prefix_list_add(&list, "example.com"), -EINVAL);
	struct sockaddr_in in = v4("10.200.1.1", 53), out = v4("11.0.0.1", 53),
	                   host = v4("192.0.2.1", 53), next = v4("192.0.2.2", 53);
	assert_true(canon_prefix_list_match(&list, (const struct sockaddr *)&in));
	assert_false(canon_prefix_list_match(&list, (const struct sockaddr *)&out));
	assert_true(canon_prefix_list_match(&list, (const struct sockaddr *)&host));
	assert_false(canon_prefix_list_match(&list, (const struct sockaddr *)&next));
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6}, b6 = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:7fff::1", &a6.sin6_addr), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:8000::1", &b6.sin6_addr), 1);
	assert_true(canon_prefix_list_match(&list, (const struct sockaddr *)&a6));
	assert_false(canon_prefix_list_match(&list, (const struct sockaddr *)&b6));
	for (int i = 3; i < CANON_PREFIX_LIST_MAX; i++) {
		assert_int_equal(canon_prefix_list_add(&list, "127.0.0.1"), 0);
	}
	assert_int_equal(canon_prefix_list_add(&list, "127.0.0.1"), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_glue_does_not_replace_an_answer),
	        cmocka_unit_test(test_type_zero_is_not_an_nxdomain),
	        cmocka_unit_test(test_infra_hold_down_and_one_probe),
	        cmocka_unit_test(test_reply_with_empty_cname_rdata),
	        cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
