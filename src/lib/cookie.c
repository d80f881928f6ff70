/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <libknot/errcode.h>
#include <libknot/rrtype/opt.h>
#include <libknot/wire.h>

#include "lib/cookie.h"

/*
 * RFC 9018 §4.3: a server cookie is good for an hour after its timestamp, and
 * up to five minutes before it (clocks of an anycast set differ a little).
 */
#define COOKIE_LIFETIME_BEFORE 3600
#define COOKIE_LIFETIME_AFTER  300

int canon_cookie_secret_random(canon_cookie_secret_t *secret)
{
	size_t done = 0;
	while (done < sizeof(secret->secret)) {
		ssize_t n = getrandom(secret->secret + done, sizeof(secret->secret) - done, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int canon_cookie_secret_parse(canon_cookie_secret_t *secret, const char *hex)
{
	if (strlen(hex) != CANON_COOKIE_SECRET_HEX) {
		return -EINVAL;
	}
	for (size_t i = 0; i < CANON_COOKIE_SECRET_SIZE; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return -EINVAL;
		}
		secret->secret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Add our COOKIE option: the client's cookie and a new server cookie for it. */
/* Our COOKIE option (RFC 7873 §4: code, length, client cookie, server cookie) at 'out'. */
static uint16_t put_cookie(const knot_edns_cookie_t *cc, const knot_edns_cookie_params_t *params,
                           uint8_t *out)
{
	knot_edns_cookie_t sc;
	if (knot_edns_cookie_server_generate(&sc, cc, params) != KNOT_EOK) {
		return 0;
	}
	uint16_t size = knot_edns_cookie_size(cc, &sc);
	knot_wire_write_u16(out, KNOT_EDNS_OPTION_COOKIE);
	knot_wire_write_u16(out + 2, size);
	if (knot_edns_cookie_write(out + KNOT_EDNS_OPTION_HDRLEN, size, cc, &sc) < 0) {
		return 0;
	}
	return (uint16_t)(KNOT_EDNS_OPTION_HDRLEN + size);
}

canon_cookie_status_t canon_cookie_answer_wire(const canon_cookie_secret_t *secret,
                                               const uint8_t *data, uint16_t len,
                                               const struct sockaddr_storage *client, uint32_t now,
                                               uint8_t out[CANON_COOKIE_OPTION_MAX],
                                               uint16_t *out_len)
{
	*out_len = 0;
	if (data == NULL) {
		return CANON_COOKIE_NONE;
	}
	knot_edns_cookie_t cc, sc;
	/* RFC 7873 §5.2.2: a client cookie of 8 octets, a server cookie of 8..32. */
	if (knot_edns_cookie_parse(&cc, &sc, data, len) != KNOT_EOK) {
		return CANON_COOKIE_MALFORMED;
	}
	knot_edns_cookie_params_t params = {
	        .version = KNOT_EDNS_COOKIE_VERSION,
	        .timestamp = now,
	        .lifetime_before = COOKIE_LIFETIME_BEFORE,
	        .lifetime_after = COOKIE_LIFETIME_AFTER,
	        .client_addr = client,
	};
	memcpy(params.secret, secret->secret, sizeof(params.secret));
	canon_cookie_status_t status = CANON_COOKIE_CLIENT;
	if (sc.len > 0) {
		status = knot_edns_cookie_server_check(&sc, &cc, &params) == KNOT_EOK
		                 ? CANON_COOKIE_VALID
		                 : CANON_COOKIE_BAD;
	}
	/*
	 * RFC 9018 §4.3 lets a valid cookie be echoed until it is half an hour
	 * old; a fresh one every time is simpler and as good for the client.
	 */
	*out_len = put_cookie(&cc, &params, out);
	return status;
}

canon_cookie_status_t canon_cookie_answer(const canon_cookie_secret_t *secret,
                                          const knot_rrset_t *query_opt,
                                          const struct sockaddr_storage *client, uint32_t now,
                                          knot_rrset_t *opt, knot_mm_t *mm)
{
	if (query_opt == NULL) {
		return CANON_COOKIE_NONE;
	}
	uint8_t *option = knot_edns_get_option(query_opt, KNOT_EDNS_OPTION_COOKIE, NULL);
	if (option == NULL) {
		return CANON_COOKIE_NONE;
	}
	uint8_t out[CANON_COOKIE_OPTION_MAX];
	uint16_t out_len;
	canon_cookie_status_t status = canon_cookie_answer_wire(
	        secret, knot_edns_opt_get_data(option), knot_edns_opt_get_length(option), client,
	        now, out, &out_len);
	if (out_len > 0) {
		/* Without room in 'mm' the answer just goes without a cookie. */
		knot_edns_add_option(opt, KNOT_EDNS_OPTION_COOKIE,
		                     (uint16_t)(out_len - KNOT_EDNS_OPTION_HDRLEN),
		                     out + KNOT_EDNS_OPTION_HDRLEN, mm);
	}
	return status;
}
