/*
 * Unit tests of the TSIG layer (lib/tsig.c), with libknot's tsig-op as the other
 * side: libknot signs what canon verifies and checks what canon signs.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <libknot/descriptor.h>
#include <libknot/errcode.h>
#include <libknot/rrtype/tsig.h>
#include <libknot/tsig-op.h>
#include <libknot/wire.h>

#include "lib/tsig.h"

#define BUF          4096
#define SECRET       "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ1Ng=="
#define OTHER_SECRET "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItOTg3Ng=="

typedef struct {
	uint8_t wire[BUF];
	size_t len;
} msg_t;

static void key_make(canon_tsig_key_t *key, const char *name, const char *alg, const char *secret)
{
	const char *error = NULL;
	assert_int_equal(canon_tsig_key_parse(name, alg, secret, key, &error), 0);
	assert_null(error);
}

static void ring_with(canon_tsig_keyring_t *ring, const char *name, const char *alg)
{
	canon_tsig_key_t key;
	memset(ring, 0, sizeof(*ring));
	key_make(&key, name, alg, SECRET);
	assert_int_equal(canon_tsig_keyring_add(ring, &key), 0);
}

/* A query (or, with 'qr', an answer carrying one A record) for www.example. */
static void msg_build(msg_t *msg, uint16_t id, bool qr, uint8_t last_octet)
{
	memset(msg, 0, sizeof(*msg)); /* knot_pkt_new over a buffer keeps its header. */
	knot_pkt_t *pkt = knot_pkt_new(msg->wire, BUF, NULL);
	assert_non_null(pkt);
	knot_wire_set_id(pkt->wire, id);
	const knot_dname_t *qname = (const knot_dname_t *)"\3www\7example";
	assert_int_equal(knot_pkt_put_question(pkt, qname, KNOT_CLASS_IN, KNOT_RRTYPE_A), 0);
	if (qr) {
		knot_wire_set_qr(pkt->wire);
		knot_rrset_t rr;
		knot_rrset_init(&rr, (knot_dname_t *)qname, KNOT_RRTYPE_A, KNOT_CLASS_IN, 300);
		uint8_t addr[4] = {192, 0, 2, last_octet};
		assert_int_equal(knot_rrset_add_rdata(&rr, addr, sizeof(addr), NULL), 0);
		assert_int_equal(knot_pkt_begin(pkt, KNOT_ANSWER), 0);
		assert_int_equal(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, &rr, 0), 0);
		knot_rdataset_clear(&rr.rrs, NULL);
	}
	msg->len = pkt->size;
	knot_pkt_free(pkt);
}

/* Sign as a client would, with libknot; 'mac' gets the request MAC. */
static void client_sign(msg_t *msg, const canon_tsig_key_t *key, uint8_t *mac, size_t *mac_len)
{
	*mac_len = CANON_TSIG_MAX_DIGEST_SIZE;
	assert_int_equal(knot_tsig_sign(msg->wire, &msg->len, BUF, NULL, 0, mac, mac_len, &key->key,
	                                KNOT_RCODE_NOERROR, 0),
	                 KNOT_EOK);
}

/* knot_pkt_parse strips the TSIG; the packet works on msg->wire. */
static knot_pkt_t *parse(msg_t *msg)
{
	knot_pkt_t *pkt = knot_pkt_new(msg->wire, (uint16_t)msg->len, NULL);
	assert_non_null(pkt);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EOK);
	return pkt;
}

/* A signed query for 'key' verified by 'ring'; returns the RCODE. */
static uint8_t verify_signed(const canon_tsig_keyring_t *ring, const canon_tsig_key_t *key,
                             canon_tsig_session_t *session, uint8_t *mac, size_t *mac_len)
{
	msg_t query;
	msg_build(&query, 0x1234, false, 0);
	client_sign(&query, key, mac, mac_len);
	knot_pkt_t *pkt = parse(&query);
	assert_non_null(pkt->tsig_rr);
	uint8_t rcode = canon_tsig_verify(ring, pkt, session);
	knot_pkt_free(pkt);
	return rcode;
}

/* Sign an answer with canon and return its parsed form (TSIG stripped). */
static knot_pkt_t *answer_signed(canon_tsig_session_t *session, msg_t *answer, uint8_t octet,
                                 bool first)
{
	msg_build(answer, 0x1234, true, octet);
	size_t before = answer->len;
	int ret = first ? canon_tsig_sign(session, answer->wire, &answer->len, BUF)
	                : canon_tsig_sign_next(session, answer->wire, &answer->len, BUF);
	assert_int_equal(ret, KNOT_EOK);
	assert_true(answer->len > before);
	assert_true(answer->len - before <= canon_tsig_reserve(session));
	return parse(answer);
}

/* ---- Server side ---- */

static void test_verify_and_sign(void **state)
{
	(void)state;
	const char *algs[] = {"hmac-sha256", "hmac-sha384", "hmac-sha512"};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		canon_tsig_keyring_t ring;
		ring_with(&ring, "update-key.", algs[i]);
		const canon_tsig_key_t *key = &ring.keys[0];
		canon_tsig_session_t session;
		uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
		size_t mac_len;
		assert_int_equal(verify_signed(&ring, key, &session, mac, &mac_len),
		                 KNOT_RCODE_NOERROR);
		assert_true(session.signed_request);
		assert_ptr_equal(session.key, key);
		assert_int_equal(session.error, 0);
		assert_memory_equal(session.mac, mac, mac_len);

		msg_t answer;
		knot_pkt_t *pkt = answer_signed(&session, &answer, 1, true);
		assert_int_equal(knot_tsig_rdata_error(pkt->tsig_rr), 0);
		assert_int_equal(knot_tsig_client_check(pkt->tsig_rr, pkt->wire, pkt->size, mac,
		                                        mac_len, &key->key, 0),
		                 KNOT_EOK);
		/* The answer's MAC covers the request MAC: another one fails. */
		mac[0] ^= 0xff;
		assert_int_equal(knot_tsig_client_check(pkt->tsig_rr, pkt->wire, pkt->size, mac,
		                                        mac_len, &key->key, 0),
		                 KNOT_TSIG_EBADSIG);
		knot_pkt_free(pkt);
		/* A second first message is a caller error. */
		assert_int_equal(canon_tsig_sign(&session, answer.wire, &answer.len, BUF),
		                 KNOT_EINVAL);
		canon_tsig_keyring_free(&ring);
	}
}

static void test_multi_message(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "xfr-key.", "hmac-sha256");
	const canon_tsig_key_t *key = &ring.keys[0];
	canon_tsig_session_t session;
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	assert_int_equal(verify_signed(&ring, key, &session, mac, &mac_len), KNOT_RCODE_NOERROR);

	msg_t answer;
	msg_build(&answer, 0x1234, true, 0);
	assert_int_equal(canon_tsig_sign_next(&session, answer.wire, &answer.len, BUF),
	                 KNOT_EINVAL);

	knot_pkt_t *pkt = answer_signed(&session, &answer, 1, true);
	assert_int_equal(knot_tsig_client_check(pkt->tsig_rr, pkt->wire, pkt->size, mac, mac_len,
	                                        &key->key, 0),
	                 KNOT_EOK);
	uint8_t first_mac[CANON_TSIG_MAX_DIGEST_SIZE];
	uint8_t prev[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t prev_len = knot_tsig_rdata_mac_length(pkt->tsig_rr);
	memcpy(prev, knot_tsig_rdata_mac(pkt->tsig_rr), prev_len);
	memcpy(first_mac, prev, prev_len);
	uint64_t prev_time = knot_tsig_rdata_time_signed(pkt->tsig_rr);
	knot_pkt_free(pkt);

	for (uint8_t octet = 2; octet <= 3; octet++) {
		pkt = answer_signed(&session, &answer, octet, false);
		assert_int_equal(knot_tsig_client_check_next(pkt->tsig_rr, pkt->wire, pkt->size,
		                                             prev, prev_len, &key->key, prev_time),
		                 KNOT_EOK);
		if (octet == 3) {
			/* Chained: the third message does not verify against the first MAC. */
			assert_int_equal(knot_tsig_client_check_next(pkt->tsig_rr, pkt->wire,
			                                             pkt->size, first_mac, prev_len,
			                                             &key->key, prev_time),
			                 KNOT_TSIG_EBADSIG);
		}
		prev_len = knot_tsig_rdata_mac_length(pkt->tsig_rr);
		memcpy(prev, knot_tsig_rdata_mac(pkt->tsig_rr), prev_len);
		prev_time = knot_tsig_rdata_time_signed(pkt->tsig_rr);
		knot_pkt_free(pkt);
	}
	canon_tsig_keyring_free(&ring);
}

/* The failed request's answer: an unsigned TSIG carrying 'error' for key 'owner'. */
static void assert_error_answer(canon_tsig_session_t *session, uint16_t error, const char *owner)
{
	msg_t answer;
	knot_pkt_t *pkt = answer_signed(session, &answer, 1, true);
	assert_non_null(pkt->tsig_rr);
	assert_int_equal(knot_tsig_rdata_error(pkt->tsig_rr), error);
	assert_int_equal(knot_tsig_rdata_mac_length(pkt->tsig_rr), 0);
	assert_int_equal(knot_tsig_rdata_orig_id(pkt->tsig_rr), 0x1234);
	assert_true(session->request_time > 0);
	assert_int_equal(knot_tsig_rdata_time_signed(pkt->tsig_rr), session->request_time);
	knot_dname_storage_t name;
	assert_non_null(knot_dname_from_str(name, owner, sizeof(name)));
	assert_true(knot_dname_is_equal(pkt->tsig_rr->owner, name));
	knot_pkt_free(pkt);
	/* Only one message answers a failed request. */
	assert_int_equal(canon_tsig_sign_next(session, answer.wire, &answer.len, BUF), KNOT_EOK);
}

static void test_wrong_secret(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "update-key.", "hmac-sha256");
	canon_tsig_key_t forged;
	key_make(&forged, "update-key.", "hmac-sha256", OTHER_SECRET);
	canon_tsig_session_t session;
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	assert_int_equal(verify_signed(&ring, &forged, &session, mac, &mac_len),
	                 KNOT_RCODE_NOTAUTH);
	assert_int_equal(session.error, KNOT_RCODE_BADSIG);
	assert_true(session.signed_request);
	assert_error_answer(&session, KNOT_RCODE_BADSIG, "update-key.");
	canon_tsig_key_free(&forged);
	canon_tsig_keyring_free(&ring);
}

static void test_unknown_key(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "update-key.", "hmac-sha256");
	canon_tsig_key_t stranger;
	key_make(&stranger, "Stranger-Key.", "hmac-sha512", SECRET);
	canon_tsig_session_t session;
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	assert_int_equal(verify_signed(&ring, &stranger, &session, mac, &mac_len),
	                 KNOT_RCODE_NOTAUTH);
	assert_int_equal(session.error, KNOT_RCODE_BADKEY);
	assert_null(session.key);
	assert_error_answer(&session, KNOT_RCODE_BADKEY, "stranger-key.");
	canon_tsig_key_free(&stranger);
	canon_tsig_keyring_free(&ring);
}

static void test_algorithm_mismatch(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "update-key.", "hmac-sha256");
	canon_tsig_key_t other_alg;
	key_make(&other_alg, "update-key.", "hmac-sha512", SECRET);
	canon_tsig_session_t session;
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	assert_int_equal(verify_signed(&ring, &other_alg, &session, mac, &mac_len),
	                 KNOT_RCODE_NOTAUTH);
	assert_int_equal(session.error, KNOT_RCODE_BADKEY);
	assert_null(session.key);
	canon_tsig_key_free(&other_alg);
	canon_tsig_keyring_free(&ring);
}

/*
 * A request whose Time Signed is 'skew' seconds off. knot_tsig_sign takes the clock,
 * except for a BADTIME message, whose Time Signed is the one passed in: so the
 * client's TSIG here carries error BADTIME, which a server ignores in a request.
 */
static uint8_t verify_skewed(const canon_tsig_keyring_t *ring, canon_tsig_session_t *session,
                             int64_t skew, uint8_t *mac, size_t *mac_len, uint64_t *signed_at)
{
	msg_t query;
	msg_build(&query, 0x4321, false, 0);
	*signed_at = (uint64_t)((int64_t)time(NULL) + skew);
	*mac_len = CANON_TSIG_MAX_DIGEST_SIZE;
	assert_int_equal(knot_tsig_sign(query.wire, &query.len, BUF, NULL, 0, mac, mac_len,
	                                &ring->keys[0].key, KNOT_RCODE_BADTIME, *signed_at),
	                 KNOT_EOK);
	knot_pkt_t *pkt = parse(&query);
	assert_int_equal(knot_tsig_rdata_time_signed(pkt->tsig_rr), *signed_at);
	uint8_t rcode = canon_tsig_verify(ring, pkt, session);
	knot_pkt_free(pkt);
	return rcode;
}

static void test_badtime(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "update-key.", "hmac-sha384");
	const canon_tsig_key_t *key = &ring.keys[0];
	canon_tsig_session_t session;
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	uint64_t signed_at;

	/* Inside the fudge (300 s) the request is good. */
	assert_int_equal(verify_skewed(&ring, &session, -200, mac, &mac_len, &signed_at),
	                 KNOT_RCODE_NOERROR);
	assert_int_equal(verify_skewed(&ring, &session, +3600, mac, &mac_len, &signed_at),
	                 KNOT_RCODE_NOTAUTH);
	assert_int_equal(session.error, KNOT_RCODE_BADTIME);
	assert_int_equal(verify_skewed(&ring, &session, -3600, mac, &mac_len, &signed_at),
	                 KNOT_RCODE_NOTAUTH);
	assert_int_equal(session.error, KNOT_RCODE_BADTIME);
	assert_ptr_equal(session.key, key);
	assert_int_equal(session.request_time, signed_at);

	/* The BADTIME answer is signed: its MAC checks, only its time is off. */
	msg_t answer;
	knot_pkt_t *pkt = answer_signed(&session, &answer, 1, true);
	const knot_rrset_t *tsig = pkt->tsig_rr;
	assert_int_equal(knot_tsig_rdata_error(tsig), KNOT_RCODE_BADTIME);
	assert_int_equal(knot_tsig_rdata_time_signed(tsig), signed_at);
	assert_int_equal(knot_tsig_rdata_other_data_length(tsig), 6);
	uint64_t server_time = knot_wire_read_u48(knot_tsig_rdata_other_data(tsig));
	assert_true(server_time + 5 >= (uint64_t)time(NULL) && server_time <= (uint64_t)time(NULL));
	assert_int_equal(
	        knot_tsig_client_check(tsig, pkt->wire, pkt->size, mac, mac_len, &key->key, 0),
	        KNOT_TSIG_EBADTIME);
	mac[0] ^= 0xff;
	assert_int_equal(
	        knot_tsig_client_check(tsig, pkt->wire, pkt->size, mac, mac_len, &key->key, 0),
	        KNOT_TSIG_EBADSIG);
	knot_pkt_free(pkt);
	canon_tsig_keyring_free(&ring);
}

static void test_unsigned_query(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "update-key.", "hmac-sha256");
	msg_t query;
	msg_build(&query, 7, false, 0);
	knot_pkt_t *pkt = parse(&query);
	canon_tsig_session_t session;
	memset(&session, 0xab, sizeof(session));
	assert_int_equal(canon_tsig_verify(&ring, pkt, &session), KNOT_RCODE_NOERROR);
	knot_pkt_free(pkt);
	assert_false(session.signed_request);
	assert_null(session.key);
	assert_int_equal(canon_tsig_reserve(&session), 0);

	msg_t answer;
	msg_build(&answer, 7, true, 1);
	msg_t copy = answer;
	assert_int_equal(canon_tsig_sign(&session, answer.wire, &answer.len, BUF), 0);
	assert_int_equal(canon_tsig_sign_next(&session, answer.wire, &answer.len, BUF), 0);
	assert_int_equal(answer.len, copy.len);
	assert_memory_equal(answer.wire, copy.wire, copy.len);
	canon_tsig_keyring_free(&ring);
}

/* RFC 8945 §5.2: libknot refuses a TSIG that is not last, so the caller answers FORMERR. */
static void test_tsig_not_last(void **state)
{
	(void)state;
	canon_tsig_key_t key;
	key_make(&key, "update-key.", "hmac-sha256", SECRET);
	msg_t query;
	msg_build(&query, 9, false, 0);
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	client_sign(&query, &key, mac, &mac_len);
	/* Append an empty OPT record after the TSIG. */
	const uint8_t opt[] = {0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0};
	memcpy(query.wire + query.len, opt, sizeof(opt));
	query.len += sizeof(opt);
	knot_wire_set_arcount(query.wire, knot_wire_get_arcount(query.wire) + 1);
	knot_pkt_t *pkt = knot_pkt_new(query.wire, (uint16_t)query.len, NULL);
	assert_int_equal(knot_pkt_parse(pkt, 0), KNOT_EMALF);
	knot_pkt_free(pkt);
	canon_tsig_key_free(&key);
}

/* ---- Keys ---- */

/* Parsing fails with a message that names 'what'. */
static void assert_key_error(const char *name, const char *alg, const char *secret,
                             const char *what)
{
	canon_tsig_key_t key;
	const char *error = NULL;
	assert_int_equal(canon_tsig_key_parse(name, alg, secret, &key, &error), -EINVAL);
	assert_non_null(error);
	assert_non_null(strstr(error, what));
	assert_null(key.key.name);
	assert_null(key.key.secret.data);
}

static void test_key_parse(void **state)
{
	(void)state;
	const char *algs[] = {"hmac-md5",    "hmac-sha1",   "hmac-sha224",
	                      "HMAC-SHA256", "hmac-sha384", "Hmac-Sha512"};
	const dnssec_tsig_algorithm_t ids[] = {DNSSEC_TSIG_HMAC_MD5,    DNSSEC_TSIG_HMAC_SHA1,
	                                       DNSSEC_TSIG_HMAC_SHA224, DNSSEC_TSIG_HMAC_SHA256,
	                                       DNSSEC_TSIG_HMAC_SHA384, DNSSEC_TSIG_HMAC_SHA512};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		canon_tsig_key_t key;
		key_make(&key, "Update-Key", algs[i], "c2VjcmV0");
		assert_int_equal(key.key.algorithm, ids[i]);
		assert_string_equal(key.name, "update-key.");
		assert_int_equal(key.key.secret.size, 6);
		assert_memory_equal(key.key.secret.data, "secret", 6);
		assert_true(
		        knot_dname_is_equal(key.key.name, (const knot_dname_t *)"\12update-key"));
		canon_tsig_key_free(&key);
		assert_null(key.key.name);
	}
	assert_key_error("update-key.", "hmac-sha3", SECRET, "algorithm");
	assert_key_error("update-key.", "", SECRET, "algorithm");
	assert_key_error("update-key.", "hmac-sha256", "not*base64!", "base64");
	assert_key_error("update-key.", "hmac-sha256", "c2VjcmV0=", "base64");
	assert_key_error("update-key.", "hmac-sha256", "", "empty");
	assert_key_error("update-key.", "hmac-sha256", "====", "base64");
	assert_key_error("bad..name", "hmac-sha256", SECRET, "name");
	assert_key_error("", "hmac-sha256", SECRET, "name");
}

static void test_key_parse_arg(void **state)
{
	(void)state;
	canon_tsig_key_t key;
	const char *error = NULL;
	assert_int_equal(canon_tsig_key_parse_arg("notify-key:hmac-sha512:" SECRET, &key, &error),
	                 0);
	assert_string_equal(key.name, "notify-key.");
	assert_int_equal(key.key.algorithm, DNSSEC_TSIG_HMAC_SHA512);
	canon_tsig_key_free(&key);

	/* The algorithm first (libknot's order) is not ours: NAME:ALGORITHM:SECRET. */
	const char *swapped = "hmac-sha256:a:" SECRET;
	const char *bad[] = {"a:b", "a", "", "a:hmac-sha256:", swapped, "a:hmac-sha256:c2Vj:cmV0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(canon_tsig_key_parse_arg(bad[i], &key, &error), -EINVAL);
		assert_non_null(error);
		assert_true(strlen(error) > 0);
	}
}

static void test_keyring(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring = {0};
	const char *names[] = {"one.", "two.example.", "three"};
	for (size_t i = 0; i < 3; i++) {
		canon_tsig_key_t key;
		key_make(&key, names[i], "hmac-sha256", SECRET);
		assert_int_equal(canon_tsig_keyring_add(&ring, &key), 0);
		assert_null(key.key.name); /* Taken. */
	}
	canon_tsig_key_t dup;
	key_make(&dup, "TWO.example", "hmac-sha1", SECRET);
	assert_int_equal(canon_tsig_keyring_add(&ring, &dup), -EEXIST);
	assert_non_null(dup.key.name); /* Still the caller's. */
	canon_tsig_key_free(&dup);
	assert_int_equal(ring.count, 3);

	const canon_tsig_key_t *two =
	        canon_tsig_keyring_find(&ring, (const knot_dname_t *)"\3TwO"
	                                                             "\7exAMPLE");
	assert_non_null(two);
	assert_string_equal(two->name, "two.example.");
	assert_ptr_equal(canon_tsig_keyring_find_str(&ring, "two.example"), two);
	assert_ptr_equal(canon_tsig_keyring_find_str(&ring, "Two.Example."), two);
	assert_string_equal(canon_tsig_keyring_find_str(&ring, "three.")->name, "three.");
	assert_null(canon_tsig_keyring_find_str(&ring, "four."));
	assert_null(canon_tsig_keyring_find_str(&ring, "example."));
	assert_null(canon_tsig_keyring_find(&ring, (const knot_dname_t *)"\3two"));
	canon_tsig_keyring_free(&ring);
	assert_int_equal(ring.count, 0);
	assert_null(canon_tsig_keyring_find_str(&ring, "one."));
}

/* ---- Client side ---- */

/* Sign a NOTIFY with canon; check it as a server with libknot; return the request MAC. */
static void notify_signed(canon_tsig_session_t *session, const canon_tsig_key_t *key, msg_t *req,
                          knot_pkt_t **parsed)
{
	msg_build(req, 0x5555, false, 0);
	size_t before = req->len;
	assert_int_equal(canon_tsig_sign_request(session, key, req->wire, &req->len, BUF), 0);
	assert_true(req->len > before);
	*parsed = parse(req);
	assert_int_equal(knot_tsig_server_check((*parsed)->tsig_rr, (*parsed)->wire,
	                                        (*parsed)->size, &key->key),
	                 KNOT_EOK);
}

/* The server's reply, signed with 'key' over 'request_mac' by libknot. */
static void reply_signed(msg_t *reply, const canon_tsig_key_t *key, const uint8_t *request_mac,
                         size_t request_mac_len)
{
	msg_build(reply, 0x5555, true, 9);
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len = sizeof(mac);
	assert_int_equal(knot_tsig_sign(reply->wire, &reply->len, BUF, request_mac, request_mac_len,
	                                mac, &mac_len, &key->key, KNOT_RCODE_NOERROR, 0),
	                 KNOT_EOK);
}

static void test_client_round_trip(void **state)
{
	(void)state;
	canon_tsig_key_t key, forged;
	key_make(&key, "notify-key.", "hmac-sha256", SECRET);
	key_make(&forged, "notify-key.", "hmac-sha256", OTHER_SECRET);
	canon_tsig_session_t session;
	msg_t req, reply;
	knot_pkt_t *pkt;
	notify_signed(&session, &key, &req, &pkt);
	const uint8_t *req_mac = knot_tsig_rdata_mac(pkt->tsig_rr);
	size_t req_mac_len = knot_tsig_rdata_mac_length(pkt->tsig_rr);
	assert_int_equal(session.mac_len, req_mac_len);
	assert_memory_equal(session.mac, req_mac, req_mac_len);

	canon_tsig_session_t saved = session;
	reply_signed(&reply, &key, req_mac, req_mac_len);
	assert_int_equal(canon_tsig_check_reply(&session, reply.wire, reply.len), 0);
	assert_int_equal(session.error, 0);

	session = saved; /* Wrong secret. */
	reply_signed(&reply, &forged, req_mac, req_mac_len);
	assert_int_equal(canon_tsig_check_reply(&session, reply.wire, reply.len),
	                 KNOT_TSIG_EBADSIG);
	session = saved; /* Signed over another request's MAC. */
	uint8_t other_mac[CANON_TSIG_MAX_DIGEST_SIZE];
	memcpy(other_mac, req_mac, req_mac_len);
	other_mac[3] ^= 1;
	reply_signed(&reply, &key, other_mac, req_mac_len);
	assert_int_equal(canon_tsig_check_reply(&session, reply.wire, reply.len),
	                 KNOT_TSIG_EBADSIG);
	session = saved; /* Authentic BADTIME: the server refused our clock. */
	msg_build(&reply, 0x5555, true, 9);
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len = sizeof(mac);
	assert_int_equal(knot_tsig_sign(reply.wire, &reply.len, BUF, req_mac, req_mac_len, mac,
	                                &mac_len, &key.key, KNOT_RCODE_BADTIME,
	                                knot_tsig_rdata_time_signed(pkt->tsig_rr)),
	                 KNOT_EOK);
	assert_int_equal(canon_tsig_check_reply(&session, reply.wire, reply.len),
	                 KNOT_TSIG_EBADTIME);
	assert_int_equal(session.error, KNOT_RCODE_BADTIME);
	session = saved; /* Unsigned. */
	msg_build(&reply, 0x5555, true, 9);
	assert_int_equal(canon_tsig_check_reply(&session, reply.wire, reply.len),
	                 KNOT_TSIG_EBADSIG);
	session = saved; /* Truncated garbage. */
	assert_int_equal(canon_tsig_check_reply(&session, reply.wire, 5), KNOT_EMALF);

	knot_pkt_free(pkt);
	canon_tsig_key_free(&forged);
	canon_tsig_key_free(&key);
}

/* canon on both sides: NOTIFY signed, verified, answered; BADKEY reported. */
static void test_canon_both_sides(void **state)
{
	(void)state;
	canon_tsig_keyring_t ring;
	ring_with(&ring, "notify-key.", "hmac-sha512");
	canon_tsig_key_t stranger;
	key_make(&stranger, "stranger.", "hmac-sha512", SECRET);
	const canon_tsig_key_t *keys[] = {&ring.keys[0], &stranger};
	const int expect[] = {0, KNOT_TSIG_EBADKEY};
	for (size_t i = 0; i < 2; i++) {
		canon_tsig_session_t client, server;
		msg_t req, reply;
		knot_pkt_t *pkt;
		msg_build(&req, 0x6666, false, 0);
		assert_int_equal(canon_tsig_sign_request(&client, keys[i], req.wire, &req.len, BUF),
		                 0);
		pkt = parse(&req);
		assert_int_equal(canon_tsig_verify(&ring, pkt, &server),
		                 i == 0 ? KNOT_RCODE_NOERROR : KNOT_RCODE_NOTAUTH);
		knot_pkt_free(pkt);
		msg_build(&reply, 0x6666, true, 1);
		assert_int_equal(canon_tsig_sign(&server, reply.wire, &reply.len, BUF), 0);
		assert_int_equal(canon_tsig_check_reply(&client, reply.wire, reply.len), expect[i]);
		assert_int_equal(client.error, i == 0 ? 0 : KNOT_RCODE_BADKEY);
	}
	canon_tsig_key_free(&stranger);
	canon_tsig_keyring_free(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_verify_and_sign),
	        cmocka_unit_test(test_multi_message),
	        cmocka_unit_test(test_wrong_secret),
	        cmocka_unit_test(test_unknown_key),
	        cmocka_unit_test(test_algorithm_mismatch),
	        cmocka_unit_test(test_badtime),
	        cmocka_unit_test(test_unsigned_query),
	        cmocka_unit_test(test_tsig_not_last),
	        cmocka_unit_test(test_key_parse),
	        cmocka_unit_test(test_key_parse_arg),
	        cmocka_unit_test(test_keyring),
	        cmocka_unit_test(test_client_round_trip),
	        cmocka_unit_test(test_canon_both_sides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
