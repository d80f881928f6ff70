/*
 * canon dig: build the query, find the server, ask it with tries and the
 * truncated-reply retry over TCP.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/dig.h"
#include "lib/net.h"

#define DIG_REPLY_MAX 65535 /* largest DNS message (the TCP length prefix) */

static uint16_t random_id(void)
{
	uint16_t id = 0;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		id = (uint16_t)canon_now_ms();
	}
	return id;
}

/* RFC 7873 §4: a client cookie (8 octets), then the server's (8 to 32). */
#define DIG_COOKIE_MAX 40

typedef struct {
	uint8_t data[DIG_COOKIE_MAX];
	uint16_t len;
} dig_cookie_t;

/* The options dig puts in its OPT, in dig's order: NSID, then COOKIE. 'echo'
 * is the cookie a server gave back (client + server cookie), or NULL. */
static int query_add_options(knot_rrset_t *opt, const dig_params_t *p, const dig_cookie_t *echo,
                             dig_reply_t *reply, knot_mm_t *mm)
{
	int ret = KNOT_EOK;
	if (p->nsid) {
		/* RFC 5001 §2.1: the request carries an empty NSID option. */
		ret = knot_edns_add_option(opt, KNOT_EDNS_OPTION_NSID, 0, NULL, mm);
	}
	if (ret == KNOT_EOK && p->cookie && echo != NULL) {
		/* RFC 7873 §5.3: send back the server cookie with our client cookie. */
		memcpy(reply->cookie, echo->data, sizeof(reply->cookie));
		reply->cookie_sent = true;
		ret = knot_edns_add_option(opt, KNOT_EDNS_OPTION_COOKIE, echo->len, echo->data, mm);
	} else if (ret == KNOT_EOK && p->cookie) {
		/* RFC 7873 §5.1: a fresh random client cookie, no server cookie yet. */
		if (getrandom(reply->cookie, sizeof(reply->cookie), 0) != sizeof(reply->cookie)) {
			return KNOT_ERROR;
		}
		reply->cookie_sent = true;
		ret = knot_edns_add_option(opt, KNOT_EDNS_OPTION_COOKIE, sizeof(reply->cookie),
		                           reply->cookie, mm);
	}
	return ret;
}

/* RFC 6891 §6.1: the OPT pseudo-RR carries the payload size, version and DO. */
static int query_add_opt(knot_pkt_t *pkt, const dig_params_t *p, uint8_t version,
                         const dig_cookie_t *echo, dig_reply_t *reply)
{
	knot_rrset_t opt;
	int ret = knot_pkt_begin(pkt, KNOT_ADDITIONAL);
	if (ret == KNOT_EOK) {
		ret = knot_edns_init(&opt, p->bufsize, 0, version, &pkt->mm);
	}
	if (ret != KNOT_EOK) {
		return ret;
	}
	if (p->dnssec) {
		knot_edns_set_do(&opt); /* RFC 3225 §3 */
	}
	ret = query_add_options(&opt, p, echo, reply, &pkt->mm);
	if (ret == KNOT_EOK) {
		ret = knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_FREE);
	}
	if (ret != KNOT_EOK) {
		knot_rrset_clear(&opt, &pkt->mm);
	}
	return ret;
}

/* The query; 'reply' remembers the cookie sent for the (good)/(bad) check. */
static knot_pkt_t *query_build(const dig_params_t *p, const knot_dname_t *qname, uint16_t qtype,
                               uint8_t version, const dig_cookie_t *echo, dig_reply_t *reply)
{
	knot_pkt_t *pkt = knot_pkt_new(NULL, KNOT_WIRE_MAX_PKTSIZE, NULL);
	if (pkt == NULL) {
		return NULL;
	}
	knot_wire_set_id(pkt->wire, random_id());
	if (p->recurse) {
		knot_wire_set_rd(pkt->wire);
	}
	if (p->adflag) {
		knot_wire_set_ad(pkt->wire);
	}
	if (p->cdflag) {
		knot_wire_set_cd(pkt->wire);
	}
	int ret = knot_pkt_put_question(pkt, qname, p->qclass, qtype);
	if (ret == KNOT_EOK && p->edns) {
		ret = query_add_opt(pkt, p, version, echo, reply);
	}
	if (ret != KNOT_EOK) {
		knot_pkt_free(pkt);
		return NULL;
	}
	return pkt;
}

void dig_reply_clear(dig_reply_t *reply)
{
	knot_pkt_free(reply->pkt);
	free(reply->wire);
	memset(reply, 0, sizeof(*reply));
}

static int reply_parse(dig_reply_t *reply)
{
	reply->pkt = knot_pkt_new(reply->wire, (uint16_t)reply->len, NULL);
	if (reply->pkt == NULL) {
		return KNOT_ENOMEM;
	}
	reply->parse_ret = knot_pkt_parse(reply->pkt, 0);
	return KNOT_EOK;
}

/* dig keeps waiting after a reply that is not ours, and says so. */
static void warn_reply(const char *why)
{
	printf(";; Warning: %s\n", why);
}

/* What the query said that the reply is checked against. */
typedef struct {
	const knot_pkt_t *pkt;
	size_t len; /* with the TSIG, if signed */
	const canon_tsig_session_t *tsig;
	bool cookie_sent;
	uint8_t cookie[DIG_COOKIE_LEN];
} dig_query_t;

/* RFC 8945 §5.4: a signed query's reply must be signed with the same key. */
static void reply_check_tsig(const dig_query_t *query, dig_reply_t *reply)
{
	if (query->tsig == NULL) {
		return;
	}
	canon_tsig_session_t session = *query->tsig;
	reply->tsig_checked = true;
	reply->tsig_ret = canon_tsig_check_reply(&session, reply->wire, reply->len);
}

/* One transport, params->tries attempts; prints each failure as dig does. */
static int exchange_tries(dig_out_t *out, const dig_server_t *server, const dig_query_t *query,
                          bool tcp, dig_reply_t *reply)
{
	const dig_params_t *p = out->params;
	canon_msg_t q = {.data = query->pkt->wire, .len = query->len, .cap = query->len};
	canon_msg_t r = {.data = malloc(DIG_REPLY_MAX), .cap = DIG_REPLY_MAX};
	if (r.data == NULL) {
		return KNOT_ENOMEM;
	}
	canon_net_peer_t peer = {.addr = (const struct sockaddr *)&server->addr,
	                         .addrlen = server->addrlen,
	                         .warn = warn_reply};
	int ret = KNOT_ECONN;
	for (int i = 0; i < p->tries; i++) {
		int64_t start = canon_now_ms();
		int64_t deadline = start + (int64_t)p->timeout_s * 1000;
		ret = tcp ? canon_net_tcp(&peer, &q, &r, deadline)
		          : canon_net_udp(&peer, &q, &r, deadline);
		if (ret == 0) {
			*reply = (dig_reply_t){
			        .wire = r.data, .len = r.len, .tcp = tcp, .server = server};
			reply->rtt_ms = (long)(canon_now_ms() - start);
			reply->when = time(NULL);
			reply->cookie_sent = query->cookie_sent;
			memcpy(reply->cookie, query->cookie, sizeof(reply->cookie));
			reply_check_tsig(query, reply);
			return reply_parse(reply);
		}
		dig_print_comm_error(server, canon_net_strerror(ret));
	}
	free(r.data);
	return ret;
}

/* One query at one EDNS version, with the TC retry over TCP. */
static int exec_version(dig_out_t *out, const dig_server_t *server, const knot_dname_t *qname,
                        uint16_t qtype, uint8_t version, const dig_cookie_t *echo,
                        dig_reply_t *reply)
{
	const dig_params_t *p = out->params;
	dig_reply_t sent = {0};
	knot_pkt_t *pkt = query_build(p, qname, qtype, version, echo, &sent);
	if (pkt == NULL) {
		fprintf(stderr, "canon dig: cannot build the query\n");
		return KNOT_ENOMEM;
	}
	dig_query_t query = {.pkt = pkt, .len = pkt->size, .cookie_sent = sent.cookie_sent};
	memcpy(query.cookie, sent.cookie, sizeof(query.cookie));
	canon_tsig_session_t session;
	if (p->tsig_key != NULL) {
		/* RFC 8945 §5.1: the TSIG is the last record of the request. */
		int ret = canon_tsig_sign_request(&session, p->tsig_key, pkt->wire, &query.len,
		                                  pkt->max_size);
		if (ret != KNOT_EOK) {
			fprintf(stderr, "canon dig: cannot sign the query: %s\n",
			        knot_strerror(ret));
			knot_pkt_free(pkt);
			return ret;
		}
		query.tsig = &session;
	}
	if (p->qr) {
		dig_print_query(out, pkt->wire, query.len);
	}
	int ret = exchange_tries(out, server, &query, p->tcp, reply);
	/* RFC 7766 §5 / RFC 1035 §4.2.1: a truncated UDP reply is retried over TCP. */
	if (ret == KNOT_EOK && !reply->tcp && knot_wire_get_tc(reply->wire) && !p->ignore_tc) {
		if (p->comments) { /* dig says so only with +comments (+short turns them off) */
			printf(";; Truncated, retrying in TCP mode.\n");
		}
		dig_reply_clear(reply);
		ret = exchange_tries(out, server, &query, true, reply);
	}
	knot_pkt_free(pkt);
	return ret;
}

/* RFC 6891 §6.1.3: BADVERS carries the highest version the server knows. */
static bool badvers_retry(const dig_params_t *p, const dig_reply_t *reply, uint8_t *version)
{
	if (!p->edns || !p->edns_negotiation || p->edns_version == 0 || reply->pkt == NULL ||
	    reply->pkt->opt_rr == NULL || dig_reply_rcode(reply->pkt) != KNOT_RCODE_BADVERS) {
		return false;
	}
	uint8_t server = knot_edns_get_version(reply->pkt->opt_rr);
	*version = server < p->edns_version ? server : 0;
	return true;
}

/* RFC 7873 §5.3: BADCOOKIE over UDP with our client cookie and a server
 * cookie: ask again once, sending that server cookie back (as dig does). */
static bool badcookie_retry(const dig_params_t *p, const dig_reply_t *reply, dig_cookie_t *echo)
{
	if (!p->cookie || reply->tcp || !reply->cookie_sent || reply->pkt == NULL ||
	    reply->pkt->opt_rr == NULL || dig_reply_rcode(reply->pkt) != KNOT_RCODE_BADCOOKIE) {
		return false;
	}
	uint8_t *opt = knot_edns_get_option(reply->pkt->opt_rr, KNOT_EDNS_OPTION_COOKIE, NULL);
	uint16_t len = opt ? knot_edns_opt_get_length(opt) : 0;
	if (len < 2 * DIG_COOKIE_LEN || len > DIG_COOKIE_MAX) {
		return false;
	}
	const uint8_t *data = knot_edns_opt_get_data(opt);
	if (memcmp(data, reply->cookie, DIG_COOKIE_LEN) != 0) {
		return false;
	}
	memcpy(echo->data, data, len);
	echo->len = len;
	return true;
}

int dig_exec_query(dig_out_t *out, const dig_server_t *server, const knot_dname_t *qname,
                   uint16_t qtype, dig_reply_t *reply)
{
	const dig_params_t *p = out->params;
	int ret = exec_version(out, server, qname, qtype, p->edns_version, NULL, reply);
	dig_cookie_t echo;
	if (ret == KNOT_EOK && badcookie_retry(p, reply, &echo)) {
		if (p->comments) {
			printf(";; BADCOOKIE, retrying.\n");
		}
		dig_reply_clear(reply);
		ret = exec_version(out, server, qname, qtype, p->edns_version, &echo, reply);
	}
	if (ret == KNOT_EOK && badcookie_retry(p, reply, &echo)) {
		/* A second BADCOOKIE: dig goes to TCP, which needs no cookie (RFC 7873 §5.3). */
		if (p->comments) {
			printf(";; BADCOOKIE, retrying in TCP mode.\n");
		}
		dig_params_t over_tcp = *p;
		over_tcp.tcp = true;
		dig_out_t tcp_out = *out;
		tcp_out.params = &over_tcp;
		dig_reply_clear(reply);
		ret = exec_version(&tcp_out, server, qname, qtype, p->edns_version, &echo, reply);
		out->banner_done = tcp_out.banner_done;
	}
	uint8_t version = 0;
	if (ret == KNOT_EOK && badvers_retry(p, reply, &version)) {
		if (p->comments) {
			printf(";; BADVERS, retrying with EDNS version %u.\n", version);
		}
		dig_reply_clear(reply);
		ret = exec_version(out, server, qname, qtype, version, NULL, reply);
	}
	return ret;
}

/* First "nameserver" line of resolv.conf(5), copied into buf; NULL if none. */
static const char *resolv_conf_server(char *buf, size_t len)
{
	FILE *f = fopen(DIG_RESOLV_CONF, "r");
	if (f == NULL) {
		return NULL;
	}
	char line[512];
	const char *found = NULL;
	while (found == NULL && fgets(line, sizeof(line), f) != NULL) {
		char word[16], addr[DIG_SERVER_NAME_MAX];
		if (sscanf(line, "%15s %255s", word, addr) == 2 &&
		    strcmp(word, "nameserver") == 0) {
			snprintf(buf, len, "%s", addr);
			found = buf;
		}
	}
	fclose(f);
	return found;
}

static bool server_seen(const dig_server_t *list, size_t count, const struct addrinfo *ai)
{
	for (size_t i = 0; i < count; i++) {
		if (list[i].addrlen == ai->ai_addrlen &&
		    memcmp(&list[i].addr, ai->ai_addr, ai->ai_addrlen) == 0) {
			return true;
		}
	}
	return false;
}

/* Add the addresses of one @server (or resolv.conf's) to out[*count..max). */
static int servers_add(const dig_params_t *p, const char *name, dig_server_t *out, size_t *count,
                       size_t max)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", p->port);
	struct addrinfo hints = {
	        .ai_family = p->family, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int ret = getaddrinfo(name, port, &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "canon dig: couldn't get address for '%s': %s\n", name,
		        gai_strerror(ret));
		return KNOT_EINVAL;
	}
	for (struct addrinfo *ai = res; ai != NULL && *count < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->addr) || server_seen(out, *count, ai)) {
			continue;
		}
		memcpy(&out[*count].addr, ai->ai_addr, ai->ai_addrlen);
		out[*count].addrlen = ai->ai_addrlen;
		snprintf(out[*count].name, sizeof(out[*count].name), "%s", name);
		(*count)++;
	}
	freeaddrinfo(res);
	return KNOT_EOK;
}

int dig_servers_resolve(const dig_params_t *p, dig_server_t *out, size_t max)
{
	size_t count = 0;
	for (size_t i = 0; i < p->nserver_args; i++) {
		if (servers_add(p, p->server_args[i], out, &count, max) != KNOT_EOK) {
			return KNOT_EINVAL;
		}
	}
	if (p->nserver_args > 0) {
		return (int)count;
	}
	char conf[DIG_SERVER_NAME_MAX];
	const char *name = resolv_conf_server(conf, sizeof(conf));
	if (servers_add(p, name ? name : "127.0.0.1", out, &count, max) != KNOT_EOK) {
		return KNOT_EINVAL;
	}
	return (int)count;
}

const char *dig_server_addr_str(const dig_server_t *server, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (server->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&server->addr;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		port = ntohs(sin->sin_port);
	} else if (server->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&server->addr;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(buf, len, "%s#%u", addr, port);
	return buf;
}
