/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <libknot/descriptor.h>

#include "lib/check_json.h"

static const char *severity_name(canon_severity_t severity)
{
	return severity == CANON_SEVERITY_ERROR ? "error" : "warning";
}

json_t *canon_finding_json(const canon_finding_t *f)
{
	char type[32] = "";
	if (f->type != 0) {
		knot_rrtype_to_string(f->type, type, sizeof(type));
	}
	return json_pack("{s:s?, s:i, s:s?, s:s?, s:s, s:s, s:s?, s:s?}", "file", f->file, "line",
	                 (json_int_t)f->line, "owner", f->owner, "type", type[0] ? type : NULL,
	                 "severity", severity_name(f->rule->severity), "rule", f->rule->id,
	                 "message", f->message, "hint", f->hint);
}

json_t *canon_findings_json(const canon_findings_t *findings)
{
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < findings->count; i++) {
		json_array_append_new(list, canon_finding_json(&findings->items[i]));
	}
	return list;
}
