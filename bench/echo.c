/*
 * bench/echo.c: the harness ceiling. A trivial one-thread UDP "DNS server"
 * that sends every query back with QR set (rcode NOERROR, no records), using
 * recvmmsg/sendmmsg in batches. No real server can be faster than this on the
 * same machine with the same client, so its QPS tells how much of the
 * measured numbers is the client and the kernel rather than the server.
 *
 *   echo PORT        (binds 127.0.0.1:PORT, runs until killed)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 1232

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: echo PORT\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((unsigned short)atoi(argv[1]))};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("bind");
		return 1;
	}
	static unsigned char bufs[BATCH][BUFSZ];
	static struct sockaddr_in peers[BATCH];
	static struct iovec iov[BATCH];
	static struct mmsghdr msgs[BATCH];
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = BUFSZ;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &peers[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			continue;
		}
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			if (msgs[i].msg_len >= 12) {
				bufs[i][2] |= 0x80; /* QR */
				bufs[i][3] &= 0xf0; /* rcode NOERROR */
			}
		}
		int off = 0;
		while (off < n) {
			int s = sendmmsg(fd, msgs + off, (unsigned)(n - off), 0);
			if (s <= 0) {
				break;
			}
			off += s;
		}
	}
}
