/*
 * canon dig: command line. dig's grammar, one query per run:
 *   [@server] [-p port] [-t type] [-c class] [-q name] [-x addr] [-4|-6]
 *   name [type] [class] [+option ...]
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/dig.h"

typedef int (*plus_fn_t)(dig_params_t *p, bool on, const char *value);

typedef enum {
	VALUE_NONE,
	VALUE_OPTIONAL,
	VALUE_REQUIRED,
} value_kind_t;

/* A "+[no]name[=value]" option. */
typedef struct {
	const char *name;
	plus_fn_t apply;
	value_kind_t value;
} plus_opt_t;

void dig_params_usage(FILE *out)
{
	fprintf(out,
	        "usage: canon dig [@server] [-p port] [-t type] [-c class] [-q name] [-x addr]\n"
	        "                 [-4|-6] name [type] [class] [+option ...]\n"
	        "       canon dig -h|--help, canon dig -v|--version\n"
	        "\n"
	        "options:\n"
	        "  +[no]tcp, +[no]vc     use TCP (default UDP, TCP after a truncated reply)\n"
	        "  +[no]ignore           do not retry over TCP when the reply is truncated\n"
	        "  +[no]short            print only the answer's rdata\n"
	        "  +[no]cmd              print the banner line (default on)\n"
	        "  +[no]recurse          set RD (default on)\n"
	        "  +[no]dnssec           set the EDNS DO bit\n"
	        "  +[no]adflag, +[no]cdflag  set AD / CD\n"
	        "  +[no]edns[=version]   send an OPT record (default on, version 0)\n"
	        "  +[no]ednsnegotiation  after BADVERS, retry with the server's version\n"
	        "  +bufsize=N            EDNS UDP payload size (default %d)\n"
	        "  +timeout=S            seconds to wait for each try (default %d)\n"
	        "  +tries=N, +retry=N    tries per server (default %d)\n"
	        "  +[no]chain            follow the CNAME/DNAME chain hop by hop\n"
	        "  +[no]trace            walk the delegations from the root to the answer\n"
	        "\n"
	        "The default server is the first nameserver in " DIG_RESOLV_CONF
	        ", else 127.0.0.1.\n",
	        DIG_DEFAULT_BUFSIZE, DIG_DEFAULT_TIMEOUT, DIG_DEFAULT_TRIES);
}

/* Strict decimal in [min, max]: no sign, no trailing garbage. */
static int parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	if (text == NULL || *text < '0' || *text > '9') {
		return KNOT_EINVAL;
	}
	char *end = NULL;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max) {
		return KNOT_ERANGE;
	}
	*out = value;
	return KNOT_EOK;
}

static int bad_value(const char *what, const char *value)
{
	fprintf(stderr, "canon dig: invalid %s '%s'\n", what, value ? value : "");
	return KNOT_EINVAL;
}

static int plus_tcp(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->tcp = on;
	p->tcp_set = true;
	return KNOT_EOK;
}

static int plus_ignore(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->ignore_tc = on;
	return KNOT_EOK;
}

static int plus_short(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->short_out = on;
	return KNOT_EOK;
}

static int plus_cmd(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->cmd = on;
	return KNOT_EOK;
}

static int plus_recurse(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->recurse = on;
	return KNOT_EOK;
}

static int plus_dnssec(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->dnssec = on;
	return KNOT_EOK;
}

static int plus_adflag(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->adflag = on;
	return KNOT_EOK;
}

static int plus_cdflag(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->cdflag = on;
	return KNOT_EOK;
}

static int plus_chain(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->chain = on;
	return KNOT_EOK;
}

static int plus_trace(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->trace = on;
	return KNOT_EOK;
}

static int plus_ednsneg(dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->edns_negotiation = on;
	return KNOT_EOK;
}

static int plus_edns(dig_params_t *p, bool on, const char *value)
{
	p->edns = on;
	if (on && value != NULL) {
		unsigned long v;
		if (parse_uint(value, 0, 255, &v) != KNOT_EOK) {
			return bad_value("EDNS version", value);
		}
		p->edns_version = (uint8_t)v;
	}
	return KNOT_EOK;
}

static int plus_bufsize(dig_params_t *p, bool on, const char *value)
{
	unsigned long v;
	if (!on || parse_uint(value, 0, UINT16_MAX, &v) != KNOT_EOK) {
		return bad_value("buffer size", value);
	}
	p->bufsize = (uint16_t)v;
	return KNOT_EOK;
}

static int plus_timeout(dig_params_t *p, bool on, const char *value)
{
	unsigned long v;
	if (!on || parse_uint(value, 0, 3600, &v) != KNOT_EOK) {
		return bad_value("timeout", value);
	}
	p->timeout_s = v == 0 ? 1 : (int)v; /* dig turns 0 into 1 */
	return KNOT_EOK;
}

static int plus_tries(dig_params_t *p, bool on, const char *value)
{
	unsigned long v;
	if (!on || parse_uint(value, 0, 100, &v) != KNOT_EOK) {
		return bad_value("tries", value);
	}
	p->tries = v == 0 ? 1 : (int)v;
	return KNOT_EOK;
}

static int plus_retry(dig_params_t *p, bool on, const char *value)
{
	unsigned long v;
	if (!on || parse_uint(value, 0, 99, &v) != KNOT_EOK) {
		return bad_value("retry count", value);
	}
	p->tries = (int)v + 1;
	return KNOT_EOK;
}

static const plus_opt_t PLUS_OPTS[] = {
        {"tcp", plus_tcp, VALUE_NONE},
        {"vc", plus_tcp, VALUE_NONE},
        {"ignore", plus_ignore, VALUE_NONE},
        {"short", plus_short, VALUE_NONE},
        {"cmd", plus_cmd, VALUE_NONE},
        {"recurse", plus_recurse, VALUE_NONE},
        {"dnssec", plus_dnssec, VALUE_NONE},
        {"adflag", plus_adflag, VALUE_NONE},
        {"cdflag", plus_cdflag, VALUE_NONE},
        {"chain", plus_chain, VALUE_NONE},
        {"trace", plus_trace, VALUE_NONE},
        {"edns", plus_edns, VALUE_OPTIONAL},
        {"ednsnegotiation", plus_ednsneg, VALUE_NONE},
        {"bufsize", plus_bufsize, VALUE_REQUIRED},
        {"timeout", plus_timeout, VALUE_REQUIRED},
        {"tries", plus_tries, VALUE_REQUIRED},
        {"retry", plus_retry, VALUE_REQUIRED},
};

#define PLUS_OPTS_COUNT (sizeof(PLUS_OPTS) / sizeof(PLUS_OPTS[0]))

/* dig accepts any unambiguous prefix ("+norec", "+buf=512"); exact wins. */
static const plus_opt_t *plus_lookup(const char *name, size_t len)
{
	const plus_opt_t *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < PLUS_OPTS_COUNT; i++) {
		const char *cand = PLUS_OPTS[i].name;
		if (strncmp(cand, name, len) != 0) {
			continue;
		}
		if (cand[len] == '\0') {
			return &PLUS_OPTS[i];
		}
		if (found == NULL || found->apply != PLUS_OPTS[i].apply) {
			matches++;
		}
		found = &PLUS_OPTS[i];
	}
	return matches == 1 ? found : NULL;
}

static int parse_plus(dig_params_t *p, const char *arg)
{
	const char *name = arg + 1;
	bool on = true;
	if (strncmp(name, "no", 2) == 0 && plus_lookup(name, strcspn(name, "=")) == NULL) {
		on = false;
		name += 2;
	}
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const plus_opt_t *opt = len > 0 ? plus_lookup(name, len) : NULL;
	if (opt == NULL) {
		fprintf(stderr, "canon dig: invalid option '%s'\n", arg);
		return KNOT_EINVAL;
	}
	if (eq != NULL && (opt->value == VALUE_NONE || !on)) {
		fprintf(stderr, "canon dig: option '%s' takes no value\n", arg);
		return KNOT_EINVAL;
	}
	if (eq == NULL && on && opt->value == VALUE_REQUIRED) {
		fprintf(stderr, "canon dig: option '%s' needs a value (+%s=...)\n", arg, opt->name);
		return KNOT_EINVAL;
	}
	return opt->apply(p, on, eq ? eq + 1 : NULL);
}

static int set_qname(dig_params_t *p, const char *text)
{
	if (p->qname_set) {
		fprintf(stderr, "canon dig: one query name per run ('%s' is a second one)\n", text);
		return KNOT_EINVAL;
	}
	if (knot_dname_from_str(p->qname, text, sizeof(p->qname)) == NULL) {
		return bad_value("query name", text);
	}
	p->qname_set = true;
	return KNOT_EOK;
}

static int set_qtype(dig_params_t *p, const char *text)
{
	uint16_t type;
	if (knot_rrtype_from_string(text, &type) != 0) {
		return bad_value("query type", text);
	}
	if (type == KNOT_RRTYPE_AXFR || type == KNOT_RRTYPE_IXFR) {
		fprintf(stderr, "canon dig: zone transfers (%s) are not supported\n", text);
		return KNOT_ENOTSUP;
	}
	p->qtype = type;
	p->qtype_set = true;
	return KNOT_EOK;
}

static int set_qclass(dig_params_t *p, const char *text)
{
	uint16_t cls;
	if (knot_rrclass_from_string(text, &cls) != 0) {
		return bad_value("query class", text);
	}
	p->qclass = cls;
	return KNOT_EOK;
}

static int set_port(dig_params_t *p, const char *text)
{
	unsigned long v;
	if (parse_uint(text, 1, UINT16_MAX, &v) != KNOT_EOK) {
		return bad_value("port number", text);
	}
	p->port = (uint16_t)v;
	return KNOT_EOK;
}

/* RFC 1035 §3.5 (in-addr.arpa) and RFC 3596 §2.5 (ip6.arpa) names for -x. */
static int reverse_name(const char *addr, char *out, size_t len)
{
	uint8_t bin[16];
	size_t pos = 0;
	if (inet_pton(AF_INET, addr, bin) == 1) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa.", bin[3], bin[2], bin[1], bin[0]);
		return KNOT_EOK;
	}
	if (inet_pton(AF_INET6, addr, bin) != 1) {
		return KNOT_EINVAL;
	}
	static const char HEX[] = "0123456789abcdef";
	for (int i = 15; i >= 0 && pos + 4 < len; i--) {
		out[pos++] = HEX[bin[i] & 0x0f];
		out[pos++] = '.';
		out[pos++] = HEX[bin[i] >> 4];
		out[pos++] = '.';
	}
	snprintf(out + pos, len - pos, "ip6.arpa.");
	return KNOT_EOK;
}

static int set_reverse(dig_params_t *p, const char *addr)
{
	char name[128];
	if (reverse_name(addr, name, sizeof(name)) != KNOT_EOK) {
		return bad_value("address for -x", addr);
	}
	if (!p->qtype_set) {
		p->qtype = KNOT_RRTYPE_PTR;
		p->qtype_set = true;
	}
	return set_qname(p, name);
}

/* "-t MX" and "-tMX" both work, as in dig. */
static const char *dash_value(int argc, char **argv, int *i)
{
	if (argv[*i][2] != '\0') {
		return argv[*i] + 2;
	}
	if (*i + 1 < argc) {
		return argv[++*i];
	}
	return NULL;
}

/* The options that take a value: -p, -t, -c, -q, -x. */
static int parse_dash_value(dig_params_t *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *value = dash_value(argc, argv, i);
	if (value == NULL) {
		fprintf(stderr, "canon dig: option '%s' needs an argument\n", arg);
		return KNOT_EINVAL;
	}
	switch (arg[1]) {
	case 'p':
		return set_port(p, value);
	case 't':
		return set_qtype(p, value);
	case 'c':
		return set_qclass(p, value);
	case 'q':
		return set_qname(p, value);
	default:
		return set_reverse(p, value);
	}
}

static int parse_dash(dig_params_t *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "--version") == 0) {
		p->help = arg[2] == 'h';
		p->version = arg[2] == 'v';
		return KNOT_EOK;
	}
	if (arg[1] != '\0' && strchr("ptcqx", arg[1]) != NULL) {
		return parse_dash_value(p, argc, argv, i);
	}
	switch (arg[1]) {
	case '4':
	case '6':
		if (arg[2] != '\0') {
			break;
		}
		p->family = arg[1] == '4' ? AF_INET : AF_INET6;
		return KNOT_EOK;
	case 'h':
		p->help = arg[2] == '\0';
		return p->help ? KNOT_EOK : bad_value("option", arg);
	case 'v':
		p->version = arg[2] == '\0';
		return p->version ? KNOT_EOK : bad_value("option", arg);
	default:
		break;
	}
	fprintf(stderr, "canon dig: invalid option '%s'\n", arg);
	return KNOT_EINVAL;
}

/* A bare word: a type if it reads as one, then a class, else the name (dig). */
static int parse_word(dig_params_t *p, const char *word)
{
	uint16_t num;
	if (!p->qtype_set && knot_rrtype_from_string(word, &num) == 0) {
		return set_qtype(p, word);
	}
	if (knot_rrclass_from_string(word, &num) == 0) {
		return set_qclass(p, word);
	}
	return set_qname(p, word);
}

static void params_init(dig_params_t *p, int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->qtype = KNOT_RRTYPE_A;
	p->qclass = KNOT_CLASS_IN;
	p->port = DIG_DEFAULT_PORT;
	p->family = AF_UNSPEC;
	p->recurse = true;
	p->edns = true;
	p->edns_negotiation = true;
	p->cmd = true;
	p->bufsize = DIG_DEFAULT_BUFSIZE;
	p->timeout_s = DIG_DEFAULT_TIMEOUT;
	p->tries = DIG_DEFAULT_TRIES;
	p->argc = argc;
	p->argv = argv;
}

static int parse_arg(dig_params_t *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (arg[0] == '@') {
		if (arg[1] == '\0') {
			return bad_value("server", arg);
		}
		p->server_arg = arg + 1;
		return KNOT_EOK;
	}
	if (arg[0] == '+') {
		return parse_plus(p, arg);
	}
	if (arg[0] == '-' && arg[1] != '\0') {
		return parse_dash(p, argc, argv, i);
	}
	return parse_word(p, arg);
}

int dig_params_parse(dig_params_t *p, int argc, char **argv)
{
	params_init(p, argc, argv);
	for (int i = 1; i < argc; i++) {
		int ret = parse_arg(p, argc, argv, &i);
		if (ret != KNOT_EOK) {
			return ret;
		}
	}
	if (p->qtype == KNOT_RRTYPE_ANY && !p->tcp_set) {
		p->tcp = true; /* dig 9.18 asks ANY over TCP unless told +notcp */
	}
	if (!p->qname_set) {
		/* dig with no name asks the root; with no type either, for NS. */
		knot_dname_from_str(p->qname, ".", sizeof(p->qname));
		if (!p->qtype_set) {
			p->qtype = KNOT_RRTYPE_NS;
		}
	}
	return KNOT_EOK;
}
