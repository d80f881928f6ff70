/*
 * A resolver configuration from the daemons' settings: the one `canon
 * resolve` answers with, and the one `canon serve` flattens ALIAS targets with.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

#include "resolve/iterate.h"
#include "serve/config.h"

/*
 * Fill 'r' from 'conf': a cache of 'cache_bytes', the forwarders, and else the
 * root hints of conf (or 'default_hints' when it names none). Returns 0, or -1
 * after a message; canon_resolver_teardown() frees what was set up either way.
 */
int canon_resolver_setup(canon_resolver_conf_t *r, const canon_serve_conf_t *conf,
                         size_t cache_bytes, const char *default_hints);

/* Free the cache and the root hints of 'r'. */
void canon_resolver_teardown(canon_resolver_conf_t *r);
