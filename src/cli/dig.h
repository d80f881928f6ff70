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

/* One address to send queries to; name is what the user gave (dig's "(name)"). */
typedef struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[DIG_SERVER_NAME_MAX];
} dig_server_t;

/* Everything the command line says; filled by dig_params_parse(). */
typedef struct {
	knot_dname_storage_t qname;
	uint16_t qtype;
	uint16_t qclass;
	bool qname_set;
	bool qtype_set;

	const char *server_arg; /* "@server" without the '@'; NULL = resolv.conf */
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
	uint16_t bufsize;
	int timeout_s;
	int tries;

	bool short_out;
	bool cmd; /* the banner's "; <<>>" and "global options" lines */
	bool chain;
	bool trace;
	bool help;
	bool version;

	int argc; /* the arguments, echoed in the "; <<>> canon dig" banner */
	char **argv;
} dig_params_t;

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
} dig_reply_t;

/* Output state shared by everything that prints: the banner is printed once,
 * lazily, like dig does, so that early errors come before it. */
typedef struct {
	const dig_params_t *params;
	size_t nservers;
	bool banner_done;
} dig_out_t;

/*
 * Parse argv (argv[0] = "dig") into params. Prints a message to stderr and
 * returns KNOT_EINVAL on a bad argument; KNOT_EOK otherwise.
 */
int dig_params_parse(dig_params_t *params, int argc, char **argv);

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

/* Name of an rcode as dig prints it (NOTIMP, not libknot's NOTIMPL). */
const char *dig_rcode_str(uint16_t rcode, char *buf, size_t len);

/* The full rcode of a reply: RFC 6891 §6.1.3 extends it with the OPT's bits. */
uint16_t dig_reply_rcode(const knot_pkt_t *pkt);

/*
 * +chain: follow the alias chain in reply hop by hop, re-asking server when
 * the chain leaves the answer, and print it. Returns KNOT_EOK or an error.
 */
int dig_chain_print(dig_out_t *out, const dig_server_t *server, const dig_reply_t *reply);
