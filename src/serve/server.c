/*
 * Threads and sockets. Every worker owns one UDP and one TCP socket per listen
 * address (SO_REUSEPORT spreads the load), an epoll set, preallocated batch
 * buffers and an arena, so answering takes no lock and calls no malloc.
 *
 * The zone table is swapped with an atomic pointer store; the old table is
 * freed once every worker has been seen outside its event processing since the
 * swap (quiescent-state reclamation), so queries in flight never see a freed
 * zone.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/privs.h"
#include "lib/sdnotify.h"
#include "lib/zone_load.h"
#include "resolve/flatten.h"
#include "serve/control.h"
#include "serve/dnstap.h"
#include "serve/http.h"
#include "serve/server.h"
#include "serve/tcp.h"
#include "serve/udp.h"
#include "serve/worker.h"
#include "serve/zonemgr.h"

static unsigned worker_count(const canon_serve_conf_t *conf)
{
	if (conf->workers > 0) {
		return conf->workers;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 ? (unsigned)cpus : 1;
}

canon_resolver_settings_t canon_serve_resolver_settings(const canon_serve_conf_t *conf,
                                                        size_t cache_bytes)
{
	return (canon_resolver_settings_t){.root_hints = conf->root_hints,
	                                   .forward = conf->forward,
	                                   .forward_len = conf->forward_len,
	                                   .forward_count = conf->forward_count,
	                                   .query_port = conf->query_port,
	                                   .dont_query = &conf->dont_query,
	                                   .allow_recursion = &conf->allow_recursion,
	                                   .cache_bytes = cache_bytes};
}

static int open_worker_sockets(canon_server_t *server, canon_worker_t *w)
{
	const canon_serve_conf_t *conf = server->conf;
	for (size_t i = 0; i < conf->listen_count; i++) {
		if (canon_listen_open(&conf->listen[i], &w->udp_fds[i], &w->tcp_fds[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Wait until no worker can still be using a table swapped out before 'epoch'. */
static void wait_for_quiescence(canon_server_t *server, uint64_t epoch)
{
	for (unsigned i = 0; i < server->worker_count; i++) {
		canon_worker_t *w = &server->workers[i];
		for (;;) {
			uint64_t active = atomic_load(&w->active_epoch);
			if (active == 0 || active >= epoch) {
				break;
			}
			struct timespec pause = {0, 1000000};
			nanosleep(&pause, NULL);
		}
	}
}

/* Return when no worker can still use anything published before the call. */
static void synchronize(void *arg)
{
	canon_server_t *server = arg;
	uint64_t epoch = atomic_fetch_add(&server->epoch, 1) + 1;
	wait_for_quiescence(server, epoch);
}

/* The cache of the resolver that flattens ALIAS targets (few names, short chains). */
#define ALIAS_CACHE_BYTES (8u << 20)

/* How long a start or reload waits for new ALIAS targets to be resolved. */
#define ALIAS_WARM_MS 3000

/* The ALIAS machinery: a resolver of our own and the flattener that uses it. */
typedef struct {
	canon_resolver_conf_t resolver;
	canon_flattener_t *flattener;
} aliases_t;

/* Each table the zone manager publishes: new ALIAS targets are resolved before it answers. */
static void aliases_track(void *ctx, const canon_zonetable_t *table)
{
	aliases_t *al = ctx;
	canon_flattener_track(al->flattener, table);
	canon_flattener_warm(al->flattener, ALIAS_WARM_MS);
}

static int aliases_start(aliases_t *al, canon_server_t *server)
{
	const canon_serve_conf_t *conf = server->conf;
	if (conf->forward_count == 0 && conf->root_hints == NULL) {
		/* Not configured: ALIAS names answer A/AAAA with SERVFAIL; say so once, now. */
		size_t names = canon_flattener_count_names(atomic_load(&server->table));
		if (names > 0) {
			canon_log(
			        CANON_LOG_WARNING,
			        "ALIAS: %zu names have targets outside the zones served, but "
			        "neither "
			        "upstream nor root-hints is set (--upstream, --root-hints): their "
			        "A and AAAA queries answer SERVFAIL",
			        names);
		}
		return 0;
	}
	canon_resolver_settings_t settings = canon_serve_resolver_settings(conf, ALIAS_CACHE_BYTES);
	if (canon_resolver_setup(&al->resolver, &settings, NULL) != 0) {
		return -1;
	}
	al->flattener = canon_flattener_new(&al->resolver, synchronize, server);
	if (al->flattener == NULL || canon_flattener_start(al->flattener) != 0) {
		return -1;
	}
	canon_zonemgr_on_publish(server->zonemgr, aliases_track, al);
	server->aliases = canon_flattener_source(al->flattener);
	return 0;
}

static void aliases_stop(aliases_t *al)
{
	canon_flattener_free(al->flattener);
	canon_resolver_teardown(&al->resolver);
}

/* Every worker's sockets, opened before privileges go (port 53 needs root). */
static int open_sockets(canon_server_t *server)
{
	int ret = 0;
	for (unsigned i = 0; i < server->worker_count; i++) {
		/* Each one, so that stop_workers() can tear every worker down. */
		if (canon_worker_init(&server->workers[i], server, i) != 0) {
			ret = -1;
		}
	}
	if (ret != 0 ||
	    canon_listen_check_all(server->conf->listen, server->conf->listen_count) != 0) {
		return -1;
	}
	for (unsigned i = 0; i < server->worker_count; i++) {
		if (open_worker_sockets(server, &server->workers[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

static int start_workers(canon_server_t *server)
{
	for (unsigned i = 0; i < server->worker_count; i++) {
		canon_worker_t *w = &server->workers[i];
		if (pthread_create(&w->thread, NULL, canon_worker_run, w) != 0) {
			canon_log(CANON_LOG_ERROR, "cannot start worker %u", i);
			return -1;
		}
		w->started = true;
	}
	return 0;
}

static void stop_workers(canon_server_t *server)
{
	atomic_store(&server->stopping, true);
	uint64_t one = 1;
	if (write(server->wake_fd, &one, sizeof(one)) < 0) {
		canon_log(CANON_LOG_WARNING, "cannot wake workers: %s", strerror(errno));
	}
	for (unsigned i = 0; i < server->worker_count; i++) {
		canon_worker_t *w = &server->workers[i];
		if (w->started) {
			pthread_join(w->thread, NULL);
		}
		canon_worker_deinit(w);
	}
}

/* The thread that stops zone loads on SIGTERM or SIGINT (see stop_watcher). */
typedef struct {
	pthread_t main_thread;
	pthread_t thread;
	bool running;
} stop_watch_t;

/*
 * The main thread waits while the zone manager loads the zones at start
 * (canon_zonemgr_new) and while its thread reloads them on SIGHUP
 * (canon_zonemgr_reload); a hostile zone could hold SIGTERM that long. This
 * thread takes SIGTERM and SIGINT first: it stops every zone load in the
 * process (canon_zone_load_interrupt) and passes the signal on to the main
 * thread, which stops as soon as it is free.
 */
static void *stop_watcher(void *arg)
{
	pthread_t main_thread = ((const stop_watch_t *)arg)->main_thread;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	int sig = 0;
	while (sigwait(&stop, &sig) != 0) {
	}
	canon_zone_load_interrupt(true);
	pthread_kill(main_thread, sig);
	return NULL;
}

static void stop_watcher_start(stop_watch_t *watch)
{
	watch->main_thread = pthread_self();
	watch->running = pthread_create(&watch->thread, NULL, stop_watcher, watch) == 0;
	if (!watch->running) {
		canon_log(CANON_LOG_WARNING, "cannot start the signal thread: SIGTERM waits "
		                             "for zone loads to end");
	}
}

static void stop_watcher_end(stop_watch_t *watch)
{
	if (watch->running) {
		pthread_cancel(watch->thread); /* sigwait is a cancellation point. */
		pthread_join(watch->thread, NULL);
		watch->running = false;
	}
}

/* Whether SIGTERM or SIGINT came while the main thread was busy. */
static bool stop_pending(void)
{
	sigset_t pending;
	return sigpending(&pending) == 0 &&
	       (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1);
}

static void wait_for_signals(canon_server_t *server, const sigset_t *signals)
{
	for (;;) {
		int sig = 0;
		if (sigwait(signals, &sig) != 0) {
			continue;
		}
		if (sig == SIGHUP) {
			canon_sdnotify_reloading();
			canon_zonemgr_reload(server->zonemgr);
			canon_sdnotify_ready();
			continue;
		}
		if (sig == SIGUSR1) {
			canon_zonemgr_flush(server->zonemgr);
			continue;
		}
		canon_log(CANON_LOG_INFO, "signal %d: stopping", sig);
		canon_zone_load_interrupt(true); /* A reload in progress ends now. */
		return;
	}
}

/*
 * Sockets first, as root for port 53; then, as the user of user:, the zones,
 * journals and threads. Returns the exit status.
 */
/* A start that failed: the HTTP sockets (http:, metrics:) still open are closed. Returns 1. */
static int close_failed(const int http_fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (http_fds[i] >= 0) {
			close(http_fds[i]);
		}
	}
	return 1;
}

/* The sockets of http: and metrics:, bound with the DNS sockets. 0 or -1. */
static int open_http(const canon_serve_conf_t *conf, int http_fds[2])
{
	if (conf->http &&
	    (http_fds[0] = canon_http_listen(&conf->http_addr, conf->http_len, "http")) < 0) {
		return -1;
	}
	if (conf->metrics && (http_fds[1] = canon_http_listen(&conf->metrics_addr,
	                                                      conf->metrics_len, "metrics")) < 0) {
		return -1;
	}
	return 0;
}

/* Serve http: and metrics: on their sockets; 0, or -1 (the sockets are closed). */
static int start_http(canon_server_t *server, int http_fds[2], canon_http_t *http[2])
{
	const canon_serve_conf_t *conf = server->conf;
	if (http_fds[0] >= 0) {
		http[0] = canon_http_start(conf, http_fds[0], server->zonemgr, server->aliases,
		                           server->workers, server->worker_count);
		http_fds[0] = -1; /* canon_http_start() owns it now. */
		if (http[0] == NULL) {
			close_failed(http_fds); /* The metrics: socket, when there is one. */
			return -1;
		}
	}
	if (http_fds[1] >= 0) {
		http[1] = canon_http_start_metrics(conf, http_fds[1], server->zonemgr,
		                                   server->workers, server->worker_count);
		http_fds[1] = -1;
		if (http[1] == NULL) {
			return -1;
		}
	}
	return 0;
}

/*
 * Start everything and serve until a signal stops it; http[] is left for the
 * caller to stop before the zone manager (its requests wait on the manager).
 */
/* The control socket (canon ctl), when control: or state-dir: gives it a path. 0 or -1. */
static int start_control(canon_server_t *server, aliases_t *al, canon_control_t **ctl)
{
	char path[4096];
	if (canon_control_path(server->conf, path, sizeof(path)) == NULL) {
		return 0;
	}
	canon_control_env_t env = {
	        .conf = server->conf,
	        .zonemgr = server->zonemgr,
	        .workers = server->workers,
	        .worker_count = server->worker_count,
	        .flattener = al->flattener,
	        .started = (int64_t)time(NULL),
	};
	*ctl = canon_control_start(&env, path);
	return *ctl != NULL ? 0 : -1;
}

/* After the privileges go: the dnstap file or socket is the running user's. */
static int start_dnstap(canon_server_t *server)
{
	if (server->conf->dnstap == NULL) {
		return 0;
	}
	server->dnstap = canon_dnstap_open(server->conf, server->worker_count);
	if (server->dnstap == NULL) {
		return -1;
	}
	for (unsigned i = 0; i < server->worker_count; i++) {
		server->workers[i].dnstap = canon_dnstap_queue(server->dnstap, i);
	}
	return 0;
}

static int serve(canon_server_t *server, aliases_t *al, stop_watch_t *watch, canon_http_t *http[2],
                 canon_control_t **ctl, const sigset_t *signals)
{
	canon_serve_conf_t *conf = server->conf;
	/* The HTTP ports are bound with the DNS sockets: before privileges are dropped. */
	int http_fd[2] = {-1, -1};
	if (open_sockets(server) != 0 || open_http(conf, http_fd) != 0 ||
	    canon_privs_drop(conf->user, conf->state_dir) != 0 ||
	    (conf->state_dir != NULL && canon_state_dir_make(conf->state_dir) != 0) ||
	    start_dnstap(server) != 0) {
		return close_failed(http_fd);
	}
	/* From here SIGTERM stops the zone loads, at start and in every reload. */
	stop_watcher_start(watch);
	canon_zone_limits_t limits;
	canon_zone_load_get_limits(&limits);
	limits.max_size = conf->zone_max_size;
	canon_zone_load_set_limits(&limits);
	server->zonemgr = canon_zonemgr_new(conf, &server->table, synchronize, server);
	if (stop_pending()) {
		/* Stopped while the zones loaded: nothing else was started. */
		canon_log(CANON_LOG_INFO, "signal: stopping before the start was complete");
		canon_sdnotify_stopping();
		close_failed(http_fd);
		return 0;
	}
	if (server->zonemgr == NULL) {
		canon_log(CANON_LOG_ERROR, "cannot start: out of memory");
		return close_failed(http_fd);
	}
	if (atomic_load(&server->table)->count == 0) {
		canon_log(CANON_LOG_WARNING, "no zone loaded: queries for zones that failed to "
		                             "load answer SERVFAIL, every other one REFUSED");
	}
	if (aliases_start(al, server) != 0) {
		canon_log(CANON_LOG_ERROR,
		          "cannot set up ALIAS resolution (--upstream/--root-hints)");
		return close_failed(http_fd);
	}
	if (canon_zonemgr_start(server->zonemgr) != 0 || start_workers(server) != 0) {
		return close_failed(http_fd);
	}
	if (start_http(server, http_fd, http) != 0 || start_control(server, al, ctl) != 0) {
		return 1;
	}
	for (size_t i = 0; i < conf->listen_count; i++) {
		canon_log(CANON_LOG_INFO, "listening on %s (UDP and TCP), %u workers",
		          conf->listen[i].text, server->worker_count);
	}
	canon_sdnotify_ready();
	wait_for_signals(server, signals);
	canon_sdnotify_stopping();
	return 0;
}

int canon_server_run(canon_serve_conf_t *conf)
{
	canon_server_t server = {.conf = conf, .worker_count = worker_count(conf)};
	atomic_init(&server.epoch, 1);
	atomic_init(&server.stopping, false);
	atomic_init(&server.table, NULL);

	/* Workers inherit this mask; only the main thread takes the signals. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGHUP);
	sigaddset(&signals, SIGUSR1);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	server.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	server.workers = calloc(server.worker_count, sizeof(*server.workers));
	if (server.wake_fd < 0 || server.workers == NULL) {
		canon_log(CANON_LOG_ERROR, "cannot start: out of memory");
		return 1;
	}
	aliases_t al = {0};
	stop_watch_t watch = {0};
	canon_http_t *http[2] = {NULL, NULL};
	canon_control_t *ctl = NULL;
	int status = serve(&server, &al, &watch, http, &ctl, &signals);
	/* First: their requests wait on the zone manager, which must still run. */
	canon_control_stop(ctl);
	canon_http_stop(http[0]);
	canon_http_stop(http[1]);
	stop_workers(&server);
	canon_dnstap_close(server.dnstap); /* Its queues are the workers': after them. */
	/* After the workers: none of them waits on the manager any more. */
	canon_zonemgr_free(server.zonemgr);
	aliases_stop(&al);
	close(server.wake_fd);
	free(server.workers);
	canon_zonetable_free(atomic_load(&server.table));
	stop_watcher_end(&watch);
	return status;
}
