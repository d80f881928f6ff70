/*
 * The name a record points at, for the types whose data is (or ends in) a
 * host name: what alias rules, additional-section processing and the
 * checker's look-ups all need.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>

/* The target of a CNAME, DNAME, NS, MX, SRV or PTR record; NULL for other types. */
static inline const knot_dname_t *canon_rdata_target(uint16_t type, const knot_rdata_t *rdata)
{
	switch (type) {
	case KNOT_RRTYPE_CNAME:
		return knot_cname_name(rdata);
	case KNOT_RRTYPE_DNAME:
		return knot_dname_target(rdata);
	case KNOT_RRTYPE_NS:
		return knot_ns_name(rdata);
	case KNOT_RRTYPE_MX:
		return knot_mx_name(rdata);
	case KNOT_RRTYPE_SRV:
		return knot_srv_name(rdata);
	case KNOT_RRTYPE_PTR:
		return knot_ptr_name(rdata);
	default:
		return NULL;
	}
}
