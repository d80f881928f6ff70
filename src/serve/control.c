/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libknot/descriptor.h>
#include <libknot/rrset-dump.h>

#include "lib/log.h"
#include "lib/zone.h"
#include "resolve/flatten.h"
#include "serve/control.h"
#include "serve/metrics.h"
#include "serve/worker.h"
#include "serve/zoneapi.h"
#include "serve/zonemgr.h"

struct canon_control {
	canon_control_env_t env;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	int wake_fd; /* eventfd: written once to stop the thread. */
	pthread_t thread;
};

const char *canon_control_path(const canon_serve_conf_t *conf, char *buf, size_t size)
{
	if (conf->control != NULL) {
		snprintf(buf, size, "%s", conf->control);
		return buf;
	}
	if (conf->state_dir != NULL) {
		snprintf(buf, size, "%s/canon.sock", conf->state_dir);
		return buf;
	}
	return NULL;
}

/* ---- the commands; each writes its answer's text to 'out' and returns NULL or an error ---- */

static int status_reader(void *ctx, const canon_zone_view_t *zones, size_t count,
                         const canon_zonetable_t *table)
{
	(void)table;
	FILE *out = ctx;
	size_t loaded = 0;
	for (size_t i = 0; i < count; i++) {
		loaded += zones[i].zone != NULL;
	}
	fprintf(out, "zones: %zu served", loaded);
	if (loaded != count) {
		fprintf(out, ", %zu not loaded", count - loaded);
	}
	fputc('\n', out);
	return 0;
}

static const char *cmd_status(const canon_control_env_t *env, FILE *out)
{
	int64_t up = (int64_t)time(NULL) - env->started;
	fprintf(out, "version: %s\nuptime: %" PRId64 "s\n", CANON_VERSION, up);
	if (canon_zonemgr_read(env->zonemgr, status_reader, out) != 0) {
		return "cannot read the zones";
	}
	fprintf(out, "workers: %u\n", env->worker_count);
	for (size_t i = 0; i < env->conf->listen_count; i++) {
		fprintf(out, "listen: %s (UDP and TCP)\n", env->conf->listen[i].text);
	}
	return NULL;
}

/* "example.org" and "example.org." name the same zone. */
static void zone_name(const char *arg, char *out, size_t size)
{
	size_t len = strlen(arg);
	snprintf(out, size, "%s%s", arg, len > 0 && arg[len - 1] == '.' ? "" : ".");
}

static const char *cmd_reload(const canon_control_env_t *env, const char *arg, FILE *out)
{
	char origin[300];
	if (arg != NULL) {
		zone_name(arg, origin, sizeof(origin));
	}
	int ret = canon_zonemgr_reload_report(env->zonemgr, arg ? origin : NULL, out);
	if (ret == -ENOENT) {
		return "no such zone";
	}
	return ret != 0 ? "the zone manager is not running" : NULL;
}

typedef struct {
	FILE *out;
	const char *only; /* NULL: every zone */
	bool found;
} zone_status_t;

static void put_time(FILE *out, int64_t when)
{
	char text[32];
	time_t t = (time_t)when;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "%s (%" PRId64 "s ago)", text, (int64_t)time(NULL) - when);
}

static void zone_status_one(const canon_serve_conf_t *conf, const canon_zone_view_t *v, FILE *out)
{
	fprintf(out, "%s\n", v->origin);
	if (v->zone != NULL) {
		fprintf(out, "  serial: %u\n", canon_zone_serial(v->zone));
		fputs("  loaded: ", out);
		if (v->published > 0) {
			put_time(out, v->published);
		} else {
			fputs("not yet published", out);
		}
		fputc('\n', out);
	} else {
		fputs("  serial: none (not loaded)\n", out);
	}
	fprintf(out, "  file: %s%s\n", v->file, v->dynamic ? " (made through the API)" : "");
	fprintf(out, "  journal: %s\n",
	        v->journal_ok             ? "ok"
	        : conf->state_dir == NULL ? "none (no state-dir)"
	                                  : "failed (see the log)");
	fprintf(out, "  findings: %zu\n", v->findings);
	fprintf(out, "  last error: %s\n", v->last_error ? v->last_error : "none");
}

typedef struct {
	zone_status_t zs;
	const canon_serve_conf_t *conf;
} zone_status_req_t;

static int zone_status_visit(void *ctx, const canon_zone_view_t *zones, size_t count,
                             const canon_zonetable_t *table)
{
	(void)table;
	zone_status_req_t *req = ctx;
	for (size_t i = 0; i < count; i++) {
		if (req->zs.only == NULL || strcasecmp(zones[i].origin, req->zs.only) == 0) {
			zone_status_one(req->conf, &zones[i], req->zs.out);
			req->zs.found = true;
		}
	}
	return 0;
}

static const char *cmd_zone_status(const canon_control_env_t *env, const char *arg, FILE *out)
{
	char origin[300];
	zone_status_req_t req = {.zs = {.out = out}, .conf = env->conf};
	if (arg != NULL) {
		zone_name(arg, origin, sizeof(origin));
		req.zs.only = origin;
	}
	if (canon_zonemgr_read(env->zonemgr, zone_status_visit, &req) != 0) {
		return "cannot read the zones";
	}
	if (arg != NULL && !req.zs.found) {
		return "no such zone";
	}
	return NULL;
}

static const char *cmd_stats(const canon_control_env_t *env, FILE *out)
{
	return canon_metrics_write_text(env->workers, env->worker_count, out) != 0 ? "out of memory"
	                                                                           : NULL;
}

static void put_addresses(FILE *out, const knot_rrset_t *rr)
{
	char text[256];
	for (uint16_t i = 0; i < rr->rrs.count; i++) {
		if (knot_rrset_txt_dump_data(rr, i, text, sizeof(text), &KNOT_DUMP_STYLE_DEFAULT) >
		    0) {
			fprintf(out, "%s%s", i > 0 ? " " : "", text);
		}
	}
}

static int alias_status_visit(void *ctx, const canon_flatten_status_t *st)
{
	FILE *out = ctx;
	char name[KNOT_DNAME_TXT_MAXLEN + 1], type[16];
	knot_dname_to_str(name, st->target, sizeof(name));
	knot_rrtype_to_string(st->type, type, sizeof(type));
	fprintf(out, "%s %s: ", name, type);
	if (!st->resolved) {
		fputs("no answer yet", out);
	} else {
		if (st->nodata || st->addresses == NULL) {
			fputs("no addresses (NODATA/NXDOMAIN)", out);
		} else {
			put_addresses(out, st->addresses);
		}
		fprintf(out, "; age %" PRIu32 "s; %s", st->age,
		        st->stale      ? "stale"
		        : st->ttl_left ? "fresh"
		                       : "expired, refreshing");
		if (st->ttl_left > 0) {
			fprintf(out, " (expires in %" PRIu32 "s)", st->ttl_left);
		}
	}
	if (st->last_failure != NULL) {
		fprintf(out, "; last failure %" PRIu32 "s ago: %s%s", st->failure_age,
		        st->last_failure, st->failing ? " (failing now)" : "");
	}
	fputc('\n', out);
	return 0;
}

static const char *cmd_alias_status(const canon_control_env_t *env, FILE *out)
{
	if (env->flattener == NULL) {
		fputs("no ALIAS resolution set up (--upstream or --root-hints)\n", out);
		return NULL;
	}
	long before = ftell(out);
	canon_flattener_each(env->flattener, alias_status_visit, out);
	if (ftell(out) == before) {
		fputs("no ALIAS targets\n", out);
	}
	return NULL;
}

static const char *cmd_flush(const canon_control_env_t *env, FILE *out)
{
	if (env->flattener == NULL) {
		return "no resolver cache: ALIAS resolution is not set up (--upstream or "
		       "--root-hints)";
	}
	size_t n = canon_flattener_flush(env->flattener);
	fprintf(out, "flushed %zu entries of the resolver cache\n", n);
	canon_log(CANON_LOG_INFO, "control: resolver cache flushed (%zu entries)", n);
	return NULL;
}

/* Run one request line; the answer's text goes to 'out', an error is returned. */
static const char *dispatch(const canon_control_env_t *env, char *line, FILE *out)
{
	char *save = NULL;
	char *cmd = strtok_r(line, " \t", &save);
	char *arg = strtok_r(NULL, " \t", &save);
	if (cmd == NULL) {
		return "empty request";
	}
	if (strtok_r(NULL, " \t", &save) != NULL) {
		return "too many arguments";
	}
	bool takes_zone = strcmp(cmd, "reload") == 0 || strcmp(cmd, "zone-status") == 0;
	if (arg != NULL && !takes_zone) {
		return "this command takes no argument";
	}
	if (strcmp(cmd, "status") == 0) {
		return cmd_status(env, out);
	}
	if (strcmp(cmd, "reload") == 0) {
		return cmd_reload(env, arg, out);
	}
	if (strcmp(cmd, "zone-status") == 0) {
		return cmd_zone_status(env, arg, out);
	}
	if (strcmp(cmd, "stats") == 0) {
		return cmd_stats(env, out);
	}
	if (strcmp(cmd, "alias-status") == 0) {
		return cmd_alias_status(env, out);
	}
	if (strcmp(cmd, "flush") == 0) {
		return cmd_flush(env, out);
	}
	return "unknown command (status, reload [ZONE], zone-status [ZONE], stats, "
	       "alias-status, flush)";
}

/* ---- the socket ---- */

/* One request line, without its end; -1 when too long, cut off, or timed out. */
static int read_line(int fd, char *line, size_t size)
{
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t n = recv(fd, line + len, size - 1 - len, 0);
		if (n <= 0) {
			break; /* EOF ends a request without '\n' too; a timeout is an error. */
		}
		char *nl = memchr(line + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			len = (size_t)(nl - line);
			if (len > 0 && line[len - 1] == '\r') {
				line[len - 1] = '\0';
			}
			return 0;
		}
	}
	line[len] = '\0';
	return len > 0 && len + 1 < size ? 0 : -1;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0) {
			return; /* The client went away or timed out: nothing to tell it. */
		}
		data += n;
		len -= (size_t)n;
	}
}

static void serve_one(canon_control_t *ctl, int fd)
{
	struct timeval tv = {.tv_sec = CANON_CONTROL_TIMEOUT};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char line[CANON_CONTROL_LINE_MAX + 1];
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (out == NULL) {
		send_all(fd, "error: out of memory\n", 21);
		return;
	}
	const char *error = read_line(fd, line, sizeof(line)) != 0
	                            ? "no request line (at most 512 bytes, ending in a newline)"
	                            : NULL;
	if (error == NULL) {
		canon_log(CANON_LOG_DEBUG, "control: %s", line);
		error = dispatch(&ctl->env, line, out);
	}
	fclose(out);
	if (error != NULL) {
		char msg[600];
		int n = snprintf(msg, sizeof(msg), "error: %s\n", error);
		send_all(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	} else {
		send_all(fd, "ok\n", 3);
		send_all(fd, text, len);
	}
	free(text);
}

static void *control_thread(void *arg)
{
	canon_control_t *ctl = arg;
	struct pollfd fds[2] = {{.fd = ctl->fd, .events = POLLIN},
	                        {.fd = ctl->wake_fd, .events = POLLIN}};
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			break;
		}
		if (fds[1].revents != 0) {
			break;
		}
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			serve_one(ctl, fd);
			close(fd);
		}
	}
	return NULL;
}

/* Whether a server answers on 'addr' already (then its socket is not stale). */
static bool in_use(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	bool used = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return used;
}

static int bind_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		canon_log(CANON_LOG_ERROR, "control socket %s: path longer than %zu bytes", path,
		          sizeof(addr.sun_path) - 1);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || in_use(&addr)) {
			canon_log(CANON_LOG_ERROR, "control socket %s: %s", path,
			          S_ISSOCK(st.st_mode) ? "another server answers on it"
			                               : "exists and is not a socket");
			return -1;
		}
		unlink(path); /* Left by a server that did not stop cleanly. */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0117); /* 0660 from the start: no window where others may connect. */
	int ret = fd < 0 ? -1 : bind(fd, (const struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (ret != 0 || chmod(path, 0660) != 0 || listen(fd, 16) != 0) {
		canon_log(CANON_LOG_ERROR, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

canon_control_t *canon_control_start(const canon_control_env_t *env, const char *path)
{
	canon_control_t *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		canon_log(CANON_LOG_ERROR, "control socket: out of memory");
		return NULL;
	}
	ctl->env = *env;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	ctl->wake_fd = eventfd(0, EFD_CLOEXEC);
	ctl->fd = ctl->wake_fd < 0 ? -1 : bind_socket(path);
	if (ctl->fd < 0 || pthread_create(&ctl->thread, NULL, control_thread, ctl) != 0) {
		if (ctl->fd >= 0) {
			close(ctl->fd);
			unlink(ctl->path);
		}
		if (ctl->wake_fd >= 0) {
			close(ctl->wake_fd);
		}
		free(ctl);
		return NULL;
	}
	canon_log(CANON_LOG_INFO, "control socket on %s", path);
	return ctl;
}

void canon_control_stop(canon_control_t *ctl)
{
	if (ctl == NULL) {
		return;
	}
	uint64_t one = 1;
	if (write(ctl->wake_fd, &one, sizeof(one)) < 0) {
		canon_log(CANON_LOG_WARNING, "cannot stop the control thread: %s", strerror(errno));
	}
	pthread_join(ctl->thread, NULL);
	close(ctl->fd);
	close(ctl->wake_fd);
	unlink(ctl->path);
	free(ctl);
}
