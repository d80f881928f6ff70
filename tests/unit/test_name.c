/*
 * Unit tests of the query path's name and question helpers (lib/name.c,
 * lib/parse.c): the word-at-a-time lower-casing and suffix hashes agree with
 * libknot and with themselves whatever the name's length and case, and the
 * bare-question parser sets up what knot_pkt_parse() would.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>

#include "lib/name.h"
#include "lib/parse.h"

static const knot_dname_t *name(knot_dname_storage_t buf, const char *text)
{
	assert_non_null(knot_dname_from_str(buf, text, KNOT_DNAME_MAXLEN));
	return buf;
}

/* Names of every length class: root, short, labels across word edges, 63-octet labels, 255 octets.
 */
static const char *const NAMES[] = {
        ".",
        "a.",
        "Ab.",
        "WWW.Example.TEST.",
        "host1234.bench.test.",
        "abcdefg.abcdefgh.abcdefghi.x.",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ.[\\@`{.",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
        "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
        "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.",
};

/* The prepared wire is knot_dname_copy_lower's; every suffix hash is canon_name_hash of it. */
static void test_prepare_matches_libknot(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof(NAMES) / sizeof(NAMES[0]); n++) {
		knot_dname_storage_t wire, lower;
		name(wire, NAMES[n]);
		knot_dname_copy_lower(lower, wire);
		canon_name_t prepared;
		memset(&prepared, 0xA5, sizeof(prepared)); /* Garbage where no name is. */
		canon_name_prepare(&prepared, wire);
		assert_int_equal(prepared.size, knot_dname_size(wire));
		assert_int_equal(prepared.labels, knot_dname_labels(wire, NULL));
		assert_memory_equal(prepared.wire, lower, prepared.size);
		for (unsigned i = 0; i <= prepared.labels; i++) {
			const knot_dname_t *suffix = canon_name_suffix(&prepared, i);
			assert_int_equal(canon_name_suffix_size(&prepared, i),
			                 knot_dname_size(suffix));
			assert_int_equal(canon_name_suffix_hash(&prepared, i),
			                 canon_name_hash(suffix));
		}
	}
}

/* A suffix hashes the same as a part of any name, in any case, after any garbage. */
static void test_suffix_hash_independent_of_name(void **state)
{
	(void)state;
	knot_dname_storage_t a, b, c;
	canon_name_t pa, pb, pc;
	memset(&pb, 0x5A, sizeof(pb));
	canon_name_prepare(&pa, name(a, "x.bench.test."));
	canon_name_prepare(&pb, name(b, "Very-Long-Label-Here.BENCH.Test."));
	canon_name_prepare(&pc, name(c, "bench.test."));
	assert_int_equal(canon_name_suffix_hash(&pa, 1), canon_name_suffix_hash(&pc, 0));
	assert_int_equal(canon_name_suffix_hash(&pb, 1), canon_name_suffix_hash(&pc, 0));
	assert_int_equal(canon_name_suffix_hash(&pa, 2), canon_name_suffix_hash(&pb, 2));
	assert_int_not_equal(canon_name_suffix_hash(&pa, 0), canon_name_suffix_hash(&pb, 0));
	assert_int_not_equal(canon_name_suffix_hash(&pa, 0), canon_name_suffix_hash(&pc, 0));
}

/* canon_name_copy_lower touches only 'size' octets and lowers only A-Z. */
static void test_copy_lower_bounds(void **state)
{
	(void)state;
	knot_dname_storage_t wire;
	name(wire, "\\065\\090\\064\\091\\096\\123\\193\\218.Q.");
	size_t size = knot_dname_size(wire);
	uint8_t out[KNOT_DNAME_MAXLEN + 8];
	memset(out, 0xEE, sizeof(out));
	canon_name_copy_lower(out, wire, size);
	static const uint8_t want[] = {8, 'a', 'z', '@', '[', '`', '{', 0xC1, 0xDA, 1, 'q', 0};
	assert_int_equal(size, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(out[size], 0xEE);
}

/*
 * canon_name_copy_lower lowers A-Z only, whatever the octet and the length
 * (every path: octets, words, 16-octet blocks, overlapping tails), and writes
 * nothing past 'size'.
 */
static void test_copy_lower_every_length(void **state)
{
	(void)state;
	uint8_t src[KNOT_DNAME_MAXLEN + 16], out[KNOT_DNAME_MAXLEN + 16];
	for (size_t size = 1; size <= KNOT_DNAME_MAXLEN; size++) {
		for (size_t shift = 0; shift < 256; shift += 37) {
			for (size_t i = 0; i < size; i++) {
				src[i] = (uint8_t)(i * 7 + shift);
			}
			memset(out, 0xEE, sizeof(out));
			canon_name_copy_lower(out, src, size);
			for (size_t i = 0; i < size; i++) {
				uint8_t c = src[i];
				uint8_t want = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
				assert_int_equal(out[i], want);
			}
			assert_int_equal(out[size], 0xEE);
		}
	}
}

/* canon_wire_equal is memcmp() == 0 at every length, a difference at any octet. */
static void test_wire_equal(void **state)
{
	(void)state;
	uint8_t a[KNOT_DNAME_MAXLEN], b[KNOT_DNAME_MAXLEN];
	for (size_t i = 0; i < sizeof(a); i++) {
		a[i] = (uint8_t)(i * 13 + 1);
	}
	for (size_t size = 0; size <= KNOT_DNAME_MAXLEN; size++) {
		memcpy(b, a, sizeof(b));
		assert_true(canon_wire_equal(a, b, size));
		for (size_t at = 0; at < size; at++) {
			b[at] ^= 0x20;
			assert_false(canon_wire_equal(a, b, size));
			b[at] ^= 0x20;
		}
		if (size < sizeof(b)) {
			b[size] ^= 0xFF; /* Past the end: not looked at. */
			assert_true(canon_wire_equal(a, b, size));
		}
	}
}

/* canon_name_equal: sizes first, then the octets. */
static void test_name_equal(void **state)
{
	(void)state;
	knot_dname_storage_t a, b;
	name(a, "host1234.bench.test.");
	name(b, "host1234.bench.test.");
	uint16_t size = (uint16_t)knot_dname_size(a);
	assert_true(canon_name_equal(a, size, b, size));
	assert_false(canon_name_equal(a, size, b, (uint16_t)(size - 1)));
	name(b, "host1235.bench.test.");
	assert_false(canon_name_equal(a, size, b, size));
	assert_true(canon_name_equal((const knot_dname_t *)"", 1, (const knot_dname_t *)"", 1));
}

/*
 * The hashes spread names that differ in any octet over a table's slots, the
 * last octets of a label included: linear probing into a half-full table (as
 * lib/zone.c keeps it) stays short.
 */
static void test_hash_spread(void **state)
{
	(void)state;
	enum { NAMES_N = 1 << 15, SLOTS = NAMES_N * 2 };
	static uint8_t used[SLOTS];
	memset(used, 0, sizeof(used));
	unsigned long probes = 0;
	for (unsigned i = 0; i < NAMES_N; i++) {
		char text[64];
		knot_dname_storage_t wire;
		if (i % 2) {
			/* Seven-octet labels that differ in their last two characters. */
			snprintf(text, sizeof(text), "host-%c%c.z%u.test.", 'a' + (i / 2) % 26,
			         'a' + (i / 52) % 26, i / 1352);
		} else {
			snprintf(text, sizeof(text), "h%05u.bench.test.", i);
		}
		canon_name_t p;
		canon_name_prepare(&p, name(wire, text));
		for (uint32_t slot = canon_name_suffix_hash(&p, 0) & (SLOTS - 1);;
		     slot = (slot + 1) & (SLOTS - 1)) {
			probes++;
			if (!used[slot]) {
				used[slot] = 1;
				break;
			}
		}
	}
	/* A uniform hash averages 1.5 probes per insert into a table filled to one half. */
	assert_true(probes < NAMES_N * 2);
}

/* canon_name_size is knot_dname_size, compression pointers included. */
static void test_name_size(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof(NAMES) / sizeof(NAMES[0]); n++) {
		knot_dname_storage_t wire;
		name(wire, NAMES[n]);
		assert_int_equal(canon_name_size(wire), knot_dname_size(wire));
	}
	static const uint8_t pointer[] = {3, 'w', 'w', 'w', 0xC0, 12};
	assert_int_equal(canon_name_size(pointer), knot_dname_size(pointer));
	assert_int_equal(canon_name_size(pointer), sizeof(pointer));
	static const uint8_t only_pointer[] = {0xC0, 12};
	assert_int_equal(canon_name_size(only_pointer), knot_dname_size(only_pointer));
}

/* canon_name_wire_size agrees with knot_dname_wire_check (no packet). */
static void test_wire_size(void **state)
{
	(void)state;
	knot_dname_storage_t wire;
	name(wire, "www.example.test.");
	size_t size = knot_dname_size(wire);
	assert_int_equal(canon_name_wire_size(wire, wire + size), (int)size);
	assert_int_equal(canon_name_wire_size(wire, wire + size - 1), -1); /* Runs past the end. */
	static const uint8_t pointer[] = {3, 'w', 'w', 'w', 0xC0, 12};
	assert_int_equal(canon_name_wire_size(pointer, pointer + sizeof(pointer)), -1);
	assert_true(knot_dname_wire_check(pointer, pointer + sizeof(pointer), NULL) <= 0);
	static const uint8_t long_label[] = {64, 'a'};
	assert_int_equal(canon_name_wire_size(long_label, long_label + sizeof(long_label)), -1);
	/* 256 octets: four labels of 63 and one of 0 more than allowed. */
	uint8_t too_long[300];
	memset(too_long, 'a', sizeof(too_long));
	for (int i = 0; i < 4; i++) {
		too_long[i * 64] = 63;
	}
	too_long[256] = 0;
	assert_int_equal(canon_name_wire_size(too_long, too_long + sizeof(too_long)), -1);
	too_long[192] = 61; /* 3 * 64 + 62 + 1 = 255 octets: the longest name. */
	too_long[254] = 0;
	assert_int_equal(canon_name_wire_size(too_long, too_long + sizeof(too_long)), 255);
	assert_int_equal(knot_dname_wire_check(too_long, too_long + sizeof(too_long), NULL), 255);
}

static void test_name_under(void **state)
{
	(void)state;
	knot_dname_storage_t n, apex;
	canon_name_t p;
	name(apex, "bench.test.");
	uint16_t apex_size = (uint16_t)knot_dname_size(apex);
	canon_name_prepare(&p, name(n, "Mail.BENCH.test."));
	assert_true(canon_name_under(&p, apex, apex_size));
	canon_name_prepare(&p, name(n, "bench.test."));
	assert_true(canon_name_under(&p, apex, apex_size));
	canon_name_prepare(&p, name(n, "xbench.test."));
	assert_false(canon_name_under(&p, apex, apex_size));
	canon_name_prepare(&p, name(n, "test."));
	assert_false(canon_name_under(&p, apex, apex_size));
	canon_name_prepare(&p, name(n, "mail.other.test."));
	assert_false(canon_name_under(&p, apex, apex_size));
	assert_true(canon_name_under(&p, (const knot_dname_t *)"",
	                             1)); /* Everything is under the root. */
}

/* A query message: header, the question, 'extra' trailing octets. */
static size_t query_wire(uint8_t *wire, const char *qname, uint16_t qtype, size_t extra)
{
	memset(wire, 0, 512);
	knot_wire_set_id(wire, 0x1234);
	knot_wire_set_qdcount(wire, 1);
	knot_dname_storage_t q;
	size_t size = knot_dname_size(name(q, qname));
	memcpy(wire + KNOT_WIRE_HEADER_SIZE, q, size);
	knot_wire_write_u16(wire + KNOT_WIRE_HEADER_SIZE + size, qtype);
	knot_wire_write_u16(wire + KNOT_WIRE_HEADER_SIZE + size + 2, KNOT_CLASS_IN);
	return KNOT_WIRE_HEADER_SIZE + size + 4 + extra;
}

/* The bare question comes out as knot_pkt_parse() makes it. */
static void test_parse_bare_question(void **state)
{
	(void)state;
	uint8_t wire[512];
	size_t len = query_wire(wire, "WWW.Example.TEST.", KNOT_RRTYPE_AAAA, 0);
	knot_pkt_t *fast = knot_pkt_new(wire, (uint16_t)len, NULL);
	knot_pkt_t *slow = knot_pkt_new(wire, (uint16_t)len, NULL);
	assert_int_equal(canon_query_parse(fast), KNOT_EOK);
	assert_int_equal(knot_pkt_parse(slow, KNOT_PF_NOCANON), KNOT_EOK);
	assert_int_equal(fast->parsed, slow->parsed);
	assert_int_equal(fast->qname_size, slow->qname_size);
	assert_int_equal(knot_pkt_qtype(fast), KNOT_RRTYPE_AAAA);
	assert_int_equal(knot_pkt_qclass(fast), KNOT_CLASS_IN);
	assert_memory_equal(knot_pkt_qname(fast), knot_pkt_qname(slow), fast->qname_size);
	assert_null(fast->opt_rr);
	assert_null(fast->tsig_rr);
	assert_int_equal(fast->rrset_count, 0);
	for (int i = KNOT_ANSWER; i <= KNOT_ADDITIONAL; i++) {
		assert_int_equal(knot_pkt_section(fast, i)->count, 0);
	}
	knot_pkt_free(fast);
	knot_pkt_free(slow);
}

/* Trailing data or a truncated question: the same error as libknot's. */
static void test_parse_not_bare(void **state)
{
	(void)state;
	uint8_t wire[512];
	size_t lens[] = {query_wire(wire, "a.test.", KNOT_RRTYPE_A, 3),
	                 query_wire(wire, "a.test.", KNOT_RRTYPE_A, 0) - 1};
	for (size_t i = 0; i < 2; i++) {
		knot_pkt_t *fast = knot_pkt_new(wire, (uint16_t)lens[i], NULL);
		knot_pkt_t *slow = knot_pkt_new(wire, (uint16_t)lens[i], NULL);
		int want = knot_pkt_parse(slow, KNOT_PF_NOCANON);
		assert_int_not_equal(want, KNOT_EOK);
		assert_int_equal(canon_query_parse(fast), want);
		knot_pkt_free(fast);
		knot_pkt_free(slow);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_prepare_matches_libknot),
	        cmocka_unit_test(test_suffix_hash_independent_of_name),
	        cmocka_unit_test(test_copy_lower_bounds),
	        cmocka_unit_test(test_copy_lower_every_length),
	        cmocka_unit_test(test_wire_equal),
	        cmocka_unit_test(test_name_equal),
	        cmocka_unit_test(test_hash_spread),
	        cmocka_unit_test(test_name_size),
	        cmocka_unit_test(test_wire_size),
	        cmocka_unit_test(test_name_under),
	        cmocka_unit_test(test_parse_bare_question),
	        cmocka_unit_test(test_parse_not_bare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
