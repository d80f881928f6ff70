/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>

#include "lib/alias.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/name.h"
#include "lib/rdata.h"

#define E CANON_SEVERITY_ERROR
#define W CANON_SEVERITY_WARNING

const canon_rule_t CANON_RULE_SYNTAX = {"syntax", E, true};
const canon_rule_t CANON_RULE_UNREADABLE = {"unreadable", E, true};
const canon_rule_t CANON_RULE_OUT_OF_ZONE = {"out-of-zone", W, false};
const canon_rule_t CANON_RULE_BAD_CLASS = {"bad-class", E, true};
const canon_rule_t CANON_RULE_NO_SOA = {"no-soa", E, true};
const canon_rule_t CANON_RULE_SOA_NOT_APEX = {"soa-not-at-apex", E, true};
const canon_rule_t CANON_RULE_TTL_MISMATCH = {"ttl-mismatch", W, false};
const canon_rule_t CANON_RULE_CNAME_AND_OTHER = {"cname-and-other-data", E, true};
const canon_rule_t CANON_RULE_CNAME_AT_APEX = {"cname-at-apex", E, true};
const canon_rule_t CANON_RULE_MULTIPLE_CNAMES = {"multiple-cnames", E, true};
const canon_rule_t CANON_RULE_DNAME_AND_CNAME = {"dname-and-cname", E, true};
const canon_rule_t CANON_RULE_MULTIPLE_DNAMES = {"multiple-dnames", E, true};
const canon_rule_t CANON_RULE_DATA_BELOW_DNAME = {"data-below-dname", E, true};
const canon_rule_t CANON_RULE_MX_TO_CNAME = {"mx-to-cname", E, false};
const canon_rule_t CANON_RULE_NS_TO_CNAME = {"ns-to-cname", E, false};
const canon_rule_t CANON_RULE_CNAME_LOOP = {"cname-loop", E, false};
const canon_rule_t CANON_RULE_CNAME_CHAIN = {"cname-chain", W, false};
const canon_rule_t CANON_RULE_CNAME_DANGLING = {"cname-dangling", E, false};
const canon_rule_t CANON_RULE_CNAME_TO_IP = {"cname-to-ip", W, false};
const canon_rule_t CANON_RULE_ORIGIN_TWICE = {"origin-twice", W, false};
const canon_rule_t CANON_RULE_SRV_TO_CNAME = {"srv-to-cname", W, false};
const canon_rule_t CANON_RULE_PTR_TO_CNAME = {"ptr-to-cname", W, false};
const canon_rule_t CANON_RULE_CNAME_TTL = {"cname-ttl", W, false};
const canon_rule_t CANON_RULE_ALIAS_AND_ADDRESS = {"alias-and-address", E, true};
const canon_rule_t CANON_RULE_MULTIPLE_ALIASES = {"multiple-aliases", E, true};
const canon_rule_t CANON_RULE_RRSET_TOO_LARGE = {"rrset-too-large", E, true};
const canon_rule_t CANON_RULE_MULTIPLE_SOA = {"multiple-soa", E, true};
const canon_rule_t CANON_RULE_TARGET_MISSING = {"target-missing", E, false};
const canon_rule_t CANON_RULE_TARGET_NO_ADDRESS = {"target-no-address", E, false};
const canon_rule_t CANON_RULE_DELEGATION_NO_GLUE = {"delegation-no-glue", E, false};
const canon_rule_t CANON_RULE_MISSING_FINAL_DOT = {"missing-final-dot", E, false};
const canon_rule_t CANON_RULE_RRSIG_MISSING = {"rrsig-missing", E, false};
const canon_rule_t CANON_RULE_RRSIG_EXPIRED = {"rrsig-expired", E, false};
const canon_rule_t CANON_RULE_RRSIG_NOT_YET_VALID = {"rrsig-not-yet-valid", E, false};

/* Every rule of this module, for canon_rule_by_id(). */
static const canon_rule_t *const ALL_RULES[] = {
        &CANON_RULE_SYNTAX,
        &CANON_RULE_UNREADABLE,
        &CANON_RULE_OUT_OF_ZONE,
        &CANON_RULE_BAD_CLASS,
        &CANON_RULE_NO_SOA,
        &CANON_RULE_SOA_NOT_APEX,
        &CANON_RULE_TTL_MISMATCH,
        &CANON_RULE_CNAME_AND_OTHER,
        &CANON_RULE_CNAME_AT_APEX,
        &CANON_RULE_MULTIPLE_CNAMES,
        &CANON_RULE_DNAME_AND_CNAME,
        &CANON_RULE_MULTIPLE_DNAMES,
        &CANON_RULE_DATA_BELOW_DNAME,
        &CANON_RULE_MX_TO_CNAME,
        &CANON_RULE_NS_TO_CNAME,
        &CANON_RULE_CNAME_LOOP,
        &CANON_RULE_CNAME_CHAIN,
        &CANON_RULE_CNAME_DANGLING,
        &CANON_RULE_CNAME_TO_IP,
        &CANON_RULE_ORIGIN_TWICE,
        &CANON_RULE_SRV_TO_CNAME,
        &CANON_RULE_PTR_TO_CNAME,
        &CANON_RULE_CNAME_TTL,
        &CANON_RULE_ALIAS_AND_ADDRESS,
        &CANON_RULE_MULTIPLE_ALIASES,
        &CANON_RULE_RRSET_TOO_LARGE,
        &CANON_RULE_MULTIPLE_SOA,
        &CANON_RULE_TARGET_MISSING,
        &CANON_RULE_TARGET_NO_ADDRESS,
        &CANON_RULE_DELEGATION_NO_GLUE,
        &CANON_RULE_MISSING_FINAL_DOT,
        &CANON_RULE_RRSIG_MISSING,
        &CANON_RULE_RRSIG_EXPIRED,
        &CANON_RULE_RRSIG_NOT_YET_VALID,
};

const canon_rule_t *canon_rule_by_id(const char *id)
{
	for (size_t i = 0; i < sizeof(ALL_RULES) / sizeof(ALL_RULES[0]); i++) {
		if (strcmp(ALL_RULES[i]->id, id) == 0) {
			return ALL_RULES[i];
		}
	}
	return NULL;
}

/* The time signature validity is judged at; 0: the clock (canon_check_set_now). */
static int64_t check_now;

void canon_check_set_now(int64_t now)
{
	check_now = now;
}

#undef E
#undef W

void canon_findings_init(canon_findings_t *findings)
{
	memset(findings, 0, sizeof(*findings));
}

void canon_findings_free(canon_findings_t *findings)
{
	for (size_t i = 0; i < findings->count; i++) {
		canon_finding_t *f = &findings->items[i];
		free(f->file);
		free(f->owner);
		free(f->message);
		free(f->hint);
		free(f->fix_target);
	}
	free(findings->items);
	canon_findings_init(findings);
}

static char *copy_text(const char *text)
{
	return text ? strdup(text) : NULL;
}

/* Room for one more finding; false when out of memory (the finding is dropped). */
static bool findings_grow(canon_findings_t *findings)
{
	if (findings->count == findings->cap) {
		size_t cap = findings->cap ? findings->cap * 2 : 16;
		canon_finding_t *items = realloc(findings->items, cap * sizeof(*items));
		if (items == NULL) {
			return false;
		}
		findings->items = items;
		findings->cap = cap;
	}
	return true;
}

void canon_findings_append_copy(canon_findings_t *findings, const canon_finding_t *finding)
{
	if (!findings_grow(findings)) {
		return;
	}
	canon_finding_t *f = &findings->items[findings->count++];
	*f = *finding;
	f->file = copy_text(finding->file);
	f->owner = copy_text(finding->owner);
	f->message = copy_text(finding->message);
	f->hint = copy_text(finding->hint);
	f->fix_target = copy_text(finding->fix_target);
}

static char *dname_text(const knot_dname_t *name)
{
	return name ? knot_dname_to_str_alloc(name) : NULL;
}

void canon_findings_add(canon_findings_t *findings, const canon_rule_t *rule, const char *file,
                        uint32_t line, const knot_dname_t *owner, uint16_t type, const char *hint,
                        const char *fmt, ...)
{
	if (!findings_grow(findings)) {
		return;
	}
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	canon_finding_t *f = &findings->items[findings->count++];
	f->rule = rule;
	f->file = file ? strdup(file) : NULL;
	f->line = line;
	f->owner = dname_text(owner);
	f->type = type;
	f->message = strdup(message);
	f->hint = hint ? strdup(hint) : NULL;
	f->fix_target = NULL;
}

void canon_findings_set_fix(canon_findings_t *findings, const knot_dname_t *target)
{
	if (findings->count > 0) {
		findings->items[findings->count - 1].fix_target = dname_text(target);
	}
}

size_t canon_findings_count(const canon_findings_t *findings, canon_severity_t severity)
{
	size_t n = 0;
	for (size_t i = 0; i < findings->count; i++) {
		n += findings->items[i].rule->severity == severity;
	}
	return n;
}

bool canon_findings_block_load(const canon_findings_t *findings)
{
	for (size_t i = 0; i < findings->count; i++) {
		if (findings->items[i].rule->blocks_load) {
			return true;
		}
	}
	return false;
}

static int finding_cmp(const void *a, const void *b)
{
	const canon_finding_t *fa = a, *fb = b;
	int files = strcmp(fa->file ? fa->file : "", fb->file ? fb->file : "");
	if (files != 0) {
		return files;
	}
	if (fa->line != fb->line) {
		return fa->line < fb->line ? -1 : 1;
	}
	/* Same place: keep the order they were found in (qsort is not stable). */
	return fa < fb ? -1 : (fa > fb);
}

void canon_findings_sort(canon_findings_t *findings, size_t from)
{
	if (findings->count > from) {
		qsort(findings->items + from, findings->count - from, sizeof(canon_finding_t),
		      finding_cmp);
	}
}

void canon_finding_place(const canon_finding_t *finding, char *out, size_t size)
{
	if (finding->file == NULL && finding->owner != NULL) {
		char type[32] = "";
		if (finding->type != 0) {
			knot_rrtype_to_string(finding->type, type, sizeof(type));
		}
		snprintf(out, size, "%s%s%s", finding->owner, type[0] ? " " : "", type);
		return;
	}
	snprintf(out, size, "%s:%u", finding->file ? finding->file : "-", finding->line);
}

void canon_findings_print(const canon_findings_t *findings, FILE *out)
{
	for (size_t i = 0; i < findings->count; i++) {
		const canon_finding_t *f = &findings->items[i];
		const char *severity =
		        f->rule->severity == CANON_SEVERITY_ERROR ? "error" : "warning";
		char place[PATH_MAX + 32];
		canon_finding_place(f, place, sizeof(place));
		fprintf(out, "%s: %s: %s [%s]\n", place, severity, f->message ? f->message : "",
		        f->rule->id);
		if (f->hint != NULL) {
			fprintf(out, "  hint: %s\n", f->hint);
		}
	}
}

/* How many findings of one rule a load logged, and how many it left out. */
typedef struct {
	const canon_rule_t *rule;
	size_t logged;
	size_t more;
} rule_tally_t;

/* The tally of 'rule' in 'tallies' (count used), added when new; NULL when out of room. */
static rule_tally_t *tally_of(rule_tally_t *tallies, size_t *count, size_t cap,
                              const canon_rule_t *rule)
{
	for (size_t i = 0; i < *count; i++) {
		if (tallies[i].rule == rule) {
			return &tallies[i];
		}
	}
	if (*count == cap) {
		return NULL;
	}
	tallies[*count] = (rule_tally_t){.rule = rule};
	return &tallies[(*count)++];
}

/* 9990 as "9,990": the summary lines are read by people. */
static void grouped(size_t n, char *out, size_t size)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%zu", n);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0) {
			out[o++] = ',';
		}
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

static canon_log_level_t finding_level(const canon_finding_t *f)
{
	return f->rule->severity == CANON_SEVERITY_ERROR ? CANON_LOG_ERROR : CANON_LOG_WARNING;
}

void canon_findings_log(const canon_findings_t *findings, const char *origin, const char *why,
                        size_t per_rule)
{
	/* Rules are a fixed set: a rule beyond this many is logged in full. */
	rule_tally_t tallies[64];
	size_t count = 0;
	for (size_t i = 0; i < findings->count; i++) {
		const canon_finding_t *f = &findings->items[i];
		rule_tally_t *t = tally_of(tallies, &count, 64, f->rule);
		if (t != NULL && t->logged >= per_rule && !f->rule->blocks_load) {
			t->more++;
			continue;
		}
		if (t != NULL) {
			t->logged++;
		}
		char place[PATH_MAX + 32];
		canon_finding_place(f, place, sizeof(place));
		canon_log(finding_level(f), "zone %s: %s%s%s: %s [%s]", origin, why ? why : "",
		          why ? ": " : "", place, f->message, f->rule->id);
	}
	for (size_t i = 0; i < count; i++) {
		if (tallies[i].more > 0) {
			char n[40];
			grouped(tallies[i].more, n, sizeof(n));
			canon_log(tallies[i].rule->severity == CANON_SEVERITY_ERROR
			                  ? CANON_LOG_ERROR
			                  : CANON_LOG_WARNING,
			          "zone %s: %s%s... and %s more [%s]", origin, why ? why : "",
			          why ? ": " : "", n, tallies[i].rule->id);
		}
	}
}

/* Context for the rules of one zone. */
typedef struct {
	const canon_zone_t *zone;
	const canon_zone_positions_t *positions; /* NULL: no record has a place. */
	canon_findings_t *findings;
} check_t;

/* Where an RRset was read; without a place, file NULL, lines 0 and no note. */
typedef struct {
	const char *file;
	uint32_t line; /* Of its first record read. */
	uint32_t last; /* Of its record read last. */
	char note[24]; /* " (line N)" for messages, or "". */
} place_t;

static place_t place_of(const check_t *c, const canon_node_t *node, const canon_rrset_t *rrset)
{
	place_t p = {.file = NULL};
	const canon_rrset_pos_t *pos = canon_positions_get(c->positions, node, rrset->rr.type);
	if (pos != NULL) {
		p.file = canon_positions_file(c->positions, pos->file);
		p.line = pos->line;
		p.last = canon_rrset_pos_last_line(pos);
		snprintf(p.note, sizeof(p.note), " (line %u)", pos->line);
	}
	return p;
}

/* The file an RRset was read from, or NULL. */
static const char *rrset_file(const check_t *c, const canon_node_t *node,
                              const canon_rrset_t *rrset)
{
	const canon_rrset_pos_t *pos = canon_positions_get(c->positions, node, rrset->rr.type);
	return pos != NULL ? canon_positions_file(c->positions, pos->file) : NULL;
}

/* The line of record 'index' (rdata order) of an RRset, or 0 when it has no place. */
static uint32_t record_line(const check_t *c, const canon_node_t *node, const canon_rrset_t *rrset,
                            uint16_t index)
{
	const canon_rrset_pos_t *pos = canon_positions_get(c->positions, node, rrset->rr.type);
	return pos != NULL ? canon_rrset_pos_line(pos, index) : 0;
}

static const char *type_text(uint16_t type, char *buf, size_t size)
{
	if (type == CANON_RRTYPE_ALIAS) {
		snprintf(buf, size, "ALIAS");
		return buf;
	}
	knot_rrtype_to_string(type, buf, size);
	return buf;
}

static const canon_node_t *zone_node(const canon_zone_t *zone, const knot_dname_t *name)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, name);
	return canon_zone_get_name(zone, lower);
}

/*
 * The CNAME of 'node' when it is answered as one: a flattened CNAME
 * (CANON_NODE_FLATTENED) is checked as the ALIAS it is answered as.
 */
static const canon_rrset_t *node_cname(const canon_node_t *node)
{
	return (node->flags & CANON_NODE_CNAME) ? canon_node_rrset(node, KNOT_RRTYPE_CNAME) : NULL;
}

/* The type the rules see for an RRset of 'node': ALIAS for a flattened CNAME. */
static uint16_t checked_type(const canon_node_t *node, const canon_rrset_t *rrset)
{
	if ((node->flags & CANON_NODE_FLATTENED) && rrset->rr.type == KNOT_RRTYPE_CNAME) {
		return CANON_RRTYPE_ALIAS;
	}
	return rrset->rr.type;
}

/* RRSIG and NSEC may sit beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5). */
static bool allowed_beside_cname(uint16_t type)
{
	return type == KNOT_RRTYPE_CNAME || type == KNOT_RRTYPE_RRSIG || type == KNOT_RRTYPE_NSEC;
}

const canon_rule_t *canon_check_coexist(uint16_t type, uint16_t other)
{
	if (type == other) {
		return NULL; /* One RRset; how many records it may hold is another rule. */
	}
	if (type == KNOT_RRTYPE_CNAME || other == KNOT_RRTYPE_CNAME) {
		uint16_t beside = type == KNOT_RRTYPE_CNAME ? other : type;
		if (beside == KNOT_RRTYPE_DNAME) {
			return &CANON_RULE_DNAME_AND_CNAME; /* RFC 6672 §2.4 */
		}
		if (beside == CANON_RRTYPE_ALIAS) {
			return &CANON_RULE_ALIAS_AND_ADDRESS;
		}
		if (!allowed_beside_cname(beside)) {
			return &CANON_RULE_CNAME_AND_OTHER; /* RFC 1034 §3.6.2, RFC 2181 §10.1 */
		}
	}
	if (type == CANON_RRTYPE_ALIAS || other == CANON_RRTYPE_ALIAS) {
		uint16_t beside = type == CANON_RRTYPE_ALIAS ? other : type;
		if (beside == KNOT_RRTYPE_A || beside == KNOT_RRTYPE_AAAA) {
			return &CANON_RULE_ALIAS_AND_ADDRESS; /* The ALIAS supplies the addresses.
			                                       */
		}
	}
	return NULL;
}

static void check_cname_node(check_t *c, const canon_node_t *node, const canon_rrset_t *cname)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	place_t at = place_of(c, node, cname);
	if (cname->rr.rrs.count > 1) {
		canon_findings_add(c->findings, &CANON_RULE_MULTIPLE_CNAMES, at.file, at.last,
		                   node->owner, KNOT_RRTYPE_CNAME,
		                   "keep exactly one CNAME at the name",
		                   "%s has %u CNAME records; a name is an alias of one name only "
		                   "(RFC 1034 §3.6.2, RFC 2181 §10.1)",
		                   owner, cname->rr.rrs.count);
	}
	if (node == c->zone->apex) {
		canon_findings_add(
		        c->findings, &CANON_RULE_CNAME_AT_APEX, at.file, at.line, node->owner,
		        KNOT_RRTYPE_CNAME,
		        "use an ALIAS record at the apex, or serve the zone with flatten=apex "
		        "(canon answers A/AAAA from the target)",
		        "CNAME at the zone apex %s, which must hold SOA and NS; a CNAME "
		        "name holds no other data (RFC 1034 §3.6.2, RFC 2181 §10.1)",
		        owner);
		return;
	}
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const canon_rrset_t *other = &node->rrsets[i];
		/* DNAME and ALIAS beside a CNAME are their own rules' findings. */
		if (canon_check_coexist(KNOT_RRTYPE_CNAME, other->rr.type) !=
		    &CANON_RULE_CNAME_AND_OTHER) {
			continue;
		}
		type_text(other->rr.type, type, sizeof(type));
		char hint[256];
		snprintf(hint, sizeof(hint),
		         "move the %s records to the alias target or drop the CNAME", type);
		place_t other_at = place_of(c, node, other);
		const place_t *later = other_at.line > at.line ? &other_at : &at;
		canon_findings_add(c->findings, &CANON_RULE_CNAME_AND_OTHER, later->file,
		                   later->line, node->owner, other->rr.type, hint,
		                   "%s has a CNAME%s and %s data%s; a CNAME name "
		                   "holds no other data (RFC 1034 §3.6.2, RFC 2181 §10.1)",
		                   owner, at.note, type, other_at.note);
	}
}

static void check_dname_node(check_t *c, const canon_node_t *node, const canon_rrset_t *dname)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	place_t at = place_of(c, node, dname);
	if (dname->rr.rrs.count > 1) {
		canon_findings_add(c->findings, &CANON_RULE_MULTIPLE_DNAMES, at.file, at.last,
		                   node->owner, KNOT_RRTYPE_DNAME,
		                   "keep exactly one DNAME at the name",
		                   "%s has %u DNAME records; a subtree is redirected to one place "
		                   "only (RFC 6672 §2.4)",
		                   owner, dname->rr.rrs.count);
	}
	const canon_rrset_t *cname = node_cname(node);
	if (cname != NULL) {
		place_t cname_at = place_of(c, node, cname);
		const place_t *later = cname_at.line > at.line ? &cname_at : &at;
		canon_findings_add(
		        c->findings, &CANON_RULE_DNAME_AND_CNAME, later->file, later->line,
		        node->owner, KNOT_RRTYPE_DNAME,
		        "keep the DNAME (it does not redirect its owner) and give the owner "
		        "its own data, or keep only the CNAME",
		        "%s has a DNAME%s and a CNAME%s; a CNAME name holds "
		        "no other data (RFC 1034 §3.6.2, RFC 6672 §2.4)",
		        owner, at.note, cname_at.note);
	}
}

static void check_below_dname(check_t *c, const canon_node_t *node)
{
	const canon_node_t *owner_node = node->parent;
	while (owner_node != NULL && !(owner_node->flags & CANON_NODE_DNAME)) {
		owner_node = owner_node->parent;
	}
	if (owner_node == NULL || canon_node_empty(node)) {
		return;
	}
	const canon_rrset_t *dname = canon_node_rrset(owner_node, KNOT_RRTYPE_DNAME);
	char name[KNOT_DNAME_TXT_MAXLEN + 1], above[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(name, node->owner, sizeof(name));
	knot_dname_to_str(above, owner_node->owner, sizeof(above));
	const canon_rrset_t *first = &node->rrsets[0];
	place_t at = place_of(c, node, first);
	place_t dname_at = place_of(c, owner_node, dname);
	canon_findings_add(c->findings, &CANON_RULE_DATA_BELOW_DNAME, at.file, at.line, node->owner,
	                   checked_type(node, first),
	                   "move the data below the DNAME's target, or remove it",
	                   "%s lies below the DNAME at %s%s, which redirects the whole "
	                   "subtree; this data can never be served (RFC 6672 §2.4)",
	                   name, above, dname_at.note);
}

/*
 * The final name of the in-zone chain starting at 'target' (for fix hints), or
 * NULL when the chain loops or runs past CANON_CHAIN_MAX: it leads nowhere.
 */
static const knot_dname_t *chain_end(const canon_zone_t *zone, const knot_dname_t *target);

/* Record types whose target must not be an alias, and why. */
typedef struct {
	uint16_t type;
	const canon_rule_t *rule;
	const char *why;
} target_rule_t;

static const target_rule_t TARGET_RULES[] = {
        {KNOT_RRTYPE_MX, &CANON_RULE_MX_TO_CNAME,
         "MX must name a host with addresses "
         "(RFC 2181 §10.3)"},
        {KNOT_RRTYPE_NS, &CANON_RULE_NS_TO_CNAME,
         "NS must name a host with addresses "
         "(RFC 2181 §10.3)"},
        {KNOT_RRTYPE_SRV, &CANON_RULE_SRV_TO_CNAME,
         "the SRV target must not be an alias "
         "(RFC 2782)"},
        {KNOT_RRTYPE_PTR, &CANON_RULE_PTR_TO_CNAME,
         "a PTR should name the canonical name "
         "(RFC 2181 §10.2)"},
};

static const target_rule_t *target_rule(uint16_t type)
{
	for (size_t i = 0; i < sizeof(TARGET_RULES) / sizeof(TARGET_RULES[0]); i++) {
		if (TARGET_RULES[i].type == type) {
			return &TARGET_RULES[i];
		}
	}
	return NULL;
}

/* RFC 2181 §10.2-10.3, RFC 2782: MX, NS, SRV and PTR name a host, never an alias. */
static void check_target_not_alias(check_t *c, const canon_node_t *node, const canon_rrset_t *rrset,
                                   uint32_t line, const knot_dname_t *target)
{
	const target_rule_t *rule = target_rule(rrset->rr.type);
	const canon_node_t *target_node = zone_node(c->zone, target);
	if (rule == NULL || target_node == NULL || !(target_node->flags & CANON_NODE_CNAME)) {
		return;
	}
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], name[KNOT_DNAME_TXT_MAXLEN + 1];
	char final[KNOT_DNAME_TXT_MAXLEN + 1], type[16], hint[KNOT_DNAME_TXT_MAXLEN + 64];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	knot_dname_to_str(name, target, sizeof(name));
	type_text(rrset->rr.type, type, sizeof(type));
	const knot_dname_t *end = chain_end(c->zone, target);
	if (end != NULL) {
		knot_dname_to_str(final, end, sizeof(final));
		snprintf(hint, sizeof(hint), "point the %s at %s, the name the alias leads to",
		         type, final);
	} else {
		snprintf(hint, sizeof(hint),
		         "point the %s at a name with data: the alias chain "
		         "loops or runs past %d hops",
		         type, CANON_CHAIN_MAX);
	}
	canon_findings_add(c->findings, rule->rule, rrset_file(c, node, rrset), line, node->owner,
	                   rrset->rr.type, hint, "%s target %s of %s is an alias (CNAME); %s", type,
	                   name, owner, rule->why);
	if (end != NULL) {
		canon_findings_set_fix(c->findings, end); /* canon check --fix repoints it. */
	}
}

/* Whether the first four labels of 'name' are decimal octets, as in "192.0.2.1.example.". */
static bool looks_like_ipv4(const knot_dname_t *name)
{
	for (int i = 0; i < 4; i++, name += *name + 1) {
		if (*name == 0 || *name > 3) {
			return false;
		}
		unsigned value = 0;
		for (uint8_t j = 1; j <= *name; j++) {
			if (name[j] < '0' || name[j] > '9') {
				return false;
			}
			value = value * 10 + (name[j] - '0');
		}
		if (value > 255) {
			return false;
		}
	}
	return true;
}

/* Whether 'name' (lower-case) ends in the zone's origin twice ("www.example.com.example.com."). */
static bool origin_twice(const canon_zone_t *zone, const knot_dname_t *name)
{
	size_t apex_labels = knot_dname_labels(zone->apex_name, NULL);
	size_t labels = knot_dname_labels(name, NULL);
	if (apex_labels == 0 || labels < 2 * apex_labels) {
		return false;
	}
	for (size_t i = labels; i > 2 * apex_labels; i--) {
		name += *name + 1;
	}
	size_t body = knot_dname_size(zone->apex_name) - 1; /* The origin less its root label. */
	return memcmp(name, zone->apex_name, body) == 0 &&
	       knot_dname_is_equal(name + body, zone->apex_name);
}

static void check_target_text(check_t *c, const canon_node_t *node, const canon_rrset_t *rrset,
                              uint32_t line, const knot_dname_t *target)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], name[KNOT_DNAME_TXT_MAXLEN + 1], type[16];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	knot_dname_to_str(name, target, sizeof(name));
	type_text(rrset->rr.type, type, sizeof(type));
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	if (rrset->rr.type == KNOT_RRTYPE_CNAME && looks_like_ipv4(lower)) {
		canon_findings_add(
		        c->findings, &CANON_RULE_CNAME_TO_IP, rrset_file(c, node, rrset), line,
		        node->owner, rrset->rr.type,
		        "a CNAME points at a name; for an address use an A (or AAAA) record",
		        "CNAME target %s of %s looks like an IP address; a CNAME must point "
		        "to a domain name, never to an address (RFC 1034 §3.6.2)",
		        name, owner);
	}
	if (origin_twice(c->zone, lower)) {
		canon_findings_add(
		        c->findings, &CANON_RULE_ORIGIN_TWICE, rrset_file(c, node, rrset), line,
		        node->owner, rrset->rr.type,
		        "end an absolute name with a dot, or write it relative to $ORIGIN",
		        "%s target %s of %s ends in the origin twice: a trailing dot is "
		        "probably missing (RFC 1035 §5.1)",
		        type, name, owner);
	}
}

static const knot_dname_t *cname_target(const canon_node_t *node)
{
	return knot_cname_name(canon_node_rrset(node, KNOT_RRTYPE_CNAME)->rr.rrs.rdata);
}

/*
 * Walk the in-zone CNAME chain from the CNAME node 'start' with the walker and
 * hop limit every command uses (lib/alias.h). Returns the CNAME nodes visited,
 * in 'path' (CANON_CHAIN_MAX + 2 of them at most); *end says why it stopped:
 * CANON_CHAIN_LOOP (the last node of the path repeats an earlier one),
 * CANON_CHAIN_TOO_LONG (the last node's CNAME would be link CANON_CHAIN_MAX + 1)
 * or CANON_CHAIN_COMPLETE (the last node's CNAME leaves the zone's aliases).
 */
static int walk_chain(const canon_zone_t *zone, const canon_node_t *start,
                      const canon_node_t **path, canon_chain_end_t *end)
{
	canon_chain_t chain;
	canon_chain_init(&chain, start->owner);
	int hops = 0;
	for (const canon_node_t *node = start;;) {
		path[hops++] = node;
		const knot_dname_t *target = cname_target(node);
		*end = canon_chain_follow(&chain, target);
		if (*end == CANON_CHAIN_LOOP) {
			path[hops++] = zone_node(zone, target);
			return hops;
		}
		const canon_node_t *next = zone_node(zone, target);
		if (*end == CANON_CHAIN_TOO_LONG || next == NULL ||
		    !(next->flags & CANON_NODE_CNAME)) {
			return hops;
		}
		node = next;
	}
}

static const knot_dname_t *chain_end(const canon_zone_t *zone, const knot_dname_t *target)
{
	const canon_node_t *node = zone_node(zone, target);
	if (node == NULL || !(node->flags & CANON_NODE_CNAME)) {
		return target;
	}
	const canon_node_t *path[CANON_CHAIN_MAX + 2];
	canon_chain_end_t end;
	int hops = walk_chain(zone, node, path, &end);
	return end == CANON_CHAIN_COMPLETE ? cname_target(path[hops - 1]) : NULL;
}

static void path_text(const canon_node_t **path, int count, const knot_dname_t *last, char *buf,
                      size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i <= count && used < size; i++) {
		const knot_dname_t *name = i < count ? path[i]->owner : last;
		if (name == NULL) {
			break;
		}
		char text[KNOT_DNAME_TXT_MAXLEN + 1];
		knot_dname_to_str(text, name, sizeof(text));
		used += snprintf(buf + used, size - used, "%s%s", i ? " -> " : "", text);
	}
}

static void check_chain(check_t *c, const canon_node_t *node, const canon_rrset_t *cname)
{
	const canon_node_t *path[CANON_CHAIN_MAX + 2];
	canon_chain_end_t end;
	int hops = walk_chain(c->zone, node, path, &end);
	char text[2048];
	if (end == CANON_CHAIN_LOOP) {
		/* Report each cycle once, from its member that sorts first. */
		const canon_node_t *repeat = path[hops - 1];
		if (repeat != node) {
			return;
		}
		for (int i = 0; i < hops - 1; i++) {
			if (knot_dname_cmp(path[i]->owner, node->owner) < 0) {
				return;
			}
		}
		path_text(path, hops, NULL, text, sizeof(text));
		place_t at = place_of(c, node, cname);
		canon_findings_add(c->findings, &CANON_RULE_CNAME_LOOP, at.file, at.line,
		                   node->owner, KNOT_RRTYPE_CNAME,
		                   "point one of the aliases at a name with data",
		                   "CNAME loop %s; no lookup of these names can succeed "
		                   "(RFC 1034 §3.6.2)",
		                   text);
		return;
	}
	if (hops < 2) {
		return;
	}
	const knot_dname_t *final = cname_target(path[hops - 1]);
	path_text(path, hops, final, text, sizeof(text));
	place_t at = place_of(c, node, cname);
	if (end == CANON_CHAIN_TOO_LONG) {
		/* No fix: the walk stopped at the limit, short of the chain's final name. */
		canon_findings_add(c->findings, &CANON_RULE_CNAME_CHAIN, at.file, at.line,
		                   node->owner, KNOT_RRTYPE_CNAME,
		                   "shorten the chain: servers and resolvers follow a limited "
		                   "number of hops",
		                   "alias chain of more than %d hops %s; canon serve and canon "
		                   "resolve stop after %d (RFC 1034 §3.6.2)",
		                   CANON_CHAIN_MAX, text, CANON_CHAIN_MAX);
		return;
	}
	char final_text[KNOT_DNAME_TXT_MAXLEN + 1], hint[KNOT_DNAME_TXT_MAXLEN + 64];
	knot_dname_to_str(final_text, final, sizeof(final_text));
	snprintf(hint, sizeof(hint), "point the CNAME straight at %s", final_text);
	canon_findings_add(c->findings, &CANON_RULE_CNAME_CHAIN, at.file, at.line, node->owner,
	                   KNOT_RRTYPE_CNAME, hint,
	                   "alias chain of %d hops %s; legal, but each hop costs resolvers "
	                   "another lookup (RFC 1034 §3.6.2)",
	                   hops, text);
	canon_findings_set_fix(c->findings, final);
}

/*
 * The smallest TTL of the data at 'node', or 0 when it holds none. The DNSSEC
 * records of a signed zone are not that data: an NSEC or NSEC3 takes the
 * negative TTL (RFC 4035 §2.3), an RRSIG the TTL of what it covers (RFC 4034 §3).
 */
static uint32_t node_min_ttl(const canon_node_t *node)
{
	uint32_t ttl = 0;
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		uint16_t type = node->rrsets[i].rr.type;
		if (type == KNOT_RRTYPE_RRSIG || type == KNOT_RRTYPE_NSEC ||
		    type == KNOT_RRTYPE_NSEC3) {
			continue;
		}
		uint32_t t = node->rrsets[i].rr.ttl;
		if (ttl == 0 || t < ttl) {
			ttl = t;
		}
	}
	return ttl;
}

static bool check_final_dot(check_t *c, const canon_node_t *node, uint16_t type, const char *file,
                            uint32_t line, const knot_dname_t *target);

/* A CNAME TTL this many times the target's is flagged: caches keep a stale alias. */
#define CNAME_TTL_RATIO 10

static void check_cname_target(check_t *c, const canon_node_t *node, const canon_rrset_t *cname)
{
	const knot_dname_t *target = knot_cname_name(cname->rr.rrs.rdata);
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	if (knot_dname_in_bailiwick(lower, c->zone->apex_name) < 0) {
		return; /* Out of zone: only --resolve can tell. */
	}
	const canon_node_t *found = NULL;
	canon_name_t prepared;
	canon_name_prepare(&prepared, lower);
	canon_find_t where = canon_zone_find(c->zone, &prepared, &found);
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], name[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	knot_dname_to_str(name, target, sizeof(name));
	place_t at = place_of(c, node, cname);
	if (where == CANON_FIND_NXNAME && found->wildcard == NULL &&
	    check_final_dot(c, node, checked_type(node, cname), at.file, at.line, target)) {
		return;
	}
	if (where == CANON_FIND_NXNAME && found->wildcard == NULL) {
		canon_findings_add(
		        c->findings, &CANON_RULE_CNAME_DANGLING, at.file, at.line, node->owner,
		        KNOT_RRTYPE_CNAME,
		        "add the target's records, or point the CNAME at a name that exists",
		        "CNAME target %s of %s does not exist in the zone: the alias "
		        "answers NXDOMAIN (RFC 1034 §3.6.2, RFC 6604)",
		        name, owner);
		return;
	}
	if (where != CANON_FIND_FOUND || (found->flags & CANON_NODE_CNAME)) {
		return; /* Chains are judged as a whole by check_chain. */
	}
	uint32_t target_ttl = node_min_ttl(found);
	if (target_ttl > 0 && cname->rr.ttl / CNAME_TTL_RATIO >= target_ttl) {
		char hint[128];
		snprintf(hint, sizeof(hint), "lower the CNAME TTL to %u or less", target_ttl);
		canon_findings_add(
		        c->findings, &CANON_RULE_CNAME_TTL, at.file, at.line, node->owner,
		        KNOT_RRTYPE_CNAME, hint,
		        "CNAME %s has TTL %u but its target %s has TTL %u: caches keep the "
		        "alias %ux longer than the data; the effective TTL of the answer "
		        "is %u (RFC 2181 §10.1.1)",
		        owner, cname->rr.ttl, name, target_ttl, cname->rr.ttl / target_ttl,
		        target_ttl);
	}
}

/* Whether 'node' answers A or AAAA: its own addresses, or an ALIAS's. */
static bool has_address(const canon_node_t *node)
{
	return canon_node_rrset(node, KNOT_RRTYPE_A) != NULL ||
	       canon_node_rrset(node, KNOT_RRTYPE_AAAA) != NULL || (node->flags & CANON_NODE_ALIAS);
}

/*
 * Last labels that make a name look public: the generic TLDs zone files point
 * at most, and any two-letter label (a country code). A relative target that
 * ends in one of these before the origin was most likely written without its
 * final dot.
 */
static bool tld_like(const uint8_t *label)
{
	static const char *const TLDS[] = {
	        "com",  "net",  "org",  "edu",   "gov",    "mil",  "int",    "info", "biz",
	        "io",   "dev",  "app",  "cloud", "online", "site", "tech",   "xyz",  "page",
	        "arpa", "name", "mobi", "aero",  "email",  "host", "network"};
	uint8_t len = label[0];
	if (len == 2) {
		return isalpha(label[1]) && isalpha(label[2]);
	}
	for (size_t i = 0; i < sizeof(TLDS) / sizeof(TLDS[0]); i++) {
		if (strlen(TLDS[i]) == len && memcmp(TLDS[i], label + 1, len) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * Whether 'lower' (in the zone) looks like a public name written without its
 * final dot, so that the origin was appended (RFC 1035 §5.1): "status CNAME
 * foo.statuspage.io" in example.com. becomes foo.statuspage.io.example.com.
 * It is when the part before the origin has two labels or more and ends in a
 * TLD-like label, and the name does not exist in the zone (a name that exists
 * was meant). Writes the name probably meant (that part, absolute) to 'meant'.
 */
static bool missing_final_dot(const canon_zone_t *zone, const knot_dname_t *lower, char *meant,
                              size_t size)
{
	size_t apex_labels = knot_dname_labels(zone->apex_name, NULL);
	size_t labels = knot_dname_labels(lower, NULL);
	if (labels < apex_labels + 2 || knot_dname_in_bailiwick(lower, zone->apex_name) <= 0 ||
	    origin_twice(zone, lower)) {
		return false;
	}
	const uint8_t *last = lower;
	for (size_t i = 0; i < labels - apex_labels - 1; i++) {
		last += *last + 1;
	}
	if (!tld_like(last)) {
		return false;
	}
	canon_name_t prepared;
	canon_name_prepare(&prepared, lower);
	const canon_node_t *found = NULL;
	canon_find_t where = canon_zone_find(zone, &prepared, &found);
	if (where != CANON_FIND_NXNAME || found->wildcard != NULL) {
		return false;
	}
	/* The part before the origin, as a name of its own. */
	knot_dname_storage_t part;
	size_t part_len = (size_t)(last + *last + 1 - lower);
	memcpy(part, lower, part_len);
	part[part_len] = 0;
	knot_dname_to_str(meant, part, size);
	return true;
}

/* Report a target that is probably missing its final dot; true when it was. */
static bool check_final_dot(check_t *c, const canon_node_t *node, uint16_t type, const char *file,
                            uint32_t line, const knot_dname_t *target)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	char meant[KNOT_DNAME_TXT_MAXLEN + 1];
	if (!missing_final_dot(c->zone, lower, meant, sizeof(meant))) {
		return false;
	}
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], name[KNOT_DNAME_TXT_MAXLEN + 1], type_name[16];
	char hint[KNOT_DNAME_TXT_MAXLEN + 64];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	knot_dname_to_str(name, target, sizeof(name));
	type_text(type, type_name, sizeof(type_name));
	snprintf(hint, sizeof(hint), "write the target as %s, with the final dot", meant);
	canon_findings_add(c->findings, &CANON_RULE_MISSING_FINAL_DOT, file, line, node->owner,
	                   type, hint,
	                   "%s target of %s is %s, which does not exist in the zone: %s was "
	                   "probably meant, written without its final dot, so the origin was "
	                   "appended (RFC 1035 §5.1)",
	                   type_name, owner, name, meant);
	return true;
}

/* The node a name in the zone is answered from (its own, or the wildcard that covers it). */
static const canon_node_t *answering_node(const canon_zone_t *zone, const knot_dname_t *lower,
                                          canon_find_t *where)
{
	canon_name_t prepared;
	canon_name_prepare(&prepared, lower);
	const canon_node_t *found = NULL;
	*where = canon_zone_find(zone, &prepared, &found);
	if (*where == CANON_FIND_NXNAME) {
		return found->wildcard; /* RFC 4592 §3.3.1; NULL: the name does not exist. */
	}
	return *where == CANON_FIND_FOUND ? found : NULL;
}

/*
 * RFC 9471 §2.1: a delegation's name servers below the cut are reachable only
 * through glue, so the parent must hold their addresses.
 */
static void check_glue(check_t *c, const canon_node_t *node, const canon_rrset_t *rrset,
                       uint32_t line, const knot_dname_t *target, const knot_dname_t *lower)
{
	const canon_node_t *glue = canon_zone_get_name(c->zone, lower);
	if (glue != NULL && has_address(glue)) {
		return;
	}
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], name[KNOT_DNAME_TXT_MAXLEN + 1];
	char hint[2 * KNOT_DNAME_TXT_MAXLEN + 64];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	knot_dname_to_str(name, target, sizeof(name));
	snprintf(hint, sizeof(hint), "add the address of %s (A or AAAA glue) beside the delegation",
	         name);
	canon_findings_add(c->findings, &CANON_RULE_DELEGATION_NO_GLUE, rrset_file(c, node, rrset),
	                   line, node->owner, KNOT_RRTYPE_NS, hint,
	                   "delegation %s names the server %s, inside the delegated zone, but "
	                   "the zone has no glue address for it: resolvers cannot reach the "
	                   "child zone (RFC 9471 §2.1, RFC 1034 §4.2.1)",
	                   owner, name);
}

/*
 * RFC 1034 §3.6.2, RFC 1035 §3.3.9 and §3.3.11, RFC 2782: the host an NS, MX or
 * SRV names is looked up for its addresses. In the zone it must exist and own
 * A or AAAA records. Targets at or below a zone cut belong to the child (only
 * a delegation's own servers need glue there); aliases are judged by
 * check_target_not_alias.
 */
static void check_target_host(check_t *c, const canon_node_t *node, const canon_rrset_t *rrset,
                              uint32_t line, const knot_dname_t *target)
{
	uint16_t type = rrset->rr.type;
	if ((type != KNOT_RRTYPE_NS && type != KNOT_RRTYPE_MX && type != KNOT_RRTYPE_SRV) ||
	    knot_dname_size(target) == 1 || (node->flags & CANON_NODE_BELOW_CUT)) {
		return; /* "." is a null MX (RFC 7505) or "no service" SRV (RFC 2782). */
	}
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, target);
	if (knot_dname_in_bailiwick(lower, c->zone->apex_name) < 0) {
		return; /* Out of zone: only --resolve can tell. */
	}
	const char *file = rrset_file(c, node, rrset);
	if (check_final_dot(c, node, type, file, line, target)) {
		return;
	}
	canon_find_t where;
	const canon_node_t *host = answering_node(c->zone, lower, &where);
	if (where == CANON_FIND_DELEG) {
		if (type == KNOT_RRTYPE_NS && (node->flags & CANON_NODE_DELEG) &&
		    knot_dname_in_bailiwick(lower, node->owner) >= 0) {
			check_glue(c, node, rrset, line, target, lower);
		}
		return;
	}
	if (where == CANON_FIND_DNAME || (host != NULL && (host->flags & CANON_NODE_CNAME))) {
		return;
	}
	if (host != NULL && has_address(host)) {
		return;
	}
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], name[KNOT_DNAME_TXT_MAXLEN + 1], type_name[16];
	char hint[KNOT_DNAME_TXT_MAXLEN + 96];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	knot_dname_to_str(name, target, sizeof(name));
	type_text(type, type_name, sizeof(type_name));
	if (host == NULL) {
		snprintf(hint, sizeof(hint),
		         "add an A or AAAA record for %s, or point the %s at a "
		         "host that has one",
		         name, type_name);
		canon_findings_add(c->findings, &CANON_RULE_TARGET_MISSING, file, line, node->owner,
		                   type, hint,
		                   "%s target %s of %s does not exist in the zone: it has no "
		                   "address to reach (RFC 1034 §3.6.2, RFC 1035 §3.3)",
		                   type_name, name, owner);
		return;
	}
	snprintf(hint, sizeof(hint), "add an A or AAAA record at %s", name);
	canon_findings_add(c->findings, &CANON_RULE_TARGET_NO_ADDRESS, file, line, node->owner,
	                   type, hint,
	                   "%s target %s of %s has no address (A or AAAA) in the zone: the "
	                   "host it names cannot be reached (RFC 1034 §3.6.2, RFC 1035 §3.3)",
	                   type_name, name, owner);
}

/* RFC 1035 §5.2, RFC 1034 §4.2.1: a zone has exactly one SOA record. */
static void check_soa(check_t *c)
{
	const canon_rrset_t *soa = canon_node_rrset(c->zone->apex, KNOT_RRTYPE_SOA);
	if (soa == NULL || soa->rr.rrs.count < 2) {
		return;
	}
	place_t at = place_of(c, c->zone->apex, soa);
	canon_findings_add(c->findings, &CANON_RULE_MULTIPLE_SOA, at.file, at.last,
	                   c->zone->apex_name, KNOT_RRTYPE_SOA, "keep exactly one SOA record",
	                   "the apex has %u SOA records; a zone has exactly one (RFC 1035 §5.2, "
	                   "RFC 1034 §4.2.1)",
	                   soa->rr.rrs.count);
}

/* RRSIG RDATA (RFC 4034 §3.1): Type Covered at 0, Expiration at 8, Inception at 12. */
static uint32_t sig_u32(const knot_rdata_t *rdata, size_t at)
{
	const uint8_t *p = rdata->data + at;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A signed zone: a DNSKEY and RRSIGs at the apex (RFC 4035 §2.1-2.2). */
static bool zone_signed(const canon_zone_t *zone)
{
	return canon_node_rrset(zone->apex, KNOT_RRTYPE_DNSKEY) != NULL &&
	       canon_node_rrset(zone->apex, KNOT_RRTYPE_RRSIG) != NULL;
}

/* Whether RFC 4035 §2.2 wants 'type' at 'node' signed: authoritative data only. */
static bool needs_sig(const canon_node_t *node, uint16_t type)
{
	if (type == KNOT_RRTYPE_RRSIG || (node->flags & CANON_NODE_BELOW_CUT)) {
		return false; /* Glue and occluded data are not signed. */
	}
	if (node->flags & CANON_NODE_DELEG) {
		return type == KNOT_RRTYPE_DS || type == KNOT_RRTYPE_NSEC;
	}
	return true;
}

/* The line of the first RRSIG at 'node' that covers 'type' (0: none, or no place). */
static uint32_t sig_line(const check_t *c, const canon_node_t *node, uint16_t type)
{
	const canon_rrset_t *rrsig = canon_node_rrset(node, KNOT_RRTYPE_RRSIG);
	knot_rdata_t *rdata = rrsig->rr.rrs.rdata;
	for (uint16_t i = 0; i < rrsig->rr.rrs.count; i++, rdata = knot_rdataset_next(rdata)) {
		if (rdata->len >= 2 && (rdata->data[0] << 8 | rdata->data[1]) == type) {
			return record_line(c, node, rrsig, i);
		}
	}
	return 0;
}

static void time_text(uint32_t t, char *out, size_t size)
{
	time_t when = (time_t)t;
	struct tm tm;
	strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&when, &tm));
}

/*
 * RFC 4034 §3.1.5, RFC 4035 §5.3.1: a signature is usable only between its
 * inception and expiration, compared in serial number arithmetic (RFC 1982).
 * An RRset none of whose signatures is valid now validates as bogus.
 */
static void check_sig_times(check_t *c, const canon_node_t *node, const canon_rrset_t *rrset,
                            uint32_t now)
{
	const knot_rdataset_t *sigs = &rrset->sigs->rrs;
	knot_rdata_t *rdata = sigs->rdata;
	uint32_t expiration = 0, inception = 0;
	for (uint16_t i = 0; i < sigs->count; i++, rdata = knot_rdataset_next(rdata)) {
		if (rdata->len < 16) {
			continue;
		}
		expiration = sig_u32(rdata, 8);
		inception = sig_u32(rdata, 12);
		if ((int32_t)(now - inception) >= 0 && (int32_t)(expiration - now) >= 0) {
			return;
		}
	}
	if (expiration == 0 && inception == 0) {
		return;
	}
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[16], when[40], hint[128];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	type_text(rrset->rr.type, type, sizeof(type));
	const char *file = rrset_file(c, node, canon_node_rrset(node, KNOT_RRTYPE_RRSIG));
	uint32_t line = sig_line(c, node, rrset->rr.type);
	/* Before the inception is "not yet valid" even when the window, too long for RFC 1982,
	 * wraps. */
	bool expired = (int32_t)(now - inception) >= 0;
	time_text(expired ? expiration : inception, when, sizeof(when));
	snprintf(hint, sizeof(hint), "sign the zone again%s",
	         expired ? "" : " with an inception time in the past");
	canon_findings_add(c->findings,
	                   expired ? &CANON_RULE_RRSIG_EXPIRED : &CANON_RULE_RRSIG_NOT_YET_VALID,
	                   file, line, node->owner, rrset->rr.type, hint,
	                   "the RRSIG of %s %s %s %s: validating resolvers answer SERVFAIL for "
	                   "it (RFC 4034 §3.1.5, RFC 4035 §5.3.1)",
	                   owner, type, expired ? "expired on" : "is not valid before", when);
}

/* RFC 4035 §2.2: in a signed zone every authoritative RRset has an RRSIG. */
static void check_sigs(check_t *c, const canon_node_t *node, uint32_t now)
{
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const canon_rrset_t *rrset = &node->rrsets[i];
		if (!needs_sig(node, rrset->rr.type)) {
			continue;
		}
		if (rrset->sigs != NULL) {
			check_sig_times(c, node, rrset, now);
			continue;
		}
		char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[16];
		knot_dname_to_str(owner, node->owner, sizeof(owner));
		type_text(rrset->rr.type, type, sizeof(type));
		place_t at = place_of(c, node, rrset);
		canon_findings_add(c->findings, &CANON_RULE_RRSIG_MISSING, at.file, at.line,
		                   node->owner, rrset->rr.type,
		                   "sign the zone again after changing it",
		                   "%s %s has no RRSIG in a signed zone: validating resolvers "
		                   "answer SERVFAIL for it (RFC 4035 §2.2)",
		                   owner, type);
	}
}

/*
 * An ALIAS answers A and AAAA itself, and stands in for a CNAME: the name may
 * not also hold addresses or a CNAME of its own, and it names one target.
 */
static void check_alias_node(check_t *c, const canon_node_t *node, const canon_rrset_t *alias)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32];
	knot_dname_to_str(owner, node->owner, sizeof(owner));
	place_t at = place_of(c, node, alias);
	if (alias->rr.rrs.count > 1) {
		canon_findings_add(
		        c->findings, &CANON_RULE_MULTIPLE_ALIASES, at.file, at.last, node->owner,
		        CANON_RRTYPE_ALIAS, "keep exactly one ALIAS at the name",
		        "%s has %u ALIAS records; like a CNAME, an ALIAS names one target", owner,
		        alias->rr.rrs.count);
	}
	static const uint16_t conflicting[] = {KNOT_RRTYPE_A, KNOT_RRTYPE_AAAA, KNOT_RRTYPE_CNAME};
	for (size_t i = 0; i < sizeof(conflicting) / sizeof(conflicting[0]); i++) {
		const canon_rrset_t *other = canon_node_rrset(node, conflicting[i]);
		/* A flattened CNAME is the ALIAS itself. */
		if (other == NULL || other == alias ||
		    canon_check_coexist(CANON_RRTYPE_ALIAS, conflicting[i]) == NULL) {
			continue;
		}
		type_text(conflicting[i], type, sizeof(type));
		place_t other_at = place_of(c, node, other);
		const place_t *later = other_at.line > at.line ? &other_at : &at;
		canon_findings_add(
		        c->findings, &CANON_RULE_ALIAS_AND_ADDRESS, later->file, later->line,
		        node->owner, conflicting[i], "remove the record, or the ALIAS",
		        "%s has an ALIAS%s and %s data%s; the ALIAS supplies "
		        "the name's addresses, so it holds no A, AAAA or CNAME of its own",
		        owner, at.note, type, other_at.note);
	}
}

static void check_node(check_t *c, const canon_node_t *node)
{
	const canon_rrset_t *alias = canon_node_alias(node);
	if (alias != NULL) {
		check_alias_node(c, node, alias);
	}
	const canon_rrset_t *cname = node_cname(node);
	const canon_rrset_t *dname = canon_node_rrset(node, KNOT_RRTYPE_DNAME);
	if (cname != NULL) {
		check_cname_node(c, node, cname);
		check_chain(c, node, cname);
		check_cname_target(c, node, cname);
	}
	if (dname != NULL) {
		check_dname_node(c, node, dname);
		place_t at = place_of(c, node, dname);
		check_final_dot(c, node, KNOT_RRTYPE_DNAME, at.file, at.line,
		                knot_dname_target(dname->rr.rrs.rdata));
	}
	if (alias != NULL) {
		/* An ALIAS's data, like a flattened CNAME's, is one name. */
		place_t at = place_of(c, node, alias);
		check_final_dot(c, node, CANON_RRTYPE_ALIAS, at.file, at.line,
		                knot_cname_name(alias->rr.rrs.rdata));
	}
	if (node->flags & CANON_NODE_BELOW_DNAME) {
		check_below_dname(c, node);
	}
	for (uint16_t i = 0; i < node->rrset_count; i++) {
		const canon_rrset_t *rrset = &node->rrsets[i];
		knot_rdata_t *rdata = rrset->rr.rrs.rdata;
		for (uint16_t j = 0; j < rrset->rr.rrs.count;
		     j++, rdata = knot_rdataset_next(rdata)) {
			uint16_t type = checked_type(node, rrset);
			const knot_dname_t *target =
			        type == KNOT_RRTYPE_DNAME ? NULL : canon_rdata_target(type, rdata);
			if (target != NULL) {
				uint32_t line = record_line(c, node, rrset, j);
				check_target_not_alias(c, node, rrset, line, target);
				check_target_text(c, node, rrset, line, target);
				check_target_host(c, node, rrset, line, target);
			}
		}
	}
}

void canon_check_zone(const canon_zone_t *zone, const canon_zone_positions_t *positions,
                      canon_findings_t *findings)
{
	check_t c = {.zone = zone, .positions = positions, .findings = findings};
	if (zone->apex != NULL) {
		check_soa(&c);
	}
	bool is_signed = zone->apex != NULL && zone_signed(zone);
	uint32_t now = (uint32_t)(check_now != 0 ? check_now : (int64_t)time(NULL));
	for (size_t i = 0; i < zone->node_count; i++) {
		check_node(&c, zone->nodes[i]);
		if (is_signed) {
			check_sigs(&c, zone->nodes[i], now);
		}
	}
}
