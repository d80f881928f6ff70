/*
 * bench/blast.c: a minimal, cheap DNS-over-UDP load generator for bench/.
 *
 * dnsperf costs about as much CPU per query as a fast server does, so on a
 * small machine it is the bottleneck and every server looks the same. blast
 * does the least a client can: every query of the file is encoded once at
 * start; then one UDP socket, connected to the server, keeps a fixed window
 * of queries outstanding, sending and receiving in sendmmsg/recvmmsg batches
 * (two syscalls per batch, nothing per query, no allocation in the loop).
 *
 *   blast -s ADDR -p PORT -d FILE [-l SECONDS] [-q WINDOW] [-t TIMEOUT]
 *         [-b BATCH] [-n COUNT] [-e] [-D] [-S]
 *
 *   -d FILE     queries in dnsperf format: "name TYPE" per line (blank lines
 *               and lines starting with ';' or '#' are skipped); sent in file
 *               order, wrapping around at the end, like dnsperf does
 *   -l SECONDS  how long to send (default 8, fractions allowed)
 *   -q WINDOW   queries outstanding at any time (default 200, at most 60000)
 *   -t TIMEOUT  seconds after which an unanswered query counts as lost and
 *               its slot is given to the next query (default 1)
 *   -b BATCH    most messages per sendmmsg/recvmmsg (default 64)
 *   -n COUNT    stop after sending COUNT queries (or at -l, whichever is
 *               first): bench/cost.py counts instructions for a fixed set
 *   -e          add an EDNS0 OPT record (UDP size 4096), like dnsperf -e
 *   -D          set the DO bit (implies -e)
 *   -S          busy-poll: never block in recvmmsg (burns the client's core;
 *               by default blast blocks when the window is full)
 *
 * Queries have RD set and ID assigned at send time, like dnsperf's. Each
 * response is matched by ID against a table of the queries in flight, and
 * its question section must equal the query's; others are counted as
 * unexpected and otherwise ignored. When the time is up, blast stops
 * sending and waits (at most TIMEOUT) for the answers still in flight, then
 * prints a summary in dnsperf's format (Queries sent/completed/lost,
 * Response codes, Run time, Queries per second: bench/bench.py parses it
 * with the same code), plus blast's own CPU time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH  256
#define RBUF       4096
#define NIDS       65536
#define MAX_WINDOW 60000
#define FIFO_BITS  22 /* send-order ring of (id, generation): 4M entries */
#define FIFO_SIZE  (1u << FIFO_BITS)
#define FIFO_MASK  (FIFO_SIZE - 1)

/* ---------------------------------------------------------------- queries */

/* All encoded queries, back to back; query i is wire[off[i]] .. wire[off[i+1]]. */
static uint8_t *wire;
static uint32_t *off;
static uint32_t nq;
static size_t wire_len, wire_cap;
static uint32_t off_cap;

static const struct {
	const char *name;
	uint16_t code;
} types[] = {
        {"A", 1},       {"NS", 2},      {"CNAME", 5},     {"SOA", 6},         {"PTR", 12},
        {"HINFO", 13},  {"MX", 15},     {"TXT", 16},      {"RP", 17},         {"AFSDB", 18},
        {"SIG", 24},    {"KEY", 25},    {"AAAA", 28},     {"LOC", 29},        {"SRV", 33},
        {"NAPTR", 35},  {"KX", 36},     {"CERT", 37},     {"DNAME", 39},      {"APL", 42},
        {"DS", 43},     {"SSHFP", 44},  {"IPSECKEY", 45}, {"RRSIG", 46},      {"NSEC", 47},
        {"DNSKEY", 48}, {"DHCID", 49},  {"NSEC3", 50},    {"NSEC3PARAM", 51}, {"TLSA", 52},
        {"SMIMEA", 53}, {"HIP", 55},    {"CDS", 59},      {"CDNSKEY", 60},    {"OPENPGPKEY", 61},
        {"CSYNC", 62},  {"ZONEMD", 63}, {"SVCB", 64},     {"HTTPS", 65},      {"SPF", 99},
        {"NID", 104},   {"L32", 105},   {"L64", 106},     {"LP", 107},        {"EUI48", 108},
        {"EUI64", 109}, {"TKEY", 249},  {"TSIG", 250},    {"IXFR", 251},      {"AXFR", 252},
        {"ANY", 255},   {"URI", 256},   {"CAA", 257},
};

static int parse_type(const char *s, uint16_t *out)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(s, types[i].name) == 0) {
			*out = types[i].code;
			return 0;
		}
	}
	if (strncasecmp(s, "TYPE", 4) == 0 && isdigit((unsigned char)s[4])) {
		char *end;
		unsigned long v = strtoul(s + 4, &end, 10);
		if (*end == '\0' && v <= 65535) {
			*out = (uint16_t)v;
			return 0;
		}
	}
	return -1;
}

/* Presentation-format name (with \X and \DDD escapes; relative names are
 * taken as absolute, like dnsperf) to wire format. Returns the length, or
 * -1 if the name is not valid. */
static int encode_name(const char *s, uint8_t *out)
{
	int len = 0;
	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	while (*s) {
		int lpos = len++;
		int llen = 0;
		while (*s && *s != '.') {
			int c = (unsigned char)*s++;
			if (c == '\\') {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
					if (c > 255) {
						return -1;
					}
					s += 3;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return -1;
				}
			}
			if (llen == 63 || len >= 254) {
				return -1;
			}
			out[len++] = (uint8_t)c;
			llen++;
		}
		if (llen == 0) {
			return -1; /* empty label: "a..b" or a leading dot */
		}
		out[lpos] = (uint8_t)llen;
		if (*s == '.') {
			s++;
		}
	}
	out[len++] = 0;
	return len;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fprintf(stderr, "blast: out of memory\n");
		exit(1);
	}
	return p;
}

static void load_queries(const char *path, int edns, int dnssec)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "blast: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	char line[2048];
	unsigned long lineno = 0;
	off_cap = 1024;
	off = xrealloc(NULL, off_cap * sizeof(*off));
	off[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char name[1024], type[64];
		if (line[0] == ';' || line[0] == '#') {
			continue;
		}
		int k = sscanf(line, "%1023s %63s", name, type);
		if (k <= 0) {
			continue;
		}
		uint16_t qtype = 1;
		if (k == 2 && parse_type(type, &qtype) != 0) {
			fprintf(stderr, "blast: %s:%lu: unknown type %s\n", path, lineno, type);
			exit(1);
		}
		uint8_t q[12 + 256 + 4 + 11];
		memset(q, 0, 12);
		q[2] = 0x01; /* RD, as dnsperf sends */
		q[5] = 1;    /* QDCOUNT */
		int nl = encode_name(name, q + 12);
		if (nl < 0) {
			fprintf(stderr, "blast: %s:%lu: bad name %s\n", path, lineno, name);
			exit(1);
		}
		size_t len = 12 + (size_t)nl;
		q[len++] = (uint8_t)(qtype >> 8);
		q[len++] = (uint8_t)qtype;
		q[len++] = 0;
		q[len++] = 1; /* class IN */
		if (edns) {
			q[11] = 1; /* ARCOUNT */
			static const uint8_t opt[11] = {0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0};
			memcpy(q + len, opt, sizeof(opt));
			if (dnssec) {
				q[len + 7] = 0x80; /* DO */
			}
			len += sizeof(opt);
		}
		if (wire_len + len > wire_cap) {
			wire_cap = wire_cap ? wire_cap * 2 : 1 << 20;
			wire = xrealloc(wire, wire_cap);
		}
		memcpy(wire + wire_len, q, len);
		wire_len += len;
		if (nq + 2 > off_cap) {
			off_cap *= 2;
			off = xrealloc(off, off_cap * sizeof(*off));
		}
		off[++nq] = (uint32_t)wire_len;
	}
	fclose(f);
	if (nq == 0) {
		fprintf(stderr, "blast: %s: no queries\n", path);
		exit(1);
	}
}

/* Length of the question section of query i (everything after the header,
 * up to an OPT record). */
static inline uint32_t question_len(const uint8_t *q, uint32_t total)
{
	return q[11] ? total - 12 - 11 : total - 12;
}

/* ---------------------------------------------------------------- state */

struct slot {
	uint64_t sent_ns;
	uint32_t qidx;
	uint16_t gen;
	uint8_t busy;
};

static struct slot slots[NIDS];
static uint16_t freeids[NIDS];        /* ring of free IDs */
static uint32_t free_head, free_tail; /* free_tail - free_head = free count */
static uint32_t *fifo;                /* (id << 16 | gen) in send order */
static uint32_t fifo_head, fifo_tail;

static uint64_t n_sent, n_done, n_lost, n_unexpected, n_trunc, n_tc;
static uint64_t rcodes[16];
static uint64_t bytes_q, bytes_r;
static uint64_t lat_sum_ns, lat_min_ns = UINT64_MAX, lat_max_ns;
static uint32_t inflight;

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Queries sent more than timeout ago and still unanswered: lost; their IDs
 * go to the back of the free ring (so a late answer is unlikely to meet the
 * ID's next query, and if it does, the question check catches it). */
static void expire(uint64_t now, uint64_t timeout_ns, int force)
{
	while (fifo_head != fifo_tail) {
		uint32_t e = fifo[fifo_head & FIFO_MASK];
		struct slot *s = &slots[e >> 16];
		if (s->busy && s->gen == (uint16_t)e) {
			if (!force && now - s->sent_ns < timeout_ns) {
				return;
			}
			s->busy = 0;
			inflight--;
			n_lost++;
			freeids[free_tail++ & (NIDS - 1)] = (uint16_t)(e >> 16);
		}
		fifo_head++;
		if (force == 1) {
			return; /* only make room for one entry */
		}
	}
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
	        "usage: blast -s ADDR -p PORT -d FILE [-l SECONDS] [-q WINDOW] [-t TIMEOUT] "
	        "[-b BATCH] [-n COUNT] [-e] [-D] [-S]\n");
	exit(2);
}

static const char *rcode_name(int r)
{
	static const char *n[16] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                            "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
	                            "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",
	                            "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};
	return n[r & 15];
}

int main(int argc, char **argv)
{
	const char *server = "127.0.0.1", *port = "53", *file = NULL;
	double duration = 8, timeout = 1;
	long window = 200, batch = 64;
	unsigned long long count = 0; /* 0: no limit but the duration */
	int edns = 0, dnssec = 0, spin = 0, c;
	while ((c = getopt(argc, argv, "s:p:d:l:q:t:b:n:eDSh")) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'd':
			file = optarg;
			break;
		case 'l':
			duration = atof(optarg);
			break;
		case 'q':
			window = atol(optarg);
			break;
		case 't':
			timeout = atof(optarg);
			break;
		case 'b':
			batch = atol(optarg);
			break;
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			edns = 1;
			break;
		case 'D':
			edns = dnssec = 1;
			break;
		case 'S':
			spin = 1;
			break;
		default:
			usage();
		}
	}
	if (file == NULL || optind != argc || duration <= 0 || timeout <= 0 || window < 1 ||
	    window > MAX_WINDOW || batch < 1 || batch > MAX_BATCH) {
		usage();
	}
	load_queries(file, edns, dnssec);

	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai;
	int err = getaddrinfo(server, port, &hints, &ai);
	if (err != 0) {
		fprintf(stderr, "blast: %s port %s: %s\n", server, port, gai_strerror(err));
		return 1;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		perror("blast: socket/connect");
		return 1;
	}
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
	            NI_NUMERICHOST | NI_NUMERICSERV);
	freeaddrinfo(ai);
	/* Room for a full window of answers (and of queries) in the buffers. */
	int bufsz = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) != 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) != 0) {
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	}
	/* A blocking receive wakes up at least this often, to expire and stop. */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 20000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	fifo = xrealloc(NULL, FIFO_SIZE * sizeof(*fifo));
	for (uint32_t i = 0; i < NIDS; i++) {
		freeids[i] = (uint16_t)i;
	}
	free_head = 0;
	free_tail = NIDS;

	static uint8_t rbuf[MAX_BATCH][RBUF];
	static struct iovec riov[MAX_BATCH];
	static struct mmsghdr rmsg[MAX_BATCH];
	static struct iovec siov[MAX_BATCH][2];
	static struct mmsghdr smsg[MAX_BATCH];
	static uint8_t sid[MAX_BATCH][2];
	static uint16_t sids[MAX_BATCH];
	for (int i = 0; i < MAX_BATCH; i++) {
		riov[i].iov_base = rbuf[i];
		riov[i].iov_len = RBUF;
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
		siov[i][0].iov_base = sid[i];
		siov[i][0].iov_len = 2;
		smsg[i].msg_hdr.msg_iov = siov[i];
		smsg[i].msg_hdr.msg_iovlen = 2;
	}

	printf("blast: sending %u queries from %s to %s port %s, window %ld, batch %ld, %.3g s%s\n",
	       nq, file, host, serv, window, batch, duration,
	       edns ? (dnssec ? ", EDNS0 DO" : ", EDNS0") : "");
	fflush(stdout);

	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	const uint64_t timeout_ns = (uint64_t)(timeout * 1e9);
	const uint64_t t_start = now_ns();
	const uint64_t t_end = t_start + (uint64_t)(duration * 1e9);
	uint64_t now = t_start, t_stop = 0, drain_deadline = 0, next_expire = t_start;
	uint32_t cursor = 0; /* next query to send */
	uint64_t n_recv_calls = 0, n_send_calls = 0;
	int stopping = 0;

	for (;;) {
		if (!stopping && (now >= t_end || (count && n_sent >= count))) {
			stopping = 1;
			t_stop = now;
			drain_deadline = now + timeout_ns;
		}
		if (stopping && (inflight == 0 || now >= drain_deadline)) {
			break;
		}
		if (now >= next_expire) {
			expire(now, timeout_ns, 0);
			next_expire = now + 10000000; /* every 10 ms */
		}

		/* Fill the window. */
		int send_blocked = 0;
		while (!stopping && inflight < (uint32_t)window) {
			uint32_t k = (uint32_t)window - inflight;
			if (k > (uint32_t)batch) {
				k = (uint32_t)batch;
			}
			if (count && count - n_sent < k) {
				k = (uint32_t)(count - n_sent);
				if (k == 0) {
					break;
				}
			}
			if (free_tail - free_head < k) {
				k = free_tail -
				    free_head; /* cannot happen with window <= MAX_WINDOW */
				if (k == 0) {
					break;
				}
			}
			uint32_t q = cursor;
			for (uint32_t i = 0; i < k; i++) {
				uint16_t id = freeids[(free_head + i) & (NIDS - 1)];
				sids[i] = id;
				sid[i][0] = (uint8_t)(id >> 8);
				sid[i][1] = (uint8_t)id;
				siov[i][1].iov_base = wire + off[q] + 2;
				siov[i][1].iov_len = off[q + 1] - off[q] - 2;
				if (++q == nq) {
					q = 0;
				}
			}
			int s = sendmmsg(fd, smsg, k, MSG_DONTWAIT);
			n_send_calls++;
			if (s <= 0) {
				if (s < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				    errno != EINTR && errno != ENOBUFS && errno != ECONNREFUSED) {
					perror("blast: sendmmsg");
					return 1;
				}
				send_blocked = 1;
				break;
			}
			free_head += (uint32_t)s;
			for (int i = 0; i < s; i++) {
				if (fifo_tail - fifo_head == FIFO_SIZE) {
					expire(now, timeout_ns,
					       1); /* too much in flight: oldest counts as lost */
				}
				struct slot *sl = &slots[sids[i]];
				sl->busy = 1;
				sl->gen++;
				sl->qidx = cursor;
				sl->sent_ns = now;
				fifo[fifo_tail++ & FIFO_MASK] = (uint32_t)sids[i] << 16 | sl->gen;
				bytes_q += off[cursor + 1] - off[cursor];
				if (++cursor == nq) {
					cursor = 0;
				}
			}
			inflight += (uint32_t)s;
			n_sent += (uint64_t)s;
			if ((uint32_t)s < k) {
				send_blocked = 1;
				break;
			}
		}

		/* Receive: block (up to SO_RCVTIMEO) when there is nothing to send. */
		int block = !spin && (stopping || send_blocked || inflight >= (uint32_t)window);
		int n = recvmmsg(fd, rmsg, (unsigned)batch, block ? MSG_WAITFORONE : MSG_DONTWAIT,
		                 NULL);
		n_recv_calls++;
		now = now_ns();
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNREFUSED) {
				perror("blast: recvmmsg");
				return 1;
			}
			continue;
		}
		for (int i = 0; i < n; i++) {
			const uint8_t *r = rbuf[i];
			uint32_t len = rmsg[i].msg_len;
			if (rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				n_trunc++;
				len = RBUF;
			}
			if (len < 12 || !(r[2] & 0x80)) {
				n_unexpected++;
				continue;
			}
			struct slot *sl = &slots[(uint32_t)r[0] << 8 | r[1]];
			if (!sl->busy) {
				n_unexpected++; /* late answer to a lost query, or garbage */
				continue;
			}
			const uint8_t *q = wire + off[sl->qidx];
			uint32_t ql = question_len(q, off[sl->qidx + 1] - off[sl->qidx]);
			if ((r[4] | r[5]) != 0 &&
			    (len < 12 + ql || memcmp(r + 12, q + 12, ql) != 0)) {
				n_unexpected++; /* an answer to another question with this ID */
				continue;
			}
			sl->busy = 0;
			inflight--;
			freeids[free_tail++ & (NIDS - 1)] = (uint16_t)(sl - slots);
			n_done++;
			rcodes[r[3] & 15]++;
			if (r[2] & 0x02) {
				n_tc++;
			}
			bytes_r += rmsg[i].msg_len;
			uint64_t lat = now - sl->sent_ns;
			lat_sum_ns += lat;
			if (lat < lat_min_ns) {
				lat_min_ns = lat;
			}
			if (lat > lat_max_ns) {
				lat_max_ns = lat;
			}
		}
	}
	uint64_t t_done = now;
	if (inflight) {
		expire(now, 0, 2); /* drain over: what is still out is lost */
	}
	getrusage(RUSAGE_SELF, &ru1);
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	             (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	             (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	             (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	double run = (double)(t_stop - t_start) / 1e9;

	printf("[Status] Testing complete (time limit)\n\nStatistics:\n\n");
	printf("  Queries sent:         %llu\n", (unsigned long long)n_sent);
	printf("  Queries completed:    %llu (%.2f%%)\n", (unsigned long long)n_done,
	       n_sent ? 100.0 * (double)n_done / (double)n_sent : 0.0);
	printf("  Queries lost:         %llu (%.2f%%)\n", (unsigned long long)n_lost,
	       n_sent ? 100.0 * (double)n_lost / (double)n_sent : 0.0);
	if (n_unexpected) {
		printf("  Unexpected responses: %llu\n", (unsigned long long)n_unexpected);
	}
	if (n_trunc || n_tc) {
		printf("  Truncated responses:  %llu with TC set, %llu larger than %d bytes\n",
		       (unsigned long long)n_tc, (unsigned long long)n_trunc, RBUF);
	}
	printf("\n  Response codes:       ");
	int first = 1;
	for (int i = 0; i < 16; i++) {
		if (rcodes[i]) {
			printf("%s%s %llu (%.2f%%)", first ? "" : ", ", rcode_name(i),
			       (unsigned long long)rcodes[i],
			       100.0 * (double)rcodes[i] / (double)n_done);
			first = 0;
		}
	}
	printf("\n");
	printf("  Average packet size:  request %llu, response %llu\n",
	       (unsigned long long)(n_sent ? bytes_q / n_sent : 0),
	       (unsigned long long)(n_done ? bytes_r / n_done : 0));
	printf("  Run time (s):         %.6f\n", run);
	printf("  Queries per second:   %.6f\n\n", run > 0 ? (double)n_done / run : 0.0);
	printf("  Average Latency (s):  %.6f (min %.6f, max %.6f)\n",
	       n_done ? (double)lat_sum_ns / (double)n_done / 1e9 : 0.0,
	       n_done ? (double)lat_min_ns / 1e9 : 0.0, (double)lat_max_ns / 1e9);
	printf("  Drain time (s):       %.6f\n", (double)(t_done - t_stop) / 1e9);
	printf("  Client CPU (s):       %.6f (%.1f%% of the run, %.3f us per answer)\n", cpu,
	       run > 0 ? 100.0 * cpu / ((double)(t_done - t_start) / 1e9) : 0.0,
	       n_done ? 1e6 * cpu / (double)n_done : 0.0);
	printf("  Syscalls:             %llu sendmmsg, %llu recvmmsg (%.1f answers per recvmmsg)\n",
	       (unsigned long long)n_send_calls, (unsigned long long)n_recv_calls,
	       n_recv_calls ? (double)n_done / (double)n_recv_calls : 0.0);
	return 0;
}
