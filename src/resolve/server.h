/*
 * canon resolve: the recursive resolver's sockets and threads.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "resolve/iterate.h"
#include "serve/config.h"

/*
 * Answer recursive queries on conf's listen addresses until SIGTERM or SIGINT.
 * Only loopback clients are answered. Returns the exit status.
 */
int canon_resolver_run(canon_serve_conf_t *conf, canon_resolver_conf_t *resolver);
