/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <libdnssec/binary.h>

#include "lib/log.h"
#include "lib/net.h"
#include "serve/config.h"
#include "serve/dnstap.h"

void canon_conf_init(canon_serve_conf_t *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->log_level = CANON_LOG_INFO;
	conf->udp_max_payload = 1232; /* DNS flag day 2020: avoids IP fragmentation. */
	conf->query_port = 53;
	conf->cache_size = 64u << 20;
	conf->journal_max_depth = 1000;
	conf->zone_max_size = CANON_ZONE_MAX_SIZE_DEFAULT;
	conf->tcp_max_clients = CANON_TCP_MAX_CLIENTS_DEFAULT;
	conf->tcp_idle_timeout = CANON_TCP_IDLE_TIMEOUT_DEFAULT;
	conf->rate_limit_slip = CANON_RATE_LIMIT_SLIP_DEFAULT;
	conf->dnstap_queries = conf->dnstap_responses = true;
	/*
	 * A new secret for each start (RFC 7873 §7.1); getrandom(2) of 16 octets
	 * only waits for the kernel's pool at boot and does not fail after.
	 */
	canon_cookie_secret_random(&conf->cookie_secret);
}

static void zone_conf_free(canon_zone_conf_t *zone)
{
	free(zone->origin);
	free(zone->file);
	for (size_t i = 0; i < zone->update_key_count; i++) {
		free(zone->update_keys[i]);
	}
	free(zone->update_keys);
	for (size_t i = 0; i < zone->transfer_count; i++) {
		free(zone->transfer[i].key);
	}
	free(zone->transfer);
	free(zone->notify);
	free(zone->notify_len);
	memset(zone, 0, sizeof(*zone));
}

void canon_conf_free_zones(canon_zone_conf_t *zones, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		zone_conf_free(&zones[i]);
	}
	free(zones);
}

void canon_conf_free(canon_serve_conf_t *conf)
{
	canon_conf_free_zones(conf->zones, conf->zone_count);
	canon_conf_free_zones(conf->catalog, conf->catalog ? 1 : 0);
	free(conf->path);
	free(conf->root_hints);
	free(conf->state_dir);
	free(conf->control);
	free(conf->api_key);
	free(conf->web_root);
	free(conf->user);
	free(conf->rrl_exempt);
	free(conf->dnstap);
	canon_tsig_keyring_free(&conf->keys);
	canon_conf_init(conf);
}

int canon_conf_add_listen(canon_serve_conf_t *conf, const char *text)
{
	if (conf->listen_count == CANON_CONF_MAX_LISTEN) {
		return -EINVAL;
	}
	canon_listen_t *l = &conf->listen[conf->listen_count];
	memset(l, 0, sizeof(*l));
	if (canon_net_addr_parse(text, 53, &l->addr, &l->len) != 0) {
		return -EINVAL;
	}
	canon_net_addr_str(&l->addr, l->text, sizeof(l->text));
	conf->listen_count++;
	return 0;
}

int canon_conf_set_user(canon_serve_conf_t *conf, const char *name)
{
	free(conf->user);
	conf->user = strdup(name);
	return conf->user != NULL ? 0 : -ENOMEM;
}

int canon_conf_add_forward(canon_serve_conf_t *conf, const char *text)
{
	if (conf->forward_count == CANON_CONF_MAX_LISTEN) {
		return -EINVAL;
	}
	size_t i = conf->forward_count;
	if (canon_net_addr_parse(text, 53, &conf->forward[i], &conf->forward_len[i]) != 0) {
		return -EINVAL;
	}
	conf->forward_count++;
	return 0;
}

static int parse_unsigned(const char *text, unsigned long min, unsigned long max,
                          unsigned long *out);

/* "KEY" or "KEY." as the key's name is written in the keyring, or NULL when undefined. */
static char *key_name(const canon_serve_conf_t *conf, const char *text)
{
	const canon_tsig_key_t *key = canon_tsig_keyring_find_str(&conf->keys, text);
	return key != NULL ? strdup(key->name) : NULL;
}

static int add_update_keys(const canon_serve_conf_t *conf, canon_zone_conf_t *zone, char *list,
                           const char **error)
{
	for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
		char **keys =
		        realloc(zone->update_keys, (zone->update_key_count + 1) * sizeof(*keys));
		if (keys == NULL) {
			return -ENOMEM;
		}
		zone->update_keys = keys;
		if ((keys[zone->update_key_count] = key_name(conf, item)) == NULL) {
			*error = "update= names a key that no key: line defines";
			return -EINVAL;
		}
		zone->update_key_count++;
	}
	return 0;
}

/* "127.0.0.0/8", "::1/128", or an address alone (all its bits): lib/prefix.h. */
static int parse_prefix(const char *text, canon_acl_entry_t *entry)
{
	canon_prefix_t prefix;
	if (canon_prefix_parse(text, &prefix) != 0) {
		return -EINVAL;
	}
	entry->prefix = prefix.addr;
	entry->prefix_len = prefix.len;
	return 0;
}

static int add_transfer(const canon_serve_conf_t *conf, canon_zone_conf_t *zone, char *list,
                        const char **error)
{
	for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
		canon_acl_entry_t *acl =
		        realloc(zone->transfer, (zone->transfer_count + 1) * sizeof(*acl));
		if (acl == NULL) {
			return -ENOMEM;
		}
		zone->transfer = acl;
		canon_acl_entry_t *entry = &acl[zone->transfer_count];
		memset(entry, 0, sizeof(*entry));
		if (parse_prefix(item, entry) != 0 && (entry->key = key_name(conf, item)) == NULL) {
			*error = "transfer= takes key names (defined by key: lines) and address "
			         "prefixes such as 127.0.0.0/8";
			return -EINVAL;
		}
		zone->transfer_count++;
	}
	return 0;
}

static int add_notify(canon_zone_conf_t *zone, char *list, const char **error)
{
	for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
		size_t n = zone->notify_count + 1;
		struct sockaddr_storage *addrs = realloc(zone->notify, n * sizeof(*addrs));
		if (addrs != NULL) {
			zone->notify = addrs;
		}
		socklen_t *lens = realloc(zone->notify_len, n * sizeof(*lens));
		if (lens != NULL) {
			zone->notify_len = lens;
		}
		if (addrs == NULL || lens == NULL) {
			return -ENOMEM;
		}
		if (canon_net_addr_parse(item, 53, &addrs[n - 1], &lens[n - 1]) != 0) {
			*error = "notify= takes ADDR:PORT[,ADDR:PORT...]";
			return -EINVAL;
		}
		zone->notify_count = n;
	}
	return 0;
}

static int zone_option(const canon_serve_conf_t *conf, canon_zone_conf_t *zone, char *option,
                       const char **error)
{
	char *value = strchr(option, '=');
	if (value == NULL) {
		*error = "zone options are flatten=, update=, transfer=, notify= and dnssec=";
		return -EINVAL;
	}
	*value++ = '\0';
	if (strcmp(option, "flatten") == 0) {
		*error = "flatten must be none, apex or all";
		return canon_flatten_parse(value, &zone->flatten);
	}
	if (strcmp(option, "update") == 0) {
		return add_update_keys(conf, zone, value, error);
	}
	if (strcmp(option, "transfer") == 0) {
		return add_transfer(conf, zone, value, error);
	}
	if (strcmp(option, "notify") == 0) {
		return add_notify(zone, value, error);
	}
	if (strcmp(option, "dnssec") == 0) {
		/* docs/dnssec.md: "online" signs answers as they go out; "none" is the default. */
		*error = "dnssec must be online or none";
		if (strcmp(value, "online") != 0 && strcmp(value, "none") != 0) {
			return -EINVAL;
		}
		zone->dnssec_online = strcmp(value, "online") == 0;
		return 0;
	}
	*error = "zone options are flatten=, update=, transfer=, notify= and dnssec=";
	return -EINVAL;
}

static int zone_options(const canon_serve_conf_t *conf, canon_zone_conf_t *zone,
                        const char *options, const char **error)
{
	char *copy = strdup(options ? options : "");
	if (copy == NULL) {
		return -ENOMEM;
	}
	int ret = 0;
	char *rest = copy;
	for (char *option; ret == 0 && (option = strsep(&rest, " \t")) != NULL;) {
		if (*option != '\0') {
			ret = zone_option(conf, zone, option, error);
		}
	}
	free(copy);
	return ret;
}

int canon_conf_copy_access(canon_zone_conf_t *dst, const canon_zone_conf_t *src)
{
	dst->transfer =
	        calloc(src->transfer_count ? src->transfer_count : 1, sizeof(*dst->transfer));
	dst->notify = calloc(src->notify_count ? src->notify_count : 1, sizeof(*dst->notify));
	dst->notify_len =
	        calloc(src->notify_count ? src->notify_count : 1, sizeof(*dst->notify_len));
	if (dst->transfer == NULL || dst->notify == NULL || dst->notify_len == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < src->transfer_count; i++) {
		dst->transfer[i] = src->transfer[i];
		if (src->transfer[i].key != NULL &&
		    (dst->transfer[i].key = strdup(src->transfer[i].key)) == NULL) {
			return -ENOMEM;
		}
		dst->transfer_count = i + 1;
	}
	memcpy(dst->notify, src->notify, src->notify_count * sizeof(*dst->notify));
	memcpy(dst->notify_len, src->notify_len, src->notify_count * sizeof(*dst->notify_len));
	dst->notify_count = src->notify_count;
	return 0;
}

int canon_conf_set_catalog(canon_serve_conf_t *conf, const char *origin, const char *options,
                           const char **error)
{
	canon_zone_conf_t zone = {.origin = strdup(origin)};
	*error = "out of memory";
	int ret = zone.origin ? zone_options(conf, &zone, options, error) : -ENOMEM;
	if (ret == 0 && (zone.update_key_count > 0 || zone.flatten != CANON_FLATTEN_NONE)) {
		*error = "a catalog takes transfer= and notify= only";
		ret = -EINVAL;
	}
	if (ret == 0 && conf->catalog == NULL) {
		conf->catalog = malloc(sizeof(*conf->catalog));
		ret = conf->catalog ? 0 : -ENOMEM;
	} else if (ret == 0) {
		zone_conf_free(conf->catalog);
	}
	if (ret != 0) {
		zone_conf_free(&zone);
		return ret == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	*conf->catalog = zone;
	return 0;
}

int canon_conf_add_zone(canon_serve_conf_t *conf, const char *origin, const char *file,
                        const char *options, const char **error)
{
	canon_zone_conf_t zone = {.origin = strdup(origin), .file = strdup(file)};
	*error = "out of memory";
	int ret = zone.origin && zone.file ? zone_options(conf, &zone, options, error) : -ENOMEM;
	canon_zone_conf_t *zones = NULL;
	if (ret == 0) {
		zones = realloc(conf->zones, (conf->zone_count + 1) * sizeof(*zones));
		ret = zones ? 0 : -ENOMEM;
	}
	if (ret != 0) {
		zone_conf_free(&zone);
		return ret == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	conf->zones = zones;
	zones[conf->zone_count++] = zone;
	return 0;
}

int canon_conf_add_key(canon_serve_conf_t *conf, const char *name, const char *algorithm,
                       const char *secret, const char **error)
{
	canon_tsig_key_t key;
	if (canon_tsig_key_parse(name, algorithm, secret, &key, error) != 0) {
		return -EINVAL;
	}
	const canon_tsig_key_t *same = canon_tsig_keyring_find_str(&conf->keys, key.name);
	if (same != NULL && same->key.algorithm == key.key.algorithm &&
	    dnssec_binary_cmp(&same->key.secret, &key.key.secret) == 0) {
		canon_tsig_key_free(&key); /* Read again by a reload: nothing new. */
		return 0;
	}
	if (conf->keys_frozen) {
		/* Sessions in flight hold pointers into the keyring: it never changes. */
		*error = "keys are read at start only; restart canon to add or change a key";
		canon_tsig_key_free(&key);
		return -EINVAL;
	}
	int ret = canon_tsig_keyring_add(&conf->keys, &key);
	if (ret != 0) {
		*error = ret == -EEXIST ? "a key of that name is already defined" : "out of memory";
		canon_tsig_key_free(&key);
		return -EINVAL;
	}
	return 0;
}

/* Whether the first 'bits' bits of two addresses of one family agree. */
static bool prefix_match(const struct sockaddr_storage *prefix, uint8_t bits,
                         const struct sockaddr_storage *addr)
{
	canon_prefix_t p = {.addr = *prefix, .len = bits};
	return canon_prefix_match(&p, (const struct sockaddr *)addr);
}

bool canon_conf_transfer_allowed(const canon_zone_conf_t *zone, const struct sockaddr_storage *from,
                                 const canon_tsig_key_t *key)
{
	for (size_t i = 0; i < zone->transfer_count; i++) {
		const canon_acl_entry_t *entry = &zone->transfer[i];
		if (entry->key != NULL ? key != NULL && strcmp(entry->key, key->name) == 0
		                       : from != NULL && prefix_match(&entry->prefix,
		                                                      entry->prefix_len, from)) {
			return true;
		}
	}
	return false;
}

bool canon_conf_rrl_exempt(const canon_serve_conf_t *conf, const struct sockaddr_storage *addr)
{
	for (size_t i = 0; i < conf->rrl_exempt_count; i++) {
		if (prefix_match(&conf->rrl_exempt[i].prefix, conf->rrl_exempt[i].prefix_len,
		                 addr)) {
			return true;
		}
	}
	return false;
}

bool canon_conf_update_allowed(const canon_zone_conf_t *zone, const canon_tsig_key_t *key)
{
	for (size_t i = 0; key != NULL && i < zone->update_key_count; i++) {
		if (strcmp(zone->update_keys[i], key->name) == 0) {
			return true;
		}
	}
	return false;
}

/* "ADDR:PORT" with a port other than 0: true when 'text' is one. */
static bool parse_listener(const char *text, struct sockaddr_storage *addr, socklen_t *len)
{
	if (strchr(text, ':') == NULL || canon_net_addr_parse(text, 0, addr, len) != 0) {
		return false;
	}
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
	return (addr->ss_family == AF_INET ? in->sin_port : in6->sin6_port) != 0;
}

int canon_conf_set_http(canon_serve_conf_t *conf, const char *text)
{
	conf->http = parse_listener(text, &conf->http_addr, &conf->http_len);
	return conf->http ? 0 : -EINVAL;
}

int canon_conf_set_metrics(canon_serve_conf_t *conf, const char *text)
{
	conf->metrics = parse_listener(text, &conf->metrics_addr, &conf->metrics_len);
	return conf->metrics ? 0 : -EINVAL;
}

/* Whether an address is 127.0.0.0/8 or ::1. */
static bool is_loopback(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
	return addr->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

int canon_conf_validate(const canon_serve_conf_t *conf)
{
	if (conf->http && conf->api_key == NULL && !is_loopback(&conf->http_addr)) {
		fprintf(stderr, "http: an address other than loopback needs api-key (--api-key): "
		                "anyone who reaches it could change the zones\n");
		return -EINVAL;
	}
	if (conf->api_key != NULL && conf->api_key[0] == '\0') {
		fprintf(stderr, "api-key: the key is empty\n");
		return -EINVAL;
	}
	for (size_t i = 0; i < conf->zone_count; i++) {
		if (conf->zones[i].update_key_count > 0 && conf->state_dir == NULL) {
			fprintf(stderr,
			        "zone %s: update= needs state-dir (--state-dir): an update is "
			        "acknowledged only once it is in the journal\n",
			        conf->zones[i].origin);
			return -EINVAL;
		}
		if (conf->zones[i].dnssec_online && conf->state_dir == NULL) {
			fprintf(stderr,
			        "zone %s: dnssec=online needs state-dir (--state-dir): the zone's "
			        "signing key is kept there\n",
			        conf->zones[i].origin);
			return -EINVAL;
		}
	}
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s)) {
		s++;
	}
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1])) {
		*--end = '\0';
	}
	return s;
}

/* A zone path relative to the config file's directory. */
static void resolve_path(const char *conf_path, const char *file, char *out, size_t size)
{
	const char *slash = strrchr(conf_path, '/');
	if (file[0] == '/' || slash == NULL) {
		snprintf(out, size, "%s", file);
	} else {
		snprintf(out, size, "%.*s/%s", (int)(slash - conf_path), conf_path, file);
	}
}

static int parse_unsigned(const char *text, unsigned long min, unsigned long max,
                          unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || value < min || value > max) {
		return -EINVAL;
	}
	*out = value;
	return 0;
}

/* A number setting in [min, max]; 'error' when the text is not one. */
static const char *set_unsigned(const char *text, unsigned long min, unsigned long max,
                                unsigned *field, const char *error)
{
	unsigned long number;
	if (parse_unsigned(text, min, max, &number) != 0) {
		return error;
	}
	*field = (unsigned)number;
	return NULL;
}

const char *canon_conf_set_tcp_max_clients(canon_serve_conf_t *conf, const char *text)
{
	return set_unsigned(text, 1, CANON_TCP_MAX_CLIENTS_MAX, &conf->tcp_max_clients,
	                    "tcp-max-clients must be 1..65536");
}

const char *canon_conf_set_tcp_idle_timeout(canon_serve_conf_t *conf, const char *text)
{
	return set_unsigned(text, 1, CANON_TCP_IDLE_TIMEOUT_MAX, &conf->tcp_idle_timeout,
	                    "tcp-idle-timeout must be 1..3600 seconds");
}

const char *canon_conf_set_rate_limit(canon_serve_conf_t *conf, const char *text)
{
	return set_unsigned(text, 0, CANON_RATE_LIMIT_MAX, &conf->rate_limit,
	                    "rate-limit must be 0..1000000 answers a second (0: off)");
}

const char *canon_conf_set_rate_limit_slip(canon_serve_conf_t *conf, const char *text)
{
	return set_unsigned(text, 0, CANON_RATE_LIMIT_SLIP_MAX, &conf->rate_limit_slip,
	                    "rate-limit-slip must be 0..100 (0: drop all, 1: truncate all)");
}

const char *canon_conf_add_rate_limit_exempt(canon_serve_conf_t *conf, const char *text)
{
	char copy[1024];
	if (strlen(text) >= sizeof(copy)) {
		return "rate-limit-exempt: line too long";
	}
	strcpy(copy, text);
	char *save = NULL;
	if (strtok_r(copy, " \t,", &save) == NULL) {
		return "rate-limit-exempt needs at least one address prefix";
	}
	strcpy(copy, text);
	save = NULL;
	for (char *item = strtok_r(copy, " \t,", &save); item != NULL;
	     item = strtok_r(NULL, " \t,", &save)) {
		canon_acl_entry_t entry = {0};
		if (parse_prefix(item, &entry) != 0) {
			return "rate-limit-exempt takes address prefixes such as 192.0.2.0/24 or "
			       "2001:db8::/32";
		}
		canon_acl_entry_t *list =
		        realloc(conf->rrl_exempt, (conf->rrl_exempt_count + 1) * sizeof(*list));
		if (list == NULL) {
			return "out of memory";
		}
		list[conf->rrl_exempt_count++] = entry;
		conf->rrl_exempt = list;
	}
	return NULL;
}

const char *canon_conf_set_cookie_secret(canon_serve_conf_t *conf, const char *text)
{
	if (canon_cookie_secret_parse(&conf->cookie_secret, text) != 0) {
		return "cookie-secret must be 32 hexadecimal digits (16 octets)";
	}
	return NULL;
}

const char *canon_conf_set_dnstap(canon_serve_conf_t *conf, const char *text, const char *conf_path)
{
	if (!canon_dnstap_available()) {
		return "canon was built without dnstap support (it needs libfstrm and protobuf-c "
		       "at build time: scripts/deps build, then rebuild)";
	}
	size_t prefix = strlen(CANON_DNSTAP_UNIX_PREFIX);
	bool unix_socket = strncmp(text, CANON_DNSTAP_UNIX_PREFIX, prefix) == 0;
	const char *path = unix_socket ? text + prefix : text;
	if (*path == '\0') {
		return "needs a FILE or unix:PATH (a socket)";
	}
	char full[PATH_MAX];
	if (conf_path != NULL) {
		resolve_path(conf_path, path, full, sizeof(full));
	} else {
		snprintf(full, sizeof(full), "%s", path);
	}
	struct sockaddr_un sun;
	if (unix_socket && strlen(full) >= sizeof(sun.sun_path)) {
		return "the socket's path is longer than a unix socket address holds (107 bytes)";
	}
	char *sink = malloc(prefix + strlen(full) + 1);
	if (sink == NULL) {
		return "out of memory";
	}
	sprintf(sink, "%s%s", unix_socket ? CANON_DNSTAP_UNIX_PREFIX : "", full);
	free(conf->dnstap);
	conf->dnstap = sink;
	return NULL;
}

/* "on" or "off" into *value; NULL or what is wrong. */
static const char *parse_on_off(const char *text, bool *value)
{
	if (strcmp(text, "on") != 0 && strcmp(text, "off") != 0) {
		return "must be on or off";
	}
	*value = strcmp(text, "on") == 0;
	return NULL;
}

static int apply_zone(canon_serve_conf_t *conf, const char *path, char *value, const char **error)
{
	char *rest = value;
	char *origin = strsep(&rest, " \t");
	*error = "zone needs 'ORIGIN FILE [OPTION=VALUE...]'";
	if (rest == NULL || *trim(rest) == '\0') {
		return -EINVAL;
	}
	rest = trim(rest);
	char *file = strsep(&rest, " \t");
	char full[PATH_MAX];
	resolve_path(path, file, full, sizeof(full));
	return canon_conf_add_zone(conf, origin, full, rest ? trim(rest) : NULL, error);
}

/* key: NAME ALGORITHM SECRET */
static int apply_key(canon_serve_conf_t *conf, char *value, const char **error)
{
	char *rest = value;
	char *words[3];
	for (int i = 0; i < 3; i++) {
		while (rest != NULL && (*rest == ' ' || *rest == '\t')) {
			rest++;
		}
		words[i] = strsep(&rest, " \t");
		if (words[i] == NULL || *words[i] == '\0') {
			*error = "key needs 'NAME ALGORITHM SECRET'";
			return -EINVAL;
		}
	}
	if (rest != NULL && *trim(rest) != '\0') {
		*error = "key needs 'NAME ALGORITHM SECRET'";
		return -EINVAL;
	}
	return canon_conf_add_key(conf, words[0], words[1], words[2], error);
}

/* One "key: value" setting; returns 0 or a message for the error. */
static const char *apply_setting(canon_serve_conf_t *conf, const char *path, const char *key,
                                 char *value)
{
	unsigned long number;
	if (strcmp(key, "listen") == 0) {
		return canon_conf_add_listen(conf, value) ? "bad listen address" : NULL;
	}
	const char *error = NULL;
	if (strcmp(key, "zone") == 0) {
		return apply_zone(conf, path, value, &error) ? error : NULL;
	}
	if (strcmp(key, "catalog") == 0) {
		char *rest = value;
		char *name = strsep(&rest, " \t");
		return canon_conf_set_catalog(conf, name, rest, &error) ? error : NULL;
	}
	if (strcmp(key, "key") == 0) {
		return apply_key(conf, value, &error) ? error : NULL;
	}
	if (strcmp(key, "state-dir") == 0) {
		char full[PATH_MAX];
		resolve_path(path, value, full, sizeof(full));
		free(conf->state_dir);
		conf->state_dir = strdup(full);
		return conf->state_dir ? NULL : "out of memory";
	}
	if (strcmp(key, "http") == 0) {
		return canon_conf_set_http(conf, value) ? "http needs ADDR:PORT" : NULL;
	}
	if (strcmp(key, "metrics") == 0) {
		return canon_conf_set_metrics(conf, value) ? "metrics needs ADDR:PORT" : NULL;
	}
	if (strcmp(key, "api-key") == 0) {
		free(conf->api_key);
		conf->api_key = strdup(value);
		return conf->api_key ? NULL : "out of memory";
	}
	if (strcmp(key, "web-root") == 0) {
		char full[PATH_MAX];
		resolve_path(path, value, full, sizeof(full));
		free(conf->web_root);
		conf->web_root = strdup(full);
		return conf->web_root ? NULL : "out of memory";
	}
	if (strcmp(key, "control") == 0) {
		char full[PATH_MAX];
		resolve_path(path, value, full, sizeof(full));
		free(conf->control);
		conf->control = strdup(full);
		return conf->control ? NULL : "out of memory";
	}
	if (strcmp(key, "user") == 0) {
		return canon_conf_set_user(conf, value) ? "out of memory" : NULL;
	}
	if (strcmp(key, "journal-max-depth") == 0) {
		if (parse_unsigned(value, 1, 1000000, &number) != 0) {
			return "journal-max-depth must be 1..1000000";
		}
		conf->journal_max_depth = number;
		return NULL;
	}
	if (strcmp(key, "zone-max-size") == 0) {
		if (parse_unsigned(value, 4096, 1ul << 40, &number) != 0) {
			return "zone-max-size must be 4096..1099511627776 bytes";
		}
		conf->zone_max_size = number;
		return NULL;
	}
	if (strcmp(key, "tcp-max-clients") == 0) {
		return canon_conf_set_tcp_max_clients(conf, value);
	}
	if (strcmp(key, "tcp-idle-timeout") == 0) {
		return canon_conf_set_tcp_idle_timeout(conf, value);
	}
	if (strcmp(key, "rate-limit") == 0) {
		return canon_conf_set_rate_limit(conf, value);
	}
	if (strcmp(key, "rate-limit-slip") == 0) {
		return canon_conf_set_rate_limit_slip(conf, value);
	}
	if (strcmp(key, "rate-limit-exempt") == 0) {
		return canon_conf_add_rate_limit_exempt(conf, value);
	}
	if (strcmp(key, "cookie-secret") == 0) {
		return canon_conf_set_cookie_secret(conf, value);
	}
	if (strcmp(key, "dnstap") == 0) {
		return canon_conf_set_dnstap(conf, value, path);
	}
	if (strcmp(key, "dnstap-log-queries") == 0) {
		return parse_on_off(value, &conf->dnstap_queries);
	}
	if (strcmp(key, "dnstap-log-responses") == 0) {
		return parse_on_off(value, &conf->dnstap_responses);
	}
	if (strcmp(key, "workers") == 0) {
		if (parse_unsigned(value, 1, 256, &number) != 0) {
			return "workers must be 1..256";
		}
		conf->workers = (unsigned)number;
		return NULL;
	}
	if (strcmp(key, "udp-max-payload") == 0) {
		if (parse_unsigned(value, 512, 4096, &number) != 0) {
			return "udp-max-payload must be 512..4096";
		}
		conf->udp_max_payload = (uint16_t)number;
		return NULL;
	}
	if (strcmp(key, "root-hints") == 0) {
		char full[PATH_MAX];
		resolve_path(path, value, full, sizeof(full));
		free(conf->root_hints);
		conf->root_hints = strdup(full);
		return conf->root_hints ? NULL : "out of memory";
	}
	if (strcmp(key, "forward") == 0 || strcmp(key, "upstream") == 0) {
		return canon_conf_add_forward(conf, value) ? "bad forwarder address" : NULL;
	}
	if (strcmp(key, "query-port") == 0) {
		if (parse_unsigned(value, 1, 65535, &number) != 0) {
			return "query-port must be 1..65535";
		}
		conf->query_port = (uint16_t)number;
		return NULL;
	}
	if (strcmp(key, "do-not-query-address") == 0) {
		return canon_prefix_list_add(&conf->dont_query, value) == 0
		               ? NULL
		               : "do-not-query-address: expected ADDRESS[/BITS] (at most 32)";
	}
	if (strcmp(key, "allow-recursion") == 0) {
		return canon_prefix_list_add(&conf->allow_recursion, value) == 0
		               ? NULL
		               : "allow-recursion: expected ADDRESS[/BITS] (at most 32)";
	}
	if (strcmp(key, "cache-size") == 0) {
		if (parse_unsigned(value, 1u << 20, 1ul << 40, &number) != 0) {
			return "cache-size must be at least 1048576 bytes";
		}
		conf->cache_size = number;
		return NULL;
	}
	if (strcmp(key, "log-level") == 0) {
		conf->log_level = canon_log_level_parse(value);
		return conf->log_level < 0 ? "log-level must be error, warning, info or debug"
		                           : NULL;
	}
	return "unknown setting";
}

int canon_conf_read_file(canon_serve_conf_t *conf, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return -EINVAL;
	}
	char buf[4096];
	int ret = 0;
	for (unsigned line = 1; fgets(buf, sizeof(buf), f) != NULL; line++) {
		char *hash = strchr(buf, '#');
		if (hash != NULL) {
			*hash = '\0';
		}
		char *text = trim(buf);
		if (*text == '\0') {
			continue;
		}
		char *colon = strchr(text, ':');
		if (colon == NULL) {
			fprintf(stderr, "%s:%u: expected 'key: value'\n", path, line);
			ret = -EINVAL;
			continue;
		}
		*colon = '\0';
		char *key = trim(text);
		const char *error = apply_setting(conf, path, key, trim(colon + 1));
		if (error != NULL) {
			fprintf(stderr, "%s:%u: %s: %s\n", path, line, key, error);
			ret = -EINVAL;
		}
	}
	fclose(f);
	if (ret == 0 && conf->path == NULL) {
		conf->path = strdup(path);
	}
	return ret;
}
