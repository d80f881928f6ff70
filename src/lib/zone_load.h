/*
 * Zone files (RFC 1035 §5 master format, via libzscanner) into a canon_zone_t,
 * with the checks of lib/check.h run on the result.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/check.h"
#include "lib/positions.h"
#include "lib/zone.h"

/*
 * What one zone load may read (docs/answers.md, "Limits on zone files"):
 * the text of the zone file, its $INCLUDEd files and the records $GENERATE
 * makes count against max_size together; each $INCLUDE counts at least
 * CANON_INCLUDE_COST bytes. A FIFO, a device or a directory is never read.
 */
typedef struct {
	uint64_t max_size;      /* zone-max-size: bytes */
	unsigned include_depth; /* $INCLUDEs inside $INCLUDEs, at most */
} canon_zone_limits_t;

/* 1 GiB: ten times the largest zone files canon is tested with, far below RAM. */
#define CANON_ZONE_MAX_SIZE_DEFAULT (1ull << 30)
/* NSD's default (simdzone include_limit); BIND and Knot have none. */
#define CANON_INCLUDE_DEPTH_DEFAULT 10
#define CANON_INCLUDE_COST          4096

/* The limits of every later load (process-wide; set before loading starts). */
void canon_zone_load_set_limits(const canon_zone_limits_t *limits);
void canon_zone_load_get_limits(canon_zone_limits_t *limits);

/*
 * With 'stop', every load in progress or started later stops at its next
 * record and fails with a finding ("the process is stopping"); async-signal
 * safe, and safe from any thread.
 */
void canon_zone_load_interrupt(bool stop);

/* Whether canon_zone_load_interrupt(true) was called: a load started now would stop at once. */
bool canon_zone_load_interrupted(void);

/*
 * Parse 'path' as the zone 'origin' (presentation format, e.g. "example.test.")
 * and check it. Every syntax error and rule finding is appended to 'findings'
 * with its file and line; parsing goes on after a syntax error so one run
 * reports them all. Returns 0 with a sealed zone in *zone (which may still have
 * findings; see canon_findings_block_load), -EINVAL for a bad origin, -ENOENT
 * when the file cannot be read, -EFBIG past zone-max-size, -EINTR after
 * canon_zone_load_interrupt(), -ENOMEM; a finding with file:line says why.
 */
int canon_zone_load(const char *origin, const char *path, canon_findings_t *findings,
                    canon_zone_t **zone);

/* "none", "apex" or "all"; 0 or -EINVAL. */
int canon_flatten_parse(const char *text, canon_flatten_t *mode);

/*
 * canon_zone_load() with a flatten mode: the zone keeps its CNAMEs as written,
 * and those 'flatten' covers are answered and checked as ALIAS (canon_zone_t.flatten).
 * With 'positions' non-NULL, *positions receives where each RRset was read
 * (the caller frees it with canon_positions_free); else they are freed once
 * the zone is checked. On failure neither is returned.
 */
int canon_zone_load_full(const char *origin, const char *path, canon_flatten_t flatten,
                         canon_findings_t *findings, canon_zone_t **zone,
                         canon_zone_positions_t **positions);

/* Findings of one rule logged one by one at a load; the rest are one summary line. */
#define CANON_LOAD_FINDINGS_LOGGED 3

/*
 * canon_zone_load() for serving: also fails (-EINVAL, zone freed) when a finding
 * blocks loading. Findings are logged as "zone ORIGIN: file:line: message
 * [rule]", the first CANON_LOAD_FINDINGS_LOGGED of each rule, then one line per
 * rule for the rest ("zone ORIGIN: ... and 9,990 more [cname-chain]"); they are
 * freed before it returns. On failure 'why' (when not NULL) receives the
 * finding that stopped the load, "file:line: message [rule]".
 */
int canon_zone_load_for_serving(const char *origin, const char *path, canon_flatten_t flatten,
                                canon_zone_t **zone, char *why, size_t why_size);

/*
 * The origin of a zone file when none is given: the owner of its first SOA
 * record, else its file name less a "db." prefix and a ".zone"/".db" suffix.
 * Writes a presentation-format name with a trailing dot into 'out'.
 */
void canon_zone_guess_origin(const char *path, char *out, size_t size);
