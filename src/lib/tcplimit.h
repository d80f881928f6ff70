/*
 * Limits on DNS-over-TCP clients shared by canon serve (serve/tcp.c) and
 * canon resolve (resolve/server.c), so that both cut a slow client at the same
 * point. RFC 7766 §6.2.3 lets a server close a connection that ties up its
 * resources; both also evict the connection idle longest when every slot is
 * taken, as NSD and Knot do.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

/*
 * A whole message, length prefix included, must arrive within this many ms of
 * its first byte, however the bytes trickle in (slowloris).
 */
#define CANON_TCP_MSG_DEADLINE_MS 5000
