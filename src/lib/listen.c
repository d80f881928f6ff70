/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/listen.h"
#include "lib/log.h"

#define TCP_BACKLOG 128

/* A socket of 'type' for 'l', with 'options' (SO_REUSEADDR, SO_REUSEPORT) set, bound. */
static int bound_socket(const canon_listen_t *l, int type, const int *options, int count)
{
	int fd = socket(l->addr.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	int on = 1;
	for (int i = 0; i < count; i++) {
		setsockopt(fd, SOL_SOCKET, options[i], &on, sizeof(on));
	}
	if (l->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int udp_socket(const canon_listen_t *l)
{
	static const int options[] = {SO_REUSEPORT};
	return bound_socket(l, SOCK_DGRAM | SOCK_NONBLOCK, options, 1);
}

static int tcp_socket(const canon_listen_t *l)
{
	static const int options[] = {SO_REUSEADDR, SO_REUSEPORT};
	int fd = bound_socket(l, SOCK_STREAM | SOCK_NONBLOCK, options, 2);
	if (fd >= 0 && listen(fd, TCP_BACKLOG) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static unsigned port_of(const canon_listen_t *l)
{
	if (l->addr.ss_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
	}
	return ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
}

/* Why 'l' cannot be bound, and for a privileged port what to do about it. */
static void log_bind_error(const canon_listen_t *l, int err)
{
	if (err != EACCES || port_of(l) >= 1024) {
		canon_log(CANON_LOG_ERROR, "cannot listen on %s: %s", l->text, strerror(err));
		return;
	}
	char exe[PATH_MAX] = "canon"; /* Kept when readlink fails. */
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
	}
	canon_log(CANON_LOG_ERROR,
	          "cannot listen on %s: %s: ports below 1024 need root or the capability "
	          "CAP_NET_BIND_SERVICE. Start canon as root with user: NAME (--user NAME), and it "
	          "runs as NAME once the port is bound; or give it the capability: setcap "
	          "'cap_net_bind_service=+ep' %s (in a systemd unit: "
	          "AmbientCapabilities=CAP_NET_BIND_SERVICE)",
	          l->text, strerror(err), exe);
}

int canon_listen_check_free(const canon_listen_t *l)
{
	static const int tcp_options[] = {SO_REUSEADDR};
	int fd = bound_socket(l, SOCK_DGRAM, NULL, 0);
	if (fd >= 0) {
		close(fd);
		fd = bound_socket(l, SOCK_STREAM, tcp_options, 1);
	}
	if (fd < 0) {
		return fd;
	}
	close(fd);
	return 0;
}

int canon_listen_check_all(const canon_listen_t *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int ret = canon_listen_check_free(&list[i]);
		if (ret != 0) {
			log_bind_error(&list[i], -ret);
			return -1;
		}
	}
	return 0;
}

int canon_listen_open(const canon_listen_t *l, int *udp_fd, int *tcp_fd)
{
	*udp_fd = udp_socket(l);
	*tcp_fd = tcp_socket(l);
	if (*udp_fd >= 0 && *tcp_fd >= 0) {
		return 0;
	}
	log_bind_error(l, *udp_fd < 0 ? -*udp_fd : -*tcp_fd);
	return -1;
}
