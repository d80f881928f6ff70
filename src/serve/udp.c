/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "serve/dnstap.h"
#include "serve/udp.h"

#define UDP_BATCH       32
#define UDP_QUERY_SIZE  4096
#define UDP_ANSWER_SIZE 4096
/* Batches drained per readiness event before other sockets get a turn. */
#define UDP_ROUNDS 8

struct canon_udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct mmsghdr out[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct sockaddr_storage peer[UDP_BATCH];
	uint8_t query[UDP_BATCH][UDP_QUERY_SIZE];
	uint8_t answer[UDP_BATCH][UDP_ANSWER_SIZE];
};

canon_udp_batch_t *canon_udp_batch_new(void)
{
	canon_udp_batch_t *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return NULL;
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		b->in_iov[i].iov_base = b->query[i];
		b->in_iov[i].iov_len = UDP_QUERY_SIZE;
		b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
		b->in[i].msg_hdr.msg_iovlen = 1;
		b->in[i].msg_hdr.msg_name = &b->peer[i];
		b->out_iov[i].iov_base = b->answer[i];
		b->out[i].msg_hdr.msg_iov = &b->out_iov[i];
		b->out[i].msg_hdr.msg_iovlen = 1;
	}
	return b;
}

void canon_udp_batch_free(canon_udp_batch_t *batch)
{
	free(batch);
}

static void send_all(int fd, struct mmsghdr *msgs, unsigned count)
{
	unsigned sent = 0;
	while (sent < count) {
		int n = sendmmsg(fd, msgs + sent, count - sent, 0);
		if (n <= 0) {
			/* A full socket buffer or an unreachable peer: drop, as UDP may. */
			if (n < 0 && errno == EINTR) {
				continue;
			}
			sent++;
			continue;
		}
		sent += (unsigned)n;
	}
}

/* Answer one received batch; returns how many messages it held. */
static int serve_batch(canon_udp_batch_t *b, int fd, const canon_query_ctx_t *ctx)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		b->in[i].msg_hdr.msg_namelen = sizeof(b->peer[i]);
	}
	int n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		return 0;
	}
	unsigned replies = 0;
	canon_dnstap_queue_t *tap = ctx->worker != NULL ? ctx->worker->dnstap : NULL;
	for (int i = 0; i < n; i++) {
		if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
			continue; /* Larger than any query we accept: drop. */
		}
		if (tap != NULL) {
			canon_dnstap_query(tap, &b->peer[i], false, b->query[i], b->in[i].msg_len);
		}
		size_t len = canon_query_answer(ctx, &b->peer[i], b->query[i], b->in[i].msg_len,
		                                b->answer[i], UDP_ANSWER_SIZE, NULL);
		if (len == 0) {
			continue;
		}
		if (tap != NULL) {
			canon_dnstap_response(tap, &b->peer[i], false, b->answer[i], len);
		}
		struct msghdr *hdr = &b->out[replies].msg_hdr;
		hdr->msg_name = &b->peer[i];
		hdr->msg_namelen = b->in[i].msg_hdr.msg_namelen;
		hdr->msg_iov = &b->out_iov[i];
		b->out_iov[i].iov_len = len;
		replies++;
	}
	send_all(fd, b->out, replies);
	return n;
}

void canon_udp_serve(canon_worker_t *w, int fd, const canon_query_ctx_t *ctx)
{
	for (int round = 0; round < UDP_ROUNDS; round++) {
		if (serve_batch(w->udp, fd, ctx) < UDP_BATCH) {
			return;
		}
	}
}
