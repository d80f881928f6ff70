/*
 * EDNS0 helpers shared by the authoritative server and the resolver.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libknot/mm_ctx.h>
#include <libknot/rrset.h>

/* Longest EXTRA-TEXT canon sends. */
#define CANON_EDE_TEXT_MAX 160

/*
 * Add an Extended DNS Error (RFC 8914 §2: INFO-CODE, then EXTRA-TEXT) to the
 * OPT record 'opt'; 'text' may be NULL. Returns a libknot error code.
 */
int canon_edns_add_ede(knot_rrset_t *opt, int code, const char *text, knot_mm_t *mm);
