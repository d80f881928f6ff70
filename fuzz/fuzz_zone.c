/*
 * libFuzzer target for the zone loader: any bytes in as a zone file, with
 * $GENERATE, $INCLUDE (of itself, of a helper file, of a FIFO) and the ALIAS
 * rewrite; the zone is loaded, checked and its findings printed. Nothing may
 * crash, leak or hang, and a load that fails must say why (a finding).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libknot/dname.h>

#include "lib/zone_load.h"

static char zone_path[128];
static FILE *null_out;

/* The helper files an input may $INCLUDE: "inc.zone", "fifo" and the input itself, "z.zone". */
static void setup(void)
{
	char dir[] = "/tmp/canon-fuzz-zone-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		abort();
	}
	snprintf(zone_path, sizeof(zone_path), "%s/z.zone", dir);
	char path[128];
	snprintf(path, sizeof(path), "%s/inc.zone", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		abort();
	}
	fputs("inc A 192.0.2.1\n$GENERATE 1-3 g$ AAAA 2001:db8::$\nal ALIAS inc\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	mkfifo(path, 0600);
	null_out = fopen("/dev/null", "w");
	/* Small limits keep each run short: 64 KiB of text, as 16 $INCLUDEs or ~3,000 records. */
	canon_zone_limits_t limits;
	canon_zone_load_get_limits(&limits);
	limits.max_size = 64 * 1024;
	canon_zone_load_set_limits(&limits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (null_out == NULL) {
		setup();
	}
	int fd = open(zone_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		abort();
	}
	close(fd);
	char origin[KNOT_DNAME_TXT_MAXLEN + 1];
	canon_zone_guess_origin(zone_path, origin, sizeof(origin));
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_zone_t *zone = NULL;
	canon_zone_positions_t *positions = NULL;
	int ret = canon_zone_load_full(origin, zone_path, (canon_flatten_t)(size % 3), &findings,
	                               &zone, &positions);
	if (ret != 0 && ret != -ENOMEM && findings.count == 0) {
		abort(); /* Every failed load names file:line and the reason. */
	}
	canon_findings_print(&findings, null_out);
	canon_findings_free(&findings);
	if (ret == 0) {
		canon_positions_free(positions);
		canon_zone_free(zone);
	}
	return 0;
}
