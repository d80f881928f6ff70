/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "lib/generate.h"
#include "lib/log.h"
#include "lib/zone_load.h"

/* Default TTL when a file has no $TTL before its first record (as Knot does). */
#define ZONE_DEFAULT_TTL 3600

/*
 * libzscanner does not know BIND's $GENERATE, and stops at an unknown directive.
 * rewrite_text turns each "$GENERATE" at a line start into a comment that
 * starts with GENERATE_MARK, so the scanner hands it to on_comment() with the
 * $ORIGIN and $TTL in force at that line. "$INCLUDE" lines become comments
 * with INCLUDE_MARK the same way: canon reads included files itself, so that
 * they get the same rewriting and limits (libzscanner would read a FIFO or
 * /dev/zero into memory until it ends, and nest without a bound).
 */
#define GENERATE_MARK "canon-generate:"
#define INCLUDE_MARK  "canon-include:"

/* Lines of a zone file that hold an ALIAS record (see rewrite_text). */
typedef struct {
	uint32_t *lines;
	size_t count, cap;
} line_set_t;

/* An RRset already reported as too large. */
typedef struct {
	knot_dname_t *owner;
	uint16_t type;
} reported_t;

typedef struct {
	canon_zone_t *zone;
	canon_zone_positions_t *positions; /* Where each record was read. */
	canon_findings_t *findings;
	canon_zone_limits_t limits;
	uint64_t budget; /* Bytes of zone-max-size not used yet. */
	int error;       /* First fatal error: the load fails. */
	bool stopped;    /* Reading stopped (a fatal error, a limit, an interrupt). */
	/* While records of a $GENERATE line are parsed: that line's place. */
	const char *generate_file;
	uint32_t generate_line;
	reported_t *too_large; /* RRsets reported as too large, so each is reported once. */
	size_t too_large_count;
} load_t;

/* One zone file being read: the zone's file or an $INCLUDEd one. */
typedef struct file_ctx {
	load_t *ld;
	const char *name; /* As findings name it. */
	const struct file_ctx *includer;
	unsigned depth; /* 0 for the zone's file. */
	dev_t dev;
	ino_t ino;
	line_set_t alias_lines; /* Lines whose record is an ALIAS. */
} file_ctx_t;

static canon_zone_limits_t load_limits = {
        .max_size = CANON_ZONE_MAX_SIZE_DEFAULT,
        .include_depth = CANON_INCLUDE_DEPTH_DEFAULT,
};
static atomic_bool load_interrupted;

void canon_zone_load_set_limits(const canon_zone_limits_t *limits)
{
	load_limits = *limits;
}

void canon_zone_load_get_limits(canon_zone_limits_t *limits)
{
	*limits = load_limits;
}

void canon_zone_load_interrupt(bool stop)
{
	atomic_store(&load_interrupted, stop);
}

bool canon_zone_load_interrupted(void)
{
	return atomic_load(&load_interrupted);
}

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
static void place(const zs_scanner_t *s, const char **file, uint32_t *line)
{
	const file_ctx_t *fc = s->process.data;
	if (fc->ld->generate_file != NULL) {
		*file = fc->ld->generate_file;
		*line = fc->ld->generate_line;
	} else {
		*file = fc->name;
		*line = (uint32_t)s->line_counter;
	}
}

/* Stop reading the zone, with a finding that says where and why. */
static void stop_load(load_t *ld, int error, const char *file, uint32_t line, const char *fmt,
                      const char *what)
{
	if (!ld->stopped) {
		canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, file, line, NULL, 0, NULL,
		                   fmt, what);
	}
	ld->stopped = true;
	if (ld->error == 0) {
		ld->error = error;
	}
}

/* Whether reading must stop: an earlier stop, or canon_zone_load_interrupt(). */
static bool load_stopped(load_t *ld, const char *file, uint32_t line)
{
	if (!ld->stopped && atomic_load(&load_interrupted)) {
		stop_load(ld, -EINTR, file, line, "reading stopped here: %s",
		          "the process is stopping");
	}
	return ld->stopped;
}

/* Take 'bytes' of text from the zone-max-size budget; false (and stop) when it is spent. */
static bool take_budget(load_t *ld, uint64_t bytes, const char *file, uint32_t line)
{
	if (bytes > ld->budget) {
		char limit[64];
		snprintf(limit, sizeof(limit), "%llu", (unsigned long long)ld->limits.max_size);
		stop_load(ld, -EFBIG, file, line,
		          "reading stopped here: the zone's text (its files, $INCLUDEs and "
		          "$GENERATE records) is larger than zone-max-size, %s bytes",
		          limit);
		return false;
	}
	ld->budget -= bytes;
	return true;
}

static int file_index(load_t *ld, const char *file, uint32_t line)
{
	int idx = canon_positions_add_file(ld->positions, file);
	if (idx < 0) {
		stop_load(ld, idx, file, line, "reading stopped here: %s",
		          idx == -E2BIG ? "the zone has more than 65,535 files" : strerror(-idx));
	}
	return idx;
}

static void on_record(zs_scanner_t *s);

static void report_syntax(load_t *ld, const zs_scanner_t *s)
{
	const char *file;
	uint32_t line;
	place(s, &file, &line);
	canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, file, line, NULL, 0, NULL, "%s (%s)",
	                   zs_strerror(s->error.code), zs_errorname(s->error.code));
}

static void on_generated_error(zs_scanner_t *s)
{
	const file_ctx_t *fc = s->process.data;
	report_syntax(fc->ld, s);
}

typedef struct {
	load_t *ld;
	zs_scanner_t *sub;
} generate_ctx_t;

static int parse_generated(const char *record, void *arg)
{
	generate_ctx_t *g = arg;
	load_t *ld = g->ld;
	size_t len = strlen(record);
	/* Generated text counts against zone-max-size as if it were in the file. */
	if (load_stopped(ld, ld->generate_file, ld->generate_line) ||
	    !take_budget(ld, len, ld->generate_file, ld->generate_line)) {
		return ld->error ? ld->error : -EINTR;
	}
	if (record[0] == '$') {
		/* "\$INCLUDE" as the owner would make a directive that libzscanner follows itself.
		 */
		canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, ld->generate_file,
		                   ld->generate_line, NULL, 0, NULL,
		                   "$GENERATE makes a directive, not a record: %.*s",
		                   (int)strcspn(record, "\n"), record);
		return -EPERM; /* Stops the expansion; -EINVAL would report it twice. */
	}
	if (zs_set_input_string(g->sub, record, len) != 0 || zs_parse_all(g->sub) != 0) {
		/* Errors were reported by the callback; go on with the next record. */
		return ld->stopped ? ld->error : 0;
	}
	return ld->stopped ? ld->error : 0;
}

/* Expand one $GENERATE line (its text after the directive), in the scanner's context. */
static void expand_generate(file_ctx_t *fc, const zs_scanner_t *s, const char *args)
{
	load_t *ld = fc->ld;
	char origin[KNOT_DNAME_TXT_MAXLEN + 1], error[256];
	const char *file;
	uint32_t line;
	place(s, &file, &line);
	knot_dname_to_str(origin, s->zone_origin, sizeof(origin));
	zs_scanner_t *sub = malloc(sizeof(*sub));
	if (sub == NULL || zs_init(sub, origin, KNOT_CLASS_IN, s->default_ttl) != 0) {
		free(sub);
		stop_load(ld, -ENOMEM, file, line, "reading stopped here: %s", strerror(ENOMEM));
		return;
	}
	zs_set_processing(sub, on_record, on_generated_error, fc);
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

static void include_file(file_ctx_t *fc, const zs_scanner_t *s, const char *args);

/* Comment lines: rewrite_text turned each $GENERATE and $INCLUDE line into one. */
static void on_comment(zs_scanner_t *s)
{
	static const char GENERATE[] = GENERATE_MARK "$GENERATE";
	static const char INCLUDE[] = INCLUDE_MARK "$INCLUDE";
	file_ctx_t *fc = s->process.data;
	const char *file;
	uint32_t line;
	place(s, &file, &line);
	if (load_stopped(fc->ld, file, line)) {
		s->state = ZS_STATE_STOP;
		return;
	}
	bool generate = s->buffer_length > sizeof(GENERATE) - 1 &&
	                memcmp(s->buffer, GENERATE, sizeof(GENERATE) - 1) == 0;
	bool include = s->buffer_length > sizeof(INCLUDE) - 1 &&
	               memcmp(s->buffer, INCLUDE, sizeof(INCLUDE) - 1) == 0;
	if (!generate && !include) {
		return;
	}
	/* For $INCLUDE the directive stays: libzscanner parses the line (see include_file). */
	size_t skip = generate ? sizeof(GENERATE) - 1 : sizeof(INCLUDE_MARK) - 1;
	char *args = strndup((const char *)s->buffer + skip, s->buffer_length - skip);
	if (args == NULL) {
		stop_load(fc->ld, -ENOMEM, file, line, "reading stopped here: %s",
		          strerror(ENOMEM));
	} else if (generate) {
		expand_generate(fc, s, args);
	} else {
		include_file(fc, s, args);
	}
	free(args);
	if (fc->ld->stopped) {
		s->state = ZS_STATE_STOP;
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
	place(s, &file, &line);
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
	load_t *ld = ((file_ctx_t *)s->process.data)->ld;
	if (s->error.fatal) {
		/* The scanner stops here: the zone is incomplete. */
		const char *file;
		uint32_t line;
		place(s, &file, &line);
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

/* Report an RRset of more than 65,535 records, once. */
static void report_too_large(load_t *ld, const zs_scanner_t *s, const char *file, uint32_t line,
                             uint16_t type)
{
	for (size_t i = 0; i < ld->too_large_count; i++) {
		if (ld->too_large[i].type == type &&
		    knot_dname_is_case_equal(ld->too_large[i].owner, s->r_owner)) {
			return;
		}
	}
	reported_t *list =
	        realloc(ld->too_large, (ld->too_large_count + 1) * sizeof(*ld->too_large));
	if (list == NULL) {
		return;
	}
	ld->too_large = list;
	list[ld->too_large_count].owner = knot_dname_copy(s->r_owner, NULL);
	list[ld->too_large_count].type = type;
	if (list[ld->too_large_count].owner != NULL) {
		ld->too_large_count++;
	}
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type_text[16];
	knot_dname_to_str(owner, s->r_owner, sizeof(owner));
	knot_rrtype_to_string(type, type_text, sizeof(type_text));
	canon_findings_add(ld->findings, &CANON_RULE_RRSET_TOO_LARGE, file, line, s->r_owner, type,
	                   "split the records over several names",
	                   "more than 65,535 %s records at %s, the rest ignored: a DNS message "
	                   "counts records in 16 bits (RFC 1035 §4.1.1)",
	                   type_text, owner);
}

static void on_record(zs_scanner_t *s)
{
	file_ctx_t *fc = s->process.data;
	load_t *ld = fc->ld;
	const char *file_name;
	uint32_t line;
	place(s, &file_name, &line);
	if (load_stopped(ld, file_name, line)) {
		s->state = ZS_STATE_STOP;
		return;
	}
	if (!check_record_place(ld, s, file_name, line)) {
		return;
	}
	int file = file_index(ld, file_name, line);
	if (file < 0) {
		s->state = ZS_STATE_STOP;
		return;
	}
	uint16_t type = s->r_type;
	if (type == KNOT_RRTYPE_PTR && ld->generate_file == NULL &&
	    line_set_has(&fc->alias_lines, line)) {
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
	} else if (ret == -E2BIG) {
		report_too_large(ld, s, file_name, line, type);
	} else if (ret != 0) {
		stop_load(ld, ret, file_name, line, "reading stopped here: %s", strerror(-ret));
		s->state = ZS_STATE_STOP;
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

/* Whether 'line' starts (at its first column) with the directive 'word'. */
static bool is_directive(const char *line, const char *word)
{
	size_t len = strlen(word);
	return strncasecmp(line, word, len) == 0 && line[len] != '\0' &&
	       strchr(" \t\r\n", line[len]) != NULL;
}

/*
 * libzscanner knows neither BIND's $GENERATE nor canon's ALIAS type, and canon
 * reads $INCLUDEd files itself. A $GENERATE or $INCLUDE line becomes a comment
 * with GENERATE_MARK or INCLUDE_MARK, which the scanner hands to on_comment()
 * with the $ORIGIN and $TTL in force there. In an ALIAS line the type word
 * becomes "PTR", whose data is also one domain name, and the line is
 * remembered so that on_record() stores the record as ALIAS. Returns 1 and
 * the new text when a line changed, 0 when none did, <0 on error.
 */
static int rewrite_text(const char *in, size_t in_len, char **text, size_t *text_len,
                        line_set_t *alias_lines)
{
	FILE *f = fmemopen((void *)in, in_len, "r");
	if (f == NULL) {
		return in_len == 0 ? 0 : -ENOMEM;
	}
	FILE *mem = open_memstream(text, text_len);
	char *line = NULL;
	size_t cap = 0;
	bool changed = false;
	ssize_t got;
	for (uint32_t number = 1; mem != NULL && (got = getline(&line, &cap, f)) >= 0; number++) {
		char *start = line + strspn(line, " \t");
		char *alias = alias_type_word(line);
		if (is_directive(start, "$GENERATE")) {
			fprintf(mem, ";" GENERATE_MARK "%s", start);
			changed = true;
		} else if (strncasecmp(line, "$INCLUDE", 8) == 0) {
			/* Every $INCLUDE, so that libzscanner never opens a file itself. */
			fprintf(mem, ";" INCLUDE_MARK "%s", line);
			changed = true;
		} else if (alias != NULL && line_set_add(alias_lines, number)) {
			fprintf(mem, "%.*sPTR  %s", (int)(alias - line), line, alias + 5);
			changed = true;
		} else {
			fwrite(line, 1, (size_t)got, mem);
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

/*
 * Open a zone file without blocking (a FIFO would wait for a writer) and take
 * only a regular file: a FIFO or a device never ends or never starts.
 * Returns the descriptor, or -1 with *why saying what is wrong.
 */
static int open_regular(const char *path, struct stat *st, const char **why)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		*why = "not a regular file";
		close(fd);
		return -1;
	}
	return fd;
}

/* Read all of 'fd', at most 'max' bytes; -EFBIG when there is more. */
static int read_bounded(int fd, uint64_t max, uint64_t size_hint, char **out, size_t *len)
{
	size_t cap = (size_t)(size_hint < max ? size_hint : max) + 1;
	char *buf = malloc(cap);
	size_t used = 0;
	for (;;) {
		if (buf == NULL) {
			return -ENOMEM;
		}
		if (used == cap) {
			if (used > max) {
				free(buf);
				return -EFBIG;
			}
			size_t grown = cap * 2 > max + 1 ? (size_t)max + 1 : cap * 2;
			char *next = realloc(buf, grown);
			if (next == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = next;
			cap = grown;
		}
		ssize_t got = read(fd, buf + used, cap - used);
		if (got < 0) {
			free(buf);
			return -errno;
		}
		if (got == 0) {
			break;
		}
		used += (size_t)got;
	}
	if (used > max) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*len = used;
	return 0;
}

/* The directory of 'path', for relative $INCLUDE names: absolute, as libzscanner makes it. */
static char *dir_of(const char *path)
{
	char *full = realpath(path, NULL);
	if (full == NULL) {
		return strdup(".");
	}
	char *dir = strdup(dirname(full));
	free(full);
	return dir;
}

/* Parse the text of one file (fc) with the scanner settings given. */
static void parse_text(file_ctx_t *fc, const char *origin, uint32_t ttl, const char *path,
                       const char *text, size_t len)
{
	load_t *ld = fc->ld;
	char *rewritten = NULL;
	size_t rewritten_len = 0;
	int ret = rewrite_text(text, len, &rewritten, &rewritten_len, &fc->alias_lines);
	if (ret < 0) {
		stop_load(ld, ret, fc->name, 0, "cannot read the zone file: %s", strerror(-ret));
		return;
	}
	/* On the heap: a scanner is 200 KiB, and includes nest. */
	zs_scanner_t *s = malloc(sizeof(*s));
	if (s == NULL || zs_init(s, origin, KNOT_CLASS_IN, ttl) != 0) {
		if (s != NULL) {
			zs_deinit(s);
		}
		stop_load(ld, s ? -EINVAL : -ENOMEM, fc->name, 0, "cannot start reading: %s",
		          s ? "invalid zone origin" : strerror(ENOMEM));
		free(s);
		free(rewritten);
		return;
	}
	const char *input = rewritten ? rewritten : text;
	size_t input_len = rewritten ? rewritten_len : len;
	/* A zone file's text is its own: libzscanner gets it as a string, never the file. */
	zs_set_input_string(s, input_len ? input : "", input_len);
	free(s->path);
	s->path = dir_of(path);
	zs_set_processing(s, on_record, on_error, fc);
	zs_set_processing_comment(s, on_comment);
	if (s->path == NULL) {
		stop_load(ld, -ENOMEM, fc->name, 0, "cannot read the zone file: %s",
		          strerror(ENOMEM));
	} else if (zs_parse_all(s) != 0 && s->error.fatal && s->error.counter == 0) {
		canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, fc->name,
		                   (uint32_t)s->line_counter, NULL, 0, NULL, "%s",
		                   zs_strerror(s->error.code));
	}
	zs_deinit(s);
	free(s);
	free(rewritten);
}

/* The file name and origin of an "$INCLUDE ..." line, parsed by libzscanner itself. */
static int include_args(const zs_scanner_t *s, const char *args, char **name, char *origin,
                        size_t origin_size, int *error)
{
	char current[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(current, s->zone_origin, sizeof(current));
	zs_scanner_t *sub = malloc(sizeof(*sub));
	if (sub == NULL) {
		*error = ZS_ENOMEM;
		return -1;
	}
	int ret = zs_init(sub, current, KNOT_CLASS_IN, s->default_ttl);
	char *line = NULL;
	if (ret == 0 && asprintf(&line, "%s\n", args) < 0) {
		line = NULL;
	}
	ret = ret == 0 && line != NULL ? zs_set_input_string(sub, line, strlen(line)) : -1;
	if (ret == 0) {
		/* Relative names are relative to the including file (libzscanner prefixes path). */
		free(sub->path);
		sub->path = strdup(s->path);
		/* Not automatic: libzscanner stops at the directive and leaves the file to us. */
		ret = sub->path != NULL ? zs_parse_record(sub) : -1;
	}
	if (ret == 0 && sub->state == ZS_STATE_INCLUDE) {
		*name = strdup(sub->include_filename);
		size_t len = strnlen((const char *)sub->buffer, origin_size - 1);
		memcpy(origin, sub->buffer, len);
		origin[len] = '\0';
		ret = *name != NULL ? 0 : -1;
	} else {
		ret = -1;
	}
	*error = sub->error.code != ZS_OK ? sub->error.code : ZS_BAD_INCLUDE_FILENAME;
	zs_deinit(sub);
	free(sub);
	free(line);
	return ret;
}

/* Whether the file (dev, ino) is 'fc' or a file that includes it. */
static bool includes_itself(const file_ctx_t *fc, const struct stat *st)
{
	for (; fc != NULL; fc = fc->includer) {
		if (fc->dev == st->st_dev && fc->ino == st->st_ino) {
			return true;
		}
	}
	return false;
}

static void include_report(load_t *ld, const char *file, uint32_t line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* An $INCLUDE that is not read: the zone is incomplete, so the finding is "unreadable". */
static void include_report(load_t *ld, const char *file, uint32_t line, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, file, line, NULL, 0, NULL, "%s",
	                   message);
}

/* One $INCLUDE line (args: "$INCLUDE file [origin]"), read at fc's line. */
static void include_file(file_ctx_t *fc, const zs_scanner_t *s, const char *args)
{
	load_t *ld = fc->ld;
	const char *file;
	uint32_t line;
	place(s, &file, &line);
	char *name = NULL, origin[KNOT_DNAME_TXT_MAXLEN + 1];
	int error = 0;
	if (include_args(s, args, &name, origin, sizeof(origin), &error) != 0) {
		canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, file, line, NULL, 0, NULL,
		                   "%s (%s)", zs_strerror(error), zs_errorname(error));
		free(name);
		return;
	}
	/* Each $INCLUDE costs at least a page, so that many empty files cannot outlast the budget.
	 */
	if (!take_budget(ld, CANON_INCLUDE_COST, file, line)) {
		free(name);
		return;
	}
	struct stat st;
	const char *why = NULL;
	int fd = open_regular(name, &st, &why);
	if (fd < 0) {
		include_report(ld, file, line, "cannot $INCLUDE %s: %s; it was not read", name,
		               why);
	} else if (includes_itself(fc, &st)) {
		include_report(ld, file, line,
		               "$INCLUDE %s includes itself (a loop); not read again", name);
	} else if (fc->depth + 1 > ld->limits.include_depth) {
		include_report(ld, file, line,
		               "$INCLUDE %s not read: includes nest more than %u deep", name,
		               ld->limits.include_depth);
	} else {
		char *text = NULL;
		size_t len = 0;
		int ret = read_bounded(fd, ld->budget, (uint64_t)st.st_size, &text, &len);
		if (ret == -EFBIG) {
			take_budget(ld, ld->budget + 1, file, line);
		} else if (ret != 0) {
			include_report(ld, file, line, "cannot $INCLUDE %s: %s; it was not read",
			               name, strerror(-ret));
		} else {
			ld->budget -= len;
			file_ctx_t child = {.ld = ld,
			                    .name = name,
			                    .includer = fc,
			                    .depth = fc->depth + 1,
			                    .dev = st.st_dev,
			                    .ino = st.st_ino};
			parse_text(&child, origin, s->default_ttl, name, text, len);
			free(child.alias_lines.lines);
			free(text);
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	/* Findings keep their own copy of the name, so it may go now. */
	free(name);
}

static int parse_file(load_t *ld, const char *origin, const char *path)
{
	struct stat st;
	const char *why = NULL;
	int fd = open_regular(path, &st, &why);
	if (fd < 0) {
		canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "cannot read the zone file: %s", why);
		return -ENOENT;
	}
	char *text = NULL;
	size_t len = 0;
	int ret = read_bounded(fd, ld->budget, (uint64_t)st.st_size, &text, &len);
	close(fd);
	if (ret == -EFBIG) {
		take_budget(ld, ld->budget + 1, path, 0);
		return -EFBIG;
	}
	if (ret != 0) {
		canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "cannot read the zone file: %s", strerror(-ret));
		return -ENOENT;
	}
	ld->budget -= len;
	file_ctx_t fc = {.ld = ld, .name = path, .dev = st.st_dev, .ino = st.st_ino};
	parse_text(&fc, origin, ZONE_DEFAULT_TTL, path, text, len);
	free(fc.alias_lines.lines);
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
	             .limits = load_limits,
	             .budget = load_limits.max_size};
	if (ld.zone == NULL || ld.positions == NULL) {
		canon_zone_free(ld.zone);
		canon_positions_free(ld.positions);
		return -ENOMEM;
	}
	int ret = parse_file(&ld, origin, path);
	for (size_t i = 0; i < ld.too_large_count; i++) {
		free(ld.too_large[i].owner);
	}
	free(ld.too_large);
	if (ret == 0) {
		ret = ld.error;
	}
	if (ret == 0) {
		ld.zone->flatten = flatten;
		/* Before the seal sorts the RRsets: their lines follow them into rdata order. */
		ret = canon_positions_order(ld.positions, ld.zone);
		if (ret == 0) {
			ret = canon_zone_seal(ld.zone);
		}
		if (ret == -ENOMEM) {
			canon_findings_add(findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
			                   "cannot load the zone: %s", strerror(ENOMEM));
		}
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

/* Why a load failed, for the one line that says the zone is not served. */
static void failure_reason(const canon_findings_t *findings, const canon_zone_t *zone, char *why,
                           size_t size)
{
	for (size_t i = 0; i < findings->count; i++) {
		const canon_finding_t *f = &findings->items[i];
		if (f->rule->blocks_load) {
			char place[PATH_MAX + 32];
			canon_finding_place(f, place, sizeof(place));
			snprintf(why, size, "%s: %s [%s]", place, f->message, f->rule->id);
			return;
		}
	}
	snprintf(why, size, "%s", zone == NULL ? "cannot read the zone" : "no SOA record");
}

int canon_zone_load_for_serving(const char *origin, const char *path, canon_flatten_t flatten,
                                canon_zone_t **zone, char *why, size_t why_size)
{
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *loaded = NULL;
	int ret = canon_zone_load_full(origin, path, flatten, &findings, &loaded, NULL);
	canon_findings_log(&findings, origin, NULL, CANON_LOAD_FINDINGS_LOGGED);
	if (ret == 0 && (canon_findings_block_load(&findings) || loaded->soa == NULL)) {
		ret = -EINVAL;
	}
	if (ret != 0 && why != NULL) {
		failure_reason(&findings, ret == -EINVAL ? loaded : NULL, why, why_size);
	}
	/* Nothing of the check stays: serving memory holds the zone only (issue 15). */
	canon_findings_free(&findings);
	if (ret != 0) {
		canon_zone_free(loaded);
		return ret;
	}
	*zone = loaded;
	return 0;
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
	struct stat st;
	const char *why;
	char *text = NULL;
	size_t len = 0;
	int fd = open_regular(path, &st, &why);
	/* Only a regular file within zone-max-size: the load says what is wrong with others. */
	if (fd >= 0 &&
	    read_bounded(fd, load_limits.max_size, (uint64_t)st.st_size, &text, &len) == 0) {
		zs_scanner_t s;
		if (zs_init(&s, ".", KNOT_CLASS_IN, ZONE_DEFAULT_TTL) == 0 &&
		    zs_set_input_string(&s, len ? text : "", len) == 0) {
			/* Not automatic mode: libzscanner leaves $INCLUDE to the caller. */
			while (zs_parse_record(&s) == 0 && owner[0] == '\0' &&
			       (s.state == ZS_STATE_DATA || s.state == ZS_STATE_INCLUDE ||
			        (s.state == ZS_STATE_ERROR && !s.error.fatal))) {
				if (s.state == ZS_STATE_DATA && s.r_type == KNOT_RRTYPE_SOA) {
					knot_dname_to_str(owner, s.r_owner, sizeof(owner));
				}
			}
		}
		zs_deinit(&s);
	}
	if (fd >= 0) {
		close(fd);
	}
	free(text);
	if (owner[0] != '\0' && strcmp(owner, ".") != 0) {
		snprintf(out, size, "%s", owner);
	} else {
		origin_from_file_name(path, out, size);
	}
}
