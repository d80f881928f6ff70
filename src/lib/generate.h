/*
 * BIND's $GENERATE directive, which libzscanner does not know: one template
 * line expands into a range of records. canon expands the line into ordinary
 * master-file text that libzscanner then parses.
 *
 *   $GENERATE start-stop[/step] lhs [ttl] [class] type rhs
 *
 * In lhs and rhs, '$' is the iterator, '${offset[,width[,base]]}' adds an
 * offset and formats it (base d, o, x or X; width pads with zeros), '\$' is a
 * literal '$'. As in BIND, start, stop, step and offsets are 0..2^31-1
 * (offsets also negative), so the iterator cannot overflow.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>

/* Most records one $GENERATE line may produce. */
#define CANON_GENERATE_MAX 1000000

/* Called with each generated record line; a non-zero return stops expansion. */
typedef int (*canon_generate_emit_t)(const char *record, void *ctx);

/*
 * Expand the text after "$GENERATE". Returns 0, or -EINVAL with a message in
 * 'error' (of 'error_size' bytes), or what 'emit' returned.
 */
int canon_generate_expand(const char *args, canon_generate_emit_t emit, void *ctx, char *error,
                          size_t error_size);
