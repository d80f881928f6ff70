/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prefix.h"

int canon_prefix_parse(const char *text, canon_prefix_t *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	if (len >= sizeof(addr)) {
		return -EINVAL;
	}
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(out, 0, sizeof(*out));
	unsigned long max = 32;
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&out->addr)->sin_addr) == 1) {
		out->addr.ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&out->addr)->sin6_addr) ==
	           1) {
		out->addr.ss_family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	unsigned long bits = max;
	if (slash != NULL) {
		char *end;
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits > max) {
			return -EINVAL;
		}
	}
	out->len = (uint8_t)bits;
	return 0;
}

bool canon_prefix_match(const canon_prefix_t *prefix, const struct sockaddr *addr)
{
	if (prefix->addr.ss_family != addr->sa_family) {
		return false;
	}
	const uint8_t *a, *b;
	if (addr->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)&prefix->addr)->sin_addr;
		b = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	} else if (addr->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)&prefix->addr)->sin6_addr;
		b = (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
	} else {
		return false;
	}
	size_t whole = prefix->len / 8;
	if (memcmp(a, b, whole) != 0) {
		return false;
	}
	uint8_t mask = (uint8_t)(0xff00u >> (prefix->len % 8));
	return prefix->len % 8 == 0 || ((a[whole] ^ b[whole]) & mask) == 0;
}

int canon_prefix_list_add(canon_prefix_list_t *list, const char *text)
{
	if (list->count >= CANON_PREFIX_LIST_MAX) {
		return -ENOSPC;
	}
	int ret = canon_prefix_parse(text, &list->items[list->count]);
	if (ret == 0) {
		list->count++;
	}
	return ret;
}

bool canon_prefix_list_match(const canon_prefix_list_t *list, const struct sockaddr *addr)
{
	for (size_t i = 0; i < list->count; i++) {
		if (canon_prefix_match(&list->items[i], addr)) {
			return true;
		}
	}
	return false;
}
