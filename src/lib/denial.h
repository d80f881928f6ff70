/*
 * Finding the NSEC or NSEC3 records of a signed zone that prove a name or a
 * type absent (RFC 4035 §3.1.3, RFC 5155 §7.2): the record whose owner matches
 * a name, or the one whose span covers it. Read-only over a sealed zone; no
 * allocation of ours (libdnssec's NSEC3 hash allocates its digest).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>

#include <libknot/dname.h>

#include "lib/zone.h"

/*
 * The NSEC RRset that matches 'name' (lower-case, in the zone) or covers it:
 * the last NSEC owner at or before it in canonical order (RFC 4034 §6.1).
 * Sets *match when its owner is 'name'. NULL when the zone has no NSEC chain.
 */
const canon_rrset_t *canon_denial_nsec(const canon_zone_t *zone, const knot_dname_t *name,
                                       bool *match);

/*
 * The NSEC3 RRset whose owner is the hash of 'name' (lower-case) under the
 * zone's NSEC3PARAM (RFC 5155 §5), or the one whose span covers that hash.
 * Sets *match accordingly. NULL when the zone has no NSEC3 chain or the hash
 * could not be computed.
 */
const canon_rrset_t *canon_denial_nsec3(const canon_zone_t *zone, const knot_dname_t *name,
                                        bool *match);
