/*
 * One DNS query/reply exchange over UDP or TCP, bounded by a deadline: the
 * client side shared by canon dig, canon check --resolve and the resolver.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A message buffer: data holds len bytes, room for cap. */
typedef struct {
	uint8_t *data;
	size_t len;
	size_t cap;
} canon_msg_t;

/* Where to send, and who hears about replies that are not ours (may be NULL). */
typedef struct {
	const struct sockaddr *addr;
	socklen_t addrlen;
	void (*warn)(const char *why);
} canon_net_peer_t;

/* Milliseconds on the monotonic clock. */
int64_t canon_now_ms(void);

/*
 * Send 'query' over UDP and wait until 'deadline' (canon_now_ms() time) for a
 * reply with the same ID; other replies are reported to peer->warn and skipped.
 * Returns 0 with 'reply' filled, or a negative errno (-ETIMEDOUT, -ECONNREFUSED, ...).
 */
int canon_net_udp(const canon_net_peer_t *peer, const canon_msg_t *query, canon_msg_t *reply,
                  int64_t deadline);

/* The same over TCP, with the RFC 1035 §4.2.2 length prefix. */
int canon_net_tcp(const canon_net_peer_t *peer, const canon_msg_t *query, canon_msg_t *reply,
                  int64_t deadline);

/* dig's wording for a negative errno from the functions above. */
const char *canon_net_strerror(int err);

/*
 * "127.0.0.1:5300", "[::1]:5300", "::1" or "127.0.0.1" ('default_port') into
 * 'addr'. Returns 0 or -EINVAL.
 */
int canon_net_addr_parse(const char *text, uint16_t default_port, struct sockaddr_storage *addr,
                         socklen_t *len);

/* "127.0.0.1:5300" or "[::1]:5300". */
void canon_net_addr_str(const struct sockaddr_storage *addr, char *out, size_t size);
