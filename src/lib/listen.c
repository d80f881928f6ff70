/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
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
			canon_log(CANON_LOG_ERROR, "cannot listen on %s: %s", list[i].text,
			          strerror(-ret));
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
	int err = *udp_fd < 0 ? -*udp_fd : -*tcp_fd;
	canon_log(CANON_LOG_ERROR, "cannot listen on %s: %s", l->text, strerror(err));
	return -1;
}
