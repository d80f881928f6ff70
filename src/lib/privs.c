/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/privs.h"

/*
 * Root's files in the state directory (journals from a run without user:, and
 * their -wal and -shm files) become the user's. Only regular files with one
 * link, opened without following links: the user, who owns the directory,
 * cannot point this chown at a file elsewhere.
 */
static void chown_root_files(int dir_fd, uid_t uid, gid_t gid)
{
	int fd = dup(dir_fd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (dir == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	for (struct dirent *e; (e = readdir(dir)) != NULL;) {
		int file = openat(dir_fd, e->d_name,
		                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		struct stat st;
		if (file >= 0 && fstat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
		    st.st_uid == 0 && fchown(file, uid, gid) != 0) {
			canon_log(CANON_LOG_WARNING, "state-dir: cannot give %s to uid %u: %s",
			          e->d_name, (unsigned)uid, strerror(errno));
		}
		if (file >= 0) {
			close(file);
		}
	}
	closedir(dir);
}

static int prepare_state_dir(const char *path, uid_t uid, gid_t gid)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		canon_log(CANON_LOG_ERROR, "state-dir %s: cannot create: %s", path,
		          strerror(errno));
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) != 0) {
		canon_log(CANON_LOG_ERROR, "state-dir %s: cannot give it to uid %u: %s", path,
		          (unsigned)uid, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	chown_root_files(fd, uid, gid);
	close(fd);
	return 0;
}

int canon_privs_drop(const char *user, const char *state_dir)
{
	if (user == NULL) {
		return 0;
	}
	errno = 0;
	const struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		canon_log(CANON_LOG_ERROR, "user: no user named '%s'%s%s", user, errno ? ": " : "",
		          errno ? strerror(errno) : "");
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (geteuid() == uid && uid != 0) {
		return 0; /* Started as that user already (systemd's User=, su). */
	}
	if (geteuid() != 0) {
		canon_log(
		        CANON_LOG_ERROR,
		        "user: canon runs as uid %u, not as root, so it cannot become %s: start it "
		        "as root, or as %s, or leave user: out",
		        (unsigned)geteuid(), user, user);
		return -1;
	}
	if (state_dir != NULL && prepare_state_dir(state_dir, uid, gid) != 0) {
		return -1;
	}
	/* Groups first: once the uid is gone, so is the right to change them. */
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		canon_log(CANON_LOG_ERROR, "cannot become user %s: %s; refusing to run as root",
		          user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		canon_log(CANON_LOG_ERROR, "user %s can become root again; refusing to run as root",
		          user);
		return -1;
	}
	canon_log(CANON_LOG_INFO, "running as user %s (uid %u, gid %u)", user, (unsigned)uid,
	          (unsigned)gid);
	return 0;
}

int canon_state_dir_make(const char *state_dir)
{
	char path[4096];
	size_t len = strlen(state_dir);
	if (len == 0 || len >= sizeof(path)) {
		canon_log(CANON_LOG_ERROR, "state-dir '%s': not a usable path", state_dir);
		return -1;
	}
	memcpy(path, state_dir, len + 1);
	/* Each parent first, then the directory itself (the loop's last pass). */
	for (char *slash = path + 1;; slash++) {
		bool last = *slash == '\0';
		if (*slash != '/' && !last) {
			continue;
		}
		*slash = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			canon_log(CANON_LOG_ERROR, "state-dir %s: cannot create %s: %s", state_dir,
			          path, strerror(errno));
			return -1;
		}
		if (last) {
			break;
		}
		*slash = '/';
	}
	struct stat st;
	if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		canon_log(CANON_LOG_ERROR, "state-dir %s: not a directory", state_dir);
		return -1;
	}
	return 0;
}
