/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/consts.h>
#include <libknot/dname.h>
#include <libknot/packet/wire.h>

#include "lib/cookie.h"
#include "serve/rrl.h"

/* Client networks counted as one (NSD's rrl-ipv4-prefix-length, rrl-ipv6-prefix-length). */
#define RRL_IPV4_OCTETS 3 /* /24 */
#define RRL_IPV6_OCTETS 7 /* /56 */

canon_rrl_t *canon_rrl_new(const canon_serve_conf_t *conf)
{
	if (conf->rate_limit == 0) {
		return NULL;
	}
	canon_rrl_t *rrl = calloc(1, sizeof(*rrl));
	if (rrl == NULL) {
		return NULL;
	}
	rrl->limit = conf->rate_limit;
	rrl->slip = conf->rate_limit_slip;
	rrl->conf = conf;
	canon_cookie_secret_t seed;
	if (canon_cookie_secret_random(&seed) == 0) {
		memcpy(&rrl->seed, seed.secret, sizeof(rrl->seed));
	}
	return rrl;
}

void canon_rrl_free(canon_rrl_t *rrl)
{
	free(rrl);
}

/* FNV-1a over 'len' octets, from 'hash'. */
static uint64_t mix(uint64_t hash, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		hash = (hash ^ data[i]) * 0x100000001b3ull;
	}
	return hash;
}

/* The same over a name, case folded (RFC 4343: Example.COM and example.com are one key). */
static uint64_t mix_name(uint64_t hash, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i] >= 'A' && name[i] <= 'Z' ? (uint8_t)(name[i] + 32) : name[i];
		hash = (hash ^ c) * 0x100000001b3ull;
	}
	return hash;
}

static uint64_t mix_network(uint64_t hash, const struct sockaddr_storage *client)
{
	uint8_t family = (uint8_t)client->ss_family;
	hash = mix(hash, &family, 1);
	if (client->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)client;
		return mix(hash, (const uint8_t *)&v4->sin_addr, RRL_IPV4_OCTETS);
	}
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)client;
	return mix(hash, v6->sin6_addr.s6_addr, RRL_IPV6_OCTETS);
}

/* The kind of an answer, from its header and question (as NSD's rrl_classify). */
static canon_rrl_kind_t classify(const uint8_t *resp, uint16_t qtype)
{
	uint8_t rcode = knot_wire_get_rcode(resp);
	if (rcode == KNOT_RCODE_NXDOMAIN) {
		return CANON_RRL_NXDOMAIN;
	}
	if (rcode != KNOT_RCODE_NOERROR) {
		return CANON_RRL_ERROR;
	}
	if (qtype == KNOT_RRTYPE_ANY) {
		return CANON_RRL_ANY;
	}
	if (knot_wire_get_ancount(resp) > 0) {
		return CANON_RRL_ANSWER;
	}
	if (!knot_wire_get_aa(resp) && knot_wire_get_nscount(resp) > 0) {
		return CANON_RRL_REFERRAL;
	}
	return CANON_RRL_NODATA;
}

/* Whether the key of 'kind' names the question: not for kinds a flood varies names in. */
static bool keyed_by_name(canon_rrl_kind_t kind)
{
	return kind == CANON_RRL_ANSWER || kind == CANON_RRL_NODATA || kind == CANON_RRL_ANY;
}

/*
 * Count one answer for 'key' in the current second; true past the limit.
 * A fixed one-second window: up to twice the limit may pass around the turn
 * of a second, which is still the bound an amplifier cares about.
 */
static bool over_limit(canon_rrl_t *rrl, uint64_t key, uint32_t now)
{
	canon_rrl_bucket_t *b = &rrl->buckets[key & (CANON_RRL_BUCKETS - 1)];
	if (b->key != key || b->second != now) {
		b->key = key;
		b->second = now;
		b->count = 0;
	}
	if (b->count < rrl->limit) {
		b->count++;
		return false;
	}
	return true;
}

/* Cut the answer to header and question with TC: the client retries over TCP. */
static size_t slip(uint8_t *resp, size_t len, size_t question)
{
	knot_wire_set_ancount(resp, 0);
	knot_wire_set_nscount(resp, 0);
	knot_wire_set_arcount(resp, 0);
	knot_wire_set_tc(resp);
	if (question == 0) {
		knot_wire_set_qdcount(resp, 0);
	}
	size_t cut = KNOT_WIRE_HEADER_SIZE + question;
	return cut < len ? cut : len;
}

/*
 * Where the OPT record of the answer 'resp' starts, and its length; false when
 * it has none. The OPT's owner is the root, so it holds no compression pointer.
 */
static bool find_opt(const uint8_t *resp, size_t len, size_t question, size_t *start,
                     size_t *opt_len)
{
	const uint8_t *pos = resp + KNOT_WIRE_HEADER_SIZE + question, *end = resp + len;
	unsigned total = knot_wire_get_ancount(resp) + knot_wire_get_nscount(resp) +
	                 knot_wire_get_arcount(resp);
	for (unsigned i = 0; i < total; i++) {
		int size = knot_dname_wire_check(pos, end, resp);
		if (size <= 0 || end - pos < size + 10) {
			return false;
		}
		size_t rr_len = (size_t)size + 10 + knot_wire_read_u16(pos + size + 8);
		if ((size_t)(end - pos) < rr_len) {
			return false;
		}
		if (knot_wire_read_u16(pos + size) == KNOT_RRTYPE_OPT && size == 1) {
			*start = (size_t)(pos - resp);
			*opt_len = rr_len;
			return true;
		}
		pos += rr_len;
	}
	return false;
}

/*
 * RFC 7873 §5.2.3: header, question and the answer's OPT (with its fresh
 * server cookie), rcode BADCOOKIE (23: 7 in the header, 1 in the OPT's
 * extended rcode, RFC 6891 §6.1.3). 0 when the answer has no OPT.
 */
static size_t slip_badcookie(uint8_t *resp, size_t len, size_t question)
{
	size_t start, opt_len;
	if (question == 0 || !find_opt(resp, len, question, &start, &opt_len)) {
		return 0;
	}
	size_t cut = KNOT_WIRE_HEADER_SIZE + question;
	memmove(resp + cut, resp + start, opt_len);
	resp[cut + 5] = KNOT_RCODE_BADCOOKIE >> 4; /* Owner (1), type, class, then the TTL. */
	knot_wire_set_ancount(resp, 0);
	knot_wire_set_nscount(resp, 0);
	knot_wire_set_arcount(resp, 1);
	knot_wire_set_rcode(resp, KNOT_RCODE_BADCOOKIE & 0xf);
	return cut + opt_len;
}

canon_rrl_action_t canon_rrl_apply(canon_rrl_t *rrl, const struct sockaddr_storage *client,
                                   uint8_t *resp, size_t *len, uint32_t now, bool cookie)
{
	if (rrl == NULL || *len < KNOT_WIRE_HEADER_SIZE ||
	    canon_conf_rrl_exempt(rrl->conf, client)) {
		return CANON_RRL_PASS;
	}
	const uint8_t *qname = resp + KNOT_WIRE_HEADER_SIZE;
	int name_len = 0;
	uint16_t qtype = 0;
	if (knot_wire_get_qdcount(resp) == 1) {
		name_len = knot_dname_wire_check(qname, resp + *len, NULL);
		if (name_len > 0 && *len >= KNOT_WIRE_HEADER_SIZE + (size_t)name_len + 4) {
			qtype = knot_wire_read_u16(qname + name_len);
		} else {
			name_len = 0;
		}
	}
	canon_rrl_kind_t kind = classify(resp, qtype);
	uint8_t kind_octet = (uint8_t)kind;
	uint64_t key = mix(mix_network(rrl->seed ^ 0xcbf29ce484222325ull, client), &kind_octet, 1);
	if (keyed_by_name(kind)) {
		key = mix_name(key, qname, (size_t)name_len);
	}
	if (!over_limit(rrl, key, now)) {
		return CANON_RRL_PASS;
	}
	if (rrl->slip > 0 && ++rrl->slip_count >= rrl->slip) {
		rrl->slip_count = 0;
		size_t question = name_len > 0 ? (size_t)name_len + 4 : 0;
		size_t badcookie = cookie ? slip_badcookie(resp, *len, question) : 0;
		*len = badcookie > 0 ? badcookie : slip(resp, *len, question);
		return CANON_RRL_SLIPPED;
	}
	*len = 0;
	return CANON_RRL_DROPPED;
}
