/*
 * Records in presentation format, one at a time, as people and APIs write
 * them ("10 mail.example.org." for an MX): parsed with libzscanner, written
 * with libknot's dumper. What the HTTP API and the web page exchange.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libknot/rdata.h>

/* "A", "mx", "TYPE65401", "ALIAS" into a type number: 0 or -EINVAL. */
int canon_rrtype_parse(const char *text, uint16_t *type);

/* A type's name: "A", "ALIAS", "TYPE12345". */
void canon_rrtype_name(uint16_t type, char *out, size_t size);

/*
 * Parse the data of one record of 'type' ("192.0.2.1", "www.example.org.",
 * "10 mail"), relative names completed with 'origin' (presentation format,
 * "example.org."). Writes the wire rdata to 'out' (room for 65535 octets) and
 * its length to *len. Returns 0, or -EINVAL with a message in 'error'.
 */
int canon_rdata_parse(const char *origin, uint16_t type, const char *text, uint8_t *out,
                      uint16_t *len, char *error, size_t error_size);

/* The data of record 'rd' of 'type' in presentation format. 0 or -EINVAL (too small). */
int canon_rdata_format(uint16_t type, const knot_rdata_t *rd, char *out, size_t size);
