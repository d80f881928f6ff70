/*
 * The command line of the daemons (canon serve, canon resolve): the options
 * they share (--listen, --log-level, --user, -c, --help, --version) parsed
 * once, the rest by a callback.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <getopt.h>
#include <stdio.h>

#include "serve/config.h"

typedef struct {
	const char *command;   /* "canon serve", for messages */
	const char *shortopts; /* getopt string; must include "l:c:h" */
	/* Long options; --log-level is 'L', --user 'U', --version 'V'. */
	const struct option *options;
	const char *default_listen;
	void (*usage)(FILE *out);
	/* The command's own options; 0, or -1 after printing an error. */
	int (*option)(canon_serve_conf_t *conf, int opt, const char *arg);
} canon_daemon_cli_t;

/*
 * Parse argv into 'conf', add the default listen address when none was
 * given and set the log level. Returns 0 to run, 1 after --help or
 * --version (exit 0), or -1 after an error message (exit 2).
 */
int canon_daemon_args(const canon_daemon_cli_t *cli, canon_serve_conf_t *conf, int argc,
                      char **argv);

/*
 * The path of a data file canon ships (example.test.zone, root.hints) in
 * 'buf': PREFIX/share/canon/NAME next to an installed binary, else the source
 * tree's examples/NAME. Returns 'buf'.
 */
const char *canon_daemon_data_file(const char *name, char *buf, size_t size);

/* PREFIX/share/canon/NAME next to an installed binary when it is there, else NULL. */
const char *canon_daemon_installed_file(const char *name, char *buf, size_t size);
