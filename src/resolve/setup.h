/*
 * A resolver configuration from the daemons' settings: the one `canon
 * resolve` answers with, and the one `canon serve` flattens ALIAS targets with.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolve/iterate.h"

/* What a resolver is set up from: the few settings of the daemons it uses. */
typedef struct {
	const char *root_hints;                 /* Master file of root hints, or NULL. */
	const struct sockaddr_storage *forward; /* 'forward_count' forwarders, or none. */
	const socklen_t *forward_len;
	size_t forward_count;
	uint16_t query_port;                        /* Port of the authoritative servers asked. */
	const canon_prefix_list_t *dont_query;      /* Never sent to (may be NULL). */
	const canon_prefix_list_t *allow_recursion; /* Clients answered; NULL/empty: loopback. */
	size_t cache_bytes;
} canon_resolver_settings_t;

/*
 * Fill 'r' from 's': a cache of s->cache_bytes, the forwarders, and else the
 * root hints of s (or 'default_hints' when it names none). Returns 0, or -1
 * after a message; canon_resolver_teardown() frees what was set up either way.
 */
int canon_resolver_setup(canon_resolver_conf_t *r, const canon_resolver_settings_t *s,
                         const char *default_hints);

/* Free the cache and the root hints of 'r'. */
void canon_resolver_teardown(canon_resolver_conf_t *r);
