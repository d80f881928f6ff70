/*
 * DNS cookies for servers (RFC 7873), with server cookies in the
 * interoperable format of RFC 9018 (version 1, reserved, timestamp and a
 * SipHash-2-4 of the client cookie, those fields and the client's address),
 * made and checked by libknot (libknot/cookies.h). Shared by canon serve and
 * canon resolve; the query path allocates nothing but the option in 'mm'.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libknot/cookies.h>
#include <libknot/mm_ctx.h>
#include <libknot/rrset.h>
#include <libknot/rrtype/opt.h>

/* Secret length in octets, and as the hex text cookie-secret takes. */
#define CANON_COOKIE_SECRET_SIZE KNOT_EDNS_COOKIE_SECRET_SIZE
#define CANON_COOKIE_SECRET_HEX  (2 * CANON_COOKIE_SECRET_SIZE)

/* The server's secret (RFC 7873 §7.1: every server of an anycast set shares it). */
typedef struct {
	uint8_t secret[CANON_COOKIE_SECRET_SIZE];
} canon_cookie_secret_t;

/* What a query's COOKIE option held. */
typedef enum {
	CANON_COOKIE_NONE,      /* No COOKIE option (or no OPT): nothing to answer. */
	CANON_COOKIE_CLIENT,    /* A client cookie only (RFC 7873 §5.2.3). */
	CANON_COOKIE_BAD,       /* A server cookie that is not ours, or too old (§5.2.4). */
	CANON_COOKIE_VALID,     /* A server cookie we made for this client (§5.2.5). */
	CANON_COOKIE_MALFORMED, /* Wrong length: FORMERR (§5.2.2). */
} canon_cookie_status_t;

/* The longest COOKIE option canon writes: header, client cookie, largest server cookie. */
#define CANON_COOKIE_OPTION_MAX                                                                    \
	(KNOT_EDNS_OPTION_HDRLEN + KNOT_EDNS_COOKIE_CLNT_SIZE + KNOT_EDNS_COOKIE_SRVR_MAX_SIZE)

/* Fill 'secret' from the kernel's random source (getrandom). 0 or -errno. */
int canon_cookie_secret_random(canon_cookie_secret_t *secret);

/* Set 'secret' from CANON_COOKIE_SECRET_HEX hex digits. 0 or -EINVAL. */
int canon_cookie_secret_parse(canon_cookie_secret_t *secret, const char *hex);

/*
 * Check the COOKIE option of 'query_opt' (the query's OPT, or NULL) from
 * 'client', and unless it is absent or malformed, add to 'opt' (our answer's
 * OPT) a COOKIE with the client cookie and a fresh server cookie (RFC 7873
 * §5.2.3-5.2.5: a bad server cookie is replaced, and the query answered).
 * 'now' is the time in seconds (RFC 9018 §4.3 timestamps). Returns the status.
 */
canon_cookie_status_t canon_cookie_answer(const canon_cookie_secret_t *secret,
                                          const knot_rrset_t *query_opt,
                                          const struct sockaddr_storage *client, uint32_t now,
                                          knot_rrset_t *opt, knot_mm_t *mm);

/*
 * canon_cookie_answer() for the query path, without an OPT record: 'data' and
 * 'len' are the query's COOKIE option data (NULL: none). Our COOKIE option,
 * header included, goes to 'out' and its size to *out_len (0: none to send).
 */
canon_cookie_status_t canon_cookie_answer_wire(const canon_cookie_secret_t *secret,
                                               const uint8_t *data, uint16_t len,
                                               const struct sockaddr_storage *client, uint32_t now,
                                               uint8_t out[CANON_COOKIE_OPTION_MAX],
                                               uint16_t *out_len);
