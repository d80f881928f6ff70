/*
 * Address prefixes ("127.0.0.0/8", "::1/128", an address alone) and short
 * lists of them: who may transfer a zone, who may use the resolver, and where
 * the resolver must never send (do-not-query-address).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CANON_PREFIX_LIST_MAX 32

typedef struct {
	struct sockaddr_storage addr; /* Family and address; the port is not used. */
	uint8_t len;                  /* Bits. */
} canon_prefix_t;

typedef struct {
	canon_prefix_t items[CANON_PREFIX_LIST_MAX];
	size_t count;
} canon_prefix_list_t;

/* "127.0.0.0/8", "::1/128", or an address alone (all its bits). 0 or -EINVAL. */
int canon_prefix_parse(const char *text, canon_prefix_t *out);

/* Whether 'addr' (AF_INET or AF_INET6) lies in 'prefix'. */
bool canon_prefix_match(const canon_prefix_t *prefix, const struct sockaddr *addr);

/* Parse 'text' onto the list: 0, -EINVAL (bad text) or -ENOSPC (list full). */
int canon_prefix_list_add(canon_prefix_list_t *list, const char *text);

/* Whether 'addr' lies in any prefix of the list. */
bool canon_prefix_list_match(const canon_prefix_list_t *list, const struct sockaddr *addr);
