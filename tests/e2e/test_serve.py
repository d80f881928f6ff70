"""End-to-end tests of `canon serve`: one test per answer rule, against a real process.

The zones are tests/zones/e2e/e2e.test.zone, other.test.zone and
kid.e2e.test.zone, a child of e2e.test. served by the same canon (one name per
rule, described in the files). Every test sends one query (RD clear, UDP, no
EDNS unless it says otherwise) and compares the whole response with an answer
written out from the RFCs: rcode, the QR/AA/TC/RD/RA flags, the question (case
included) and each of ANSWER, AUTHORITY and ADDITIONAL as a set of RRsets built
with dns.rrset.from_text, TTLs included. The section counts of the header are
checked too, so a record given twice (RFC 2181 §5) fails even though dnspython
merges duplicates when it parses.

Queries that answer from the zones share one server per module (two workers);
tests that send hostile input, or start canon with other arguments, get their
own. Every query and subprocess has a timeout; under ASan (CANON_BIN=
build-asan/canon) the logs of every server are checked for sanitizer reports.

Helpers here (ask, check, rr, ...) are shared with test_reload.py and
test_clients.py.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_serve.py
"""
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time

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

TIMEOUT = 3.0  # seconds, for any one query
E2E_ZONES_DIR = os.path.join(conftest.ZONES_DIR, "e2e")
E2E_ZONE = os.path.join(E2E_ZONES_DIR, "e2e.test.zone")
OTHER_ZONE = os.path.join(E2E_ZONES_DIR, "other.test.zone")
KID_ZONE = os.path.join(E2E_ZONES_DIR, "kid.e2e.test.zone")
ZONES = {"e2e.test.": E2E_ZONE, "other.test.": OTHER_ZONE, "kid.e2e.test.": KID_ZONE}

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")


# ---------------------------------------------------------------------------
# Helpers: build queries, exchange raw wire, compare whole responses.


def rr(owner, ttl, rtype, *rdatas):
    """An expected RRset (class IN)."""
    return dns.rrset.from_text(owner, ttl, "IN", rtype, *rdatas)


def rr_lines(rrsets):
    """Sorted 'owner ttl class type rdata' lines; names compared without case."""
    out = []
    for rrset in rrsets:
        for rd in rrset:
            text = rd.to_text()
            if rrset.rdtype != dns.rdatatype.TXT:
                text = text.lower()
            out.append(
                f"{rrset.name.to_text().lower()} {rrset.ttl} "
                f"{dns.rdataclass.to_text(rrset.rdclass)} "
                f"{dns.rdatatype.to_text(rrset.rdtype)} {text}"
            )
    return sorted(out)


def make_query(qname, qtype="A", *, edns=None, payload=1232, rd=False, qid=None,
               ednsflags=0, options=None):
    q = dns.message.make_query(qname, qtype)
    if not rd:
        q.flags &= ~dns.flags.RD
    if edns is not None:
        q.use_edns(edns, ednsflags=ednsflags, payload=payload, options=options)
    if qid is not None:
        q.id = qid
    return q


def _family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_exchange(addr, port, wire, timeout=TIMEOUT):
    """Send one datagram; the reply with the same ID, or None after 'timeout'."""
    with socket.socket(_family(addr), socket.SOCK_DGRAM) as s:
        s.connect((addr, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if len(wire) < 2 or data[:2] == wire[:2]:
                return data


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_msg(sock):
    """One length-prefixed message, or None when the server closed."""
    head = recv_exact(sock, 2)
    if head is None:
        return None
    return recv_exact(sock, struct.unpack("!H", head)[0])


def tcp_exchange(addr, port, wire, timeout=TIMEOUT):
    """One query over a fresh TCP connection; the reply or None (closed, timeout)."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        try:
            return tcp_read_msg(s)
        except (socket.timeout, ConnectionResetError):
            return None


class Reply:
    """A response: the parsed message, its wire form, the query and the time it took."""

    def __init__(self, query, wire, elapsed):
        self.query, self.wire, self.elapsed = query, wire, elapsed
        self.msg = dns.message.from_wire(wire)
        self.counts = struct.unpack("!HHHH", wire[4:12])  # QD, AN, NS, AR


def exchange(server, query, tcp=False, timeout=TIMEOUT):
    """Send 'query' (a dns.message) to a conftest.Server; a Reply, or fail."""
    wire = query.to_wire()
    start = time.monotonic()
    fn = tcp_exchange if tcp else udp_exchange
    data = fn(server.addr, server.port, wire, timeout)
    elapsed = time.monotonic() - start
    assert data is not None, f"no answer within {timeout}s over {'TCP' if tcp else 'UDP'}"
    return Reply(query, data, elapsed)


def ask(server, qname, qtype="A", tcp=False, timeout=TIMEOUT, **kw):
    return exchange(server, make_query(qname, qtype, **kw), tcp=tcp, timeout=timeout)


def check(reply, rcode=dns.rcode.NOERROR, answer=(), authority=(), additional=(), aa=True,
          tc=False):
    """The whole response against the expected one."""
    msg, query = reply.msg, reply.query
    assert dns.rcode.to_text(msg.rcode()) == dns.rcode.to_text(rcode)
    assert msg.id == query.id
    assert msg.opcode() == query.opcode()
    assert msg.flags & dns.flags.QR, "QR clear in a response"
    assert bool(msg.flags & dns.flags.AA) == aa, f"AA should be {'set' if aa else 'clear'}"
    assert bool(msg.flags & dns.flags.TC) == tc, f"TC should be {'set' if tc else 'clear'}"
    # RFC 1035 §4.1.1: RD is copied from the query; RA is clear on an authoritative-only server.
    assert bool(msg.flags & dns.flags.RD) == bool(query.flags & dns.flags.RD)
    assert not msg.flags & dns.flags.RA, "RA set by an authoritative-only server"
    # The question comes back as sent, case included (RFC 1035 §7.1; 0x20).
    assert len(msg.question) == 1
    assert msg.question[0].name.to_text() == query.question[0].name.to_text()
    assert msg.question[0].rdtype == query.question[0].rdtype
    assert msg.question[0].rdclass == query.question[0].rdclass
    # OPT only when the query had one (RFC 6891 §6.1.1, §7).
    assert (msg.edns >= 0) == (query.edns >= 0)
    assert rr_lines(msg.answer) == rr_lines(answer), "ANSWER"
    assert rr_lines(msg.authority) == rr_lines(authority), "AUTHORITY"
    assert rr_lines(msg.additional) == rr_lines(additional), "ADDITIONAL"
    # No record twice (RFC 2181 §5): the header counts match the records expected.
    expected = tuple(sum(len(r) for r in sec) for sec in (answer, authority, additional))
    opt = 1 if msg.edns >= 0 else 0
    assert reply.counts[1:] == (expected[0], expected[1], expected[2] + opt), \
        "section counts in the header (a duplicated record?)"


def sanitizer_report(text):
    return next((m for m in SANITIZER_MARKS if m in text), None)


def stop_and_check(server):
    """Stop a server; fail if a sanitizer reported anything in its log."""
    server.stop()
    with open(server.logpath) as f:
        text = f.read()
    mark = sanitizer_report(text)
    assert mark is None, f"{mark} in the log of canon:\n{text[-4000:]}"


@pytest.fixture
def canon(canon_factory):
    """canon_factory, plus a sanitizer check of every server's log at the end."""
    servers = []

    def start(zones=None, **kw):
        s = canon_factory(zones if zones is not None else ZONES, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        stop_and_check(s)


@pytest.fixture
def launch(tmp_path):
    """Start canon with any argv on addr:port; stopped and checked at the end."""
    servers = []

    def start(argv, addr, port, wait_qname="e2e.test.", env=None):
        s = conftest.Server(argv, addr, port, str(tmp_path / f"canon-{port}.log"), env=env)
        servers.append(s)
        if not conftest.wait_for_dns(addr, port, qname=wait_qname):
            raise AssertionError("canon serve did not answer:\n" + s.logtext())
        return s

    yield start
    for s in servers:
        stop_and_check(s)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """One server with e2e.test. and other.test., for the tests that only ask."""
    server = conftest.start_canon(tmp_path_factory.mktemp("serve"), ZONES, workers=2)
    yield server
    stop_and_check(server)


def run_canon(args, timeout=10):
    """Run `canon serve ARGS` expecting it to exit; (returncode, stdout+stderr)."""
    try:
        p = subprocess.run([conftest.CANON_BIN, "serve"] + args, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"canon serve {' '.join(args)} did not exit within {timeout}s")
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------------------
# Expected records of tests/zones/e2e.

SOA_E2E_NEG = rr("e2e.test.", 300, "SOA",
                 "ns1.e2e.test. hostmaster.e2e.test. 1 7200 3600 1209600 300")
SOA_OTHER_NEG = rr("other.test.", 120, "SOA",
                   "ns1.other.test. hostmaster.other.test. 7 7200 3600 1209600 900")
TARGET = {
    "A": rr("target.e2e.test.", 3600, "A", "192.0.2.10"),
    "AAAA": rr("target.e2e.test.", 3600, "AAAA", "2001:db8::10"),
    "MX": rr("target.e2e.test.", 3600, "MX", "10 mail.e2e.test."),
    "TXT": rr("target.e2e.test.", 3600, "TXT", '"target text"'),
}
MAIL_A = rr("mail.e2e.test.", 3600, "A", "192.0.2.25")
ALIAS = rr("alias.e2e.test.", 600, "CNAME", "target.e2e.test.")
SUB_NS = rr("sub.e2e.test.", 3600, "NS", "ns.sub.e2e.test.", "ns.elsewhere.example.")
SUB_GLUE = [rr("ns.sub.e2e.test.", 3600, "A", "192.0.2.99"),
            rr("ns.sub.e2e.test.", 3600, "AAAA", "2001:db8::99")]


def cname(owner, target, ttl=3600):
    return rr(owner, ttl, "CNAME", target)


def chain(prefix, count, end="target.e2e.test."):
    """The CNAMEs prefix-00 -> prefix-01 -> ... -> prefix-<count-1> -> end."""
    names = [f"{prefix}-{i:02d}.e2e.test." for i in range(count)] + [end]
    return [cname(names[i], names[i + 1]) for i in range(count)]


# ---------------------------------------------------------------------------
# Plain data, for reference.


def test_apex_soa(srv):
    # The SOA itself keeps its own TTL; only negative answers use min(TTL, MINIMUM).
    check(ask(srv, "e2e.test.", "SOA"),
          answer=[rr("e2e.test.", 3600, "SOA",
                     "ns1.e2e.test. hostmaster.e2e.test. 1 7200 3600 1209600 300")])


def test_apex_ns_with_address_in_additional(srv):
    # RFC 1034 §3.7 / §4.3.2 step 6: addresses of the NS targets go to ADDITIONAL.
    check(ask(srv, "e2e.test.", "NS"),
          answer=[rr("e2e.test.", 3600, "NS", "ns1.e2e.test.")],
          additional=[rr("ns1.e2e.test.", 3600, "A", "192.0.2.53")])


def test_plain_a(srv):
    check(ask(srv, "target.e2e.test.", "A"), answer=[TARGET["A"]])


def test_nxdomain(srv):
    # RFC 2308 §3: SOA in AUTHORITY, TTL min(SOA TTL 3600, MINIMUM 300).
    check(ask(srv, "missing.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_E2E_NEG])


def test_nxdomain_other_zone(srv):
    # min(SOA TTL 120, MINIMUM 900) = 120: the smaller of the two either way round.
    check(ask(srv, "missing.other.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_OTHER_NEG])


def test_nodata(srv):
    # RFC 2308 §2.2: NOERROR, empty ANSWER, SOA in AUTHORITY.
    check(ask(srv, "mail.e2e.test.", "AAAA"), authority=[SOA_E2E_NEG])


def test_rd_is_copied_and_ra_stays_clear(srv):
    # RFC 1035 §4.1.1: RD is copied into the response; canon does no recursion (RA clear).
    check(ask(srv, "target.e2e.test.", "A", rd=True), answer=[TARGET["A"]])


# ---------------------------------------------------------------------------
# CNAME at the QNAME (RFC 1034 §3.6.2, §4.3.2 step 3a; RFC 2181 §10.1.1).


@pytest.mark.parametrize("qtype", ["A", "AAAA", "MX", "TXT"])
def test_cname_is_chased(srv, qtype):
    # The CNAME, then the target's data of QTYPE; for MX also the exchange's address
    # in ADDITIONAL (RFC 1034 §3.7).
    additional = [MAIL_A] if qtype == "MX" else []
    check(ask(srv, "alias.e2e.test.", qtype), answer=[ALIAS, TARGET[qtype]],
          additional=additional)


def test_cname_query_for_cname(srv):
    # RFC 1034 §4.3.2 step 3a: QTYPE CNAME matches the CNAME itself; no chase.
    check(ask(srv, "alias.e2e.test.", "CNAME"), answer=[ALIAS])


def test_cname_query_for_any(srv):
    # ANY matches the CNAME RRset (the only one at the name); the chase is for
    # types the node does not have (RFC 1034 §3.6.2), so it stops there.
    check(ask(srv, "alias.e2e.test.", "ANY"), answer=[ALIAS])


def test_name_below_cname_is_nxdomain(srv):
    # A CNAME aliases its owner only, not the names below it (RFC 1034 §3.6.2); the
    # closest encloser alias.e2e.test. has no wildcard child: NXDOMAIN.
    check(ask(srv, "x.alias.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_E2E_NEG])


# ---------------------------------------------------------------------------
# Chains.


def test_chain_two_hops(srv):
    check(ask(srv, "hop2.e2e.test.", "A"),
          answer=[cname("hop2.e2e.test.", "hop1.e2e.test."),
                  cname("hop1.e2e.test.", "target.e2e.test."), TARGET["A"]])


def test_chain_sixteen_hops_is_followed_to_the_end(srv):
    # CANON_CHAIN_MAX (src/lib/lookup.h) is 16: all 16 CNAMEs and the final data.
    check(ask(srv, "c16-00.e2e.test.", "A"), answer=chain("c16", 16) + [TARGET["A"]])


@pytest.mark.parametrize("length", [17, 30])
def test_chain_past_the_limit_stops_after_sixteen_links(srv, length):
    # lookup.h: "A chain longer than this is answered with its first CANON_CHAIN_MAX
    # links and NOERROR, like a loop." (RFC 1034 §3.6.2 leaves the bound to the server.)
    check(ask(srv, f"c{length}-00.e2e.test.", "A"), answer=chain(f"c{length}", length)[:16])


@pytest.mark.parametrize("start,loop", [
    ("self", ["self"]),
    ("loop2a", ["loop2a", "loop2b"]),
    ("loop3a", ["loop3a", "loop3b", "loop3c"]),
])
def test_chain_loop_each_cname_once(srv, start, loop):
    # RFC 1034 §3.6.2: loops must be detected; the answer holds each CNAME once
    # (RFC 2181 §5: no duplicate records), NOERROR, and comes back at once.
    names = [f"{n}.e2e.test." for n in loop]
    expected = [cname(names[i], names[(i + 1) % len(names)]) for i in range(len(names))]
    reply = ask(srv, f"{start}.e2e.test.", "A", timeout=2.0)
    check(reply, answer=expected)
    assert reply.elapsed < 1.0


def test_chain_into_second_zone(srv):
    # RFC 2181 §10.1.1 / RFC 1034 §4.3.2 step 3a: the chase restarts at the target,
    # in any zone the server has; AA follows the first owner (RFC 1035 §4.1.1).
    check(ask(srv, "tootherzone.e2e.test.", "A"),
          answer=[cname("tootherzone.e2e.test.", "www.other.test."),
                  cname("www.other.test.", "final.other.test."),
                  rr("final.other.test.", 3600, "A", "192.0.2.150")])


def test_chain_from_second_zone_back(srv):
    check(ask(srv, "back.other.test.", "A"),
          answer=[cname("back.other.test.", "target.e2e.test."), TARGET["A"]])


def test_chain_leaving_every_zone(srv):
    # The target is not ours: the chain so far, NOERROR, nothing in AUTHORITY
    # (RFC 1034 §4.3.2 step 3a: the resolver carries on from the target).
    check(ask(srv, "leave.e2e.test.", "A"),
          answer=[cname("leave.e2e.test.", "www.elsewhere.example.")])


def test_chain_into_delegation(srv):
    # The target lies below a cut: the CNAME, then a referral for the target
    # (RFC 1034 §4.3.2 step 3b after the restart). AA stays set: it refers to the
    # first owner of ANSWER (RFC 1035 §4.1.1), which is ours.
    check(ask(srv, "tosub.e2e.test.", "A"),
          answer=[cname("tosub.e2e.test.", "host.sub.e2e.test.")],
          authority=[SUB_NS], additional=SUB_GLUE)


# ---------------------------------------------------------------------------
# Negative answers at the end of a chain (RFC 2308 §2.1, §2.2, §3; RFC 6604 §3).


def test_chain_to_nxdomain(srv):
    # RFC 6604 §3: the rcode is that of the last name; the chain stays in ANSWER.
    check(ask(srv, "tonx.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          answer=[cname("tonx.e2e.test.", "missing.e2e.test.")], authority=[SOA_E2E_NEG])


def test_chain_to_nodata(srv):
    check(ask(srv, "tonodata.e2e.test.", "A"),
          answer=[cname("tonodata.e2e.test.", "ent-leaf.ent.e2e.test.")],
          authority=[SOA_E2E_NEG])


def test_cname_to_existing_name_without_the_type(srv):
    check(ask(srv, "alias.e2e.test.", "SRV"), answer=[ALIAS], authority=[SOA_E2E_NEG])


def test_chain_into_other_zone_nxdomain(srv):
    # RFC 2308 §3 / RFC 6604 §3: the SOA is that of the zone of the last name.
    check(ask(srv, "toothernx.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          answer=[cname("toothernx.e2e.test.", "missing.other.test.")],
          authority=[SOA_OTHER_NEG])


def test_chain_into_other_zone_nodata(srv):
    check(ask(srv, "toothernodata.e2e.test.", "AAAA"),
          answer=[cname("toothernodata.e2e.test.", "final.other.test.")],
          authority=[SOA_OTHER_NEG])


# ---------------------------------------------------------------------------
# DNAME (RFC 6672).

DNAME_OLD = rr("old.e2e.test.", 1800, "DNAME", "new.e2e.test.")


def test_dname_below_owner(srv):
    # RFC 6672 §3.2 / §3.4: the DNAME, a CNAME synthesized with the DNAME's TTL,
    # then the target's data.
    check(ask(srv, "www.old.e2e.test.", "A"),
          answer=[DNAME_OLD, cname("www.old.e2e.test.", "www.new.e2e.test.", 1800),
                  rr("www.new.e2e.test.", 3600, "A", "192.0.2.90")])


def test_dname_several_labels_below_owner_to_nxdomain(srv):
    # Every label below the owner is kept; the target does not exist, so NXDOMAIN
    # (RFC 6604 §3) with the chain and the SOA.
    check(ask(srv, "a.b.old.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          answer=[DNAME_OLD, cname("a.b.old.e2e.test.", "a.b.new.e2e.test.", 1800)],
          authority=[SOA_E2E_NEG])


def test_dname_owner_itself_is_not_redirected_a(srv):
    # RFC 6672 §2.3: the DNAME redirects names below the owner, not the owner.
    check(ask(srv, "old.e2e.test.", "A"), answer=[rr("old.e2e.test.", 3600, "A", "192.0.2.91")])


def test_dname_owner_itself_nodata(srv):
    check(ask(srv, "old.e2e.test.", "MX"), authority=[SOA_E2E_NEG])


def test_dname_query_for_dname(srv):
    check(ask(srv, "old.e2e.test.", "DNAME"), answer=[DNAME_OLD])


def test_dname_synthesized_name_too_long_is_yxdomain(srv):
    # RFC 6672 §2.2: when the new name would exceed 255 octets, YXDOMAIN, with the
    # DNAME in ANSWER and no CNAME. (AUTHORITY is left unspecified by the RFC;
    # nothing is expected there, as from Knot and NSD.)
    prefix = "p" * 63 + "." + "q" * 10
    qname = f"{prefix}.long.e2e.test."
    assert len(dns.name.from_text(qname).to_wire()) <= 255
    dname = rr("long.e2e.test.", 1800, "DNAME",
               f"{'a' * 63}.{'b' * 63}.{'c' * 50}.e2e.test.")
    check(ask(srv, qname, "A"), rcode=dns.rcode.YXDOMAIN, answer=[dname])


def test_dname_into_cname_chain(srv):
    check(ask(srv, "x.todn.e2e.test.", "A"),
          answer=[rr("todn.e2e.test.", 1800, "DNAME", "chainsrc.e2e.test."),
                  cname("x.todn.e2e.test.", "x.chainsrc.e2e.test.", 1800),
                  cname("x.chainsrc.e2e.test.", "target.e2e.test."), TARGET["A"]])


def test_dname_expanding_below_itself_stops_at_the_limit(srv):
    # grow DNAME deeper.grow: x.grow -> x.deeper.grow -> x.deeper.deeper.grow ...
    # each under the same DNAME again. The chain limit (16 links, lookup.h) stops it
    # long before names reach 255 octets: the DNAME once (RFC 2181 §5), 16 CNAMEs,
    # NOERROR, at once.
    names = ["x." + "deeper." * i + "grow.e2e.test." for i in range(17)]
    expected = [rr("grow.e2e.test.", 1800, "DNAME", "deeper.grow.e2e.test.")]
    expected += [cname(names[i], names[i + 1], 1800) for i in range(16)]
    reply = ask(srv, "x.grow.e2e.test.", "A", timeout=2.0)
    check(reply, answer=expected)
    assert reply.elapsed < 1.0


# ---------------------------------------------------------------------------
# Wildcards (RFC 4592).


def test_wildcard_a(srv):
    # RFC 4592 §3.3.1 / §4.1: the wildcard's RRset with the QNAME as owner.
    check(ask(srv, "foo.wild.e2e.test.", "A"),
          answer=[rr("foo.wild.e2e.test.", 3600, "A", "192.0.2.100")])


def test_wildcard_matches_several_labels(srv):
    # RFC 4592 §2.1.1: the closest encloser is wild.e2e.test., however deep the QNAME.
    check(ask(srv, "a.b.c.wild.e2e.test.", "A"),
          answer=[rr("a.b.c.wild.e2e.test.", 3600, "A", "192.0.2.100")])


def test_wildcard_other_type_is_nodata(srv):
    # RFC 4592 §2.2.1: the wildcard matches, but has no MX: NOERROR/NODATA.
    check(ask(srv, "foo.wild.e2e.test.", "MX"), authority=[SOA_E2E_NEG])


def test_wildcard_cname_is_chased(srv):
    # RFC 4592 §4.3: a wildcard CNAME is synthesized at the QNAME, then chased.
    check(ask(srv, "anything.wc.e2e.test.", "A"),
          answer=[cname("anything.wc.e2e.test.", "target.e2e.test."), TARGET["A"]])


def test_wildcard_cname_query_for_mx(srv):
    check(ask(srv, "anything.wc.e2e.test.", "MX"),
          answer=[cname("anything.wc.e2e.test.", "target.e2e.test."), TARGET["MX"]],
          additional=[MAIL_A])


def test_wildcard_blocked_by_existing_name(srv):
    # RFC 4592 §2.2.1/§3.3.1: exists.wild exists, so its missing TXT is NODATA, not
    # the wildcard's TXT.
    check(ask(srv, "exists.wild.e2e.test.", "TXT"), authority=[SOA_E2E_NEG])


def test_wildcard_not_used_below_existing_name(srv):
    # The closest encloser is exists.wild, which has no '*' child: NXDOMAIN.
    check(ask(srv, "below.exists.wild.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_E2E_NEG])


def test_wildcard_blocked_by_empty_non_terminal(srv):
    # RFC 4592 §2.2.2: ent.wild exists (x.ent.wild is below it), so no synthesis.
    check(ask(srv, "ent.wild.e2e.test.", "A"), authority=[SOA_E2E_NEG])


def test_wildcard_not_used_below_empty_non_terminal(srv):
    check(ask(srv, "y.ent.wild.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_E2E_NEG])


def test_wildcard_literal_star(srv):
    # RFC 4592 §2.2.1/§4.1: a query for '*' itself matches the wildcard owner.
    check(ask(srv, "*.wild.e2e.test.", "A"),
          answer=[rr("*.wild.e2e.test.", 3600, "A", "192.0.2.100")])


# ---------------------------------------------------------------------------
# Empty non-terminal and delegations.


def test_empty_non_terminal_is_nodata(srv):
    # RFC 4592 §2.2.2, RFC 8020: an empty non-terminal exists: NOERROR, not NXDOMAIN.
    check(ask(srv, "ent.e2e.test.", "A"), authority=[SOA_E2E_NEG])


@pytest.mark.parametrize("qname,qtype", [
    ("www.sub.e2e.test.", "A"),
    ("a.b.c.sub.e2e.test.", "AAAA"),
    ("sub.e2e.test.", "A"),
    ("ns.sub.e2e.test.", "A"),  # glue is not authoritative data
    # NS at the cut: the parent's copy is not authoritative either (RFC 1034 §4.2.1,
    # RFC 2181 §6.1), so a referral, as Knot and NSD give.
    ("sub.e2e.test.", "NS"),
])
def test_referral(srv, qname, qtype):
    # RFC 1034 §4.3.2 step 3b: AA clear, empty ANSWER, the cut's NS in AUTHORITY,
    # their addresses from the zone (glue) in ADDITIONAL.
    check(ask(srv, qname, qtype), aa=False, authority=[SUB_NS], additional=SUB_GLUE)


def test_referral_without_ds(srv):
    # Without DO (RFC 4035 §3.1.4) no DS goes with the referral.
    check(ask(srv, "www.signed.e2e.test.", "A"), aa=False,
          authority=[rr("signed.e2e.test.", 3600, "NS", "ns.signed.e2e.test.")],
          additional=[rr("ns.signed.e2e.test.", 3600, "A", "192.0.2.98")])


def test_ds_at_cut_without_ds_is_parent_nodata(srv):
    # RFC 4035 §3.1.4.1, RFC 4034 §5: the parent answers DS at the cut, AA set.
    check(ask(srv, "sub.e2e.test.", "DS"), authority=[SOA_E2E_NEG])


def test_ds_at_cut_is_answered_by_parent(srv):
    check(ask(srv, "signed.e2e.test.", "DS"),
          answer=[rr("signed.e2e.test.", 3600, "DS", "12345 13 2 "
                     "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")])


def test_ds_at_cut_answered_by_parent_when_child_is_served_too(srv):
    # kid.e2e.test. is also a zone of this server. RFC 4035 §3.1.4.1 and RFC 4034
    # §5: the DS lives on the parent side of the cut, so it comes from e2e.test.,
    # not as NODATA from the child apex.
    check(ask(srv, "kid.e2e.test.", "DS"),
          answer=[rr("kid.e2e.test.", 3600, "DS", "54321 13 2 "
                     "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210")])


def test_child_zone_answers_below_the_cut(srv):
    # RFC 1034 §4.3.2 step 2: the nearest enclosing zone served is the child: an
    # authoritative answer, not the parent's referral.
    check(ask(srv, "www.kid.e2e.test.", "A"),
          answer=[rr("www.kid.e2e.test.", 3600, "A", "192.0.2.121")])


def test_child_zone_apex_ns(srv):
    check(ask(srv, "kid.e2e.test.", "NS"),
          answer=[rr("kid.e2e.test.", 3600, "NS", "ns1.kid.e2e.test.")],
          additional=[rr("ns1.kid.e2e.test.", 3600, "A", "192.0.2.120")])


def test_child_zone_nxdomain_has_child_soa(srv):
    check(ask(srv, "missing.kid.e2e.test.", "A"), rcode=dns.rcode.NXDOMAIN,
          authority=[rr("kid.e2e.test.", 60, "SOA",
                        "ns1.kid.e2e.test. hostmaster.kid.e2e.test. 3 7200 3600 1209600 60")])


def test_chain_into_child_zone(srv):
    check(ask(srv, "tokid.e2e.test.", "A"),
          answer=[cname("tokid.e2e.test.", "www.kid.e2e.test."),
                  rr("www.kid.e2e.test.", 3600, "A", "192.0.2.121")])


# ---------------------------------------------------------------------------
# Names outside every zone, opcodes.


@pytest.mark.parametrize("qname", ["www.example.org.", "test.", "."])
def test_refused_outside_every_zone(srv, qname):
    # RFC 8906 §3.1.1 (and common practice): REFUSED, AA clear, nothing else.
    check(ask(srv, qname, "A"), rcode=dns.rcode.REFUSED, aa=False)


def test_refused_with_edns_has_opt(srv):
    # RFC 6891 §6.1.1: an OPT in the request means an OPT in the response, whatever
    # the rcode.
    check(ask(srv, "www.example.org.", "A", edns=0), rcode=dns.rcode.REFUSED, aa=False)


@pytest.mark.parametrize("opcode", [2, 3])
def test_unknown_opcode_is_notimp(srv, opcode):
    # RFC 1035 §4.1.1: NOTIMP for a kind of query the server does not support; the
    # opcode is copied into the response. 2 is STATUS, 3 is unassigned (dnspython
    # has no name for it, so the header is read by hand).
    wire = bytearray(make_query("target.e2e.test.", "A", qid=0x2A2A).to_wire())
    wire[2] = (wire[2] & 0x87) | (opcode << 3)
    data = udp_exchange(srv.addr, srv.port, bytes(wire))
    assert data is not None
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    assert rid == 0x2A2A
    assert flags & 0x8000, "QR clear in a response"
    assert (flags >> 11) & 0xF == opcode
    assert flags & 0xF == dns.rcode.NOTIMP
    assert not flags & 0x0400, "AA set"
    assert not flags & 0x0080, "RA set"
    assert (an, ns, ar) == (0, 0, 0)


def test_unknown_opcode_with_edns_has_opt(srv):
    # RFC 6891 §6.1.1: the OPT comes back with NOTIMP too.
    wire = bytearray(make_query("target.e2e.test.", "A", edns=0, qid=0x2B2B).to_wire())
    wire[2] = (wire[2] & 0x87) | (2 << 3)
    data = udp_exchange(srv.addr, srv.port, bytes(wire))
    assert data is not None
    msg = dns.message.from_wire(data)
    assert msg.rcode() == dns.rcode.NOTIMP
    assert msg.edns == 0 and msg.payload == 1232


# ---------------------------------------------------------------------------
# Malformed input: FORMERR or no answer, and the server carries on.


def header(qid=0x4242, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = dns.name.from_text("target.e2e.test.").to_wire() + struct.pack("!HH", 1, 1)
OPT_RR = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)  # root owner, OPT, no options

MALFORMED = {
    # RFC 1035 §4.1.2: the question is cut inside its name.
    "truncated-question": header() + b"\x06target\x03e2",
    "truncated-qtype": header() + QUESTION[:-3],
    # RFC 9619 §4: QDCOUNT must be 1 in a query (0 only with a cookie, RFC 7873 §5.4).
    "qdcount-2": header(qd=2) + QUESTION + QUESTION,
    "qdcount-0": header(qd=0),
    # RFC 6891 §6.1.1: OPT only in ADDITIONAL, at most once.
    "opt-in-answer": header(an=1) + QUESTION + OPT_RR,
    "two-opt": header(ar=2) + QUESTION + OPT_RR + OPT_RR,
    "counts-beyond-data": header(an=3, ar=5) + QUESTION,
    "compression-loop": header() + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
    "label-too-long": header() + b"\x50" + b"a" * 80 + b"\x00" + struct.pack("!HH", 1, 1),
    "short-header": b"\x42\x42\x00\x00\x00",
}


def assert_formerr_or_silent(data, qid=0x4242):
    if data is None:
        return
    assert len(data) >= 12
    rid, flags = struct.unpack("!HH", data[:4])
    assert rid == qid
    assert flags & 0x8000, "QR clear in a response"
    assert flags & 0x000F == dns.rcode.FORMERR, f"rcode {flags & 0xF}, expected FORMERR"


def assert_still_serving(server):
    assert server.alive(), "canon exited:\n" + server.logtext()[-4000:]
    check(ask(server, "target.e2e.test.", "A"), answer=[TARGET["A"]])
    check(ask(server, "target.e2e.test.", "A", tcp=True), answer=[TARGET["A"]])


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_query_udp(canon, case):
    server = canon()
    assert_formerr_or_silent(udp_exchange(server.addr, server.port, MALFORMED[case], 0.5))
    assert_still_serving(server)


@pytest.mark.parametrize("case", ["truncated-question", "qdcount-2", "opt-in-answer",
                                  "compression-loop"])
def test_malformed_query_tcp(canon, case):
    server = canon()
    assert_formerr_or_silent(tcp_exchange(server.addr, server.port, MALFORMED[case], 0.5))
    assert_still_serving(server)


def test_response_is_not_answered(canon):
    # A message with QR set is a response: answering it could start a loop between
    # two servers (RFC 1035 §7.3 has resolvers discard unexpected responses; servers
    # drop them the same way, as Knot, NSD and BIND do).
    server = canon()
    q = make_query("target.e2e.test.", "A")
    q.flags |= dns.flags.QR
    assert udp_exchange(server.addr, server.port, q.to_wire(), 0.5) is None
    assert_still_serving(server)


def opt_of(data):
    """The OPT record of a raw response as (payload, ttl field), or None."""
    try:
        msg = dns.message.from_wire(data)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"unparseable response {data.hex()}: {e}")
    return (msg.payload, msg.ednsflags) if msg.edns >= 0 else None


def test_formerr_for_bad_edns_option_has_opt(canon):
    # RFC 6891 §7: "If there is a problem with processing the OPT record itself, such
    # as an option value that is badly formatted [...] a FORMERR MUST be returned. If
    # this occurs, the response MUST include an OPT record." Here the option's length
    # (8) runs past the end of the OPT RDATA (6).
    server = canon()
    bad_opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 6) + struct.pack("!HH", 10, 8) + b"ab"
    data = udp_exchange(server.addr, server.port, header(ar=1) + QUESTION + bad_opt)
    assert data is not None, "no answer to a query with a malformed EDNS option"
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    assert rid == 0x4242 and flags & 0x8000 and flags & 0xF == dns.rcode.FORMERR
    assert ar == 1 and opt_of(data) is not None, \
        f"FORMERR without the OPT record RFC 6891 §7 requires: {data.hex()}"
    assert_still_serving(server)


def test_formerr_keeps_opt_of_query(canon):
    # QDCOUNT 2 is a FORMERR (RFC 9619 §4), but the OPT of the query is well formed,
    # and RFC 6891 §6.1.1 says "If an OPT record is present in a received request,
    # compliant responders MUST include an OPT record in their respective responses."
    # (Debatable only in that the server must parse past the second question to see
    # the OPT; Knot does.)
    server = canon()
    data = udp_exchange(server.addr, server.port,
                        header(qd=2, ar=1) + QUESTION + QUESTION + OPT_RR)
    assert data is not None
    rid, flags = struct.unpack("!HH", data[:4])
    assert rid == 0x4242 and flags & 0x8000 and flags & 0xF == dns.rcode.FORMERR
    assert opt_of(data) is not None, f"FORMERR without OPT: {data.hex()}"
    assert_still_serving(server)


def test_tcp_malformed_then_good_on_one_connection(canon):
    # RFC 7766 §6.2.1: a connection carries many messages; one FORMERR (or one
    # message dropped) does not lose the next query.
    server = canon()
    good = make_query("alias.e2e.test.", "A", qid=77)
    blob = b"".join(struct.pack("!H", len(w)) + w
                    for w in (MALFORMED["qdcount-2"], MALFORMED["truncated-question"],
                              good.to_wire()))
    with socket.create_connection((server.addr, server.port), timeout=TIMEOUT) as s:
        s.settimeout(TIMEOUT)
        s.sendall(blob)
        for _ in range(3):
            data = tcp_read_msg(s)
            assert data is not None, "connection closed before the good query's answer"
            if data[:2] == struct.pack("!H", 77):
                break
            assert_formerr_or_silent(data)
        else:
            pytest.fail("no answer to the good query")
    check(Reply(good, data, 0), answer=[ALIAS, TARGET["A"]])


def test_garbage_burst(canon):
    server = canon()
    rng = random.Random(20261123)
    sizes = [0, 1, 2, 11, 12, 13, 17, 29, 100, 511, 512, 513, 1232, 1233, 1500, 4096, 65000]
    sizes += [rng.randrange(0, 2000) for _ in range(400)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((server.addr, server.port))
        s.setblocking(False)
        for i, size in enumerate(sizes):
            data = bytearray(rng.randbytes(size))
            if i % 2 and size >= 12:
                # Half look like queries (QR clear, QDCOUNT 1) so the parser gets further.
                data[2] &= 0x7F
                data[4:6] = b"\x00\x01"
            try:
                s.send(bytes(data))
            except (BlockingIOError, ConnectionRefusedError):
                pass
            if i % 16 == 15:
                # Paced so that the server's socket buffer never overflows: the kernel
                # would drop the datagrams (garbage and the checking query alike)
                # before canon's parser ever saw them. The FORMERRs that come back
                # are read and thrown away, so this socket's buffer does not fill.
                time.sleep(0.002)
                try:
                    while True:
                        s.recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    pass
    time.sleep(0.1)
    for i in range(8):
        with socket.create_connection((server.addr, server.port), timeout=TIMEOUT) as t:
            size = rng.randrange(0, 3000)
            body = rng.randbytes(size)
            prefix = struct.pack("!H", rng.choice([size, max(size - 5, 0), 65535, 0]))
            try:
                t.sendall(prefix + body if i % 2 else body)
            except (BrokenPipeError, ConnectionResetError):
                pass
    assert_still_serving(server)


# ---------------------------------------------------------------------------
# EDNS0 (RFC 6891) and sizes.

BIG_TXT = rr("big.e2e.test.", 3600, "TXT",
             *[f'"big record {i:02d} {"x" * 40}"' for i in range(40)])
MID_TXT = rr("mid.e2e.test.", 3600, "TXT",
             *[f'"mid record {i:02d} {"x" * 40}"' for i in range(12)])


def test_no_opt_without_edns(srv):
    reply = ask(srv, "target.e2e.test.", "A")
    check(reply, answer=[TARGET["A"]])
    assert reply.msg.edns == -1 and reply.counts[3] == 0


def test_opt_with_edns(srv):
    # RFC 6891 §6.1.1, §6.2.3: OPT in the response, our payload size (1232), version 0.
    reply = ask(srv, "target.e2e.test.", "A", edns=0, payload=4096)
    check(reply, answer=[TARGET["A"]])
    assert reply.msg.edns == 0
    assert reply.msg.payload == 1232


def test_edns_version_1_is_badvers(srv):
    # RFC 6891 §6.1.3: BADVERS (16) through the OPT's extended rcode, and the OPT
    # carries the highest version we implement (0). No answer data.
    reply = ask(srv, "target.e2e.test.", "A", edns=1)
    msg = reply.msg
    assert msg.rcode() == dns.rcode.BADVERS
    assert msg.edns == 0
    assert msg.flags & dns.flags.QR and msg.id == reply.query.id
    assert not msg.answer and not msg.authority and not msg.additional


def test_do_bit_is_copied(srv):
    # RFC 3225 §3: "The DO bit of the query MUST be copied in the response." (The
    # zones are unsigned, so nothing else changes.)
    reply = ask(srv, "target.e2e.test.", "A", edns=0, ednsflags=dns.flags.DO)
    check(reply, answer=[TARGET["A"]])
    assert reply.msg.ednsflags & dns.flags.DO, "DO not copied into the response"


def test_edns_z_bits_are_not_echoed(srv):
    # RFC 6891 §6.1.4: Z is set to zero by senders and ignored by receivers.
    reply = ask(srv, "target.e2e.test.", "A", edns=0, ednsflags=0x0001)
    check(reply, answer=[TARGET["A"]])
    assert reply.msg.ednsflags == 0


def test_unknown_edns_option_is_ignored(srv):
    # RFC 6891 §6.1.2: unknown options are ignored, and not echoed back.
    opt = dns.edns.GenericOption(65001, b"\xab\xcd")
    reply = ask(srv, "target.e2e.test.", "A", edns=0, options=[opt])
    check(reply, answer=[TARGET["A"]])
    assert not any(o.otype == 65001 for o in reply.msg.options)


def test_edns_payload_below_512_counts_as_512(srv):
    # RFC 6891 §6.2.5: "Values lower than 512 MUST be treated as equal to 512." The
    # 16-hop chain (about 400 octets) fits.
    reply = ask(srv, "c16-00.e2e.test.", "A", edns=0, payload=100)
    check(reply, answer=chain("c16", 16) + [TARGET["A"]])
    assert 100 < len(reply.wire) <= 512


def test_big_answer_over_udp_without_edns_is_truncated(srv):
    # RFC 1035 §4.2.1: 512 octets without EDNS; RFC 2181 §9: TC when the answer's
    # RRset does not fit.
    reply = ask(srv, "big.e2e.test.", "TXT")
    assert len(reply.wire) <= 512
    assert reply.msg.flags & dns.flags.TC
    assert reply.msg.rcode() == dns.rcode.NOERROR
    assert reply.msg.question[0].name == dns.name.from_text("big.e2e.test.")


def test_big_answer_over_tcp_is_complete(srv):
    check(ask(srv, "big.e2e.test.", "TXT", tcp=True), answer=[BIG_TXT])


def test_big_answer_over_tcp_with_edns_is_complete(srv):
    check(ask(srv, "big.e2e.test.", "TXT", tcp=True, edns=0), answer=[BIG_TXT])


def test_udp_answer_capped_at_1232_with_edns_4096(srv):
    # The client may accept 4096, but canon answers at most 1232 octets over UDP
    # (DNS flag day 2020; RFC 6891 §6.2.5 lets the responder choose a smaller size).
    reply = ask(srv, "big.e2e.test.", "TXT", edns=0, payload=4096)
    assert len(reply.wire) <= 1232
    assert reply.msg.flags & dns.flags.TC
    assert reply.msg.edns == 0


def test_medium_answer_fits_with_edns(srv):
    reply = ask(srv, "mid.e2e.test.", "TXT", edns=0, payload=1232)
    check(reply, answer=[MID_TXT])
    assert 512 < len(reply.wire) <= 1232


def test_medium_answer_truncated_without_edns(srv):
    reply = ask(srv, "mid.e2e.test.", "TXT")
    assert len(reply.wire) <= 512
    assert reply.msg.flags & dns.flags.TC


def test_udp_answer_respects_smaller_client_payload(srv):
    # RFC 6891 §6.2.3/§7: the requestor's payload size bounds the response.
    reply = ask(srv, "mid.e2e.test.", "TXT", edns=0, payload=700)
    assert len(reply.wire) <= 700
    assert reply.msg.flags & dns.flags.TC


# ---------------------------------------------------------------------------
# TCP (RFC 7766).


def test_tcp_answer(srv):
    check(ask(srv, "hop2.e2e.test.", "A", tcp=True),
          answer=[cname("hop2.e2e.test.", "hop1.e2e.test."),
                  cname("hop1.e2e.test.", "target.e2e.test."), TARGET["A"]])


def test_tcp_pipelined_queries(srv):
    # RFC 7766 §6.2.1.1: several queries on one connection, answered (in any order)
    # with the matching IDs.
    cases = {
        1001: (make_query("target.e2e.test.", "A", qid=1001), dict(answer=[TARGET["A"]])),
        1002: (make_query("alias.e2e.test.", "TXT", qid=1002),
               dict(answer=[ALIAS, TARGET["TXT"]])),
        1003: (make_query("missing.e2e.test.", "A", qid=1003),
               dict(rcode=dns.rcode.NXDOMAIN, authority=[SOA_E2E_NEG])),
        1004: (make_query("big.e2e.test.", "TXT", qid=1004), dict(answer=[BIG_TXT])),
        1005: (make_query("www.sub.e2e.test.", "A", qid=1005),
               dict(aa=False, authority=[SUB_NS], additional=SUB_GLUE)),
    }
    blob = b"".join(struct.pack("!H", len(w)) + w
                    for w in (q.to_wire() for q, _ in cases.values()))
    replies = {}
    with socket.create_connection((srv.addr, srv.port), timeout=TIMEOUT) as s:
        s.settimeout(TIMEOUT)
        s.sendall(blob)
        for _ in cases:
            data = tcp_read_msg(s)
            assert data is not None, f"connection closed after {len(replies)} answers"
            rid = struct.unpack("!H", data[:2])[0]
            assert rid in cases and rid not in replies
            replies[rid] = Reply(cases[rid][0], data, 0)
    for rid, (_, expected) in cases.items():
        check(replies[rid], **expected)


def test_tcp_stalled_client_does_not_block_others(canon):
    # One worker, so a blocking read on the stalled connection would stop everything.
    server = canon(workers=1)
    wire = make_query("alias.e2e.test.", "A", qid=7).to_wire()
    framed = struct.pack("!H", len(wire)) + wire
    with socket.create_connection((server.addr, server.port), timeout=TIMEOUT) as stalled, \
            socket.create_connection((server.addr, server.port), timeout=TIMEOUT) as tiny:
        stalled.sendall(framed[:len(framed) // 2])
        tiny.sendall(framed[:1])  # half a length prefix
        time.sleep(0.2)
        for tcp in (False, True):
            reply = ask(server, "target.e2e.test.", "A", tcp=tcp, timeout=2.0)
            check(reply, answer=[TARGET["A"]])
            assert reply.elapsed < 1.0
        # The stalled client finishes its message and gets its answer.
        stalled.settimeout(TIMEOUT)
        stalled.sendall(framed[len(framed) // 2:])
        data = tcp_read_msg(stalled)
        assert data is not None
        check(Reply(make_query("alias.e2e.test.", "A", qid=7), data, 0),
              answer=[ALIAS, TARGET["A"]])


def test_many_stalled_tcp_clients_do_not_block_others(canon):
    server = canon(workers=1)
    wire = make_query("target.e2e.test.", "A").to_wire()
    framed = struct.pack("!H", len(wire)) + wire
    conns = []
    try:
        for i in range(50):
            c = socket.create_connection((server.addr, server.port), timeout=TIMEOUT)
            c.sendall(framed[:1 + i % (len(framed) - 1)])
            conns.append(c)
        time.sleep(0.2)
        for tcp in (False, True):
            reply = ask(server, "target.e2e.test.", "A", tcp=tcp, timeout=2.0)
            check(reply, answer=[TARGET["A"]])
            assert reply.elapsed < 1.0
    finally:
        for c in conns:
            c.close()


def test_tcp_client_that_does_not_read_does_not_block_others(canon):
    # 300 pipelined queries for the 2.5 KB RRset (about 750 KB of answers) from a
    # client that reads nothing: the socket buffers fill, and the worker must wait
    # for that client without blocking (one worker, so a blocking send would stop
    # every other client). RFC 7766 §6.2.1: answer the queries, in any order.
    server = canon(workers=1)
    queries = [make_query("big.e2e.test.", "TXT", qid=i) for i in range(300)]
    blob = b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in queries))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as slow:
        # A small receive buffer, set before connecting (shrinking it afterwards makes
        # the kernel probe a zero window every 200 ms, which would only slow the test).
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(TIMEOUT)
        slow.connect((server.addr, server.port))
        slow.sendall(blob)
        time.sleep(0.3)
        for tcp in (False, True):
            reply = ask(server, "target.e2e.test.", "A", tcp=tcp, timeout=2.0)
            check(reply, answer=[TARGET["A"]])
            assert reply.elapsed < 1.0
        # Now the slow client reads: every answer arrives, complete.
        slow.settimeout(10)
        seen = set()
        for _ in queries:
            data = tcp_read_msg(slow)
            assert data is not None, f"closed after {len(seen)} answers"
            rid = struct.unpack("!H", data[:2])[0]
            assert rid not in seen
            seen.add(rid)
            check(Reply(queries[rid], data, 0), answer=[BIG_TXT])
    assert server.alive()


# ---------------------------------------------------------------------------
# QNAME case (0x20).


def test_qname_case_preserved(srv):
    reply = ask(srv, "TaRgEt.E2e.TeSt.", "A")
    check(reply, answer=[TARGET["A"]])
    assert reply.msg.question[0].name.to_text() == "TaRgEt.E2e.TeSt."
    assert reply.msg.answer[0].name.to_text() == "TaRgEt.E2e.TeSt."


def test_qname_case_preserved_through_cname(srv):
    reply = ask(srv, "AlIaS.e2E.tEsT.", "A")
    check(reply, answer=[ALIAS, TARGET["A"]])
    owners = {r.rdtype: r.name.to_text() for r in reply.msg.answer}
    assert owners[dns.rdatatype.CNAME] == "AlIaS.e2E.tEsT."


def test_qname_case_preserved_for_wildcard(srv):
    reply = ask(srv, "FoO.WiLd.e2e.test.", "A")
    check(reply, answer=[rr("foo.wild.e2e.test.", 3600, "A", "192.0.2.100")])
    assert reply.msg.answer[0].name.to_text() == "FoO.WiLd.e2e.test."


def test_qname_case_preserved_through_dname(srv):
    # The synthesized CNAME is owned by the QNAME as sent (RFC 6672 §3.2).
    reply = ask(srv, "WwW.oLd.E2E.test.", "A")
    check(reply, answer=[DNAME_OLD, cname("www.old.e2e.test.", "www.new.e2e.test.", 1800),
                         rr("www.new.e2e.test.", 3600, "A", "192.0.2.90")])
    owners = {r.rdtype: r.name.to_text() for r in reply.msg.answer}
    assert owners[dns.rdatatype.CNAME] == "WwW.oLd.E2E.test."


# ---------------------------------------------------------------------------
# IPv6.


def ipv6_loopback_reason():
    """None if [::1] can be bound here, else why not."""
    if not socket.has_ipv6:
        return "Python has no IPv6 support"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError as e:
        return f"::1 is not configured on this host ({e})"
    return None


def free_port6():
    for _ in range(50):
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t:
            t.bind(("::1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
                    u.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free IPv6 port")


def test_ipv6_listen(launch):
    reason = ipv6_loopback_reason()
    if reason:
        pytest.skip(reason)
    port = free_port6()
    argv = [conftest.CANON_BIN, "serve", "--listen", f"[::1]:{port}", "--workers", "1"]
    for origin, path in ZONES.items():
        argv += ["--zone", f"{origin}={path}"]
    server = launch(argv, "::1", port)
    check(ask(server, "alias.e2e.test.", "AAAA"), answer=[ALIAS, TARGET["AAAA"]])
    check(ask(server, "alias.e2e.test.", "AAAA", tcp=True), answer=[ALIAS, TARGET["AAAA"]])


# ---------------------------------------------------------------------------
# Zones that must not load; the other zones are served regardless.

BAD_ZONES = {
    "bad-cname-and-other.test.zone": r"cname.*other|other.*cname",
    "bad-two-cnames.test.zone": r"(multiple|two|more than one|several|second).*cname",
    "bad-data-below-dname.test.zone": r"below.*dname|dname.*(below|descendant|occlude)",
}


def offending_lines(path):
    with open(path) as f:
        return [i for i, line in enumerate(f, 1) if "; offending" in line]


@pytest.mark.parametrize("zonefile", sorted(BAD_ZONES))
def test_bad_zone_is_not_served_and_others_are(canon, zonefile):
    path = os.path.join(E2E_ZONES_DIR, zonefile)
    server = canon({"e2e.test.": E2E_ZONE, "bad.test.": path})
    # The good zone is served.
    check(ask(server, "alias.e2e.test.", "A"), answer=[ALIAS, TARGET["A"]])
    # The bad one is not: its names answer SERVFAIL (as BIND and Knot do), not REFUSED.
    check(ask(server, "www.bad.test.", "A"), rcode=dns.rcode.SERVFAIL, aa=False)
    # The log names the place and the rule.
    log = server.logtext()
    places = [f"{path}:{n}:" for n in offending_lines(path)]
    named = [line for line in log.splitlines() if any(p in line for p in places)]
    assert named, f"no line of the log names {' or '.join(places)}:\n{log}"
    assert any(re.search(BAD_ZONES[zonefile], line, re.I) for line in named), \
        f"the rule is not named:\n{log}"


# ---------------------------------------------------------------------------
# Config file and command line.


def write(path, text):
    path.write_text(text)
    return str(path)


def test_config_file(tmp_path, launch):
    port = conftest.free_port()
    # A zone path relative to the config file, and an absolute one.
    (tmp_path / "other.zone").write_text(open(OTHER_ZONE).read())
    conf = write(tmp_path / "canon.conf", f"""# canon serve settings for test_config_file
listen: 127.0.0.1:{port}
workers: 2    # two threads
zone: e2e.test. {E2E_ZONE}
zone: other.test. other.zone
""")
    server = launch([conftest.CANON_BIN, "serve", "-c", conf], "127.0.0.1", port)
    check(ask(server, "tootherzone.e2e.test.", "A"),
          answer=[cname("tootherzone.e2e.test.", "www.other.test."),
                  cname("www.other.test.", "final.other.test."),
                  rr("final.other.test.", 3600, "A", "192.0.2.150")])
    check(ask(server, "missing.other.test.", "A", tcp=True), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_OTHER_NEG])


@pytest.mark.parametrize("bad_line", [
    "colour: blue",
    "listen: 127.0.0.1:notaport",
    "listen: bogus",
    "listen: 256.1.1.1:53",
    "workers: 0",
    "zone: e2e.test.",
    "no colon here",
])
def test_config_file_errors(tmp_path, bad_line):
    port = conftest.free_port()
    conf = write(tmp_path / "bad.conf",
                 f"# line 1\nlisten: 127.0.0.1:{port}\n{bad_line}\nzone: e2e.test. {E2E_ZONE}\n")
    rc, out = run_canon(["-c", conf])
    assert rc != 0
    assert f"{conf}:3:" in out, out


@pytest.mark.parametrize("args,named", [
    (["--zone", "nofile"], r"nofile"),
    (["--zone", "=e2e.zone"], r"=e2e\.zone"),
    (["--listen", "bogus"], r"bogus"),
    (["--listen", "127.0.0.1:99999"], r"127\.0\.0\.1:99999"),
    (["--listen", "[::1"], r"\[::1"),
    (["--workers", "0"], r"--workers\W+0\b"),
    (["--workers", "many"], r"many"),
    (["--log-level", "loud"], r"loud"),
    (["-c", "/nonexistent/canon.conf"], r"/nonexistent/canon\.conf"),
    (["stray-argument"], r"stray-argument"),
])
def test_command_line_errors(args, named):
    # Each bad argument: a prompt non-zero exit and a message that names it. A
    # --listen on a free port and a good zone are added so that a bug that starts
    # serving instead does not take port 5300 (run_canon then fails on its timeout).
    argv = list(args)
    if args[0] != "--listen":
        argv += ["--listen", f"127.0.0.1:{conftest.free_port()}"]
    if args[0] != "--zone":
        argv += ["--zone", f"e2e.test.={E2E_ZONE}"]
    rc, out = run_canon(argv)
    assert rc != 0
    assert re.search(named, out), out
    assert sanitizer_report(out) is None, out


def test_missing_zone_file_is_reported(tmp_path):
    # A zone file that cannot be read. Debatable: Knot and NSD start anyway and
    # serve the zones that load (as canon does for a zone that fails its checks, see
    # test_bad_zone_is_not_served_and_others_are); exiting is just as defensible when
    # it is the only zone. Either way the file must be named, and canon must not hang
    # silently: it exits non-zero, or it runs and logs the problem.
    port = conftest.free_port()
    missing = str(tmp_path / "nofile.zone")
    log = tmp_path / "canon.log"
    with open(log, "w") as out:
        p = subprocess.Popen([conftest.CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}",
                              "--workers", "1", "--zone", f"e2e.test.={missing}"],
                             stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                rc = p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                rc = None
            text = log.read_text()
            assert missing in text, text
            if rc is None:
                # Still running: it must answer (SERVFAIL, nothing is served).
                assert conftest.wait_for_dns("127.0.0.1", port, timeout=5)
            else:
                assert rc != 0
        finally:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=5)


def test_no_zone_serves_the_bundled_example(launch):
    # `canon serve` with no zone serves examples/example.test.zone (on 127.0.0.1:5300
    # by default; a free port is given here, since 5300 may be taken).
    port = conftest.free_port()
    server = launch([conftest.CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}"],
                    "127.0.0.1", port, wait_qname="example.test.")
    zone = dns.zone.from_file(os.path.join(conftest.EXAMPLES_DIR, "example.test.zone"),
                              origin="example.test.", relativize=False)

    def node_rrset(name, rtype):
        rds = zone.find_rdataset(name, rtype)
        return dns.rrset.from_rdata_list(dns.name.from_text(name), rds.ttl, list(rds))

    # shop -> www -> the apex (the example's two-hop chain).
    reply = ask(server, "shop.example.test.", "A")
    check(reply, answer=[node_rrset("shop.example.test.", "CNAME"),
                         node_rrset("www.example.test.", "CNAME"),
                         node_rrset("example.test.", "A")])
    reply = ask(server, "WwW.ExAmPlE.TeSt.", "A")
    check(reply, answer=[node_rrset("www.example.test.", "CNAME"),
                         node_rrset("example.test.", "A")])
    assert reply.msg.question[0].name.to_text() == "WwW.ExAmPlE.TeSt."
    cname_owner = [r for r in reply.msg.answer if r.rdtype == dns.rdatatype.CNAME][0].name
    assert cname_owner.to_text() == "WwW.ExAmPlE.TeSt."
    assert "example.test" in server.logtext()


def test_sigterm_exits_cleanly(canon):
    server = canon()
    check(ask(server, "target.e2e.test.", "A"), answer=[TARGET["A"]])
    server.proc.send_signal(signal.SIGTERM)
    try:
        rc = server.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("canon did not stop within 5s of SIGTERM")
    assert rc == 0, server.logtext()
