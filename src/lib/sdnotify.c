/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <systemd/sd-daemon.h>
#include <time.h>

#include "lib/sdnotify.h"

void canon_sdnotify_ready(void)
{
	(void)sd_notify(0, "READY=1");
}

void canon_sdnotify_reloading(void)
{
	/* systemd 253+ wants the reload's start time, in CLOCK_MONOTONIC microseconds. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	unsigned long long usec = (unsigned long long)now.tv_sec * 1000000ull +
	                          (unsigned long long)now.tv_nsec / 1000ull;
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

void canon_sdnotify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}
