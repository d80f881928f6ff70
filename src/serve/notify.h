/*
 * NOTIFY (RFC 1996) to the secondaries of a zone after each new version: a
 * thread of its own sends them, so that a dead secondary delays no update,
 * and retries each until it answers (§3.6), with a growing pause.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdint.h>

#include <libknot/dname.h>

#include "lib/tsig.h"
#include "serve/config.h"

typedef struct canon_notifier canon_notifier_t;

/* Start the sender's thread; NULL when it cannot start. */
canon_notifier_t *canon_notifier_start(void);

/*
 * Tell every notify= address of 'zone' that 'apex' is now at 'serial'; a
 * NOTIFY still pending for the same zone and address is replaced. Signed with
 * the zone's first transfer= key, if it names one (the key its secondaries
 * use for the zone). 'keys' must outlive the notifier.
 */
void canon_notifier_queue(canon_notifier_t *n, const knot_dname_t *apex, uint32_t serial,
                          const canon_zone_conf_t *zone, const canon_tsig_keyring_t *keys);

/* Stop the thread and drop what is pending. */
void canon_notifier_free(canon_notifier_t *n);
