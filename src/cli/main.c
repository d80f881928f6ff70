/*
 * canon: one binary, many subcommands (serve, dig, check, ...).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const canon_command_t COMMANDS[] = {
        {"serve", canon_serve_main, "authoritative server for zone files"},
        {"check", canon_check_main, "zone checker that finds every alias mistake"},
        {"resolve", canon_resolve_main,
         "recursive resolver that follows alias chains across zones"},
        {"dig", canon_dig_main, "dig-compatible client that shows alias chains (+chain)"},
        {"ctl", canon_ctl_main, "ask a running canon serve (status, reload, stats, ...)"},
};

static void print_usage(FILE *out)
{
	fprintf(out, "usage: canon <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		fprintf(out, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
	}
	fprintf(out, "\n'canon <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("canon %s\n", CANON_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		if (strcmp(name, COMMANDS[i].name) == 0) {
			return COMMANDS[i].main(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "canon: unknown command '%s'\n", name);
	print_usage(stderr);
	return 2;
}
