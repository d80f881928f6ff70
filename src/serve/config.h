/*
 * Server settings, from the command line or a config file. The file is plain
 * "key: value" lines; '#' starts a comment:
 *
 *   listen: 127.0.0.1:5300       # repeatable; [::1]:5300 for IPv6; port defaults to 53
 *   workers: 2                   # default: the number of CPUs
 *   log-level: info              # error, warning, info or debug
 *   udp-max-payload: 1232        # largest UDP answer with EDNS0 (512..4096)
 *   zone: example.test. examples/example.test.zone   # repeatable; paths relative to the file
 *   zone: example.org. example.org.zone flatten=apex  # CNAME flattening: none, apex, all
 *   upstream: 127.0.0.1:5301     # resolver for ALIAS targets (or root-hints: FILE)
 *   state-dir: /var/lib/canon    # journals of zones that change
 *   key: k1. hmac-sha256 BASE64  # TSIG key (repeatable)
 *   zone: example.org. example.org.zone update=k1 transfer=k1,127.0.0.0/8 notify=127.0.0.1:5301
 *   zone: example.net. example.net.zone dnssec=online   # sign answers online (needs state-dir)
 *   journal-max-depth: 1000      # changesets kept per zone before a snapshot replaces them
 *   http: 127.0.0.1:8081         # the HTTP API (PowerDNS v1 subset) and the web page
 *   api-key: SECRET              # X-API-Key the API asks for; without it, loopback only
 *   web-root: /usr/share/canon/web   # the web page's files (default: the source tree's web/)
 *   user: canon                  # run as this user once the ports are bound (serve, resolve)
 *   control: /run/canon.sock     # canon ctl's socket (default: state-dir/canon.sock)
 *   zone-max-size: 1073741824    # bytes of zone text one zone may read ($INCLUDEs too)
 *   tcp-max-clients: 1024        # TCP connections of the whole server, split across workers
 *   tcp-idle-timeout: 10         # seconds a TCP connection may wait between queries
 *   rate-limit: 0                # UDP answers a second per /24 (/56) and kind; 0: off
 *   rate-limit-slip: 2           # every Nth limited answer goes out with TC; 0: none
 *   rate-limit-exempt: 10.0.0.0/8 2001:db8::/32   # prefixes never limited
 *   cookie-secret: 32 HEX DIGITS # DNS cookie secret (default: random at start)
 *   dnstap: /var/log/canon.tap   # dnstap query log: a file, or unix:PATH a socket
 *   dnstap-log-queries: on       # AUTH_QUERY messages (on or off)
 *   dnstap-log-responses: on     # AUTH_RESPONSE messages (on or off)
 *
 * and for canon resolve:
 *
 *   root-hints: root.hints       # master file with the root's NS and addresses
 *   forward: 192.0.2.53:53       # repeatable: forward instead of iterating
 *   query-port: 53               # port of the authoritative servers asked
 *   do-not-query-address: 10.0.0.0/8  # repeatable: never send a query there
 *   allow-recursion: 192.0.2.0/24     # repeatable: clients answered (default loopback)
 *   cache-size: 67108864         # bytes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/cookie.h"
#include "lib/listen.h"
#include "lib/prefix.h"
#include "lib/tsig.h"
#include "lib/zone_load.h"

#define CANON_CONF_MAX_LISTEN CANON_LISTEN_MAX

/* Defaults and bounds of tcp-max-clients (per server) and tcp-idle-timeout (seconds). */
#define CANON_TCP_MAX_CLIENTS_DEFAULT  1024
#define CANON_TCP_MAX_CLIENTS_MAX      65536
#define CANON_TCP_IDLE_TIMEOUT_DEFAULT 10 /* RFC 7766 §6.2.3: seconds, as before */
#define CANON_TCP_IDLE_TIMEOUT_MAX     3600

/* Bounds of rate-limit (default 0: off) and rate-limit-slip (NSD's default, 2). */
#define CANON_RATE_LIMIT_MAX          1000000
#define CANON_RATE_LIMIT_SLIP_DEFAULT 2
#define CANON_RATE_LIMIT_SLIP_MAX     100

/* Who may transfer a zone: a TSIG key, or an address prefix. */
typedef struct {
	char *key; /* Key name ("k1."), or NULL for a prefix. */
	struct sockaddr_storage prefix;
	uint8_t prefix_len; /* Bits. */
} canon_acl_entry_t;

typedef struct {
	char *origin;
	char *file;
	canon_flatten_t flatten; /* CNAME flattening mode (lib/zone_load.h) */
	char **update_keys;      /* update=KEY[,KEY]: keys allowed to UPDATE (RFC 2136) */
	size_t update_key_count;
	canon_acl_entry_t *transfer; /* transfer=KEY|PREFIX[,...]: who may AXFR/IXFR */
	size_t transfer_count;
	struct sockaddr_storage *notify; /* notify=ADDR:PORT[,...]: secondaries to NOTIFY */
	socklen_t *notify_len;
	size_t notify_count;
	bool dnssec_online; /* dnssec=online: answers signed as they go out (docs/dnssec.md) */
	/* Its key (lib/sign.h), set by the zone manager; owned by serve/online_key.c. */
	const struct canon_sign_key *online_key;
} canon_zone_conf_t;

typedef struct {
	canon_listen_t listen[CANON_CONF_MAX_LISTEN];
	size_t listen_count;
	canon_zone_conf_t *zones;
	size_t zone_count;
	unsigned workers; /* 0: one per CPU. */
	int log_level;
	uint16_t udp_max_payload;
	char *path;      /* The config file, when there is one (SIGHUP re-reads its zones). */
	char *state_dir; /* state-dir: journals and other state */
	canon_tsig_keyring_t keys;  /* key: NAME ALGORITHM SECRET */
	bool keys_frozen;           /* A reload re-reads key: lines but may not change them. */
	size_t journal_max_depth;   /* journal-max-depth: changesets kept per zone */
	canon_zone_conf_t *catalog; /* catalog: NAME [transfer=...] [notify=...] (RFC 9432) */
	bool http;                  /* http: serve the API and the web page */
	struct sockaddr_storage http_addr;
	socklen_t http_len;
	bool metrics; /* metrics: a listener of its own for /metrics only */
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len;
	char *api_key;  /* api-key: the X-API-Key the API asks for, or NULL */
	char *web_root; /* web-root: the web page's directory, or NULL for the default */
	char *user;     /* user: who to run as once the sockets are open */
	char *control;  /* control: canon ctl's unix socket (default state-dir/canon.sock) */
	uint64_t zone_max_size;    /* zone-max-size: bytes (lib/zone_load.h) */
	unsigned tcp_max_clients;  /* tcp-max-clients: per server, split across the workers */
	unsigned tcp_idle_timeout; /* tcp-idle-timeout: seconds (RFC 7766 §6.2.3) */
	unsigned rate_limit;      /* rate-limit: UDP answers a second per network and kind; 0 off */
	unsigned rate_limit_slip; /* rate-limit-slip: every Nth limited answer has TC; 0 never */
	canon_acl_entry_t *rrl_exempt; /* rate-limit-exempt: prefixes (key unused) */
	size_t rrl_exempt_count;
	canon_cookie_secret_t cookie_secret; /* cookie-secret, or random (RFC 7873 §7.1) */
	char *dnstap;          /* dnstap: a file, or "unix:PATH" (serve/dnstap.h); NULL off */
	bool dnstap_queries;   /* dnstap-log-queries (default on) */
	bool dnstap_responses; /* dnstap-log-responses (default on) */
	/* canon resolve */
	char *root_hints;                                       /* root-hints: FILE */
	struct sockaddr_storage forward[CANON_CONF_MAX_LISTEN]; /* forward: ADDR[:PORT] */
	socklen_t forward_len[CANON_CONF_MAX_LISTEN];
	size_t forward_count;
	uint16_t query_port;            /* query-port: port of authoritative servers (default 53) */
	canon_prefix_list_t dont_query; /* do-not-query-address: PREFIX (repeatable) */
	canon_prefix_list_t allow_recursion; /* allow-recursion: PREFIX; none: loopback */
	size_t cache_size;                   /* cache-size: bytes (default 64 MiB) */
} canon_serve_conf_t;

void canon_conf_init(canon_serve_conf_t *conf);

/* Parse "N" for tcp-max-clients / tcp-idle-timeout into 'conf'; NULL or what is wrong. */
const char *canon_conf_set_tcp_max_clients(canon_serve_conf_t *conf, const char *text);
const char *canon_conf_set_tcp_idle_timeout(canon_serve_conf_t *conf, const char *text);

/* Parse rate-limit, rate-limit-slip "N", rate-limit-exempt "PREFIX ..."; NULL or what is wrong. */
const char *canon_conf_set_rate_limit(canon_serve_conf_t *conf, const char *text);
const char *canon_conf_set_rate_limit_slip(canon_serve_conf_t *conf, const char *text);
const char *canon_conf_add_rate_limit_exempt(canon_serve_conf_t *conf, const char *text);

/* Parse cookie-secret (CANON_COOKIE_SECRET_HEX hex digits); NULL or what is wrong. */
const char *canon_conf_set_cookie_secret(canon_serve_conf_t *conf, const char *text);

/*
 * Parse dnstap "FILE" or "unix:PATH" (relative paths from the directory of
 * 'conf_path', the config file, or NULL: as given); NULL or what is wrong
 * (also when canon was built without dnstap).
 */
const char *canon_conf_set_dnstap(canon_serve_conf_t *conf, const char *text,
                                  const char *conf_path);

/* Whether 'addr' is in a rate-limit-exempt prefix. */
bool canon_conf_rrl_exempt(const canon_serve_conf_t *conf, const struct sockaddr_storage *addr);
void canon_conf_free(canon_serve_conf_t *conf);

/* Free an array of zone settings (a zone list replaced by a reload). */
void canon_conf_free_zones(canon_zone_conf_t *zones, size_t count);

/* "127.0.0.1:5300", "[::1]:5300", "::1" or "127.0.0.1" (port 53). 0 or -EINVAL. */
int canon_conf_add_listen(canon_serve_conf_t *conf, const char *text);

/* The user to run as once the sockets are open (user:, --user); 0 or -ENOMEM. */
int canon_conf_set_user(canon_serve_conf_t *conf, const char *name);

/* Add a forwarder "ADDR[:PORT]"; 0 or -EINVAL. */
int canon_conf_add_forward(canon_serve_conf_t *conf, const char *text);

/*
 * Add a zone; 'options' is NULL or space-separated options: flatten=none|apex|all,
 * update=KEY[,KEY], transfer=KEY|PREFIX[,...], notify=ADDR:PORT[,...],
 * dnssec=online|none. Keys must
 * be defined before. Returns 0, or -EINVAL with *error saying what is wrong.
 */
int canon_conf_add_zone(canon_serve_conf_t *conf, const char *origin, const char *file,
                        const char *options, const char **error);

/*
 * The catalog zone (RFC 9432) canon makes of the zones it serves: its name and
 * options (transfer=, notify=), which zones made through the API share.
 * 0, or -EINVAL with *error.
 */
int canon_conf_set_catalog(canon_serve_conf_t *conf, const char *origin, const char *options,
                           const char **error);

/* Give 'dst' the transfer= and notify= of 'src' (copies). 0 or -ENOMEM. */
int canon_conf_copy_access(canon_zone_conf_t *dst, const canon_zone_conf_t *src);

/* Add a TSIG key (NAME, ALGORITHM, base64 SECRET); 0 or -EINVAL with *error. */
int canon_conf_add_key(canon_serve_conf_t *conf, const char *name, const char *algorithm,
                       const char *secret, const char **error);

/* The zone's settings when 'from' asks to transfer it with 'key' (NULL: unsigned). */
bool canon_conf_transfer_allowed(const canon_zone_conf_t *zone, const struct sockaddr_storage *from,
                                 const canon_tsig_key_t *key);

/* Whether 'key' (NULL: unsigned) may UPDATE the zone. */
bool canon_conf_update_allowed(const canon_zone_conf_t *zone, const canon_tsig_key_t *key);

/* "ADDR:PORT" of the HTTP server (port required). 0 or -EINVAL. */
int canon_conf_set_http(canon_serve_conf_t *conf, const char *text);

/* "ADDR:PORT" of a listener that serves /metrics only (port required). 0 or -EINVAL. */
int canon_conf_set_metrics(canon_serve_conf_t *conf, const char *text);

/* Settings that need one another (update= needs state-dir); 0 or -EINVAL after a message. */
int canon_conf_validate(const canon_serve_conf_t *conf);

/*
 * Read a config file into 'conf' (added to what is there). Errors are printed
 * to stderr as "file:line: message"; returns 0 or -EINVAL.
 */
int canon_conf_read_file(canon_serve_conf_t *conf, const char *path);
