/*
 * canon dig: sockets. One exchange per call, no retries (dig_exec.c retries).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cli/dig.h"

/* A message buffer: data holds len bytes, room for cap. */
typedef struct {
	uint8_t *data;
	size_t len;
	size_t cap;
} dig_msg_t;

/* Milliseconds on the monotonic clock. */
int64_t dig_now_ms(void);

/*
 * Send query to server over UDP and wait until deadline (dig_now_ms() time)
 * for a reply with the same ID; replies with other IDs are reported and
 * skipped. Returns 0 with reply filled, or a negative errno (-ETIMEDOUT,
 * -ECONNREFUSED, ...).
 */
int dig_net_udp(const dig_server_t *server, const dig_msg_t *query, dig_msg_t *reply,
                int64_t deadline);

/* The same over TCP, with the RFC 1035 §4.2.2 length prefix. */
int dig_net_tcp(const dig_server_t *server, const dig_msg_t *query, dig_msg_t *reply,
                int64_t deadline);

/* dig's wording for a negative errno from the functions above. */
const char *dig_net_strerror(int err);
