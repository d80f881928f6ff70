/*
 * A changeset: the records one change removed from a zone and the records it
 * added, from SOA serial 'serial_from' to 'serial_to'. Every way a zone
 * changes (an UPDATE, a reload of its file) is expressed as one, so that the
 * zone manager validates, journals, publishes and announces them the same way,
 * and IXFR (RFC 1995 §4) can send them as they are: the old SOA is the first
 * record removed, the new SOA the first record added.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/rrset.h>

#include "lib/zone.h"

/* RRsets in the order they were added; each owns its owner name and rdata. */
typedef struct {
	knot_rrset_t *items;
	size_t count;
	size_t cap;
	size_t records; /* Records over all items. */
} canon_rrlist_t;

typedef struct canon_changeset {
	uint32_t serial_from;
	uint32_t serial_to;
	canon_rrlist_t removed; /* The old SOA first. */
	canon_rrlist_t added;   /* The new SOA first. */
} canon_changeset_t;

void canon_changeset_init(canon_changeset_t *ch);
void canon_changeset_clear(canon_changeset_t *ch);

/* Whether the changeset changes nothing but possibly the SOA. */
bool canon_changeset_empty(const canon_changeset_t *ch);

/*
 * Append one record to a list. A record of the owner and type of the list's
 * last RRset joins that RRset. Returns 0 or -ENOMEM.
 */
int canon_rrlist_add(canon_rrlist_t *list, const knot_dname_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen);

/* Append every record of 'rr'. 0 or -ENOMEM. */
int canon_rrlist_add_rrset(canon_rrlist_t *list, const knot_rrset_t *rr);

/*
 * Append the records of 'rrset' that 'other' (NULL: none) lacks, or all of
 * them when the TTLs differ (a TTL change is a removal and an addition).
 */
int canon_rrlist_add_missing(canon_rrlist_t *list, const knot_rrset_t *rrset,
                             const knot_rrset_t *other);

/*
 * The journal form: both lists as DNS wire records (owner, type, class, TTL,
 * rdata; no compression), each list preceded by its record count as 32 bits.
 * *blob is malloc()ed. 0 or -ENOMEM.
 */
int canon_changeset_to_blob(const canon_changeset_t *ch, uint8_t **blob, size_t *len);

/* Read the journal form back (serials are set by the caller). 0, -EINVAL, -ENOMEM. */
int canon_changeset_from_blob(const uint8_t *blob, size_t len, canon_changeset_t *ch);

/*
 * The changeset that turns zone 'from' into zone 'to' (same apex), with both
 * SOAs: what a reload of a changed zone file means. 0 or -ENOMEM.
 */
int canon_changeset_diff(const canon_zone_t *from, const canon_zone_t *to, canon_changeset_t *ch);

/*
 * A new, sealed zone: 'base' less the removed records plus the added ones.
 * Removing a record that is not there, or adding one that is, is not an error
 * (the result is the same). With 'base' NULL the zone is just the added
 * records (a journal snapshot). The new zone flattens CNAMEs as 'base' does
 * (canon_zone_t.flatten), or not at all without a base. Returns 0, -ENOENT
 * when the result has no SOA, -ENOMEM.
 */
int canon_changeset_apply(const canon_zone_t *base, const canon_changeset_t *ch,
                          canon_zone_t **result);

/*
 * canon_changeset_apply() with the flatten mode given: the zone's setting, a
 * policy its records do not carry (a journal snapshot has no base to take it from).
 */
int canon_changeset_apply_flatten(const canon_zone_t *base, const canon_changeset_t *ch,
                                  canon_flatten_t flatten, canon_zone_t **result);

/* The whole zone as a changeset from nothing: a snapshot for the journal. 0 or -ENOMEM. */
int canon_changeset_from_zone(const canon_zone_t *zone, canon_changeset_t *ch);

/* The SOA serial of a sealed zone. */
uint32_t canon_zone_serial(const canon_zone_t *zone);

/* RFC 1982 serial number arithmetic: whether 'a' is greater than 'b'. */
bool canon_serial_newer(uint32_t a, uint32_t b);
