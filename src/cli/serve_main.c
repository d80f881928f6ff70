/*
 * canon serve: command line of the authoritative server.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <getopt.h>
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
#define EXAMPLE_ZONE   CANON_EXAMPLES_DIR "/example.test.zone"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: canon serve [--listen ADDR[:PORT]]... [--zone ORIGIN=FILE]...\n"
	        "                   [--workers N] [--log-level LEVEL] [-c canon.conf]\n"
	        "\n"
	        "  -l, --listen ADDR[:PORT]  address to serve on, UDP and TCP (repeatable;\n"
	        "                            [::1]:5300 for IPv6; default " DEFAULT_LISTEN ")\n"
	        "  -z, --zone ORIGIN=FILE[,flatten=MODE]\n"
	        "                            serve zone ORIGIN from master file FILE "
	        "(repeatable);\n"
	        "                            MODE none (default), apex or all: CNAMEs served as "
	        "ALIAS\n"
	        "  -u, --upstream ADDR:PORT  resolver that ALIAS targets are looked up at\n"
	        "  -r, --root-hints FILE     or: look them up iteratively from these root servers\n"
	        "  -w, --workers N           worker threads (default: one per CPU)\n"
	        "      --log-level LEVEL     error, warning, info (default) or debug\n"
	        "  -c, --config FILE         read settings from FILE (see docs/config.md)\n"
	        "\n"
	        "With no zone, serves the bundled example zone " EXAMPLE_ORIGIN "\n"
	        "SIGHUP reloads the zones; SIGTERM or SIGINT stops the server.\n");
}

static int add_zone_arg(canon_serve_conf_t *conf, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr, "canon serve: --zone '%s': expected ORIGIN=FILE\n", arg);
		return -1;
	}
	char origin[256], file[4096];
	snprintf(origin, sizeof(origin), "%.*s", (int)(eq - arg), arg);
	/* ORIGIN=FILE[,flatten=MODE] */
	const char *comma = strstr(eq + 1, ",flatten=");
	size_t file_len = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
	snprintf(file, sizeof(file), "%.*s", (int)file_len, eq + 1);
	if (canon_conf_add_zone(conf, origin, file, comma ? comma + 1 : NULL) != 0) {
		fprintf(stderr, "canon serve: --zone '%s': flatten must be none, apex or all\n",
		        arg);
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
	default:
		usage(stderr);
		return -1;
	}
}

/* No zone given: the bundled example, with a hint of what to ask. */
static int use_example(canon_serve_conf_t *conf)
{
	if (canon_conf_add_zone(conf, EXAMPLE_ORIGIN, EXAMPLE_ZONE, NULL) != 0) {
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
	        {NULL, 0, NULL, 0},
	};
	static const canon_daemon_cli_t cli = {
	        .command = "canon serve",
	        .shortopts = "l:z:w:c:u:r:h",
	        .options = options,
	        .default_listen = DEFAULT_LISTEN,
	        .usage = usage,
	        .option = parse_option,
	};
	canon_serve_conf_t conf;
	canon_conf_init(&conf);
	int ret = canon_daemon_args(&cli, &conf, argc, argv);
	int status = ret > 0 ? 0 : 2;
	if (ret == 0 && (conf.zone_count > 0 || use_example(&conf) == 0)) {
		status = canon_server_run(&conf);
	}
	canon_conf_free(&conf);
	return status;
}
