/*
 * Unit tests of online signing's library half (lib/sign.c): the key file made
 * once and read again, and RRSIGs that libdnssec verifies over signed data
 * written out here by hand (RFC 4034 §3.1.8.1, canonical form and order §6).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <libdnssec/binary.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/sign.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/rrset.h>

#include "lib/sign.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/canon-test-sign-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static canon_sign_key_t *open_key(void)
{
	canon_sign_key_t *key = NULL;
	char error[512] = "";
	assert_int_equal(canon_sign_key_open(dir, "example.test.", &key, error, sizeof(error)), 0);
	assert_non_null(key);
	return key;
}

static void test_key_made_once_and_kept(void **state)
{
	(void)state;
	canon_sign_key_t *first = open_key();
	char path[256];
	canon_sign_key_path(dir, "example.test.", path, sizeof(path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	canon_sign_key_t *again = open_key();
	assert_int_equal(first->keytag, again->keytag);
	assert_int_equal(first->dnskey.rrs.size, again->dnskey.rrs.size);
	assert_memory_equal(first->dnskey.rrs.rdata, again->dnskey.rrs.rdata,
	                    first->dnskey.rrs.size);
	/* DNSKEY: flags 257, protocol 3, algorithm 13, a 64-octet P-256 key. */
	const uint8_t *rd = first->dnskey.rrs.rdata->data;
	assert_int_equal(first->dnskey.rrs.rdata->len, 4 + 64);
	assert_int_equal(rd[0] << 8 | rd[1], 257);
	assert_int_equal(rd[2], 3);
	assert_int_equal(rd[3], CANON_SIGN_ALGORITHM);
	/* CDS: the key tag, algorithm 13, digest type 2 (SHA-256), 32 octets. */
	const uint8_t *ds = first->cds.rrs.rdata->data;
	assert_int_equal(first->cds.rrs.rdata->len, 4 + 32);
	assert_int_equal(ds[0] << 8 | ds[1], first->keytag);
	assert_int_equal(ds[2], 13);
	assert_int_equal(ds[3], 2);
	canon_sign_key_free(first);
	canon_sign_key_free(again);
}

static void test_bad_key_file_is_named(void **state)
{
	(void)state;
	char path[256];
	canon_sign_key_path(dir, "broken.test.", path, sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	canon_sign_key_t *key = NULL;
	char error[512] = "";
	assert_true(canon_sign_key_open(dir, "broken.test.", &key, error, sizeof(error)) < 0);
	assert_null(key);
	assert_non_null(strstr(error, path));
}

/* RFC 4034 §3.1.8.1 written out for an MX RRset of two records. */
static size_t signed_data(uint8_t *out, const uint8_t *rrsig, size_t head, uint32_t ttl)
{
	static const uint8_t owner[] = "\x02mx\x07"
	                               "example\x04test";
	/* Canonical: names lower-case, then records sorted by RDATA (§6.2, §6.3). */
	static const uint8_t rdata[2][15] = {
	        {0, 5, 3, 'a', 'a', 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0},
	        {0, 10, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0},
	};
	size_t len = 0;
	memcpy(out, rrsig, head);
	len += head;
	for (int i = 0; i < 2; i++) {
		memcpy(out + len, owner, sizeof(owner));
		len += sizeof(owner);
		uint8_t fixed[10] = {0, 15, 0, 1, ttl >> 24, ttl >> 16, ttl >> 8, ttl, 0, 15};
		memcpy(out + len, fixed, sizeof(fixed));
		len += sizeof(fixed);
		memcpy(out + len, rdata[i], sizeof(rdata[i]));
		len += sizeof(rdata[i]);
	}
	return len;
}

static void test_rrsig_verifies(void **state)
{
	(void)state;
	canon_sign_key_t *key = open_key();
	/* Added upper-case and out of order: the signer must canonicalize. */
	knot_dname_t *owner = knot_dname_from_str_alloc("MX.Example.Test.");
	knot_rrset_t rr;
	knot_rrset_init(&rr, owner, KNOT_RRTYPE_MX, KNOT_CLASS_IN, 300);
	uint8_t www[] = {0, 10, 3, 'W', 'W', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	uint8_t aaa[] = {0, 5, 3, 'a', 'a', 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	assert_int_equal(knot_rrset_add_rdata(&rr, www, sizeof(www), NULL), 0);
	assert_int_equal(knot_rrset_add_rdata(&rr, aaa, sizeof(aaa), NULL), 0);
	canon_sign_params_t params = {.owner = owner,
	                              .labels = 3,
	                              .original_ttl = 300,
	                              .inception = 1000,
	                              .expiration = 2000};
	uint8_t out[CANON_SIGN_RDATA_MAX];
	size_t len = 0;
	uint8_t scratch[256];
	assert_int_equal(canon_sign_rrset(key, &rr, &params, scratch, 16, out, &len), -E2BIG);
	assert_int_equal(canon_sign_rrset(key, &rr, &params, scratch, sizeof(scratch), out, &len),
	                 0);
	size_t head = 18 + knot_dname_size(key->apex);
	assert_int_equal(len, head + 64);
	assert_int_equal(out[0] << 8 | out[1], KNOT_RRTYPE_MX);
	assert_int_equal(out[3], 3);
	assert_int_equal(out[16] << 8 | out[17], key->keytag);

	uint8_t data[1024];
	size_t data_len = signed_data(data, out, head, 300);
	dnssec_sign_ctx_t *ctx = NULL;
	assert_int_equal(dnssec_sign_new(&ctx, key->key), DNSSEC_EOK);
	dnssec_binary_t bin = {.size = data_len, .data = data};
	dnssec_binary_t sig = {.size = 64, .data = out + head};
	assert_int_equal(dnssec_sign_add(ctx, &bin), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_verify(ctx, false, &sig), DNSSEC_EOK);
	/* One octet off in the data: the signature no longer verifies. */
	data[data_len - 1] ^= 1;
	assert_int_equal(dnssec_sign_init(ctx), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_add(ctx, &bin), DNSSEC_EOK);
	assert_int_equal(dnssec_sign_verify(ctx, false, &sig), DNSSEC_INVALID_SIGNATURE);
	dnssec_sign_free(ctx);
	knot_rdataset_clear(&rr.rrs, NULL);
	free(owner);
	canon_sign_key_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_made_once_and_kept),
	        cmocka_unit_test(test_bad_key_file_is_named),
	        cmocka_unit_test(test_rrsig_verifies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
