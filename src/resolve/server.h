/*
 * canon resolve: the recursive resolver's sockets and threads.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#include "lib/listen.h"
#include "resolve/iterate.h"

/*
 * Answer recursive queries on the 'count' addresses of 'listen' until SIGTERM
 * or SIGINT, as 'user' (NULL: as started) once the sockets are open. Only
 * the clients of resolver->allow_recursion (default: loopback) are answered.
 * With 'metrics', Prometheus text is served at GET /metrics on that address.
 * Returns the exit status.
 */
int canon_resolver_run(const canon_listen_t *listen, size_t count, const char *user,
                       canon_resolver_conf_t *resolver, const struct sockaddr_storage *metrics,
                       socklen_t metrics_len);
