/*
 * The web root is resolved with realpath() once per request and every file
 * must resolve below it, so neither ".." (in any escaping: the path arrives
 * decoded) nor a symlink leads out of it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve/static.h"

static const struct {
	const char *ext;
	const char *type;
} TYPES[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
        {".webmanifest", "application/manifest+json"},
};

const char *canon_static_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot != NULL && i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
		if (strcasecmp(dot, TYPES[i].ext) == 0) {
			return TYPES[i].type;
		}
	}
	return "application/octet-stream";
}

/* Whether a path has a "." or ".." segment, a backslash or a NUL-free oddity we refuse. */
static bool path_suspect(const char *path)
{
	if (path[0] != '/' || strchr(path, '\\') != NULL) {
		return true;
	}
	for (const char *seg = path + 1;; seg++) {
		size_t len = strcspn(seg, "/");
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
			return true;
		}
		seg += len;
		if (*seg == '\0') {
			return false;
		}
	}
}

int canon_static_open(const char *root, const char *path, canon_static_file_t *file)
{
	if (path_suspect(path)) {
		return -EACCES;
	}
	if (strcmp(path, "/") == 0) {
		path = "/index.html";
	}
	char base[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
	if (realpath(root, base) == NULL) {
		return -ENOENT;
	}
	snprintf(joined, sizeof(joined), "%s%s", base, path);
	if (realpath(joined, real) == NULL) {
		return errno == ENAMETOOLONG ? -EACCES : -ENOENT;
	}
	size_t len = strlen(base);
	if (strncmp(real, base, len) != 0 || real[len] != '/') {
		return -EACCES; /* A symlink out of the root. */
	}
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0) {
			close(fd);
		}
		return -ENOENT;
	}
	file->fd = fd;
	file->size = st.st_size;
	file->type = canon_static_type(real);
	return 0;
}
