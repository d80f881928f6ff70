/*
 * The authoritative server: zones loaded into a table, worker threads each with
 * their own SO_REUSEPORT UDP and TCP sockets on every listen address, and
 * SIGHUP reloads that swap the table atomically.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

#include "resolve/setup.h"
#include "serve/config.h"

/*
 * Serve until SIGTERM or SIGINT; SIGHUP reloads the zones (and the zone list of
 * the config file). A zone that fails to load is logged and left out (or keeps
 * its previous version on reload); the others are served. Returns the process
 * exit status: 0 after a clean stop, 1 when a socket could not be opened.
 */
int canon_server_run(canon_serve_conf_t *conf);

/* The resolver settings of 'conf' (pointing into it), with a cache of 'cache_bytes'. */
canon_resolver_settings_t canon_serve_resolver_settings(const canon_serve_conf_t *conf,
                                                        size_t cache_bytes);
