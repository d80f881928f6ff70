/*
 * libFuzzer target for the UPDATE path (RFC 2136): any bytes in as an UPDATE
 * for a zone with every alias case; the prerequisites and updates run, a
 * resulting changeset is applied, checked, written to the journal form and
 * read back. Nothing may crash or leak, and whatever is applied must keep the
 * zone loadable (no finding that blocks serving) and its serial must grow.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/packet/pkt.h>

#include "lib/changeset.h"
#include "lib/check.h"
#include "lib/log.h"
#include "lib/zone_load.h"
#include "serve/update.h"

static canon_zone_t *zone;

static void setup(void)
{
	canon_log_set_level(CANON_LOG_ERROR); /* Skipped records are logged as warnings. */
	canon_findings_t findings;
	canon_findings_init(&findings);
	if (canon_zone_load("alias.test.", CANON_FUZZ_ZONE, &findings, &zone) != 0) {
		abort();
	}
	canon_findings_free(&findings);
}

/* The changeset survives the journal's blob form unchanged in size. */
static void round_trip(const canon_changeset_t *ch)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	if (canon_changeset_to_blob(ch, &blob, &len) != 0) {
		abort();
	}
	canon_changeset_t back;
	canon_changeset_init(&back);
	if (canon_changeset_from_blob(blob, len, &back) != 0 ||
	    back.added.records != ch->added.records ||
	    back.removed.records != ch->removed.records) {
		abort();
	}
	canon_changeset_clear(&back);
	free(blob);
}

static void apply_and_verify(const canon_changeset_t *ch)
{
	canon_zone_t *next = NULL;
	if (canon_changeset_apply(zone, ch, &next) != 0) {
		abort(); /* The update built it from this zone: it must apply. */
	}
	if (!canon_serial_newer(canon_zone_serial(next), canon_zone_serial(zone))) {
		abort();
	}
	canon_findings_t findings;
	canon_findings_init(&findings);
	canon_check_zone(next, NULL, &findings);
	if (canon_findings_block_load(&findings)) {
		abort(); /* An update let a rule break that the loader refuses. */
	}
	canon_findings_free(&findings);
	canon_zone_free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (zone == NULL) {
		setup();
	}
	if (size > 65535) {
		return 0;
	}
	static uint8_t wire[65535];
	memcpy(wire, data, size);
	knot_pkt_t *pkt = knot_pkt_new(wire, size, NULL);
	if (pkt == NULL || knot_pkt_parse(pkt, 0) != 0 || knot_pkt_qtype(pkt) != KNOT_RRTYPE_SOA) {
		knot_pkt_free(pkt);
		return 0;
	}
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	if (canon_update_process(zone, pkt, "fuzz", &ch) == KNOT_RCODE_NOERROR &&
	    ch.added.count > 0) {
		round_trip(&ch);
		apply_and_verify(&ch);
	}
	canon_changeset_clear(&ch);
	knot_pkt_free(pkt);
	return 0;
}
