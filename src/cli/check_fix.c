/*
 * canon check --fix: collapse in-zone alias chains. Each CNAME that starts a
 * chain of two or more hops, and each MX, NS or SRV whose target is an alias
 * (RFC 2181 §10.3, RFC 2782), is pointed straight at the chain's final name;
 * each change is listed on stderr, and the rest of the file (comments, order,
 * spacing) is printed unchanged.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libknot/descriptor.h>

#include "cli/check.h"

/* The finding with a --fix target for 'line' of 'path', or NULL. */
static const canon_finding_t *fix_for_line(const canon_findings_t *findings, const char *path,
                                           unsigned line)
{
	for (size_t i = 0; i < findings->count; i++) {
		const canon_finding_t *f = &findings->items[i];
		if (f->fix_target != NULL && f->line == line && f->file != NULL &&
		    strcmp(f->file, path) == 0) {
			return f;
		}
	}
	return NULL;
}

/* Whether the word at 'p' (of 'len' bytes) is a class (RFC 1035 §5.1). */
static bool class_word(const char *p, size_t len)
{
	static const char *const words[] = {"IN", "CH", "HS", "CS", "NONE", "ANY"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (len == strlen(words[i]) && strncasecmp(p, words[i], len) == 0) {
			return true;
		}
	}
	return false;
}

/* Fields between the type word and the target name: MX preference; SRV priority, weight, port. */
static int fields_before_target(uint16_t type)
{
	return type == KNOT_RRTYPE_MX ? 1 : type == KNOT_RRTYPE_SRV ? 3 : 0;
}

/*
 * Start of the target name in a record line of 'type' (CNAME, MX, NS or SRV),
 * or NULL. A line that starts with a non-blank has an owner first (which may
 * itself be named "cname"); then come an optional TTL and class, in either
 * order, the type word, and the fields before the name (RFC 1035 §5.1).
 * Directive lines ($GENERATE, ...) and records continued over lines with
 * parentheses are left alone.
 */
static const char *target_token(const char *text, uint16_t type)
{
	if (text[0] == '$' || strchr(text, '(') != NULL) {
		return NULL;
	}
	char type_name[16];
	knot_rrtype_to_string(type, type_name, sizeof(type_name));
	const char *p = text;
	if (!isspace((unsigned char)*p)) {
		p += strcspn(p, " \t");
	}
	int field = 0, after_type = -1;
	for (;;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t\r\n;");
		if (len == 0) {
			return NULL;
		}
		if (after_type < 0) {
			bool ttl = isdigit((unsigned char)*p);
			if (field < 2 && (ttl || class_word(p, len))) {
				field++;
			} else if (len == strlen(type_name) &&
			           strncasecmp(p, type_name, len) == 0) {
				after_type = 0;
			} else {
				return NULL;
			}
		} else if (after_type++ == fields_before_target(type)) {
			return p;
		}
		p += len;
	}
}

/* Print 'line' with its target replaced per 'fix'; say on stderr what changed. */
static void print_fixed_line(const char *line, const canon_finding_t *fix, const char *path,
                             unsigned number, FILE *out)
{
	const char *token = fix ? target_token(line, fix->type) : NULL;
	if (token == NULL) {
		if (fix != NULL) {
			fprintf(stderr, "%s:%u: not changed: cannot find the target in this line\n",
			        path, number);
		}
		fputs(line, out);
		return;
	}
	size_t len = strcspn(token, " \t\r\n;");
	char type[16];
	knot_rrtype_to_string(fix->type, type, sizeof(type));
	fprintf(stderr, "%s:%u: %s %s: target %.*s -> %s\n", path, number, fix->owner, type,
	        (int)len, token, fix->fix_target);
	fwrite(line, 1, (size_t)(token - line), out);
	fputs(fix->fix_target, out);
	fputs(token + len, out);
}

static int fix_zone(const canon_check_zone_t *cz, FILE *out)
{
	FILE *in = fopen(cz->path, "r");
	if (in == NULL) {
		fprintf(stderr, "canon check: %s: %s\n", cz->path, strerror(errno));
		return -errno;
	}
	char *line = NULL;
	size_t cap = 0;
	size_t changes = 0;
	for (unsigned number = 1; getline(&line, &cap, in) >= 0; number++) {
		const canon_finding_t *fix = fix_for_line(&cz->findings, cz->path, number);
		print_fixed_line(line, fix, cz->path, number, out);
		changes += fix != NULL;
	}
	free(line);
	fclose(in);
	if (changes == 0) {
		fprintf(stderr, "%s: nothing to fix, the zone is printed unchanged\n", cz->path);
	}
	return 0;
}

int canon_check_fix(const canon_check_zone_t *zones, size_t count)
{
	int ret = 0;
	for (size_t i = 0; i < count; i++) {
		if (zones[i].zone == NULL) {
			ret = -EINVAL;
			continue;
		}
		if (count > 1) {
			printf("; canon check --fix: %s\n", zones[i].path);
		}
		int r = fix_zone(&zones[i], stdout);
		if (r != 0) {
			ret = r;
		}
	}
	return ret;
}
