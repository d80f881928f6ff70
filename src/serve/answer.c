/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/packet/compr.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/naptr.h>
#include <libknot/rrtype/opt.h>

#include "serve/answer.h"

#define POINTER_SIZE   2
#define ANCOUNT_OFFSET 6
#define LABELS_UNKNOWN 0xff /* A name has at most 127. */

/* A compression pointer (RFC 1035 §4.1.4) or a label. */
static inline bool is_pointer(const uint8_t *label)
{
	return (label[0] & 0xC0) == 0xC0;
}

static inline uint16_t pointer_target(const uint8_t *label)
{
	return (uint16_t)(knot_wire_read_u16(label) & ~0xC000);
}

static inline void put_pointer(uint8_t *dst, uint16_t offset)
{
	knot_wire_write_u16(dst, (uint16_t)(0xC000 | offset));
}

/* Follow pointers to the label a name in the response continues with. */
static inline const uint8_t *seek_label(const uint8_t *label, const uint8_t *wire)
{
	while (is_pointer(label)) {
		label = wire + pointer_target(label);
	}
	return label;
}

/* The label after 'label' in the response, pointers followed. */
static inline const uint8_t *next_label(const uint8_t *label, const uint8_t *wire)
{
	return seek_label(label + *label + 1, wire);
}

/* Labels of an uncompressed name, the root not counted (knot_dname_labels()). */
static uint8_t name_labels(const uint8_t *name)
{
	uint8_t count = 0;
	for (; *name != 0; name += *name + 1) {
		count++;
	}
	return count;
}

static inline size_t name_size(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p != 0) {
		p += *p + 1;
	}
	return (size_t)(p - name) + 1;
}

/* ASCII lower case by table: one load per octet in the label comparisons. */
#define L4(c)  (c), (c) + 1, (c) + 2, (c) + 3
#define L16(c) L4(c), L4((c) + 4), L4((c) + 8), L4((c) + 12)
#define L64(c) L16(c), L16((c) + 16), L16((c) + 32), L16((c) + 48)
static const uint8_t lower[256] = {L64(0),   '@',      L16('a'), L4('a' + 16), 'a' + 20,
                                   'a' + 21, 'a' + 22, 'a' + 23, 'a' + 24,     'a' + 25,
                                   '[',      '\\',     ']',      '^',          '_',
                                   L16(96),  L16(112), L64(128), L64(192)};

/* Four octets with ASCII upper case folded to lower case, all at once. */
static inline uint32_t lower4(uint32_t x)
{
	uint32_t heptets = x & 0x7f7f7f7fu;
	uint32_t above_z = heptets + 0x25252525u; /* High bit set where > 'Z'. */
	uint32_t from_a = heptets + 0x3f3f3f3fu;  /* High bit set where >= 'A'. */
	uint32_t upper = ~x & (from_a ^ above_z) & 0x80808080u;
	return x | (upper >> 2);
}

/*
 * Whether label 'a' (of a name being written) equals label 'b' (in the
 * response, which may have the client's upper case). As libknot's
 * label_is_equal(), only 'b' is folded: names from the zone are lower case.
 */
static inline __attribute__((always_inline)) bool label_equal(const uint8_t *a, const uint8_t *b)
{
	if (*a != *b) {
		return false;
	}
	uint8_t len = *a, i = 1;
	for (; i + 3 <= len; i += 4) {
		uint32_t x, y;
		memcpy(&x, a + i, 4);
		memcpy(&y, b + i, 4);
		if (x != lower4(y)) {
			return false;
		}
	}
	for (; i <= len; i++) {
		if (a[i] != lower[b[i]]) {
			return false;
		}
	}
	return true;
}

/* Whether the uncompressed 'name' equals the one at 'at' in the response. */
static bool name_equal_wire(const uint8_t *name, const uint8_t *at, const uint8_t *wire)
{
	at = seek_label(at, wire);
	while (*name != 0 || *at != 0) {
		if (!label_equal(name, at)) {
			return false;
		}
		name += *name + 1;
		at = next_label(at, wire);
	}
	return true;
}

/* Where a name is written, and how much room there is. */
typedef struct {
	uint8_t *pos;
	size_t avail;
} cursor_t;

static bool put_bytes(cursor_t *c, const uint8_t *src, size_t len)
{
	if (len > c->avail) {
		return false;
	}
	memcpy(c->pos, src, len);
	c->pos += len;
	c->avail -= len;
	return true;
}

/*
 * Write 'name' compressed against the current suffix, libknot's heuristic
 * (compr_put_dname()) so the output is the same: align the suffix to the
 * name's label count, find the longest run of equal trailing labels, write
 * the labels before it and point at it, and make this name the suffix when
 * it wrote more than a pointer (similar names come in groups). libknot
 * writes label by label; the labels before the run are contiguous in 'name',
 * so one copy does. Returns the octets written, or -1 when there is no room.
 */
static int put_name_compressed(canon_writer_t *w, const uint8_t *name, cursor_t *c,
                               size_t *name_len)
{
	uint8_t labels = 0;
	const uint8_t *p = name;
	for (; *p != 0; p += *p + 1) {
		labels++;
	}
	*name_len = (size_t)(p - name) + 1;
	if (w->suffix_labels == LABELS_UNKNOWN) { /* The suffix is the QNAME. */
		w->qname_labels = name_labels(w->wire + KNOT_WIRE_HEADER_SIZE);
		w->suffix_labels = w->qname_labels;
	}
	const uint8_t *suffix = w->wire + w->suffix_pos;
	uint8_t suffix_labels = w->suffix_labels;
	while (suffix_labels > labels) {
		suffix = next_label(suffix, w->wire);
		suffix_labels--;
	}
	p = name;
	for (uint8_t i = labels; i > suffix_labels; i--) {
		p += *p + 1;
	}
	const uint8_t *match = p, *target = suffix;
	while (*p != 0) {
		const uint8_t *next_name = p + *p + 1;
		const uint8_t *next_suffix = next_label(suffix, w->wire);
		if (!label_equal(p, suffix)) {
			match = next_name;
			target = next_suffix;
		}
		p = next_name;
		suffix = next_suffix;
	}
	/* The labels before the match, then the root label or a pointer to the match. */
	size_t prefix = (size_t)(match - name);
	size_t written = prefix + (*match == 0 ? 1 : POINTER_SIZE);
	if (written > c->avail || written > KNOT_DNAME_MAXLEN) {
		return -1;
	}
	uint8_t *start = c->pos;
	memcpy(start, name, prefix + (*match == 0));
	if (*match != 0) {
		put_pointer(start + prefix, (uint16_t)(target - w->wire));
	}
	size_t at = (size_t)(start - w->wire);
	if (written > POINTER_SIZE && at + written < KNOT_WIRE_PTR_MAX) {
		w->suffix_pos = (uint16_t)at;
		w->suffix_labels = labels;
	}
	c->pos += written;
	c->avail -= written;
	return (int)written;
}

/* A name written as it is: the root, names without a question, rdata names RFC 3597 §4 keeps. */
static int put_name_plain(const uint8_t *name, cursor_t *c, size_t *name_len)
{
	*name_len = name_size(name);
	return put_bytes(c, name, *name_len) ? (int)*name_len : -1;
}

/* Write 'name' (of *name_len octets, set); returns the octets written or -1. */
static int put_name(canon_writer_t *w, const uint8_t *name, cursor_t *c, bool compress,
                    size_t *name_len)
{
	if (!compress || w->question_size == 0 || *name == 0) {
		return put_name_plain(name, c, name_len);
	}
	return put_name_compressed(w, name, c, name_len);
}

/*
 * The compression pointer of an RRset's owner, kept from its first record for
 * the others (libknot's rrinfo hint): only when the name ends before 0x3FFF.
 */
static void note_owner(uint16_t *owner_ptr, const uint8_t *wire, const uint8_t *at, size_t size)
{
	uint16_t offset = (uint16_t)(at - wire);
	if (is_pointer(at)) {
		offset = pointer_target(at);
	}
	if (offset + size < KNOT_WIRE_PTR_MAX) {
		*owner_ptr = offset;
	}
}

/* The owner: the hint, the last name written, or compressed (libknot's write_owner()). */
static bool put_owner(canon_writer_t *w, const knot_rrset_t *rr, cursor_t *c, uint16_t *owner_ptr)
{
	bool compress = w->question_size > 0;
	if (compress && *rr->owner != 0 && *owner_ptr > 0) {
		if (c->avail < POINTER_SIZE) {
			return false;
		}
		put_pointer(c->pos, *owner_ptr);
		c->pos += POINTER_SIZE;
		c->avail -= POINTER_SIZE;
		return true;
	}
	if (compress && *rr->owner != 0 &&
	    name_equal_wire(rr->owner, w->wire + w->suffix_pos, w->wire)) {
		if (c->avail < POINTER_SIZE) {
			return false;
		}
		put_pointer(c->pos, w->suffix_pos);
		c->pos += POINTER_SIZE;
		c->avail -= POINTER_SIZE;
		note_owner(owner_ptr, w->wire, w->wire + w->suffix_pos, name_size(rr->owner));
		return true;
	}
	if (compress) {
		w->suffix_pos = KNOT_WIRE_HEADER_SIZE;
		w->suffix_labels = w->qname_labels;
	}
	uint8_t *at = c->pos;
	size_t owner_len;
	int written = put_name(w, rr->owner, c, true, &owner_len);
	if (written < 0) {
		return false;
	}
	if (compress) {
		note_owner(owner_ptr, w->wire, at, (size_t)written);
	}
	return true;
}

/* RDATA field by field (the type's descriptor, as libknot's rdata_traverse_write()). */
static bool put_rdata(canon_writer_t *w, const knot_rdata_descriptor_t *desc,
                      const knot_rdata_t *rdata, cursor_t *c)
{
	const uint8_t *src = rdata->data, *end = rdata->data + rdata->len;
	const int *block = desc->block_types;
	if (block[1] == KNOT_RDATA_WF_END &&
	    (block[0] == KNOT_RDATA_WF_REMAINDER || block[0] == rdata->len)) {
		return put_bytes(c, src, rdata->len); /* No names (A, AAAA, TXT...): one copy. */
	}
	for (; *block != KNOT_RDATA_WF_END; block++) {
		size_t len;
		switch (*block) {
		case KNOT_RDATA_WF_COMPRESSIBLE_DNAME:
		case KNOT_RDATA_WF_DECOMPRESSIBLE_DNAME:
		case KNOT_RDATA_WF_FIXED_DNAME:
			/* RFC 3597 §4: only the well-known types' names are compressed. */
			if (put_name(w, src, c, *block == KNOT_RDATA_WF_COMPRESSIBLE_DNAME, &len) <
			    0) {
				return false;
			}
			src += len;
			continue;
		case KNOT_RDATA_WF_NAPTR_HEADER: {
			int size = knot_naptr_header_size(src, end);
			if (size < 0) {
				return false;
			}
			len = (size_t)size;
			break;
		}
		case KNOT_RDATA_WF_REMAINDER:
			len = (size_t)(end - src);
			break;
		default:
			len = (size_t)*block;
			break;
		}
		if (len > (size_t)(end - src) || !put_bytes(c, src, len)) {
			return false;
		}
		src += len;
	}
	return src == end;
}

/* One record: owner, TYPE, CLASS, TTL as stored, RDLENGTH and RDATA (RFC 1035 §4.1.3). */
static bool put_rr(canon_writer_t *w, const knot_rrset_t *rr, const knot_rdata_descriptor_t *desc,
                   const knot_rdata_t *rdata, cursor_t *c, uint16_t *owner_ptr)
{
	if (!put_owner(w, rr, c, owner_ptr) || c->avail < 10) {
		return false;
	}
	uint8_t *fixed = c->pos;
	knot_wire_write_u16(fixed, rr->type);
	knot_wire_write_u16(fixed + 2, rr->rclass);
	knot_wire_write_u32(fixed + 4, rr->ttl);
	c->pos += 10;
	c->avail -= 10;
	uint8_t *rdata_start = c->pos;
	if (rdata->len > 0 && !put_rdata(w, desc, rdata, c)) {
		return false;
	}
	knot_wire_write_u16(fixed + 8, (uint16_t)(c->pos - rdata_start));
	return true;
}

/*
 * The records of an RRset whose owner is a known pointer and whose RDATA has
 * no names (A, AAAA, TXT...): the same 10 octets before each RDATA. From
 * record *i on, advancing *i and *rdata; true also when it had to stop early
 * (the general path goes on from there), false when a record did not fit.
 */
static bool put_plain(const canon_writer_t *w, const knot_rrset_t *rr,
                      const knot_rdata_descriptor_t *desc, const knot_rdata_t **rdata, uint16_t *i,
                      cursor_t *c, uint16_t owner_ptr)
{
	const int *block = desc->block_types;
	if (owner_ptr == 0 || w->question_size == 0 || *rr->owner == 0 ||
	    block[1] != KNOT_RDATA_WF_END) {
		return true;
	}
	bool remainder = block[0] == KNOT_RDATA_WF_REMAINDER;
	if (!remainder && block[0] <= 0) {
		return true; /* One name (NS, CNAME...). */
	}
	uint8_t head[10];
	put_pointer(head, owner_ptr);
	knot_wire_write_u16(head + 2, rr->type);
	knot_wire_write_u16(head + 4, rr->rclass);
	knot_wire_write_u32(head + 6, rr->ttl);
	const knot_rdata_t *r = *rdata;
	for (; *i < rr->rrs.count; (*i)++) {
		uint16_t len = r->len;
		if (!remainder && len != block[0] && len != 0) {
			return false; /* Malformed, as libknot's write_rdata() finds. */
		}
		if (c->avail < (size_t)12 + len) {
			return false;
		}
		memcpy(c->pos, head, sizeof(head));
		knot_wire_write_u16(c->pos + 10, len);
		memcpy(c->pos + 12, r->data, len);
		c->pos += 12 + len;
		c->avail -= 12 + (size_t)len;
		r = knot_rdataset_next((knot_rdata_t *)r);
	}
	*rdata = r;
	return true;
}

static inline uint16_t available(const canon_writer_t *w)
{
	return (uint16_t)(w->max - w->size - w->reserved);
}

bool canon_writer_put(canon_writer_t *w, int section, const knot_rrset_t *rr, uint16_t compr_hint)
{
	uint16_t count = rr->rrs.count;
	if (count == 0) {
		return true; /* Nothing to write, nothing counted (as knot_pkt_put()). */
	}
	if (w->question_size > 0 && w->suffix_pos == 0) {
		w->suffix_pos = KNOT_WIRE_HEADER_SIZE;
		w->suffix_labels = w->qname_labels;
	}
	cursor_t c = {w->wire + w->size, available(w)};
	const knot_rdata_descriptor_t *desc = knot_get_rdata_descriptor(rr->type);
	uint16_t owner_ptr = compr_hint == KNOT_COMPR_HINT_QNAME ? KNOT_COMPR_HINT_QNAME : 0;
	const knot_rdata_t *rdata = rr->rrs.rdata;
	uint16_t i = 0;
	if (owner_ptr == 0 || w->question_size == 0 || *rr->owner == 0) {
		/* The first record finds the owner's pointer for the others. */
		if (!put_rr(w, rr, desc, rdata, &c, &owner_ptr)) {
			return false;
		}
		rdata = knot_rdataset_next((knot_rdata_t *)rdata);
		i = 1;
	}
	if (i < count && !put_plain(w, rr, desc, &rdata, &i, &c, owner_ptr)) {
		return false;
	}
	for (; i < count; i++) {
		if (!put_rr(w, rr, desc, rdata, &c, &owner_ptr)) {
			return false;
		}
		rdata = knot_rdataset_next((knot_rdata_t *)rdata);
	}
	w->size = (uint16_t)(c.pos - w->wire);
	uint8_t *counter = w->wire + ANCOUNT_OFFSET + 2 * section; /* RFC 1035 §4.1.1 */
	knot_wire_write_u16(counter, (uint16_t)(knot_wire_read_u16(counter) + count));
	return true;
}

/* Back to the header and question alone; compression state cleared. */
static void restart(canon_writer_t *w)
{
	knot_wire_set_ancount(w->wire, 0);
	knot_wire_set_nscount(w->wire, 0);
	knot_wire_set_arcount(w->wire, 0);
	w->size = (uint16_t)(KNOT_WIRE_HEADER_SIZE + w->question_size);
	w->suffix_pos = 0;
	w->suffix_labels = 0;
}

static void start(canon_writer_t *w, const uint8_t *query)
{
	memcpy(w->wire, query, KNOT_WIRE_HEADER_SIZE + w->question_size);
	/* QR set; opcode and RD copied; AA, TC cleared (RFC 1035 §4.1.1). */
	w->wire[2] = (uint8_t)((query[2] & (KNOT_WIRE_OPCODE_MASK | KNOT_WIRE_RD_MASK)) |
	                       KNOT_WIRE_QR_MASK);
	/* CD copied (RFC 4035 §3.1.6); RA, Z, AD and the rcode cleared. */
	w->wire[3] = query[3] & KNOT_WIRE_CD_MASK;
	knot_wire_set_qdcount(w->wire, w->question_size > 0 ? 1 : 0);
	restart(w);
}

bool canon_writer_init(canon_writer_t *w, uint8_t *wire, uint16_t max, const canon_query_t *q)
{
	w->wire = wire;
	w->max = max;
	w->reserved = 0;
	w->question_size = q->question_size;
	if ((size_t)KNOT_WIRE_HEADER_SIZE + q->question_size > max) {
		return false;
	}
	w->qname_labels = LABELS_UNKNOWN; /* Counted when first needed. */
	start(w, q->wire);
	return true;
}

void canon_writer_set_rcode(canon_writer_t *w, uint8_t rcode)
{
	knot_wire_set_rcode(w->wire, rcode);
}

void canon_writer_release(canon_writer_t *w, uint16_t size)
{
	w->reserved = size < w->reserved ? (uint16_t)(w->reserved - size) : 0;
}

bool canon_writer_reserve(canon_writer_t *w, uint16_t size)
{
	if (available(w) < size) {
		return false;
	}
	w->reserved = (uint16_t)(w->reserved + size);
	return true;
}

static bool put_section(canon_writer_t *w, const canon_answer_t *ans, int id)
{
	const canon_answer_section_t *section = &ans->section[id];
	for (uint16_t i = 0; i < section->count; i++) {
		if (!canon_writer_put(w, id, section->rrs[i].rr, section->rrs[i].compr_hint)) {
			return false;
		}
	}
	return true;
}

void canon_writer_put_answer(canon_writer_t *w, const canon_answer_t *ans)
{
	if (ans->truncated || !put_section(w, ans, KNOT_ANSWER) ||
	    !put_section(w, ans, KNOT_AUTHORITY)) {
		/* RFC 2181 §9: an incomplete answer is the question alone, with TC. */
		restart(w);
		knot_wire_set_tc(w->wire);
	} else {
		/* Additional data that does not fit is left out without TC (RFC 2181 §9). */
		put_section(w, ans, KNOT_ADDITIONAL);
	}
	canon_writer_set_rcode(w, ans->rcode);
	if (ans->aa) {
		knot_wire_set_aa(w->wire);
	}
}

void canon_opt_add_ede(canon_opt_t *opt, canon_writer_t *w, int code, const char *text)
{
	size_t len = text != NULL ? strlen(text) : 0;
	len = len < CANON_EDE_TEXT_MAX ? len : CANON_EDE_TEXT_MAX;
	uint16_t size = (uint16_t)(KNOT_EDNS_OPTION_HDRLEN + 2 + len);
	if (opt->options_len + size > CANON_OPT_OPTIONS_MAX || !canon_writer_reserve(w, size)) {
		return; /* The answer matters more than the reason. */
	}
	uint8_t *p = opt->options + opt->options_len;
	knot_wire_write_u16(p, KNOT_EDNS_OPTION_EDE);
	knot_wire_write_u16(p + 2, (uint16_t)(2 + len));
	knot_wire_write_u16(p + 4, (uint16_t)code);
	if (len > 0) {
		memcpy(p + 6, text, len);
	}
	opt->options_len = (uint16_t)(opt->options_len + size);
}

bool canon_writer_put_opt(canon_writer_t *w, const canon_opt_t *opt)
{
	uint16_t size = canon_opt_size(opt);
	canon_writer_release(w, size);
	if (available(w) < size) {
		return false;
	}
	uint8_t *p = w->wire + w->size;
	p[0] = 0; /* The root owns it (RFC 6891 §6.1.2). */
	knot_wire_write_u16(p + 1, KNOT_RRTYPE_OPT);
	knot_wire_write_u16(p + 3, opt->payload);
	p[5] = opt->ext_rcode;
	p[6] = 0; /* Version 0. */
	knot_wire_write_u16(p + 7, opt->dnssec_ok ? KNOT_EDNS_DO_MASK : 0);
	knot_wire_write_u16(p + 9, opt->options_len);
	memcpy(p + 11, opt->options, opt->options_len);
	w->size = (uint16_t)(w->size + size);
	knot_wire_set_arcount(w->wire, (uint16_t)(knot_wire_get_arcount(w->wire) + 1));
	return true;
}
