/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cli/daemon_args.h"
#include "lib/log.h"

static int shared_option(const canon_daemon_cli_t *cli, canon_serve_conf_t *conf, int opt,
                         const char *arg)
{
	switch (opt) {
	case 'l':
		if (canon_conf_add_listen(conf, arg) != 0) {
			fprintf(stderr, "%s: --listen '%s': expected ADDRESS[:PORT]\n",
			        cli->command, arg);
			return -1;
		}
		return 0;
	case 'L':
		conf->log_level = canon_log_level_parse(arg);
		if (conf->log_level < 0) {
			fprintf(stderr,
			        "%s: --log-level '%s': expected error, warning, info or debug\n",
			        cli->command, arg);
			return -1;
		}
		return 0;
	case 'U':
		return canon_conf_set_user(conf, arg) == 0 ? 0 : -1;
	case 'c':
		return canon_conf_read_file(conf, arg) == 0 ? 0 : -1;
	case '?':
		cli->usage(stderr);
		return -1;
	default:
		return cli->option(conf, opt, arg);
	}
}

int canon_daemon_args(const canon_daemon_cli_t *cli, canon_serve_conf_t *conf, int argc,
                      char **argv)
{
	int opt;
	while ((opt = getopt_long(argc, argv, cli->shortopts, cli->options, NULL)) != -1) {
		if (opt == 'h') {
			cli->usage(stdout);
			return 1;
		}
		if (opt == 'V') {
			printf("%s %s\n", cli->command, CANON_VERSION);
			return 1;
		}
		if (shared_option(cli, conf, opt, optarg) != 0) {
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cli->command, argv[optind]);
		cli->usage(stderr);
		return -1;
	}
	if (conf->listen_count == 0) {
		canon_conf_add_listen(conf, cli->default_listen);
	}
	canon_log_set_level((canon_log_level_t)conf->log_level);
	return 0;
}

const char *canon_daemon_installed_file(const char *name, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash = len > 0 ? memrchr(exe, '/', (size_t)len) : NULL;
	if (slash == NULL) {
		return NULL;
	}
	*slash = '\0'; /* PREFIX/bin */
	snprintf(buf, size, "%s/../share/canon/%s", exe, name);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

const char *canon_daemon_data_file(const char *name, char *buf, size_t size)
{
	if (canon_daemon_installed_file(name, buf, size) == NULL) {
		snprintf(buf, size, "%s/%s", CANON_EXAMPLES_DIR, name);
	}
	return buf;
}
