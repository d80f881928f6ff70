/*
 * TSIG (RFC 8945) over libknot's tsig-op: canon decides what to check and what to
 * answer; libknot computes and compares the MACs.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libdnssec/binary.h>
#include <libdnssec/error.h>
#include <libdnssec/tsig.h>
#include <libknot/errcode.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>
#include <libknot/wire.h>

#include "lib/tsig.h"

/* TSIG RDATA without the algorithm name and the MAC: Time Signed (6), Fudge, MAC
 * Size, Original ID, Error, Other Len (RFC 8945 §4.2). */
#define TSIG_FIXED_RDATA 16
/* TYPE, CLASS, TTL, RDLENGTH. */
#define RR_FIXED_HEADER 10

/* ---- Keys ---- */

static int key_fail(canon_tsig_key_t *key, const char **error, const char *message)
{
	canon_tsig_key_free(key);
	if (error != NULL) {
		*error = message;
	}
	return -EINVAL;
}

static int key_set_name(canon_tsig_key_t *key, const char *name)
{
	if (name == NULL || name[0] == '\0') {
		return -EINVAL;
	}
	key->key.name = knot_dname_from_str_alloc(name);
	if (key->key.name == NULL) {
		return -EINVAL;
	}
	knot_dname_to_lower(key->key.name);
	if (knot_dname_to_str(key->name, key->key.name, sizeof(key->name)) == NULL) {
		return -EINVAL;
	}
	return 0;
}

static int key_set_secret(canon_tsig_key_t *key, const char *secret)
{
	const dnssec_binary_t b64 = {.data = (uint8_t *)secret, .size = strlen(secret)};
	return dnssec_binary_from_base64(&b64, &key->key.secret) == DNSSEC_EOK ? 0 : -EINVAL;
}

int canon_tsig_key_parse(const char *name, const char *algorithm, const char *secret,
                         canon_tsig_key_t *key, const char **error)
{
	memset(key, 0, sizeof(*key));
	if (key_set_name(key, name) != 0) {
		return key_fail(key, error, "bad TSIG key name");
	}
	key->key.algorithm = dnssec_tsig_algorithm_from_name(algorithm);
	if (key->key.algorithm == DNSSEC_TSIG_UNKNOWN) {
		return key_fail(
		        key, error,
		        "unknown TSIG algorithm (expected hmac-md5, hmac-sha1, hmac-sha224, "
		        "hmac-sha256, hmac-sha384 or hmac-sha512)");
	}
	if (secret == NULL || secret[0] == '\0') {
		return key_fail(key, error, "empty TSIG secret");
	}
	if (key_set_secret(key, secret) != 0) {
		return key_fail(key, error, "TSIG secret is not valid base64");
	}
	if (key->key.secret.size == 0) {
		return key_fail(key, error, "empty TSIG secret");
	}
	return 0;
}

int canon_tsig_key_parse_arg(const char *text, canon_tsig_key_t *key, const char **error)
{
	memset(key, 0, sizeof(*key));
	char *copy = text != NULL ? strdup(text) : NULL;
	if (copy == NULL) {
		return key_fail(key, error, "missing TSIG key (expected NAME:ALGORITHM:SECRET)");
	}
	char *algorithm = strchr(copy, ':');
	char *secret = algorithm != NULL ? strchr(algorithm + 1, ':') : NULL;
	int ret;
	if (secret == NULL) {
		ret = key_fail(key, error, "TSIG key must be NAME:ALGORITHM:SECRET");
	} else {
		*algorithm++ = '\0';
		*secret++ = '\0';
		ret = canon_tsig_key_parse(copy, algorithm, secret, key, error);
	}
	/* The copy holds the secret; explicit_bzero survives dead-store elimination. */
	explicit_bzero(copy, strlen(text));
	free(copy);
	return ret;
}

void canon_tsig_key_free(canon_tsig_key_t *key)
{
	if (key == NULL) {
		return;
	}
	knot_tsig_key_deinit(&key->key);
	memset(key, 0, sizeof(*key));
}

/* ---- Keyring ---- */

int canon_tsig_keyring_add(canon_tsig_keyring_t *ring, canon_tsig_key_t *key)
{
	if (canon_tsig_keyring_find(ring, key->key.name) != NULL) {
		return -EEXIST;
	}
	canon_tsig_key_t *keys = realloc(ring->keys, (ring->count + 1) * sizeof(*keys));
	if (keys == NULL) {
		return -ENOMEM;
	}
	ring->keys = keys;
	ring->keys[ring->count++] = *key;
	memset(key, 0, sizeof(*key));
	return 0;
}

const canon_tsig_key_t *canon_tsig_keyring_find(const canon_tsig_keyring_t *ring,
                                                const knot_dname_t *name)
{
	if (ring == NULL || name == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < ring->count; i++) {
		if (knot_dname_is_case_equal(ring->keys[i].key.name, name)) {
			return &ring->keys[i];
		}
	}
	return NULL;
}

const canon_tsig_key_t *canon_tsig_keyring_find_str(const canon_tsig_keyring_t *ring,
                                                    const char *text)
{
	knot_dname_storage_t name;
	if (text == NULL || knot_dname_from_str(name, text, sizeof(name)) == NULL) {
		return NULL;
	}
	return canon_tsig_keyring_find(ring, name);
}

void canon_tsig_keyring_free(canon_tsig_keyring_t *ring)
{
	if (ring == NULL) {
		return;
	}
	for (size_t i = 0; i < ring->count; i++) {
		canon_tsig_key_free(&ring->keys[i]);
	}
	free(ring->keys);
	ring->keys = NULL;
	ring->count = 0;
}

/* ---- Server side ---- */

/* libknot computes the free room as max - *len: refuse what would wrap. */
static bool wire_ok(const uint8_t *wire, const size_t *len, size_t max)
{
	return wire != NULL && len != NULL && *len >= KNOT_WIRE_HEADER_SIZE && *len <= max;
}

/* RFC 8945 §5.2: only one TSIG, and it is the last record of the message. */
static bool tsig_is_last(const knot_pkt_t *request)
{
	const knot_pktsection_t *additional = knot_pkt_section(request, KNOT_ADDITIONAL);
	if (additional->count == 0) {
		return false;
	}
	const knot_rrset_t *last = knot_pkt_rr(additional, additional->count - 1);
	return last->type == KNOT_RRTYPE_TSIG && last->rrs.rdata == request->tsig_rr->rrs.rdata;
}

/* Copy a name into the session (the root name if there is none). */
static void name_store(knot_dname_storage_t dst, const knot_dname_t *name)
{
	if (name == NULL || knot_dname_store(dst, name) == 0) {
		dst[0] = '\0';
	}
}

/* Keep what the answer needs from the request's TSIG, which may not outlive it. */
static void remember_request(canon_tsig_session_t *session, const knot_rrset_t *tsig)
{
	name_store(session->key_name, tsig->owner);
	knot_dname_to_lower(session->key_name);
	name_store(session->algorithm, knot_tsig_rdata_alg_name(tsig));
	session->request_time = knot_tsig_rdata_time_signed(tsig);
	size_t mac_len = knot_tsig_rdata_mac_length(tsig);
	/* A longer MAC is no algorithm's: libknot answers BADSIG, which needs no MAC. */
	if (mac_len <= sizeof(session->mac)) {
		memcpy(session->mac, knot_tsig_rdata_mac(tsig), mac_len);
		session->mac_len = mac_len;
	}
}

/* Map libknot's check result to the answer's RCODE and TSIG error. */
static uint8_t check_result(canon_tsig_session_t *session, int ret)
{
	switch (ret) {
	case KNOT_EOK:
		return KNOT_RCODE_NOERROR;
	case KNOT_TSIG_EBADKEY:
		session->key = NULL;
		session->error = KNOT_RCODE_BADKEY;
		return KNOT_RCODE_NOTAUTH;
	case KNOT_TSIG_EBADSIG:
		session->error = KNOT_RCODE_BADSIG;
		return KNOT_RCODE_NOTAUTH;
	case KNOT_TSIG_EBADTIME:
		/* RFC 8945 §5.2.3: libknot checks the time only after the MAC, so the
		 * request is authentic and the BADTIME answer is signed. */
		session->error = KNOT_RCODE_BADTIME;
		return KNOT_RCODE_NOTAUTH;
	case KNOT_EMALF:
		session->key = NULL;
		return KNOT_RCODE_FORMERR;
	default:
		session->key = NULL;
		return KNOT_RCODE_SERVFAIL;
	}
}

uint8_t canon_tsig_verify(const canon_tsig_keyring_t *ring, const knot_pkt_t *request,
                          canon_tsig_session_t *session)
{
	memset(session, 0, sizeof(*session));
	const knot_rrset_t *tsig = request->tsig_rr;
	if (tsig == NULL) {
		return KNOT_RCODE_NOERROR;
	}
	session->signed_request = true;
	if (!tsig_is_last(request)) {
		return KNOT_RCODE_FORMERR;
	}
	if (request->tsig_wire.pos == NULL) {
		/* Parsed with KNOT_PF_KEEPWIRE: the wire still holds the TSIG. */
		return KNOT_RCODE_SERVFAIL;
	}
	remember_request(session, tsig);

	/* RFC 8945 §5.2.1: a key we do not hold, or held for another algorithm, is
	 * BADKEY (libknot compares only the name). */
	const canon_tsig_key_t *key = canon_tsig_keyring_find(ring, tsig->owner);
	if (key == NULL || knot_tsig_rdata_alg(tsig) != key->key.algorithm) {
		session->error = KNOT_RCODE_BADKEY;
		return KNOT_RCODE_NOTAUTH;
	}
	session->key = key;
	/* knot_pkt_parse left the message as it was before the TSIG was added (RFC
	 * 8945 §4.3.2: ARCOUNT without it, original ID restored by libknot). */
	int ret = knot_tsig_server_check(tsig, request->wire, request->size, &key->key);
	return check_result(session, ret);
}

/* The answer carries a TSIG record: a verified request or a TSIG error. */
static bool answer_has_tsig(const canon_tsig_session_t *session)
{
	if (!session->signed_request) {
		return false;
	}
	if (session->error != 0) {
		return true;
	}
	return session->key != NULL;
}

/* Size of the unsigned error TSIG (empty MAC, no Other Data). */
static size_t error_tsig_size(const canon_tsig_session_t *session)
{
	return knot_dname_size(session->key_name) + RR_FIXED_HEADER +
	       knot_dname_size(session->algorithm) + TSIG_FIXED_RDATA;
}

size_t canon_tsig_reserve(const canon_tsig_session_t *session)
{
	if (!answer_has_tsig(session)) {
		return 0;
	}
	if (session->key != NULL && knot_tsig_can_sign(session->error)) {
		/* The maximum counts BADTIME's Other Data. */
		return knot_tsig_wire_maxsize(&session->key->key);
	}
	return error_tsig_size(session);
}

/* RFC 8945 §5.3.2: BADKEY and BADSIG answers carry an unsigned TSIG (MAC Size 0)
 * naming the request's key and algorithm, so the client sees the error. */
static int append_error(canon_tsig_session_t *session, uint8_t *wire, size_t *len, size_t max)
{
	knot_rrset_t tsig;
	knot_rrset_init(&tsig, session->key_name, KNOT_RRTYPE_TSIG, KNOT_CLASS_ANY, 0);
	int ret = knot_tsig_create_rdata(&tsig, session->algorithm, 0, session->error);
	if (ret != KNOT_EOK) {
		return ret;
	}
	knot_tsig_rdata_set_time_signed(&tsig, session->request_time);
	knot_tsig_rdata_set_fudge(&tsig, CANON_TSIG_FUDGE);
	knot_tsig_rdata_set_orig_id(&tsig, knot_wire_get_id(wire));
	knot_tsig_rdata_set_other_data(&tsig, 0, NULL);
	ret = knot_tsig_append(wire, len, max, &tsig);
	knot_rdataset_clear(&tsig.rrs, NULL);
	return ret;
}

int canon_tsig_sign(canon_tsig_session_t *session, uint8_t *wire, size_t *len, size_t max)
{
	if (!answer_has_tsig(session)) {
		return KNOT_EOK;
	}
	if (session->first_signed || !wire_ok(wire, len, max)) {
		return KNOT_EINVAL;
	}
	if (session->key == NULL || !knot_tsig_can_sign(session->error)) {
		session->first_signed = true;
		return append_error(session, wire, len, max);
	}
	/* RFC 8945 §5.3: the answer's MAC covers the request MAC; for BADTIME libknot
	 * puts the request's Time Signed and the server's time in Other Data (§5.2.3). */
	size_t mac_len = sizeof(session->mac);
	int ret =
	        knot_tsig_sign(wire, len, max, session->mac, session->mac_len, session->mac,
	                       &mac_len, &session->key->key, session->error, session->request_time);
	if (ret != KNOT_EOK) {
		return ret;
	}
	session->mac_len = mac_len;
	session->first_signed = true;
	return KNOT_EOK;
}

int canon_tsig_sign_next(canon_tsig_session_t *session, uint8_t *wire, size_t *len, size_t max)
{
	if (!answer_has_tsig(session) || session->key == NULL || session->error != 0) {
		return KNOT_EOK;
	}
	if (!session->first_signed || !wire_ok(wire, len, max)) {
		return KNOT_EINVAL;
	}
	/* RFC 8945 §5.3.1: each message's MAC covers the previous MAC, the message and
	 * the timers only. canon signs every message (no unsigned ones in between). */
	size_t mac_len = sizeof(session->mac);
	int ret = knot_tsig_sign_next(wire, len, max, session->mac, session->mac_len, session->mac,
	                              &mac_len, &session->key->key, wire, *len);
	if (ret != KNOT_EOK) {
		return ret;
	}
	session->mac_len = mac_len;
	return KNOT_EOK;
}

/* ---- Client side ---- */

int canon_tsig_sign_request(canon_tsig_session_t *session, const canon_tsig_key_t *key,
                            uint8_t *wire, size_t *len, size_t max)
{
	memset(session, 0, sizeof(*session));
	if (key == NULL || key->key.name == NULL || !wire_ok(wire, len, max)) {
		return KNOT_EINVAL;
	}
	/* RFC 8945 §5.1: a request's MAC covers no previous MAC. */
	size_t mac_len = sizeof(session->mac);
	int ret = knot_tsig_sign(wire, len, max, NULL, 0, session->mac, &mac_len, &key->key,
	                         KNOT_RCODE_NOERROR, 0);
	if (ret != KNOT_EOK) {
		return ret;
	}
	session->key = key;
	session->mac_len = mac_len;
	session->signed_request = true;
	session->first_signed = true;
	name_store(session->key_name, key->key.name);
	name_store(session->algorithm, dnssec_tsig_algorithm_to_dname(key->key.algorithm));
	return KNOT_EOK;
}

static int tsig_error_code(uint16_t error)
{
	switch (error) {
	case KNOT_RCODE_BADKEY:
		return KNOT_TSIG_EBADKEY;
	case KNOT_RCODE_BADTIME:
		return KNOT_TSIG_EBADTIME;
	default:
		return KNOT_TSIG_EBADSIG;
	}
}

/* Check the parsed reply's TSIG against the request MAC (RFC 8945 §5.4). */
static int check_parsed_reply(canon_tsig_session_t *session, const knot_pkt_t *reply)
{
	const knot_rrset_t *tsig = reply->tsig_rr;
	if (tsig == NULL) {
		/* RFC 8945 §5.4: the answer to a signed request must be signed. */
		return KNOT_TSIG_EBADSIG;
	}
	session->error = knot_tsig_rdata_error(tsig);
	/* RFC 8945 §5.3.2: BADKEY and BADSIG come unsigned; nothing to check. */
	if (session->error != 0 && knot_tsig_rdata_mac_length(tsig) == 0) {
		return tsig_error_code(session->error);
	}
	int ret = knot_tsig_client_check(tsig, reply->wire, reply->size, session->mac,
	                                 session->mac_len, &session->key->key, 0);
	if (ret != KNOT_EOK) {
		return ret;
	}
	if (session->error != 0) {
		/* Authentic, but the server refused (a signed BADTIME). */
		return tsig_error_code(session->error);
	}
	size_t mac_len = knot_tsig_rdata_mac_length(tsig);
	memcpy(session->mac, knot_tsig_rdata_mac(tsig), mac_len);
	session->mac_len = mac_len;
	return KNOT_EOK;
}

int canon_tsig_check_reply(canon_tsig_session_t *session, const uint8_t *wire, size_t len)
{
	if (session->key == NULL || wire == NULL || len > UINT16_MAX) {
		return KNOT_EINVAL;
	}
	/* knot_pkt_parse strips the TSIG from the wire it parses: work on a copy. */
	uint8_t *copy = malloc(len);
	if (copy == NULL) {
		return KNOT_ENOMEM;
	}
	memcpy(copy, wire, len);
	knot_pkt_t *reply = knot_pkt_new(copy, (uint16_t)len, NULL);
	int ret = KNOT_ENOMEM;
	if (reply != NULL) {
		ret = knot_pkt_parse(reply, 0);
		ret = ret == KNOT_EOK ? check_parsed_reply(session, reply) : KNOT_EMALF;
		knot_pkt_free(reply);
	}
	free(copy);
	return ret;
}
