/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libknot/rrtype/opt.h>
#include <libknot/wire.h>

#include "lib/edns.h"

int canon_edns_add_ede(knot_rrset_t *opt, int code, const char *text, knot_mm_t *mm)
{
	uint8_t data[2 + CANON_EDE_TEXT_MAX];
	size_t len = text ? strlen(text) : 0;
	len = len < CANON_EDE_TEXT_MAX ? len : CANON_EDE_TEXT_MAX;
	knot_wire_write_u16(data, (uint16_t)code);
	if (len > 0) {
		memcpy(data + 2, text, len);
	}
	return knot_edns_add_option(opt, KNOT_EDNS_OPTION_EDE, (uint16_t)(2 + len), data, mm);
}
