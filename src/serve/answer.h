/*
 * The response writer of the query path: header and question from the query,
 * the sections of a canon_answer_t with name compression, and the OPT record,
 * straight into the response buffer (NSD's answer.c, Knot's knot_pkt_put()).
 * It writes what libknot's packet writer would, octet for octet, for less than
 * half its instructions: no packet structure, no per-RRset bookkeeping.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <libknot/consts.h>
#include <libknot/rrset.h>

#include "lib/cookie.h"
#include "lib/edns.h"
#include "lib/lookup.h"
#include "lib/parse.h"

/* Our OPT record's options: a COOKIE (RFC 7873) and an Extended DNS Error (RFC 8914). */
#define CANON_OPT_OPTIONS_MAX (CANON_COOKIE_OPTION_MAX + 4 + 2 + CANON_EDE_TEXT_MAX)

/* The OPT record of an answer (RFC 6891 §6.1.2). */
typedef struct {
	uint16_t payload;  /* Our UDP payload size (CLASS). */
	uint8_t ext_rcode; /* The upper 8 bits of the rcode (BADVERS: 1). */
	bool dnssec_ok;    /* DO copied from the query (RFC 3225 §3). */
	uint16_t options_len;
	uint8_t options[CANON_OPT_OPTIONS_MAX];
} canon_opt_t;

/*
 * A name in the response that later names are compressed against (libknot
 * keeps one: the QNAME, or the last name written with more than a pointer),
 * decoded once instead of re-walked, pointers and all, for every name: the
 * same octets in one piece (the question's QNAME, or the zone's name that
 * was written), each label's offset in it and its place in the response.
 */
typedef struct {
	uint16_t pos[KNOT_DNAME_MAXLABELS]; /* Label i's place in the response, from 'split' on. */
	uint16_t base;                      /* Before 'split': at base + offset[i]. */
	uint8_t split;
	uint8_t offset[KNOT_DNAME_MAXLABELS + 1]; /* Label i's offset in 'name' (the root's too). */
	const uint8_t *name;                      /* Upper case in it is folded when compared. */
	uint8_t labels;                           /* The root not counted. */
	uint8_t size;                             /* Of 'name', the root included. */
} canon_suffix_t;

/* The response being written. */
typedef struct {
	uint8_t *wire;
	uint16_t size;          /* Octets written. */
	uint16_t max;           /* The answer's size limit (UDP payload or 65535). */
	uint16_t reserved;      /* Kept free at the end (OPT, TSIG) until released. */
	uint16_t question_size; /* 0: no question, and then no name compression. */
	/* The compression suffix: suffixes[suffix]; [0] is the QNAME (decoded when first
	 * needed), [1] and [2] take turns for the names written. */
	uint8_t suffix;
	canon_suffix_t suffixes[3];
} canon_writer_t;

/*
 * Start the response to 'q' in 'wire' (at least 'max' octets): the header
 * (ID, opcode, RD and CD copied, QR set, rcode 0, counts 0) and the question
 * as the client sent it (RFC 1035 §4.1.1). False when the question does not
 * fit in 'max'.
 */
bool canon_writer_init(canon_writer_t *w, uint8_t *wire, uint16_t max, const canon_query_t *q);

/*
 * Append the RRset 'rr' to the section being written ('section': KNOT_ANSWER,
 * KNOT_AUTHORITY or KNOT_ADDITIONAL, in that order), its owner compressed
 * against the QNAME when 'compr_hint' is KNOT_COMPR_HINT_QNAME. False, and
 * nothing written, when it does not fit in full. Its names must stay valid
 * until the response is finished: later names are compressed against them.
 */
bool canon_writer_put(canon_writer_t *w, int section, const knot_rrset_t *rr, uint16_t compr_hint);

/*
 * Write the sections of 'ans' and its rcode and AA bit. When an RRset of the
 * answer or authority section does not fit (or 'ans' says one was left out),
 * the response is the header and question with TC (RFC 2181 §9); additional
 * RRsets that do not fit are left out without TC.
 */
void canon_writer_put_answer(canon_writer_t *w, const canon_answer_t *ans);

/* Set the header rcode (its low 4 bits, RFC 6891 §6.1.3). */
void canon_writer_set_rcode(canon_writer_t *w, uint8_t rcode);

/* Give back 'size' reserved octets (to write what they were kept for). */
void canon_writer_release(canon_writer_t *w, uint16_t size);

/* Keep 'size' more octets free at the end; false when they are not free. */
bool canon_writer_reserve(canon_writer_t *w, uint16_t size);

/* The OPT record's size on the wire. */
static inline uint16_t canon_opt_size(const canon_opt_t *opt)
{
	return (uint16_t)(11 + opt->options_len);
}

/*
 * Add an EDE option (RFC 8914 §2) to 'opt' when the writer can keep room for
 * it (the OPT's own size must already be reserved); else it is left out.
 */
void canon_opt_add_ede(canon_opt_t *opt, canon_writer_t *w, int code, const char *text);

/* Append the OPT record in the additional section, its reserved room released first. */
bool canon_writer_put_opt(canon_writer_t *w, const canon_opt_t *opt);
