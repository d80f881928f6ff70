/*
 * The web page's files, served from one directory (web-root) and nothing
 * outside it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* An open file of the web root: the caller closes 'fd'. */
typedef struct {
	int fd;
	off_t size;
	const char *type; /* Content-Type, from the name's extension. */
} canon_static_file_t;

/*
 * Open 'path' (the request's path, already percent-decoded; "/" means
 * "/index.html") below 'root'. A path with a ".." or "." segment, a
 * backslash, or that resolves (through symlinks) outside the root is refused
 * with -EACCES; a file that is not there or not a regular file is -ENOENT.
 * Returns 0 with *file filled.
 */
int canon_static_open(const char *root, const char *path, canon_static_file_t *file);

/* The Content-Type of a file name ("text/html; charset=utf-8", ...). */
const char *canon_static_type(const char *name);
