/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libknot/packet/wire.h>

#include "lib/net.h"

int64_t canon_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - canon_now_ms();
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

static int open_socket(const canon_net_peer_t *peer, int type)
{
	int fd = socket(peer->addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	return fd;
}

/* A connected socket, so the kernel filters sources and reports ICMP errors. */
static int connect_socket(int fd, const canon_net_peer_t *peer, int64_t deadline)
{
	if (connect(fd, peer->addr, peer->addrlen) == 0) {
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

/* A reply with another message ID is not ours: keep waiting (RFC 5452 §9.1). */
static bool id_matches(const canon_net_peer_t *peer, const uint8_t *query, const uint8_t *reply,
                       size_t len)
{
	char why[80];
	if (len < KNOT_WIRE_HEADER_SIZE) {
		snprintf(why, sizeof(why), "short reply (%zu bytes) ignored", len);
	} else if (knot_wire_get_id(query) != knot_wire_get_id(reply)) {
		snprintf(why, sizeof(why), "ID mismatch: expected ID %u, got %u",
		         knot_wire_get_id(query), knot_wire_get_id(reply));
	} else {
		return true;
	}
	if (peer->warn != NULL) {
		peer->warn(why);
	}
	return false;
}

static int udp_receive(const canon_net_peer_t *peer, int fd, const canon_msg_t *query,
                       canon_msg_t *reply, int64_t deadline)
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
		if (id_matches(peer, query->data, reply->data, (size_t)got)) {
			reply->len = (size_t)got;
			return 0;
		}
	}
}

int canon_net_udp(const canon_net_peer_t *peer, const canon_msg_t *query, canon_msg_t *reply,
                  int64_t deadline)
{
	int fd = open_socket(peer, SOCK_DGRAM);
	if (fd < 0) {
		return fd;
	}
	int ret = connect_socket(fd, peer, deadline);
	if (ret == 0 && send(fd, query->data, query->len, 0) < 0) {
		ret = -errno;
	}
	if (ret == 0) {
		ret = udp_receive(peer, fd, query, reply, deadline);
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
static int tcp_exchange(const canon_net_peer_t *peer, int fd, const canon_msg_t *query,
                        canon_msg_t *reply, int64_t deadline)
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
		if (ret == 0 && id_matches(peer, query->data, reply->data, len)) {
			reply->len = len;
			return 0;
		}
	}
	return ret;
}

int canon_net_tcp(const canon_net_peer_t *peer, const canon_msg_t *query, canon_msg_t *reply,
                  int64_t deadline)
{
	int fd = open_socket(peer, SOCK_STREAM);
	if (fd < 0) {
		return fd;
	}
	int ret = connect_socket(fd, peer, deadline);
	if (ret == 0) {
		ret = tcp_exchange(peer, fd, query, reply, deadline);
	}
	close(fd);
	return ret;
}

const char *canon_net_strerror(int err)
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

static int parse_port(const char *text, uint16_t *port)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || value < 1 || value > 65535) {
		return -EINVAL;
	}
	*port = (uint16_t)value;
	return 0;
}

/* Split "host:port" / "[v6]:port" / "host" into host and port. */
static int split_host_port(const char *text, uint16_t default_port, char *host, size_t size,
                           uint16_t *port)
{
	*port = default_port;
	const char *port_text = NULL;
	size_t host_len;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			return -EINVAL;
		}
		host_len = (size_t)(close - text - 1);
		text++;
		port_text = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strchr(text, ':');
		bool v6 = colon && strchr(colon + 1, ':'); /* bare IPv6 address, no port */
		host_len = (colon && !v6) ? (size_t)(colon - text) : strlen(text);
		port_text = (colon && !v6) ? colon + 1 : NULL;
	}
	if (host_len == 0 || host_len >= size) {
		return -EINVAL;
	}
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	return port_text ? parse_port(port_text, port) : 0;
}

int canon_net_addr_parse(const char *text, uint16_t default_port, struct sockaddr_storage *addr,
                         socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;
	if (split_host_port(text, default_port, host, sizeof(host), &port) != 0) {
		return -EINVAL;
	}
	memset(addr, 0, sizeof(*addr));
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		*len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		*len = sizeof(*v6);
	} else {
		return -EINVAL;
	}
	return 0;
}

void canon_net_addr_str(const struct sockaddr_storage *addr, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		port = ntohs(v4->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	} else {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		port = ntohs(v6->sin6_port);
		snprintf(out, size, "[%s]:%u", host, port);
	}
}
