/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libknot/descriptor.h>
#include <libknot/rrset-dump.h>
#include <libknot/rrset.h>
#include <libzscanner/scanner.h>

#include "lib/rrtext.h"
#include "lib/zone.h"

int canon_rrtype_parse(const char *text, uint16_t *type)
{
	if (strcasecmp(text, "ALIAS") == 0) {
		*type = CANON_RRTYPE_ALIAS;
		return 0;
	}
	return knot_rrtype_from_string(text, type) == 0 ? 0 : -EINVAL;
}

void canon_rrtype_name(uint16_t type, char *out, size_t size)
{
	if (type == CANON_RRTYPE_ALIAS) {
		snprintf(out, size, "ALIAS");
	} else if (knot_rrtype_to_string(type, out, size) < 0) {
		snprintf(out, size, "TYPE%u", type);
	}
}

/* ALIAS data is one domain name, written like a CNAME's (docs/alias.md). */
static uint16_t parse_as(uint16_t type)
{
	return type == CANON_RRTYPE_ALIAS ? KNOT_RRTYPE_CNAME : type;
}

/* Text a record line must not hold: another line, or a comment hiding the rest. */
static bool one_line(const char *text)
{
	return strpbrk(text, "\n\r") == NULL;
}

int canon_rdata_parse(const char *origin, uint16_t type, const char *text, uint8_t *out,
                      uint16_t *len, char *error, size_t error_size)
{
	char name[32];
	knot_rrtype_to_string(parse_as(type), name, sizeof(name));
	if (!one_line(text) || *text == '\0') {
		snprintf(error, error_size, "the %s data must be one non-empty line", name);
		return -EINVAL;
	}
	size_t size = strlen(text) + 64;
	char *line = malloc(size);
	zs_scanner_t *scanner = malloc(sizeof(*scanner));
	if (line == NULL || scanner == NULL) {
		free(line);
		free(scanner);
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	int n = snprintf(line, size, "@ 0 IN %s %s\n", name, text);
	int ret = -EINVAL;
	if (zs_init(scanner, origin, KNOT_CLASS_IN, 0) == 0 &&
	    zs_set_input_string(scanner, line, (size_t)n) == 0 && zs_parse_record(scanner) == 0 &&
	    scanner->state == ZS_STATE_DATA) {
		memcpy(out, scanner->r_data, scanner->r_data_length);
		*len = (uint16_t)scanner->r_data_length;
		ret = 0;
	} else {
		snprintf(error, error_size, "'%s' is not valid %s data: %s", text, name,
		         zs_strerror(scanner->error.code));
	}
	zs_deinit(scanner);
	free(scanner);
	free(line);
	return ret;
}

int canon_rdata_format(uint16_t type, const knot_rdata_t *rd, char *out, size_t size)
{
	knot_rrset_t one;
	knot_rrset_init(&one, (knot_dname_t *)"", parse_as(type), KNOT_CLASS_IN, 0);
	one.rrs.count = 1;
	one.rrs.size = (uint32_t)knot_rdata_size(rd->len);
	one.rrs.rdata = (knot_rdata_t *)rd;
	return knot_rrset_txt_dump_data(&one, 0, out, size, &KNOT_DUMP_STYLE_DEFAULT) < 0 ? -EINVAL
	                                                                                  : 0;
}
