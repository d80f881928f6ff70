/*
 * Query logging in dnstap format (https://dnstap.info), as Knot's mod-dnstap,
 * BIND's and Unbound's: AUTH_QUERY and AUTH_RESPONSE messages (protobuf,
 * src/serve/dnstap.proto) in a Frame Streams sink written by libfstrm.
 *
 * Each worker writes to its own input queue of one fstrm I/O thread; the
 * queues are single-producer single-consumer and lock-free, so logging takes
 * no lock. It does allocate: fstrm takes ownership of each message's buffer.
 * The query path's no-allocation rule holds with dnstap off (as in Knot).
 *
 * Built only with libfstrm and protobuf-c (CANON_HAVE_DNSTAP); without them
 * the dnstap settings are refused with an error saying so.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve/config.h"

/* Prefix of a sink that is a unix socket (Knot's mod-dnstap sink); otherwise a file. */
#define CANON_DNSTAP_UNIX_PREFIX "unix:"

/* The server's dnstap writer: one fstrm I/O thread. */
typedef struct canon_dnstap canon_dnstap_t;
/* One worker's way in: its own input queue. */
typedef struct canon_dnstap_queue canon_dnstap_queue_t;

/* Whether this canon was built with dnstap (libfstrm and protobuf-c). */
bool canon_dnstap_available(void);

/*
 * Start writing to conf->dnstap (a file, created or truncated, or
 * "unix:PATH", a socket a collector such as fstrm_capture listens on; fstrm
 * reconnects when it goes away) with one input queue for each of 'workers'.
 * Returns NULL after logging why (a file that cannot be written).
 */
canon_dnstap_t *canon_dnstap_open(const canon_serve_conf_t *conf, unsigned workers);

/* Worker 'id''s queue (id < workers given to open). */
canon_dnstap_queue_t *canon_dnstap_queue(canon_dnstap_t *tap, unsigned id);

/*
 * Log the query 'msg' received from 'peer' over UDP or TCP (AUTH_QUERY) and
 * note its time for the response. Call before the query is answered (the
 * answer may change the buffer). A full queue drops the message (counted).
 */
void canon_dnstap_query(canon_dnstap_queue_t *q, const struct sockaddr_storage *peer, bool tcp,
                        const uint8_t *msg, size_t len);

/* Log the response 'msg' sent to 'peer' for the last query (AUTH_RESPONSE). */
void canon_dnstap_response(canon_dnstap_queue_t *q, const struct sockaddr_storage *peer, bool tcp,
                           const uint8_t *msg, size_t len);

/* Write out what is queued, stop the I/O thread and free it all (NULL: nothing). */
void canon_dnstap_close(canon_dnstap_t *tap);
