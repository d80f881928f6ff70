/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lib/name.h"

#include <endian.h>

/*
 * The name is lower-cased and hashed eight octets at a time: on the query
 * path every name is prepared once or more per query, and a loop per octet
 * was the largest single cost of an answer (bench/run --cost).
 */
#define HASH_SEED 0x9E3779B97F4A7C15ull
#define HASH_MUL  0xFF51AFD7ED558CCDull
#define ONES      0x0101010101010101ull
#define HIGHS     0x8080808080808080ull

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return le64toh(w);
}

static inline void store_le64(uint8_t *p, uint64_t w)
{
	w = htole64(w);
	memcpy(p, &w, sizeof(w));
}

/*
 * ASCII 'A'-'Z' to 'a'-'z' in every octet of 'w' (RFC 4343 §3: DNS names
 * compare ASCII case-insensitively, whatever the locale). Label length
 * octets are below 64, never letters, so a whole wire name can go through.
 */
static inline uint64_t lower_word(uint64_t w)
{
	uint64_t low7 = w & ~HIGHS;
	uint64_t from_a = low7 + ONES * (0x80 - 'A');     /* high bit: octet >= 'A' */
	uint64_t past_z = low7 + ONES * (0x80 - 'Z' - 1); /* high bit: octet > 'Z' */
	uint64_t upper = (from_a ^ past_z) & ~w & HIGHS;
	return w | (upper >> 2);
}

static inline uint8_t lower_octet(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*
 * Fold one label (its length octet and its octets) into 'h', in whole words.
 * A word may run on into the next labels: those are the rest of the same
 * suffix, so the suffix's hash still depends on nothing else; past the end of
 * the name the words read zeros (canon_name_prepare pads the name with them).
 */
static inline uint64_t hash_label(uint64_t h, const uint8_t *label)
{
	unsigned len = label[0] + 1u;
	for (unsigned k = 0; k < len; k += 8) {
		h = (h ^ load_le64(label + k)) * HASH_MUL;
		h ^= h >> 32;
	}
	return h;
}

static inline void copy_lower(uint8_t *dst, const knot_dname_t *name, size_t size)
{
	if (size >= 8) {
		/* Whole words, the last one overlapping the one before. */
		for (size_t i = 0; i + 8 <= size; i += 8) {
			store_le64(dst + i, lower_word(load_le64(name + i)));
		}
		store_le64(dst + size - 8, lower_word(load_le64(name + size - 8)));
	} else {
		for (size_t i = 0; i < size; i++) {
			dst[i] = lower_octet(name[i]);
		}
	}
}

void canon_name_copy_lower(uint8_t *dst, const knot_dname_t *name, size_t size)
{
	copy_lower(dst, name, size);
}

void canon_name_prepare(canon_name_t *prepared, const knot_dname_t *name)
{
	unsigned count = 0, pos = 0;
	while (name[pos] != 0) {
		prepared->offset[count++] = (uint8_t)pos;
		pos += name[pos] + 1u;
	}
	prepared->offset[count] = (uint8_t)pos;
	prepared->labels = (uint8_t)count;
	unsigned size = pos + 1;
	prepared->size = (uint16_t)size;
	uint8_t *wire = prepared->wire;
	copy_lower(wire, name, size);
	store_le64(wire + size, 0); /* The padding hash_label() may read. */
	/* Labels are folded in from the right, so every suffix's hash falls out of one pass. */
	uint64_t h = HASH_SEED;
	prepared->hash[count] = (uint32_t)h;
	for (unsigned i = count; i-- > 0;) {
		h = hash_label(h, wire + prepared->offset[i]);
		prepared->hash[i] = (uint32_t)h;
	}
}

uint32_t canon_name_hash(const knot_dname_t *lower)
{
	canon_name_t prepared;
	canon_name_prepare(&prepared, lower);
	return prepared.hash[0];
}
