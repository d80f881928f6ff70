/*
 * Unit tests of the API's change rules (serve/update.c canon_update_rrsets)
 * and records in presentation format (lib/rrtext.c): a PATCH that breaks an
 * alias rule is refused whole, naming the rule, the record and the RFC; one
 * that turns an A into a CNAME in one go is applied; the serial grows.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libknot/descriptor.h>

#include "lib/rrtext.h"
#include "lib/zone_load.h"
#include "zone_text.h"
#include "serve/update.h"

static const char ZONE[] = "$ORIGIN api.test.\n$TTL 300\n"
                           "@ SOA ns hostmaster 7 3600 600 86400 60\n"
                           "@ NS ns\n"
                           "ns A 192.0.2.53\n"
                           "www A 192.0.2.1\n"
                           "blog CNAME www\n";

static canon_zone_t *load(void)
{
	return canon_test_zone("api.test.", ZONE);
}

/* A REPLACE of owner/type with one record given as text. */
static void replace(canon_rrset_change_t *c, const char *owner, const char *type, const char *data)
{
	memset(c, 0, sizeof(*c));
	c->op = CANON_RRSET_REPLACE;
	uint16_t t = 0;
	assert_int_equal(canon_rrtype_parse(type, &t), 0);
	knot_rrset_init(&c->rrset, knot_dname_from_str_alloc(owner), t, KNOT_CLASS_IN, 300);
	uint8_t rdata[65535];
	uint16_t len = 0;
	char error[256];
	assert_int_equal(canon_rdata_parse("api.test.", t, data, rdata, &len, error, sizeof(error)),
	                 0);
	assert_int_equal(knot_rrset_add_rdata(&c->rrset, rdata, len, NULL), 0);
}

static void change_free(canon_rrset_change_t *c)
{
	knot_rrset_clear(&c->rrset, NULL);
}

static void test_txt_at_a_cname_is_refused_whole(void **state)
{
	(void)state;
	canon_zone_t *zone = load();
	canon_rrset_change_t c[2];
	replace(&c[0], "new.api.test.", "A", "192.0.2.9");
	replace(&c[1], "blog.api.test.", "TXT", "\"hello\"");
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	canon_update_refusal_t refusal;
	assert_int_equal(canon_update_rrsets(zone, c, 2, "test", &ch, &refusal), -EINVAL);
	assert_non_null(refusal.rule);
	assert_string_equal(refusal.rule->id, "cname-and-other-data");
	assert_non_null(strstr(refusal.message, "blog.api.test."));
	assert_non_null(strstr(refusal.message, "RFC"));
	canon_changeset_clear(&ch);
	change_free(&c[0]);
	change_free(&c[1]);
	canon_zone_free(zone);
}

static void test_a_becomes_a_cname_in_one_patch(void **state)
{
	(void)state;
	canon_zone_t *zone = load();
	canon_rrset_change_t c[2];
	replace(&c[0], "www.api.test.", "CNAME", "ns");
	memset(&c[1], 0, sizeof(c[1]));
	c[1].op = CANON_RRSET_DELETE;
	knot_rrset_init(&c[1].rrset, knot_dname_from_str_alloc("www.api.test."), KNOT_RRTYPE_A,
	                KNOT_CLASS_IN, 0);
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	canon_update_refusal_t refusal;
	assert_int_equal(canon_update_rrsets(zone, c, 2, "test", &ch, &refusal), 0);
	assert_int_equal(ch.serial_from, 7);
	assert_int_equal(ch.serial_to, 8);
	assert_int_equal(ch.removed.records, 2); /* SOA, www A */
	assert_int_equal(ch.added.records, 2);   /* SOA, www CNAME */
	canon_zone_t *next = NULL;
	assert_int_equal(canon_changeset_apply(zone, &ch, &next), 0);
	knot_dname_t *www = knot_dname_from_str_alloc("www.api.test.");
	const canon_node_t *node = canon_zone_get_name(next, www);
	assert_non_null(canon_node_rrset(node, KNOT_RRTYPE_CNAME));
	assert_null(canon_node_rrset(node, KNOT_RRTYPE_A));
	knot_dname_free(www, NULL);
	canon_zone_free(next);
	canon_changeset_clear(&ch);
	change_free(&c[0]);
	change_free(&c[1]);
	canon_zone_free(zone);
}

static void test_two_cnames_are_refused(void **state)
{
	(void)state;
	canon_zone_t *zone = load();
	canon_rrset_change_t c;
	replace(&c, "two.api.test.", "CNAME", "www");
	uint8_t rdata[KNOT_DNAME_MAXLEN];
	uint16_t len = 0;
	char error[256];
	assert_int_equal(canon_rdata_parse("api.test.", KNOT_RRTYPE_CNAME, "ns", rdata, &len, error,
	                                   sizeof(error)),
	                 0);
	assert_int_equal(knot_rrset_add_rdata(&c.rrset, rdata, len, NULL), 0);
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	canon_update_refusal_t refusal;
	assert_int_equal(canon_update_rrsets(zone, &c, 1, "test", &ch, &refusal), -EINVAL);
	assert_string_equal(refusal.rule->id, "multiple-cnames");
	canon_changeset_clear(&ch);
	change_free(&c);
	canon_zone_free(zone);
}

static void test_nothing_changes_nothing(void **state)
{
	(void)state;
	canon_zone_t *zone = load();
	canon_rrset_change_t c;
	replace(&c, "www.api.test.", "A", "192.0.2.1");
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	canon_update_refusal_t refusal;
	assert_int_equal(canon_update_rrsets(zone, &c, 1, "test", &ch, &refusal), 0);
	assert_int_equal(ch.added.count, 0); /* Same data, same TTL: no new version. */
	canon_changeset_clear(&ch);
	change_free(&c);
	canon_zone_free(zone);
}

static void test_rdata_text_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *type, *in, *out;
	} cases[] = {
	        {"A", "192.0.2.1", "192.0.2.1"},
	        {"MX", "10 mail", "10 mail.api.test."},
	        {"TXT", "\"v=DKIM1; k=rsa\"", "\"v=DKIM1; k=rsa\""},
	        {"CNAME", "target.example.", "target.example."},
	        {"ALIAS", "cdn.example.net.", "cdn.example.net."},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t type = 0, len = 0;
		uint8_t buf[65535 + sizeof(knot_rdata_t)];
		knot_rdata_t *rd = (knot_rdata_t *)buf;
		char error[256], text[512];
		assert_int_equal(canon_rrtype_parse(cases[i].type, &type), 0);
		assert_int_equal(canon_rdata_parse("api.test.", type, cases[i].in, rd->data, &len,
		                                   error, sizeof(error)),
		                 0);
		rd->len = len;
		assert_int_equal(canon_rdata_format(type, rd, text, sizeof(text)), 0);
		assert_string_equal(text, cases[i].out);
	}
	uint16_t type = 0, len = 0;
	uint8_t out[65535];
	char error[256];
	assert_int_equal(canon_rrtype_parse("A", &type), 0);
	assert_int_equal(canon_rdata_parse("api.test.", type, "192.0.2.999", out, &len, error,
	                                   sizeof(error)),
	                 -EINVAL);
	assert_non_null(strstr(error, "192.0.2.999"));
	assert_int_equal(canon_rdata_parse("api.test.", type, "192.0.2.1\nwww A 1.2.3.4", out, &len,
	                                   error, sizeof(error)),
	                 -EINVAL);
	assert_int_equal(canon_rrtype_parse("NOTATYPE", &type), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_txt_at_a_cname_is_refused_whole),
	        cmocka_unit_test(test_a_becomes_a_cname_in_one_patch),
	        cmocka_unit_test(test_two_cnames_are_refused),
	        cmocka_unit_test(test_nothing_changes_nothing),
	        cmocka_unit_test(test_rdata_text_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
