"""ALIAS records and CNAME flattening in canon serve, end to end (docs/alias.md).

A small world on 127.54.0.0/24, every server on one common query port Q,
built from tests/zones/alias/ (copied to a temporary directory, since some
tests edit the zones):

    127.54.0.1   canon serve   .             (root.hints points here)
    127.54.0.2   canon serve   example.net.  (the targets; test_target_change edits it)
    127.54.0.3   canon serve   example.org.  (second zone of the chain and the loop)
    127.54.0.4   canon serve   example.com.  the server under test, --upstream 127.54.0.53
                               (and words.example., include.example.)
    127.54.0.5   pdns_server   example.com.  PowerDNS with expand-alias, same upstream
    127.54.0.6   canon serve   flatten.zone as flat-apex/flat-all/flat-none.example.,
                               config file with root-hints and query-port (no upstream)
    127.54.0.7   canon serve   stale.example., its own upstream (test_upstream_down_...)
    127.54.0.8   canon serve   servers started by single tests, free ports
    127.54.0.9   nothing listens (dead.example.org's server)
    127.54.0.10  a socket nobody reads (slow.example.org's server): never answers
    127.54.0.11  canon serve   slow.example., root-hints (test_slow_targets_...)
    127.54.0.53  canon resolve the upstream (--root-hints, --query-port Q)
    127.54.0.54  canon resolve the upstream that test_upstream_down stops

Answers are compared as whole sections (owner, type and the set of rdata),
with TTLs checked against bounds, since the target's TTL counts down in the
upstream's cache. Every process is stopped at the end, every wait is bounded.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_alias.py
"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import conftest
from miniworld import (Blackhole, common_free_port, free_port_on, start_canon_resolve,
                       start_canon_serve, wait_zones)

ALIAS_ZONES = os.path.join(conftest.ZONES_DIR, "alias")

ROOT, NET, ORG, COM = "127.54.0.1", "127.54.0.2", "127.54.0.3", "127.54.0.4"
PDNS, FLAT, STALE, OTHER = "127.54.0.5", "127.54.0.6", "127.54.0.7", "127.54.0.8"
DEAD, BLACKHOLE, SLOW = "127.54.0.9", "127.54.0.10", "127.54.0.11"
UPSTREAM, UPSTREAM2 = "127.54.0.53", "127.54.0.54"

ALIAS_TYPE = 65401          # canon's private type for ALIAS (PowerDNS uses the same number)
EDE_STALE = 3               # RFC 8914 §4.4 Stale Answer
EDE_NO_REACHABLE = 22       # RFC 8914 §4.23 No Reachable Authority
STALE_TTL = 30              # resolve/flatten.h CANON_FLATTEN_STALE_TTL
TIMEOUT = 3.0               # one query
WAIT = 6.0                  # one bounded wait for something to change
SOA_COM = ("example.com.", "SOA",
           {"ns1.example.com. hostmaster.example.com. 2026010101 7200 3600 1209600 300"})


# ---------------------------------------------------------------- queries and sections


def ask(server, qname, qtype="A", tcp=False, timeout=TIMEOUT):
    """One query, RD clear, EDNS0 (for EDE); the response."""
    q = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, server.addr, port=server.port, timeout=timeout)
    return dns.query.udp(q, server.addr, port=server.port, timeout=timeout)


def section(rrsets):
    """A section as a set of (owner, type, frozenset of rdata text): TTLs apart."""
    return {(rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype),
             frozenset(rd.to_text() for rd in rr)) for rr in rrsets}


def want(*rrsets):
    return {(owner, rtype, frozenset(rdatas)) for owner, rtype, rdatas in rrsets}


def ede_codes(resp):
    return [o.code for o in resp.options if o.otype == dns.edns.OptionType.EDE]


def ttls(resp):
    return [rr.ttl for rr in resp.answer]


def check(resp, rcode=dns.rcode.NOERROR, answer=(), authority=(), aa=True, ede=()):
    """Whole-section check of rcode, AA, ANSWER, AUTHORITY and the EDE codes.

    ADDITIONAL is not compared here: the tests that care look at it."""
    got = (dns.rcode.to_text(resp.rcode()), bool(resp.flags & dns.flags.AA),
           section(resp.answer), section(resp.authority), ede_codes(resp))
    expected = (dns.rcode.to_text(rcode), aa, want(*answer), want(*authority), list(ede))
    assert got == expected, f"\n{resp}"


def poll(fn, timeout=WAIT, interval=0.1):
    """Call fn() until it returns something true; that value, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    return None


def replace_in_file(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, f"{old!r} not in {path}"
    text = text.replace(old, new)
    with open(f"{path}.tmp", "w") as f:
        f.write(text)
    os.replace(f"{path}.tmp", path)


# ---------------------------------------------------------------- servers


def start_serve(workdir, addr, port, zones, extra=(), name="serve", origins=None):
    """canon serve on addr:port with zones {origin: path or path,flatten=MODE}."""
    argv = [conftest.CANON_BIN, "serve", "--workers", "1", "--listen", f"{addr}:{port}"]
    for origin, path in zones.items():
        argv += ["--zone", f"{origin}={path}"]
    argv += list(extra)
    server = conftest.Server(argv, addr, port, os.path.join(workdir, f"canon-{name}-{addr}.log"))
    # The start waits up to 3 s for ALIAS targets before it listens.
    if wait_zones(addr, port, origins if origins is not None else list(zones), timeout=15,
                  proc=server.proc):
        log = log_tail(server)
        server.stop()
        pytest.fail(f"canon serve on {addr}:{port} did not start (exit {server.proc.poll()}):"
                    f"\n{log}")
    return server


def log_tail(server, lines=20):
    """The end of a server's log, without the warnings repeated for each failed refresh."""
    kept = [line for line in server.logtext().splitlines() if "resolution failed" not in line]
    return "\n".join(kept[-lines:])


def start_pdns(workdir, addr, port, zones, resolver):
    """pdns_server with the bind backend, ALIAS expanded through 'resolver' (ADDR:PORT)."""
    binary = conftest.need_tool("pdns_server")
    base = os.path.join(workdir, "pdns")
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, "named.conf"), "w") as f:
        for origin, path in zones.items():
            f.write(f'zone "{origin}" {{ type master; file "{path}"; }};\n')
    settings = {
        "launch": "bind",
        "bind-config": os.path.join(base, "named.conf"),
        "local-address": addr,
        "local-port": port,
        "socket-dir": base,
        "expand-alias": "yes",
        "resolver": resolver,
        "daemon": "no",
        "guardian": "no",
        "disable-syslog": "yes",
        "loglevel": "4",
        "webserver": "no",
        "cache-ttl": "0",
        "negquery-cache-ttl": "0",
        "query-cache-ttl": "0",
        "security-poll-suffix": "",
        "receiver-threads": "1",
        "distributor-threads": "1",
    }
    with open(os.path.join(base, "pdns.conf"), "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in settings.items()))
    server = conftest.Server([binary, f"--config-dir={base}"], addr, port,
                             os.path.join(base, "pdns.log"))
    if wait_zones(addr, port, list(zones), timeout=15, proc=server.proc):
        log = log_tail(server)
        server.stop()
        pytest.fail(f"pdns_server did not start:\n{log}")
    return server


class AliasWorld:
    """The servers of the module docstring (all but pdns and the single-test ones)."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.zones = os.path.join(self.workdir, "zones")
        self.port = None
        self.servers = {}

    def zone(self, name):
        return os.path.join(self.zones, name)

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        shutil.copytree(ALIAS_ZONES, self.zones)
        self.hints = self.zone("root.hints")
        self.port = q = common_free_port((ROOT, NET, ORG, COM, PDNS, FLAT, STALE, DEAD,
                                          BLACKHOLE, SLOW))
        s = self.servers
        s["root"] = start_canon_serve(self.workdir, ROOT, [q], {".": self.zone("root.zone")})
        s["net"] = start_canon_serve(self.workdir, NET, [q],
                                     {"example.net.": self.zone("example.net.zone")})
        s["org"] = start_canon_serve(self.workdir, ORG, [q],
                                     {"example.org.": self.zone("example.org.zone")})
        s["upstream"] = start_canon_resolve(self.workdir, q, addr=UPSTREAM, hints=self.hints)
        s["com"] = start_serve(self.workdir, COM, q,
                               {"example.com.": self.zone("example.com.zone"),
                                "words.example.": self.zone("words.zone"),
                                "include.example.": self.zone("include.zone")},
                               ["--upstream", f"{UPSTREAM}:{s['upstream'].port}"],
                               origins=["example.com."])
        # The flatten modes, from a config file, resolving iteratively from the root.
        flat = self.zone("flatten.zone")
        s["flat"] = self.serve_conf(FLAT, "flatten", [f"flat-apex.example. {flat} flatten=apex",
                                                      f"flat-all.example. {flat} flatten=all",
                                                      f"flat-none.example. {flat}"],
                                    ["flat-apex.example.", "flat-all.example."])

    def serve_conf(self, addr, name, zone_lines, origins):
        """canon serve -c NAME.conf on addr:Q, with root-hints and query-port (no upstream)."""
        conf = os.path.join(self.workdir, f"{name}.conf")
        with open(conf, "w") as f:
            f.write(f"listen: {addr}:{self.port}\nworkers: 1\n"
                    f"root-hints: {self.hints}\nquery-port: {self.port}\n")
            f.write("".join(f"zone: {line}\n" for line in zone_lines))
        server = conftest.Server([conftest.CANON_BIN, "serve", "-c", conf], addr, self.port,
                                 os.path.join(self.workdir, f"canon-{name}.log"))
        if wait_zones(addr, self.port, origins, timeout=15, proc=server.proc):
            log = log_tail(server)
            server.stop()
            raise RuntimeError(f"canon serve -c {conf} did not start:\n{log}")
        return server

    def stop(self):
        for name in reversed(list(self.servers)):
            with contextlib.suppress(Exception):
                self.servers.pop(name).stop()

    def __getattr__(self, name):
        try:
            return self.__dict__["servers"][name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture(scope="module")
def aw(tmp_path_factory):
    world = AliasWorld(tmp_path_factory.mktemp("alias")).start()
    yield world
    world.stop()


# ---------------------------------------------------------------- the apex and other names


def test_apex_answers_target_addresses(aw):
    """A and AAAA at the apex: www.example.net's addresses owned by the apex, AA, no EDE."""
    for tcp in (False, True):
        r = ask(aw.com, "example.com.", "A", tcp=tcp)
        check(r, answer=[("example.com.", "A", {"192.0.2.10"})])
        assert all(1 <= t <= 300 for t in ttls(r)), r
    r = ask(aw.com, "example.com.", "AAAA")
    check(r, answer=[("example.com.", "AAAA", {"2001:db8::10"})])
    assert all(1 <= t <= 300 for t in ttls(r)), r


def test_apex_other_types_come_from_the_zone(aw):
    """MX, TXT, NS, SOA at the ALIAS name are the zone's own; CNAME is NODATA."""
    r = ask(aw.com, "example.com.", "MX")
    check(r, answer=[("example.com.", "MX", {"10 mail.example.com."})])
    assert section(r.additional) == want(("mail.example.com.", "A", {"192.0.2.25"}))
    check(ask(aw.com, "example.com.", "TXT"),
          answer=[("example.com.", "TXT", {'"v=spf1 mx -all"'})])
    r = ask(aw.com, "example.com.", "NS")
    check(r, answer=[("example.com.", "NS", {"ns1.example.com."})])
    assert section(r.additional) == want(("ns1.example.com.", "A", {"127.54.0.4"}))
    r = ask(aw.com, "example.com.", "SOA")
    check(r, answer=[SOA_COM])
    assert ttls(r) == [3600]
    check(ask(aw.com, "example.com.", "CNAME"), authority=[SOA_COM])


def test_alias_type_query_returns_the_record(aw):
    """QTYPE 65401 returns the ALIAS itself (RFC 3597 form: the target's wire name)."""
    r = ask(aw.com, "example.com.", ALIAS_TYPE)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
    assert len(r.answer) == 1 and len(r.answer[0]) == 1 and not r.authority, r
    rrset = r.answer[0]
    assert (rrset.name, rrset.rdtype, rrset.ttl) == (dns.name.from_text("example.com."),
                                                       ALIAS_TYPE, 300)
    assert rrset[0].data == dns.name.from_text("www.example.net.").to_wire()
    # ANY (over TCP: UDP gets one RRset, RFC 8482) lists the zone's records with the
    # ALIAS, and no addresses (they are not zone data).
    r = ask(aw.com, "example.com.", "ANY", tcp=True)
    assert {(rr.name.to_text(), rr.rdtype) for rr in r.answer} == {
        ("example.com.", t) for t in (dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.MX,
                                      dns.rdatatype.TXT, ALIAS_TYPE)}, r
    check(ask(aw.com, "nothing.example.com.", ALIAS_TYPE), rcode=dns.rcode.NXDOMAIN,
          authority=[SOA_COM])


def test_every_address_of_the_target(aw):
    """A target with three A records: the ALIAS name has all three."""
    r = ask(aw.com, "multi.example.com.", "A")
    check(r, answer=[("multi.example.com.", "A", {"192.0.2.51", "192.0.2.52", "192.0.2.53"})])


def test_chain_across_zones_takes_the_smallest_ttl(aw):
    """hop1.example.net (200) -> hop2.example.org (100) -> end.example.net A (250), ALIAS 300."""
    r = ask(aw.com, "chain.example.com.", "A")
    check(r, answer=[("chain.example.com.", "A", {"192.0.2.30"})])
    assert all(1 <= t <= 100 for t in ttls(r)), r
    r = ask(aw.com, "chain.example.com.", "AAAA")
    check(r, answer=[("chain.example.com.", "AAAA", {"2001:db8::30"})])
    assert all(1 <= t <= 100 for t in ttls(r)), r
    # The ALIAS's own TTL (30) bounds the answer when it is the smaller one.
    r = ask(aw.com, "short.example.com.", "A")
    check(r, answer=[("short.example.com.", "A", {"192.0.2.10"})])
    assert all(1 <= t <= 30 for t in ttls(r)), r


def test_target_without_addresses_is_nodata(aw):
    """NXDOMAIN target: NODATA with our SOA for A and AAAA; an IPv6-only target: NODATA for A."""
    for qtype in ("A", "AAAA"):
        check(ask(aw.com, "nx.example.com.", qtype), authority=[SOA_COM])
    check(ask(aw.com, "v6.example.com.", "A"), authority=[SOA_COM])
    r = ask(aw.com, "v6.example.com.", "AAAA")
    check(r, answer=[("v6.example.com.", "AAAA", {"2001:db8::6"})])
    assert all(1 <= t <= 300 for t in ttls(r)), r


def test_unresolvable_targets_are_servfail(aw):
    """A CNAME loop across zones, two ALIASes naming each other, a dead server: SERVFAIL, EDE 22.

    None of them ever had a good answer, so there is nothing stale to serve."""
    for name in ("loop.example.com.", "self1.example.com.", "self2.example.com.",
                 "dead.example.com."):
        for qtype in ("A", "AAAA"):
            check(ask(aw.com, name, qtype), rcode=dns.rcode.SERVFAIL, ede=[EDE_NO_REACHABLE])
    # Other types at such a name are still the zone's (here: none, NODATA).
    check(ask(aw.com, "loop.example.com.", "TXT"), authority=[SOA_COM])
    assert aw.com.alive()


def test_cname_to_alias_and_wildcard_alias(aw):
    """A CNAME to the apex gets the apex's flattened addresses; a wildcard ALIAS the qname."""
    r = ask(aw.com, "www.example.com.", "A")
    check(r, answer=[("www.example.com.", "CNAME", {"example.com."}),
                     ("example.com.", "A", {"192.0.2.10"})])
    r = ask(aw.com, "x.wild.example.com.", "AAAA")
    check(r, answer=[("x.wild.example.com.", "AAAA", {"2001:db8::10"})])
    assert all(1 <= t <= 300 for t in ttls(r)), r


# ---------------------------------------------------------------- zone files


def test_word_alias_in_data_is_not_the_type(aw):
    """"alias" as an owner, a CNAME/MX target and a TXT word: only the type field is ALIAS."""
    check(ask(aw.com, "www.words.example.", "A"),
          answer=[("www.words.example.", "CNAME", {"alias.words.example."}),
                  ("alias.words.example.", "A", {"192.0.2.7"})])
    check(ask(aw.com, "words.example.", "MX"),
          answer=[("words.example.", "MX", {"10 alias.words.example."})])
    check(ask(aw.com, "words.example.", "TXT"),
          answer=[("words.example.", "TXT", {'"an alias is a name"'})])
    p = run_check(os.path.join(ALIAS_ZONES, "words.zone"))
    assert p.returncode == 0, p.stdout + p.stderr


def test_alias_in_an_included_file(aw):
    """An ALIAS record read through $INCLUDE is an ALIAS like any other (canon reads
    included files itself, with the same rewriting as the zone file)."""
    r = ask(aw.com, "inc.include.example.", "A")
    check(r, answer=[("inc.include.example.", "A", {"192.0.2.10"})])
    p = run_check(os.path.join(ALIAS_ZONES, "include.zone"))
    assert p.returncode == 0, p.stdout + p.stderr


# ---------------------------------------------------------------- refresh and stale


def move_answer(aw):
    r = ask(aw.com, "move.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1, r
    return r


def test_short_ttl_never_stale_while_the_upstream_works(aw):
    """moving.example.net has TTL 2: every answer in 4 s has TTL <= 2 and no EDE.

    A stale answer between expiry and refresh lasts up to a refresh tick
    (100 ms), so the queries come every 5 ms to see one if it happens."""
    bad, count = [], 0
    start = time.monotonic()
    while time.monotonic() < start + 4.0:
        r = move_answer(aw)
        count += 1
        if ede_codes(r) or r.answer[0].ttl > 2:
            bad.append((round(time.monotonic() - start, 3), r.answer[0].ttl, ede_codes(r)))
        time.sleep(0.005)
    assert not bad, f"{len(bad)} of {count} answers stale while the upstream answers: {bad[:5]}"


def test_target_change_is_followed(aw):
    """Edit moving.example.net, SIGHUP its server: the ALIAS follows within TTL + refresh."""
    assert section(move_answer(aw).answer) == want(("move.example.com.", "A", {"192.0.2.20"}))
    path = aw.zone("example.net.zone")
    replace_in_file(path, "192.0.2.20", "192.0.2.21")
    replace_in_file(path, "hostmaster 1 ", "hostmaster 2 ")
    os.kill(aw.net.proc.pid, signal.SIGHUP)

    def net_changed():
        r = ask(aw.net, "moving.example.net.", "A")
        return section(r.answer) == want(("moving.example.net.", "A", {"192.0.2.21"}))

    assert poll(net_changed), "example.net's server did not reload"
    start = time.monotonic()
    new = want(("move.example.com.", "A", {"192.0.2.21"}))
    r = poll(lambda: (lambda r: r if section(r.answer) == new else None)(move_answer(aw)))
    took = time.monotonic() - start
    assert r is not None, f"still the old address {WAIT} s after the target changed"
    # The upstream caches the old address for at most 2 s, the flattener refreshes at 75%.
    assert took < 4.5, f"the new address took {took:.1f} s"
    assert r.answer[0].ttl <= 2 or ede_codes(r) == [EDE_STALE], r


def test_upstream_down_serves_stale_then_recovers(aw):
    """Stop the upstream: the last answer stays, then is served stale (TTL 30, EDE 3);
    a name added meanwhile was never resolved (SERVFAIL, EDE 22); restart: fresh again."""
    workdir = os.path.join(aw.workdir, "stale")
    os.makedirs(workdir, exist_ok=True)
    zone = aw.zone("stale.zone")
    upstream = start_canon_resolve(workdir, aw.port, addr=UPSTREAM2, hints=aw.hints)
    upstream_port = upstream.port
    servers = [upstream]
    try:
        server = start_serve(workdir, STALE, aw.port, {"stale.example.": zone},
                             ["--upstream", f"{UPSTREAM2}:{upstream_port}"])
        servers.append(server)
        a = want(("stale.example.", "A", {"192.0.2.40"}))
        aaaa = want(("stale.example.", "AAAA", {"2001:db8::40"}))

        def fresh(qtype="A"):
            r = ask(server, "stale.example.", qtype)
            ok = (r.rcode() == dns.rcode.NOERROR and not ede_codes(r)
                  and section(r.answer) == (a if qtype == "A" else aaaa))
            return r if ok and all(1 <= t <= 2 for t in ttls(r)) else None

        assert poll(fresh, timeout=3), ask(server, "stale.example.")
        upstream.stop()
        stopped = time.monotonic()

        # Until the answer expires (2 s) it is the same; then stale. Never anything else.
        def stale_yet():
            r = ask(server, "stale.example.", "A")
            assert r.rcode() == dns.rcode.NOERROR and section(r.answer) == a, r
            if ede_codes(r):
                assert ede_codes(r) == [EDE_STALE] and ttls(r) == [STALE_TTL], r
                return r
            assert all(t <= 2 for t in ttls(r)), r
            return None

        assert poll(stale_yet, timeout=4.0, interval=0.05), "never served stale"
        assert time.monotonic() - stopped < 3.5
        for qtype, address in (("A", "192.0.2.40"), ("AAAA", "2001:db8::40")):
            r = ask(server, "stale.example.", qtype)
            check(r, answer=[("stale.example.", qtype, {address})], ede=[EDE_STALE])
            assert ttls(r) == [STALE_TTL], r

        # A new ALIAS while the upstream is down: no answer was ever good.
        replace_in_file(zone, "@        300   ALIAS",
                        "new      300   ALIAS www.example.net.\n@        300   ALIAS")
        replace_in_file(zone, "hostmaster 1 ", "hostmaster 2 ")  # a reload needs a new serial
        os.kill(server.proc.pid, signal.SIGHUP)
        r = poll(lambda: (lambda r: r if r.rcode() != dns.rcode.NXDOMAIN else None)(
            ask(server, "new.stale.example.", "A")))
        assert r is not None, "the reload did not happen"
        check(r, rcode=dns.rcode.SERVFAIL, ede=[EDE_NO_REACHABLE])
        r = ask(server, "stale.example.", "A")
        check(r, answer=[("stale.example.", "A", {"192.0.2.40"})], ede=[EDE_STALE])

        # The upstream is back on the same address: fresh answers within a retry or two.
        upstream = start_canon_resolve(workdir, aw.port, addr=UPSTREAM2, port=upstream_port,
                                       hints=aw.hints)
        servers.append(upstream)
        assert poll(fresh, timeout=WAIT), ask(server, "stale.example.")
        r = poll(lambda: (lambda r: r if r.rcode() == dns.rcode.NOERROR else None)(
            ask(server, "new.stale.example.", "A")))
        assert r is not None, "the new ALIAS never resolved"
        check(r, answer=[("new.stale.example.", "A", {"192.0.2.10"})])
    finally:
        for s in reversed(servers):
            s.stop()


def test_slow_targets_do_not_starve_the_others(aw):
    """Three targets whose server never answers must not delay the refresh of a healthy one.

    Iterative mode (root-hints): every answer has the full TTL (2 s for the
    apex's target), so with timely refreshes (at 75% of it) every answer has
    1 or 2 s left, and none is stale."""
    blackhole = Blackhole(BLACKHOLE, [aw.port])
    server = None
    try:
        server = aw.serve_conf(SLOW, "slow", [f"slow.example. {aw.zone('slow.zone')}"],
                               ["slow.example."])
        bad, count = [], 0
        start = time.monotonic()
        while time.monotonic() < start + 4.0:
            r = ask(server, "slow.example.", "A")
            count += 1
            assert section(r.answer) == want(("slow.example.", "A", {"192.0.2.40"})), r
            # TTL 0 would be data past its TTL, refreshed late, even without the EDE.
            if ede_codes(r) or not 1 <= r.answer[0].ttl <= 2:
                bad.append((round(time.monotonic() - start, 3), ttls(r), ede_codes(r)))
            time.sleep(0.005)
        # The slow ones: SERVFAIL at once (a query never waits for the upstream).
        before = time.monotonic()
        check(ask(server, "s1.slow.example.", "A"), rcode=dns.rcode.SERVFAIL,
              ede=[EDE_NO_REACHABLE])
        assert time.monotonic() - before < 0.5
        assert not bad, (f"{len(bad)} of {count} answers stale while the target's server "
                         f"answers: first {bad[0]}, last {bad[-1]}")
    finally:
        if server is not None:
            server.stop()
        blackhole.stop()


# ---------------------------------------------------------------- flatten modes


def test_flatten_apex(aw):
    """flatten=apex: the apex CNAME answers A/AAAA from its target; other CNAMEs stay CNAMEs."""
    r = ask(aw.flat, "flat-apex.example.", "A")
    check(r, answer=[("flat-apex.example.", "A", {"192.0.2.10"})])
    assert all(1 <= t <= 300 for t in ttls(r)), r
    check(ask(aw.flat, "flat-apex.example.", "AAAA"),
          answer=[("flat-apex.example.", "AAAA", {"2001:db8::10"})])
    check(ask(aw.flat, "flat-apex.example.", "MX"),
          answer=[("flat-apex.example.", "MX", {"10 ns1.flat-apex.example."})])
    check(ask(aw.flat, "shop.flat-apex.example.", "A"),
          answer=[("shop.flat-apex.example.", "CNAME", {"hop1.example.net."})])
    check(ask(aw.flat, "local.flat-apex.example.", "A"),
          answer=[("local.flat-apex.example.", "CNAME", {"host.flat-apex.example."}),
                  ("host.flat-apex.example.", "A", {"192.0.2.99"})])


def test_flatten_all(aw):
    """flatten=all: a CNAME anywhere answers A/AAAA itself, with the chain's smallest TTL."""
    check(ask(aw.flat, "flat-all.example.", "A"),
          answer=[("flat-all.example.", "A", {"192.0.2.10"})])
    r = ask(aw.flat, "shop.flat-all.example.", "A")
    check(r, answer=[("shop.flat-all.example.", "A", {"192.0.2.30"})])
    assert all(1 <= t <= 100 for t in ttls(r)), r
    check(ask(aw.flat, "shop.flat-all.example.", "AAAA"),
          answer=[("shop.flat-all.example.", "AAAA", {"2001:db8::30"})])
    # Other types at a flattened name: the name has no such data (the CNAME is gone).
    soa = ("flat-all.example.", "SOA",
           {"ns1.flat-all.example. hostmaster.flat-all.example. 1 7200 3600 1209600 300"})
    check(ask(aw.flat, "shop.flat-all.example.", "MX"), authority=[soa])
    check(ask(aw.flat, "shop.flat-all.example.", "CNAME"), authority=[soa])


def test_flatten_all_target_in_the_zone(aw):
    """flatten=all, local CNAME host (host A 192.0.2.99 in the same zone): the host's address.

    The zone is not delegated in the world, so the upstream cannot find host."""
    r = ask(aw.flat, "local.flat-all.example.", "A")
    check(r, answer=[("local.flat-all.example.", "A", {"192.0.2.99"})])


def test_flatten_none_refuses_apex_cname(aw):
    """Without flattening the CNAME at the apex is an error: the zone is not served (SERVFAIL,
    as BIND and Knot answer for a zone that failed to load)."""
    check(ask(aw.flat, "flat-none.example.", "A"), rcode=dns.rcode.SERVFAIL, aa=False)
    assert re.search(r"flatten\.zone:\d+: .*\[cname-at-apex\]", aw.flat.logtext())


# ---------------------------------------------------------------- configuration errors


def test_no_upstream_is_servfail(aw):
    """Without --upstream or --root-hints an ALIAS name answers A/AAAA with SERVFAIL, EDE 22."""
    port = free_port_on(OTHER)
    server = start_serve(aw.workdir, OTHER, port, {"example.com.": aw.zone("example.com.zone")},
                         name="no-upstream")
    try:
        for qtype in ("A", "AAAA"):
            check(ask(server, "example.com.", qtype), rcode=dns.rcode.SERVFAIL,
                  ede=[EDE_NO_REACHABLE])
        check(ask(server, "example.com.", "TXT"),
              answer=[("example.com.", "TXT", {'"v=spf1 mx -all"'})])
        r = ask(server, "example.com.", ALIAS_TYPE)
        assert r.rcode() == dns.rcode.NOERROR and r.answer[0].rdtype == ALIAS_TYPE, r
    finally:
        server.stop()


def test_many_alias_targets_do_not_stop_the_server(aw):
    """A zone with 1100 ALIAS records, each to its own target, is served.

    The upstream refuses (nothing listens), so no target resolves: SERVFAIL."""
    path = os.path.join(aw.workdir, "many.zone")
    with open(path, "w") as f:
        f.write("$ORIGIN many.example.\n$TTL 3600\n"
                "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n")
        f.write("".join(f"a{i} 300 ALIAS t{i}.example.net.\n" for i in range(1100)))
    port = free_port_on(OTHER)
    server = start_serve(aw.workdir, OTHER, port, {"many.example.": path},
                         ["--upstream", f"{DEAD}:{aw.port}"], name="many")
    try:
        for name in ("a0.many.example.", "a1099.many.example."):
            check(ask(server, name, "A"), rcode=dns.rcode.SERVFAIL, ede=[EDE_NO_REACHABLE])
            r = ask(server, name, ALIAS_TYPE)
            assert [rr.rdtype for rr in r.answer] == [ALIAS_TYPE], r
    finally:
        server.stop()


def run_check(*args):
    argv = [conftest.CANON_BIN, "check", *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(argv)}` did not finish within 10 s")


def test_check_reports_alias_conflicts(aw):
    """canon check: ALIAS beside A (alias-and-address), two ALIASes (multiple-aliases)."""
    for zone, rule in (("alias-and-address.zone", "alias-and-address"),
                       ("multiple-aliases.zone", "multiple-aliases")):
        p = run_check("--json", os.path.join(ALIAS_ZONES, zone))
        assert p.returncode == 1, p.stdout + p.stderr
        found = [(f["line"], f["severity"], f["rule"]) for f in json.loads(p.stdout)["findings"]]
        assert found == [(9, "error", rule)], p.stdout
    p = run_check(os.path.join(ALIAS_ZONES, "example.com.zone"))
    assert p.returncode == 0, p.stdout + p.stderr


def test_serve_refuses_alias_conflicts(aw):
    """canon serve does not load a zone with alias-and-address or multiple-aliases."""
    port = free_port_on(OTHER)
    server = start_serve(aw.workdir, OTHER, port,
                         {"bad.example.": os.path.join(ALIAS_ZONES, "alias-and-address.zone"),
                          "bad2.example.": os.path.join(ALIAS_ZONES, "multiple-aliases.zone"),
                          "example.com.": aw.zone("example.com.zone")},
                         name="refuses", origins=["example.com."])
    try:
        for origin in ("bad.example.", "bad2.example."):
            for qtype in ("A", "SOA"):
                # Not loaded: SERVFAIL, as BIND and Knot answer for a zone that failed.
                check(ask(server, origin, qtype), rcode=dns.rcode.SERVFAIL, aa=False)
        log = server.logtext()
        assert re.search(r"alias-and-address\.zone:9: .*\[alias-and-address\]", log), log
        assert re.search(r"multiple-aliases\.zone:9: .*\[multiple-aliases\]", log), log
        check(ask(server, "example.com.", "SOA"), answer=[SOA_COM])
    finally:
        server.stop()


# ---------------------------------------------------------------- PowerDNS


def comparable(resp):
    """What canon and PowerDNS should agree on: rcode, AA, sections without TTLs or OPT."""
    return (dns.rcode.to_text(resp.rcode()), bool(resp.flags & dns.flags.AA),
            section(resp.answer), section(resp.authority), section(resp.additional))


def test_powerdns_comparison(aw):
    """The same zone in PowerDNS 4.7 (bind backend, expand-alias=yes, the same upstream).

    Where the two agree the responses are equal but for TTLs; the differences
    are the ones docs/alias.md lists, each checked here so that the page stays true."""
    pdns = start_pdns(aw.workdir, PDNS, aw.port,
                      {"example.com.": aw.zone("example.com.zone"),
                       "bad.example.": aw.zone("alias-and-address.zone"),
                       "bad2.example.": aw.zone("multiple-aliases.zone")},
                      f"{UPSTREAM}:{aw.upstream.port}")
    try:
        same = [("example.com.", "A"), ("example.com.", "AAAA"), ("example.com.", "MX"),
                ("example.com.", "TXT"), ("example.com.", "NS"), ("example.com.", "SOA"),
                ("www.example.com.", "A"), ("chain.example.com.", "A"),
                ("multi.example.com.", "A"), ("v6.example.com.", "AAAA"),
                ("loop.example.com.", "A"), ("dead.example.com.", "A"),
                ("self1.example.com.", "A")]
        for qname, qtype in same:
            c, p = ask(aw.com, qname, qtype), ask(pdns, qname, qtype)
            assert comparable(c) == comparable(p), f"{qname} {qtype}\ncanon:\n{c}\npdns:\n{p}"

        # TTL: canon takes the smallest over the chain and the ALIAS; PowerDNS the last record's.
        c, p = ask(aw.com, "chain.example.com."), ask(pdns, "chain.example.com.")
        assert max(ttls(c)) <= 100 < min(ttls(p)), f"canon {ttls(c)}, pdns {ttls(p)}"
        c, p = ask(aw.com, "short.example.com."), ask(pdns, "short.example.com.")
        assert max(ttls(c)) <= 30 < min(ttls(p)), f"canon {ttls(c)}, pdns {ttls(p)}"
        # SERVFAIL: canon says why (EDE 22), PowerDNS does not.
        assert ede_codes(ask(aw.com, "loop.example.com.")) == [EDE_NO_REACHABLE]
        assert ede_codes(ask(pdns, "loop.example.com.")) == []
        # An NXDOMAIN target: canon NODATA with the SOA, PowerDNS SERVFAIL.
        check(ask(aw.com, "nx.example.com."), authority=[SOA_COM])
        check(ask(pdns, "nx.example.com."), rcode=dns.rcode.SERVFAIL)
        # No address of the type: both NODATA, PowerDNS without the SOA (not cacheable).
        check(ask(aw.com, "v6.example.com."), authority=[SOA_COM])
        check(ask(pdns, "v6.example.com."))
        # QTYPE ALIAS: canon answers the record, PowerDNS NODATA.
        assert [rr.rdtype for rr in ask(aw.com, "example.com.", ALIAS_TYPE).answer] == [ALIAS_TYPE]
        check(ask(pdns, "example.com.", ALIAS_TYPE), authority=[SOA_COM])
        # ANY: canon the zone's records (the ALIAS among them); PowerDNS only the
        # addresses, over TCP (over UDP it sets TC: any-to-tcp).
        assert ask(pdns, "example.com.", "ANY").flags & dns.flags.TC
        assert {rr.rdtype for rr in ask(pdns, "example.com.", "ANY", tcp=True).answer} == {
            dns.rdatatype.A, dns.rdatatype.AAAA}
        # A wildcard ALIAS: canon flattens it, PowerDNS answers NODATA.
        check(ask(aw.com, "x.wild.example.com."), answer=[("x.wild.example.com.", "A",
                                                             {"192.0.2.10"})])
        check(ask(pdns, "x.wild.example.com."), authority=[SOA_COM])
        # ALIAS beside A, two ALIASes: canon does not load such zones (test_serve_refuses_...);
        # PowerDNS serves them, with the zone's A, and with one of the two targets.
        check(ask(pdns, "bad.example."), answer=[("bad.example.", "A", {"192.0.2.1"})])
        r = ask(pdns, "bad2.example.")
        assert section(r.answer) in (want(("bad2.example.", "A", {"192.0.2.10"})),
                                     want(("bad2.example.", "A", {"192.0.2.30"}))), r
    finally:
        pdns.stop()
