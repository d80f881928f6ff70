/*
 * Unit tests of the zone loader and the shared check module (lib/check.c).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/zone_load.h"

static canon_zone_t *load(const char *origin, const char *file, canon_findings_t *findings)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/unit/%s", CANON_TEST_ZONES, file);
	canon_findings_init(findings);
	canon_zone_t *zone = NULL;
	assert_int_equal(canon_zone_load(origin, path, findings, &zone), 0);
	return zone;
}

/* The finding of 'rule' at 'line', or NULL. */
static const canon_finding_t *find(const canon_findings_t *findings, const char *rule,
                                   uint32_t line)
{
	for (size_t i = 0; i < findings->count; i++) {
		const canon_finding_t *f = &findings->items[i];
		if (strcmp(f->rule->id, rule) == 0 && f->line == line) {
			return f;
		}
	}
	return NULL;
}

static void test_bad_zone_findings(void **state)
{
	(void)state;
	canon_findings_t findings;
	canon_zone_t *zone = load("bad.test.", "bad-cname-other.zone", &findings);
	/* Each rule at the line the operator must edit. */
	assert_non_null(find(&findings, "cname-and-other-data", 7));
	assert_non_null(find(&findings, "multiple-cnames", 9));
	assert_non_null(find(&findings, "data-below-dname", 11));
	assert_non_null(find(&findings, "mx-to-cname", 12));
	const canon_finding_t *f = find(&findings, "cname-and-other-data", 7);
	assert_non_null(strstr(f->message, "RFC 1034 §3.6.2"));
	assert_non_null(f->hint);
	assert_true(canon_findings_block_load(&findings));
	assert_int_equal(canon_findings_count(&findings, CANON_SEVERITY_ERROR), 4);
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

static void test_serving_refuses_bad_zone(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/unit/bad-cname-other.zone", CANON_TEST_ZONES);
	canon_zone_t *zone = NULL;
	char why[512] = "";
	assert_int_equal(canon_zone_load_for_serving("bad.test.", path, CANON_FLATTEN_NONE, &zone,
	                                             why, sizeof(why)),
	                 -EINVAL);
	assert_null(zone);
	/* The reason names the place and the rule that stopped the load. */
	assert_non_null(strstr(why, "bad-cname-other.zone:"));
	assert_non_null(strstr(why, "[cname-and-other-data]"));
}

static void test_every_syntax_error_reported(void **state)
{
	(void)state;
	canon_findings_t findings;
	canon_zone_t *zone = load("syntax.test.", "syntax.zone", &findings);
	assert_non_null(find(&findings, "syntax", 6));
	assert_non_null(find(&findings, "syntax", 7));
	/* Parsing went on: the record after the errors is there. */
	assert_int_equal(zone->record_count, 4);
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

static void test_generate_and_chains(void **state)
{
	(void)state;
	canon_findings_t findings;
	canon_zone_t *zone = load("chain.test.", "chain.test.zone", &findings);
	/* $GENERATE 1-20 made 20 CNAMEs; plus SOA, NS, ns A and c21 A. */
	assert_int_equal(zone->record_count, 24);
	assert_false(canon_findings_block_load(&findings));
	/*
	 * c1 -> ... -> c21 is 20 links, past CANON_CHAIN_MAX (lib/alias.h): flagged,
	 * with no fix since the walk stops at the limit. c5 -> ... -> c21 is exactly
	 * CANON_CHAIN_MAX links: pointed straight at c21.
	 */
	const canon_finding_t *f = find(&findings, "cname-chain", 6);
	assert_non_null(f);
	assert_string_equal(f->owner, "c1.chain.test.");
	assert_non_null(strstr(f->message, "more than 16 hops"));
	assert_null(f->fix_target);
	size_t to_c21 = 0;
	for (size_t i = 0; i < findings.count; i++) {
		const canon_finding_t *g = &findings.items[i];
		if (g->fix_target != NULL && strcmp(g->fix_target, "c21.chain.test.") == 0) {
			assert_non_null(strstr(g->hint, "c21.chain.test."));
			to_c21++;
		}
	}
	/* c5 .. c19 start chains of 16 down to 2 links; c20 is a single hop. */
	assert_int_equal(to_c21, 15);
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

static void test_loops_reported_once(void **state)
{
	(void)state;
	canon_findings_t findings;
	canon_zone_t *zone = load("alias.test.", "alias.test.zone", &findings);
	size_t loops = 0;
	for (size_t i = 0; i < findings.count; i++) {
		loops += strcmp(findings.items[i].rule->id, "cname-loop") == 0;
	}
	assert_int_equal(loops, 2); /* loop1 <-> loop2, and self */
	assert_false(canon_findings_block_load(&findings));
	canon_findings_free(&findings);
	canon_zone_free(zone);
}

static void test_missing_file(void **state)
{
	(void)state;
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *zone = NULL;
	assert_int_equal(canon_zone_load("x.test.", "/nonexistent/x.zone", &findings, &zone),
	                 -ENOENT);
	assert_int_equal(findings.count, 1);
	assert_string_equal(findings.items[0].rule->id, "unreadable");
	canon_findings_free(&findings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_zone_findings),
	        cmocka_unit_test(test_serving_refuses_bad_zone),
	        cmocka_unit_test(test_every_syntax_error_reported),
	        cmocka_unit_test(test_generate_and_chains),
	        cmocka_unit_test(test_loops_reported_once),
	        cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
