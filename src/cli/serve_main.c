/*
 * canon serve: command line of the authoritative server.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/daemon_args.h"
#include "lib/log.h"
#include "serve/config.h"
#include "serve/server.h"

#define DEFAULT_LISTEN "127.0.0.1:5300"
#define EXAMPLE_ORIGIN "example.test."

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: canon serve [--listen ADDR[:PORT]]... [--zone "
	        "ORIGIN=FILE[,OPTION=VALUE...]]...\n"
	        "                   [--state-dir DIR] [--key NAME:ALGORITHM:SECRET]...\n"
	        "                   [--http ADDR:PORT [--api-key KEY] [--web-root DIR]]\n"
	        "                   [--workers N] [--log-level LEVEL] [--user NAME] [-c "
	        "canon.conf]\n"
	        "                   [--control PATH] [--tcp-max-clients N] [--tcp-idle-timeout S]\n"
	        "                   [--rate-limit N [--rate-limit-slip N] [--rate-limit-exempt "
	        "PREFIX]...]\n"
	        "                   [--cookie-secret HEX] [--dnstap FILE|unix:PATH]\n"
	        "\n"
	        "  -l, --listen ADDR[:PORT]  address to serve on, UDP and TCP (repeatable;\n"
	        "                            [::1]:5300 for IPv6; default " DEFAULT_LISTEN ")\n"
	        "  -z, --zone ORIGIN=FILE[,OPTION=VALUE...]\n"
	        "                            serve zone ORIGIN from master file FILE "
	        "(repeatable); options:\n"
	        "                            flatten=none|apex|all  CNAMEs served as ALIAS\n"
	        "                            update=KEY[,KEY]       keys allowed to UPDATE "
	        "(RFC 2136)\n"
	        "                            transfer=KEY|PREFIX[,...]  who may AXFR/IXFR\n"
	        "                            notify=ADDR:PORT[,...] secondaries to NOTIFY\n"
	        "                            dnssec=online          sign answers online "
	        "(key in state-dir)\n"
	        "  -S, --state-dir DIR       where the zones' journals are kept\n"
	        "      --catalog NAME[,transfer=...,notify=...]\n"
	        "                            make catalog zone NAME (RFC 9432) of every zone "
	        "served\n"
	        "  -K, --key NAME:ALGORITHM:SECRET\n"
	        "                            a TSIG key (hmac-sha256, hmac-sha384, hmac-sha512, "
	        "...)\n"
	        "  -u, --upstream ADDR:PORT  resolver that ALIAS targets are looked up at\n"
	        "  -r, --root-hints FILE     or: look them up iteratively from these root servers\n"
	        "      --http ADDR:PORT      serve the HTTP API (PowerDNS v1 subset) and the web\n"
	        "                            page there (see docs/api.md)\n"
	        "      --api-key KEY         the X-API-Key the API asks for; without one, --http\n"
	        "                            must be a loopback address\n"
	        "      --web-root DIR        the web page's files (default " CANON_WEB_DIR ")\n"
	        "      --metrics ADDR:PORT   serve Prometheus /metrics there too (it is also on\n"
	        "                            --http; see docs/metrics.md)\n"
	        "      --control PATH        canon ctl's unix socket (default "
	        "STATE-DIR/canon.sock)\n"
	        "  -w, --workers N           worker threads (default: one per CPU)\n"
	        "      --tcp-max-clients N   TCP connections of the whole server, split across\n"
	        "                            the workers; when full the longest idle one is\n"
	        "                            closed (default 1024)\n"
	        "      --tcp-idle-timeout S  seconds a TCP connection may wait between queries\n"
	        "                            (default 10)\n"
	        "      --rate-limit N        UDP answers a second per client /24 (IPv6 /56) and\n"
	        "                            kind of answer, per worker; more are dropped\n"
	        "                            (default 0: off)\n"
	        "      --rate-limit-slip N   every Nth answer over the limit goes out truncated\n"
	        "                            (TC) instead; 0 none, 1 all (default 2)\n"
	        "      --rate-limit-exempt PREFIX\n"
	        "                            clients never limited (repeatable; 192.0.2.0/24)\n"
	        "      --cookie-secret HEX   DNS cookie secret, 32 hex digits (RFC 7873; default\n"
	        "                            random at each start)\n"
	        "      --dnstap FILE|unix:PATH\n"
	        "                            log queries and responses in dnstap format to FILE,\n"
	        "                            or to the unix socket PATH (fstrm_capture); needs a\n"
	        "                            canon built with libfstrm and protobuf-c\n"
	        "      --log-level LEVEL     error, warning, info (default) or debug\n"
	        "      --user NAME           run as NAME once the ports are bound (start as root)\n"
	        "  -c, --config FILE         read settings from FILE (see canon.conf(5))\n"
	        "  -h, --help                print this help\n"
	        "      --version             print the version\n"
	        "\n"
	        "With no zone, serves the bundled example zone " EXAMPLE_ORIGIN "\n"
	        "SIGHUP reloads the zones; SIGUSR1 writes zones changed by UPDATE back to their\n"
	        "files; SIGTERM or SIGINT stops the server.\n");
}

/* Where the zone options start in ORIGIN=FILE,OPTION=...: the first ",NAME=" of a known option. */
static const char *options_start(const char *file)
{
	static const char *names[] = {
	        ",flatten=", ",update=", ",transfer=", ",notify=", ",dnssec="};
	const char *first = NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *at = strstr(file, names[i]);
		if (at != NULL && (first == NULL || at < first)) {
			first = at;
		}
	}
	return first;
}

/*
 * The command line's comma-separated options in the config file's form: a
 * token with '=' starts an option, one without continues the list of the
 * option before it ("update=k1,k2,notify=a,b" -> "update=k1,k2 notify=a,b").
 */
static void options_to_words(const char *options, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (const char *p = options; *p != '\0' && len + 1 < size; p++) {
		char c = *p;
		if (c == ',') {
			const char *next = p + 1;
			size_t word = strcspn(next, ",");
			c = memchr(next, '=', word) != NULL ? ' ' : ',';
		}
		out[len++] = c;
	}
	out[len] = '\0';
}

static int add_zone_arg(canon_serve_conf_t *conf, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr,
		        "canon serve: --zone '%s': expected ORIGIN=FILE[,OPTION=VALUE...]\n", arg);
		return -1;
	}
	char origin[256], file[4096], options[4096] = "";
	snprintf(origin, sizeof(origin), "%.*s", (int)(eq - arg), arg);
	const char *start = options_start(eq + 1);
	size_t file_len = start ? (size_t)(start - eq - 1) : strlen(eq + 1);
	snprintf(file, sizeof(file), "%.*s", (int)file_len, eq + 1);
	if (start != NULL) {
		options_to_words(start + 1, options, sizeof(options));
	}
	const char *error = NULL;
	if (canon_conf_add_zone(conf, origin, file, options, &error) != 0) {
		fprintf(stderr, "canon serve: --zone '%s': %s\n", arg, error);
		return -1;
	}
	return 0;
}

/* --catalog NAME[,transfer=...,notify=...] */
static int set_catalog_arg(canon_serve_conf_t *conf, const char *arg)
{
	char name[256], options[4096] = "";
	const char *start = options_start(arg);
	size_t name_len = start ? (size_t)(start - arg) : strlen(arg);
	snprintf(name, sizeof(name), "%.*s", (int)name_len, arg);
	if (start != NULL) {
		options_to_words(start + 1, options, sizeof(options));
	}
	const char *error = NULL;
	if (name_len == 0 || canon_conf_set_catalog(conf, name, options, &error) != 0) {
		fprintf(stderr, "canon serve: --catalog '%s': %s\n", arg,
		        error ? error : "expected NAME[,transfer=...,notify=...]");
		return -1;
	}
	return 0;
}

static int add_key_arg(canon_serve_conf_t *conf, const char *arg)
{
	canon_tsig_key_t key;
	const char *error = NULL;
	if (canon_tsig_key_parse_arg(arg, &key, &error) != 0) {
		fprintf(stderr, "canon serve: --key: %s (expected NAME:ALGORITHM:SECRET)\n", error);
		return -1;
	}
	if (canon_tsig_keyring_add(&conf->keys, &key) != 0) {
		fprintf(stderr, "canon serve: --key: the key %s is defined twice\n", key.name);
		canon_tsig_key_free(&key);
		return -1;
	}
	return 0;
}

static int parse_workers(canon_serve_conf_t *conf, const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);
	if (*end != '\0' || n < 1 || n > 256) {
		fprintf(stderr, "canon serve: --workers '%s': expected 1..256\n", arg);
		return -1;
	}
	conf->workers = (unsigned)n;
	return 0;
}

/* Long options without a short form. */
enum {
	OPT_RATE_LIMIT = 1000,
	OPT_RATE_LIMIT_SLIP,
	OPT_RATE_LIMIT_EXEMPT,
	OPT_COOKIE_SECRET,
	OPT_DNSTAP,
};

/* Report what a canon_conf_set_*() found wrong, if anything; 0 or -1. */
static int tcp_option(const char *arg, const char *flag, const char *error)
{
	if (error != NULL) {
		fprintf(stderr, "canon serve: %s '%s': %s\n", flag, arg, error);
		return -1;
	}
	return 0;
}

static int parse_option(canon_serve_conf_t *conf, int opt, const char *arg)
{
	switch (opt) {
	case 'z':
		return add_zone_arg(conf, arg);
	case 'w':
		return parse_workers(conf, arg);
	case 'u':
		if (canon_conf_add_forward(conf, arg) != 0) {
			fprintf(stderr, "canon serve: --upstream '%s': expected ADDRESS[:PORT]\n",
			        arg);
			return -1;
		}
		return 0;
	case 'r':
		free(conf->root_hints);
		conf->root_hints = strdup(arg);
		return 0;
	case 'S':
		free(conf->state_dir);
		conf->state_dir = strdup(arg);
		return 0;
	case 'K':
		return add_key_arg(conf, arg);
	case 'H':
		if (canon_conf_set_http(conf, arg) != 0) {
			fprintf(stderr, "canon serve: --http '%s': expected ADDR:PORT\n", arg);
			return -1;
		}
		return 0;
	case 'M':
		if (canon_conf_set_metrics(conf, arg) != 0) {
			fprintf(stderr, "canon serve: --metrics '%s': expected ADDR:PORT\n", arg);
			return -1;
		}
		return 0;
	case 'A':
		free(conf->api_key);
		conf->api_key = strdup(arg);
		return 0;
	case 'W':
		free(conf->web_root);
		conf->web_root = strdup(arg);
		return 0;
	case 'C':
		return set_catalog_arg(conf, arg);
	case 'O':
		free(conf->control);
		conf->control = strdup(arg);
		return 0;
	case 'T':
		return tcp_option(arg, "--tcp-max-clients",
		                  canon_conf_set_tcp_max_clients(conf, arg));
	case 'I':
		return tcp_option(arg, "--tcp-idle-timeout",
		                  canon_conf_set_tcp_idle_timeout(conf, arg));
	case OPT_RATE_LIMIT:
		return tcp_option(arg, "--rate-limit", canon_conf_set_rate_limit(conf, arg));
	case OPT_RATE_LIMIT_SLIP:
		return tcp_option(arg, "--rate-limit-slip",
		                  canon_conf_set_rate_limit_slip(conf, arg));
	case OPT_RATE_LIMIT_EXEMPT:
		return tcp_option(arg, "--rate-limit-exempt",
		                  canon_conf_add_rate_limit_exempt(conf, arg));
	case OPT_COOKIE_SECRET:
		return tcp_option("(hidden)", "--cookie-secret",
		                  canon_conf_set_cookie_secret(conf, arg));
	case OPT_DNSTAP:
		return tcp_option(arg, "--dnstap", canon_conf_set_dnstap(conf, arg, NULL));
	default:
		usage(stderr);
		return -1;
	}
}

/* No zone given: the bundled example, with a hint of what to ask. */
static int use_example(canon_serve_conf_t *conf)
{
	const char *error = NULL;
	char zone[PATH_MAX];
	canon_daemon_data_file("example.test.zone", zone, sizeof(zone));
	if (canon_conf_add_zone(conf, EXAMPLE_ORIGIN, zone, NULL, &error) != 0) {
		return -1;
	}
	const char *addr = conf->listen[0].text;
	const char *colon = strrchr(addr, ':');
	printf("canon serve: serving the example zone %s on %s. Try:\n", EXAMPLE_ORIGIN, addr);
	printf("  dig @127.0.0.1 -p %s shop.example.test A\n", colon ? colon + 1 : "53");
	printf("  dig @127.0.0.1 -p %s www.old.example.test A\n", colon ? colon + 1 : "53");
	fflush(stdout);
	return 0;
}

int canon_serve_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"listen", required_argument, NULL, 'l'},
	        {"zone", required_argument, NULL, 'z'},
	        {"workers", required_argument, NULL, 'w'},
	        {"log-level", required_argument, NULL, 'L'},
	        {"config", required_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {"upstream", required_argument, NULL, 'u'},
	        {"root-hints", required_argument, NULL, 'r'},
	        {"state-dir", required_argument, NULL, 'S'},
	        {"key", required_argument, NULL, 'K'},
	        {"http", required_argument, NULL, 'H'},
	        {"api-key", required_argument, NULL, 'A'},
	        {"metrics", required_argument, NULL, 'M'},
	        {"web-root", required_argument, NULL, 'W'},
	        {"catalog", required_argument, NULL, 'C'},
	        {"user", required_argument, NULL, 'U'},
	        {"control", required_argument, NULL, 'O'},
	        {"tcp-max-clients", required_argument, NULL, 'T'},
	        {"tcp-idle-timeout", required_argument, NULL, 'I'},
	        {"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
	        {"rate-limit-slip", required_argument, NULL, OPT_RATE_LIMIT_SLIP},
	        {"rate-limit-exempt", required_argument, NULL, OPT_RATE_LIMIT_EXEMPT},
	        {"cookie-secret", required_argument, NULL, OPT_COOKIE_SECRET},
	        {"dnstap", required_argument, NULL, OPT_DNSTAP},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	static const canon_daemon_cli_t cli = {
	        .command = "canon serve",
	        .shortopts = "l:z:w:c:u:r:S:K:h",
	        .options = options,
	        .default_listen = DEFAULT_LISTEN,
	        .usage = usage,
	        .option = parse_option,
	};
	canon_serve_conf_t conf;
	canon_conf_init(&conf);
	int ret = canon_daemon_args(&cli, &conf, argc, argv);
	int status = ret > 0 ? 0 : 2;
	if (ret == 0 && canon_conf_validate(&conf) != 0) {
		ret = -1;
	}
	char web[PATH_MAX];
	if (ret == 0 && conf.web_root == NULL &&
	    canon_daemon_installed_file("web", web, sizeof(web)) != NULL) {
		conf.web_root = strdup(web); /* An installed canon serves its installed page. */
	}
	if (ret == 0 && (conf.zone_count > 0 || use_example(&conf) == 0)) {
		status = canon_server_run(&conf);
	}
	canon_conf_free(&conf);
	return status;
}
