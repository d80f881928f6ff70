/*
 * canon check: the zone checker. It runs the same load and check module as
 * `canon serve` (lib/zone_load.c, lib/check.c) and reports every finding.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libknot/descriptor.h>

#include "cli/check.h"
#include "cli/commands.h"
#include "lib/check_json.h"
#include "lib/zone_load.h"

/* Exit statuses (documented in the usage text). */
enum {
	CHECK_CLEAN = 0,
	CHECK_ERRORS = 1,
	CHECK_WARNINGS = 2,
	CHECK_UNREADABLE = 3,
	CHECK_USAGE = 4,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: canon check [-o ORIGIN] [--json] [--resolve[=SERVER]] [--fix]\n"
	        "                   [--flatten=none|apex|all] [--ignore RULE]... [--now TIME] "
	        "ZONEFILE...\n"
	        "\n"
	        "  -o, --origin ORIGIN   the zone's name (default: owner of the first SOA, else\n"
	        "                        the file name)\n"
	        "  -j, --json            one JSON document instead of text\n"
	        "  -r, --resolve[=ADDR]  look up out-of-zone alias targets (at ADDR[:PORT], else\n"
	        "                        the first nameserver of /etc/resolv.conf)\n"
	        "  -f, --fix             print the zone with in-zone alias chains collapsed and\n"
	        "                        MX, NS and SRV targets moved off aliases; changes are\n"
	        "                        listed on stderr\n"
	        "      --flatten=MODE    check the zone as `canon serve` with flatten=MODE "
	        "answers\n"
	        "                        it (none, apex, all): flattened CNAMEs are ALIASes\n"
	        "      --ignore RULE     drop the findings of RULE (repeatable); the summary\n"
	        "                        says how many were dropped\n"
	        "      --now TIME        judge RRSIG validity at TIME (seconds since the epoch or\n"
	        "                        YYYYMMDDHHMMSS, UTC) instead of the clock\n"
	        "  -h, --help            print this help\n"
	        "      --version         print the version\n"
	        "\n"
	        "Exit status: 0 clean, 1 errors, 2 warnings only, 3 a file could not be read\n"
	        "or parsed, 4 bad usage.\n");
}

/* --ignore RULE: a rule id canon knows (lib/check.c or --resolve's). */
static int add_ignore(canon_check_opts_t *opts, const char *id)
{
	if (canon_rule_by_id(id) == NULL && strcmp(id, CANON_RULE_DANGLING_EXTERNAL.id) != 0 &&
	    strcmp(id, CANON_RULE_UNRESOLVED.id) != 0) {
		fprintf(stderr, "canon check: --ignore: no rule named '%s'\n", id);
		return -1;
	}
	const char **list = realloc(opts->ignore, (opts->ignore_count + 1) * sizeof(*list));
	if (list == NULL) {
		fprintf(stderr, "canon check: out of memory\n");
		return -1;
	}
	opts->ignore = list;
	list[opts->ignore_count++] = id;
	return 0;
}

/* --now: seconds since the epoch, or YYYYMMDDHHMMSS in UTC (as RRSIG times are written). */
static int parse_now(const char *text)
{
	struct tm tm = {0};
	char *end = NULL;
	errno = 0;
	long long value = strtoll(text, &end, 10);
	if (strlen(text) == 14 && *end == '\0' &&
	    sscanf(text, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec) == 6) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		value = (long long)timegm(&tm);
	} else if (errno != 0 || end == text || *end != '\0' || value <= 0) {
		fprintf(stderr,
		        "canon check: --now takes seconds since the epoch or YYYYMMDDHHMMSS, "
		        "not '%s'\n",
		        text);
		return -1;
	}
	canon_check_set_now((int64_t)value);
	return 0;
}

static int parse_args(canon_check_opts_t *opts, int argc, char **argv)
{
	static const struct option options[] = {
	        {"origin", required_argument, NULL, 'o'},  {"json", no_argument, NULL, 'j'},
	        {"resolve", optional_argument, NULL, 'r'}, {"fix", no_argument, NULL, 'f'},
	        {"flatten", required_argument, NULL, 'F'}, {"ignore", required_argument, NULL, 'I'},
	        {"now", required_argument, NULL, 'N'},     {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "o:jfh", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			opts->origin = optarg;
			break;
		case 'j':
			opts->json = true;
			break;
		case 'r':
			opts->resolve = true;
			opts->resolver = optarg;
			break;
		case 'f':
			opts->fix = true;
			break;
		case 'F':
			if (canon_flatten_parse(optarg, &opts->flatten) != 0) {
				fprintf(stderr,
				        "canon check: --flatten takes none, apex or all, not "
				        "'%s'\n",
				        optarg);
				return -1;
			}
			break;
		case 'I':
			if (add_ignore(opts, optarg) != 0) {
				return -1;
			}
			break;
		case 'N':
			if (parse_now(optarg) != 0) {
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("canon check %s\n", CANON_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "canon check: no zone file given\n");
		usage(stderr);
		return -1;
	}
	if (opts->origin != NULL && argc - optind > 1) {
		fprintf(stderr, "canon check: -o names one zone; give one file with it\n");
		return -1;
	}
	opts->files = argv + optind;
	opts->file_count = argc - optind;
	return 0;
}

/*
 * --ignore: drop the findings of the ignored rules, counting them per rule
 * (cz->ignored, in opts->ignore order) for the summary.
 */
static void drop_ignored(canon_check_zone_t *cz, const canon_check_opts_t *opts)
{
	if (opts->ignore_count == 0) {
		return;
	}
	cz->ignored = calloc(opts->ignore_count, sizeof(*cz->ignored));
	canon_findings_t kept;
	canon_findings_init(&kept);
	for (size_t i = 0; i < cz->findings.count; i++) {
		const canon_finding_t *f = &cz->findings.items[i];
		size_t r = 0;
		while (r < opts->ignore_count && strcmp(opts->ignore[r], f->rule->id) != 0) {
			r++;
		}
		if (r == opts->ignore_count) {
			canon_findings_append_copy(&kept, f);
		} else if (cz->ignored != NULL) {
			cz->ignored[r]++;
		}
	}
	canon_findings_free(&cz->findings);
	cz->findings = kept;
}

/* How many findings of ignored rule 'r' all zones dropped. */
static size_t ignored_total(const canon_check_zone_t *zones, size_t count, size_t r)
{
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		n += zones[i].ignored != NULL ? zones[i].ignored[r] : 0;
	}
	return n;
}

static void print_json(const canon_check_zone_t *zones, size_t count,
                       const canon_check_opts_t *opts)
{
	json_t *doc = json_object();
	json_t *list = json_array();
	json_t *files = json_array();
	size_t errors = 0, warnings = 0;
	for (size_t i = 0; i < count; i++) {
		const canon_findings_t *findings = &zones[i].findings;
		for (size_t j = 0; j < findings->count; j++) {
			json_array_append_new(list, canon_finding_json(&findings->items[j]));
		}
		errors += canon_findings_count(findings, CANON_SEVERITY_ERROR);
		warnings += canon_findings_count(findings, CANON_SEVERITY_WARNING);
		json_array_append_new(files,
		                      json_pack("{s:s, s:s, s:b}", "file", zones[i].path, "origin",
		                                zones[i].origin, "read", zones[i].zone != NULL));
	}
	json_object_set_new(doc, "zones", files);
	json_object_set_new(doc, "findings", list);
	json_t *summary = json_pack("{s:i, s:i}", "errors", (json_int_t)errors, "warnings",
	                            (json_int_t)warnings);
	if (opts->ignore_count > 0) {
		json_t *ignored = json_object();
		for (size_t r = 0; r < opts->ignore_count; r++) {
			json_object_set_new(
			        ignored, opts->ignore[r],
			        json_integer((json_int_t)ignored_total(zones, count, r)));
		}
		json_object_set_new(summary, "ignored", ignored);
	}
	json_object_set_new(doc, "summary", summary);
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
}

static void print_text(const canon_check_zone_t *zones, size_t count,
                       const canon_check_opts_t *opts)
{
	size_t errors = 0, warnings = 0;
	for (size_t i = 0; i < count; i++) {
		canon_findings_print(&zones[i].findings, stdout);
		errors += canon_findings_count(&zones[i].findings, CANON_SEVERITY_ERROR);
		warnings += canon_findings_count(&zones[i].findings, CANON_SEVERITY_WARNING);
	}
	printf("%zu zone%s checked: %zu error%s, %zu warning%s", count, count == 1 ? "" : "s",
	       errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
	for (size_t r = 0; r < opts->ignore_count; r++) {
		printf("%s %zu %s", r == 0 ? "; ignored:" : ",", ignored_total(zones, count, r),
		       opts->ignore[r]);
	}
	putchar('\n');
}

/* Whether part of the zone could not be read (so its check is incomplete). */
static bool unreadable(const canon_findings_t *findings)
{
	for (size_t i = 0; i < findings->count; i++) {
		if (findings->items[i].rule == &CANON_RULE_UNREADABLE) {
			return true;
		}
	}
	return false;
}

static int exit_status(const canon_check_zone_t *zones, size_t count)
{
	int status = CHECK_CLEAN;
	for (size_t i = 0; i < count; i++) {
		if (zones[i].zone == NULL || unreadable(&zones[i].findings)) {
			return CHECK_UNREADABLE;
		}
		if (canon_findings_count(&zones[i].findings, CANON_SEVERITY_ERROR) > 0) {
			status = CHECK_ERRORS;
		} else if (status == CHECK_CLEAN &&
		           canon_findings_count(&zones[i].findings, CANON_SEVERITY_WARNING) > 0) {
			status = CHECK_WARNINGS;
		}
	}
	return status;
}

static void load_zone(canon_check_zone_t *cz, const canon_check_opts_t *opts, const char *path)
{
	cz->path = path;
	canon_findings_init(&cz->findings);
	if (opts->origin != NULL) {
		size_t len = strlen(opts->origin);
		bool dotted = len > 0 && opts->origin[len - 1] == '.';
		snprintf(cz->origin, sizeof(cz->origin), "%s%s", opts->origin, dotted ? "" : ".");
	} else {
		canon_zone_guess_origin(path, cz->origin, sizeof(cz->origin));
	}
	if (canon_zone_load_full(cz->origin, path, opts->flatten, &cz->findings, &cz->zone,
	                         &cz->positions) != 0) {
		cz->zone = NULL;
		cz->positions = NULL;
	}
}

int canon_check_main(int argc, char **argv)
{
	canon_check_opts_t opts = {0};
	int ret = parse_args(&opts, argc, argv);
	if (ret != 0) {
		return ret > 0 ? CHECK_CLEAN : CHECK_USAGE;
	}
	canon_check_zone_t *zones = calloc((size_t)opts.file_count, sizeof(*zones));
	if (zones == NULL) {
		return CHECK_UNREADABLE;
	}
	for (int i = 0; i < opts.file_count; i++) {
		load_zone(&zones[i], &opts, opts.files[i]);
		if (opts.resolve && zones[i].zone != NULL &&
		    canon_check_resolve(&zones[i], opts.resolver) != 0) {
			ret = CHECK_USAGE;
		}
		drop_ignored(&zones[i], &opts);
	}
	int status = ret ? ret : exit_status(zones, (size_t)opts.file_count);
	if (opts.fix) {
		if (canon_check_fix(zones, (size_t)opts.file_count) != 0) {
			status = CHECK_UNREADABLE;
		}
	} else if (opts.json) {
		print_json(zones, (size_t)opts.file_count, &opts);
	} else {
		print_text(zones, (size_t)opts.file_count, &opts);
	}
	for (int i = 0; i < opts.file_count; i++) {
		canon_findings_free(&zones[i].findings);
		canon_zone_free(zones[i].zone);
		canon_positions_free(zones[i].positions);
		free(zones[i].ignored);
	}
	free(zones);
	free(opts.ignore);
	return status;
}
