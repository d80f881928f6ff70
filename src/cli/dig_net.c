/*
 * canon dig: one query/reply exchange over UDP or TCP, bounded by a deadline.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli/dig.h"
#include "cli/dig_net.h"

int64_t dig_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - dig_now_ms();
		if (left <= 0) {
			return -ETIMEDOUT;
		}
		struct pollfd pfd = {.fd = fd, .events = events};
		int ret = poll(&pfd, 1, (int)left);
		if (ret > 0) {
			return 0;
		}
		if (ret < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

static int open_socket(const dig_server_t *server, int type)
{
	int fd = socket(server->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	return fd;
}

/* A connected socket, so the kernel filters sources and reports ICMP errors. */
static int connect_socket(int fd, const dig_server_t *server, int64_t deadline)
{
	if (connect(fd, (const struct sockaddr *)&server->addr, server->addrlen) == 0) {
		return 0;
	}
	if (errno != EINPROGRESS) {
		return -errno;
	}
	int ret = wait_fd(fd, POLLOUT, deadline);
	if (ret != 0) {
		return ret;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
		return -errno;
	}
	return -err;
}

/* dig keeps waiting when a reply carries another message ID. */
static bool id_matches(const uint8_t *query, const uint8_t *reply, size_t len)
{
	if (len < KNOT_WIRE_HEADER_SIZE) {
		printf(";; Warning: short reply (%zu bytes) ignored\n", len);
		return false;
	}
	uint16_t want = knot_wire_get_id(query);
	uint16_t got = knot_wire_get_id(reply);
	if (want != got) {
		printf(";; Warning: ID mismatch: expected ID %u, got %u\n", want, got);
		return false;
	}
	return true;
}

static int udp_receive(int fd, const dig_msg_t *query, dig_msg_t *reply, int64_t deadline)
{
	for (;;) {
		int ret = wait_fd(fd, POLLIN, deadline);
		if (ret != 0) {
			return ret;
		}
		ssize_t got = recv(fd, reply->data, reply->cap, 0);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return -errno;
		}
		if (id_matches(query->data, reply->data, (size_t)got)) {
			reply->len = (size_t)got;
			return 0;
		}
	}
}

int dig_net_udp(const dig_server_t *server, const dig_msg_t *query, dig_msg_t *reply,
                int64_t deadline)
{
	int fd = open_socket(server, SOCK_DGRAM);
	if (fd < 0) {
		return fd;
	}
	int ret = connect_socket(fd, server, deadline);
	if (ret == 0 && send(fd, query->data, query->len, 0) < 0) {
		ret = -errno;
	}
	if (ret == 0) {
		ret = udp_receive(fd, query, reply, deadline);
	}
	close(fd);
	return ret;
}

/* Read exactly len bytes, or fail with a timeout / EOF (-ECONNRESET). */
static int read_full(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t have = 0;
	while (have < len) {
		ssize_t got = read(fd, buf + have, len - have);
		if (got == 0) {
			return -EPIPE;
		}
		if (got > 0) {
			have += (size_t)got;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		int ret = wait_fd(fd, POLLIN, deadline);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	while (done < len) {
		ssize_t put = send(fd, buf + done, len - done, MSG_NOSIGNAL);
		if (put > 0) {
			done += (size_t)put;
			continue;
		}
		if (put < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
		int ret = wait_fd(fd, POLLOUT, deadline);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

/* RFC 1035 §4.2.2 / RFC 7766 §8: each message is prefixed by its 2-octet length. */
static int tcp_exchange(int fd, const dig_msg_t *query, dig_msg_t *reply, int64_t deadline)
{
	uint8_t prefix[2] = {(uint8_t)(query->len >> 8), (uint8_t)query->len};
	int ret = write_full(fd, prefix, sizeof(prefix), deadline);
	if (ret == 0) {
		ret = write_full(fd, query->data, query->len, deadline);
	}
	for (; ret == 0;) {
		ret = read_full(fd, prefix, sizeof(prefix), deadline);
		size_t len = (size_t)prefix[0] << 8 | prefix[1];
		if (ret != 0 || len > reply->cap) {
			return ret != 0 ? ret : -EMSGSIZE;
		}
		ret = read_full(fd, reply->data, len, deadline);
		if (ret == 0 && id_matches(query->data, reply->data, len)) {
			reply->len = len;
			return 0;
		}
	}
	return ret;
}

int dig_net_tcp(const dig_server_t *server, const dig_msg_t *query, dig_msg_t *reply,
                int64_t deadline)
{
	int fd = open_socket(server, SOCK_STREAM);
	if (fd < 0) {
		return fd;
	}
	int ret = connect_socket(fd, server, deadline);
	if (ret == 0) {
		ret = tcp_exchange(fd, query, reply, deadline);
	}
	close(fd);
	return ret;
}

const char *dig_net_strerror(int err)
{
	switch (-err) {
	case ETIMEDOUT:
		return "timed out";
	case ECONNREFUSED:
		return "connection refused";
	case EPIPE:
		return "end of file";
	case ECONNRESET:
		return "connection reset";
	case ENETUNREACH:
		return "network unreachable";
	case EHOSTUNREACH:
		return "host unreachable";
	case EMSGSIZE:
		return "message too large";
	default:
		return strerror(-err);
	}
}
