/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lib/log.h"
#include "resolve/setup.h"

#define QUERY_TIMEOUT_MS       800  /* One query to one server. */
#define RESOLUTION_DEADLINE_MS 4000 /* A whole resolution. */

int canon_resolver_setup(canon_resolver_conf_t *r, const canon_resolver_settings_t *s,
                         const char *default_hints)
{
	canon_cache_limits_t limits = {.max_bytes = s->cache_bytes};
	*r = (canon_resolver_conf_t){.cache = canon_cache_new(&limits),
	                             .infra = canon_infra_new(),
	                             .query_port = s->query_port,
	                             .timeout_ms = QUERY_TIMEOUT_MS,
	                             .deadline_ms = RESOLUTION_DEADLINE_MS};
	if (s->dont_query != NULL) {
		r->dont_query = *s->dont_query;
	}
	if (s->allow_recursion != NULL) {
		r->allow_recursion = *s->allow_recursion;
	}
	if (r->cache == NULL || r->infra == NULL) {
		canon_log(CANON_LOG_ERROR, "resolver: out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->forward_count && i < CANON_RESOLVE_SERVERS_MAX; i++) {
		r->forward[i].addr = s->forward[i];
		r->forward[i].len = s->forward_len[i];
		r->forward_count++;
	}
	if (r->forward_count > 0) {
		return 0;
	}
	const char *hints = s->root_hints ? s->root_hints : default_hints;
	return canon_resolver_load_hints(r, hints) == 0 ? 0 : -1;
}

void canon_resolver_teardown(canon_resolver_conf_t *r)
{
	canon_cache_free(r->cache);
	canon_infra_free(r->infra);
	knot_rrset_free(r->root_ns, NULL);
	for (unsigned i = 0; i < r->root_addr_count; i++) {
		knot_rrset_free(r->root_addrs[i], NULL);
	}
	*r = (canon_resolver_conf_t){0};
}
