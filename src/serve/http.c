/*
 * libmicrohttpd runs a small pool of threads, each with its own epoll loop;
 * a handler that waits for the zone manager holds only its own thread's
 * other connections. Request bodies are read into memory up to
 * CANON_HTTP_BODY_MAX; a request that announces more is answered 413 before
 * its body is read.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "lib/log.h"
#include "lib/net.h"
#include "serve/api.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/static.h"

#define HTTP_THREADS         4
#define HTTP_CONNECTIONS_MAX 1024
#define HTTP_TIMEOUT_S       30
#define HTTP_BACKLOG         1024

struct canon_http {
	struct MHD_Daemon *daemon;
	canon_api_t api;
	const char *key; /* The API key, or NULL. */
	size_t key_len;
	const char *web_root;
	const struct canon_worker *workers; /* Summed for /metrics. */
	unsigned worker_count;
	bool metrics_only; /* The metrics: listener: everything but /metrics is 404. */
};

/* One request in progress: its body so far. */
typedef struct {
	char *body;
	size_t len;
	size_t cap;
	bool too_large;
} request_t;

/*
 * Whether 'given' is the key, in time that depends on the key's length only
 * (not on how many leading octets match), so timing tells nothing of the key.
 */
static bool key_matches(const struct canon_http *http, const char *given)
{
	if (given == NULL) {
		return false;
	}
	size_t len = strlen(given);
	volatile unsigned char diff = len != http->key_len;
	for (size_t i = 0; i < http->key_len; i++) {
		unsigned char c = i < len ? (unsigned char)given[i] : 0;
		diff |= (unsigned char)http->key[i] ^ c;
	}
	return diff == 0;
}

static void add_headers(struct MHD_Response *response, const char *type)
{
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(response, "X-Frame-Options", "deny");
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, canon_api_reply_t *reply)
{
	struct MHD_Response *response =
	        reply->body != NULL
	                ? MHD_create_response_from_buffer(reply->len, reply->body,
	                                                  MHD_RESPMEM_MUST_FREE)
	                : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (response == NULL) {
		free(reply->body);
		return MHD_NO;
	}
	if (reply->body != NULL) {
		add_headers(response, reply->type);
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, reply->status, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *message)
{
	canon_api_reply_t reply = {0};
	canon_api_error(&reply, status, message);
	return send_reply(conn, &reply);
}

static enum MHD_Result send_file(const struct canon_http *http, struct MHD_Connection *conn,
                                 const char *method, const char *url)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		return send_error(conn, 405, "Method Not Allowed");
	}
	canon_static_file_t file;
	int ret = canon_static_open(http->web_root, url, &file);
	if (ret == -EACCES) {
		return send_error(conn, 403, "Forbidden");
	}
	if (ret != 0) {
		return send_error(conn, 404, "Not Found");
	}
	struct MHD_Response *response = MHD_create_response_from_fd((uint64_t)file.size, file.fd);
	if (response == NULL) {
		close(file.fd);
		return MHD_NO;
	}
	add_headers(response, file.type);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, response);
	MHD_destroy_response(response);
	return result;
}

static const char *query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result answer_api(struct canon_http *http, struct MHD_Connection *conn,
                                  const char *method, const char *url, request_t *req)
{
	char addr[128] = "?", who[200];
	const union MHD_ConnectionInfo *info =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info != NULL && info->client_addr != NULL) {
		canon_net_addr_str((const struct sockaddr_storage *)info->client_addr, addr,
		                   sizeof(addr));
	}
	snprintf(who, sizeof(who), "api from %s%s", addr, http->key ? " with the API key" : "");
	canon_api_request_t request = {
	        .method = method,
	        .path = url,
	        .body = req->body != NULL ? req->body : "",
	        .body_len = req->len,
	        .arg = query_arg,
	        .arg_ctx = conn,
	        .who = who,
	};
	canon_api_reply_t reply;
	canon_api_handle(&http->api, &request, &reply);
	return send_reply(conn, &reply);
}

/*
 * GET /metrics: the Prometheus text format, without the API key (counters and
 * serials say nothing that DNS does not; Prometheus scrapes without headers).
 */
static enum MHD_Result send_metrics(const struct canon_http *http, struct MHD_Connection *conn,
                                    const char *method)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		return send_error(conn, 405, "Method Not Allowed");
	}
	canon_api_reply_t reply = {.status = MHD_HTTP_OK,
	                           .type = "text/plain; version=0.0.4; charset=utf-8"};
	if (canon_metrics_render(http->workers, http->worker_count, http->api.mgr, &reply.body,
	                         &reply.len) != 0) {
		return send_error(conn, 500, "out of memory");
	}
	return send_reply(conn, &reply);
}

static bool is_api(const char *url)
{
	return strncmp(url, "/api", 4) == 0 && (url[4] == '\0' || url[4] == '/');
}

/* The first call of a request: its headers only. Returns true when it was answered. */
static bool first_call(struct canon_http *http, struct MHD_Connection *conn, const char *url,
                       enum MHD_Result *result)
{
	if (http->key != NULL &&
	    !key_matches(http, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-API-Key"))) {
		*result = send_error(conn, 401, "Unauthorized");
		return true;
	}
	const char *length =
	        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (length != NULL && strtoull(length, NULL, 10) > CANON_HTTP_BODY_MAX) {
		*result = send_error(conn, 413, "Request body too large");
		return true;
	}
	(void)url;
	return false;
}

static void take_body(request_t *req, const char *data, size_t size)
{
	if (req->too_large || req->len + size > CANON_HTTP_BODY_MAX) {
		req->too_large = true; /* Chunked, without a length: read and drop the rest. */
		return;
	}
	if (req->len + size + 1 > req->cap) {
		size_t cap = req->cap ? req->cap : 4096;
		while (cap < req->len + size + 1) {
			cap *= 2;
		}
		char *body = realloc(req->body, cap);
		if (body == NULL) {
			req->too_large = true;
			return;
		}
		req->body = body;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, size);
	req->len += size;
	req->body[req->len] = '\0';
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct canon_http *http = cls;
	if (strcmp(url, "/metrics") == 0) {
		return send_metrics(http, conn, method);
	}
	if (http->metrics_only) {
		return send_error(conn, 404, "Not Found");
	}
	if (!is_api(url)) {
		return send_file(http, conn, method, url);
	}
	request_t *req = *con_cls;
	if (req == NULL) {
		enum MHD_Result result;
		if (first_call(http, conn, url, &result)) {
			return result;
		}
		req = calloc(1, sizeof(*req));
		*con_cls = req;
		return req != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size > 0) {
		take_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->too_large) {
		return send_error(conn, 413, "Request body too large");
	}
	return answer_api(http, conn, method, url, req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)conn;
	(void)code;
	request_t *req = *con_cls;
	if (req != NULL) {
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char text[512];
	vsnprintf(text, sizeof(text), fmt, ap);
	text[strcspn(text, "\n")] = '\0';
	canon_log(CANON_LOG_DEBUG, "http: %s", text);
}

int canon_http_listen(const struct sockaddr_storage *where, socklen_t len, const char *what)
{
	char addr[128];
	canon_net_addr_str(where, addr, sizeof(addr));
	int fd = socket(where->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (where->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(fd, (const struct sockaddr *)where, len) != 0 || listen(fd, HTTP_BACKLOG) != 0) {
		canon_log(CANON_LOG_ERROR, "%s: cannot serve on %s: %s", what, addr,
		          strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

/* Run the daemon on 'fd' (owned from now on); false after logging why it could not. */
static bool start_daemon(struct canon_http *http, int fd, const char *addr)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	http->daemon = MHD_start_daemon(
	        flags, 0, NULL, NULL, handle, http, MHD_OPTION_LISTEN_SOCKET, fd,
	        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
	        (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (http->daemon == NULL) {
		canon_log(CANON_LOG_ERROR, "http: cannot start the HTTP server on %s", addr);
		close(fd);
		return false;
	}
	return true;
}

canon_http_t *canon_http_start(const canon_serve_conf_t *conf, int fd, struct canon_zonemgr *mgr,
                               const canon_alias_source_t *aliases,
                               const struct canon_worker *workers, unsigned worker_count)
{
	canon_http_t *http = calloc(1, sizeof(*http));
	if (http == NULL) {
		close(fd);
		return NULL;
	}
	http->api = (canon_api_t){.mgr = mgr, .aliases = aliases};
	http->key = conf->api_key;
	http->key_len = conf->api_key != NULL ? strlen(conf->api_key) : 0;
	http->web_root = conf->web_root != NULL ? conf->web_root : CANON_WEB_DIR;
	http->workers = workers;
	http->worker_count = worker_count;
	char addr[128];
	canon_net_addr_str(&conf->http_addr, addr, sizeof(addr));
	if (!start_daemon(http, fd, addr)) {
		free(http);
		return NULL;
	}
	canon_log(CANON_LOG_INFO, "http: API, web page and /metrics on %s%s", addr,
	          http->key ? "" : " (no api-key: loopback only)");
	return http;
}

canon_http_t *canon_http_start_metrics(const canon_serve_conf_t *conf, int fd,
                                       struct canon_zonemgr *mgr,
                                       const struct canon_worker *workers, unsigned worker_count)
{
	canon_http_t *http = calloc(1, sizeof(*http));
	if (http == NULL) {
		close(fd);
		return NULL;
	}
	http->api = (canon_api_t){.mgr = mgr};
	http->workers = workers;
	http->worker_count = worker_count;
	http->metrics_only = true;
	char addr[128];
	canon_net_addr_str(&conf->metrics_addr, addr, sizeof(addr));
	if (!start_daemon(http, fd, addr)) {
		free(http);
		return NULL;
	}
	canon_log(CANON_LOG_INFO, "metrics: /metrics on %s", addr);
	return http;
}

void canon_http_stop(canon_http_t *http)
{
	if (http != NULL) {
		MHD_stop_daemon(http->daemon);
		free(http);
	}
}
