/*
 * canon check: shared state of check_main.c, check_fix.c and check_resolve.c.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>

#include <libknot/consts.h>

#include "lib/check.h"
#include "lib/zone.h"

typedef struct {
	const char *origin;
	bool json;
	bool fix;
	bool resolve;
	const char *resolver;    /* ADDR[:PORT] for --resolve, or NULL for resolv.conf's. */
	canon_flatten_t flatten; /* --flatten: check the zone as `serve` with flatten= uses it. */
	const char **ignore;     /* --ignore: rule ids whose findings are dropped. */
	size_t ignore_count;
	char **files;
	int file_count;
} canon_check_opts_t;

typedef struct {
	const char *path;
	char origin[KNOT_DNAME_TXT_MAXLEN + 1];
	canon_zone_t *zone;                /* NULL when the file could not be read. */
	canon_zone_positions_t *positions; /* Where the zone's records were read. */
	canon_findings_t findings;
	size_t *ignored; /* Per --ignore rule (opts.ignore order): findings dropped. */
} canon_check_zone_t;

/* The rules only --resolve applies (check_resolve.c). */
extern const canon_rule_t CANON_RULE_DANGLING_EXTERNAL;
extern const canon_rule_t CANON_RULE_UNRESOLVED;

/*
 * --fix: print each zone file with the targets of in-zone alias chains
 * replaced by their final names, every other byte unchanged. 0 or -errno.
 */
int canon_check_fix(const canon_check_zone_t *zones, size_t count);

/*
 * --resolve: look up the out-of-zone targets of CNAME, MX and NS records at
 * 'server' (NULL: resolv.conf) and add findings. 0, or -EINVAL for a bad server.
 */
int canon_check_resolve(canon_check_zone_t *zone, const char *server);
