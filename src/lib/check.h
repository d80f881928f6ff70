/*
 * The zone checks: one module for `canon serve` (which refuses a zone with a
 * load-blocking finding) and `canon check` (which reports every finding).
 * Each rule cites the RFC it comes from in its message.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/positions.h"
#include "lib/zone.h"

typedef enum {
	CANON_SEVERITY_ERROR,
	CANON_SEVERITY_WARNING,
} canon_severity_t;

typedef struct {
	const char *id; /* e.g. "cname-and-other-data" */
	canon_severity_t severity;
	bool blocks_load; /* `canon serve` refuses a zone that has it. */
} canon_rule_t;

/* The rules, for the loader and the checker to name. */
extern const canon_rule_t CANON_RULE_SYNTAX;
extern const canon_rule_t CANON_RULE_UNREADABLE;
extern const canon_rule_t CANON_RULE_OUT_OF_ZONE;
extern const canon_rule_t CANON_RULE_BAD_CLASS;
extern const canon_rule_t CANON_RULE_NO_SOA;
extern const canon_rule_t CANON_RULE_SOA_NOT_APEX;
extern const canon_rule_t CANON_RULE_TTL_MISMATCH;
extern const canon_rule_t CANON_RULE_CNAME_AND_OTHER;
extern const canon_rule_t CANON_RULE_CNAME_AT_APEX;
extern const canon_rule_t CANON_RULE_MULTIPLE_CNAMES;
extern const canon_rule_t CANON_RULE_DNAME_AND_CNAME;
extern const canon_rule_t CANON_RULE_MULTIPLE_DNAMES;
extern const canon_rule_t CANON_RULE_DATA_BELOW_DNAME;
extern const canon_rule_t CANON_RULE_MX_TO_CNAME;
extern const canon_rule_t CANON_RULE_NS_TO_CNAME;
extern const canon_rule_t CANON_RULE_CNAME_LOOP;
extern const canon_rule_t CANON_RULE_CNAME_CHAIN;
extern const canon_rule_t CANON_RULE_CNAME_DANGLING;
extern const canon_rule_t CANON_RULE_CNAME_TO_IP;
extern const canon_rule_t CANON_RULE_ORIGIN_TWICE;
extern const canon_rule_t CANON_RULE_SRV_TO_CNAME;
extern const canon_rule_t CANON_RULE_PTR_TO_CNAME;
extern const canon_rule_t CANON_RULE_CNAME_TTL;
extern const canon_rule_t CANON_RULE_ALIAS_AND_ADDRESS;
extern const canon_rule_t CANON_RULE_MULTIPLE_ALIASES;
extern const canon_rule_t CANON_RULE_RRSET_TOO_LARGE;
extern const canon_rule_t CANON_RULE_MULTIPLE_SOA;
extern const canon_rule_t CANON_RULE_TARGET_MISSING;
extern const canon_rule_t CANON_RULE_TARGET_NO_ADDRESS;
extern const canon_rule_t CANON_RULE_DELEGATION_NO_GLUE;
extern const canon_rule_t CANON_RULE_MISSING_FINAL_DOT;
extern const canon_rule_t CANON_RULE_RRSIG_MISSING;
extern const canon_rule_t CANON_RULE_RRSIG_EXPIRED;
extern const canon_rule_t CANON_RULE_RRSIG_NOT_YET_VALID;

/* The rule of this module named 'id' ("cname-chain"), or NULL. */
const canon_rule_t *canon_rule_by_id(const char *id);

/*
 * The time (seconds since the epoch) RRSIG validity periods are compared with
 * by every later check; 0 (the default) means the clock. For `canon check --now`.
 */
void canon_check_set_now(int64_t now);

typedef struct {
	const canon_rule_t *rule;
	char *file;    /* NULL when the finding has no place in a file (see canon_finding_place). */
	uint32_t line; /* 0 when unknown. */
	char *owner;   /* Presentation format, or NULL. */
	uint16_t type; /* RR type the finding is about, or 0. */
	char *message;
	char *hint;       /* How to fix it, or NULL. */
	char *fix_target; /* For `canon check --fix`: the record's new target, or NULL. */
} canon_finding_t;

typedef struct {
	canon_finding_t *items;
	size_t count;
	size_t cap;
} canon_findings_t;

void canon_findings_init(canon_findings_t *findings);
void canon_findings_free(canon_findings_t *findings);

/* Append a finding; 'fmt' builds its message. Allocation failures drop it. */
void canon_findings_add(canon_findings_t *findings, const canon_rule_t *rule, const char *file,
                        uint32_t line, const knot_dname_t *owner, uint16_t type, const char *hint,
                        const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Append a copy of 'finding' (from another list). Allocation failures drop it. */
void canon_findings_append_copy(canon_findings_t *findings, const canon_finding_t *finding);

/* Number of findings of 'severity'. */
size_t canon_findings_count(const canon_findings_t *findings, canon_severity_t severity);

/* Whether any finding makes `canon serve` refuse the zone. */
bool canon_findings_block_load(const canon_findings_t *findings);

/* Set the --fix replacement target of the finding added last. */
void canon_findings_set_fix(canon_findings_t *findings, const knot_dname_t *target);

/* Order findings[from..] by file and line. */
void canon_findings_sort(canon_findings_t *findings, size_t from);

/*
 * Where a finding is, for messages: "file:line"; for one about a record with no
 * place in a file (no positions: say, a record added by an UPDATE), its owner
 * and type ("www.example. CNAME"); else "-:line".
 */
void canon_finding_place(const canon_finding_t *finding, char *out, size_t size);

/* "PLACE: severity: message [rule]" lines (canon_finding_place), each followed by "  hint: ..." if
 * any. */
void canon_findings_print(const canon_findings_t *findings, FILE *out);

/*
 * Log findings about zone 'origin' (lib/log.h), each as "zone ORIGIN: [WHY: ]
 * PLACE: message [rule]": the first 'per_rule' of each rule one by one, then
 * one line per rule for the rest ("zone ORIGIN: ... and 9,990 more
 * [cname-chain]"), so that a zone with many findings logs a bounded number of
 * lines. Findings that block loading are always logged. 'why' may be NULL.
 */
void canon_findings_log(const canon_findings_t *findings, const char *origin, const char *why,
                        size_t per_rule);

/*
 * The rule that forbids RRsets of 'type' and 'other' at one name (CNAME and
 * other data, DNAME and CNAME, ALIAS and addresses), or NULL when they may
 * share it. The load-time checks and RFC 2136 UPDATE (§3.4.2.2) both ask here.
 */
const canon_rule_t *canon_check_coexist(uint16_t type, uint16_t other);

/*
 * Run every alias and consistency rule on a sealed zone. 'positions' (from the
 * loader, lib/positions.h) gives findings their file:line; with NULL, or for a
 * record it has no place for, findings name the record's owner and type instead.
 */
void canon_check_zone(const canon_zone_t *zone, const canon_zone_positions_t *positions,
                      canon_findings_t *findings);
