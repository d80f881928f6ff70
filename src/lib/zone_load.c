/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "lib/generate.h"
#include "lib/log.h"
#include "lib/zone_load.h"

/* Default TTL when a file has no $TTL before its first record (as Knot does). */
#define ZONE_DEFAULT_TTL 3600

/*
 * libzscanner does not know BIND's $GENERATE, and stops at an unknown directive.
 * parse_file rewrites each "$GENERATE" at a line start into a comment that
 * starts with this mark, so the scanner hands it to on_comment() with the
 * $ORIGIN and $TTL in force at that line.
 */
#define GENERATE_MARK "canon-generate:"

/* Lines of the zone file that hold an ALIAS record (see rewrite_text). */
typedef struct {
	uint32_t *lines;
	size_t count, cap;
} line_set_t;

typedef struct {
	canon_zone_t *zone;
	canon_zone_positions_t *positions; /* Where each record was read. */
	canon_findings_t *findings;
	int error; /* First fatal (allocation) error. */
	/* While records of a $GENERATE line are parsed: that line's place. */
	const char *generate_file;
	uint32_t generate_line;
	const char *path;       /* The zone file (libzscanner has no name for string input). */
	line_set_t alias_lines; /* Lines of 'path' whose record is an ALIAS. */
} load_t;

static bool line_set_add(line_set_t *set, uint32_t line)
{
	if (set->count == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		uint32_t *lines = realloc(set->lines, cap * sizeof(*lines));
		if (lines == NULL) {
			return false;
		}
		set->lines = lines;
		set->cap = cap;
	}
	set->lines[set->count++] = line; /* Added in file order: stays sorted. */
	return true;
}

static bool line_set_has(const line_set_t *set, uint32_t line)
{
	size_t lo = 0, hi = set->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (set->lines[mid] == line) {
			return true;
		}
		if (set->lines[mid] < line) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return false;
}

/* Where the record or error the scanner is at comes from. */
static void place(const load_t *ld, const zs_scanner_t *s, const char **file, uint32_t *line)
{
	if (ld->generate_file != NULL) {
		*file = ld->generate_file;
		*line = ld->generate_line;
	} else {
		*file = s->file.name ? s->file.name : ld->path;
		*line = (uint32_t)s->line_counter;
	}
}

static int file_index(load_t *ld, const char *file)
{
	int idx = canon_positions_add_file(ld->positions, file);
	if (idx < 0 && ld->error == 0) {
		ld->error = idx;
	}
	return idx;
}

static void on_record(zs_scanner_t *s);

static void report_syntax(load_t *ld, const zs_scanner_t *s)
{
	const char *file;
	uint32_t line;
	place(ld, s, &file, &line);
	canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, file, line, NULL, 0, NULL, "%s (%s)",
	                   zs_strerror(s->error.code), zs_errorname(s->error.code));
}

static void on_generated_error(zs_scanner_t *s)
{
	report_syntax(s->process.data, s);
}

typedef struct {
	load_t *ld;
	zs_scanner_t *sub;
} generate_ctx_t;

static int parse_generated(const char *record, void *arg)
{
	generate_ctx_t *g = arg;
	if (zs_set_input_string(g->sub, record, strlen(record)) != 0 || zs_parse_all(g->sub) != 0) {
		/* Errors were reported by the callback; go on with the next record. */
		return 0;
	}
	return g->ld->error;
}

/* Expand one $GENERATE line (its text after the directive), in the scanner's context. */
static void expand_generate(load_t *ld, const zs_scanner_t *s, const char *args)
{
	char origin[KNOT_DNAME_TXT_MAXLEN + 1], error[256];
	const char *file;
	uint32_t line;
	place(ld, s, &file, &line);
	knot_dname_to_str(origin, s->zone_origin, sizeof(origin));
	zs_scanner_t *sub = malloc(sizeof(*sub));
	if (sub == NULL || zs_init(sub, origin, KNOT_CLASS_IN, s->default_ttl) != 0) {
		free(sub);
		ld->error = ld->error ? ld->error : -ENOMEM;
		return;
	}
	zs_set_processing(sub, on_record, on_generated_error, ld);
	ld->generate_file = file;
	ld->generate_line = line;
	generate_ctx_t ctx = {.ld = ld, .sub = sub};
	if (canon_generate_expand(args, parse_generated, &ctx, error, sizeof(error)) == -EINVAL) {
		canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, file, line, NULL, 0, NULL,
		                   "%s", error);
	}
	ld->generate_file = NULL;
	zs_deinit(sub);
	free(sub);
}

/* Comment lines: parse_file turned each $GENERATE line into one (see there). */
static void on_comment(zs_scanner_t *s)
{
	static const char DIRECTIVE[] = GENERATE_MARK "$GENERATE";
	size_t len = sizeof(DIRECTIVE) - 1;
	if (s->buffer_length > len && memcmp(s->buffer, DIRECTIVE, len) == 0) {
		char args[sizeof(s->buffer) + 1];
		memcpy(args, s->buffer + len, s->buffer_length - len);
		args[s->buffer_length - len] = '\0';
		expand_generate(s->process.data, s, args);
	}
}

/* Whether 'word' is a class libzscanner refuses (it reads class IN only). */
static bool is_other_class(const char *word, size_t len)
{
	static const char *const classes[] = {"CH", "HS", "NONE", "ANY", "CS"};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (len == strlen(classes[i]) && strncasecmp(word, classes[i], len) == 0) {
			return true;
		}
	}
	return len > 5 && strncasecmp(word, "CLASS", 5) == 0;
}

/* The text of line 'number' of 'file', read when an error needs it. */
static bool file_line(const char *file, uint32_t number, char *out, size_t size)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		return false;
	}
	bool found = false;
	for (uint32_t i = 1; fgets(out, (int)size, f) != NULL; i++) {
		if (i == number) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

/* libzscanner calls a class word it does not know an unsupported type: say what it is. */
static bool report_bad_class(load_t *ld, const zs_scanner_t *s)
{
	const char *file;
	uint32_t line;
	place(ld, s, &file, &line);
	char text[1024];
	if (s->error.code != ZS_UNSUPPORTED_TYPE || !file_line(file, line, text, sizeof(text))) {
		return false;
	}
	for (char *p = text; *p != '\0' && *p != ';';) {
		size_t len = strcspn(p, " \t\r\n");
		if (len > 0 && is_other_class(p, len)) {
			/* The owner is parsed by now; the type is the word after the class. */
			char type_word[32] = "";
			uint16_t type = 0;
			sscanf(p + len, " %31s", type_word);
			knot_rrtype_from_string(type_word, &type);
			canon_findings_add(ld->findings, &CANON_RULE_BAD_CLASS, file, line,
			                   s->r_owner, type, "use class IN",
			                   "record class %.*s is not IN; canon "
			                   "serves class IN only",
			                   (int)len, p);
			return true;
		}
		p += len + strspn(p + len, " \t\r\n");
	}
	return false;
}

static void on_error(zs_scanner_t *s)
{
	load_t *ld = s->process.data;
	if (s->error.fatal) {
		/* The scanner stops here (a missing $INCLUDE file, say): the zone is incomplete. */
		const char *file;
		uint32_t line;
		place(ld, s, &file, &line);
		canon_findings_add(
		        ld->findings, &CANON_RULE_UNREADABLE, file, line, NULL, 0, NULL,
		        "reading stopped here: %s (%s); the rest of the zone was not read",
		        zs_strerror(s->error.code), zs_errorname(s->error.code));
		return;
	}
	if (!report_bad_class(ld, s)) {
		report_syntax(ld, s);
	}
}

static bool check_record_place(load_t *ld, const zs_scanner_t *s, const char *file, uint32_t line)
{
	if (s->r_class != KNOT_CLASS_IN) {
		canon_findings_add(ld->findings, &CANON_RULE_BAD_CLASS, file, line, s->r_owner,
		                   s->r_type, "use class IN",
		                   "record class %u is not IN; canon serves class IN only",
		                   s->r_class);
		return false;
	}
	bool at_apex = knot_dname_is_case_equal(s->r_owner, ld->zone->apex_name) ||
	               knot_dname_is_equal(s->r_owner, ld->zone->apex_name);
	if (s->r_type == KNOT_RRTYPE_SOA && !at_apex) {
		canon_findings_add(ld->findings, &CANON_RULE_SOA_NOT_APEX, file, line, s->r_owner,
		                   s->r_type, "a zone has one SOA, at its apex",
		                   "SOA record below the zone apex (RFC 1035 §5.2)");
		return false;
	}
	return true;
}

/* Note where the record just added to the zone was read (lib/positions.h). */
static int note_position(load_t *ld, const zs_scanner_t *s, uint16_t type, uint16_t file,
                         uint32_t line)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, s->r_owner);
	const canon_node_t *node = canon_zone_get_name(ld->zone, lower);
	return canon_positions_record(ld->positions, node, canon_node_rrset(node, type), s->r_data,
	                              (uint16_t)s->r_data_length, file, line);
}

static void on_record(zs_scanner_t *s)
{
	load_t *ld = s->process.data;
	const char *file_name;
	uint32_t line;
	place(ld, s, &file_name, &line);
	if (!check_record_place(ld, s, file_name, line)) {
		return;
	}
	int file = file_index(ld, file_name);
	if (file < 0) {
		return;
	}
	uint16_t type = s->r_type;
	if (type == KNOT_RRTYPE_PTR && ld->generate_file == NULL &&
	    strcmp(file_name, ld->path) == 0 && line_set_has(&ld->alias_lines, line)) {
		type = CANON_RRTYPE_ALIAS;
	}
	bool ttl_mismatch = false;
	int ret = canon_zone_add(ld->zone, s->r_owner, type, s->r_ttl, s->r_data,
	                         (uint16_t)s->r_data_length, &ttl_mismatch);
	if (ret == 0) {
		ret = note_position(ld, s, type, (uint16_t)file, line);
	}
	if (ret == -EDOM) {
		canon_findings_add(ld->findings, &CANON_RULE_OUT_OF_ZONE, file_name, line,
		                   s->r_owner, s->r_type, "remove it or put it in its own zone",
		                   "record outside the zone, ignored (RFC 1034 §4.2.1)");
	} else if (ret != 0 && ld->error == 0) {
		ld->error = ret;
	} else if (ttl_mismatch) {
		char type_text[16];
		knot_rrtype_to_string(type, type_text, sizeof(type_text));
		canon_findings_add(
		        ld->findings, &CANON_RULE_TTL_MISMATCH, file_name, line, s->r_owner, type,
		        "give every record of the RRset one TTL",
		        "TTL %u differs from the TTL of the RRset's first %s record; the "
		        "first is used (RFC 2181 §5.2)",
		        s->r_ttl, type_text);
	}
}

/* A class word (RFC 1035 §5.1): IN, CH, HS, CS, NONE, ANY or CLASSnn. */
static bool is_class_word(const char *p, size_t len)
{
	static const char *const words[] = {"IN", "CH", "HS", "CS", "NONE", "ANY"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (len == strlen(words[i]) && strncasecmp(p, words[i], len) == 0) {
			return true;
		}
	}
	return len > 5 && strncasecmp(p, "CLASS", 5) == 0;
}

/*
 * The type word of a record line, if it is "ALIAS": after the owner (when the
 * line does not start with a blank) and an optional TTL and class, in either
 * order (RFC 1035 §5.1). Words in the data are never the type.
 */
static char *alias_type_word(char *line)
{
	if (line[0] == '$' || line[0] == ';') {
		return NULL;
	}
	char *p = line;
	if (!isspace((unsigned char)*p)) {
		p += strcspn(p, " \t");
	}
	for (int field = 0; field < 3; field++) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t\r\n;(");
		if (len == 0) {
			return NULL;
		}
		bool ttl = isdigit((unsigned char)*p);
		if (field < 2 && (ttl || is_class_word(p, len))) {
			p += len;
			continue;
		}
		return (len == 5 && strncasecmp(p, "ALIAS", 5) == 0) ? p : NULL;
	}
	return NULL;
}

/*
 * libzscanner knows neither BIND's $GENERATE nor canon's ALIAS type. A
 * $GENERATE line becomes a comment with GENERATE_MARK, which the scanner
 * hands to on_comment() with the $ORIGIN and $TTL in force there. In an ALIAS
 * line the type word becomes "PTR", whose data is also one domain name, and
 * the line is remembered so that on_record() stores the record as ALIAS.
 * Returns 1 and the new text when a line changed, 0 when none did, <0 on error.
 */
static int rewrite_text(const char *path, char **text, line_set_t *alias_lines)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -ENOENT;
	}
	size_t out_size = 0;
	FILE *mem = open_memstream(text, &out_size);
	char *line = NULL;
	size_t cap = 0;
	bool changed = false;
	for (uint32_t number = 1; mem != NULL && getline(&line, &cap, f) >= 0; number++) {
		char *start = line + strspn(line, " \t");
		char *alias = alias_type_word(line);
		if (strncasecmp(start, "$GENERATE", 9) == 0 &&
		    (start[9] == ' ' || start[9] == '\t')) {
			fprintf(mem, ";" GENERATE_MARK "$GENERATE%s", start + 9);
			changed = true;
		} else if (alias != NULL && line_set_add(alias_lines, number)) {
			fprintf(mem, "%.*sPTR  %s", (int)(alias - line), line, alias + 5);
			changed = true;
		} else {
			fputs(line, mem);
		}
	}
	free(line);
	fclose(f);
	if (mem == NULL) {
		return -ENOMEM;
	}
	fclose(mem);
	if (!changed) {
		free(*text);
		*text = NULL;
	}
	return changed ? 1 : 0;
}

/* Point the scanner at the zone file, or at its rewritten text (see rewrite_text). */
static int set_input(zs_scanner_t *s, const char *path, char **text, line_set_t *alias_lines)
{
	if (rewrite_text(path, text, alias_lines) <= 0) {
		return zs_set_input_file(s, path);
	}
	if (zs_set_input_string(s, *text, strlen(*text)) != 0) {
		return -1;
	}
	/* Relative $INCLUDE names are relative to the zone file's directory. */
	const char *slash = strrchr(path, '/');
	free(s->path);
	s->path = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	return 0;
}

static int parse_file(load_t *ld, const char *origin, const char *path)
{
	zs_scanner_t s;
	if (zs_init(&s, origin, KNOT_CLASS_IN, ZONE_DEFAULT_TTL) != 0) {
		zs_deinit(&s);
		canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "invalid zone origin '%s'", origin);
		return -EINVAL;
	}
	char *text = NULL;
	if (set_input(&s, path, &text, &ld->alias_lines) != 0) {
		canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "cannot read the zone file: %s", zs_strerror(s.error.code));
		zs_deinit(&s);
		free(text);
		return -ENOENT;
	}
	zs_set_processing(&s, on_record, on_error, ld);
	zs_set_processing_comment(&s, on_comment);
	if (zs_parse_all(&s) != 0 && s.error.fatal && s.error.counter == 0) {
		canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, path, (uint32_t)s.line_counter,
		                   NULL, 0, NULL, "%s", zs_strerror(s.error.code));
	}
	zs_deinit(&s);
	free(text);
	return 0;
}

int canon_flatten_parse(const char *text, canon_flatten_t *mode)
{
	static const char *const names[] = {"none", "apex", "all"};
	for (int i = 0; i < 3; i++) {
		if (strcmp(text, names[i]) == 0) {
			*mode = (canon_flatten_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

int canon_zone_load(const char *origin, const char *path, canon_findings_t *findings,
                    canon_zone_t **zone_out)
{
	return canon_zone_load_full(origin, path, CANON_FLATTEN_NONE, findings, zone_out, NULL);
}

int canon_zone_load_full(const char *origin, const char *path, canon_flatten_t flatten,
                         canon_findings_t *findings, canon_zone_t **zone_out,
                         canon_zone_positions_t **positions_out)
{
	knot_dname_storage_t apex;
	if (knot_dname_from_str(apex, origin, sizeof(apex)) == NULL) {
		canon_findings_add(findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "invalid zone name '%s'", origin);
		return -EINVAL;
	}
	size_t first_finding = findings->count;
	load_t ld = {.zone = canon_zone_new(apex),
	             .positions = canon_positions_new(),
	             .findings = findings,
	             .path = path};
	if (ld.zone == NULL || ld.positions == NULL) {
		canon_zone_free(ld.zone);
		canon_positions_free(ld.positions);
		return -ENOMEM;
	}
	int ret = parse_file(&ld, origin, path);
	free(ld.alias_lines.lines);
	if (ret == 0) {
		ret = ld.error;
	}
	if (ret == 0) {
		ld.zone->flatten = flatten;
		ret = canon_zone_seal(ld.zone);
		if (ret == -ENOENT) {
			canon_findings_add(findings, &CANON_RULE_NO_SOA, path, 0, apex,
			                   KNOT_RRTYPE_SOA, "add an SOA record at the zone apex",
			                   "no SOA record at the zone apex %s (RFC 1035 §5.2)",
			                   origin);
			ret = 0;
		}
	}
	if (ret != 0) {
		canon_zone_free(ld.zone);
		canon_positions_free(ld.positions);
		return ret;
	}
	canon_check_zone(ld.zone, ld.positions, findings);
	canon_findings_sort(findings, first_finding);
	*zone_out = ld.zone;
	if (positions_out != NULL) {
		*positions_out = ld.positions;
	} else {
		canon_positions_free(ld.positions); /* Serving memory keeps no file:line. */
	}
	return 0;
}

int canon_zone_load_for_serving(const char *origin, const char *path, canon_flatten_t flatten,
                                canon_zone_t **zone)
{
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *loaded = NULL;
	int ret = canon_zone_load_full(origin, path, flatten, &findings, &loaded, NULL);
	for (size_t i = 0; i < findings.count; i++) {
		const canon_finding_t *f = &findings.items[i];
		char place[PATH_MAX + 32];
		canon_finding_place(f, place, sizeof(place));
		canon_log(f->rule->severity == CANON_SEVERITY_ERROR ? CANON_LOG_ERROR
		                                                    : CANON_LOG_WARNING,
		          "%s: %s [%s]", place, f->message, f->rule->id);
	}
	if (ret == 0 && (canon_findings_block_load(&findings) || loaded->soa == NULL)) {
		ret = -EINVAL;
	}
	canon_findings_free(&findings);
	if (ret != 0) {
		canon_zone_free(loaded);
		return ret;
	}
	*zone = loaded;
	return 0;
}

static void guess_on_record(zs_scanner_t *s)
{
	if (s->r_type == KNOT_RRTYPE_SOA) {
		knot_dname_to_str(s->process.data, s->r_owner, KNOT_DNAME_TXT_MAXLEN + 1);
		s->state = ZS_STATE_STOP;
	}
}

static void origin_from_file_name(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(base, "db.", 3) == 0) {
		base += 3;
	}
	size_t len = strlen(base);
	static const char *const suffixes[] = {".zone", ".db"};
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(suffixes[i]);
		if (len > n && strcmp(base + len - n, suffixes[i]) == 0) {
			len -= n;
			break;
		}
	}
	bool dotted = len > 0 && base[len - 1] == '.';
	snprintf(out, size, "%.*s%s", (int)len, base, dotted ? "" : ".");
}

void canon_zone_guess_origin(const char *path, char *out, size_t size)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1] = "";
	zs_scanner_t s;
	if (zs_init(&s, ".", KNOT_CLASS_IN, ZONE_DEFAULT_TTL) == 0 &&
	    zs_set_input_file(&s, path) == 0) {
		zs_set_processing(&s, guess_on_record, NULL, owner);
		zs_parse_all(&s);
	}
	zs_deinit(&s);
	if (owner[0] != '\0' && strcmp(owner, ".") != 0) {
		snprintf(out, size, "%s", owner);
	} else {
		origin_from_file_name(path, out, size);
	}
}
