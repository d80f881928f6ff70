/*
 * canon dig: print replies in dig 9.18's layout. Record text comes from
 * libknot's dumper; this file only lays it out in dig's columns.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libdnssec/binary.h>
#include <libdnssec/keytag.h>

#include "cli/dig.h"

/* The TTL, class, type and rdata columns of BIND's master styles, as dig
 * picks them (dig.c printmessage): one-line, without TTL or class, and
 * multiline (or without both). */
typedef struct {
	size_t ttl, rclass, type, rdata;
} dig_cols_t;

static const dig_cols_t COLS_ONELINE = {24, 32, 40, 48};
static const dig_cols_t COLS_NARROW = {24, 24, 32, 40};
static const dig_cols_t COLS_MULTI = {24, 24, 24, 32};
#define MULTI_INDENT     "\n\t\t\t\t" /* continuation lines start at column 32 */
#define MULTI_TOKENS_MAX 300          /* rdata fields re-laid by +multi (an NSEC3 bitmap's types) */
#define TAB_WIDTH        8

#define RDATA_TEXT_MAX (1 << 20)

void dig_print_banner(dig_out_t *out)
{
	if (out->banner_done) {
		return;
	}
	out->banner_done = true;
	const dig_params_t *p = out->params;
	if (!p->cmd) {
		return;
	}
	printf("\n; <<>> canon dig %s <<>>", CANON_VERSION);
	for (int i = 1; i < p->argc; i++) {
		printf(" %s", p->argv[i]);
	}
	printf("\n");
	if (p->nserver_args > 0) {
		printf("; (%zu server%s found)\n", out->nservers, out->nservers == 1 ? "" : "s");
	}
	printf(";; global options: +cmd\n");
}

void dig_print_comm_error(const dig_server_t *server, const char *why)
{
	char addr[80];
	printf(";; communications error to %s: %s\n",
	       dig_server_addr_str(server, addr, sizeof(addr)), why);
}

const char *dig_rcode_str(uint16_t rcode, char *buf, size_t len)
{
	if (rcode == KNOT_RCODE_NOTIMPL) {
		return "NOTIMP"; /* BIND's name for RFC 1035's rcode 4 */
	}
	const knot_lookup_t *item = knot_lookup_by_id(knot_rcode_names, rcode);
	if (item != NULL) {
		return item->name;
	}
	snprintf(buf, len, "%u", rcode);
	return buf;
}

uint16_t dig_reply_rcode(const knot_pkt_t *pkt)
{
	uint8_t rcode = knot_wire_get_rcode(pkt->wire);
	if (pkt->opt_rr == NULL) {
		return rcode;
	}
	return knot_edns_whole_rcode(knot_edns_get_ext_rcode(pkt->opt_rr), rcode);
}

char *dig_rdata_str(const knot_rrset_t *rr, uint16_t pos)
{
	knot_dump_style_t style = KNOT_DUMP_STYLE_DEFAULT;
	style.human_timestamp = true; /* RRSIG times as YYYYMMDDHHmmSS, as dig */
	for (size_t len = 1024; len <= RDATA_TEXT_MAX; len *= 4) {
		char *buf = malloc(len);
		if (buf == NULL) {
			return NULL;
		}
		int ret = knot_rrset_txt_dump_data(rr, pos, buf, len, &style);
		if (ret >= 0) {
			return buf;
		}
		free(buf);
		if (ret != KNOT_ESPACE) {
			return NULL;
		}
	}
	return NULL;
}

/* The types whose last field BIND prints as base64 or hex, split every
 * +split characters (dig's splitwidth). */
static bool split_type(uint16_t type)
{
	switch (type) {
	case KNOT_RRTYPE_DNSKEY:
	case KNOT_RRTYPE_CDNSKEY:
	case KNOT_RRTYPE_KEY:
	case KNOT_RRTYPE_RRSIG:
	case KNOT_RRTYPE_SIG:
	case KNOT_RRTYPE_DS:
	case KNOT_RRTYPE_CDS:
	case KNOT_RRTYPE_SSHFP:
	case KNOT_RRTYPE_TLSA:
	case KNOT_RRTYPE_SMIMEA:
	case KNOT_RRTYPE_OPENPGPKEY:
	case KNOT_RRTYPE_DHCID:
	case KNOT_RRTYPE_CERT:
	case KNOT_RRTYPE_IPSECKEY:
	case KNOT_RRTYPE_ZONEMD:
		return true;
	default:
		return false;
	}
}

/* text with its last field cut into width-character chunks joined by sep
 * (malloc'd; text is freed). Unchanged when nothing needs a cut. */
static char *split_last(char *text, unsigned width, const char *sep)
{
	if (text == NULL || width == 0) {
		return text;
	}
	char *last = strrchr(text, ' ');
	last = last ? last + 1 : text;
	size_t len = strlen(last);
	if (len <= width) {
		return text;
	}
	size_t head = (size_t)(last - text);
	size_t chunks = (len + width - 1) / width;
	char *out = malloc(head + len + chunks * strlen(sep) + 1);
	if (out == NULL) {
		return text;
	}
	memcpy(out, text, head);
	size_t pos = head;
	for (size_t i = 0; i < len; i += width) {
		size_t n = len - i < width ? len - i : width;
		if (i > 0) {
			pos += (size_t)sprintf(out + pos, "%s", sep);
		}
		memcpy(out + pos, last + i, n);
		pos += n;
	}
	out[pos] = '\0';
	free(text);
	return out;
}

/* libknot's text with BIND's spelling: NSEC3's next hashed owner in upper case
 * (RFC 5155 §3.3 leaves the case of base32hex open; BIND and dig use upper). */
static char *rdata_bind_text(const knot_rrset_t *rr, uint16_t pos)
{
	char *text = dig_rdata_str(rr, pos);
	if (text == NULL || rr->type != KNOT_RRTYPE_NSEC3) {
		return text;
	}
	char *field = text;
	for (int i = 0; i < 4 && field != NULL; i++) { /* alg, flags, iterations, salt */
		field = strchr(field, ' ');
		field = field ? field + 1 : NULL;
	}
	for (; field != NULL && *field != '\0' && *field != ' '; field++) {
		*field = (char)toupper((unsigned char)*field);
	}
	return text;
}

char *dig_rdata_text(const knot_rrset_t *rr, uint16_t pos, unsigned split)
{
	char *text = rdata_bind_text(rr, pos);
	return split_type(rr->type) ? split_last(text, split, " ") : text;
}

/* BIND's names for the DNSSEC algorithms in +multi's DNSKEY comment. */
static const char *alg_name(uint8_t alg, char *buf, size_t len)
{
	static const char *const NAMES[] = {
	        [1] = "RSAMD5",           [3] = "DSA",          [5] = "RSASHA1",
	        [6] = "NSEC3DSA",         [7] = "NSEC3RSASHA1", [8] = "RSASHA256",
	        [10] = "RSASHA512",       [12] = "ECCGOST",     [13] = "ECDSAP256SHA256",
	        [14] = "ECDSAP384SHA384", [15] = "ED25519",     [16] = "ED448",
	};
	if (alg < sizeof(NAMES) / sizeof(NAMES[0]) && NAMES[alg] != NULL) {
		return NAMES[alg];
	}
	snprintf(buf, len, "%u", alg);
	return buf;
}

/* Append printf output to a growing string. */
static void str_add(char **str, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void str_add(char **str, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *grown = n >= 0 ? realloc(*str, *len + (size_t)n + 1) : NULL;
	if (grown == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(grown + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*str = grown;
	*len += (size_t)n;
}

/* A duration as BIND's SOA comments write it: "2 hours", "1 week 2 days". */
static void soa_duration(char **str, size_t *len, uint32_t secs)
{
	static const struct {
		uint32_t size;
		const char *name;
	} UNITS[] = {
	        {604800, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
	const char *sep = "";
	str_add(str, len, " (");
	bool zero = secs == 0;
	for (size_t i = 0; i < sizeof(UNITS) / sizeof(UNITS[0]); i++) {
		uint32_t n = secs / UNITS[i].size;
		if (n > 0 || (zero && UNITS[i].size == 1)) {
			str_add(str, len, "%s%u %s%s", sep, n, UNITS[i].name, n == 1 ? "" : "s");
			sep = " ";
		}
		secs %= UNITS[i].size;
	}
	str_add(str, len, ")");
}

/* +multi SOA: the five numbers one per line with their names (BIND). */
static char *multi_soa(char **tok, size_t ntok)
{
	static const char *const FIELDS[] = {"serial", "refresh", "retry", "expire", "minimum"};
	char *str = NULL;
	size_t len = 0;
	str_add(&str, &len, "%s %s (", tok[0], tok[1]);
	for (size_t i = 0; i < 5 && i + 2 < ntok; i++) {
		str_add(&str, &len, MULTI_INDENT "%-10s ; %s", tok[i + 2], FIELDS[i]);
		if (i > 0) {
			soa_duration(&str, &len, (uint32_t)strtoul(tok[i + 2], NULL, 10));
		}
	}
	str_add(&str, &len, MULTI_INDENT ")");
	return str;
}

/* Chunks of the last token, each on its own continuation line. */
static void multi_chunks(char **str, size_t *len, const char *field, unsigned width)
{
	size_t flen = strlen(field);
	if (width == 0) {
		width = (unsigned)flen;
	}
	for (size_t i = 0; i < flen; i += width) {
		size_t n = flen - i < width ? flen - i : width;
		str_add(str, len, MULTI_INDENT "%.*s", (int)n, field + i);
	}
}

/* +multi DNSKEY/CDNSKEY: key data on its own lines, then what the key is. */
static char *multi_dnskey(const knot_rrset_t *rr, uint16_t pos, char **tok, size_t ntok,
                          unsigned width)
{
	char *str = NULL, buf[8];
	size_t len = 0;
	const knot_rdata_t *rd = knot_rdataset_at(&rr->rrs, pos);
	uint16_t tag = 0;
	dnssec_binary_t bin = {.data = (uint8_t *)rd->data, .size = rd->len};
	dnssec_keytag(&bin, &tag);
	uint16_t flags = rd->len >= 2 ? knot_wire_read_u16(rd->data) : 0;
	uint8_t alg = rd->len >= 4 ? rd->data[3] : 0;
	str_add(&str, &len, "%s %s %s (", tok[0], tok[1], tok[2]);
	multi_chunks(&str, &len, tok[ntok - 1], width);
	/* RFC 4034 §2.1.1: bit 15, the SEP flag, marks a key-signing key. */
	str_add(&str, &len, MULTI_INDENT ") ; %s; alg = %s ; key id = %u",
	        (flags & 1) ? "KSK" : "ZSK", alg_name(alg, buf, sizeof(buf)), tag);
	return str;
}

/* +multi RRSIG: times, tag and signer on the second line, then the signature. */
static char *multi_rrsig(char **tok, size_t ntok, unsigned width)
{
	char *str = NULL;
	size_t len = 0;
	str_add(&str, &len, "%s %s %s %s (" MULTI_INDENT "%s %s %s %s", tok[0], tok[1], tok[2],
	        tok[3], tok[4], tok[5], tok[6], tok[7]);
	multi_chunks(&str, &len, tok[ntok - 1], width);
	str_add(&str, &len, " )");
	return str;
}

/* +multi DS/CDS: the digest on its own lines. */
static char *multi_ds(char **tok, size_t ntok, unsigned width)
{
	char *str = NULL;
	size_t len = 0;
	str_add(&str, &len, "%s %s %s (", tok[0], tok[1], tok[2]);
	multi_chunks(&str, &len, tok[ntok - 1], width);
	str_add(&str, &len, " )");
	return str;
}

/* +multi TSIG: the MAC on its own line (BIND's TSIG totext). */
static char *multi_tsig(char **tok, size_t ntok)
{
	char *str = NULL;
	size_t len = 0;
	str_add(&str, &len, "%s %s %s %s (" MULTI_INDENT "%s )", tok[0], tok[1], tok[2], tok[3],
	        tok[4]);
	for (size_t i = 5; i < ntok; i++) {
		str_add(&str, &len, " %s", tok[i]);
	}
	return str;
}

/* +multi NSEC3: the next hashed owner and the type bitmap on their own lines. */
static char *multi_nsec3(char **tok, size_t ntok)
{
	char *str = NULL;
	size_t len = 0;
	str_add(&str, &len, "%s %s %s %s (" MULTI_INDENT "%s" MULTI_INDENT, tok[0], tok[1], tok[2],
	        tok[3], tok[4]);
	for (size_t i = 5; i < ntok; i++) {
		str_add(&str, &len, "%s%s", i > 5 ? " " : "", tok[i]);
	}
	str_add(&str, &len, " )");
	return str;
}

/* +multi for the other split types: the base64/hex field on its own lines. */
static char *multi_split(char **tok, size_t ntok, unsigned width)
{
	char *str = NULL;
	size_t len = 0;
	for (size_t i = 0; i + 1 < ntok; i++) {
		str_add(&str, &len, "%s ", tok[i]);
	}
	str_add(&str, &len, "(");
	multi_chunks(&str, &len, tok[ntok - 1], width);
	str_add(&str, &len, " )");
	return str;
}

/* Split text into blank-separated tokens in place (no quoting: only for the
 * types below, whose fields hold no blanks). */
static size_t tokenize(char *text, char **tok, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(text, " ", &save); t != NULL && n < max;
	     t = strtok_r(NULL, " ", &save)) {
		tok[n++] = t;
	}
	return n;
}

/* The rdata as dig +multi prints it (BIND's multiline style), malloc'd. */
static char *rdata_multi(const knot_rrset_t *rr, uint16_t pos, unsigned width)
{
	char *text = rdata_bind_text(rr, pos);
	if (text == NULL) {
		return NULL;
	}
	char *tok[MULTI_TOKENS_MAX];
	char *copy = strdup(text);
	size_t n = copy ? tokenize(copy, tok, MULTI_TOKENS_MAX) : 0;
	char *out = NULL;
	if (rr->type == KNOT_RRTYPE_SOA && n == 7) {
		out = multi_soa(tok, n);
	} else if ((rr->type == KNOT_RRTYPE_DNSKEY || rr->type == KNOT_RRTYPE_CDNSKEY) && n == 4) {
		out = multi_dnskey(rr, pos, tok, n, width);
	} else if (rr->type == KNOT_RRTYPE_RRSIG && n == 9) {
		out = multi_rrsig(tok, n, width);
	} else if ((rr->type == KNOT_RRTYPE_DS || rr->type == KNOT_RRTYPE_CDS) && n == 4) {
		out = multi_ds(tok, n, width);
	} else if (rr->type == KNOT_RRTYPE_TSIG && n == 8 && strcmp(tok[3], "0") != 0) {
		out = multi_tsig(tok, n);
	} else if (rr->type == KNOT_RRTYPE_NSEC3 && n >= 5 && n < MULTI_TOKENS_MAX) {
		out = multi_nsec3(tok, n);
	} else if (split_type(rr->type) && n >= 1 && n < MULTI_TOKENS_MAX) {
		out = multi_split(tok, n, width);
	}
	free(copy);
	if (out == NULL) {
		return split_type(rr->type) ? split_last(text, width, " ") : text;
	}
	free(text);
	return out;
}

/* BIND masterdump's indent(): tabs to the column, at least one blank. */
static size_t indent_to(size_t col, size_t to)
{
	if (to < col + 1) {
		to = col + 1;
	}
	size_t tabs = to / TAB_WIDTH - col / TAB_WIDTH;
	if (tabs > 0) {
		for (size_t i = 0; i < tabs; i++) {
			putchar('\t');
		}
		col = to / TAB_WIDTH * TAB_WIDTH;
	}
	for (; col < to; col++) {
		putchar(' ');
	}
	return to;
}

static const dig_cols_t *columns(const dig_params_t *p)
{
	if (p == NULL) {
		return &COLS_ONELINE;
	}
	if (p->multiline || (!p->ttlid && !p->rrclass)) {
		return &COLS_MULTI;
	}
	return p->ttlid && p->rrclass ? &COLS_ONELINE : &COLS_NARROW;
}

/* Print the class and type columns; col is where the cursor is. */
static size_t print_class_type(size_t col, uint16_t rclass, uint16_t rtype, const dig_cols_t *cols,
                               bool with_class)
{
	char text[32];
	if (with_class) {
		knot_rrclass_to_string(rclass, text, sizeof(text));
		col = indent_to(col, cols->rclass);
		col += (size_t)printf("%s", text);
	}
	knot_rrtype_to_string(rtype, text, sizeof(text));
	col = indent_to(col, cols->type);
	col += (size_t)printf("%s", text);
	return col;
}

/* The question keeps its class even with +noclass, as in dig. */
static void print_question(const dig_params_t *p, const knot_pkt_t *pkt)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, knot_pkt_qname(pkt), sizeof(owner));
	/* BIND counts columns from the name, not from the ';' before it. */
	putchar(';');
	size_t col = (size_t)printf("%s", owner);
	print_class_type(col, knot_pkt_qclass(pkt), knot_pkt_qtype(pkt), columns(p), true);
	printf("\n");
}

/* One record in dig's columns; +multi uses BIND's multiline style. */
static void print_rr(const dig_params_t *p, const knot_rrset_t *rr, uint16_t pos)
{
	bool multi = p != NULL && p->multiline;
	unsigned split = p != NULL ? p->split : DIG_SPLIT_WIDTH;
	const dig_cols_t *cols = columns(p);
	char owner[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, rr->owner, sizeof(owner));
	size_t col = (size_t)printf("%s", owner);
	if (p == NULL || p->ttlid) {
		col = indent_to(col, cols->ttl);
		col += (size_t)printf("%u", rr->ttl);
	}
	col = print_class_type(col, rr->rclass, rr->type, cols, p == NULL || p->rrclass);
	char *data = multi ? rdata_multi(rr, pos, split) : dig_rdata_text(rr, pos, split);
	indent_to(col, cols->rdata);
	/* BIND writes TSIG's Other Len, a blank, then the Other Data (RFC 8945 §4.2). */
	const char *tail =
	        rr->type == KNOT_RRTYPE_TSIG && knot_tsig_rdata_other_data_length(rr) == 0 ? " "
	                                                                                   : "";
	printf("%s%s\n", data ? data : "; (rdata not printable)", tail);
	free(data);
}

void dig_print_records(const knot_pkt_t *pkt, knot_section_t id)
{
	const knot_pktsection_t *section = knot_pkt_section(pkt, id);
	for (uint16_t i = 0; i < section->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(section, i);
		for (uint16_t pos = 0; rr->type != KNOT_RRTYPE_OPT && pos < rr->rrs.count; pos++) {
			print_rr(NULL, rr, pos);
		}
	}
}

/* A section: its title and the blank line after it only with +comments
 * (BIND's sectiontotext without DNS_MESSAGETEXTFLAG_NOCOMMENTS). */
static void print_section(const dig_params_t *p, const knot_pkt_t *pkt, knot_section_t id,
                          const char *title)
{
	const knot_pktsection_t *section = knot_pkt_section(pkt, id);
	bool printed = false;
	for (uint16_t i = 0; i < section->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(section, i);
		if (rr->type == KNOT_RRTYPE_OPT || rr->type == KNOT_RRTYPE_TSIG) {
			continue; /* shown as the OPT and TSIG PSEUDOSECTIONs */
		}
		if (!printed && p->comments) {
			printf(";; %s SECTION:\n", title);
		}
		printed = true;
		for (uint16_t pos = 0; pos < rr->rrs.count; pos++) {
			print_rr(p, rr, pos);
		}
	}
	if (printed && p->comments) {
		printf("\n");
	}
}

static void print_flags(const uint8_t *wire)
{
	static const struct {
		const char *name;
		uint8_t (*get)(const uint8_t *);
	} FLAGS[] = {
	        {"qr", knot_wire_get_qr}, {"aa", knot_wire_get_aa}, {"tc", knot_wire_get_tc},
	        {"rd", knot_wire_get_rd}, {"ra", knot_wire_get_ra}, {"ad", knot_wire_get_ad},
	        {"cd", knot_wire_get_cd},
	};
	printf(";; flags:");
	for (size_t i = 0; i < sizeof(FLAGS) / sizeof(FLAGS[0]); i++) {
		if (FLAGS[i].get(wire)) {
			printf(" %s", FLAGS[i].name);
		}
	}
	if (knot_wire_get_z(wire)) {
		printf("; MBZ: 0x4"); /* RFC 1035 §4.1.1: Z must be zero */
	}
}

/* The header; 'sent' is our own query (no RA warning for it, as dig). */
static void print_header(const knot_pkt_t *pkt, bool sent)
{
	const uint8_t *wire = pkt->wire;
	char rbuf[16];
	const knot_lookup_t *op = knot_lookup_by_id(knot_opcode_names, knot_wire_get_opcode(wire));
	printf(";; ->>HEADER<<- opcode: ");
	if (op != NULL) {
		printf("%s", op->name);
	} else {
		printf("RESERVED%u", knot_wire_get_opcode(wire));
	}
	printf(", status: %s, id: %u\n", dig_rcode_str(dig_reply_rcode(pkt), rbuf, sizeof(rbuf)),
	       knot_wire_get_id(wire));
	print_flags(wire);
	/* knot_pkt_parse took the TSIG off ARCOUNT: the wire had it (RFC 8945 §4.3.2). */
	printf("; QUERY: %u, ANSWER: %u, AUTHORITY: %u, ADDITIONAL: %u\n",
	       knot_wire_get_qdcount(wire), knot_wire_get_ancount(wire),
	       knot_wire_get_nscount(wire),
	       knot_wire_get_arcount(wire) + (pkt->tsig_rr != NULL ? 1 : 0));
	if (!sent && knot_wire_get_rd(wire) && !knot_wire_get_ra(wire)) {
		printf(";; WARNING: recursion requested but not available\n");
	}
	printf("\n");
}

/* Bytes as " xx xx" then ("text") with dots for unprintables, as dig does. */
static void print_hex_text(const uint8_t *data, uint16_t len, bool spaced, bool text)
{
	for (uint16_t i = 0; i < len; i++) {
		printf(spaced ? " %02x" : "%02x", data[i]);
	}
	if (!text || len == 0) {
		return;
	}
	printf(" (\"");
	for (uint16_t i = 0; i < len; i++) {
		putchar(isprint(data[i]) ? data[i] : '.');
	}
	printf("\")");
}

/* RFC 8914 §2: INFO-CODE, then optional UTF-8 EXTRA-TEXT. */
static void print_ede(const uint8_t *data, uint16_t len)
{
	if (len < 2) {
		printf("; EDE:");
		print_hex_text(data, len, true, false);
		printf("\n");
		return;
	}
	uint16_t code = knot_wire_read_u16(data);
	const knot_lookup_t *item = knot_lookup_by_id(knot_edns_ede_names, code);
	printf("; EDE: %u", code);
	if (item != NULL) {
		printf(" (%s)", item->name);
	}
	if (len > 2) {
		printf(": (%.*s)", (int)(len - 2), (const char *)data + 2);
	}
	printf("\n");
}

/* RFC 7873 §5.3: the reply's client cookie must be the one we sent. */
static void print_cookie(const dig_reply_t *reply, const uint8_t *data, uint16_t len)
{
	printf("; COOKIE: ");
	print_hex_text(data, len, false, false);
	if (reply->cookie_sent && len >= DIG_COOKIE_LEN) {
		bool good = memcmp(data, reply->cookie, DIG_COOKIE_LEN) == 0;
		printf(good ? " (good)" : " (bad)");
	}
	printf("\n");
}

static void print_edns_option(const dig_reply_t *reply, uint16_t code, const uint8_t *data,
                              uint16_t len)
{
	switch (code) {
	case KNOT_EDNS_OPTION_NSID: /* RFC 5001 */
		printf("; NSID:");
		print_hex_text(data, len, true, true);
		break;
	case KNOT_EDNS_OPTION_COOKIE: /* RFC 7873 */
		print_cookie(reply, data, len);
		return;
	case KNOT_EDNS_OPTION_EDE:
		print_ede(data, len);
		return;
	default:
		printf("; OPT=%u:", code);
		print_hex_text(data, len, true, true);
		break;
	}
	printf("\n");
}

/* RFC 6891 §6.1.3: version in bits 16-23 of the TTL, DO is the top flag bit. */
static void print_opt(const dig_reply_t *reply, const knot_rrset_t *opt)
{
	uint16_t flags = (uint16_t)(opt->ttl & 0xffff);
	uint16_t mbz = flags & (uint16_t)~0x8000;
	printf(";; OPT PSEUDOSECTION:\n");
	printf("; EDNS: version: %u, flags:%s", knot_edns_get_version(opt),
	       knot_edns_do(opt) ? " do" : "");
	if (mbz != 0) {
		printf("; MBZ: 0x%04x, udp: %u\n", mbz, knot_edns_get_payload(opt));
	} else {
		printf("; udp: %u\n", knot_edns_get_payload(opt));
	}
	if (opt->rrs.count == 0) {
		return;
	}
	const knot_rdata_t *rd = opt->rrs.rdata;
	for (uint16_t pos = 0; pos + KNOT_EDNS_OPTION_HDRLEN <= rd->len;) {
		uint16_t code = knot_wire_read_u16(rd->data + pos);
		uint16_t len = knot_wire_read_u16(rd->data + pos + 2);
		pos += KNOT_EDNS_OPTION_HDRLEN;
		if (len > rd->len - pos) {
			printf("; (malformed EDNS option %u)\n", code);
			return;
		}
		print_edns_option(reply, code, rd->data + pos, len);
		pos += len;
	}
}

/* dig's words for a reply whose TSIG does not check (dns_result_totext). */
static const char *tsig_failure(const dig_reply_t *reply)
{
	const knot_rrset_t *tsig = reply->pkt->tsig_rr;
	if (tsig == NULL) {
		return "expected a TSIG or SIG(0)";
	}
	if (knot_tsig_rdata_error(tsig) != 0) {
		return "tsig indicates error"; /* the server's BADKEY, BADSIG, BADTIME */
	}
	return reply->tsig_ret == KNOT_TSIG_EBADTIME ? "tsig indicates error"
	                                             : "tsig verify failure";
}

static bool tsig_failed(const dig_reply_t *reply)
{
	return reply->tsig_checked && reply->tsig_ret != KNOT_EOK;
}

static void print_footer(const dig_reply_t *reply)
{
	char addr[80], when[64];
	struct tm tm;
	localtime_r(&reply->when, &tm);
	strftime(when, sizeof(when), "%a %b %d %H:%M:%S %Z %Y", &tm);
	printf(";; Query time: %ld msec\n", reply->rtt_ms);
	printf(";; SERVER: %s(%s) (%s)\n", dig_server_addr_str(reply->server, addr, sizeof(addr)),
	       reply->server->name, reply->tcp ? "TCP" : "UDP");
	printf(";; WHEN: %s\n", when);
	printf(";; MSG SIZE  rcvd: %zu\n", reply->len);
	if (tsig_failed(reply)) {
		printf(";; WARNING -- Some TSIG could not be validated\n");
	}
	printf("\n");
}

static void print_bad_packet(const dig_reply_t *reply)
{
	printf(";; Got bad packet: %s\n%zu bytes\n", knot_strerror(reply->parse_ret), reply->len);
	for (size_t i = 0; i < reply->len; i += 16) {
		size_t n = reply->len - i < 16 ? reply->len - i : 16;
		print_hex_text(reply->wire + i, (uint16_t)n, true, false);
		printf("\n");
	}
	printf("\n");
}

/* +short: the answer's rdata; +identify adds who answered and how fast. */
static void print_short(const dig_params_t *p, const dig_reply_t *reply)
{
	const knot_pktsection_t *answer = knot_pkt_section(reply->pkt, KNOT_ANSWER);
	char addr[80];
	dig_server_addr_str(reply->server, addr, sizeof(addr));
	addr[strcspn(addr, "#")] = '\0'; /* dig names the address without the port */
	for (uint16_t i = 0; p->answer && i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		for (uint16_t pos = 0; pos < rr->rrs.count; pos++) {
			char *data = dig_rdata_text(rr, pos, p->split);
			printf("%s", data ? data : "");
			if (p->identify) {
				printf(" from server %s in %ld ms.", addr, reply->rtt_ms);
			}
			printf("\n");
			free(data);
		}
	}
}

static bool reply_parsed(const dig_reply_t *reply)
{
	return reply->parse_ret == KNOT_EOK || reply->parse_ret == KNOT_ETRAIL;
}

/* ";; Got answer:", the header and the flags: dig's +comments. */
static void print_comments(const dig_reply_t *reply, bool sent)
{
	const knot_pkt_t *pkt = reply->pkt;
	printf(sent ? ";; Sending:\n" : ";; Got answer:\n");
	if (reply->parse_ret == KNOT_ETRAIL) {
		printf(";; WARNING: Message has %zu extra bytes at end\n",
		       reply->len - pkt->parsed);
	}
	print_header(pkt, sent);
	if (pkt->opt_rr != NULL) {
		print_opt(reply, pkt->opt_rr);
	}
}

/* RFC 8945 §4.2: the TSIG record, after the additional section as dig has it. */
static void print_tsig(const dig_params_t *p, const knot_pkt_t *pkt)
{
	if (pkt->tsig_rr == NULL) {
		return;
	}
	if (p->comments) {
		printf(";; TSIG PSEUDOSECTION:\n");
	}
	print_rr(p, pkt->tsig_rr, 0);
	if (p->comments) {
		printf("\n");
	}
}

static void print_full(const dig_params_t *p, const dig_reply_t *reply, bool sent)
{
	const knot_pkt_t *pkt = reply->pkt;
	if (p->comments) {
		print_comments(reply, sent);
	}
	if (p->question && knot_pkt_qname(pkt) != NULL) {
		if (p->comments) {
			printf(";; QUESTION SECTION:\n");
		}
		print_question(p, pkt);
		if (p->comments) {
			printf("\n");
		}
	}
	if (p->answer) {
		print_section(p, pkt, KNOT_ANSWER, "ANSWER");
	}
	if (p->authority) {
		print_section(p, pkt, KNOT_AUTHORITY, "AUTHORITY");
	}
	if (p->additional) {
		print_section(p, pkt, KNOT_ADDITIONAL, "ADDITIONAL");
		print_tsig(p, pkt);
	}
}

void dig_print_reply(dig_out_t *out, const dig_reply_t *reply)
{
	const dig_params_t *p = out->params;
	if (!reply_parsed(reply)) {
		dig_print_banner(out);
		print_bad_packet(reply);
		return;
	}
	if (tsig_failed(reply)) {
		/* dig says so before anything of the reply, the banner included. */
		printf(";; Couldn't verify signature: %s\n", tsig_failure(reply));
	}
	if (p->short_out) {
		print_short(p, reply);
		return;
	}
	dig_print_banner(out);
	print_full(p, reply, false);
	if (p->stats) {
		print_footer(reply); /* with dig's TSIG warning, which +nostats drops too */
	}
}

void dig_print_query(dig_out_t *out, const uint8_t *wire, size_t len)
{
	const dig_params_t *p = out->params;
	if (p->short_out || len > UINT16_MAX) {
		return; /* dig prints no query with +short */
	}
	/* knot_pkt_parse takes the TSIG off the wire it parses: parse a copy. */
	dig_reply_t query = {.wire = malloc(len), .len = len};
	if (query.wire == NULL) {
		return;
	}
	memcpy(query.wire, wire, len);
	query.pkt = knot_pkt_new(query.wire, (uint16_t)len, NULL);
	query.parse_ret = query.pkt ? knot_pkt_parse(query.pkt, 0) : KNOT_ENOMEM;
	if (reply_parsed(&query)) {
		dig_print_banner(out);
		print_full(p, &query, true);
		if (p->stats) {
			printf(";; QUERY SIZE: %zu\n\n", len);
		}
	}
	dig_reply_clear(&query);
}
