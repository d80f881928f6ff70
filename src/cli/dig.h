/*
 * canon dig: a dig-compatible DNS client that can also show alias chains.
 *
 * Split the way Knot's kdig is: dig_params.c reads the command line,
 * dig_exec.c talks to servers, dig_output.c prints in dig 9.18's layout and
 * dig_chain.c follows CNAME/DNAME chains for +chain. dig.c ties them together.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include <libknot/libknot.h>

#include "lib/tsig.h"

/* Exit statuses, as dig(1) documents them. */
#define DIG_EXIT_OK       0
#define DIG_EXIT_USAGE    1
#define DIG_EXIT_NO_REPLY 9
#define DIG_EXIT_INTERNAL 10

#define DIG_DEFAULT_PORT    53
#define DIG_DEFAULT_BUFSIZE 1232 /* DNS Flag Day 2020, as dig 9.18 */
#define DIG_DEFAULT_TIMEOUT 5    /* seconds per try */
#define DIG_DEFAULT_TRIES   3
#define DIG_SERVERS_MAX     8 /* addresses tried for one @server */
#define DIG_RESOLV_CONF     "/etc/resolv.conf"
#define DIG_SERVER_NAME_MAX 256
#define DIG_SERVER_ARGS_MAX 4  /* @server arguments in one run, tried in order */
#define DIG_QUERIES_MAX     64 /* queries in one run */
#define DIG_COOKIE_LEN      8  /* RFC 7873 §4: a client cookie is 8 octets */
#define DIG_SPLIT_WIDTH     56 /* dig's +split default: base64/hex chunks */
#define DIG_SPLIT_MULTI     44 /* ... and with +multi */

/* One address to send queries to; name is what the user gave (dig's "(name)"). */
typedef struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[DIG_SERVER_NAME_MAX];
} dig_server_t;

/* One query and how to ask and print it; filled by dig_params_parse(). The
 * options dig keeps global (server, port, -4/-6, +short, +cmd, +timeout, the
 * TSIG key) are copied into every query after parsing. */
typedef struct {
	knot_dname_storage_t qname;
	uint16_t qtype;
	uint16_t qclass;
	bool qname_set;
	bool qtype_set;

	/* "@server" arguments without the '@'; none = resolv.conf. */
	const char *server_args[DIG_SERVER_ARGS_MAX];
	size_t nserver_args;
	uint16_t port;
	int family; /* AF_UNSPEC, or AF_INET / AF_INET6 for -4 / -6 */

	bool tcp;
	bool tcp_set; /* +tcp or +notcp given (else ANY goes over TCP, as dig 9.18) */
	bool ignore_tc;
	bool recurse;
	bool dnssec;
	bool adflag;
	bool cdflag;
	bool edns;
	uint8_t edns_version;
	bool edns_negotiation; /* retry a BADVERS with the server's version */
	bool nsid;             /* RFC 5001: ask for the server's NSID */
	bool cookie;           /* RFC 7873: send a client cookie (dig's default) */
	uint16_t bufsize;
	int timeout_s;
	int tries;
	const canon_tsig_key_t *tsig_key; /* -y / -k: sign with it (RFC 8945); NULL: no */

	/* What to print: dig's +[no]comments, +[no]question, ... (per query). */
	bool comments;
	bool question;
	bool answer;
	bool authority;
	bool additional;
	bool stats;
	bool multiline; /* +multi: records over several lines with comments */
	bool ttlid;     /* +[no]ttlid: the TTL column */
	bool rrclass;   /* +[no]class: the class column */
	bool qr;        /* +qr: print the query as sent */
	bool identify;  /* +identify: "from server X in N ms" after +short rdata */
	unsigned split; /* +split: base64/hex chunk width, 0 = no split */
	bool split_set;

	bool short_out;
	bool cmd; /* the banner's "; <<>>" and "global options" lines */
	bool chain;
	bool trace;

	int argc; /* the arguments, echoed in the "; <<>> canon dig" banner */
	char **argv;
} dig_params_t;

/* The whole command line: the queries in order, and what they share. */
typedef struct {
	dig_params_t dflt; /* options before the first name, cloned into each query */
	dig_params_t queries[DIG_QUERIES_MAX];
	size_t nqueries;
	canon_tsig_key_t key; /* -y / -k */
	bool has_key;
	/* dig's global settings; the last one given wins. */
	const char *server_args[DIG_SERVER_ARGS_MAX];
	size_t nserver_args;
	uint16_t port;
	int family;
	int timeout_s;
	bool short_out;
	bool cmd;
	bool help;
	bool version;
} dig_args_t;

/* A reply and how it came; the packet owns nothing, wire is heap memory. */
typedef struct {
	uint8_t *wire;
	size_t len;
	knot_pkt_t *pkt; /* parsed over wire; NULL if the reply did not parse */
	int parse_ret;   /* knot_pkt_parse() result (KNOT_ETRAIL is still usable) */
	bool tcp;
	long rtt_ms;
	time_t when;
	const dig_server_t *server;
	bool tsig_checked; /* the query was signed: tsig_ret says how the reply fared */
	int tsig_ret;      /* canon_tsig_check_reply()'s result */
	bool cookie_sent;  /* the query carried cookie[] (RFC 7873 §5.1) */
	uint8_t cookie[DIG_COOKIE_LEN];
} dig_reply_t;

/* Output state shared by everything that prints: the banner is printed once,
 * lazily, like dig does, so that early errors come before it. */
typedef struct {
	const dig_params_t *params;
	size_t nservers;
	bool banner_done;
} dig_out_t;

/*
 * Parse argv (argv[0] = "dig") into args: one query per name, each with the
 * options given before the first name and after its own (dig's order). Prints
 * a message to stderr and returns KNOT_EINVAL on a bad argument; KNOT_EOK
 * otherwise. Free with dig_args_free().
 */
int dig_params_parse(dig_args_t *args, int argc, char **argv);

/* Free what args owns (the TSIG key). */
void dig_args_free(dig_args_t *args);

/*
 * Read a BIND key file (dig -k, tsig-keygen's output: key "name" { algorithm
 * A; secret "S"; };) into key. Returns KNOT_EOK, or an error after printing
 * why to stderr.
 */
int dig_keyfile_read(const char *path, canon_tsig_key_t *key);

/* Print the usage text to out. */
void dig_params_usage(FILE *out);

/*
 * Resolve params->server_arg (or the first resolv.conf nameserver, else
 * 127.0.0.1) into up to max addresses. Returns the count, or a negative
 * libknot error after printing why.
 */
int dig_servers_resolve(const dig_params_t *params, dig_server_t *out, size_t max);

/* "127.0.0.1#5300" for a server; buf must hold at least 64 bytes. */
const char *dig_server_addr_str(const dig_server_t *server, char *buf, size_t len);

/*
 * Ask one server qname/qtype as params say, with tries and the TC -> TCP
 * retry (RFC 7766 §5). Prints dig's communication errors on the way.
 * Returns KNOT_EOK with *reply filled (free with dig_reply_clear()), or an
 * error if no reply came.
 */
int dig_exec_query(dig_out_t *out, const dig_server_t *server, const knot_dname_t *qname,
                   uint16_t qtype, dig_reply_t *reply);

/* Free what a reply holds. */
void dig_reply_clear(dig_reply_t *reply);

/* Print the banner ("; <<>> canon dig ...") if not printed yet. */
void dig_print_banner(dig_out_t *out);

/* +qr: print the query in wire[0..len) as dig does (";; Sending:"). */
void dig_print_query(dig_out_t *out, const uint8_t *wire, size_t len);

/* Print a reply as dig does (full, or +short). */
void dig_print_reply(dig_out_t *out, const dig_reply_t *reply);

/* Print the records of one section in dig's layout, without a title. */
void dig_print_records(const knot_pkt_t *pkt, knot_section_t id);

/*
 * +trace: walk the delegations from the root down to the answer, the way dig
 * +trace does, starting from the root NS set that 'server' knows.
 */
int dig_trace(dig_out_t *out, const dig_server_t *server);

/* Print ";; communications error to <server>: <why>" (dig's wording). */
void dig_print_comm_error(const dig_server_t *server, const char *why);

/*
 * Text of one record's rdata (record pos of rr) with libknot's dumper, as
 * a malloc'd string (caller frees), or NULL on failure.
 */
char *dig_rdata_str(const knot_rrset_t *rr, uint16_t pos);

/*
 * The same text as dig prints it on one line: the base64 or hex field of
 * DNSKEY, RRSIG, DS, ... cut every 'split' characters with a blank (dig's
 * +split; 0: not cut). malloc'd (caller frees), or NULL on failure.
 */
char *dig_rdata_text(const knot_rrset_t *rr, uint16_t pos, unsigned split);

/* Name of an rcode as dig prints it (NOTIMP, not libknot's NOTIMPL). */
const char *dig_rcode_str(uint16_t rcode, char *buf, size_t len);

/* The full rcode of a reply: RFC 6891 §6.1.3 extends it with the OPT's bits. */
uint16_t dig_reply_rcode(const knot_pkt_t *pkt);

/*
 * +chain: follow the alias chain in reply hop by hop, re-asking server when
 * the chain leaves the answer, and print it. Returns KNOT_EOK or an error.
 */
int dig_chain_print(dig_out_t *out, const dig_server_t *server, const dig_reply_t *reply);
