/*
 * dnstap query logging through libfstrm (see dnstap.h).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "serve/dnstap.h"

#ifdef CANON_HAVE_DNSTAP

#include <fstrm.h>

#include "dnstap.pb-c.h"

/* The Frame Streams content type dnstap readers expect (dnstap.info). */
#define CONTENT_TYPE "protobuf:dnstap.Dnstap"

struct canon_dnstap_queue {
	canon_dnstap_t *tap;
	struct fstrm_iothr_queue *queue;
	struct timespec query_time; /* Of the query being answered, for its response. */
	uint64_t dropped;           /* Messages lost to a full queue; this worker's only. */
};

struct canon_dnstap {
	struct fstrm_iothr *iothr;
	bool queries, responses; /* dnstap-log-queries, dnstap-log-responses */
	char identity[256];      /* The host's name, as Knot's default identity. */
	canon_dnstap_queue_t *queues;
	unsigned queue_count;
};

bool canon_dnstap_available(void)
{
	return true;
}

/* A file sink: fail at start, with the reason, rather than in the I/O thread unseen. */
static int check_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		canon_log(CANON_LOG_ERROR, "dnstap: cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* A socket sink: the collector may come later (fstrm reconnects), so only warn. */
static void check_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		canon_log(CANON_LOG_WARNING,
		          "dnstap: nothing listens on %s yet (%s); messages are dropped until a "
		          "collector does",
		          path, strerror(errno));
	}
	if (fd >= 0) {
		close(fd);
	}
}

static struct fstrm_writer *writer_new(const char *sink)
{
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	fstrm_writer_options_add_content_type(wopt, CONTENT_TYPE, strlen(CONTENT_TYPE));
	struct fstrm_writer *writer = NULL;
	size_t prefix = strlen(CANON_DNSTAP_UNIX_PREFIX);
	if (strncmp(sink, CANON_DNSTAP_UNIX_PREFIX, prefix) == 0) {
		check_socket(sink + prefix);
		struct fstrm_unix_writer_options *uopt = fstrm_unix_writer_options_init();
		fstrm_unix_writer_options_set_socket_path(uopt, sink + prefix);
		writer = fstrm_unix_writer_init(uopt, wopt);
		fstrm_unix_writer_options_destroy(&uopt);
	} else if (check_file(sink) == 0) {
		struct fstrm_file_options *fopt = fstrm_file_options_init();
		fstrm_file_options_set_file_path(fopt, sink);
		writer = fstrm_file_writer_init(fopt, wopt);
		fstrm_file_options_destroy(&fopt);
	}
	fstrm_writer_options_destroy(&wopt);
	return writer;
}

static struct fstrm_iothr *iothr_new(const char *sink, unsigned queues)
{
	struct fstrm_writer *writer = writer_new(sink);
	if (writer == NULL) {
		return NULL;
	}
	struct fstrm_iothr_options *opt = fstrm_iothr_options_init();
	fstrm_iothr_options_set_num_input_queues(opt, queues);
	fstrm_iothr_options_set_queue_model(opt, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
	/*
	 * The largest queues fstrm allows: with its default (512) a worker
	 * answering at full speed fills its queue while the one I/O thread writes.
	 */
	fstrm_iothr_options_set_input_queue_size(opt, FSTRM_IOTHR_INPUT_QUEUE_SIZE_MAX);
	struct fstrm_iothr *iothr = fstrm_iothr_init(opt, &writer);
	fstrm_iothr_options_destroy(&opt);
	if (iothr == NULL) {
		fstrm_writer_destroy(&writer);
		canon_log(CANON_LOG_ERROR, "dnstap: cannot start the writer for %s", sink);
	}
	return iothr;
}

canon_dnstap_t *canon_dnstap_open(const canon_serve_conf_t *conf, unsigned workers)
{
	canon_dnstap_t *tap = calloc(1, sizeof(*tap));
	if (tap == NULL) {
		return NULL;
	}
	tap->queries = conf->dnstap_queries;
	tap->responses = conf->dnstap_responses;
	if (gethostname(tap->identity, sizeof(tap->identity) - 1) != 0) {
		tap->identity[0] = '\0';
	}
	tap->queues = calloc(workers, sizeof(*tap->queues));
	tap->iothr = tap->queues ? iothr_new(conf->dnstap, workers) : NULL;
	if (tap->iothr == NULL) {
		canon_dnstap_close(tap);
		return NULL;
	}
	tap->queue_count = workers;
	for (unsigned i = 0; i < workers; i++) {
		tap->queues[i].tap = tap;
		tap->queues[i].queue = fstrm_iothr_get_input_queue_idx(tap->iothr, i);
	}
	canon_log(CANON_LOG_INFO, "dnstap: logging %s%s%s to %s", tap->queries ? "queries" : "",
	          tap->queries && tap->responses ? " and " : "", tap->responses ? "responses" : "",
	          conf->dnstap);
	return tap;
}

canon_dnstap_queue_t *canon_dnstap_queue(canon_dnstap_t *tap, unsigned id)
{
	return tap != NULL && id < tap->queue_count ? &tap->queues[id] : NULL;
}

/* The client's side of the message: family, protocol, address and port. */
static void set_peer(Dnstap__Message *m, const struct sockaddr_storage *peer, bool tcp)
{
	m->has_socket_family = m->has_socket_protocol = true;
	m->socket_protocol = tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
	m->has_query_address = m->has_query_port = true;
	if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET6;
		m->query_address.data = (uint8_t *)in6->sin6_addr.s6_addr;
		m->query_address.len = sizeof(in6->sin6_addr);
		m->query_port = ntohs(in6->sin6_port);
	} else {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET;
		m->query_address.data = (uint8_t *)&in->sin_addr;
		m->query_address.len = sizeof(in->sin_addr);
		m->query_port = ntohs(in->sin_port);
	}
}

/* Pack 'm' in a Dnstap frame and hand it to the worker's queue (fstrm frees it). */
static void submit(canon_dnstap_queue_t *q, Dnstap__Message *m)
{
	Dnstap__Dnstap frame = DNSTAP__DNSTAP__INIT;
	static const char version[] = "canon " CANON_VERSION;
	frame.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	frame.message = m;
	frame.has_identity = true;
	frame.identity.data = (uint8_t *)q->tap->identity;
	frame.identity.len = strlen(q->tap->identity);
	frame.has_version = true;
	frame.version.data = (uint8_t *)version;
	frame.version.len = sizeof(version) - 1;
	size_t size = dnstap__dnstap__get_packed_size(&frame);
	uint8_t *buf = malloc(size);
	if (buf == NULL) {
		q->dropped++;
		return;
	}
	dnstap__dnstap__pack(&frame, buf);
	if (fstrm_iothr_submit(q->tap->iothr, q->queue, buf, size, fstrm_free_wrapper, NULL) !=
	    fstrm_res_success) {
		free(buf); /* Not taken: still ours (fstrm/iothr.h). */
		q->dropped++;
	}
}

/* What a query and its response share: type, client, transport, the query's time. */
static void message_init(Dnstap__Message *m, Dnstap__Message__Type type,
                         const struct sockaddr_storage *peer, bool tcp,
                         const struct timespec *query_time)
{
	*m = (Dnstap__Message)DNSTAP__MESSAGE__INIT;
	m->type = type;
	set_peer(m, peer, tcp);
	m->has_query_time_sec = m->has_query_time_nsec = true;
	m->query_time_sec = (uint64_t)query_time->tv_sec;
	m->query_time_nsec = (uint32_t)query_time->tv_nsec;
}

void canon_dnstap_query(canon_dnstap_queue_t *q, const struct sockaddr_storage *peer, bool tcp,
                        const uint8_t *msg, size_t len)
{
	clock_gettime(CLOCK_REALTIME, &q->query_time);
	if (!q->tap->queries) {
		return;
	}
	Dnstap__Message m;
	message_init(&m, DNSTAP__MESSAGE__TYPE__AUTH_QUERY, peer, tcp, &q->query_time);
	m.has_query_message = true;
	m.query_message.data = (uint8_t *)msg;
	m.query_message.len = len;
	submit(q, &m);
}

void canon_dnstap_response(canon_dnstap_queue_t *q, const struct sockaddr_storage *peer, bool tcp,
                           const uint8_t *msg, size_t len)
{
	if (!q->tap->responses) {
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Dnstap__Message m;
	message_init(&m, DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE, peer, tcp, &q->query_time);
	m.has_response_time_sec = m.has_response_time_nsec = true;
	m.response_time_sec = (uint64_t)now.tv_sec;
	m.response_time_nsec = (uint32_t)now.tv_nsec;
	m.has_response_message = true;
	m.response_message.data = (uint8_t *)msg;
	m.response_message.len = len;
	submit(q, &m);
}

void canon_dnstap_close(canon_dnstap_t *tap)
{
	if (tap == NULL) {
		return;
	}
	uint64_t dropped = 0;
	for (unsigned i = 0; i < tap->queue_count; i++) {
		dropped += tap->queues[i].dropped;
	}
	if (dropped > 0) {
		canon_log(CANON_LOG_WARNING, "dnstap: %llu messages dropped (queue full)",
		          (unsigned long long)dropped);
	}
	/* Destroying the I/O thread writes out what the queues still hold. */
	fstrm_iothr_destroy(&tap->iothr);
	free(tap->queues);
	free(tap);
}

#else /* !CANON_HAVE_DNSTAP: the settings are refused (config.c), so none of this runs. */

bool canon_dnstap_available(void)
{
	return false;
}

canon_dnstap_t *canon_dnstap_open(const canon_serve_conf_t *conf, unsigned workers)
{
	(void)workers;
	canon_log(CANON_LOG_ERROR,
	          "dnstap: %s: canon was built without dnstap (libfstrm, "
	          "protobuf-c)",
	          conf->dnstap);
	return NULL;
}

canon_dnstap_queue_t *canon_dnstap_queue(canon_dnstap_t *tap, unsigned id)
{
	(void)tap;
	(void)id;
	return NULL;
}

void canon_dnstap_query(canon_dnstap_queue_t *q, const struct sockaddr_storage *peer, bool tcp,
                        const uint8_t *msg, size_t len)
{
	(void)q, (void)peer, (void)tcp, (void)msg, (void)len;
}

void canon_dnstap_response(canon_dnstap_queue_t *q, const struct sockaddr_storage *peer, bool tcp,
                           const uint8_t *msg, size_t len)
{
	(void)q, (void)peer, (void)tcp, (void)msg, (void)len;
}

void canon_dnstap_close(canon_dnstap_t *tap)
{
	(void)tap;
}

#endif
