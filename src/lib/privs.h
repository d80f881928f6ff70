/*
 * Running as an unprivileged user: the daemons bind their ports (53 needs
 * root or CAP_NET_BIND_SERVICE), then become the user of `user:` (--user)
 * before they read zones, open journals or start threads.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

/*
 * Become 'user' (its uid, gid and groups), for good: call it once every
 * listening socket is open and before any thread starts. 'state_dir', when
 * not NULL, is created if missing and given to the user, with the files a run
 * as root left in it. Nothing to do when 'user' is NULL, or when the process
 * already runs as that user. Returns 0, or -1 after logging why: the caller
 * must then stop rather than serve as root.
 */
int canon_privs_drop(const char *user, const char *state_dir);

/*
 * Make 'state_dir' (and missing parents, mode 0750) for the user the process
 * runs as, as knotd makes its storage: a first start needs no mkdir by hand.
 * Returns 0 (also when it exists), or -1 after logging why.
 */
int canon_state_dir_make(const char *state_dir);
