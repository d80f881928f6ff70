"""End-to-end tests of `canon resolve` in the loopback mini-internet of miniworld.py.

The world (tests/zones/world/, one server per 127.53.0.x address, all on one
high query port and on port 53) has a root (canon serve), test. (knotd),
leaf zones on knotd and canon serve, a liar (a dnspython server), a server
that never answers and an address where nothing listens. canon resolve runs
with --root-hints tests/zones/world/root.hints and --query-port; unbound runs
against the same processes on port 53 (docs/resolver.md says why).

Every answer is checked whole: rcode, QR/RA set, AA clear, RD copied, TC,
the question, ANSWER and AUTHORITY as sets of RRsets equal to the zones' data
(TTLs no higher than the zone's and not more than TTL_SLACK lower), nothing
in ADDITIONAL but the OPT, the header's counts (a duplicate would show), and
the Extended DNS Error option (RFC 8914): its code and words in its text.

Cache tests stop the world's server processes (SIGSTOP) and ask again: what
still answers came from the cache; SIGCONT follows in any case. Everything is
bounded in time; the world, the resolvers and unbound are stopped at the end.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_resolve.py
"""
import concurrent.futures
import os
import random
import re
import select
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

import conftest
import miniworld
from miniworld import world  # noqa: F401  (the module-scoped world fixture)

TIMEOUT = 6.0      # one query to a resolver: more than canon's 4 s resolution deadline
TTL_SLACK = 120    # seconds a cached TTL may have counted down during this module
FAST = 0.3         # a cache hit, or a resolution in the healthy part of the world
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")

EDE_OTHER, EDE_NO_REACHABLE_AUTHORITY = 0, 22
ANY_EDE = "any"  # an EDE must be there; which one is not the point of the test


# ---------------------------------------------------------------------------
# The world's data, from its zone files.


def _load_zones():
    zones = {}
    for name in sorted(os.listdir(miniworld.WORLD_ZONES)):
        if name.endswith(".zone"):
            origin = "." if name == "root.zone" else name[: -len("zone")]
            path = os.path.join(miniworld.WORLD_ZONES, name)
            zones[dns.name.from_text(origin)] = dns.zone.from_file(
                path, origin=origin, relativize=False, check_origin=False)
    return zones


ZONES = _load_zones()


def zone_of(name):
    name = dns.name.from_text(name)
    return ZONES[max((o for o in ZONES if name.is_subdomain(o)), key=len)]


def Z(name, rtype):
    """The RRset 'name'/'rtype' of the zone that holds it, TTL as in the file."""
    rrset = zone_of(name).find_rrset(name, rtype)
    return dns.rrset.from_rdata_list(rrset.name, rrset.ttl, list(rrset))


def neg_soa(origin):
    """The SOA of a negative answer: TTL min(SOA TTL, MINIMUM) (RFC 2308 §3)."""
    soa = Z(origin, "SOA")
    return dns.rrset.from_rdata_list(soa.name, min(soa.ttl, soa[0].minimum), list(soa))


def rr(owner, ttl, rtype, *rdatas):
    return dns.rrset.from_text(owner, ttl, "IN", rtype, *rdatas)


# ---------------------------------------------------------------------------
# Exchanging messages (raw, so that the header's counts can be checked).


class Reply:
    def __init__(self, query, wire, elapsed):
        self.query, self.wire, self.elapsed = query, wire, elapsed
        self.msg = dns.message.from_wire(wire)
        self.counts = struct.unpack("!HHHH", wire[4:12])


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def exchange(addr, port, query, tcp=False, timeout=TIMEOUT):
    """Send 'query'; a Reply, or None when nothing came back within 'timeout'."""
    wire = query.to_wire()
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    start = time.monotonic()
    deadline = start + timeout
    try:
        if tcp:
            with socket.create_connection((addr, port), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(struct.pack("!H", len(wire)) + wire)
                head = _recv_exact(s, 2)
                data = head and _recv_exact(s, struct.unpack("!H", head)[0])
        else:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((addr, port))
                s.send(wire)
                while True:
                    s.settimeout(max(0.001, deadline - time.monotonic()))
                    data = s.recv(65535)
                    if data[:2] == wire[:2]:
                        break
    except (socket.timeout, ConnectionError):
        return None
    if not data:
        return None
    return Reply(query, data, time.monotonic() - start)


def make_query(qname, qtype="A", edns=True, payload=1232, rdclass="IN"):
    q = dns.message.make_query(qname, qtype, rdclass=rdclass)  # RD set: a stub's query
    if edns:
        q.use_edns(0, payload=payload)
    return q


def ask(server, qname, qtype="A", tcp=False, timeout=TIMEOUT, **kw):
    reply = exchange(server.addr, server.port, make_query(qname, qtype, **kw), tcp, timeout)
    assert reply is not None, f"{qname}/{qtype}: no answer within {timeout} s"
    return reply


def ede_of(msg):
    return [(int(o.code), o.text or "") for o in msg.options
            if o.otype == dns.edns.OptionType.EDE]


def rrset_key(rrset):
    """An RRset without its TTL: owner (case-folded), type and the set of rdatas."""
    return (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
            frozenset(rd.to_text() if rrset.rdtype == dns.rdatatype.TXT else rd.to_text().lower()
                      for rd in rrset))


def section_text(rrsets):
    return "\n".join(sorted(f"  {k[0]} {k[1]} {' | '.join(sorted(k[2]))}"
                            for k in map(rrset_key, rrsets))) or "  (empty)"


def check_section(name, got, expected, slack):
    got_keys = {rrset_key(r): r for r in got}
    want_keys = {rrset_key(r): r for r in expected}
    assert set(got_keys) == set(want_keys), (
        f"{name} differs\n--- got:\n{section_text(got)}\n--- expected:\n{section_text(expected)}")
    for key, want in want_keys.items():
        ttl = got_keys[key].ttl
        assert ttl <= want.ttl, f"{name}: {key[0]} {key[1]} TTL {ttl} above the zone's {want.ttl}"
        assert ttl >= want.ttl - slack, \
            f"{name}: {key[0]} {key[1]} TTL {ttl}, the zone says {want.ttl}"


def check(reply, rcode=dns.rcode.NOERROR, answer=(), authority=(), ede=None, ede_words=(),
          tc=False, slack=TTL_SLACK, max_time=None):
    """The whole response of a resolver against the expected one."""
    msg, query = reply.msg, reply.query
    where = f"{query.question[0].name} {dns.rdatatype.to_text(query.question[0].rdtype)}"
    assert dns.rcode.to_text(msg.rcode()) == dns.rcode.to_text(rcode), \
        f"{where}: rcode; EDE {ede_of(msg)}\n{msg}"
    assert msg.id == query.id and msg.flags & dns.flags.QR
    # RFC 1035 §4.1.1: recursion available; a resolver's answers are not authoritative.
    assert msg.flags & dns.flags.RA, f"{where}: RA clear"
    assert not msg.flags & dns.flags.AA, f"{where}: AA set in a resolver's answer"
    assert bool(msg.flags & dns.flags.RD) == bool(query.flags & dns.flags.RD)
    assert bool(msg.flags & dns.flags.TC) == tc, f"{where}: TC should be {tc}"
    assert [(q.name.to_text(), q.rdtype) for q in msg.question] == \
           [(q.name.to_text(), q.rdtype) for q in query.question]
    assert (msg.edns >= 0) == (query.edns >= 0)
    check_section(f"{where}: ANSWER", msg.answer, answer, slack)
    check_section(f"{where}: AUTHORITY", msg.authority, authority, slack)
    assert not msg.additional, f"{where}: ADDITIONAL\n{msg}"
    counts = (sum(len(r) for r in answer), sum(len(r) for r in authority),
              1 if msg.edns >= 0 else 0)
    assert reply.counts[1:] == counts, f"{where}: section counts (a record twice?)"
    found = ede_of(msg)
    if ede is None or query.edns < 0:
        assert not found, f"{where}: unexpected EDE {found}"
    elif ede == ANY_EDE:
        assert len(found) == 1, f"{where}: EDE {found}, expected one"
    else:
        assert [c for c, _ in found] == [ede], f"{where}: EDE {found}, expected code {ede}"
        for word in ede_words:
            assert re.search(word, found[0][1], re.I), \
                f"{where}: EDE text {found[0][1]!r} does not mention {word!r}"
    if max_time is not None:
        assert reply.elapsed < max_time, f"{where}: took {reply.elapsed:.2f} s"


# ---------------------------------------------------------------------------
# The cases: one query each, and canon's expected answer.


def _chain3():
    return [Z("a.one.test.", "CNAME"), Z("b.two.test.", "CNAME"), Z("c.three.test.", "A")]


def _chain(n):
    out = []
    for i in range(n + 1):
        zone = "one" if i % 2 == 0 else "two"
        out.append(Z(f"c{n}-{i}.{zone}.test.", "CNAME" if i < n else "A"))
    return out


def _dname(label, target_zone="two.test."):
    return [Z("alias.one.test.", "DNAME"),
            rr(f"{label}.alias.one.test.", Z("alias.one.test.", "DNAME").ttl, "CNAME",
               f"{label}.real.{target_zone}")]


def _liar():
    return [rr("www.liar.test.", 300, "CNAME", "victim.target.test."),
            Z("victim.target.test.", "A")]


NX, OK, SF = dns.rcode.NXDOMAIN, dns.rcode.NOERROR, dns.rcode.SERVFAIL

# id: (qname, qtype, rcode, answer, authority, ede, ede words, max seconds)
CASES = {
    # 3 zones on 2 kinds of server: a.one.test (knotd) -> b.two.test (canon) -> c.three.test.
    "chain3": ("a.one.test.", "A", OK, _chain3, list, None, (), None),
    "chain3-qtype-cname": ("a.one.test.", "CNAME", OK,
                           lambda: [Z("a.one.test.", "CNAME")], list, None, (), None),
    "chain-in-zone-then-out": ("in1.one.test.", "A", OK,
                               lambda: [Z("in1.one.test.", "CNAME"), Z("in2.one.test.", "CNAME")]
                               + _chain3()[1:], list, None, (), None),
    "middle-of-chain": ("b.two.test.", "A", OK, lambda: _chain3()[1:], list, None, (), None),
    "dname-across-zones": ("www.alias.one.test.", "A", OK,
                           lambda: _dname("www") + [Z("www.real.two.test.", "A")],
                           list, None, (), None),
    "dname-to-nxdomain": ("nope.alias.one.test.", "A", NX, lambda: _dname("nope"),
                          lambda: [neg_soa("two.test.")], None, (), None),
    "cname-loop-across-zones": ("loop1.one.test.", "A", SF, list, list, EDE_OTHER,
                                ("loop",), None),
    "chain-16-links": ("c16-0.one.test.", "A", OK, lambda: _chain(16), list, None, (), None),
    "chain-17-links": ("c17-0.one.test.", "A", SF, list, list, EDE_OTHER,
                       ("16", "long|length|links"), None),
    "chain-to-nxdomain": ("nx.one.test.", "A", NX, lambda: [Z("nx.one.test.", "CNAME")],
                          lambda: [neg_soa("two.test.")], None, (), None),
    "chain-to-nodata": ("nodata.one.test.", "A", OK, lambda: [Z("nodata.one.test.", "CNAME")],
                        lambda: [neg_soa("two.test.")], None, (), None),
    "nxdomain-in-root": ("www.example.", "A", NX, list, lambda: [neg_soa(".")], None, (), None),
    "tld-soa": ("test.", "SOA", OK, lambda: [Z("test.", "SOA")], list, None, (), None),
    "lame-refused": ("www.lame.test.", "A", SF, list, list, EDE_NO_REACHABLE_AUTHORITY, (), None),
    "lame-parent-answers": ("www.parentlame.test.", "A", SF, list, list,
                            EDE_NO_REACHABLE_AUTHORITY, (), None),
    "one-lame-one-good": ("www.halflame.test.", "A", OK, lambda: [Z("www.halflame.test.", "A")],
                          list, None, (), None),
    # canon waits 0.8 s for a server; the whole resolution has 4 s.
    "first-ns-dead-fallback": ("www.fallback.test.", "A", OK,
                               lambda: [Z("www.fallback.test.", "A")], list, None, (), 3.0),
    "dead-server": ("www.dead.test.", "A", SF, list, list, EDE_NO_REACHABLE_AUTHORITY, (), 4.5),
    "nothing-listening": ("www.unreach.test.", "A", SF, list, list,
                          EDE_NO_REACHABLE_AUTHORITY, (), 4.5),
    "ns-without-glue": ("www.noglue.test.", "A", OK, lambda: [Z("www.noglue.test.", "A")],
                        list, None, (), None),
    "liar": ("www.liar.test.", "A", OK, _liar, list, None, (), None),
    "big-txt-tcp": ("big.two.test.", "TXT", OK, lambda: [Z("big.two.test.", "TXT")], list,
                    None, (), None),
    "alias-of-big-txt-tcp": ("bigalias.one.test.", "TXT", OK,
                             lambda: [Z("bigalias.one.test.", "CNAME"), Z("big.two.test.", "TXT")],
                             list, None, (), None),
}


def check_case(reply, case_id, **kw):
    _, _, rcode, answer, authority, ede, words, max_time = CASES[case_id]
    kw.setdefault("max_time", max_time)
    check(reply, rcode, answer(), authority(), ede, words, **kw)


def ask_case(server, case_id, **kw):
    qname, qtype = CASES[case_id][:2]
    return ask(server, qname, qtype, tcp=case_id.endswith("-tcp"), **kw)


# ---------------------------------------------------------------------------
# Fixtures.


def sanitizer_report(server):
    text = open(server.logpath, errors="replace").read()
    return next((m for m in SANITIZER_MARKS if m in text), None)


def stop_checked(server):
    alive = server.alive()
    server.stop()
    assert alive, f"{server.logpath}: the process died"
    assert sanitizer_report(server) is None, f"sanitizer report in {server.logpath}"


@pytest.fixture(scope="module")
def resolver(world):  # noqa: F811
    """canon resolve over the world, shared by the module (its cache too)."""
    r = world.resolver()
    yield r
    stop_checked(r)


@pytest.fixture
def fresh(world):  # noqa: F811
    """Start canon resolvers with a cold cache; all stopped at the test's end."""
    started = []

    def start(**kw):
        r = world.resolver(**kw)
        started.append(r)
        return r

    yield start
    for r in started:
        stop_checked(r)


@pytest.fixture(scope="module")
def unbound(world):  # noqa: F811
    if not miniworld.unbound_available():
        pytest.skip("unbound is not installed (/usr/sbin/unbound)")
    if not world.port53:
        pytest.skip(f"the world is not on port 53, which unbound needs: {world.why_no_53}")
    u = miniworld.start_unbound(world.workdir)
    yield u
    u.stop()


# ---------------------------------------------------------------------------
# Every case, asked of canon.


@pytest.mark.parametrize("case_id", list(CASES))
def test_case(resolver, case_id):
    check_case(ask_case(resolver, case_id), case_id)


def test_no_edns_no_ede(resolver):
    """Without EDNS in the query there is no OPT to carry the EDE: SERVFAIL alone."""
    reply = ask(resolver, "loop1.one.test.", edns=False)
    check(reply, SF)


def test_big_answer_truncates_over_udp(world, resolver):  # noqa: F811
    """The TXT RRset is over 1232 octets: the authoritative server truncates over UDP,
    canon has to ask again over TCP (the whole set comes back only that way) and
    truncates its own UDP answer; the client's retry over TCP gets it all."""
    direct = exchange(miniworld.CANON, world.query_port,
                      make_query("big.two.test.", "TXT"), timeout=2)
    assert direct is not None and direct.msg.flags & dns.flags.TC, \
        "precondition: the authoritative server truncates the big TXT over UDP"
    for kw in ({"edns": True}, {"edns": False}):
        reply = ask(resolver, "big.two.test.", "TXT", **kw)
        check(reply, OK, tc=True)
    check_case(ask(resolver, "big.two.test.", "TXT", tcp=True), "big-txt-tcp")
    check(ask(resolver, "bigalias.one.test.", "TXT"), OK, tc=True)


def test_edns_version_1_gets_badvers(resolver):
    """RFC 6891 §6.1.3: a version the responder does not implement gets BADVERS
    (16: 1 in the OPT's extended rcode), with an OPT of the version it does speak."""
    q = dns.message.make_query("a.one.test.", "A")
    q.use_edns(1, payload=1232)
    reply = exchange(resolver.addr, resolver.port, q, timeout=2)
    assert reply is not None, "no answer to an EDNS version 1 query"
    assert reply.msg.rcode() == dns.rcode.BADVERS, dns.rcode.to_text(reply.msg.rcode())
    assert reply.msg.edns == 0 and not reply.msg.answer
    check(ask(resolver, "a.one.test."), OK, _chain3())


def test_chaos_class_refused(resolver):
    check(ask(resolver, "version.bind.", "TXT", rdclass="CH"), dns.rcode.REFUSED)


# ---------------------------------------------------------------------------
# Time: a dead server costs one timeout, and only to the queries that need it.


def test_dead_server_stalls_no_one_else(fresh):
    """Queries into the dead zone wait on its server; a query into the healthy
    part, sent while they wait, is resolved (cold: root, test., 3 zones) at once."""
    r = fresh()
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        dead = [pool.submit(ask, r, f"n{i}.dead.test.") for i in range(4)]
        time.sleep(0.1)
        start = time.monotonic()
        healthy = ask(r, "a.one.test.", timeout=TIMEOUT)
        check_case(healthy, "chain3")
        assert healthy.elapsed < 0.5, f"healthy query took {healthy.elapsed:.2f} s"
        assert not all(f.done() for f in dead), "the dead-zone queries did not wait at all"
        for f in dead:
            check(f.result(), SF, ede=EDE_NO_REACHABLE_AUTHORITY)
        assert time.monotonic() - start < 4.5


def _storm(server, names, wait):
    """Send every query of 'names' over UDP at once (in bursts of 20); {qname: (rcode,
    seconds)} of the replies that came within 'wait' s of the first send."""
    got = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.connect((server.addr, server.port))
        ids = {}
        start = time.monotonic()
        for i, name in enumerate(names):
            q = make_query(name)
            q.id = i
            ids[i] = name
            s.send(q.to_wire())
            if i % 20 == 19:
                time.sleep(0.005)  # 200 at once could overflow a socket buffer on a busy host
        deadline = start + wait
        while len(got) < len(names) and time.monotonic() < deadline:
            s.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                wire = s.recv(65535)
            except socket.timeout:
                break
            msg = dns.message.from_wire(wire)
            if msg.id in ids:
                got[ids[msg.id]] = (msg.rcode(), time.monotonic() - start)
    return got


def test_blackholed_zone_holds_up_no_one_else(fresh):
    """100 queries wait on dead.test (its only server never answers); 100 uncached
    queries into healthy zones, sent right after them, are all answered within 1.5 s.
    A server that timed out is asked by one query at a time until it answers again
    (the infrastructure cache in src/resolve/infra.c), so the dead zone holds at most
    the threads of the first burst, for one timeout."""
    r = fresh()
    tag = random.randrange(10**9)
    dead = [f"d{tag}-{i}.dead.test." for i in range(100)]
    good = [f"g{tag}-{i}.{('one', 'two', 'three')[i % 3]}.test." for i in range(100)]
    got = _storm(r, dead + good, 5.0)  # 5 s to say what came late; 1.5 s is the bound
    answered = [n for n in good if n in got and got[n][0] != dns.rcode.SERVFAIL
                and got[n][1] < 1.5]
    times = sorted(t for n, (rc, t) in got.items() if n in good)
    dead_times = sorted(t for n, (rc, t) in got.items() if n in dead)
    assert len(answered) == 100, \
        f"only {len(answered)} of 100 healthy queries answered within 1.5 s; " \
        f"healthy answers after {times[:1]}..{times[-1:]} s, " \
        f"{len(dead_times)} dead-zone answers after {dead_times[:1]}..{dead_times[-1:]} s"
    print(f"100 healthy queries answered, the last after {times[-1]:.2f} s")
    # The dead zone fails fast once its server is known dead.
    check(ask(r, f"late{tag}.dead.test.", timeout=2), SF, ede=EDE_NO_REACHABLE_AUTHORITY)


# ---------------------------------------------------------------------------
# TCP clients that tie up connections (RFC 7766 §6.2.3).

MSG_DEADLINE = 5.0  # CANON_TCP_MSG_DEADLINE_MS in src/lib/tcplimit.h


def _closed_by_peer(s):
    try:
        r, _, _ = select.select([s], [], [], 0)
        return bool(r) and s.recv(65535) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def test_slow_and_non_reading_tcp_clients_lock_no_one_out(fresh):
    """20 clients that send one octet of a message and stop (slowloris) and 8 that
    send 1,000 queries for a 2.2 KB answer and never read hold connections; new TCP
    clients are still answered at once: the connection idle longest is evicted,
    and a message must be whole within 5 s of its first octet."""
    r = fresh()
    check(ask(r, "big.two.test.", "TXT", tcp=True), OK, [Z("big.two.test.", "TXT")])
    held = []
    try:
        for _ in range(20):
            s = socket.create_connection((r.addr, r.port), timeout=2)
            s.sendall(b"\x00")
            held.append(s)
        flood = b"".join(struct.pack("!H", len(w)) + w
                         for w in [make_query("big.two.test.", "TXT").to_wire()] * 1000)
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(2)
            s.connect((r.addr, r.port))
            s.setblocking(False)
            try:
                s.send(flood)
            except (BlockingIOError, ConnectionError):
                pass
            held.append(s)
        time.sleep(0.3)
        for i in range(5):
            reply = ask(r, "a.one.test.", tcp=True, timeout=2)
            check(reply, OK, _chain3(), max_time=1.0)
        for s in held:
            s.setblocking(False)
        deadline = time.monotonic() + MSG_DEADLINE + 1.5
        while time.monotonic() < deadline and not all(_closed_by_peer(s) for s in held[:20]):
            time.sleep(0.2)
        assert all(_closed_by_peer(s) for s in held[:20]), \
            "a slowloris connection outlived the message deadline"
    finally:
        for s in held:
            s.close()


def test_glue_does_not_replace_an_answer(world, fresh):  # noqa: F811
    """RFC 2181 §5.4.1: sibling.two.test A is first answered by two.test's server
    (127.53.0.4); then test.'s referral for ranked.test carries glue for it that
    says 127.53.0.3. The glue may not replace the cached answer."""
    r = fresh()
    answer = [Z("sibling.two.test.", "A")]
    check(ask(r, "sibling.two.test."), OK, answer)
    ask(r, "www.ranked.test.")  # the referral with the other glue; its outcome is not the point
    check(ask(r, "sibling.two.test."), OK, answer)
    # Glue learnt first answers no client either: the answer comes from two.test.
    r2 = fresh()
    ask(r2, "www.ranked.test.")
    check(ask(r2, "sibling.two.test."), OK, answer)


def test_nxns_referral_is_bounded(world, fresh):  # noqa: F811
    """NXNSAttack: the liar refers nxns.liar.test to 50 glueless name servers whose
    names do not exist. canon looks up a few of them (3 per referral, 6 per
    resolution, A and AAAA each), not all 50, and fails the query."""
    r = fresh()
    tag = random.randrange(10**9)
    before = len(world.liar.queries(port=world.query_port))
    check(ask(r, f"x{tag}.nxns.liar.test."), SF, ede=ANY_EDE)
    sink = [q for q in world.liar.queries(port=world.query_port)[before:]
            if q[2].endswith(f"{miniworld.NXNS_SINK}")]
    assert 0 < len(sink) <= 12, f"{len(sink)} look-ups of the referral's NS names"


def test_glueless_ns_with_only_aaaa(world, fresh):  # noqa: F811
    """iterate.c looks up a glueless name server's AAAA as well as its A: the only
    server of v6.liar.test, nsv6.liar.test, has an AAAA (::1) and no A."""
    try:
        v6 = miniworld.ScriptedServer("::1", [world.query_port], miniworld.v6_respond)
    except OSError as e:
        pytest.skip(f"cannot serve on [::1]:{world.query_port}: {e}")
    try:
        r = fresh()
        check(ask(r, "www.v6.liar.test."), OK,
              [rr("www.v6.liar.test.", 60, "A", miniworld.V6_ADDR)])
        assert any(q[2] == "www.v6.liar.test." for q in v6.queries())
    finally:
        v6.stop()


# ---------------------------------------------------------------------------
# Metrics (issue 13; docs/metrics.md).


def _metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(canon_resolver_\w+) (\S+)$", text, re.M)}


def test_metrics_count_hits_misses_and_upstream_failures(fresh):
    """--metrics ADDR:PORT: a cold chain is a miss with upstream queries, the same
    query again a hit; the dead zone's server counts as an upstream failure and
    its answer as a SERVFAIL. Another path is 404."""
    port = conftest.free_port()
    r = fresh(extra=["--metrics", f"127.0.0.1:{port}"])
    zero = _metrics(port)
    assert zero["canon_resolver_cache_hits_total"] == 0
    assert zero["canon_resolver_upstream_queries_total"] == 0
    check_case(ask(r, "a.one.test."), "chain3")
    after_miss = _metrics(port)
    assert after_miss["canon_resolver_cache_misses_total"] == 1
    assert after_miss["canon_resolver_upstream_queries_total"] >= 4  # root, test., 3 zones
    assert after_miss["canon_resolver_cache_entries"] > 0
    check_case(ask(r, "a.one.test."), "chain3")
    after_hit = _metrics(port)
    assert after_hit["canon_resolver_cache_hits_total"] == 1
    assert after_hit["canon_resolver_upstream_queries_total"] == \
        after_miss["canon_resolver_upstream_queries_total"]
    check(ask(r, "www.dead.test."), SF, ede=EDE_NO_REACHABLE_AUTHORITY)
    after_dead = _metrics(port)
    assert after_dead["canon_resolver_upstream_failures_total"] >= 1
    assert after_dead["canon_resolver_servfail_total"] == 1
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
    assert err.value.code == 404


def test_unusable_zones_are_logged_rate_limited(fresh):
    """Issue 13: the resolver says why a zone gave no usable answer, at most one
    line a second: 20 queries into dead.test give one line, not 20."""
    r = fresh()
    tag = random.randrange(10**9)
    for i in range(20):
        check(ask(r, f"l{tag}-{i}.dead.test."), SF, ede=EDE_NO_REACHABLE_AUTHORITY)
    time.sleep(1.1)
    check(ask(r, "www.lame.test."), SF, ede=EDE_NO_REACHABLE_AUTHORITY)
    lines = [line for line in r.logtext().splitlines() if "gave no usable answer" in line]
    dead = [line for line in lines if "zone dead.test." in line]
    assert 1 <= len(dead) <= 3, "\n".join(lines)
    assert "1 servers did not answer" in dead[0], dead[0]
    assert any("zone lame.test." in line and "1 answered unusably" in line
               for line in lines), "\n".join(lines)


# ---------------------------------------------------------------------------
# The cache.


def test_chain_and_its_links_are_cached(world, resolver):  # noqa: F811
    """After one resolution of a.one.test the chain is answered with every
    server of the world stopped; so are its middle link and its target alone."""
    check_case(ask(resolver, "a.one.test."), "chain3")
    with world.paused():
        for qname, answer in (("a.one.test.", _chain3()), ("b.two.test.", _chain3()[1:]),
                              ("c.three.test.", _chain3()[2:])):
            reply = ask(resolver, qname)
            check(reply, OK, answer, max_time=FAST)
        # Proof that the world is really silent: an uncached name cannot be resolved.
        label = f"r{random.randrange(10**9)}"
        check(ask(resolver, f"{label}.one.test."), SF, ede=EDE_NO_REACHABLE_AUTHORITY)


def test_cached_ttls_count_down(resolver):
    first = ask(resolver, "a.one.test.").msg
    time.sleep(1.1)
    second = ask(resolver, "a.one.test.").msg
    assert len(first.answer) == len(second.answer) == 3
    for a, b in zip(sorted(first.answer, key=rrset_key), sorted(second.answer, key=rrset_key)):
        assert b.ttl <= a.ttl - 1, f"{a.name} {a.ttl} -> {b.ttl}: not counting down"


def test_negative_answers_are_cached(world, resolver):  # noqa: F811
    """RFC 2308: NXDOMAIN (§5: for every type at the name) and NODATA (per type)
    are cached for min(SOA TTL, MINIMUM), each link of the chain on its own."""
    check_case(ask(resolver, "nx.one.test."), "chain-to-nxdomain")
    check_case(ask(resolver, "nodata.one.test."), "chain-to-nodata")
    soa = [neg_soa("two.test.")]
    with world.paused():
        check_case(ask(resolver, "nx.one.test."), "chain-to-nxdomain", max_time=FAST)
        check_case(ask(resolver, "nodata.one.test."), "chain-to-nodata", max_time=FAST)
        for qtype in ("A", "AAAA", "TXT"):
            check(ask(resolver, "nothere.two.test.", qtype), NX, authority=soa, max_time=FAST)
        check(ask(resolver, "txtonly.two.test.", "A"), OK, authority=soa, max_time=FAST)


def test_liar_cannot_poison(world, fresh):  # noqa: F811
    """The liar's answer carries victim.target.test A 6.6.6.6 and an NS for
    target.test with glue pointing at itself: out of its bailiwick, all of it.
    canon asks target.test's own server for the CNAME's target, and later
    direct queries for the name and for target.test's NS are not poisoned."""
    r = fresh()
    check_case(ask(r, "www.liar.test."), "liar")
    check(ask(r, "victim.target.test."), OK, [Z("victim.target.test.", "A")])
    check(ask(r, "target.test.", "NS"), OK, [Z("target.test.", "NS")])
    check(ask(r, "ns.target.test."), OK, [Z("ns.target.test.", "A")])
    asked = {q[2] for q in world.liar.queries(port=world.query_port)}
    assert asked and all(q.endswith("liar.test.") for q in asked), \
        f"canon asked the liar about names outside liar.test: {sorted(asked)}"


# ---------------------------------------------------------------------------
# Forwarding.

FORWARD_CASES = ("chain3", "dname-across-zones", "chain-to-nxdomain", "chain-to-nodata", "liar")


def test_forward_to_canon(resolver, fresh):
    """canon --forward to the iterating canon: same answers, each link asked apart.
    The 17-link chain fails in the forwarder; which EDE the forwarding canon then
    gives (today 22, "no forwarder answered") is not fixed by any RFC."""
    fwd = fresh(forward=[f"{resolver.addr}:{resolver.port}"])
    for case_id in FORWARD_CASES + ("chain-16-links",):
        check_case(ask_case(fwd, case_id), case_id)
    check(ask(fwd, "c17-0.one.test."), SF, ede=ANY_EDE)


def test_forward_to_unbound(unbound, fresh):
    fwd = fresh(forward=[f"{unbound.addr}:{unbound.port}"])
    for case_id in FORWARD_CASES:
        check_case(ask_case(fwd, case_id), case_id)


# ---------------------------------------------------------------------------
# Clients.


def test_loopback_ipv6_client_answered(fresh):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 here")
    r = fresh(addr="::1")
    check_case(ask(r, "a.one.test."), "chain3")


def _ask_from(server, source, qname="a.one.test."):
    """Ask over UDP from the loopback address 'source'; the Reply, or None."""
    q = make_query(qname)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(TIMEOUT)
        s.sendto(q.to_wire(), (server.addr, server.port))
        start = time.monotonic()
        try:
            wire = s.recv(65535)
        except socket.timeout:
            return None
    return Reply(q, wire, time.monotonic() - start)


def test_allow_recursion_refuses_other_clients(fresh):
    """server.c allowed(): with allow-recursion 127.0.0.1/32, a client on
    127.0.0.2 gets REFUSED (RFC 5358 §4: no open resolver) and one on 127.0.0.1
    is answered; without the setting, any loopback client is answered."""
    r = fresh(extra=["--allow-recursion", "127.0.0.1/32", "--allow-recursion", "::1"])
    check(_ask_from(r, "127.0.0.2"), dns.rcode.REFUSED)
    check(_ask_from(r, "127.0.0.1"), OK, _chain3())
    default = fresh()
    check(_ask_from(default, "127.0.0.2"), OK, _chain3())


def test_do_not_query_address(world, fresh):  # noqa: F811
    """do-not-query-address: the resolver never sends to an address in a listed
    prefix. With 127.53.0.5 (the liar) fenced, liar.test has no server to ask:
    SERVFAIL, and the liar sees no query; the rest of the world still answers."""
    r = fresh(extra=["--do-not-query-address", "127.53.0.5/32"])
    before = len(world.liar.queries())
    check(ask(r, "www.liar.test."), SF, ede=EDE_NO_REACHABLE_AUTHORITY)
    check(ask(r, "victim.target.test."), OK, [Z("victim.target.test.", "A")])
    assert len(world.liar.queries()) == before, "a query went to a fenced address"
    fenced = fresh(extra=["--do-not-query-address", "127.53.0.0/24"])
    check(ask(fenced, "a.one.test."), SF, ede=EDE_NO_REACHABLE_AUTHORITY)


def test_bad_prefix_is_refused(world):  # noqa: F811
    for flag in ("--do-not-query-address", "--allow-recursion"):
        out = subprocess.run([miniworld.CANON_BIN, "resolve", flag, "10.0.0.0/33"],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 2 and flag in out.stderr and "10.0.0.0/33" in out.stderr
        conf = os.path.join(world.workdir, "bad-prefix.conf")
        with open(conf, "w") as f:
            f.write(f"{flag[2:]}: 10.0.0.0/33\n")
        out = subprocess.run([miniworld.CANON_BIN, "resolve", "-c", conf],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 2 and f"{conf}:1" in out.stderr and flag[2:] in out.stderr, \
            out.stderr


# ---------------------------------------------------------------------------
# unbound on the same world: the same answers (rcode, ANSWER without TTLs),
# except where docs/resolver.md says why not.

UNBOUND_TIMEOUT = 10.0  # unbound may try the dead ns1 of fallback.test for 2.3 s first
UNBOUND_GIVE_UP = 3.0   # for the dead servers: unbound answers SERVFAIL only after ~30 s

# case id -> (unbound's outcome, as outcome() gives it); see docs/resolver.md.
UNBOUND_DIFFERS = {
    # unbound restarts at most 11 times (max-query-restarts, default 11).
    "chain-16-links": ("SERVFAIL", frozenset()),
    # unbound takes the unchanged referral from test.'s own server as an empty answer.
    "lame-parent-answers": ("NOERROR", frozenset()),
    # unbound keeps retrying servers that never answer: SERVFAIL after about 30 s.
    "dead-server": "no answer",
    "nothing-listening": "no answer",
}


def outcome(reply):
    if reply is None:
        return "no answer"
    return (dns.rcode.to_text(reply.msg.rcode()), frozenset(map(rrset_key, reply.msg.answer)))


def expected_outcome(case_id):
    rcode, answer = CASES[case_id][2], CASES[case_id][3]
    return (dns.rcode.to_text(rcode), frozenset(map(rrset_key, answer())))


@pytest.fixture(scope="module")
def unbound_outcomes(unbound):
    """Every case asked of unbound once, all at the same time (dead servers take long)."""
    def one(case_id):
        qname, qtype = CASES[case_id][:2]
        q = make_query(qname, qtype)
        wait = UNBOUND_GIVE_UP if UNBOUND_DIFFERS.get(case_id) == "no answer" else UNBOUND_TIMEOUT
        start = time.monotonic()
        got = outcome(exchange(unbound.addr, unbound.port, q, tcp=case_id.endswith("-tcp"),
                               timeout=wait))
        unbound_times[case_id] = time.monotonic() - start
        return got

    unbound_times = {}

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        outcomes = dict(zip(CASES, pool.map(one, CASES)))
    print("unbound's answer times (s):",
          " ".join(f"{c}={t:.2f}" for c, t in sorted(unbound_times.items())))
    return outcomes


@pytest.mark.parametrize("case_id", list(CASES))
def test_unbound_agrees(resolver, unbound_outcomes, case_id):
    got_unbound = unbound_outcomes[case_id]
    want_unbound = UNBOUND_DIFFERS.get(case_id, expected_outcome(case_id))
    canon = outcome(ask_case(resolver, case_id))
    assert canon == expected_outcome(case_id), f"canon: {canon}"
    assert got_unbound == want_unbound, (
        f"unbound answered {got_unbound}, docs/resolver.md says {want_unbound}")


def test_unbound_with_16_restarts_agrees_on_chain_lengths(world, resolver):  # noqa: F811
    """With max-query-restarts: 16, unbound draws the line where canon does:
    the 16-link chain resolves (the same answer), the 17-link one fails."""
    if not (miniworld.unbound_available() and world.port53):
        pytest.skip("needs unbound and the world on port 53")
    u = miniworld.start_unbound(world.workdir, extra=["max-query-restarts: 16"])
    try:
        for case_id in ("chain-16-links", "chain-17-links"):
            q = make_query(*CASES[case_id][:2])
            assert outcome(exchange(u.addr, u.port, q, timeout=UNBOUND_TIMEOUT)) == \
                   expected_outcome(case_id) == outcome(ask_case(resolver, case_id))
    finally:
        u.stop()
