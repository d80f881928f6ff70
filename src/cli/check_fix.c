/*
 * canon check --fix: collapse in-zone alias chains. Each CNAME that starts a
 * chain of two or more hops is pointed straight at the chain's final name; the
 * rest of the file (comments, order, spacing) is printed unchanged.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/check.h"

/* The --fix target for 'line' of 'path', or NULL. */
static const char *fix_for_line(const canon_findings_t *findings, const char *path, unsigned line)
{
	for (size_t i = 0; i < findings->count; i++) {
		const canon_finding_t *f = &findings->items[i];
		if (f->fix_target != NULL && f->line == line && f->file != NULL &&
		    strcmp(f->file, path) == 0) {
			return f->fix_target;
		}
	}
	return NULL;
}

/*
 * Start of the token after the type word "CNAME" in a record line, or NULL. A
 * line that starts with a non-blank has an owner first, which may itself be
 * named "cname"; directive lines ($GENERATE, ...) are left alone.
 */
static const char *cname_target_token(const char *text)
{
	if (text[0] == '$') {
		return NULL;
	}
	const char *start = text;
	if (!isspace((unsigned char)text[0])) {
		start += strcspn(text, " \t");
	}
	for (const char *p = start; *p != '\0' && *p != ';'; p++) {
		bool word_start = p == text || isspace((unsigned char)p[-1]);
		if (word_start && strncasecmp(p, "CNAME", 5) == 0 && isspace((unsigned char)p[5])) {
			p += 5;
			while (isspace((unsigned char)*p) && *p != '\n') {
				p++;
			}
			return (*p == '\0' || *p == '\n' || *p == ';') ? NULL : p;
		}
	}
	return NULL;
}

static void print_fixed_line(const char *line, const char *target, FILE *out)
{
	const char *token = target ? cname_target_token(line) : NULL;
	if (token == NULL) {
		fputs(line, out);
		return;
	}
	size_t len = strcspn(token, " \t\r\n;");
	fwrite(line, 1, (size_t)(token - line), out);
	fputs(target, out);
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
	for (unsigned number = 1; getline(&line, &cap, in) >= 0; number++) {
		print_fixed_line(line, fix_for_line(&cz->findings, cz->path, number), out);
	}
	free(line);
	fclose(in);
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
