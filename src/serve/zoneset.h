/*
 * Building the zone table from the configured zones, keeping the previous
 * version of any zone that fails to load (reload semantics).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lib/zonetable.h"
#include "serve/config.h"

/*
 * Load every zone of 'conf' and return a new table. A zone that fails is logged;
 * if 'previous' has that zone, its old version is kept. NULL on allocation
 * failure.
 */
canon_zonetable_t *canon_zoneset_load(const canon_serve_conf_t *conf,
                                      const canon_zonetable_t *previous);
