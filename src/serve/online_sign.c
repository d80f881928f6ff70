/*
 * Online signing of answers (dnssec=online). The lookup answers as for any
 * zone; this pass then, for the RRsets of online zones in the answer, adds
 * the apex keys, an RRSIG per RRset, and turns negative answers into compact
 * denial (RFC 9824). Cached signatures are copied into the query's arena, so
 * an entry replaced later in the same answer does not matter.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/rrtype/rdname.h>
#include <libknot/wire.h>

#include "lib/log.h"
#include "lib/name.h"
#include "lib/sign.h"
#include "serve/config.h"
#include "serve/online_sign.h"

/* RFC 9824 §3.2: the NXNAME pseudo-type in an NXDOMAIN's NSEC bitmap. */
#define RRTYPE_NXNAME 128
/* The RRSIG RDATA before the signer name (RFC 4034 §3.1). */
#define RRSIG_FIXED 18
/* An ECDSA P-256 signature: r and s, 32 octets each (RFC 6605 §4). */
#define ENTRY_SIG 64
/* Types an NSEC bitmap made here lists at most (a node's RRsets plus the apex keys). */
#define BITMAP_TYPES_MAX 80

/* Entries one hash may use: a set of slots (set-associative), their keys in one cache line. */
#define CACHE_WAYS 8

/*
 * One set of cached signatures. A slot keeps the RRSIG RDATA without the
 * signer name, which is the key's apex and is put back when the RRSIG is
 * written.
 */
struct canon_online_set {
	uint64_t key[CACHE_WAYS];        /* Hash of what was signed (0: empty). */
	uint32_t expiration[CACHE_WAYS]; /* RFC 4034 §3.1.5, mod 2^32 */
	struct {
		uint8_t fixed[RRSIG_FIXED];
		uint8_t sig[ENTRY_SIG];
	} slot[CACHE_WAYS];
};
#define CACHE_SETS (CANON_ONLINE_CACHE_ENTRIES / CACHE_WAYS)

void canon_online_cache_free(canon_online_cache_t *cache)
{
	free(cache->sets);
	free(cache->scratch);
	cache->sets = NULL;
	cache->scratch = NULL;
}

/* The answer being completed. */
typedef struct {
	canon_online_cache_t *cache;
	const canon_zonetable_t *table;
	canon_answer_t *answer;
	knot_mm_t *mm;
	uint32_t now;
	bool dnssec;
	const knot_dname_t *covered; /* The last wildcard-expanded owner given its NSEC. */
} online_t;

/* The zone's online key, or NULL when the zone is not dnssec=online. */
static const canon_sign_key_t *zone_key(const canon_zone_t *zone)
{
	if (zone == NULL) {
		return NULL;
	}
	/* The settings change under readers at a reload (serve/zonemgr.c run_reload). */
	const canon_zone_conf_t *conf = __atomic_load_n(&zone->settings, __ATOMIC_ACQUIRE);
	return conf != NULL && conf->dnssec_online ? conf->online_key : NULL;
}

/* The zone answering for an RRset of 'type' at 'name': a DS at an apex is the parent's. */
static const canon_zone_t *zone_of(const online_t *o, const canon_name_t *name, uint16_t type)
{
	const canon_zone_t *zone = canon_zonetable_find(o->table, name, 0);
	if (zone != NULL && type == KNOT_RRTYPE_DS && name->labels > 0 &&
	    zone->apex->owner_size == name->size) {
		const canon_zone_t *parent = canon_zonetable_find(o->table, name, 1);
		return parent != NULL ? parent : zone;
	}
	return zone;
}

/* ---- the signature cache ---- */

/* One 64-bit word into the hash (multiply and fold, as wyhash-like mixers do). */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t len)
{
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = mix(h, v);
	}
	uint64_t tail = 0;
	memcpy(&tail, p, len);
	return mix(h, tail ^ ((uint64_t)len << 56));
}

/* What identifies a signature: key, owner as signed, type, TTL, labels, the records. */
static uint64_t sign_hash(const canon_sign_key_t *key, const knot_rrset_t *rr,
                          const canon_sign_params_t *p, const uint8_t *lower_owner)
{
	uint64_t h = mix(0x243F6A8885A308D3ULL, (uint64_t)(uintptr_t)key);
	h = mix(h, ((uint64_t)rr->type << 40) | ((uint64_t)p->labels << 32) | p->original_ttl);
	h = hash_bytes(h, lower_owner, knot_dname_size(lower_owner));
	h = hash_bytes(h, (const uint8_t *)rr->rrs.rdata, rr->rrs.size);
	return h != 0 ? h : 1;
}

/*
 * The sets, zeroed, on huge pages where the kernel has them: the cache is
 * read at random, and a TLB miss per answer would cost as much as the lookup.
 */
static canon_online_set_t *sets_new(void)
{
	size_t size = CACHE_SETS * sizeof(canon_online_set_t);
	void *mem = NULL;
	if (posix_memalign(&mem, 2 << 20, size) != 0) {
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	madvise(mem, size, MADV_HUGEPAGE);
#endif
	memset(mem, 0, size);
	return mem;
}

/* The slot of the set holding a fresh signature for 'key', or -1. */
static int set_find(const canon_online_set_t *set, uint64_t key, uint32_t now)
{
	for (int i = 0; i < CACHE_WAYS; i++) {
		if (set->key[i] == key &&
		    (int32_t)(set->expiration[i] - now) > CANON_ONLINE_REFRESH) {
			return i;
		}
	}
	return -1;
}

/*
 * The slot a new signature goes to: its own (stale), an empty one, else the
 * one signed earliest (the earliest expiration), so that an entry just made
 * is not the next one pushed out.
 */
static int set_victim(const canon_online_set_t *set, uint64_t key)
{
	int victim = 0;
	for (int i = 0; i < CACHE_WAYS; i++) {
		if (set->key[i] == key || set->key[i] == 0) {
			return i;
		}
		if ((int32_t)(set->expiration[i] - set->expiration[victim]) < 0) {
			victim = i;
		}
	}
	return victim;
}

static void count(canon_online_cache_t *cache, int what)
{
	if (cache->metrics != NULL) {
		canon_metrics_bump(&cache->metrics->signatures[what]);
	}
}

/* The RRSIG RRset for 'rr' (owned by rr's owner, its TTL), from the cache or signed now. */
static const knot_rrset_t *rrsig_for(online_t *o, const canon_sign_key_t *key,
                                     const knot_rrset_t *rr, const canon_sign_params_t *p)
{
	canon_online_cache_t *cache = o->cache;
	if (cache->sets == NULL) {
		/* Once per worker, at its first signed answer: not per query. */
		cache->sets = sets_new();
		cache->scratch = malloc(CANON_ONLINE_SCRATCH);
		if (cache->sets == NULL || cache->scratch == NULL) {
			canon_online_cache_free(cache);
			return NULL;
		}
	}
	uint8_t lower[KNOT_DNAME_MAXLEN];
	knot_dname_copy_lower(lower, p->owner);
	uint64_t hash = sign_hash(key, rr, p, lower);
	canon_online_set_t *set = &cache->sets[(hash >> 32) & (CACHE_SETS - 1)];
	uint8_t buf[CANON_SIGN_RDATA_MAX];
	size_t signer = knot_dname_size(key->apex), len = RRSIG_FIXED + signer + ENTRY_SIG;
	int hit = set_find(set, hash, o->now);
	if (hit >= 0) {
		memcpy(buf, set->slot[hit].fixed, RRSIG_FIXED);
		memcpy(buf + RRSIG_FIXED, key->apex, signer);
		memcpy(buf + RRSIG_FIXED + signer, set->slot[hit].sig, ENTRY_SIG);
		count(cache, CANON_SIG_CACHED);
	} else {
		canon_sign_params_t params = *p;
		params.owner = lower;
		params.inception = o->now - CANON_ONLINE_INCEPTION_BACK;
		params.expiration = o->now + CANON_ONLINE_VALIDITY;
		if (canon_sign_rrset(key, rr, &params, cache->scratch, CANON_ONLINE_SCRATCH, buf,
		                     &len) != 0 ||
		    len != RRSIG_FIXED + signer + ENTRY_SIG) {
			count(cache, CANON_SIG_FAILED);
			return NULL;
		}
		count(cache, CANON_SIG_MADE);
		int slot = set_victim(set, hash);
		set->key[slot] = hash;
		set->expiration[slot] = params.expiration;
		memcpy(set->slot[slot].fixed, buf, RRSIG_FIXED);
		memcpy(set->slot[slot].sig, buf + RRSIG_FIXED + signer, ENTRY_SIG);
	}
	knot_rrset_t *sig = o->mm->alloc(o->mm->ctx, sizeof(*sig));
	knot_rdata_t *rd = o->mm->alloc(o->mm->ctx, knot_rdata_size((uint16_t)len));
	if (sig == NULL || rd == NULL) {
		return NULL;
	}
	knot_rdata_init(rd, (uint16_t)len, buf);
	knot_rrset_init(sig, rr->owner, KNOT_RRTYPE_RRSIG, KNOT_CLASS_IN, rr->ttl);
	sig->rrs.count = 1;
	sig->rrs.size = (uint32_t)knot_rdata_size((uint16_t)len);
	sig->rrs.rdata = rd;
	return sig;
}

/* ---- NSEC records made at answer time (RFC 9824, RFC 4470) ---- */

static int cmp_type(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* RFC 4034 §4.1.2: the type bitmap of 'types' (sorted here) into 'out'; its length. */
static size_t write_bitmap(uint16_t *types, size_t count, uint8_t *out)
{
	qsort(types, count, sizeof(*types), cmp_type);
	size_t len = 0;
	for (size_t i = 0; i < count;) {
		uint8_t window = (uint8_t)(types[i] >> 8), bits[32] = {0}, used = 0;
		for (; i < count && (types[i] >> 8) == window; i++) {
			uint8_t low = (uint8_t)types[i];
			bits[low / 8] |= (uint8_t)(0x80 >> (low % 8));
			used = (uint8_t)(low / 8 + 1);
		}
		out[len++] = window;
		out[len++] = used;
		memcpy(out + len, bits, used);
		len += used;
	}
	return len;
}

/* Add 'type' to the list unless it is there. */
static void type_add(uint16_t *types, size_t *count, uint16_t type)
{
	for (size_t i = 0; i < *count; i++) {
		if (types[i] == type) {
			return;
		}
	}
	if (*count < BITMAP_TYPES_MAX) {
		types[(*count)++] = type;
	}
}

/*
 * The types at the node answering 'name' (wildcards included, RFC 4592), as
 * they are answered: a flattened CNAME is an ALIAS; at the apex the keys.
 */
static size_t node_types(const canon_zone_t *zone, const canon_name_t *name, uint16_t *types)
{
	size_t count = 0;
	const canon_node_t *node = NULL;
	canon_find_t found = canon_zone_find(zone, name, &node);
	if (found == CANON_FIND_NXNAME) {
		node = node->wildcard;
	} else if (found == CANON_FIND_DELEG && node->owner_size != name->size) {
		node = NULL;
	}
	for (uint16_t i = 0; node != NULL && i < node->rrset_count; i++) {
		uint16_t type = node->rrsets[i].rr.type;
		if ((node->flags & CANON_NODE_FLATTENED) && type == KNOT_RRTYPE_CNAME) {
			type = CANON_RRTYPE_ALIAS;
		}
		type_add(types, &count, type);
	}
	if (node == zone->apex) {
		type_add(types, &count, KNOT_RRTYPE_DNSKEY);
		type_add(types, &count, KNOT_RRTYPE_CDS);
		type_add(types, &count, KNOT_RRTYPE_CDNSKEY);
	}
	return count;
}

/*
 * RFC 4034 §6.1 order: the name right after 'name' is "\000.name" (RFC 4470
 * §2, RFC 9824 §3.1); a name too long for it is its own successor.
 */
static size_t successor(const knot_dname_t *name, uint8_t *out)
{
	size_t size = knot_dname_size(name);
	if (size + 2 > KNOT_DNAME_MAXLEN) {
		knot_dname_copy_lower(out, name);
		return size;
	}
	out[0] = 1;
	out[1] = 0;
	knot_dname_copy_lower(out + 2, name);
	return size + 2;
}

/*
 * A name after 'name' (lower-case) and after all its descendants, in the same
 * parent: its first label with an octet 0 appended ("foo" -> "foo\000"). Not
 * "\000.name", which validators (BIND's) take for a child proving 'name' an
 * empty non-terminal. A 63-octet label falls back to successor().
 */
static size_t sibling_after(const knot_dname_t *name, uint8_t *out)
{
	size_t size = knot_dname_size(name);
	if (name[0] == 0 || name[0] >= 63 || size + 1 > KNOT_DNAME_MAXLEN) {
		return successor(name, out);
	}
	out[0] = (uint8_t)(name[0] + 1);
	memcpy(out + 1, name + 1, name[0]);
	out[1 + name[0]] = 0;
	memcpy(out + 2 + name[0], name + 1 + name[0], size - 1 - name[0]);
	return size + 1;
}

/* An NSEC RRset at 'owner' (in 'mm'): next name 'next', the types given. */
static knot_rrset_t *make_nsec(online_t *o, const knot_dname_t *owner, const uint8_t *next,
                               size_t next_len, uint16_t *types, size_t count, uint32_t ttl)
{
	uint8_t rdata[KNOT_DNAME_MAXLEN + 8 * 34];
	memcpy(rdata, next, next_len);
	size_t len = next_len + write_bitmap(types, count, rdata + next_len);
	knot_rrset_t *rr = o->mm->alloc(o->mm->ctx, sizeof(*rr));
	knot_rdata_t *rd = o->mm->alloc(o->mm->ctx, knot_rdata_size((uint16_t)len));
	knot_dname_t *copy = knot_dname_copy(owner, o->mm);
	if (rr == NULL || rd == NULL || copy == NULL) {
		return NULL;
	}
	knot_dname_to_lower(copy);
	knot_rdata_init(rd, (uint16_t)len, rdata);
	knot_rrset_init(rr, copy, KNOT_RRTYPE_NSEC, KNOT_CLASS_IN, ttl);
	rr->rrs.count = 1;
	rr->rrs.size = (uint32_t)knot_rdata_size((uint16_t)len);
	rr->rrs.rdata = rd;
	return rr;
}

/*
 * RFC 4471-style predecessor of 'name' (lower-case) for the NSEC that covers
 * it: the first label's last octet one lower (skipping upper case, which
 * sorts as lower case) and filled up with 0xFF, or the label shortened when
 * that octet is 0; the parent when nothing is left of the label.
 */
static void predecessor(const knot_dname_t *name, uint8_t *out)
{
	uint8_t len = name[0];
	const knot_dname_t *parent = name + 1 + len;
	size_t parent_size = knot_dname_size(parent);
	if (len == 0 || (len == 1 && name[1] == 0)) {
		memcpy(out, len == 0 ? name : parent, len == 0 ? 1 : parent_size);
		return;
	}
	uint8_t label[64];
	memcpy(label, name + 1, len);
	if (label[len - 1] == 0) {
		len--;
	} else {
		label[len - 1]--;
		if (label[len - 1] >= 'A' && label[len - 1] <= 'Z') {
			label[len - 1] = 'A' - 1;
		}
		while (len < 63 && 1 + len + 1 + parent_size <= KNOT_DNAME_MAXLEN) {
			label[len++] = 0xFF;
		}
	}
	out[0] = len;
	memcpy(out + 1, label, len);
	memcpy(out + 1 + len, parent, parent_size);
}

/* ---- sections ---- */

/*
 * Append to a section, growing it into the query's arena as the lookup does
 * (lib/lookup.h); -ENOSPC past 32,768 RRsets (an RRset without its RRSIG
 * would be bogus, so nothing is dropped), -ENOMEM when the arena is full.
 */
static int push(online_t *o, canon_answer_section_t *section, const knot_rrset_t *rr, uint16_t hint)
{
	if (section->count == section->capacity) {
		if (section->capacity > UINT16_MAX / 2) {
			return -ENOSPC;
		}
		uint16_t capacity =
		        section->capacity ? (uint16_t)(section->capacity * 2) : CANON_SECTION_MAX;
		canon_answer_rr_t *rrs = o->mm->alloc(o->mm->ctx, capacity * sizeof(*rrs));
		if (rrs == NULL) {
			return -ENOMEM;
		}
		if (section->count > 0) {
			memcpy(rrs, section->rrs, section->count * sizeof(*rrs));
		}
		section->rrs = rrs;
		section->capacity = capacity;
	}
	section->rrs[section->count].rr = rr;
	section->rrs[section->count].compr_hint = hint;
	section->count++;
	return 0;
}

/* Signatures count labels without a leading '*' (RFC 4034 §3.1.3). */
static uint8_t rrsig_labels(const knot_dname_t *owner)
{
	size_t labels = knot_dname_labels(owner, NULL);
	return (uint8_t)(knot_dname_is_wildcard(owner) ? labels - 1 : labels);
}

/*
 * Whether the zone signs 'rr' and how: what is below a cut (glue) or the NS
 * of a cut is not its data (RFC 4035 §2.2); a CNAME synthesized from a DNAME
 * is not signed (RFC 6672 §5.3); a wildcard expansion is signed as the
 * wildcard (RFC 4035 §3.1.3.3); a flattened address RRset is the owner's,
 * with the ALIAS's TTL as its original TTL (the answer's counts down).
 */
static bool sign_params(const canon_zone_t *zone, const canon_name_t *name, const knot_rrset_t *rr,
                        const canon_answer_t *answer, canon_sign_params_t *p,
                        const canon_node_t **wildcard)
{
	const canon_node_t *node = NULL;
	p->owner = rr->owner;
	p->original_ttl = rr->ttl;
	*wildcard = NULL;
	switch (canon_zone_find(zone, name, &node)) {
	case CANON_FIND_DNAME:
		return false;
	case CANON_FIND_DELEG:
		if (node->owner_size != name->size || rr->type != KNOT_RRTYPE_DS) {
			return false;
		}
		break;
	case CANON_FIND_NXNAME:
		if (node->wildcard == NULL) {
			return false;
		}
		node = node->wildcard;
		p->owner = node->owner;
		*wildcard = node;
		break;
	case CANON_FIND_FOUND:
		break;
	}
	if (answer->flattened && (node->flags & CANON_NODE_ALIAS) &&
	    (rr->type == KNOT_RRTYPE_A || rr->type == KNOT_RRTYPE_AAAA)) {
		const canon_rrset_t *alias = canon_node_alias(node);
		p->original_ttl = alias->rr.ttl > rr->ttl ? alias->rr.ttl : rr->ttl;
	}
	p->labels = rrsig_labels(p->owner);
	return true;
}

/*
 * RFC 4035 §3.1.3.3: a wildcard answer proves that no closer name exists,
 * here with an NSEC that covers just the next closer name (RFC 4470 §2): the
 * name one label below the closest encloser, the wildcard's parent. Its
 * owner and next name then share the closest encloser as their longest
 * suffix, from which validators tell the wildcard.
 */
static int add_cover(online_t *o, const canon_sign_key_t *key, const canon_zone_t *zone,
                     const knot_dname_t *owner, const canon_node_t *wildcard,
                     canon_answer_section_t *auth)
{
	if (!o->dnssec || (o->covered != NULL && knot_dname_is_case_equal(o->covered, owner))) {
		return 0;
	}
	o->covered = owner;
	size_t below = knot_dname_labels(owner, NULL) -
	               knot_dname_labels(wildcard->parent->owner, NULL) - 1;
	const knot_dname_t *closer = owner;
	for (size_t i = 0; i < below; i++) {
		closer += 1 + closer[0];
	}
	uint8_t lower[KNOT_DNAME_MAXLEN], prev[KNOT_DNAME_MAXLEN], next[KNOT_DNAME_MAXLEN];
	knot_dname_copy_lower(lower, closer);
	predecessor(lower, prev);
	size_t next_len = sibling_after(lower, next);
	uint16_t types[2] = {KNOT_RRTYPE_RRSIG, KNOT_RRTYPE_NSEC};
	knot_rrset_t *nsec = make_nsec(o, prev, next, next_len, types, 2, zone->negative_soa.ttl);
	if (nsec == NULL) {
		return -ENOMEM;
	}
	canon_sign_params_t p = {.owner = nsec->owner,
	                         .labels = rrsig_labels(nsec->owner),
	                         .original_ttl = nsec->ttl};
	const knot_rrset_t *sig = rrsig_for(o, key, nsec, &p);
	if (sig == NULL) {
		return -EIO;
	}
	int ret = push(o, auth, nsec, KNOT_COMPR_HINT_NONE);
	return ret == 0 ? push(o, auth, sig, KNOT_COMPR_HINT_NONE) : ret;
}

/* Sign one RRset of a section into 'out' (after it), when its zone is online. */
static int sign_one(online_t *o, const knot_rrset_t *rr, uint16_t hint, canon_answer_section_t *out,
                    canon_answer_section_t *auth_extra)
{
	int ret = push(o, out, rr, hint);
	if (ret != 0 || !o->dnssec || rr->type == KNOT_RRTYPE_RRSIG) {
		return ret;
	}
	canon_name_t name;
	canon_name_prepare(&name, rr->owner);
	const canon_zone_t *zone = zone_of(o, &name, rr->type);
	const canon_sign_key_t *key = zone_key(zone);
	canon_sign_params_t p = {
	        .owner = rr->owner, .labels = rrsig_labels(rr->owner), .original_ttl = rr->ttl};
	const canon_node_t *wildcard = NULL;
	/* NSEC records are made here, at their own name: signed as they are. */
	if (key == NULL || (rr->type != KNOT_RRTYPE_NSEC &&
	                    !sign_params(zone, &name, rr, o->answer, &p, &wildcard))) {
		return 0;
	}
	const knot_rrset_t *sig = rrsig_for(o, key, rr, &p);
	if (sig == NULL) {
		return -EIO;
	}
	ret = push(o, out, sig, hint);
	if (ret == 0 && wildcard != NULL) {
		ret = add_cover(o, key, zone, rr->owner, wildcard, auth_extra);
	}
	return ret;
}

/*
 * Every section, each RRset followed by its RRSIG. The new sections are
 * built in the arena (canon_answer_section_t.rrs); their own in-place array
 * stays unused.
 */
static int sign_sections(online_t *o)
{
	canon_answer_section_t extra = {.rrs = NULL, .count = 0, .capacity = 0};
	for (int id = KNOT_ANSWER; id <= KNOT_ADDITIONAL; id++) {
		canon_answer_section_t *section = &o->answer->section[id];
		canon_answer_section_t out = {.rrs = NULL, .count = 0, .capacity = 0};
		for (uint16_t i = 0; i < section->count; i++) {
			int ret = sign_one(o, section->rrs[i].rr, section->rrs[i].compr_hint, &out,
			                   &extra);
			if (ret != 0) {
				return ret;
			}
		}
		for (uint16_t i = 0; id == KNOT_AUTHORITY && i < extra.count; i++) {
			int ret = push(o, &out, extra.rrs[i].rr, KNOT_COMPR_HINT_NONE);
			if (ret != 0) {
				return ret;
			}
		}
		if (out.count > 0) {
			section->rrs = out.rrs;
			section->capacity = out.capacity;
		}
		section->count = out.count;
	}
	return 0;
}

/* ---- the name the answer is about, and its negative or key RRsets ---- */

/* The last name of the chain: QNAME, then each CNAME's target (RFC 6604 §3). */
static const knot_dname_t *final_name(const canon_answer_t *answer, const knot_dname_t *qname)
{
	const knot_dname_t *name = qname;
	const canon_answer_section_t *an = &answer->section[KNOT_ANSWER];
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = an->rrs[i].rr;
		if (rr->type == KNOT_RRTYPE_CNAME && knot_dname_is_case_equal(rr->owner, name)) {
			name = knot_cname_name(rr->rrs.rdata);
		}
	}
	return name;
}

/* Whether the authority section holds 'rr'; removes it when 'drop'. */
static bool authority_has(canon_answer_t *answer, const knot_rrset_t *rr, bool drop)
{
	canon_answer_section_t *auth = &answer->section[KNOT_AUTHORITY];
	for (uint16_t i = 0; i < auth->count; i++) {
		if (auth->rrs[i].rr == rr) {
			if (drop) {
				memmove(&auth->rrs[i], &auth->rrs[i + 1],
				        (size_t)(auth->count - i - 1) * sizeof(auth->rrs[0]));
				auth->count--;
			}
			return true;
		}
	}
	return false;
}

/*
 * The apex's DNSKEY, CDS and CDNSKEY are the key's, not the zone file's: a
 * NODATA for them at the apex becomes the RRset (with or without DO).
 */
static int add_keys(online_t *o, const canon_zone_t *zone, const canon_sign_key_t *key,
                    uint16_t qtype)
{
	const knot_rrset_t *sets[] = {&key->dnskey, &key->cds, &key->cdnskey};
	bool any = qtype == KNOT_RRTYPE_ANY;
	if (!any && !authority_has(o->answer, &zone->negative_soa, false)) {
		return 0;
	}
	for (size_t i = 0; i < 3; i++) {
		if (any || sets[i]->type == qtype) {
			authority_has(o->answer, &zone->negative_soa, true);
			int ret = push(o, &o->answer->section[KNOT_ANSWER], sets[i],
			               o->answer->hops == 0 ? KNOT_COMPR_HINT_QNAME
			                                    : KNOT_COMPR_HINT_NONE);
			if (ret != 0) {
				return ret;
			}
		}
	}
	return 0;
}

/*
 * RFC 9824 §3: compact denial. NXDOMAIN is answered NOERROR with an NSEC at
 * the name listing RRSIG, NSEC and NXNAME; NODATA with an NSEC at the name
 * listing the types it has. Only with DO: without it the answer keeps its
 * NXDOMAIN (§5: an authoritative server may do that for DO=0 queries).
 */
static int add_denial(online_t *o, const canon_zone_t *zone, const knot_dname_t *name,
                      const canon_name_t *prepared)
{
	canon_answer_t *answer = o->answer;
	uint16_t types[BITMAP_TYPES_MAX];
	size_t count = 0;
	if (answer->rcode == KNOT_RCODE_NXDOMAIN) {
		answer->rcode = KNOT_RCODE_NOERROR;
		types[count++] = RRTYPE_NXNAME;
	} else if (answer->rcode != KNOT_RCODE_NOERROR) {
		return 0;
	} else {
		count = node_types(zone, prepared, types);
	}
	type_add(types, &count, KNOT_RRTYPE_RRSIG);
	type_add(types, &count, KNOT_RRTYPE_NSEC);
	uint8_t next[KNOT_DNAME_MAXLEN];
	size_t next_len = successor(name, next);
	knot_rrset_t *nsec =
	        make_nsec(o, name, next, next_len, types, count, zone->negative_soa.ttl);
	if (nsec == NULL) {
		return -ENOMEM;
	}
	return push(o, &answer->section[KNOT_AUTHORITY], nsec, KNOT_COMPR_HINT_NONE);
}

/* RFC 4035 §3.1.4: a referral from an online zone without DS proves that with an NSEC. */
static int add_insecure_referral(online_t *o)
{
	canon_answer_section_t *auth = &o->answer->section[KNOT_AUTHORITY];
	if (auth->count == 0 || auth->rrs[0].rr->type != KNOT_RRTYPE_NS) {
		return 0;
	}
	const knot_rrset_t *ns = auth->rrs[0].rr;
	for (uint16_t i = 1; i < auth->count; i++) {
		if (auth->rrs[i].rr->type == KNOT_RRTYPE_DS) {
			return 0;
		}
	}
	canon_name_t cut;
	canon_name_prepare(&cut, ns->owner);
	const canon_zone_t *zone = canon_zonetable_find(o->table, &cut, 0);
	if (zone_key(zone) == NULL || zone->apex->owner_size == cut.size) {
		return 0;
	}
	uint16_t types[BITMAP_TYPES_MAX];
	size_t count = node_types(zone, &cut, types);
	type_add(types, &count, KNOT_RRTYPE_RRSIG);
	type_add(types, &count, KNOT_RRTYPE_NSEC);
	uint8_t next[KNOT_DNAME_MAXLEN];
	size_t next_len = successor(ns->owner, next);
	knot_rrset_t *nsec =
	        make_nsec(o, ns->owner, next, next_len, types, count, zone->negative_soa.ttl);
	return nsec != NULL ? push(o, auth, nsec, KNOT_COMPR_HINT_NONE) : -ENOMEM;
}

/* The final name's part: keys at an online apex, compact denial, insecure referrals. */
static int complete_final(online_t *o, const knot_dname_t *qname, uint16_t qtype)
{
	canon_answer_t *answer = o->answer;
	const knot_dname_t *name = final_name(answer, qname);
	canon_name_t prepared;
	canon_name_prepare(&prepared, name);
	const canon_zone_t *zone = zone_of(o, &prepared, qtype);
	const canon_sign_key_t *key = zone_key(zone);
	if (key == NULL) {
		return 0;
	}
	if (zone->apex->owner_size == prepared.size &&
	    (qtype == KNOT_RRTYPE_DNSKEY || qtype == KNOT_RRTYPE_CDS ||
	     qtype == KNOT_RRTYPE_CDNSKEY || qtype == KNOT_RRTYPE_ANY)) {
		int ret = add_keys(o, zone, key, qtype);
		if (ret != 0) {
			return ret;
		}
	}
	if (!o->dnssec) {
		return 0;
	}
	if (!answer->aa && answer->hops == 0) {
		return add_insecure_referral(o);
	}
	if (authority_has(answer, &zone->negative_soa, false)) {
		return add_denial(o, zone, name, &prepared);
	}
	return 0;
}

/* Queries this pass handles without DO too: the apex keys, and NXNAME. */
static bool without_do(uint16_t qtype)
{
	return qtype == KNOT_RRTYPE_DNSKEY || qtype == KNOT_RRTYPE_CDS ||
	       qtype == KNOT_RRTYPE_CDNSKEY || qtype == KNOT_RRTYPE_ANY || qtype == RRTYPE_NXNAME;
}

/*
 * RFC 9824 §3.5: NXNAME is a meta-type; a query for it gets FORMERR (with
 * EDE 30, Invalid Query Type) from a zone that uses it.
 */
static bool refuse_nxname(online_t *o, const knot_dname_t *qname)
{
	canon_name_t name;
	canon_name_prepare(&name, qname);
	if (zone_key(canon_zonetable_find(o->table, &name, 0)) == NULL) {
		return false;
	}
	canon_answer_t *answer = o->answer;
	answer->rcode = KNOT_RCODE_FORMERR;
	answer->ede = 30;
	answer->ede_text = "NXNAME is a meta-type (RFC 9824)";
	for (int i = 0; i < 3; i++) {
		answer->section[i].count = 0;
	}
	return true;
}

_Atomic bool canon_online_any;

void canon_online_enable(void)
{
	atomic_store(&canon_online_any, true);
}

int canon_online_sign_answer(canon_online_cache_t *cache, const canon_zonetable_t *table,
                             const knot_dname_t *qname, uint16_t qtype, bool dnssec,
                             canon_answer_t *answer, knot_mm_t *mm)
{
	/* Without DO only the apex keys are ours to add. */
	if ((!dnssec && !without_do(qtype)) || table == NULL || !canon_online_active()) {
		return 0;
	}
	online_t o = {.cache = cache,
	              .table = table,
	              .answer = answer,
	              .mm = mm,
	              .now = (uint32_t)time(NULL),
	              .dnssec = dnssec};
	if (qtype == RRTYPE_NXNAME && refuse_nxname(&o, qname)) {
		return 0;
	}
	int ret = complete_final(&o, qname, qtype);
	if (ret == 0 && dnssec) {
		ret = sign_sections(&o);
	}
	return ret;
}

/* ---- keys (the zone manager's thread) ---- */

typedef struct {
	char *origin;
	canon_sign_key_t *key;
} key_slot_t;

/* Keys live until the process ends: answers in flight may hold any of them. */
static key_slot_t *keys;
static size_t key_count;
static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;

static const canon_sign_key_t *key_find_or_open(const char *state_dir, const char *origin,
                                                char *why, size_t why_size)
{
	for (size_t i = 0; i < key_count; i++) {
		if (strcmp(keys[i].origin, origin) == 0) {
			return keys[i].key;
		}
	}
	char error[4400];
	canon_sign_key_t *key = NULL;
	if (canon_sign_key_open(state_dir, origin, &key, error, sizeof(error)) != 0) {
		snprintf(why, why_size, "dnssec=online: %s", error);
		return NULL;
	}
	key_slot_t *grown = realloc(keys, (key_count + 1) * sizeof(*keys));
	char *name = strdup(origin);
	if (grown == NULL || name == NULL) {
		keys = grown != NULL ? grown : keys;
		free(name);
		canon_sign_key_free(key);
		snprintf(why, why_size, "dnssec=online: out of memory");
		return NULL;
	}
	keys = grown;
	keys[key_count++] = (key_slot_t){.origin = name, .key = key};
	char path[4200];
	canon_sign_key_path(state_dir, origin, path, sizeof(path));
	canon_log(CANON_LOG_INFO, "zone %s: signing online with key %u (%s)", origin, key->keytag,
	          path);
	return key;
}

int canon_online_attach(const char *state_dir, canon_zone_conf_t *conf, char *why, size_t why_size)
{
	char own[512];
	if (why == NULL) {
		why = own;
		why_size = sizeof(own);
	}
	if (!conf->dnssec_online) {
		return 0;
	}
	if (state_dir == NULL) {
		snprintf(why, why_size, "dnssec=online needs state-dir");
	} else {
		pthread_mutex_lock(&keys_lock);
		const canon_sign_key_t *key =
		        key_find_or_open(state_dir, conf->origin, why, why_size);
		pthread_mutex_unlock(&keys_lock);
		if (key != NULL) {
			__atomic_store_n(&conf->online_key, key, __ATOMIC_RELEASE);
			canon_online_enable();
			return 0;
		}
	}
	if (why == own) {
		canon_log(CANON_LOG_ERROR, "zone %s: %s", conf->origin, why);
	}
	return -EIO;
}

/* Types that make a zone pre-signed: its own keys, signatures or denial chain. */
static bool dnssec_type(uint16_t type)
{
	return type == KNOT_RRTYPE_RRSIG || type == KNOT_RRTYPE_NSEC || type == KNOT_RRTYPE_NSEC3 ||
	       type == KNOT_RRTYPE_NSEC3PARAM || type == KNOT_RRTYPE_DNSKEY;
}

int canon_online_check_zone(const canon_zone_conf_t *conf, const canon_zone_t *zone,
                            const char *source, char *why, size_t why_size)
{
	if (!conf->dnssec_online) {
		return 0;
	}
	for (size_t i = 0; i < zone->node_count; i++) {
		const canon_node_t *node = zone->nodes[i];
		for (uint16_t r = 0; r < node->rrset_count; r++) {
			uint16_t type = node->rrsets[r].rr.type;
			if (!dnssec_type(type)) {
				continue;
			}
			char owner[KNOT_DNAME_TXT_MAXLEN], tname[32];
			knot_dname_to_str(owner, node->owner, sizeof(owner));
			knot_rrtype_to_string(type, tname, sizeof(tname));
			snprintf(
			        why, why_size,
			        "dnssec=online, but %s is already signed (%s %s): a zone is either "
			        "pre-signed or signed online; remove dnssec=online to serve its "
			        "signatures, or its DNSSEC records to sign online",
			        source, owner, tname);
			return -EINVAL;
		}
	}
	return 0;
}
