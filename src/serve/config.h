/*
 * Server settings, from the command line or a config file. The file is plain
 * "key: value" lines; '#' starts a comment:
 *
 *   listen: 127.0.0.1:5300       # repeatable; [::1]:5300 for IPv6; port defaults to 53
 *   workers: 2                   # default: the number of CPUs
 *   log-level: info              # error, warning, info or debug
 *   udp-max-payload: 1232        # largest UDP answer with EDNS0 (512..4096)
 *   zone: example.test. examples/example.test.zone   # repeatable; paths relative to the file
 *   zone: example.org. example.org.zone flatten=apex  # CNAME flattening: none, apex, all
 *   upstream: 127.0.0.1:5301     # resolver for ALIAS targets (or root-hints: FILE)
 *
 * and for canon resolve:
 *
 *   root-hints: root.hints       # master file with the root's NS and addresses
 *   forward: 192.0.2.53:53       # repeatable: forward instead of iterating
 *   query-port: 53               # port of the authoritative servers asked
 *   cache-size: 67108864         # bytes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/listen.h"
#include "lib/zone_load.h"

#define CANON_CONF_MAX_LISTEN CANON_LISTEN_MAX

typedef struct {
	char *origin;
	char *file;
	canon_flatten_t flatten; /* CNAME flattening mode (lib/zone_load.h) */
} canon_zone_conf_t;

typedef struct {
	canon_listen_t listen[CANON_CONF_MAX_LISTEN];
	size_t listen_count;
	canon_zone_conf_t *zones;
	size_t zone_count;
	unsigned workers; /* 0: one per CPU. */
	int log_level;
	uint16_t udp_max_payload;
	char *path; /* The config file, when there is one (SIGHUP re-reads its zones). */
	/* canon resolve */
	char *root_hints;                                       /* root-hints: FILE */
	struct sockaddr_storage forward[CANON_CONF_MAX_LISTEN]; /* forward: ADDR[:PORT] */
	socklen_t forward_len[CANON_CONF_MAX_LISTEN];
	size_t forward_count;
	uint16_t query_port; /* query-port: port of authoritative servers (default 53) */
	size_t cache_size;   /* cache-size: bytes (default 64 MiB) */
} canon_serve_conf_t;

void canon_conf_init(canon_serve_conf_t *conf);
void canon_conf_free(canon_serve_conf_t *conf);

/* "127.0.0.1:5300", "[::1]:5300", "::1" or "127.0.0.1" (port 53). 0 or -EINVAL. */
int canon_conf_add_listen(canon_serve_conf_t *conf, const char *text);

/* Add a forwarder "ADDR[:PORT]"; 0 or -EINVAL. */
int canon_conf_add_forward(canon_serve_conf_t *conf, const char *text);

/*
 * Add a zone; 'options' is NULL or "flatten=none|apex|all". 0, -EINVAL for bad
 * options, -ENOMEM.
 */
int canon_conf_add_zone(canon_serve_conf_t *conf, const char *origin, const char *file,
                        const char *options);

/*
 * Read a config file into 'conf' (added to what is there). Errors are printed
 * to stderr as "file:line: message"; returns 0 or -EINVAL.
 */
int canon_conf_read_file(canon_serve_conf_t *conf, const char *path);
