/*
 * Online DNSSEC signing over libdnssec (no cryptography of ours): a zone's
 * signing key (one ECDSA P-256 CSK, algorithm 13, RFC 6605) kept as a PKCS#8
 * PEM file in the state directory, the DNSKEY, CDS and CDNSKEY RRsets it
 * publishes at the apex, and RRSIG RDATA made for an RRset (RFC 4034 §3).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/rrset.h>

/* Algorithm 13, ECDSA P-256 with SHA-256 (RFC 6605 §2). */
#define CANON_SIGN_ALGORITHM 13
/* TTL of the DNSKEY, CDS and CDNSKEY RRsets canon publishes (seconds). */
#define CANON_SIGN_KEY_TTL 3600
/* Room a caller gives canon_sign_rrset() for the RRSIG RDATA (fixed part, signer, signature). */
#define CANON_SIGN_RDATA_MAX (18 + KNOT_DNAME_MAXLEN + 64)
/* Most records of an RRset canon_sign_rrset() signs (its canonical sort runs on the stack). */
#define CANON_SIGN_RRSET_MAX 512

typedef struct canon_sign_key {
	struct dnssec_key *key; /* libdnssec's key, private half loaded. */
	knot_dname_t *apex;     /* Lower-case: the signer name. */
	uint16_t keytag;        /* RFC 4034 Appendix B */
	knot_rrset_t dnskey;    /* The apex's DNSKEY RRset (flags 257: a CSK, RFC 4034 §2.1.1). */
	knot_rrset_t cds;       /* CDS (RFC 7344 §3.1): the DS digest (SHA-256) of the key. */
	knot_rrset_t cdnskey;   /* CDNSKEY (RFC 7344 §3.2): the DNSKEY again. */
} canon_sign_key_t;

/*
 * The key of zone 'origin' (text, "example.test.") from DIR/keys/ORIGINpem
 * ("keys/example.test.pem", mode 0600), made there on first use. Returns 0,
 * or a negative error with a message naming the file in 'error'.
 */
int canon_sign_key_open(const char *dir, const char *origin, canon_sign_key_t **key, char *error,
                        size_t error_size);

/* Free a key from canon_sign_key_open() (NULL is fine). */
void canon_sign_key_free(canon_sign_key_t *key);

/* The path of zone 'origin''s key file under 'dir' (as canon_sign_key_open uses it). */
void canon_sign_key_path(const char *dir, const char *origin, char *out, size_t size);

/* What one RRSIG covers and says besides the RRset's records. */
typedef struct {
	const knot_dname_t *owner; /* As signed: "*.encloser" for a wildcard expansion. */
	uint8_t labels;            /* RFC 4034 §3.1.3: the owner's labels, '*' not counted. */
	uint32_t original_ttl;     /* RFC 4034 §3.1.4 */
	uint32_t inception;        /* RFC 4034 §3.1.5: seconds since the epoch, mod 2^32. */
	uint32_t expiration;
} canon_sign_params_t;

/*
 * Sign 'rr' (its type, class and records; the owner and TTL from 'params')
 * with 'key': the RRSIG RDATA goes to 'out' (CANON_SIGN_RDATA_MAX octets),
 * its length to *len. The records are signed in canonical form and order
 * (RFC 4034 §6.2, §6.3), made in 'scratch' (at least rr->rrs.size octets).
 * Returns 0, -E2BIG when the RRset has more than CANON_SIGN_RRSET_MAX
 * records or does not fit 'scratch', or -EIO when libdnssec failed.
 * libdnssec allocates while signing; nothing stays allocated afterwards.
 */
int canon_sign_rrset(const canon_sign_key_t *key, const knot_rrset_t *rr,
                     const canon_sign_params_t *params, uint8_t *scratch, size_t scratch_size,
                     uint8_t *out, size_t *len);
