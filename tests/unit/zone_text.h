/*
 * For unit tests: a zone loaded from text, through a temporary file (the
 * loader reads files). Include after <cmocka.h>.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <string.h>
#include <unistd.h>

#include "lib/zone_load.h"

static inline canon_zone_t *canon_test_zone(const char *origin, const char *text)
{
	char path[] = "/tmp/canon-test-zone-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *zone = NULL;
	assert_int_equal(canon_zone_load(origin, path, &findings, &zone), 0);
	canon_findings_free(&findings);
	unlink(path);
	return zone;
}
