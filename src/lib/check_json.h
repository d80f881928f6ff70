/*
 * The checker's findings as JSON, one shape for `canon check --json` and the
 * HTTP API's check and preview routes.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <jansson.h>

#include "lib/check.h"

/*
 * One finding: {"file", "line", "owner", "type", "severity", "rule",
 * "message", "hint"} (file, owner, type and hint null when unknown). A new
 * reference, or NULL when out of memory.
 */
json_t *canon_finding_json(const canon_finding_t *finding);

/* Every finding as a JSON array (a new reference, or NULL). */
json_t *canon_findings_json(const canon_findings_t *findings);
