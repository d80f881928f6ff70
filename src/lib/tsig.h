/*
 * TSIG (RFC 8945): keys, a keyring, and the server and client sides of one
 * transaction, over libknot's tsig-op (libknot computes every MAC).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/consts.h>
#include <libknot/dname.h>
#include <libknot/packet/pkt.h>
#include <libknot/tsig.h>

/* Longest MAC (HMAC-SHA512). libknot 3.2 keeps its KNOT_TSIG_MAX_DIGEST_SIZE private. */
#define CANON_TSIG_MAX_DIGEST_SIZE 64
/* Fudge canon writes in the TSIG records it builds itself (libknot's default). */
#define CANON_TSIG_FUDGE 300

/* One TSIG key: libknot's key plus its name as written, for logs and config. */
typedef struct {
	knot_tsig_key_t key;                  /* Owns key.name and key.secret. */
	char name[KNOT_DNAME_TXT_MAXLEN + 1]; /* Presentation form, lowercase, e.g. "update-key." */
} canon_tsig_key_t;

typedef struct {
	canon_tsig_key_t *keys;
	size_t count;
} canon_tsig_keyring_t;

/*
 * Parse a key from its three words (config "key: NAME ALGORITHM BASE64SECRET").
 * ALGORITHM: hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512
 * (case-insensitive). The name is stored lowercase (RFC 8945 §4.3.3: the key name
 * is MACed in canonical form). Returns 0, or -EINVAL with *error (if 'error' is not
 * NULL) set to a static English message naming what is wrong. On success the caller
 * owns 'key' and frees it with canon_tsig_key_free; on failure 'key' holds nothing.
 */
int canon_tsig_key_parse(const char *name, const char *algorithm, const char *secret,
                         canon_tsig_key_t *key, const char **error);

/* The command-line form, exactly "NAME:ALGORITHM:SECRET" (as `--key` documents). */
int canon_tsig_key_parse_arg(const char *text, canon_tsig_key_t *key, const char **error);

/* Free what 'key' owns (the secret is wiped first); 'key' is then empty. */
void canon_tsig_key_free(canon_tsig_key_t *key);

/*
 * Add a parsed key, taking ownership ('*key' is emptied on success). Returns 0,
 * -EEXIST when a key of that name is there (then 'key' stays the caller's), or
 * -ENOMEM. Adding moves the keys: pointers from canon_tsig_keyring_find are valid
 * until the next add or free, so fill the ring before serving.
 */
int canon_tsig_keyring_add(canon_tsig_keyring_t *ring, canon_tsig_key_t *key);

/* The key named 'name' (wire format, any case), or NULL. */
const canon_tsig_key_t *canon_tsig_keyring_find(const canon_tsig_keyring_t *ring,
                                                const knot_dname_t *name);

/* The key named 'text' ("update-key" or "update-key.", any case), or NULL. */
const canon_tsig_key_t *canon_tsig_keyring_find_str(const canon_tsig_keyring_t *ring,
                                                    const char *text);

/* Free every key and the array; the ring is then empty and reusable. */
void canon_tsig_keyring_free(canon_tsig_keyring_t *ring);

/*
 * One transaction: on the server filled by canon_tsig_verify and used to sign the
 * answer and, for AXFR/IXFR, every later message (RFC 8945 §5.3.1); on the client
 * filled by canon_tsig_sign_request. Holds no allocation; 'key' points into a ring.
 */
typedef struct {
	/* The key the request named and we hold; NULL: unsigned, unknown key or malformed. */
	const canon_tsig_key_t *key;
	uint16_t error;        /* TSIG error: 0, KNOT_RCODE_BADSIG, BADKEY, BADTIME. */
	uint64_t request_time; /* Time Signed of the request (for BADTIME's answer). */
	/* Request MAC, then the MAC of the last message signed (on the client: checked). */
	uint8_t mac[CANON_TSIG_MAX_DIGEST_SIZE];
	size_t mac_len;
	bool signed_request;            /* The request had a TSIG record at all. */
	bool first_signed;              /* canon_tsig_sign has been called once (then sign_next). */
	knot_dname_storage_t key_name;  /* Key name of the request's TSIG, lowercase. */
	knot_dname_storage_t algorithm; /* Algorithm name of the request's TSIG, as sent. */
} canon_tsig_session_t;

/*
 * Check the TSIG of a request parsed with knot_pkt_parse(request, 0), which strips
 * the TSIG from the wire and ARCOUNT (the form RFC 8945 §4.3.2 MACs); do not parse
 * with KNOT_PF_KEEPWIRE. Returns KNOT_RCODE_NOERROR when unsigned (signed_request
 * false) or valid (session->key set); KNOT_RCODE_NOTAUTH when it fails
 * (session->error: BADKEY for an unknown key or an algorithm that is not the key's,
 * BADSIG for a wrong MAC, BADTIME outside fudge); KNOT_RCODE_FORMERR for a malformed
 * TSIG (RFC 8945 §5.2: TSIG must be the last record, only one); KNOT_RCODE_SERVFAIL
 * when libknot fails otherwise. 'session' is overwritten.
 */
uint8_t canon_tsig_verify(const canon_tsig_keyring_t *ring, const knot_pkt_t *request,
                          canon_tsig_session_t *session);

/* Bytes to keep free at the end of an answer for its TSIG record (0 when none is added). */
size_t canon_tsig_reserve(const canon_tsig_session_t *session);

/*
 * Append the TSIG of the answer in wire[0..*len) (room up to 'max'): the first (or
 * only) message. Signed with the request MAC when the request verified; for a failed
 * request the TSIG carries the error as RFC 8945 §5.3.2 says (BADKEY and BADSIG:
 * unsigned, MAC empty; BADTIME: signed, the server's time in Other Data). No-op
 * returning 0 when the request was unsigned or its TSIG malformed. Returns 0 or a
 * negative libknot error (KNOT_EINVAL when called a second time: use sign_next).
 */
int canon_tsig_sign(canon_tsig_session_t *session, uint8_t *wire, size_t *len, size_t max);

/*
 * Append the TSIG of a later message of a multi-message answer (AXFR/IXFR), chained
 * to the previous MAC (RFC 8945 §5.3.1). No-op returning 0 when the request was
 * unsigned or failed (an error answer is a single message); KNOT_EINVAL before
 * canon_tsig_sign.
 */
int canon_tsig_sign_next(canon_tsig_session_t *session, uint8_t *wire, size_t *len, size_t max);

/*
 * Client side (canon's NOTIFY to secondaries): sign a request with 'key' (RFC 8945
 * §5.1; the session is overwritten and remembers the MAC). Returns 0 or a negative
 * libknot error.
 */
int canon_tsig_sign_request(canon_tsig_session_t *session, const canon_tsig_key_t *key,
                            uint8_t *wire, size_t *len, size_t max);

/*
 * Check a reply to the request signed by canon_tsig_sign_request (RFC 8945 §5.4).
 * Returns 0 when it is signed by the key over the request MAC and in time;
 * KNOT_TSIG_EBADKEY / EBADSIG / EBADTIME when the server reported that error or the
 * reply fails the check (an unsigned reply is EBADSIG); KNOT_EMALF when it does not
 * parse. session->error is the TSIG error the reply carries.
 */
int canon_tsig_check_reply(canon_tsig_session_t *session, const uint8_t *wire, size_t len);
