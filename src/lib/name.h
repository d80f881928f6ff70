/*
 * Domain-name helpers on top of libknot's wire-format names, and the prepared
 * form the answer path looks names up by: lower-cased once, with the offset and
 * hash of every suffix, so that finding the zone and the closest encloser costs
 * one pass over the name instead of one per label.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <libknot/consts.h>
#include <libknot/dname.h>

/* Room after a prepared name's wire so that hashing reads whole 8-octet words. */
#define CANON_NAME_PAD 8

typedef struct {
	uint8_t wire[KNOT_DNAME_MAXLEN + CANON_NAME_PAD]; /* Lower-case. */
	uint8_t labels;                                   /* Labels before the root label. */
	uint8_t offset[KNOT_DNAME_MAXLABELS + 1];         /* Start of the suffix at label i. */
	/* The hash state after that suffix: canon_name_suffix_hash() makes its hash. */
	uint64_t state[KNOT_DNAME_MAXLABELS + 1];
	uint16_t size; /* Wire size of the whole name. */
} canon_name_t;

/* Hash of a lower-case wire-format name; equal names hash equal. */
uint32_t canon_name_hash(const knot_dname_t *lower);

/*
 * Copy the uncompressed name 'name' of wire size 'size' into 'dst' (room for
 * 'size' octets), lower-cased: knot_dname_copy_lower() a word at a time.
 */
void canon_name_copy_lower(uint8_t *dst, const knot_dname_t *name, size_t size);

/* Prepare 'name' (any case, uncompressed wire format) for lookups. */
void canon_name_prepare(canon_name_t *prepared, const knot_dname_t *name);

/*
 * canon_name_hash() of the suffix that starts at label 'i', from its state.
 * A product's bit k depends on the factor's bits 0..k only, so the bits a
 * table indexes by (the low ones) come from the high half of one more
 * product, which every bit of the state reaches. Done here, when a suffix is
 * looked up, not for every label by canon_name_prepare().
 */
static inline uint32_t canon_name_suffix_hash(const canon_name_t *name, unsigned i)
{
	return (uint32_t)((name->state[i] * 0xC4CEB9FE1A85EC53ull) >> 32);
}

/* The suffix of a prepared name that starts at label 'i' (i == labels: the root). */
static inline const knot_dname_t *canon_name_suffix(const canon_name_t *name, unsigned i)
{
	return name->wire + name->offset[i];
}

/*
 * ASCII 'A'-'Z' to 'a'-'z' in every octet of 'w' at once (RFC 4343 §3: DNS
 * names compare ASCII case-insensitively, whatever the locale). Label length
 * octets are below 64, never letters, so a whole wire name can go through.
 */
static inline uint64_t canon_lower_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t low7 = w & ~highs;
	uint64_t from_a = low7 + ones * (0x80 - 'A');     /* high bit: octet >= 'A' */
	uint64_t past_z = low7 + ones * (0x80 - 'Z' - 1); /* high bit: octet > 'Z' */
	uint64_t upper = (from_a ^ past_z) & ~w & highs;
	return w | (upper >> 2);
}

/* Wire size of the suffix that starts at label 'i'. */
static inline uint16_t canon_name_suffix_size(const canon_name_t *name, unsigned i)
{
	return (uint16_t)(name->size - name->offset[i]);
}

/* The name without its leftmost label; the root stays the root. */
static inline const knot_dname_t *canon_name_parent(const knot_dname_t *name)
{
	return *name == 0 ? name : name + *name + 1;
}

/*
 * knot_dname_size(), inline, for the answer path: the wire size of 'name', a
 * compression pointer counting its 2 octets as there.
 */
static inline size_t canon_name_size(const knot_dname_t *name)
{
	const uint8_t *p = name;
	while (*p != 0 && (*p & 0xC0) != 0xC0) {
		p += *p + 1;
	}
	return (size_t)(p - name) + (*p == 0 ? 1 : 2);
}

/*
 * Wire size of the uncompressed name at 'name' (labels of at most 63 octets, at
 * most 255 octets in all, RFC 1035 §2.3.4), or -1 when it is not one or runs
 * past 'end': knot_dname_wire_check() without a packet, for the query path.
 */
static inline int canon_name_wire_size(const uint8_t *name, const uint8_t *end)
{
	/* One bound for both: the buffer's end and the longest name. */
	size_t max = end > name ? (size_t)(end - name) : 0;
	if (max > KNOT_DNAME_MAXLEN) {
		max = KNOT_DNAME_MAXLEN;
	}
	for (size_t at = 0; at < max;) {
		size_t len = name[at];
		if (len == 0) {
			return (int)at + 1;
		}
		if (len > KNOT_DNAME_MAXLABELLEN) {
			return -1; /* A compression pointer or a reserved label type. */
		}
		at += len + 1;
	}
	return -1;
}

/*
 * Whether the 'size' octets at 'a' and 'b' are equal: memcmp() == 0 in whole
 * words, inline. A name is a few words long and its hash already matched, so
 * the call into libc's memcmp cost more than the comparison (bench/run --cost).
 * Reads only the 'size' octets: the last word overlaps the one before.
 */
static inline bool canon_wire_equal(const uint8_t *a, const uint8_t *b, size_t size)
{
#ifdef __SSE2__
	/* 16 octets a comparison: the common name takes two, with no loop turn. */
	if (size >= 16) {
		for (size_t i = 0; i + 16 < size; i += 16) {
			__m128i va = _mm_loadu_si128((const __m128i *)(a + i));
			__m128i vb = _mm_loadu_si128((const __m128i *)(b + i));
			if (_mm_movemask_epi8(_mm_cmpeq_epi8(va, vb)) != 0xFFFF) {
				return false;
			}
		}
		__m128i va = _mm_loadu_si128((const __m128i *)(a + size - 16));
		__m128i vb = _mm_loadu_si128((const __m128i *)(b + size - 16));
		return _mm_movemask_epi8(_mm_cmpeq_epi8(va, vb)) == 0xFFFF;
	}
#endif
	uint64_t wa, wb;
	if (size >= sizeof(wa) && size <= 2 * sizeof(wa)) {
		/* Two words, the second overlapping the first: no loop turn. */
		uint64_t la, lb;
		memcpy(&wa, a, sizeof(wa));
		memcpy(&wb, b, sizeof(wb));
		memcpy(&la, a + size - sizeof(la), sizeof(la));
		memcpy(&lb, b + size - sizeof(lb), sizeof(lb));
		return ((wa ^ wb) | (la ^ lb)) == 0;
	}
	if (size > 2 * sizeof(wa)) {
		uint64_t diff = 0;
		for (size_t i = 0; i + sizeof(wa) < size; i += sizeof(wa)) {
			memcpy(&wa, a + i, sizeof(wa));
			memcpy(&wb, b + i, sizeof(wb));
			diff |= wa ^ wb;
		}
		memcpy(&wa, a + size - sizeof(wa), sizeof(wa));
		memcpy(&wb, b + size - sizeof(wb), sizeof(wb));
		return (diff | (wa ^ wb)) == 0;
	}
	uint32_t ha, hb, ta, tb;
	if (size >= sizeof(ha)) {
		memcpy(&ha, a, sizeof(ha));
		memcpy(&hb, b, sizeof(hb));
		memcpy(&ta, a + size - sizeof(ta), sizeof(ta));
		memcpy(&tb, b + size - sizeof(tb), sizeof(tb));
		return ((ha ^ hb) | (ta ^ tb)) == 0;
	}
	for (size_t i = 0; i < size; i++) {
		if (a[i] != b[i]) {
			return false;
		}
	}
	return true;
}

/* Whether two lower-case names of known sizes are equal. */
static inline bool canon_name_equal(const knot_dname_t *a, uint16_t a_size, const knot_dname_t *b,
                                    uint16_t b_size)
{
	return a_size == b_size && canon_wire_equal(a, b, a_size);
}

/*
 * Whether the prepared name is 'apex' (lower-case, of wire size 'apex_size')
 * or below it: knot_dname_in_bailiwick() >= 0 from the suffix offsets, one
 * comparison instead of a label walk.
 */
static inline bool canon_name_under(const canon_name_t *name, const knot_dname_t *apex,
                                    uint16_t apex_size)
{
	for (unsigned i = 0; i <= name->labels; i++) {
		uint16_t size = canon_name_suffix_size(name, i);
		if (size <= apex_size) {
			return size == apex_size &&
			       canon_wire_equal(canon_name_suffix(name, i), apex, size);
		}
	}
	return false;
}
