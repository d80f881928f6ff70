/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/generate.h"

#define GENERATE_LINE_MAX   4096
#define GENERATE_TOKENS_MAX 16
/* BIND reads start, stop, step and offsets as C ints: 0..2^31-1 (lib/dns/master.c). */
#define GENERATE_VALUE_MAX 2147483647L

typedef struct {
	long start, stop, step;
	char *tokens[GENERATE_TOKENS_MAX];
	int token_count;
} generate_t;

/* A decimal number 0..GENERATE_VALUE_MAX at 'text'; *end after it. */
static int parse_value(const char *text, const char **end, long *value)
{
	long v = 0;
	const char *p = text;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > GENERATE_VALUE_MAX) {
			return -ERANGE; /* Stop before it can overflow. */
		}
	}
	*end = p;
	*value = v;
	return p == text ? -EINVAL : 0;
}

static int parse_range(generate_t *g, const char *text)
{
	const char *end;
	int ret = parse_value(text, &end, &g->start);
	if (ret != 0 || *end != '-') {
		return ret ? ret : -EINVAL;
	}
	if ((ret = parse_value(end + 1, &end, &g->stop)) != 0) {
		return ret;
	}
	g->step = 1;
	if (*end == '/' && (ret = parse_value(end + 1, &end, &g->step)) != 0) {
		return ret;
	}
	if (*end != '\0' || g->stop < g->start || g->step < 1) {
		return -EINVAL;
	}
	return 0;
}

/* "${offset,width,base}" at 'p' (after "${"); advances *p past '}'. */
static int format_modifier(const char **p, long value, char *out, size_t size)
{
	long offset = 0, width = 0;
	char base = 'd';
	int used = 0;
	int n = sscanf(*p, "%ld%n", &offset, &used);
	if (n != 1 || offset > GENERATE_VALUE_MAX || offset < -GENERATE_VALUE_MAX) {
		return -EINVAL; /* Bounded, so value + offset cannot overflow. */
	}
	const char *q = *p + used;
	if (*q == ',') {
		char *end;
		width = strtol(q + 1, &end, 10);
		if (end == q + 1 || width < 0 || width > 64) {
			return -EINVAL;
		}
		q = end;
		if (*q == ',') {
			base = q[1];
			q += 2;
		}
	}
	if (*q != '}') {
		return -EINVAL;
	}
	*p = q + 1;
	const char *fmt = base == 'd'   ? "%0*ld"
	                  : base == 'o' ? "%0*lo"
	                  : base == 'x' ? "%0*lx"
	                  : base == 'X' ? "%0*lX"
	                                : NULL;
	if (fmt == NULL) {
		return -EINVAL;
	}
	return snprintf(out, size, fmt, (int)width, value + offset) < (int)size ? 0 : -EINVAL;
}

/* Substitute the iterator into 'template'. */
static int substitute(const char *template, long value, char *out, size_t size)
{
	size_t used = 0;
	for (const char *p = template; *p != '\0';) {
		char piece[80];
		if (p[0] == '\\' && p[1] == '$') {
			snprintf(piece, sizeof(piece), "$");
			p += 2;
		} else if (p[0] == '$' && p[1] == '{') {
			p += 2;
			if (format_modifier(&p, value, piece, sizeof(piece)) != 0) {
				return -EINVAL;
			}
		} else if (p[0] == '$') {
			snprintf(piece, sizeof(piece), "%ld", value);
			p++;
		} else {
			piece[0] = *p++;
			piece[1] = '\0';
		}
		size_t len = strlen(piece);
		if (used + len >= size) {
			return -EINVAL;
		}
		memcpy(out + used, piece, len + 1);
		used += len;
	}
	return 0;
}

static int tokenize(generate_t *g, char *text)
{
	g->token_count = 0;
	for (char *tok = strtok(text, " \t\r\n"); tok != NULL; tok = strtok(NULL, " \t\r\n")) {
		if (tok[0] == ';') {
			break; /* The rest is a comment. */
		}
		if (g->token_count == GENERATE_TOKENS_MAX) {
			return -EINVAL;
		}
		g->tokens[g->token_count++] = tok;
	}
	/* range, lhs, type and rhs at least; ttl and class may sit between. */
	return g->token_count >= 4 ? 0 : -EINVAL;
}

/* The record line for one value of the iterator. */
static int build_line(const generate_t *g, long value, char *line, size_t size)
{
	char lhs[GENERATE_LINE_MAX], rhs[GENERATE_LINE_MAX];
	if (substitute(g->tokens[1], value, lhs, sizeof(lhs)) != 0 ||
	    substitute(g->tokens[g->token_count - 1], value, rhs, sizeof(rhs)) != 0) {
		return -EINVAL;
	}
	size_t used = (size_t)snprintf(line, size, "%s", lhs);
	for (int i = 2; i < g->token_count - 1 && used < size; i++) {
		used += (size_t)snprintf(line + used, size - used, " %s", g->tokens[i]);
	}
	if (used < size) {
		used += (size_t)snprintf(line + used, size - used, " %s\n", rhs);
	}
	return used < size ? 0 : -EINVAL;
}

int canon_generate_expand(const char *args, canon_generate_emit_t emit, void *ctx, char *error,
                          size_t error_size)
{
	char text[GENERATE_LINE_MAX];
	snprintf(text, sizeof(text), "%s", args);
	generate_t g;
	if (tokenize(&g, text) != 0) {
		snprintf(error, error_size, "$GENERATE needs 'range lhs [ttl] [class] type rhs'");
		return -EINVAL;
	}
	int ret = parse_range(&g, g.tokens[0]);
	if (ret == -ERANGE) {
		snprintf(error, error_size,
		         "$GENERATE range '%s' is out of bounds: start, stop and step are "
		         "0..%ld",
		         g.tokens[0], GENERATE_VALUE_MAX);
		return -EINVAL;
	}
	if (ret != 0) {
		snprintf(error, error_size,
		         "$GENERATE range '%s' is not start-stop[/step] with start <= stop, step "
		         ">= 1",
		         g.tokens[0]);
		return -EINVAL;
	}
	if ((g.stop - g.start) / g.step + 1 > CANON_GENERATE_MAX) {
		snprintf(error, error_size, "$GENERATE range '%s' makes more than %d records",
		         g.tokens[0], CANON_GENERATE_MAX);
		return -EINVAL;
	}
	for (long value = g.start; value <= g.stop; value += g.step) {
		char line[GENERATE_LINE_MAX];
		if (build_line(&g, value, line, sizeof(line)) != 0) {
			snprintf(error, error_size, "$GENERATE template is malformed or too long");
			return -EINVAL;
		}
		ret = emit(line, ctx);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}
