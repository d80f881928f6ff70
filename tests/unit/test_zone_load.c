/*
 * Unit tests of the zone loader's limits (lib/zone_load.c, lib/generate.c) and
 * of building big RRsets (lib/zone.c): hostile zone files stay bounded.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libknot/descriptor.h>

#include "lib/generate.h"
#include "lib/zone_load.h"

#define BASE                                                                                       \
	"$ORIGIN example.com.\n"                                                                   \
	"$TTL 3600\n"                                                                              \
	"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"                                           \
	"@ NS ns1\n"                                                                               \
	"ns1 A 192.0.2.53\n"
#define BASE_LINES 5

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/canon-unit-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Write 'text' to DIR/name; the path in 'path'. */
static void write_file(const char *name, const char *text, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The only finding, which must be of 'rule' at 'line'. */
static const canon_finding_t *only(const canon_findings_t *findings, const char *rule,
                                   uint32_t line)
{
	assert_int_equal(findings->count, 1);
	assert_string_equal(findings->items[0].rule->id, rule);
	assert_int_equal(findings->items[0].line, line);
	return &findings->items[0];
}

static int load_text(const char *text, canon_findings_t *findings, canon_zone_t **zone)
{
	char path[256];
	write_file("z.zone", text, path, sizeof(path));
	canon_findings_init(findings);
	*zone = NULL;
	return canon_zone_load("example.com.", path, findings, zone);
}

static int count_emit(const char *record, void *ctx)
{
	(void)record;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_generate_ranges(void **state)
{
	(void)state;
	char error[256];
	size_t count = 0;
	assert_int_equal(
	        canon_generate_expand("9223372036854775800-9223372036854775807 h$ A 1.2.3.4",
	                              count_emit, &count, error, sizeof(error)),
	        -EINVAL);
	assert_non_null(strstr(error, "out of bounds"));
	assert_int_equal(canon_generate_expand("2147483647-2147483648 h$ A 1.2.3.4", count_emit,
	                                       &count, error, sizeof(error)),
	                 -EINVAL);
	assert_int_equal(canon_generate_expand("0-1 h${-9223372036854775807} A 1.2.3.4", count_emit,
	                                       &count, error, sizeof(error)),
	                 -EINVAL);
	assert_int_equal(count, 0);
	/* The top of the range is reached without overflow. */
	assert_int_equal(canon_generate_expand("2147483640-2147483647/3 h$ A 1.2.3.4", count_emit,
	                                       &count, error, sizeof(error)),
	                 0);
	assert_int_equal(count, 3);
}

/*
 * Records added in reverse order come out sorted, each with its own line: the
 * loader notes places beside the zone (lib/positions.h) and orders them
 * before the seal sorts the records.
 */
static void test_big_rrset_sorted_with_lines(void **state)
{
	(void)state;
	knot_dname_storage_t apex;
	knot_dname_from_str(apex, "example.com.", sizeof(apex));
	canon_zone_t *zone = canon_zone_new(apex);
	canon_zone_positions_t *positions = canon_positions_new();
	assert_non_null(zone);
	assert_non_null(positions);
	bool mismatch;
	for (uint32_t i = 0; i < 3000; i++) {
		uint32_t value = 2999 - i; /* Reverse order. */
		uint8_t rdata[4] = {10, (uint8_t)(value >> 16), (uint8_t)(value >> 8),
		                    (uint8_t)value};
		assert_int_equal(canon_zone_add(zone, apex, KNOT_RRTYPE_A, 60, rdata, 4, &mismatch),
		                 0);
		const canon_node_t *node = canon_zone_get_name(zone, apex);
		assert_int_equal(canon_positions_record(positions, node,
		                                        canon_node_rrset(node, KNOT_RRTYPE_A),
		                                        rdata, 4, 0, 1000 + value),
		                 0);
		/* Each record twice: the duplicate merges, and keeps its first line. */
		assert_int_equal(canon_zone_add(zone, apex, KNOT_RRTYPE_A, 60, rdata, 4, &mismatch),
		                 0);
		assert_int_equal(canon_positions_record(positions, node,
		                                        canon_node_rrset(node, KNOT_RRTYPE_A),
		                                        rdata, 4, 0, 1),
		                 0);
	}
	assert_int_equal(zone->record_count, 3000);
	assert_int_equal(canon_positions_order(positions, zone), 0);
	canon_zone_seal(zone); /* -ENOENT: no SOA, but the RRsets are finished. */
	const canon_rrset_t *a = canon_node_rrset(zone->nodes[0], KNOT_RRTYPE_A);
	const canon_rrset_pos_t *pos =
	        canon_positions_get(positions, zone->nodes[0], KNOT_RRTYPE_A);
	assert_non_null(pos);
	assert_int_equal(a->rr.rrs.count, 3000);
	knot_rdata_t *rd = a->rr.rrs.rdata;
	for (uint16_t i = 0; i < 3000; i++, rd = knot_rdataset_next(rd)) {
		uint32_t value =
		        (uint32_t)rd->data[1] << 16 | (uint32_t)rd->data[2] << 8 | rd->data[3];
		assert_int_equal(value, i);
		assert_int_equal(canon_rrset_pos_line(pos, i), 1000 + i);
	}
	assert_int_equal(canon_rrset_pos_last_line(pos), 1000 + 2999);
	canon_positions_free(positions);
	canon_zone_free(zone);
}

static void test_rrset_count_limit(void **state)
{
	(void)state;
	knot_dname_storage_t apex;
	knot_dname_from_str(apex, "example.com.", sizeof(apex));
	canon_zone_t *zone = canon_zone_new(apex);
	bool mismatch;
	for (uint32_t i = 0; i < 65535; i++) {
		uint8_t rdata[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		assert_int_equal(canon_zone_add(zone, apex, KNOT_RRTYPE_A, 60, rdata, 4, &mismatch),
		                 0);
	}
	uint8_t next[4] = {10, 1, 0, 0}, old[4] = {10, 0, 0, 7};
	assert_int_equal(canon_zone_add(zone, apex, KNOT_RRTYPE_A, 60, next, 4, &mismatch), -E2BIG);
	/* A duplicate of a record it holds still merges. */
	assert_int_equal(canon_zone_add(zone, apex, KNOT_RRTYPE_A, 60, old, 4, &mismatch), 0);
	canon_zone_free(zone);
}

/* Load 'text' as DIR/z.zone: one finding of 'rule' at 'line' whose message has 'words'. */
static void expect_one(const char *text, const char *rule, uint32_t line, const char *words)
{
	canon_findings_t findings;
	canon_zone_t *zone;
	assert_int_equal(load_text(text, &findings, &zone), 0);
	const canon_finding_t *f = only(&findings, rule, line);
	assert_non_null(strstr(f->message, words));
	assert_true(canon_findings_block_load(&findings));
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

static void test_rrset_too_large_finding(void **state)
{
	(void)state;
	expect_one(BASE "$GENERATE 0-70000 big TXT \"$\"\n", "rrset-too-large", BASE_LINES + 1,
	           "65,535 TXT records at big.example.com.");
}

static void test_include_itself(void **state)
{
	(void)state;
	expect_one(BASE "$INCLUDE z.zone\n", "unreadable", BASE_LINES + 1, "includes itself");
}

static void test_include_not_regular(void **state)
{
	(void)state;
	expect_one(BASE "$INCLUDE /dev/zero\n", "unreadable", BASE_LINES + 1, "not a regular file");
	expect_one(BASE "$INCLUDE .\n", "unreadable", BASE_LINES + 1, "not a regular file");
}

static void test_include_gets_generate_and_alias(void **state)
{
	(void)state;
	char path[256];
	write_file("gen.inc", "$GENERATE 1-3 h$ A 192.0.2.$\nwww ALIAS h1\n", path, sizeof(path));
	canon_findings_t findings;
	canon_zone_t *zone;
	assert_int_equal(load_text(BASE "$INCLUDE gen.inc\n", &findings, &zone), 0);
	assert_int_equal(findings.count, 0);
	assert_int_equal(zone->record_count, 3 + 3 + 1); /* base, $GENERATE, ALIAS */
	knot_dname_storage_t www;
	knot_dname_from_str(www, "www.example.com.", sizeof(www));
	const canon_node_t *node = canon_zone_get_name(zone, www);
	assert_non_null(node);
	assert_non_null(canon_node_rrset(node, CANON_RRTYPE_ALIAS));
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

static void test_max_size(void **state)
{
	(void)state;
	canon_zone_limits_t saved, small;
	canon_zone_load_get_limits(&saved);
	small = saved;
	small.max_size = 4096;
	canon_zone_load_set_limits(&small);
	canon_findings_t findings;
	canon_zone_t *zone;
	/* Generated text counts: 1,000 records of ~20 bytes are more than 4 KiB. */
	assert_int_equal(load_text(BASE "$GENERATE 0-999 host$ A 192.0.2.1\n", &findings, &zone),
	                 -EFBIG);
	const canon_finding_t *f = only(&findings, "unreadable", BASE_LINES + 1);
	assert_non_null(strstr(f->message, "zone-max-size, 4096 bytes"));
	canon_findings_free(&findings);
	/* So does the file itself. */
	char big[8192];
	memset(big, ';', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(load_text(big, &findings, &zone), -EFBIG);
	only(&findings, "unreadable", 0);
	canon_findings_free(&findings);
	canon_zone_load_set_limits(&saved);
}

static void test_interrupt(void **state)
{
	(void)state;
	canon_findings_t findings;
	canon_zone_t *zone;
	canon_zone_load_interrupt(true);
	assert_int_equal(load_text(BASE, &findings, &zone), -EINTR);
	const canon_finding_t *f = only(&findings, "unreadable", 3);
	assert_non_null(strstr(f->message, "the process is stopping"));
	canon_findings_free(&findings);
	canon_zone_load_interrupt(false);
	assert_int_equal(load_text(BASE, &findings, &zone), 0);
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_generate_ranges),
	        cmocka_unit_test(test_big_rrset_sorted_with_lines),
	        cmocka_unit_test(test_rrset_count_limit),
	        cmocka_unit_test(test_rrset_too_large_finding),
	        cmocka_unit_test(test_include_itself),
	        cmocka_unit_test(test_include_not_regular),
	        cmocka_unit_test(test_include_gets_generate_and_alias),
	        cmocka_unit_test(test_max_size),
	        cmocka_unit_test(test_interrupt),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
