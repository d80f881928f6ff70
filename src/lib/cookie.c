/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <libknot/errcode.h>
#include <libknot/rrtype/opt.h>

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
static int put_cookie(const knot_edns_cookie_t *cc, const knot_edns_cookie_params_t *params,
                      knot_rrset_t *opt, knot_mm_t *mm)
{
	knot_edns_cookie_t sc;
	if (knot_edns_cookie_server_generate(&sc, cc, params) != KNOT_EOK) {
		return KNOT_EINVAL;
	}
	uint16_t size = knot_edns_cookie_size(cc, &sc);
	uint8_t *data = NULL;
	int ret = knot_edns_reserve_option(opt, KNOT_EDNS_OPTION_COOKIE, size, &data, mm);
	if (ret != KNOT_EOK) {
		return ret;
	}
	return knot_edns_cookie_write(data, size, cc, &sc) < 0 ? KNOT_EINVAL : KNOT_EOK;
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
	knot_edns_cookie_t cc, sc;
	/* RFC 7873 §5.2.2: a client cookie of 8 octets, a server cookie of 8..32. */
	if (knot_edns_cookie_parse(&cc, &sc, knot_edns_opt_get_data(option),
	                           knot_edns_opt_get_length(option)) != KNOT_EOK) {
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
	 * Without room in 'mm' the answer just goes without a cookie.
	 */
	put_cookie(&cc, &params, opt, mm);
	return status;
}
