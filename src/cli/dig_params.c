/*
 * canon dig: command line. dig's grammar:
 *   [@server] [-p port] [-t type] [-c class] [-q name] [-x addr] [-4|-6]
 *   [-y [alg:]name:secret] [-k keyfile] [+option ...]
 *   name [type] [class] [+option ...] [name [type] [class] [+option ...]]...
 * As in dig, options before the first name are the defaults every query
 * starts from; options after a name apply to that query only, except the
 * ones dig keeps global (@server, -p, -4/-6, -y/-k, +short, +cmd, +timeout).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/dig.h"

typedef int (*plus_fn_t)(dig_args_t *a, dig_params_t *p, bool on, const char *value);

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
	        "usage: canon dig [@server]... [-p port] [-t type] [-c class] [-q name]\n"
	        "                 [-x addr] [-4|-6] [-y [alg:]name:secret | -k keyfile]\n"
	        "                 [name [type] [class] [+option ...]]...\n"
	        "       canon dig -h|--help, canon dig -v|--version\n"
	        "\n"
	        "Several names make several queries; options before the first name apply\n"
	        "to all of them, options after a name to that query (as in dig).\n"
	        "\n"
	        "options:\n"
	        "  @server               server to ask (repeatable: tried in order)\n"
	        "  -p port               server port (default %d)\n"
	        "  -t type, -c class     query type (default A), class (default IN)\n"
	        "  -q name               query name (also a bare word)\n"
	        "  -x addr               reverse lookup (PTR of in-addr.arpa / ip6.arpa)\n"
	        "  -4, -6                IPv4 or IPv6 only\n"
	        "  -y [alg:]name:secret  sign with TSIG (default alg hmac-md5, as dig)\n"
	        "  -k keyfile            sign with the TSIG key in a BIND key file\n"
	        "  -h, --help            this text\n"
	        "  -v, --version         print the version\n"
	        "\n"
	        "plus options (any unambiguous prefix; +no... turns one off):\n"
	        "  +[no]all              every section, comments, stats and the banner\n"
	        "  +[no]question, +[no]answer, +[no]authority, +[no]additional\n"
	        "                        print that section (default on)\n"
	        "  +[no]comments         header, flags, OPT and section titles (default on)\n"
	        "  +[no]stats            query time, server, when, size (default on)\n"
	        "  +[no]cmd              print the banner line (default on)\n"
	        "  +[no]short            print only the answer's rdata\n"
	        "  +[no]identify         with +short, say which server answered in how long\n"
	        "  +[no]multiline        records over several lines, with comments\n"
	        "  +[no]ttlid, +[no]class  the TTL / class column (default on)\n"
	        "  +[no]qr               print the query as sent, before the reply\n"
	        "  +[no]split=W          split base64/hex fields every W characters (56; 44\n"
	        "                        with +multiline; 0 = no split)\n"
	        "  +[no]tcp, +[no]vc     use TCP (default UDP, TCP after a truncated reply)\n"
	        "  +[no]ignore           do not retry over TCP when the reply is truncated\n"
	        "  +[no]recurse          set RD (default on)\n"
	        "  +[no]dnssec           set the EDNS DO bit (RRSIG, NSEC... printed as dig)\n"
	        "  +[no]adflag, +[no]cdflag  set AD (default on, as dig) / CD\n"
	        "  +[no]edns[=version]   send an OPT record (default on, version 0)\n"
	        "  +[no]ednsnegotiation  after BADVERS, retry with the server's version\n"
	        "  +[no]nsid             ask for the server's NSID (RFC 5001)\n"
	        "  +[no]cookie           send a client cookie (RFC 7873; default on)\n"
	        "  +bufsize=N            EDNS UDP payload size (default %d)\n"
	        "  +timeout=S            seconds to wait for each try (default %d)\n"
	        "  +tries=N, +retry=N    tries per server (default %d)\n"
	        "  +[no]chain            follow the CNAME/DNAME chain hop by hop\n"
	        "  +[no]trace            walk the delegations from the root to the answer\n"
	        "\n"
	        "The default server is the first nameserver in " DIG_RESOLV_CONF
	        ", else 127.0.0.1.\n",
	        DIG_DEFAULT_PORT, DIG_DEFAULT_BUFSIZE, DIG_DEFAULT_TIMEOUT, DIG_DEFAULT_TRIES);
}

/* Next token of a BIND key file: a word, a quoted string, or one of "{};".
 * Comments (#, //) are skipped. Returns false at the end. */
static bool key_token(const char **pos, char *tok, size_t len)
{
	const char *s = *pos;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			s++;
		}
		if (*s == '#' || (s[0] == '/' && s[1] == '/')) {
			s += strcspn(s, "\n");
			continue;
		}
		break;
	}
	if (*s == '\0') {
		return false;
	}
	size_t n = 0;
	if (*s == '"') {
		for (s++; *s != '\0' && *s != '"'; s++) {
			if (n + 1 < len) {
				tok[n++] = *s;
			}
		}
		s += *s == '"';
	} else if (strchr("{};", *s) != NULL) {
		tok[n++] = *s++;
	} else {
		for (; *s != '\0' && strchr(" \t\r\n{};\"", *s) == NULL; s++) {
			if (n + 1 < len) {
				tok[n++] = *s;
			}
		}
	}
	tok[n] = '\0';
	*pos = s;
	return true;
}

/* key NAME { algorithm ALG; secret "SECRET"; }; -- the first key in text. */
static int keyfile_parse(const char *text, canon_tsig_key_t *key, const char **error)
{
	char name[KNOT_DNAME_TXT_MAXLEN + 1] = "", alg[64] = "", secret[1024] = "";
	char tok[1024];
	const char *pos = text;
	while (key_token(&pos, tok, sizeof(tok)) && strcmp(tok, "key") != 0) {
	}
	if (!key_token(&pos, name, sizeof(name)) || !key_token(&pos, tok, sizeof(tok)) ||
	    strcmp(tok, "{") != 0) {
		*error = "no 'key NAME {' clause";
		return KNOT_EINVAL;
	}
	while (key_token(&pos, tok, sizeof(tok)) && strcmp(tok, "}") != 0) {
		char *dst = strcmp(tok, "algorithm") == 0 ? alg
		            : strcmp(tok, "secret") == 0  ? secret
		                                          : NULL;
		size_t len = dst == alg ? sizeof(alg) : sizeof(secret);
		if (dst != NULL && !key_token(&pos, dst, len)) {
			break;
		}
		while (key_token(&pos, tok, sizeof(tok)) && strcmp(tok, ";") != 0) {
		}
	}
	if (alg[0] == '\0' || secret[0] == '\0') {
		*error = "the key clause needs 'algorithm' and 'secret'";
		return KNOT_EINVAL;
	}
	int ret = canon_tsig_key_parse(name, alg, secret, key, error);
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(tok, sizeof(tok));
	return ret == 0 ? KNOT_EOK : KNOT_EINVAL;
}

int dig_keyfile_read(const char *path, canon_tsig_key_t *key)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "canon dig: -k %s: %s\n", path, strerror(errno));
		return KNOT_EINVAL;
	}
	char text[8192];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	const char *error = NULL;
	int ret = keyfile_parse(text, key, &error);
	explicit_bzero(text, sizeof(text));
	if (ret != KNOT_EOK) {
		fprintf(stderr, "canon dig: -k %s: %s\n", path, error ? error : "bad key");
	}
	return ret;
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

static int plus_tcp(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->tcp = on;
	p->tcp_set = true;
	return KNOT_EOK;
}

static int plus_ignore(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->ignore_tc = on;
	return KNOT_EOK;
}

/* dig's +short: global, and on turns the query's printing down to the answer
 * (dig never turns it back up on +noshort). */
static int plus_short(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)value;
	a->short_out = on;
	if (on) {
		a->cmd = false;
		p->comments = p->question = p->authority = p->additional = p->stats = false;
		p->answer = true;
	}
	return KNOT_EOK;
}

static int plus_cmd(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)p;
	(void)value;
	a->cmd = on;
	return KNOT_EOK;
}

/* dig's +[no]all: every section, the comments, the stats and the banner. */
static int plus_all(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)value;
	p->comments = p->question = p->answer = p->authority = p->additional = p->stats = on;
	a->cmd = on;
	return KNOT_EOK;
}

static int plus_comments(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->comments = on;
	return KNOT_EOK;
}

static int plus_question(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->question = on;
	return KNOT_EOK;
}

static int plus_answer(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->answer = on;
	return KNOT_EOK;
}

static int plus_authority(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->authority = on;
	return KNOT_EOK;
}

static int plus_additional(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->additional = on;
	return KNOT_EOK;
}

static int plus_stats(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->stats = on;
	return KNOT_EOK;
}

static int plus_multi(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->multiline = on;
	return KNOT_EOK;
}

static int plus_ttlid(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->ttlid = on;
	return KNOT_EOK;
}

static int plus_class(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->rrclass = on;
	return KNOT_EOK;
}

static int plus_qr(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->qr = on;
	return KNOT_EOK;
}

static int plus_identify(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->identify = on;
	return KNOT_EOK;
}

static int plus_nsid(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->nsid = on;
	return KNOT_EOK;
}

static int plus_cookie(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	if (value != NULL) {
		return bad_value("cookie (only +[no]cookie is supported)", value);
	}
	p->cookie = on;
	return KNOT_EOK;
}

/* dig's +split=W: W rounded up to a multiple of 4; +nosplit or 0: no split. */
static int plus_split(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	unsigned long v = 0;
	if (on && value != NULL && parse_uint(value, 0, 1023, &v) != KNOT_EOK) {
		return bad_value("split width", value);
	}
	if (on && value == NULL) {
		return KNOT_EOK; /* "+split" alone keeps the default width */
	}
	p->split = on ? (unsigned)((v + 3) / 4 * 4) : 0;
	if (p->split != v && on) {
		printf(";; Warning, split must be a multiple of 4; adjusting to %u\n", p->split);
	}
	p->split_set = true;
	return KNOT_EOK;
}

static int plus_recurse(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->recurse = on;
	return KNOT_EOK;
}

static int plus_dnssec(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->dnssec = on;
	return KNOT_EOK;
}

static int plus_adflag(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->adflag = on;
	return KNOT_EOK;
}

static int plus_cdflag(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->cdflag = on;
	return KNOT_EOK;
}

static int plus_chain(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->chain = on;
	return KNOT_EOK;
}

static int plus_trace(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->trace = on;
	return KNOT_EOK;
}

static int plus_ednsneg(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	(void)value;
	p->edns_negotiation = on;
	return KNOT_EOK;
}

static int plus_edns(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
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

static int plus_bufsize(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	unsigned long v;
	if (!on || parse_uint(value, 0, UINT16_MAX, &v) != KNOT_EOK) {
		return bad_value("buffer size", value);
	}
	p->bufsize = (uint16_t)v;
	return KNOT_EOK;
}

static int plus_timeout(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)p;
	unsigned long v;
	if (!on || parse_uint(value, 0, 3600, &v) != KNOT_EOK) {
		return bad_value("timeout", value);
	}
	a->timeout_s = v == 0 ? 1 : (int)v; /* dig turns 0 into 1 */
	return KNOT_EOK;
}

static int plus_tries(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
	unsigned long v;
	if (!on || parse_uint(value, 0, 100, &v) != KNOT_EOK) {
		return bad_value("tries", value);
	}
	p->tries = v == 0 ? 1 : (int)v;
	return KNOT_EOK;
}

static int plus_retry(dig_args_t *a, dig_params_t *p, bool on, const char *value)
{
	(void)a;
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
        {"all", plus_all, VALUE_NONE},
        {"comments", plus_comments, VALUE_NONE},
        {"question", plus_question, VALUE_NONE},
        {"answer", plus_answer, VALUE_NONE},
        {"authority", plus_authority, VALUE_NONE},
        {"additional", plus_additional, VALUE_NONE},
        {"stats", plus_stats, VALUE_NONE},
        {"multiline", plus_multi, VALUE_NONE},
        {"identify", plus_identify, VALUE_NONE},
        {"ttlid", plus_ttlid, VALUE_NONE},
        {"class", plus_class, VALUE_NONE},
        {"qr", plus_qr, VALUE_NONE},
        {"nsid", plus_nsid, VALUE_NONE},
        {"cookie", plus_cookie, VALUE_OPTIONAL},
        {"split", plus_split, VALUE_OPTIONAL},
        {"recurse", plus_recurse, VALUE_NONE},
        {"dnssec", plus_dnssec, VALUE_NONE},
        {"ad", plus_adflag, VALUE_NONE}, /* dig reads "+ad" as +adflag */
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

static int parse_plus(dig_args_t *a, dig_params_t *p, const char *arg)
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
	return opt->apply(a, p, on, eq ? eq + 1 : NULL);
}

/* The query options apply to: the last one named, else the defaults. */
static dig_params_t *current(dig_args_t *a)
{
	return a->nqueries > 0 ? &a->queries[a->nqueries - 1] : &a->dflt;
}

/* A name starts a new query from the defaults (dig's clone_lookup). */
static int set_qname(dig_args_t *a, const char *text)
{
	if (a->nqueries == DIG_QUERIES_MAX) {
		fprintf(stderr, "canon dig: at most %d queries in one run ('%s' is one more)\n",
		        DIG_QUERIES_MAX, text);
		return KNOT_EINVAL;
	}
	dig_params_t *p = &a->queries[a->nqueries];
	*p = a->dflt;
	if (knot_dname_from_str(p->qname, text, sizeof(p->qname)) == NULL) {
		return bad_value("query name", text);
	}
	p->qname_set = true;
	a->nqueries++;
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

static int set_port(dig_args_t *a, const char *text)
{
	unsigned long v;
	if (parse_uint(text, 1, UINT16_MAX, &v) != KNOT_EOK) {
		return bad_value("port number", text);
	}
	a->port = (uint16_t)v;
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

static int set_reverse(dig_args_t *a, const char *addr)
{
	char name[128];
	if (reverse_name(addr, name, sizeof(name)) != KNOT_EOK) {
		return bad_value("address for -x", addr);
	}
	int ret = set_qname(a, name);
	dig_params_t *p = current(a);
	if (ret == KNOT_EOK && !p->qtype_set) {
		p->qtype = KNOT_RRTYPE_PTR;
		p->qtype_set = true;
	}
	return ret;
}

/* -y [alg:]name:secret; without an algorithm dig uses hmac-md5. */
static int set_key_arg(dig_args_t *a, const char *text)
{
	canon_tsig_key_free(&a->key);
	a->has_key = false;
	char *copy = strdup(text);
	if (copy == NULL) {
		return KNOT_ENOMEM;
	}
	/* Base64 has no ':', so the fields are what the colons separate. */
	char *field[4] = {NULL};
	size_t n = 0;
	for (char *f = copy; f != NULL && n < 4; n++) {
		field[n] = f;
		f = strchr(f, ':');
		if (f != NULL) {
			*f++ = '\0';
		}
	}
	const char *error = "wants [alg:]name:secret";
	int ret = -EINVAL;
	if (n == 2) {
		ret = canon_tsig_key_parse(field[0], "hmac-md5", field[1], &a->key, &error);
	} else if (n == 3) {
		ret = canon_tsig_key_parse(field[1], field[0], field[2], &a->key, &error);
	}
	explicit_bzero(copy, strlen(text));
	free(copy);
	if (ret != 0) {
		fprintf(stderr, "canon dig: -y: %s\n", error);
		return KNOT_EINVAL;
	}
	a->has_key = true;
	return KNOT_EOK;
}

static int set_key_file(dig_args_t *a, const char *path)
{
	canon_tsig_key_free(&a->key);
	a->has_key = false;
	if (dig_keyfile_read(path, &a->key) != KNOT_EOK) {
		return KNOT_EINVAL;
	}
	a->has_key = true;
	return KNOT_EOK;
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

/* The options that take a value: -p, -t, -c, -q, -x, -y, -k. */
static int parse_dash_value(dig_args_t *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *value = dash_value(argc, argv, i);
	if (value == NULL) {
		fprintf(stderr, "canon dig: option '%s' needs an argument\n", arg);
		return KNOT_EINVAL;
	}
	switch (arg[1]) {
	case 'p':
		return set_port(a, value);
	case 't':
		return set_qtype(current(a), value);
	case 'c':
		return set_qclass(current(a), value);
	case 'q':
		return set_qname(a, value);
	case 'y':
		return set_key_arg(a, value);
	case 'k':
		return set_key_file(a, value);
	default:
		return set_reverse(a, value);
	}
}

static int parse_dash(dig_args_t *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "--version") == 0) {
		a->help = arg[2] == 'h';
		a->version = arg[2] == 'v';
		return KNOT_EOK;
	}
	if (arg[1] != '\0' && strchr("ptcqxyk", arg[1]) != NULL) {
		return parse_dash_value(a, argc, argv, i);
	}
	switch (arg[1]) {
	case '4':
	case '6':
		if (arg[2] != '\0') {
			break;
		}
		a->family = arg[1] == '4' ? AF_INET : AF_INET6;
		return KNOT_EOK;
	case 'h':
		a->help = arg[2] == '\0';
		return a->help ? KNOT_EOK : bad_value("option", arg);
	case 'v':
		a->version = arg[2] == '\0';
		return a->version ? KNOT_EOK : bad_value("option", arg);
	default:
		break;
	}
	fprintf(stderr, "canon dig: invalid option '%s'\n", arg);
	return KNOT_EINVAL;
}

/* A bare word: a type if it reads as one, then a class, else a new name (dig).
 * Before the first name a type or class sets the defaults. */
static int parse_word(dig_args_t *a, const char *word)
{
	dig_params_t *p = current(a);
	uint16_t num;
	if (!p->qtype_set && knot_rrtype_from_string(word, &num) == 0) {
		return set_qtype(p, word);
	}
	if (knot_rrclass_from_string(word, &num) == 0) {
		return set_qclass(p, word);
	}
	return set_qname(a, word);
}

static void params_init(dig_args_t *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	dig_params_t *p = &a->dflt;
	p->qtype = KNOT_RRTYPE_A;
	p->qclass = KNOT_CLASS_IN;
	p->recurse = true;
	p->edns = true;
	p->edns_negotiation = true;
	p->cookie = true; /* dig 9.18 sends a client cookie unless +nocookie */
	p->adflag = true; /* ... and sets AD (RFC 6840 §5.7) unless +noadflag */
	p->ttlid = p->rrclass = true;
	p->comments = p->question = p->answer = p->authority = p->additional = true;
	p->stats = true;
	p->bufsize = DIG_DEFAULT_BUFSIZE;
	p->tries = DIG_DEFAULT_TRIES;
	p->argc = argc;
	p->argv = argv;
	a->port = DIG_DEFAULT_PORT;
	a->family = AF_UNSPEC;
	a->timeout_s = DIG_DEFAULT_TIMEOUT;
	a->cmd = true;
}

static int parse_arg(dig_args_t *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	if (arg[0] == '@') {
		if (arg[1] == '\0') {
			return bad_value("server", arg);
		}
		if (a->nserver_args == DIG_SERVER_ARGS_MAX) {
			fprintf(stderr, "canon dig: at most %d @servers\n", DIG_SERVER_ARGS_MAX);
			return KNOT_EINVAL;
		}
		a->server_args[a->nserver_args++] = arg + 1;
		return KNOT_EOK;
	}
	if (arg[0] == '+') {
		return parse_plus(a, current(a), arg);
	}
	if (arg[0] == '-' && arg[1] != '\0') {
		return parse_dash(a, argc, argv, i);
	}
	return parse_word(a, arg);
}

/* Copy dig's global settings into a query and settle what depends on them. */
static void query_finish(const dig_args_t *a, dig_params_t *p)
{
	memcpy(p->server_args, a->server_args, sizeof(p->server_args));
	p->nserver_args = a->nserver_args;
	p->port = a->port;
	p->family = a->family;
	p->timeout_s = a->timeout_s;
	p->short_out = a->short_out;
	p->cmd = a->cmd;
	p->tsig_key = a->has_key ? &a->key : NULL;
	if (!p->split_set) {
		p->split = p->multiline ? DIG_SPLIT_MULTI : DIG_SPLIT_WIDTH;
	}
	if (p->qtype == KNOT_RRTYPE_ANY && !p->tcp_set) {
		p->tcp = true; /* dig 9.18 asks ANY over TCP unless told +notcp */
	}
}

int dig_params_parse(dig_args_t *a, int argc, char **argv)
{
	params_init(a, argc, argv);
	for (int i = 1; i < argc; i++) {
		int ret = parse_arg(a, argc, argv, &i);
		if (ret != KNOT_EOK) {
			return ret;
		}
	}
	if (a->nqueries == 0) {
		/* dig with no name asks the root; with no type either, for NS. */
		dig_params_t *p = &a->queries[a->nqueries++];
		*p = a->dflt;
		knot_dname_from_str(p->qname, ".", sizeof(p->qname));
		if (!p->qtype_set) {
			p->qtype = KNOT_RRTYPE_NS;
		}
	}
	for (size_t i = 0; i < a->nqueries; i++) {
		query_finish(a, &a->queries[i]);
	}
	return KNOT_EOK;
}

void dig_args_free(dig_args_t *a)
{
	canon_tsig_key_free(&a->key);
	a->has_key = false;
}
