/*
 * canon dig: print replies in dig 9.18's layout. Record text comes from
 * libknot's dumper; this file only lays it out in dig's columns.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/dig.h"

/* BIND's default one-line master style: TTL, class, type and rdata columns. */
#define COL_TTL   24
#define COL_CLASS 32
#define COL_TYPE  40
#define COL_RDATA 48
#define TAB_WIDTH 8

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
	if (p->server_arg != NULL) {
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

/* Print the class and type columns; col is where the cursor is. */
static size_t print_class_type(size_t col, uint16_t rclass, uint16_t rtype)
{
	char text[32];
	knot_rrclass_to_string(rclass, text, sizeof(text));
	col = indent_to(col, COL_CLASS);
	col += (size_t)printf("%s", text);
	knot_rrtype_to_string(rtype, text, sizeof(text));
	col = indent_to(col, COL_TYPE);
	col += (size_t)printf("%s", text);
	return col;
}

static void print_question(const knot_pkt_t *pkt)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, knot_pkt_qname(pkt), sizeof(owner));
	/* BIND counts columns from the name, not from the ';' before it. */
	putchar(';');
	size_t col = (size_t)printf("%s", owner);
	print_class_type(col, knot_pkt_qclass(pkt), knot_pkt_qtype(pkt));
	printf("\n");
}

static void print_rr(const knot_rrset_t *rr, uint16_t pos)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1];
	knot_dname_to_str(owner, rr->owner, sizeof(owner));
	size_t col = (size_t)printf("%s", owner);
	col = indent_to(col, COL_TTL);
	col += (size_t)printf("%u", rr->ttl);
	col = print_class_type(col, rr->rclass, rr->type);
	char *data = dig_rdata_str(rr, pos);
	indent_to(col, COL_RDATA);
	printf("%s\n", data ? data : "; (rdata not printable)");
	free(data);
}

void dig_print_records(const knot_pkt_t *pkt, knot_section_t id)
{
	const knot_pktsection_t *section = knot_pkt_section(pkt, id);
	for (uint16_t i = 0; i < section->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(section, i);
		for (uint16_t pos = 0; rr->type != KNOT_RRTYPE_OPT && pos < rr->rrs.count; pos++) {
			print_rr(rr, pos);
		}
	}
}

static void print_section(const knot_pkt_t *pkt, knot_section_t id, const char *title)
{
	const knot_pktsection_t *section = knot_pkt_section(pkt, id);
	bool printed = false;
	for (uint16_t i = 0; i < section->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(section, i);
		if (rr->type == KNOT_RRTYPE_OPT) {
			continue; /* shown as the OPT PSEUDOSECTION */
		}
		if (!printed) {
			printf(";; %s SECTION:\n", title);
			printed = true;
		}
		for (uint16_t pos = 0; pos < rr->rrs.count; pos++) {
			print_rr(rr, pos);
		}
	}
	if (printed) {
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

static void print_header(const knot_pkt_t *pkt)
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
	printf("; QUERY: %u, ANSWER: %u, AUTHORITY: %u, ADDITIONAL: %u\n",
	       knot_wire_get_qdcount(wire), knot_wire_get_ancount(wire),
	       knot_wire_get_nscount(wire), knot_wire_get_arcount(wire));
	if (knot_wire_get_rd(wire) && !knot_wire_get_ra(wire)) {
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

static void print_edns_option(uint16_t code, const uint8_t *data, uint16_t len)
{
	switch (code) {
	case KNOT_EDNS_OPTION_NSID: /* RFC 5001 */
		printf("; NSID:");
		print_hex_text(data, len, true, true);
		break;
	case KNOT_EDNS_OPTION_COOKIE: /* RFC 7873 */
		printf("; COOKIE: ");
		print_hex_text(data, len, false, false);
		break;
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
static void print_opt(const knot_rrset_t *opt)
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
		print_edns_option(code, rd->data + pos, len);
		pos += len;
	}
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
	printf(";; MSG SIZE  rcvd: %zu\n\n", reply->len);
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

static void print_short(const knot_pkt_t *pkt)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < answer->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(answer, i);
		for (uint16_t pos = 0; pos < rr->rrs.count; pos++) {
			char *data = dig_rdata_str(rr, pos);
			printf("%s\n", data ? data : "");
			free(data);
		}
	}
}

static bool reply_parsed(const dig_reply_t *reply)
{
	return reply->parse_ret == KNOT_EOK || reply->parse_ret == KNOT_ETRAIL;
}

static void print_full(const dig_reply_t *reply)
{
	const knot_pkt_t *pkt = reply->pkt;
	printf(";; Got answer:\n");
	if (reply->parse_ret == KNOT_ETRAIL) {
		printf(";; WARNING: Message has %zu extra bytes at end\n",
		       reply->len - pkt->parsed);
	}
	print_header(pkt);
	if (pkt->opt_rr != NULL) {
		print_opt(pkt->opt_rr);
	}
	if (knot_pkt_qname(pkt) != NULL) {
		printf(";; QUESTION SECTION:\n");
		print_question(pkt);
		printf("\n");
	}
	print_section(pkt, KNOT_ANSWER, "ANSWER");
	print_section(pkt, KNOT_AUTHORITY, "AUTHORITY");
	print_section(pkt, KNOT_ADDITIONAL, "ADDITIONAL");
	if (pkt->tsig_rr != NULL) {
		printf(";; TSIG PSEUDOSECTION:\n");
		print_rr(pkt->tsig_rr, 0);
		printf("\n");
	}
}

void dig_print_reply(dig_out_t *out, const dig_reply_t *reply)
{
	if (!reply_parsed(reply)) {
		dig_print_banner(out);
		print_bad_packet(reply);
		return;
	}
	if (out->params->short_out) {
		print_short(reply->pkt);
		return;
	}
	dig_print_banner(out);
	print_full(reply);
	print_footer(reply);
}
