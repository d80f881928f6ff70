/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lib/name.h"

#include <endian.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * The name is lower-cased and hashed eight octets at a time: on the query
 * path every name is prepared once or more per query, and a loop per octet
 * was the largest single cost of an answer (bench/run --cost).
 */
#define HASH_SEED 0x9E3779B97F4A7C15ull
#define HASH_MUL  0xFF51AFD7ED558CCDull

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

static inline uint8_t lower_octet(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*
 * Fold one label, from 'label' (its length octet) to 'end' (the next label),
 * into 'h', in whole words. A word may run on into the next labels: those are
 * the rest of the same suffix, so the suffix's hash still depends on nothing
 * else; past the end of the name the words read zeros (canon_name_prepare pads
 * the name with them). A label has its length octet and at least one more, so
 * there is always a first word.
 */
static inline uint64_t hash_label(uint64_t h, const uint8_t *label, const uint8_t *end)
{
	do {
		/*
		 * The rotation brings the product's high half, which every octet
		 * of the word reaches, down to the 32 bits kept and into the next
		 * word's product: what h ^= h >> 32 did, in one instruction.
		 */
		h = (h ^ load_le64(label)) * HASH_MUL;
		h = (h << 32) | (h >> 32);
		label += 8;
	} while (label < end);
	return h;
}

#ifdef __SSE2__
/* canon_lower_word() for 16 octets: SSE2 is part of x86-64, so every x86-64 build has it. */
static inline void lower_16(uint8_t *dst, const uint8_t *src)
{
	__m128i v = _mm_loadu_si128((const __m128i *)src);
	/* 'A'-'Z' become -128..-103 as signed octets, nothing else does. */
	__m128i shifted = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - 'A')));
	__m128i upper = _mm_cmplt_epi8(shifted, _mm_set1_epi8(-128 + 26));
	v = _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
	_mm_storeu_si128((__m128i *)dst, v);
}
#endif

static inline void copy_lower(uint8_t *dst, const knot_dname_t *name, size_t size)
{
#ifdef __SSE2__
	if (size >= 16) {
		/* 16 octets at a time, the last block overlapping the one before. */
		for (size_t i = 0; i + 16 < size; i += 16) {
			lower_16(dst + i, name + i);
		}
		lower_16(dst + size - 16, name + size - 16);
		return;
	}
#endif
	if (size >= 8) {
		/* Whole words, the last one overlapping the one before. */
		for (size_t i = 0; i + 8 < size; i += 8) {
			store_le64(dst + i, canon_lower_word(load_le64(name + i)));
		}
		store_le64(dst + size - 8, canon_lower_word(load_le64(name + size - 8)));
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
	uint8_t *offset = prepared->offset;
	size_t count = 0, pos = 0;
	for (size_t len; (len = name[pos]) != 0; pos += len + 1) {
		offset[count++] = (uint8_t)pos;
	}
	offset[count] = (uint8_t)pos;
	prepared->labels = (uint8_t)count;
	size_t size = pos + 1;
	prepared->size = (uint16_t)size;
	uint8_t *wire = prepared->wire;
	copy_lower(wire, name, size);
	store_le64(wire + size, 0); /* The padding hash_label() may read. */
	/* Labels are folded in from the right, so every suffix's hash falls out of one pass. */
	uint64_t *state = prepared->state;
	uint64_t h = HASH_SEED;
	state[count] = h;
	const uint8_t *end = wire + pos;
	for (size_t i = count; i-- > 0;) {
		const uint8_t *label = wire + offset[i];
		h = hash_label(h, label, end);
		state[i] = h;
		end = label;
	}
}

uint32_t canon_name_hash(const knot_dname_t *lower)
{
	canon_name_t prepared;
	canon_name_prepare(&prepared, lower);
	return canon_name_suffix_hash(&prepared, 0);
}
