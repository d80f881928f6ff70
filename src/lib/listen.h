/*
 * The daemons' listening sockets (canon serve and canon resolve): a listen
 * address, the check that it is free, and its SO_REUSEPORT UDP and TCP
 * sockets. Opening sockets is all this does: which threads drain them is the
 * daemons' business.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

/* Most listen addresses one daemon takes. */
#define CANON_LISTEN_MAX 16

typedef struct {
	struct sockaddr_storage addr;
	socklen_t len;
	char text[64]; /* As the user wrote it, for messages. */
} canon_listen_t;

/*
 * Whether 'l' is free for UDP and TCP: binds it briefly without SO_REUSEPORT,
 * which fails when another process (say a second canon) holds it, since
 * SO_REUSEPORT sockets of the same user would otherwise share the port
 * silently. Returns 0 or -errno.
 */
int canon_listen_check_free(const canon_listen_t *l);

/* canon_listen_check_free() for each of 'count' addresses; logs the one taken. 0 or -1. */
int canon_listen_check_all(const canon_listen_t *list, size_t count);

/*
 * Open the non-blocking UDP and listening TCP sockets of 'l' (SO_REUSEPORT, so
 * every worker can hold its own). Returns 0, or -1 after logging why not; the
 * caller closes whichever of *udp_fd and *tcp_fd is not negative.
 */
int canon_listen_open(const canon_listen_t *l, int *udp_fd, int *tcp_fd);
