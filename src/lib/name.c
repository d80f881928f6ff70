/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lib/name.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME  16777619u

/* Labels are folded in from the right, so every suffix's hash falls out of one pass. */
static uint32_t hash_label(uint32_t h, const uint8_t *label)
{
	for (uint8_t i = 0; i <= label[0]; i++) {
		h = (h ^ label[i]) * FNV_PRIME;
	}
	return h;
}

uint32_t canon_name_hash(const knot_dname_t *lower)
{
	const uint8_t *labels[KNOT_DNAME_MAXLABELS];
	unsigned count = 0;
	for (const uint8_t *p = lower; *p != 0; p += *p + 1) {
		labels[count++] = p;
	}
	uint32_t h = FNV_OFFSET;
	while (count > 0) {
		h = hash_label(h, labels[--count]);
	}
	return h;
}

void canon_name_prepare(canon_name_t *prepared, const knot_dname_t *name)
{
	unsigned count = 0, pos = 0;
	while (name[pos] != 0) {
		uint8_t len = name[pos];
		prepared->offset[count++] = (uint8_t)pos;
		prepared->wire[pos] = len;
		for (uint8_t i = 1; i <= len; i++) {
			uint8_t c = name[pos + i];
			/* DNS names compare ASCII case-insensitively (RFC 4343 §3), whatever the
			 * locale. */
			prepared->wire[pos + i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		pos += len + 1u;
	}
	prepared->wire[pos] = 0;
	prepared->offset[count] = (uint8_t)pos;
	prepared->labels = (uint8_t)count;
	prepared->size = (uint16_t)(pos + 1);
	uint32_t h = FNV_OFFSET;
	prepared->hash[count] = h;
	for (unsigned i = count; i-- > 0;) {
		h = hash_label(h, prepared->wire + prepared->offset[i]);
		prepared->hash[i] = h;
	}
}
