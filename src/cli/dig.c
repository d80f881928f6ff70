/*
 * canon dig: entry point. Parse, then for each query find the server, ask,
 * print, and with +chain follow the alias chain.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/dig.h"

/* Ask each address in turn until one replies (dig's server list). */
static int dig_run(dig_out_t *out, const dig_server_t *servers, size_t count)
{
	const dig_params_t *p = out->params;
	for (size_t i = 0; p->trace && i < count; i++) {
		if (dig_trace(out, &servers[i]) == KNOT_EOK) {
			return DIG_EXIT_OK;
		}
	}
	for (size_t i = 0; !p->trace && i < count; i++) {
		dig_reply_t reply = {0};
		if (dig_exec_query(out, &servers[i], p->qname, p->qtype, &reply) != KNOT_EOK) {
			continue;
		}
		dig_print_reply(out, &reply);
		if (p->chain) {
			dig_chain_print(out, &servers[i], &reply);
		}
		dig_reply_clear(&reply);
		return DIG_EXIT_OK;
	}
	dig_print_banner(out);
	printf(";; no servers could be reached\n");
	return DIG_EXIT_NO_REPLY;
}

/* One query of the run; the banner is shared (printed once, by the first). */
static int dig_run_query(const dig_params_t *params, bool *banner_done)
{
	dig_server_t servers[DIG_SERVERS_MAX];
	int count = dig_servers_resolve(params, servers, DIG_SERVERS_MAX);
	if (count < 0) {
		return DIG_EXIT_INTERNAL;
	}
	dig_out_t out = {.params = params, .nservers = (size_t)count, .banner_done = *banner_done};
	int ret = dig_run(&out, servers, (size_t)count);
	*banner_done = out.banner_done;
	return ret;
}

int canon_dig_main(int argc, char **argv)
{
	static dig_args_t args; /* DIG_QUERIES_MAX queries: too big for the stack */
	if (dig_params_parse(&args, argc, argv) != KNOT_EOK) {
		dig_args_free(&args);
		fprintf(stderr, "canon dig: see 'canon dig -h' for usage\n");
		return DIG_EXIT_USAGE;
	}
	if (args.help || args.version) {
		if (args.help) {
			dig_params_usage(stdout);
		} else {
			printf("canon dig %s\n", CANON_VERSION);
		}
		dig_args_free(&args);
		return DIG_EXIT_OK;
	}
	/* dig goes on after a failed query; the exit status is the last failure's. */
	int status = DIG_EXIT_OK;
	bool banner_done = false;
	for (size_t i = 0; i < args.nqueries; i++) {
		int ret = dig_run_query(&args.queries[i], &banner_done);
		status = ret != DIG_EXIT_OK ? ret : status;
		if (ret == DIG_EXIT_INTERNAL) {
			break;
		}
	}
	fflush(stdout);
	dig_args_free(&args);
	return status;
}
