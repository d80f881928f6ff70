/*
 * Subcommand entry points. Each takes argv with argv[0] = the subcommand name
 * and returns the process exit status.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

typedef struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
} canon_command_t;

int canon_serve_main(int argc, char **argv);
int canon_dig_main(int argc, char **argv);
int canon_check_main(int argc, char **argv);
int canon_resolve_main(int argc, char **argv);
int canon_ctl_main(int argc, char **argv);
