/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libzscanner/scanner.h>

#include "lib/log.h"
#include "lib/zone_load.h"

/* Default TTL when a file has no $TTL before its first record (as Knot does). */
#define ZONE_DEFAULT_TTL 3600

typedef struct {
	canon_zone_t *zone;
	canon_findings_t *findings;
	bool saw_soa;
	int error; /* First fatal (allocation) error. */
} load_t;

static int file_index(load_t *ld, const zs_scanner_t *s)
{
	int idx = canon_zone_add_file(ld->zone, s->file.name ? s->file.name : "-");
	if (idx < 0 && ld->error == 0) {
		ld->error = idx;
	}
	return idx;
}

static void on_error(zs_scanner_t *s)
{
	load_t *ld = s->process.data;
	canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, s->file.name, (uint32_t)s->line_counter,
	                   NULL, 0, NULL, "%s (%s)", zs_strerror(s->error.code),
	                   zs_errorname(s->error.code));
}

static bool check_record_place(load_t *ld, const zs_scanner_t *s)
{
	uint32_t line = (uint32_t)s->line_counter;
	if (s->r_class != KNOT_CLASS_IN) {
		canon_findings_add(ld->findings, &CANON_RULE_BAD_CLASS, s->file.name, line, s->r_owner,
		                   s->r_type, "use class IN",
		                   "record class %u is not IN; canon serves class IN only",
		                   s->r_class);
		return false;
	}
	bool at_apex = knot_dname_is_case_equal(s->r_owner, ld->zone->apex_name) ||
	               knot_dname_is_equal(s->r_owner, ld->zone->apex_name);
	if (s->r_type == KNOT_RRTYPE_SOA && !at_apex) {
		canon_findings_add(ld->findings, &CANON_RULE_SOA_NOT_APEX, s->file.name, line,
		                   s->r_owner, s->r_type, "a zone has one SOA, at its apex",
		                   "SOA record below the zone apex (RFC 1035 §5.2)");
		return false;
	}
	return true;
}

static void on_record(zs_scanner_t *s)
{
	load_t *ld = s->process.data;
	uint32_t line = (uint32_t)s->line_counter;
	if (!check_record_place(ld, s)) {
		return;
	}
	int file = file_index(ld, s);
	if (file < 0) {
		return;
	}
	bool ttl_mismatch = false;
	int ret = canon_zone_add(ld->zone, s->r_owner, s->r_type, s->r_ttl, s->r_data,
	                         (uint16_t)s->r_data_length, (uint16_t)file, line, &ttl_mismatch);
	if (ret == -EDOM) {
		canon_findings_add(ld->findings, &CANON_RULE_OUT_OF_ZONE, s->file.name, line,
		                   s->r_owner, s->r_type, "remove it or put it in its own zone",
		                   "record outside the zone, ignored (RFC 1034 §4.2.1)");
	} else if (ret != 0 && ld->error == 0) {
		ld->error = ret;
	} else if (ttl_mismatch) {
		char type[16];
		knot_rrtype_to_string(s->r_type, type, sizeof(type));
		canon_findings_add(ld->findings, &CANON_RULE_TTL_MISMATCH, s->file.name, line,
		                   s->r_owner, s->r_type, "give every record of the RRset one TTL",
		                   "TTL %u differs from the TTL of the RRset's first %s record; the "
		                   "first is used (RFC 2181 §5.2)",
		                   s->r_ttl, type);
	}
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
	if (zs_set_input_file(&s, path) != 0) {
		canon_findings_add(ld->findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "cannot read the zone file: %s", zs_strerror(s.error.code));
		zs_deinit(&s);
		return -ENOENT;
	}
	zs_set_processing(&s, on_record, on_error, ld);
	if (zs_parse_all(&s) != 0 && s.error.fatal && s.error.counter == 0) {
		canon_findings_add(ld->findings, &CANON_RULE_SYNTAX, path, (uint32_t)s.line_counter,
		                   NULL, 0, NULL, "%s", zs_strerror(s.error.code));
	}
	zs_deinit(&s);
	return 0;
}

int canon_zone_load(const char *origin, const char *path, canon_findings_t *findings,
                    canon_zone_t **zone_out)
{
	knot_dname_storage_t apex;
	if (knot_dname_from_str(apex, origin, sizeof(apex)) == NULL) {
		canon_findings_add(findings, &CANON_RULE_UNREADABLE, path, 0, NULL, 0, NULL,
		                   "invalid zone name '%s'", origin);
		return -EINVAL;
	}
	load_t ld = {.zone = canon_zone_new(apex), .findings = findings};
	if (ld.zone == NULL) {
		return -ENOMEM;
	}
	int ret = parse_file(&ld, origin, path);
	if (ret == 0) {
		ret = ld.error;
	}
	if (ret == 0) {
		ret = canon_zone_seal(ld.zone);
		if (ret == -ENOENT) {
			canon_findings_add(findings, &CANON_RULE_NO_SOA, path, 0, apex, KNOT_RRTYPE_SOA,
			                   "add an SOA record at the zone apex",
			                   "no SOA record at the zone apex %s (RFC 1035 §5.2)", origin);
			ret = 0;
		}
	}
	if (ret != 0) {
		canon_zone_free(ld.zone);
		return ret;
	}
	canon_check_zone(ld.zone, findings);
	*zone_out = ld.zone;
	return 0;
}

int canon_zone_load_for_serving(const char *origin, const char *path, canon_zone_t **zone)
{
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *loaded = NULL;
	int ret = canon_zone_load(origin, path, &findings, &loaded);
	for (size_t i = 0; i < findings.count; i++) {
		const canon_finding_t *f = &findings.items[i];
		canon_log(f->rule->severity == CANON_SEVERITY_ERROR ? CANON_LOG_ERROR
		                                                      : CANON_LOG_WARNING,
		          "%s:%u: %s [%s]", f->file ? f->file : path, f->line, f->message,
		          f->rule->id);
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
