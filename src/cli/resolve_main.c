/*
 * canon resolve: command line of the recursive resolver.
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
#include "resolve/iterate.h"
#include "resolve/server.h"
#include "resolve/setup.h"
#include "serve/config.h"
#include "serve/server.h"

#define DEFAULT_LISTEN "127.0.0.1:5301"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: canon resolve [--listen ADDR[:PORT]]... [--root-hints FILE]\n"
	        "                     [--forward ADDR[:PORT]]... [--user NAME] [-c canon.conf]\n"
	        "\n"
	        "  -l, --listen ADDR[:PORT]   where to answer (repeatable; default " DEFAULT_LISTEN
	        ")\n"
	        "  -r, --root-hints FILE      root servers to start from (default: the IANA root\n"
	        "                             servers, from the root.hints canon ships)\n"
	        "  -f, --forward ADDR[:PORT]  send every query to this resolver instead of\n"
	        "                             iterating (repeatable)\n"
	        "      --query-port PORT      port of the authoritative servers (default 53;\n"
	        "                             for test networks)\n"
	        "      --do-not-query-address PREFIX\n"
	        "                             never send a query to an address in PREFIX\n"
	        "                             (ADDR[/BITS]; repeatable)\n"
	        "      --allow-recursion PREFIX\n"
	        "                             answer clients in PREFIX (repeatable; default:\n"
	        "                             loopback only)\n"
	        "      --metrics ADDR:PORT    serve Prometheus text at GET /metrics there\n"
	        "      --log-level LEVEL      error, warning, info (default) or debug\n"
	        "      --user NAME            run as NAME once the ports are bound (start as "
	        "root)\n"
	        "  -c, --config FILE          settings from FILE (canon.conf(5))\n"
	        "  -h, --help                 print this help\n"
	        "      --version              print the version\n"
	        "\n"
	        "Without --allow-recursion only loopback clients are answered. Alias chains are "
	        "followed up to %d links;\n"
	        "a loop or a longer chain answers SERVFAIL with an Extended DNS Error.\n",
	        CANON_CHAIN_MAX);
}

static int parse_option(canon_serve_conf_t *conf, int opt, const char *arg)
{
	unsigned long port;
	char *end;
	switch (opt) {
	case 'r':
		free(conf->root_hints);
		conf->root_hints = strdup(arg);
		return 0;
	case 'f':
		if (canon_conf_add_forward(conf, arg) != 0) {
			fprintf(stderr, "canon resolve: --forward '%s': expected ADDRESS[:PORT]\n",
			        arg);
			return -1;
		}
		return 0;
	case 'p':
		port = strtoul(arg, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535) {
			fprintf(stderr, "canon resolve: --query-port '%s': expected 1..65535\n",
			        arg);
			return -1;
		}
		conf->query_port = (uint16_t)port;
		return 0;
	case 'M':
		if (canon_conf_set_metrics(conf, arg) != 0) {
			fprintf(stderr, "canon resolve: --metrics '%s': expected ADDR:PORT\n", arg);
			return -1;
		}
		return 0;
	case 'D':
	case 'A':
		if (canon_prefix_list_add(opt == 'D' ? &conf->dont_query : &conf->allow_recursion,
		                          arg) != 0) {
			fprintf(stderr,
			        "canon resolve: --%s '%s': expected ADDRESS[/BITS] (at most %d)\n",
			        opt == 'D' ? "do-not-query-address" : "allow-recursion", arg,
			        CANON_PREFIX_LIST_MAX);
			return -1;
		}
		return 0;
	default:
		usage(stderr);
		return -1;
	}
}

static int run(canon_serve_conf_t *conf)
{
	canon_resolver_conf_t resolver;
	int status = 2;
	canon_resolver_settings_t settings = canon_serve_resolver_settings(conf, conf->cache_size);
	char hints[PATH_MAX];
	canon_daemon_data_file("root.hints", hints, sizeof(hints));
	if (canon_resolver_setup(&resolver, &settings, hints) == 0) {
		resolver.log_unusable = true; /* canon serve's ALIAS lookups log per target. */
		status = canon_resolver_run(conf->listen, conf->listen_count, conf->user, &resolver,
		                            conf->metrics ? &conf->metrics_addr : NULL,
		                            conf->metrics_len);
	}
	canon_resolver_teardown(&resolver);
	return status;
}

int canon_resolve_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"listen", required_argument, NULL, 'l'},
	        {"root-hints", required_argument, NULL, 'r'},
	        {"forward", required_argument, NULL, 'f'},
	        {"query-port", required_argument, NULL, 'p'},
	        {"do-not-query-address", required_argument, NULL, 'D'},
	        {"allow-recursion", required_argument, NULL, 'A'},
	        {"metrics", required_argument, NULL, 'M'},
	        {"log-level", required_argument, NULL, 'L'},
	        {"config", required_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {"user", required_argument, NULL, 'U'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	static const canon_daemon_cli_t cli = {
	        .command = "canon resolve",
	        .shortopts = "l:r:f:c:h",
	        .options = options,
	        .default_listen = DEFAULT_LISTEN,
	        .usage = usage,
	        .option = parse_option,
	};
	canon_serve_conf_t conf;
	canon_conf_init(&conf);
	int ret = canon_daemon_args(&cli, &conf, argc, argv);
	int status = ret > 0 ? 0 : ret < 0 ? 2 : run(&conf);
	canon_conf_free(&conf);
	return status;
}
