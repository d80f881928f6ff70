/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/packet/compr.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/naptr.h>
#include <libknot/rrtype/opt.h>

#include "lib/name.h"
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

/* Labels of an uncompressed name (from the zone: well formed), the root not
 * counted; each label's offset in 'offset' (the root's last), its size in *size. */
static inline uint8_t name_offsets(const uint8_t *name, uint8_t *offset, size_t *size)
{
	uint8_t labels = 0;
	size_t at = 0;
	while (name[at] != 0) {
		offset[labels++] = (uint8_t)at;
		at += (size_t)name[at] + 1;
	}
	offset[labels] = (uint8_t)at;
	*size = at + 1;
	return labels;
}

/*
 * Whether 'len' octets of 'a' (a name being written) equal those of 'b' (a
 * name in the response, which may have the client's upper case): as
 * libknot's label_is_equal(), only 'b' is folded, names from the zone are
 * lower case. Words, the last one overlapping, no octet loop.
 */
static inline bool equal_folded(const uint8_t *a, const uint8_t *b, size_t len)
{
	if (len >= 8) {
		for (size_t i = 0; i + 8 < len; i += 8) {
			uint64_t x, y;
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != canon_lower_word(y)) {
				return false;
			}
		}
		uint64_t x, y;
		memcpy(&x, a + len - 8, 8);
		memcpy(&y, b + len - 8, 8);
		return x == canon_lower_word(y);
	}
	if (len >= 4) {
		uint32_t x1, y1, x2, y2;
		memcpy(&x1, a, 4);
		memcpy(&y1, b, 4);
		memcpy(&x2, a + len - 4, 4);
		memcpy(&y2, b + len - 4, 4);
		uint64_t x = (uint64_t)x1 << 32 | x2, y = (uint64_t)y1 << 32 | y2;
		return x == canon_lower_word(y);
	}
	for (size_t i = 0; i < len; i++) {
		if (a[i] != (uint8_t)canon_lower_word(b[i])) {
			return false;
		}
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

/* The QNAME decoded as a suffix: it is at offset 12, uncompressed (RFC 1035 §4.1.2). */
static void decode_qname(canon_suffix_t *s, const uint8_t *wire)
{
	const uint8_t *qname = wire + KNOT_WIRE_HEADER_SIZE;
	size_t size;
	s->labels = name_offsets(qname, s->offset, &size);
	s->size = (uint8_t)size;
	s->name = qname; /* In the client's case (RFC 4343 §4.1): folded when compared. */
	s->base = KNOT_WIRE_HEADER_SIZE;
	s->split = s->labels; /* No pointers in it. */
}

/* Where label i of the suffix is in the response. */
static inline uint16_t suffix_pos(const canon_suffix_t *s, unsigned i)
{
	return i < s->split ? (uint16_t)(s->base + s->offset[i]) : s->pos[i];
}

#define SUFFIX_QNAME 0

static inline const canon_suffix_t *current_suffix(canon_writer_t *w)
{
	canon_suffix_t *s = &w->suffixes[w->suffix];
	if (s->labels == LABELS_UNKNOWN) { /* Only the QNAME's is decoded lazily. */
		decode_qname(s, w->wire);
	}
	return s;
}

/* Whether the uncompressed 'name' ('size' octets) equals the suffix. */
static inline bool suffix_equal(const canon_suffix_t *s, const uint8_t *name, size_t size)
{
	/* Only the response's copy is folded, as in libknot's label_is_equal():
	 * names from the zone are lower case. */
	return size == s->size && equal_folded(name, s->name, size - 1);
}

/*
 * Write 'name' compressed against the current suffix, libknot's heuristic
 * (compr_put_dname()) so the output is the same: align the suffix to the
 * name's label count, find the longest run of equal trailing labels, write
 * the labels before it and point at it, and make this name the suffix when
 * it wrote more than a pointer (similar names come in groups). libknot
 * compares label by label, pointers followed, and the run starts after the
 * last difference: that is the first aligned label from which the rest of
 * both names is the same octets, found here with a length test and one
 * compare per candidate. Returns the octets written, or -1 when there is no
 * room.
 */
static int put_name_compressed(canon_writer_t *w, const uint8_t *name, cursor_t *c,
                               size_t *name_len)
{
	const canon_suffix_t *s = current_suffix(w);
	uint8_t next = w->suffix == 1 ? 2 : 1; /* Where this name goes if it becomes the suffix. */
	canon_suffix_t *n = &w->suffixes[next];
	size_t size;
	uint8_t labels = name_offsets(name, n->offset, &size);
	*name_len = size;
	int shift = (int)s->labels - (int)labels;
	uint8_t match = labels;
	for (uint8_t i = shift < 0 ? (uint8_t)-shift : 0; i < labels; i++) {
		size_t tail = size - n->offset[i];
		const uint8_t *other = s->name + s->offset[i + shift];
		if (tail == (size_t)(s->size - s->offset[i + shift]) &&
		    equal_folded(name + n->offset[i], other, tail - 1)) {
			match = i;
			break;
		}
	}
	/* The labels before the match, then the root label or a pointer to the match. */
	size_t prefix = n->offset[match];
	size_t written = prefix + (match == labels ? 1 : POINTER_SIZE);
	if (written > c->avail || written > KNOT_DNAME_MAXLEN) {
		return -1;
	}
	uint8_t *start = c->pos;
	size_t at = (size_t)(start - w->wire);
	if (match == labels) {
		memcpy(start, name, size);
	} else {
		memcpy(start, name, prefix);
		put_pointer(start + prefix, suffix_pos(s, (unsigned)(match + shift)));
	}
	c->pos += written;
	c->avail -= written;
	if (written > POINTER_SIZE && at + written < KNOT_WIRE_PTR_MAX) {
		/* The new suffix: its labels here, then those it points at. */
		for (unsigned i = match; i < labels; i++) {
			n->pos[i] = suffix_pos(s, (unsigned)((int)i + shift));
		}
		n->base = (uint16_t)at;
		n->split = match;
		n->name = name; /* Its octets, as written here. */
		n->labels = labels;
		n->size = (uint8_t)size;
		w->suffix = next;
	}
	return (int)written;
}

/* A name written as it is: the root, names without a question, rdata names RFC 3597 §4 keeps. */
static int put_name_plain(const uint8_t *name, cursor_t *c, size_t *name_len)
{
	*name_len = canon_name_size(name);
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
	if (compress && *rr->owner != 0) {
		const canon_suffix_t *suffix = current_suffix(w);
		size_t size = canon_name_size(rr->owner);
		if (suffix_equal(suffix, rr->owner, size)) {
			if (c->avail < POINTER_SIZE) {
				return false;
			}
			/* A suffix starts with a label, never a pointer. */
			put_pointer(c->pos, suffix_pos(suffix, 0));
			c->pos += POINTER_SIZE;
			c->avail -= POINTER_SIZE;
			if (suffix_pos(suffix, 0) + size < KNOT_WIRE_PTR_MAX) {
				*owner_ptr = suffix_pos(suffix, 0);
			}
			return true;
		}
	}
	if (compress) {
		w->suffix = SUFFIX_QNAME;
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

/*
 * The RDATA layout of a type: libknot's descriptors, those of A and AAAA (most
 * answers) without the library call.
 */
static const knot_rdata_descriptor_t DESC_A = {{4, KNOT_RDATA_WF_END}, "A"};
static const knot_rdata_descriptor_t DESC_AAAA = {{16, KNOT_RDATA_WF_END}, "AAAA"};

static inline const knot_rdata_descriptor_t *descriptor(uint16_t type)
{
	switch (type) {
	case KNOT_RRTYPE_A:
		return &DESC_A;
	case KNOT_RRTYPE_AAAA:
		return &DESC_AAAA;
	default:
		return knot_get_rdata_descriptor(type);
	}
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
	cursor_t c = {w->wire + w->size, available(w)};
	const knot_rdata_descriptor_t *desc = descriptor(rr->type);
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
	w->suffix = SUFFIX_QNAME;
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
	w->suffixes[SUFFIX_QNAME].labels = LABELS_UNKNOWN; /* Decoded when first needed. */
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
	if (opt->options_len > 0) { /* Most have none: no library call for nothing. */
		memcpy(p + 11, opt->options, opt->options_len);
	}
	w->size = (uint16_t)(w->size + size);
	knot_wire_set_arcount(w->wire, (uint16_t)(knot_wire_get_arcount(w->wire) + 1));
	return true;
}
