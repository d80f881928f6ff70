/*
 * Response rate limiting (RRL) for UDP answers, after NSD's rrl.c: responses
 * are counted per client network (IPv4 /24, IPv6 /56) and response kind, and
 * past 'rate-limit' a second they are dropped, every 'rate-limit-slip'th
 * one sent truncated (TC) so that a real client behind a spoofed flood can
 * still ask over TCP (RFC 7766 §5, as NSD and Knot do).
 *
 * Each worker owns one table and is its only reader and writer: nothing is
 * shared, locked or atomic on the query path. The limit therefore applies per
 * worker (NSD's table is likewise per server process): a client whose queries
 * the kernel spreads over W workers (SO_REUSEPORT hashes the source port) may
 * get up to W times the limit. A shared table, even with relaxed atomics,
 * would need a read-modify-write on cache lines every worker writes, for
 * every answer: the line bounces between cores under exactly the flood RRL
 * is for, and the query path must not write shared lines.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve/config.h"

/* Buckets of one worker's table (a power of two; a collision replaces the older key). */
#define CANON_RRL_BUCKETS 16384

/* Response kinds counted apart (NSD's rrl_type_*, a subset). */
typedef enum {
	CANON_RRL_ANSWER,   /* Data for the question. */
	CANON_RRL_NODATA,   /* NOERROR, no data, authoritative. */
	CANON_RRL_NXDOMAIN, /* Per network only: a random-subdomain flood is one key. */
	CANON_RRL_REFERRAL, /* Per network only. */
	CANON_RRL_ANY,      /* QTYPE ANY. */
	CANON_RRL_ERROR,    /* Any other rcode, per network only. */
} canon_rrl_kind_t;

typedef struct {
	uint64_t key;
	uint32_t second; /* The second 'count' is for. */
	uint32_t count;
} canon_rrl_bucket_t;

typedef struct canon_rrl {
	unsigned limit; /* rate-limit: responses per second per key; 0: off */
	unsigned slip;  /* rate-limit-slip: every Nth limited answer goes out with TC; 0 never */
	unsigned slip_count;
	uint64_t seed; /* Hash seed, random per table: keys cannot be aimed at one bucket. */
	const canon_serve_conf_t *conf; /* rate-limit-exempt prefixes */
	canon_rrl_bucket_t buckets[CANON_RRL_BUCKETS];
} canon_rrl_t;

/* What canon_rrl_apply() did with an answer. */
typedef enum {
	CANON_RRL_PASS,    /* Under the limit, exempt, or RRL is off: sent as it is. */
	CANON_RRL_DROPPED, /* Not sent. */
	CANON_RRL_SLIPPED, /* Cut to header and question, with TC. */
} canon_rrl_action_t;

/* A table for one worker with the settings of 'conf', or NULL when RRL is off or out of memory. */
canon_rrl_t *canon_rrl_new(const canon_serve_conf_t *conf);
void canon_rrl_free(canon_rrl_t *rrl);

/*
 * Count the UDP answer 'resp' of '*len' octets to 'client' at time 'now'
 * (seconds) and limit it: on CANON_RRL_DROPPED *len is 0, on
 * CANON_RRL_SLIPPED the answer is cut in place and *len is its new length.
 * 'cookie': the query had a client cookie (and no valid server cookie), so
 * the answer's OPT carries a fresh server cookie: a slip then keeps that OPT
 * and says BADCOOKIE instead of TC (RFC 7873 §5.2.3, as BIND does), and the
 * client's retry with the cookie is not limited.
 */
canon_rrl_action_t canon_rrl_apply(canon_rrl_t *rrl, const struct sockaddr_storage *client,
                                   uint8_t *resp, size_t *len, uint32_t now, bool cookie);
