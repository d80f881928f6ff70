/*
 * Unit tests of the HTTP side (serve/api.c, serve/static.c) that need no zone
 * manager: PowerDNS zone ids both ways, the routes that answer without
 * zones, and the web root refusing every way out of it.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "serve/api.h"
#include "serve/static.h"

static void zone_ids(void **state)
{
	(void)state;
	static const char *cases[][2] = {
	        {"example.org.", "example.org."},
	        {"odd/zone.org.", "odd=2Fzone.org."},
	        {"odd_name.test.", "odd=5Fname.test."},
	        {"a=b.test.", "a=3Db.test."},
	        {".", "=2E"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[256], name[256];
		canon_api_zone_id(cases[i][0], id, sizeof(id));
		assert_string_equal(id, cases[i][1]);
		assert_int_equal(canon_api_zone_name(id, name, sizeof(name)), 0);
		assert_string_equal(name, cases[i][0]);
	}
	char name[256];
	assert_int_equal(canon_api_zone_name("example.org", name, sizeof(name)), 0);
	assert_string_equal(name, "example.org.");
	assert_int_equal(canon_api_zone_name("bad=G1.org.", name, sizeof(name)), -EINVAL);
	assert_int_equal(canon_api_zone_name("nul=00.org.", name, sizeof(name)), -EINVAL);
	assert_int_equal(canon_api_zone_name("short=2", name, sizeof(name)), -EINVAL);
}

static canon_api_reply_t ask(const char *method, const char *path)
{
	canon_api_t api = {0};
	canon_api_request_t req = {.method = method, .path = path, .body = "", .who = "test"};
	canon_api_reply_t reply;
	canon_api_handle(&api, &req, &reply);
	return reply;
}

static void routes_without_zones(void **state)
{
	(void)state;
	canon_api_reply_t r = ask("GET", "/api/v1/servers/localhost");
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"id\":\"localhost\""));
	free(r.body);
	r = ask("DELETE", "/api/v1/servers");
	assert_int_equal(r.status, 405);
	free(r.body);
	r = ask("GET", "/api/v2/servers");
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "{\"error\":\"Not Found\"}");
	free(r.body);
	r = ask("GET", "/api/v1/servers/localhost/zones/bad=ZZ.org.");
	assert_int_equal(r.status, 404);
	free(r.body);
}

static void web_root(void **state)
{
	(void)state;
	char dir[] = "/tmp/canon-test-web-XXXXXX", path[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/root", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/root/index.html", dir);
	FILE *f = fopen(path, "w");
	fputs("<!doctype html>", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/secret", dir);
	f = fopen(path, "w");
	fputs("secret", f);
	fclose(f);
	char link[512], root[512];
	snprintf(link, sizeof(link), "%s/root/leak", dir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(root, sizeof(root), "%s/root", dir);

	canon_static_file_t file;
	assert_int_equal(canon_static_open(root, "/", &file), 0);
	assert_int_equal(file.size, 15);
	assert_string_equal(file.type, "text/html; charset=utf-8");
	close(file.fd);
	static const char *refused[] = {"/../secret", "/./index.html", "/a/../../secret", "/..",
	                                "/leak",      "relative",      "/x\\..\\secret"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(canon_static_open(root, refused[i], &file), -EACCES);
	}
	assert_int_equal(canon_static_open(root, "/missing.js", &file), -ENOENT);
	assert_string_equal(canon_static_type("app.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(canon_static_type("blob"), "application/octet-stream");
	unlink(link);
	unlink(path);
	snprintf(path, sizeof(path), "%s/root/index.html", dir);
	unlink(path);
	rmdir(root);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(zone_ids),
	        cmocka_unit_test(routes_without_zones),
	        cmocka_unit_test(web_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
