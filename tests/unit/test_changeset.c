/*
 * Unit tests of changesets (lib/changeset.c) and the journal (lib/journal.c):
 * a reload's diff applied to the old version gives the new one, the journal
 * form reads back the same, the journal replays, walks, trims into a
 * snapshot, and says so when its file is not a journal.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libknot/descriptor.h>

#include "lib/changeset.h"
#include "lib/journal.h"
#include "lib/zone_load.h"
#include "zone_text.h"

static const char V1[] = "$ORIGIN cs.test.\n$TTL 300\n"
                         "@ SOA ns hostmaster 1 3600 600 86400 60\n"
                         "@ NS ns\n"
                         "ns A 192.0.2.53\n"
                         "www A 192.0.2.1\n"
                         "www A 192.0.2.2\n"
                         "blog CNAME www\n"
                         "gone TXT \"bye\"\n";

static const char V2[] = "$ORIGIN cs.test.\n$TTL 300\n"
                         "@ SOA ns hostmaster 2 3600 600 86400 60\n"
                         "@ NS ns\n"
                         "ns A 192.0.2.53\n"
                         "www 600 A 192.0.2.1\n"
                         "www 600 A 192.0.2.3\n"
                         "blog CNAME www\n"
                         "new.sub MX 10 www\n";

static canon_zone_t *zone_from(const char *text)
{
	return canon_test_zone("cs.test.", text);
}

/* Whether two zones hold the same records (owner, type, TTL, rdata). */
static bool same_records(const canon_zone_t *a, const canon_zone_t *b)
{
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	assert_int_equal(canon_changeset_diff(a, b, &ch), 0);
	bool same = canon_changeset_empty(&ch) && a->record_count == b->record_count;
	canon_changeset_clear(&ch);
	return same;
}

static void test_diff_then_apply_gives_the_new_version(void **state)
{
	(void)state;
	canon_zone_t *v1 = zone_from(V1), *v2 = zone_from(V2);
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	assert_int_equal(canon_changeset_diff(v1, v2, &ch), 0);
	assert_int_equal(ch.serial_from, 1);
	assert_int_equal(ch.serial_to, 2);
	/* RFC 1995 §4 order: each side starts with its SOA. */
	assert_int_equal(ch.removed.items[0].type, KNOT_RRTYPE_SOA);
	assert_int_equal(ch.added.items[0].type, KNOT_RRTYPE_SOA);
	/* The TTL change makes the whole www A set go and come back. */
	assert_int_equal(ch.removed.records, 1 + 2 + 1); /* SOA, www A x2, gone TXT */
	assert_int_equal(ch.added.records, 1 + 2 + 1);   /* SOA, www A x2 at 600, MX */
	canon_zone_t *applied = NULL;
	assert_int_equal(canon_changeset_apply(v1, &ch, &applied), 0);
	assert_true(same_records(applied, v2));
	assert_int_equal(canon_zone_serial(applied), 2);
	/* The empty non-terminal the new MX needs exists after sealing. */
	knot_dname_t *sub = knot_dname_from_str_alloc("sub.cs.test.");
	assert_non_null(canon_zone_get_name(applied, sub));
	knot_dname_free(sub, NULL);
	canon_changeset_clear(&ch);
	canon_zone_free(applied);
	canon_zone_free(v1);
	canon_zone_free(v2);
}

static void test_blob_round_trip(void **state)
{
	(void)state;
	canon_zone_t *v1 = zone_from(V1), *v2 = zone_from(V2);
	canon_changeset_t ch, back;
	canon_changeset_init(&ch);
	canon_changeset_init(&back);
	assert_int_equal(canon_changeset_diff(v1, v2, &ch), 0);
	uint8_t *blob = NULL;
	size_t len = 0;
	assert_int_equal(canon_changeset_to_blob(&ch, &blob, &len), 0);
	assert_int_equal(canon_changeset_from_blob(blob, len, &back), 0);
	assert_int_equal(back.removed.records, ch.removed.records);
	assert_int_equal(back.added.records, ch.added.records);
	canon_zone_t *applied = NULL;
	assert_int_equal(canon_changeset_apply(v1, &back, &applied), 0);
	assert_true(same_records(applied, v2));
	/* A cut or padded blob is not read as a changeset. */
	canon_changeset_t bad;
	canon_changeset_init(&bad);
	assert_int_equal(canon_changeset_from_blob(blob, len - 3, &bad), -EINVAL);
	canon_changeset_clear(&bad);
	free(blob);
	canon_changeset_clear(&ch);
	canon_changeset_clear(&back);
	canon_zone_free(applied);
	canon_zone_free(v1);
	canon_zone_free(v2);
}

static void test_serial_arithmetic(void **state)
{
	(void)state;
	/* RFC 1982 §3.2 */
	assert_true(canon_serial_newer(2, 1));
	assert_false(canon_serial_newer(1, 2));
	assert_false(canon_serial_newer(7, 7));
	assert_true(canon_serial_newer(0, 0xffffffffu));
	assert_true(canon_serial_newer(5, 0xfffffff0u));
	assert_false(canon_serial_newer(0x80000001u, 1) && canon_serial_newer(1, 0x80000001u));
}

static char *temp_journal(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/canon-test-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *path = malloc(128);
	canon_journal_path(dir, "cs.test.", path, 128);
	return path;
}

static void remove_journal(char *path)
{
	char extra[160];
	unlink(path);
	snprintf(extra, sizeof(extra), "%s-wal", path);
	unlink(extra);
	snprintf(extra, sizeof(extra), "%s-shm", path);
	unlink(extra);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

static int count_visit(const canon_changeset_t *ch, void *ctx)
{
	(void)ch;
	(*(int *)ctx)++;
	return 0;
}

static void test_journal_append_walk_trim(void **state)
{
	(void)state;
	char *path = temp_journal();
	char error[256];
	canon_journal_t *j = NULL;
	assert_int_equal(canon_journal_open(path, false, &j, error, sizeof(error)), 0);
	canon_zone_t *v1 = zone_from(V1), *v2 = zone_from(V2);
	canon_changeset_t ch;
	canon_changeset_init(&ch);
	assert_int_equal(canon_changeset_diff(v1, v2, &ch), 0);
	assert_int_equal(canon_journal_begin(j), 0);
	assert_int_equal(canon_journal_append(j, &ch, "test"), 0);
	assert_int_equal(canon_journal_commit(j), 0);

	uint32_t last = 0;
	bool found = false;
	assert_int_equal(canon_journal_last_serial(j, &last, &found), 0);
	assert_true(found);
	assert_int_equal(last, 2);
	int visits = 0;
	assert_int_equal(canon_journal_walk(j, 1, 2, count_visit, &visits), 0);
	assert_int_equal(visits, 1);
	/* No path from a serial the journal never held. */
	assert_int_equal(canon_journal_walk(j, 7, 2, count_visit, &visits), -ENOENT);

	/* Past the depth, the current version becomes the snapshot and the changeset goes. */
	assert_int_equal(canon_journal_trim(j, 0, v2), 0);
	size_t depth = 9;
	assert_int_equal(canon_journal_depth(j, &depth), 0);
	assert_int_equal(depth, 0);
	canon_changeset_t snap;
	canon_changeset_init(&snap);
	assert_int_equal(canon_journal_snapshot(j, &snap, &found), 0);
	assert_true(found);
	assert_int_equal(snap.serial_to, 2);
	canon_zone_t *rebuilt = NULL;
	assert_int_equal(canon_changeset_apply(NULL, &snap, &rebuilt), 0);
	assert_true(same_records(rebuilt, v2));

	canon_changeset_clear(&snap);
	canon_changeset_clear(&ch);
	canon_zone_free(rebuilt);
	canon_zone_free(v1);
	canon_zone_free(v2);
	canon_journal_close(j);
	remove_journal(path);
}

static void test_corrupt_journal_is_refused_with_its_name(void **state)
{
	(void)state;
	char *path = temp_journal();
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 512; i++) {
		fputs("not a journal ", f);
	}
	fclose(f);
	char error[512];
	canon_journal_t *j = NULL;
	assert_int_not_equal(canon_journal_open(path, false, &j, error, sizeof(error)), 0);
	assert_null(j);
	assert_non_null(strstr(error, path));
	remove_journal(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_diff_then_apply_gives_the_new_version),
	        cmocka_unit_test(test_blob_round_trip),
	        cmocka_unit_test(test_serial_arithmetic),
	        cmocka_unit_test(test_journal_append_walk_trim),
	        cmocka_unit_test(test_corrupt_journal_is_refused_with_its_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
