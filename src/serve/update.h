/*
 * RFC 2136 dynamic update: prerequisites (§3.2) and updates (§3.4) of one
 * UPDATE message checked and applied to a draft of the zone's current
 * version, giving the changeset the zone manager journals and publishes.
 * The alias rules apply as BIND and Knot apply them (§3.4.2.2, RFC 6672
 * §5.2): a record they forbid is skipped, and the log says which rule
 * stopped it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libknot/packet/pkt.h>

#include "lib/changeset.h"
#include "lib/check.h"
#include "lib/zone.h"
#include "serve/zoneapi.h"

/*
 * Process the parsed UPDATE 'query' for 'zone' (whose apex is the query's
 * zone section). 'who' names the requester in log lines. Returns the rcode
 * of the answer; on NOERROR *ch holds the change (serial bumped, both SOAs
 * first), which is empty when nothing changed.
 */
uint8_t canon_update_process(const canon_zone_t *zone, const knot_pkt_t *query, const char *who,
                             canon_changeset_t *ch);

/* Why a strict change was refused. */
typedef struct {
	const canon_rule_t *rule; /* NULL when no alias rule but another check refused it. */
	char message[2048];
} canon_update_refusal_t;

/*
 * The API's change: RRsets replaced or deleted, all or nothing. Unlike
 * RFC 2136 a record the alias rules forbid refuses the whole change
 * (-EINVAL, *refusal says which rule and record). Returns 0 with *ch set
 * (empty when nothing changes), -EINVAL, -ENOMEM.
 */
int canon_update_rrsets(const canon_zone_t *zone, const canon_rrset_change_t *changes, size_t count,
                        const char *who, canon_changeset_t *ch, canon_update_refusal_t *refusal);
