/*
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/descriptor.h>
#include <libknot/rrtype/opt.h>

#include "lib/zone.h"
#include "serve/metrics.h"
#include "serve/worker.h"
#include "serve/zoneapi.h"

/* Indexed by canon_metrics_rcode_index(). */
static const char *const RCODE_NAMES[CANON_METRICS_RCODES] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN",
        "YXRRSET", "NXRRSET", "NOTAUTH",  "NOTZONE",  "BADVERS", "other",
};

/* Indexed by canon_metrics_qtype_index(). */
static const char *const QTYPE_NAMES[CANON_METRICS_QTYPES] = {
        "A",   "AAAA", "CNAME",  "MX",    "TXT", "NS",   "SOA",  "SRV",
        "PTR", "DS",   "DNSKEY", "HTTPS", "ANY", "AXFR", "IXFR", "other",
};

static uint64_t load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* Every worker's counters added up. */
static void sum(const canon_worker_t *workers, unsigned count, canon_metrics_t *total)
{
	memset(total, 0, sizeof(*total));
	for (unsigned w = 0; w < count; w++) {
		const canon_metrics_t *m = &workers[w].metrics;
		for (unsigned r = 0; r < CANON_METRICS_RCODES; r++) {
			for (unsigned q = 0; q < CANON_METRICS_QTYPES; q++) {
				for (unsigned t = 0; t < 2; t++) {
					total->responses[r][q][t] += load(&m->responses[r][q][t]);
				}
			}
		}
		for (unsigned h = 0; h < CANON_METRICS_HOPS; h++) {
			total->chained[h] += load(&m->chained[h]);
		}
		total->flattened += load(&m->flattened);
		total->stale += load(&m->stale);
		total->rrl_dropped += load(&m->rrl_dropped);
		total->rrl_slipped += load(&m->rrl_slipped);
		total->tcp_evicted += load(&m->tcp_evicted);
		for (unsigned i = 0; i < 3; i++) {
			total->signatures[i] += load(&m->signatures[i]);
		}
	}
}

static void header(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter without labels: its HELP, TYPE and value. */
static void counter(FILE *out, const char *name, const char *help, uint64_t value)
{
	header(out, name, "counter", help);
	fprintf(out, "%s %" PRIu64 "\n", name, value);
}

/* Only the series that counted something: a scrape stays short on a quiet server. */
static void render_counters(FILE *out, const canon_metrics_t *t)
{
	static const char *const TRANSPORTS[2] = {"udp", "tcp"};
	header(out, "canon_responses_total", "counter",
	       "DNS responses sent, by rcode, qtype, transport.");
	for (unsigned r = 0; r < CANON_METRICS_RCODES; r++) {
		for (unsigned q = 0; q < CANON_METRICS_QTYPES; q++) {
			for (unsigned tr = 0; tr < 2; tr++) {
				if (t->responses[r][q][tr] != 0) {
					fprintf(out,
					        "canon_responses_total{rcode=\"%s\",qtype=\"%s\","
					        "transport=\"%s\"} %" PRIu64 "\n",
					        RCODE_NAMES[r], QTYPE_NAMES[q], TRANSPORTS[tr],
					        t->responses[r][q][tr]);
				}
			}
		}
	}
	header(out, "canon_alias_chain_answers_total", "counter",
	       "Answers that followed CNAME/DNAME links, by number of links.");
	for (unsigned h = 0; h < CANON_METRICS_HOPS; h++) {
		if (t->chained[h] != 0) {
			fprintf(out, "canon_alias_chain_answers_total{hops=\"%u\"} %" PRIu64 "\n",
			        h + 1, t->chained[h]);
		}
	}
	counter(out, "canon_flattened_answers_total",
	        "A/AAAA answers at ALIAS (or flattened CNAME) names, from the target's addresses.",
	        t->flattened);
	counter(out, "canon_stale_answers_total",
	        "Flattened answers from addresses past their TTL (RFC 8767, EDE 3).", t->stale);
	counter(out, "canon_rrl_dropped_total",
	        "UDP answers not sent because their client network was over rate-limit.",
	        t->rrl_dropped);
	counter(out, "canon_rrl_slipped_total",
	        "UDP answers over rate-limit sent truncated (TC) instead (rate-limit-slip).",
	        t->rrl_slipped);
	counter(out, "canon_tcp_evicted_total",
	        "Idle TCP connections closed to make room for a new one (tcp-max-clients).",
	        t->tcp_evicted);
	header(out, "canon_online_signatures_total", "counter",
	       "RRSIGs of dnssec=online zones put in answers: from the cache, made, failed.");
	static const char *const SIG_RESULTS[3] = {"cached", "made", "failed"};
	for (unsigned i = 0; i < 3; i++) {
		fprintf(out, "canon_online_signatures_total{result=\"%s\"} %" PRIu64 "\n",
		        SIG_RESULTS[i], t->signatures[i]);
	}
}

/* A zone name as a label value: origins are presentation-format names, '\' and '"' escaped. */
static void put_label(FILE *out, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"') {
			fputc('\\', out);
		}
		fputc(*p == '\n' ? ' ' : *p, out);
	}
}

static int render_zones(void *ctx, const canon_zone_view_t *zones, size_t count,
                        const canon_zonetable_t *table)
{
	(void)table;
	FILE *out = ctx;
	header(out, "canon_zone_loaded", "gauge",
	       "1 when the zone is served, 0 when it failed to load.");
	for (size_t i = 0; i < count; i++) {
		fputs("canon_zone_loaded{zone=\"", out);
		put_label(out, zones[i].origin);
		fprintf(out, "\"} %d\n", zones[i].zone != NULL);
	}
	header(out, "canon_zone_serial", "gauge", "SOA serial of the version served.");
	for (size_t i = 0; i < count; i++) {
		if (zones[i].zone != NULL) {
			fputs("canon_zone_serial{zone=\"", out);
			put_label(out, zones[i].origin);
			fprintf(out, "\"} %u\n", canon_zone_serial(zones[i].zone));
		}
	}
	header(out, "canon_zone_loaded_timestamp_seconds", "gauge",
	       "Unix time the version served was published (load, reload or change).");
	for (size_t i = 0; i < count; i++) {
		if (zones[i].zone != NULL && zones[i].published > 0) {
			fputs("canon_zone_loaded_timestamp_seconds{zone=\"", out);
			put_label(out, zones[i].origin);
			fprintf(out, "\"} %" PRId64 "\n", zones[i].published);
		}
	}
	return 0;
}

int canon_metrics_render(const canon_worker_t *workers, unsigned count, struct canon_zonemgr *mgr,
                         char **text, size_t *len)
{
	canon_metrics_t *total = malloc(sizeof(*total));
	char *buf = NULL;
	size_t size = 0;
	FILE *out = total != NULL ? open_memstream(&buf, &size) : NULL;
	if (out == NULL) {
		free(total);
		return -ENOMEM;
	}
	sum(workers, count, total);
	render_counters(out, total);
	free(total);
	int ret = mgr != NULL ? canon_zonemgr_read(mgr, render_zones, out) : 0;
	if (fclose(out) != 0 || ret != 0) {
		free(buf);
		return ret != 0 ? ret : -ENOMEM;
	}
	*text = buf;
	*len = size;
	return 0;
}

int canon_metrics_write_text(const canon_worker_t *workers, unsigned count, FILE *out)
{
	canon_metrics_t *t = malloc(sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	sum(workers, count, t);
	uint64_t all = 0, by_transport[2] = {0, 0}, chained = 0;
	for (unsigned r = 0; r < CANON_METRICS_RCODES; r++) {
		for (unsigned q = 0; q < CANON_METRICS_QTYPES; q++) {
			by_transport[0] += t->responses[r][q][0];
			by_transport[1] += t->responses[r][q][1];
		}
	}
	all = by_transport[0] + by_transport[1];
	fprintf(out, "responses: %" PRIu64 " (udp %" PRIu64 ", tcp %" PRIu64 ")\n", all,
	        by_transport[0], by_transport[1]);
	for (unsigned r = 0; r < CANON_METRICS_RCODES; r++) {
		for (unsigned q = 0; q < CANON_METRICS_QTYPES; q++) {
			uint64_t n = t->responses[r][q][0] + t->responses[r][q][1];
			if (n != 0) {
				fprintf(out, "  %-8s %-6s %" PRIu64 "\n", RCODE_NAMES[r],
				        QTYPE_NAMES[q], n);
			}
		}
	}
	for (unsigned h = 0; h < CANON_METRICS_HOPS; h++) {
		chained += t->chained[h];
	}
	fprintf(out, "alias chain answers: %" PRIu64 "\n", chained);
	for (unsigned h = 0; h < CANON_METRICS_HOPS; h++) {
		if (t->chained[h] != 0) {
			fprintf(out, "  %u hop%s %" PRIu64 "\n", h + 1, h == 0 ? " " : "s",
			        t->chained[h]);
		}
	}
	fprintf(out, "flattened answers: %" PRIu64 "\n", t->flattened);
	fprintf(out, "stale answers: %" PRIu64 "\n", t->stale);
	fprintf(out, "rate-limited answers: %" PRIu64 " dropped, %" PRIu64 " truncated\n",
	        t->rrl_dropped, t->rrl_slipped);
	fprintf(out, "TCP connections evicted: %" PRIu64 "\n", t->tcp_evicted);
	fprintf(out,
	        "online signatures: %" PRIu64 " from the cache, %" PRIu64 " made, %" PRIu64
	        " failed\n",
	        t->signatures[CANON_SIG_CACHED], t->signatures[CANON_SIG_MADE],
	        t->signatures[CANON_SIG_FAILED]);
	free(t);
	return 0;
}
