/*
 * Telling systemd how a daemon is doing (sd_notify(3), for Type=notify
 * units). Each call does nothing when NOTIFY_SOCKET is not set, as outside
 * systemd; errors are ignored, since serving matters more than the message.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

/* Every socket is open and queries are answered: READY=1. */
void canon_sdnotify_ready(void);

/* A reload (SIGHUP) starts: RELOADING=1 with the time; canon_sdnotify_ready() ends it. */
void canon_sdnotify_reloading(void);

/* The daemon is stopping: STOPPING=1. */
void canon_sdnotify_stopping(void);
