/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"

static canon_log_level_t current_level = CANON_LOG_INFO;
static const char *const LEVEL_NAMES[] = {"error", "warning", "info", "debug"};

void canon_log_set_level(canon_log_level_t level)
{
	current_level = level;
}

int canon_log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(LEVEL_NAMES) / sizeof(LEVEL_NAMES[0])); i++) {
		if (strcmp(name, LEVEL_NAMES[i]) == 0) {
			return i;
		}
	}
	return -1;
}

void canon_log(canon_log_level_t level, const char *fmt, ...)
{
	if (level > current_level) {
		return;
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));

	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so lines from several threads do not interleave. */
	fprintf(stderr, "%s canon[%s]: %s\n", stamp, LEVEL_NAMES[level], line);
}
