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

#include "lib/log.h"
#include "lib/net.h"
#include "serve/config.h"

void canon_conf_init(canon_serve_conf_t *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->log_level = CANON_LOG_INFO;
	conf->udp_max_payload = 1232; /* DNS flag day 2020: avoids IP fragmentation. */
	conf->query_port = 53;
	conf->cache_size = 64u << 20;
}

void canon_conf_free(canon_serve_conf_t *conf)
{
	for (size_t i = 0; i < conf->zone_count; i++) {
		free(conf->zones[i].origin);
		free(conf->zones[i].file);
	}
	free(conf->zones);
	free(conf->path);
	free(conf->root_hints);
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

int canon_conf_add_zone(canon_serve_conf_t *conf, const char *origin, const char *file,
                        const char *options)
{
	canon_flatten_t flatten = CANON_FLATTEN_NONE;
	if (options != NULL && *options != '\0' &&
	    (strncmp(options, "flatten=", 8) != 0 ||
	     canon_flatten_parse(options + 8, &flatten) != 0)) {
		return -EINVAL;
	}
	canon_zone_conf_t *zones = realloc(conf->zones, (conf->zone_count + 1) * sizeof(*zones));
	if (zones == NULL) {
		return -ENOMEM;
	}
	conf->zones = zones;
	zones[conf->zone_count].origin = strdup(origin);
	zones[conf->zone_count].file = strdup(file);
	zones[conf->zone_count].flatten = flatten;
	if (zones[conf->zone_count].origin == NULL || zones[conf->zone_count].file == NULL) {
		free(zones[conf->zone_count].origin);
		free(zones[conf->zone_count].file);
		return -ENOMEM;
	}
	conf->zone_count++;
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

static int apply_zone(canon_serve_conf_t *conf, const char *path, char *value)
{
	char *rest = value;
	char *origin = strsep(&rest, " \t");
	if (rest == NULL || *trim(rest) == '\0') {
		return -EINVAL;
	}
	rest = trim(rest);
	char *file = strsep(&rest, " \t");
	char full[PATH_MAX];
	resolve_path(path, file, full, sizeof(full));
	return canon_conf_add_zone(conf, origin, full, rest ? trim(rest) : NULL);
}

/* One "key: value" setting; returns 0 or a message for the error. */
static const char *apply_setting(canon_serve_conf_t *conf, const char *path, const char *key,
                                 char *value)
{
	unsigned long number;
	if (strcmp(key, "listen") == 0) {
		return canon_conf_add_listen(conf, value) ? "bad listen address" : NULL;
	}
	if (strcmp(key, "zone") == 0) {
		return apply_zone(conf, path, value)
		               ? "zone needs 'ORIGIN FILE [flatten=none|apex|all]'"
		               : NULL;
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
