/*
 * Logging to stderr with a timestamp and a level.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

typedef enum {
	CANON_LOG_ERROR = 0,
	CANON_LOG_WARNING,
	CANON_LOG_INFO,
	CANON_LOG_DEBUG,
} canon_log_level_t;

/* Messages above this level are not printed (default CANON_LOG_INFO). */
void canon_log_set_level(canon_log_level_t level);

/* Parse "error", "warning", "info" or "debug"; returns -1 when unknown. */
int canon_log_level_parse(const char *name);

void canon_log(canon_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
