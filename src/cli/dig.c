/*
 * canon dig: entry point. Parse, find the server, ask, print, and with
 * +chain follow the alias chain.
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

int canon_dig_main(int argc, char **argv)
{
	dig_params_t params;
	if (dig_params_parse(&params, argc, argv) != KNOT_EOK) {
		fprintf(stderr, "canon dig: see 'canon dig -h' for usage\n");
		return DIG_EXIT_USAGE;
	}
	if (params.help) {
		dig_params_usage(stdout);
		return DIG_EXIT_OK;
	}
	if (params.version) {
		printf("canon dig %s\n", CANON_VERSION);
		return DIG_EXIT_OK;
	}
	dig_server_t servers[DIG_SERVERS_MAX];
	int count = dig_servers_resolve(&params, servers, DIG_SERVERS_MAX);
	if (count < 0) {
		return DIG_EXIT_INTERNAL;
	}
	dig_out_t out = {.params = &params, .nservers = (size_t)count};
	int ret = dig_run(&out, servers, (size_t)count);
	fflush(stdout);
	return ret;
}
