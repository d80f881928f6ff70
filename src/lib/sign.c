/*
 * Online DNSSEC signing over libdnssec: the key file, the apex key RRsets and
 * RRSIG RDATA. The signing itself (ECDSA, digests) is libdnssec's.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdnssec/binary.h>
#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keystore.h>
#include <libdnssec/sign.h>
#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/wire.h>

#include "lib/sign.h"

void canon_sign_key_path(const char *dir, const char *origin, char *out, size_t size)
{
	/* "example.test." -> DIR/keys/example.test.pem; the root zone -> DIR/keys/root.pem */
	snprintf(out, size, "%s/keys/%spem", dir, strcmp(origin, ".") == 0 ? "root." : origin);
}

/* Read a whole (small) file; 0 or -errno. */
static int read_file(const char *path, dnssec_binary_t *out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return -errno;
	}
	uint8_t buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == 0 || n == sizeof(buf) || dnssec_binary_alloc(out, n) != DNSSEC_EOK) {
		return -EINVAL;
	}
	memcpy(out->data, buf, n);
	return 0;
}

/*
 * A new key in the PKCS#8 keystore at DIR/keys (libdnssec writes KEYID.pem),
 * renamed to the zone's file, readable by its owner only.
 */
static int make_key_file(const char *dir, const char *path, char *error, size_t error_size)
{
	char keys[4096];
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	/* The state directory may be new too (a first start). */
	if ((mkdir(dir, 0750) != 0 && errno != EEXIST) ||
	    (mkdir(keys, 0700) != 0 && errno != EEXIST)) {
		snprintf(error, error_size, "cannot create %s: %s", keys, strerror(errno));
		return -errno;
	}
	dnssec_keystore_t *store = NULL;
	char *id = NULL;
	int ret = dnssec_keystore_init_pkcs8(&store);
	if (ret == DNSSEC_EOK) {
		ret = dnssec_keystore_init(store, keys);
	}
	if (ret == DNSSEC_EOK) {
		ret = dnssec_keystore_open(store, keys);
	}
	if (ret == DNSSEC_EOK) {
		ret = dnssec_keystore_generate(store, DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, 256,
		                               NULL, &id);
	}
	if (store != NULL) {
		dnssec_keystore_close(store);
		dnssec_keystore_deinit(store);
	}
	if (ret != DNSSEC_EOK) {
		snprintf(error, error_size, "cannot make a key in %s: %s", keys,
		         dnssec_strerror(ret));
		free(id);
		return -EIO;
	}
	char made[4096 + 128];
	snprintf(made, sizeof(made), "%s/%s.pem", keys, id);
	free(id);
	if (chmod(made, 0600) != 0 || rename(made, path) != 0) {
		snprintf(error, error_size, "cannot move the new key %s to %s: %s", made, path,
		         strerror(errno));
		return -errno;
	}
	return 0;
}

/* An RRset of one record at the apex, the data copied (freed with the key). */
static int apex_rrset(knot_rrset_t *rr, const knot_dname_t *apex, uint16_t type,
                      const dnssec_binary_t *data)
{
	knot_rrset_init(rr, (knot_dname_t *)apex, type, KNOT_CLASS_IN, CANON_SIGN_KEY_TTL);
	return knot_rrset_add_rdata(rr, data->data, (uint16_t)data->size, NULL) == KNOT_EOK
	               ? 0
	               : -ENOMEM;
}

/* The DNSKEY, CDS and CDNSKEY RRsets of the key (RFC 4034 §2, RFC 7344 §3). */
static int key_rrsets(canon_sign_key_t *k)
{
	dnssec_binary_t rdata = {0}, ds = {0};
	int ret = dnssec_key_get_rdata(k->key, &rdata) == DNSSEC_EOK &&
	                          dnssec_key_create_ds(k->key, DNSSEC_KEY_DIGEST_SHA256, &ds) ==
	                                  DNSSEC_EOK
	                  ? 0
	                  : -EIO;
	if (ret == 0) {
		ret = apex_rrset(&k->dnskey, k->apex, KNOT_RRTYPE_DNSKEY, &rdata);
	}
	if (ret == 0) {
		ret = apex_rrset(&k->cdnskey, k->apex, KNOT_RRTYPE_CDNSKEY, &rdata);
	}
	if (ret == 0) {
		ret = apex_rrset(&k->cds, k->apex, KNOT_RRTYPE_CDS, &ds);
	}
	dnssec_binary_free(&ds); /* rdata points into the key: not ours. */
	return ret;
}

static int load_key(canon_sign_key_t *k, const char *origin, const char *path, char *error,
                    size_t error_size)
{
	dnssec_binary_t pem = {0};
	int ret = read_file(path, &pem);
	if (ret != 0) {
		snprintf(error, error_size, "cannot read the key file %s: %s", path,
		         ret == -EINVAL ? "empty or too big" : strerror(-ret));
		return ret;
	}
	k->apex = knot_dname_from_str_alloc(origin);
	if (k->apex == NULL || dnssec_key_new(&k->key) != DNSSEC_EOK) {
		dnssec_binary_free(&pem);
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	knot_dname_to_lower(k->apex);
	dnssec_key_set_dname(k->key, k->apex);
	dnssec_key_set_flags(k->key, 257); /* Zone Key + SEP: one key signs all (a CSK). */
	dnssec_key_set_algorithm(k->key, CANON_SIGN_ALGORITHM);
	ret = dnssec_key_load_pkcs8(k->key, &pem);
	dnssec_binary_free(&pem);
	if (ret != DNSSEC_EOK || !dnssec_key_can_sign(k->key)) {
		snprintf(error, error_size, "%s is not an ECDSA P-256 private key in PEM (%s)",
		         path, dnssec_strerror(ret));
		return -EINVAL;
	}
	k->keytag = dnssec_key_get_keytag(k->key);
	if (key_rrsets(k) != 0) {
		snprintf(error, error_size, "cannot make the DNSKEY of %s", path);
		return -ENOMEM;
	}
	return 0;
}

int canon_sign_key_open(const char *dir, const char *origin, canon_sign_key_t **key, char *error,
                        size_t error_size)
{
	dnssec_crypto_init();
	char path[4096];
	canon_sign_key_path(dir, origin, path, sizeof(path));
	if (access(path, F_OK) != 0) {
		int ret = make_key_file(dir, path, error, error_size);
		if (ret != 0) {
			return ret;
		}
	}
	canon_sign_key_t *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	int ret = load_key(k, origin, path, error, error_size);
	if (ret != 0) {
		canon_sign_key_free(k);
		return ret;
	}
	*key = k;
	return 0;
}

void canon_sign_key_free(canon_sign_key_t *key)
{
	if (key == NULL) {
		return;
	}
	knot_rdataset_clear(&key->dnskey.rrs, NULL);
	knot_rdataset_clear(&key->cds.rrs, NULL);
	knot_rdataset_clear(&key->cdnskey.rrs, NULL);
	dnssec_key_free(key->key);
	free(key->apex);
	free(key);
}

/* RFC 4034 §3.1: the RRSIG RDATA up to the signer name; returns its length. */
static size_t rrsig_head(const canon_sign_key_t *key, uint16_t type,
                         const canon_sign_params_t *params, uint8_t *out)
{
	knot_wire_write_u16(out, type);
	out[2] = CANON_SIGN_ALGORITHM;
	out[3] = params->labels;
	knot_wire_write_u32(out + 4, params->original_ttl);
	knot_wire_write_u32(out + 8, params->expiration);
	knot_wire_write_u32(out + 12, params->inception);
	knot_wire_write_u16(out + 16, key->keytag);
	size_t signer = knot_dname_size(key->apex);
	memcpy(out + 18, key->apex, signer);
	return 18 + signer;
}

static int cmp_rdata(const void *a, const void *b)
{
	return knot_rdata_cmp(*(knot_rdata_t *const *)a, *(knot_rdata_t *const *)b);
}

/*
 * RFC 4034 §6.2 and §6.3: each record's RDATA with its names lower-cased (for
 * the types §6.2 lists, as libknot knows them), sorted; in 'copy'.
 */
static void canonical_records(const knot_rrset_t *rr, uint8_t *copy, knot_rdata_t **sorted)
{
	memcpy(copy, rr->rrs.rdata, rr->rrs.size);
	knot_rdata_t *rd = (knot_rdata_t *)copy;
	for (uint16_t i = 0; i < rr->rrs.count; i++, rd = knot_rdataset_next(rd)) {
		uint8_t owner[KNOT_DNAME_MAXLEN];
		knot_dname_to_wire(owner, rr->owner, sizeof(owner));
		knot_rrset_t one;
		knot_rrset_init(&one, owner, rr->type, rr->rclass, rr->ttl);
		one.rrs.count = 1;
		one.rrs.size = (uint32_t)knot_rdata_size(rd->len);
		one.rrs.rdata = rd;
		knot_rrset_rr_to_canonical(&one);
		sorted[i] = rd;
	}
	qsort(sorted, rr->rrs.count, sizeof(*sorted), cmp_rdata);
}

/* The signed data (RFC 4034 §3.1.8.1) fed to libdnssec: head, then each record. */
static int sign_data(dnssec_sign_ctx_t *ctx, const knot_rrset_t *rr,
                     const canon_sign_params_t *params, uint8_t *head, size_t head_len,
                     knot_rdata_t **sorted)
{
	dnssec_binary_t bin = {.size = head_len, .data = head};
	if (dnssec_sign_add(ctx, &bin) != DNSSEC_EOK) {
		return -EIO;
	}
	uint8_t prefix[KNOT_DNAME_MAXLEN + 10];
	size_t owner = knot_dname_size(params->owner);
	knot_dname_copy_lower(prefix, params->owner);
	knot_wire_write_u16(prefix + owner, rr->type);
	knot_wire_write_u16(prefix + owner + 2, rr->rclass);
	knot_wire_write_u32(prefix + owner + 4, params->original_ttl);
	for (uint16_t i = 0; i < rr->rrs.count; i++) {
		knot_wire_write_u16(prefix + owner + 8, sorted[i]->len);
		dnssec_binary_t p = {.size = owner + 10, .data = prefix};
		dnssec_binary_t d = {.size = sorted[i]->len, .data = sorted[i]->data};
		if (dnssec_sign_add(ctx, &p) != DNSSEC_EOK ||
		    (d.size > 0 && dnssec_sign_add(ctx, &d) != DNSSEC_EOK)) {
			return -EIO;
		}
	}
	return 0;
}

int canon_sign_rrset(const canon_sign_key_t *key, const knot_rrset_t *rr,
                     const canon_sign_params_t *params, uint8_t *scratch, size_t scratch_size,
                     uint8_t *out, size_t *len)
{
	if (rr->rrs.count > CANON_SIGN_RRSET_MAX || rr->rrs.size > scratch_size) {
		return -E2BIG;
	}
	knot_rdata_t *sorted[CANON_SIGN_RRSET_MAX];
	canonical_records(rr, scratch, sorted);
	size_t head = rrsig_head(key, rr->type, params, out);
	dnssec_sign_ctx_t *ctx = NULL;
	dnssec_binary_t sig = {0};
	int ret = dnssec_sign_new(&ctx, key->key) == DNSSEC_EOK ? 0 : -EIO;
	if (ret == 0) {
		ret = sign_data(ctx, rr, params, out, head, sorted);
	}
	if (ret == 0 && dnssec_sign_write(ctx, DNSSEC_SIGN_NORMAL, &sig) != DNSSEC_EOK) {
		ret = -EIO;
	}
	if (ret == 0 && head + sig.size > CANON_SIGN_RDATA_MAX) {
		ret = -EIO;
	}
	if (ret == 0) {
		memcpy(out + head, sig.data, sig.size);
		*len = head + sig.size;
	}
	dnssec_binary_free(&sig);
	dnssec_sign_free(ctx);
	return ret;
}
