/*
 * canon ctl: ask a running canon serve over its control socket
 * (serve/control.h, docs/control.md) and print the answer.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/commands.h"

/* The state-dir of the installed example config (contrib/canon.conf). */
#define DEFAULT_SOCKET "/var/lib/canon/canon.sock"

/* The answer may take as long as a reload of every zone. */
#define ANSWER_TIMEOUT_S 600

enum { EXIT_OK = 0, EXIT_SERVER_ERROR = 1, EXIT_USAGE = 2, EXIT_NO_SERVER = 3 };

static void usage(FILE *out)
{
	fprintf(out, "usage: canon ctl [-s PATH] COMMAND [ZONE]\n"
	             "\n"
	             "  -s, --socket PATH   the server's control socket (control: in canon.conf;\n"
	             "                      default " DEFAULT_SOCKET ")\n"
	             "  -h, --help          print this help\n"
	             "      --version       print the version\n"
	             "\n"
	             "commands:\n"
	             "  status              version, uptime, zones, workers, listen addresses\n"
	             "  reload [ZONE]       reload every zone (as SIGHUP) or one; says what "
	             "happened\n"
	             "  zone-status [ZONE]  serial, load time, file, journal, findings, last "
	             "error\n"
	             "  stats               the counters of /metrics, summed\n"
	             "  alias-status        each ALIAS target: last answer, age, stale or not\n"
	             "  flush               empty the ALIAS resolver's cache\n"
	             "\n"
	             "Exit status: 0 ok, 1 the server answered with an error, 2 usage,\n"
	             "3 the server cannot be reached.\n");
}

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	struct timeval tv = {.tv_sec = ANSWER_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int send_request(int fd, const char *request)
{
	size_t len = strlen(request);
	while (len > 0) {
		ssize_t n = send(fd, request, len, MSG_NOSIGNAL);
		if (n <= 0) {
			return -1;
		}
		request += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Print the answer: after "ok\n" the text to stdout (EXIT_OK); "error: ..."
 * to stderr (EXIT_SERVER_ERROR).
 */
static int print_answer(int fd, const char *path)
{
	char buf[8192];
	size_t head = 0;
	int status = -1;
	ssize_t n;
	while ((n = recv(fd, buf + head, sizeof(buf) - head, 0)) > 0) {
		size_t have = head + (size_t)n;
		if (status < 0) {
			if (have < 3 && memchr(buf, '\n', have) == NULL) {
				head = have; /* Wait for the first line. */
				continue;
			}
			status = have >= 3 && memcmp(buf, "ok\n", 3) == 0 ? EXIT_OK
			                                                  : EXIT_SERVER_ERROR;
			size_t skip = status == EXIT_OK ? 3 : 0;
			fwrite(buf + skip, 1, have - skip, status == EXIT_OK ? stdout : stderr);
		} else {
			fwrite(buf, 1, (size_t)n, status == EXIT_OK ? stdout : stderr);
		}
		head = 0;
	}
	if (n < 0 || status < 0) {
		fprintf(stderr, "canon ctl: %s: no answer from the server%s%s\n", path,
		        n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		return EXIT_NO_SERVER;
	}
	return status;
}

int canon_ctl_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = DEFAULT_SOCKET;
	int opt;
	while ((opt = getopt_long(argc, argv, "+s:h", options, NULL)) != -1) {
		if (opt == 's') {
			path = optarg;
		} else if (opt == 'h') {
			usage(stdout);
			return EXIT_OK;
		} else if (opt == 'V') {
			printf("canon ctl %s\n", CANON_VERSION);
			return EXIT_OK;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		fprintf(stderr, "canon ctl: %s\n",
		        optind >= argc ? "no command" : "too many arguments");
		usage(stderr);
		return EXIT_USAGE;
	}
	char request[600];
	int len =
	        snprintf(request, sizeof(request), "%s%s%s\n", argv[optind],
	                 argc - optind == 2 ? " " : "", argc - optind == 2 ? argv[optind + 1] : "");
	if (len < 0 || (size_t)len >= sizeof(request) ||
	    strchr(request, '\n') != request + len - 1) {
		fprintf(stderr, "canon ctl: the command is too long or has a newline\n");
		return EXIT_USAGE;
	}
	int fd = connect_to(path);
	if (fd < 0) {
		fprintf(stderr,
		        "canon ctl: cannot connect to %s: %s (is canon serve running with "
		        "this control socket?)\n",
		        path, strerror(errno));
		return EXIT_NO_SERVER;
	}
	int status = EXIT_NO_SERVER;
	if (send_request(fd, request) != 0) {
		fprintf(stderr, "canon ctl: %s: cannot send the request: %s\n", path,
		        strerror(errno));
	} else {
		status = print_answer(fd, path);
	}
	close(fd);
	return status;
}
