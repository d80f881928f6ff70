/*
 * libFuzzer target for the configuration parser (canon.conf(5)): any bytes in
 * as a config file, read, checked and freed as `canon serve -c` does. Nothing
 * may crash, leak or hang; a file that was refused must not have been half
 * applied in a way that fails when freed. Its error lines go to stderr (run
 * with -close_fd_mask=2 to keep a campaign quiet).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "serve/config.h"

static char conf_path[128];

static void setup(void)
{
	char dir[] = "/tmp/canon-fuzz-config-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		abort();
	}
	snprintf(conf_path, sizeof(conf_path), "%s/canon.conf", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (conf_path[0] == '\0') {
		setup();
	}
	int fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		abort();
	}
	close(fd);
	canon_serve_conf_t conf;
	canon_conf_init(&conf);
	if (canon_conf_read_file(&conf, conf_path) == 0) {
		canon_conf_validate(&conf);
	}
	canon_conf_free(&conf);
	return 0;
}
