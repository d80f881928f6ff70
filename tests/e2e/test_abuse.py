"""canon serve under cheap abuse (issue 14): ANY floods, answers too big for UDP,
DNS cookies (RFC 7873 / RFC 9018) and response rate limiting, checked against
nsd where nsd has the same feature.

Clients bind distinct loopback sources: 127.0.1.x and 127.0.2.x are different
/24 networks for rate limiting (127.0.0.2 and 127.0.0.3 would be one). Every
flood is bounded (at most a few hundred datagrams, each test ~10 s at most),
and every server runs one worker so that its one rate-limit table sees all.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_abuse.py
"""
import select
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import conftest
import refservers

ORIGIN = "abuse.test."
BIG_TYPES = 100  # RRsets at big.abuse.test.: more than the 64 a section held in place
FLOOD = 100
SECRET = "000102030405060708090a0b0c0d0e0f"


@pytest.fixture
def zone(tmp_path):
    lines = [
        f"$ORIGIN {ORIGIN}",
        "$TTL 300",
        "@ SOA ns hostmaster 1 3600 600 86400 300",
        "@ NS ns",
        "ns A 192.0.2.1",
        "www A 192.0.2.2",
        'big TXT "first in the file"',
        "big A 192.0.2.9",
    ]
    # Generic types (RFC 3597) fill the name up to BIG_TYPES RRsets.
    lines += [f"big TYPE{t} \\# 2 0102" for t in range(1000, 1000 + BIG_TYPES - 2)]
    # 60 TXT of ~210 octets: ~13 KB, far over any UDP payload.
    lines += [f'fat TXT "{"x" * 200}-{i}"' for i in range(60)]
    path = tmp_path / "abuse.test.zone"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def start(tmp_path, zone, *args):
    return conftest.start_canon(tmp_path, {ORIGIN: zone}, extra_args=list(args))


def udp_socket(source):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    return s


def flood(server, source, count, qname="www." + ORIGIN, qtype="A", wait=1.0, options=None):
    """Send 'count' queries from 'source' in one burst (well under a second);
    returns the responses that came back within 'wait' seconds after."""
    s = udp_socket(source)
    try:
        for i in range(count):
            q = dns.message.make_query(qname, qtype, use_edns=0 if options else None,
                                       options=options or [])
            q.id = i
            q.flags &= ~dns.flags.RD
            s.sendto(q.to_wire(), (server.addr, server.port))
        responses = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            data, _ = s.recvfrom(65535)
            responses.append(dns.message.from_wire(data))
        return responses
    finally:
        s.close()


def ask(server, source, qname="www." + ORIGIN, qtype="A", options=None, timeout=1.0):
    """One UDP query from 'source'; the response or None (dropped)."""
    q = dns.message.make_query(qname, qtype, use_edns=0 if options else None,
                               options=options or [])
    q.flags &= ~dns.flags.RD
    try:
        return dns.query.udp(q, server.addr, port=server.port, timeout=timeout, source=source)
    except dns.exception.Timeout:
        return None


def cookie_of(response):
    for opt in response.options:
        if opt.otype == dns.edns.COOKIE:
            return opt.data if hasattr(opt, "data") else opt.to_wire()
    return None


def cookie_option(data):
    return dns.edns.GenericOption(dns.edns.COOKIE, data)


def wait_next_second():
    """Start a flood just after a second turns, so it stays within one rate window."""
    time.sleep(1.0 - (time.time() % 1.0) + 0.02)


# --- minimal ANY, truncation --------------------------------------------------------------


def test_any_is_minimal_over_udp_and_full_over_tcp(tmp_path, zone, track):
    canon = track(start(tmp_path, zone))
    udp = canon.query("big." + ORIGIN, "ANY")
    assert udp.rcode() == dns.rcode.NOERROR and not udp.flags & dns.flags.TC
    # RFC 8482 §4.2: one RRset; the lowest type at the name, as knotd picks.
    assert [rr.rdtype for rr in udp.answer] == [dns.rdatatype.A]
    tcp = canon.query("big." + ORIGIN, "ANY", tcp=True)
    types = {rr.rdtype for rr in tcp.answer}
    assert len(tcp.answer) == BIG_TYPES  # not cut at 64
    assert types == {dns.rdatatype.A, dns.rdatatype.TXT} | {
        dns.rdatatype.RdataType.make(t) for t in range(1000, 1000 + BIG_TYPES - 2)}


def test_answer_too_big_for_udp_is_truncated_not_cut(tmp_path, zone, track):
    canon = track(start(tmp_path, zone))
    udp = canon.query("fat." + ORIGIN, "TXT", use_edns=0, payload=1232)
    assert udp.flags & dns.flags.TC and not udp.answer  # RFC 2181 §9: no partial RRset
    tcp = canon.query("fat." + ORIGIN, "TXT", tcp=True)
    assert not tcp.flags & dns.flags.TC
    assert len(tcp.answer) == 1 and len(tcp.answer[0]) == 60


def test_any_flood_is_answered_minimally(tmp_path, zone, track):
    canon = track(start(tmp_path, zone))
    responses = flood(canon, "127.0.1.1", FLOOD, qname="big." + ORIGIN, qtype="ANY")
    assert len(responses) == FLOOD
    query_size = len(dns.message.make_query("big." + ORIGIN, "ANY").to_wire())
    for r in responses:
        assert len(r.answer) == 1
        # No amplifier: the answer is about the size of the question and one A record.
        assert len(r.to_wire()) < query_size + 40


# --- DNS cookies ----------------------------------------------------------------------------


def test_cookie_round_trip(tmp_path, zone, track):
    canon = track(start(tmp_path, zone))
    client = bytes.fromhex("0102030405060708")
    first = ask(canon, "127.0.0.1", options=[cookie_option(client)])
    data = cookie_of(first)
    assert first.rcode() == dns.rcode.NOERROR and data is not None
    # RFC 9018 §4: client cookie, then version 1, 3 reserved octets, timestamp, 8-octet hash.
    assert len(data) == 24 and data[:8] == client and data[8] == 1 and data[9:12] == b"\0\0\0"
    assert abs(struct.unpack("!I", data[12:16])[0] - time.time()) < 60
    second = ask(canon, "127.0.0.1", options=[cookie_option(data)])
    assert second.rcode() == dns.rcode.NOERROR and cookie_of(second)[:8] == client
    # RFC 7873 §5.2.4: a server cookie that is not ours gets a fresh one, not BADCOOKIE.
    bad = client + bytes([1, 0, 0, 0]) + data[12:16] + bytes(8)
    third = ask(canon, "127.0.0.1", options=[cookie_option(bad)])
    assert third.rcode() == dns.rcode.NOERROR and len(cookie_of(third)) == 24
    assert cookie_of(third)[16:] != bytes(8)
    # §5.2.2: a malformed COOKIE (client cookie not 8 octets) is FORMERR.
    malformed = ask(canon, "127.0.0.1", options=[cookie_option(b"12345")])
    assert malformed.rcode() == dns.rcode.FORMERR
    # §5.4 (and RFC 9619): no question and a COOKIE asks for a server cookie: NOERROR,
    # as nsd answers; without the COOKIE no question stays FORMERR.
    request = dns.message.Message()
    request.use_edns(0, options=[cookie_option(client)])
    r = dns.query.udp(request, canon.addr, port=canon.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR and not r.question and not r.answer
    assert cookie_of(r)[:8] == client and len(cookie_of(r)) == 24
    request = dns.message.Message()
    request.use_edns(0)
    r = dns.query.udp(request, canon.addr, port=canon.port, timeout=2)
    assert r.rcode() == dns.rcode.FORMERR


def test_valid_server_cookie_is_exempt_from_rate_limit(tmp_path, zone, track):
    """The second query's server cookie is valid: it passes a limit that drops
    the same client without one. A restart with the same cookie-secret still
    accepts it (RFC 7873 §7.1: the secret, not the process, makes cookies)."""
    args = ["--rate-limit", "5", "--rate-limit-slip", "0", "--cookie-secret", SECRET]
    canon = track(start(tmp_path, zone, *args))
    client = bytes.fromhex("1112131415161718")
    data = cookie_of(ask(canon, "127.0.1.7", options=[cookie_option(client)]))
    wait_next_second()
    plain = flood(canon, "127.0.1.7", 30)
    assert len(plain) <= 10
    with_cookie = flood(canon, "127.0.1.7", 30, options=[cookie_option(data)])
    assert len(with_cookie) == 30
    canon.stop()
    again = track(conftest.start_canon(tmp_path, {ORIGIN: zone}, extra_args=args))
    wait_next_second()
    assert len(flood(again, "127.0.1.7", 30, options=[cookie_option(data)])) == 30


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_cookie_with_real_clients(tmp_path, zone, track, tool):
    """dig and kdig send a client cookie, get ours back, and send it again."""
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} not installed")
    canon = track(start(tmp_path, zone, "--rate-limit", "3", "--rate-limit-slip", "0"))

    def run(*extra):
        tries = ["+tries=1"] if tool == "dig" else ["+retry=0"]
        return subprocess.run([exe, "@127.0.0.1", "-p", str(canon.port), "-b", "127.0.1.9",
                               "+norec", "+timeout=1", *tries, *extra, "www." + ORIGIN, "A"],
                              capture_output=True, text=True, timeout=10).stdout

    first = run("+cookie")
    line = [x for x in first.splitlines() if "COOKIE:" in x]
    assert line, first
    value = line[0].split("COOKIE:")[1].split()[0]
    assert len(value) == 48 and value[16:18] == "01"  # client + RFC 9018 server cookie
    if tool == "dig":
        assert "(good)" in line[0]
    wait_next_second()
    flood(canon, "127.0.1.9", 20, wait=0.2)  # the network is over its limit now
    second = run(f"+cookie={value}")
    assert "status: NOERROR" in second, second
    assert "192.0.2.2" in second
    wait_next_second()
    flood(canon, "127.0.1.9", 20, wait=0.2)
    third = run("+nocookie")
    assert "status: NOERROR" not in third  # dropped: no valid cookie



@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_real_clients_retry_a_badcookie_slip(tmp_path, zone, track, tool):
    """Over the limit, a fresh client cookie is slipped as BADCOOKIE with a server
    cookie (RFC 7873 §5.2.3); dig and kdig resend with it, and are answered."""
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} not installed")
    canon = track(start(tmp_path, zone, "--rate-limit", "3", "--rate-limit-slip", "1"))
    wait_next_second()
    flood(canon, "127.0.1.10", 20, wait=0.2)  # the network is over its limit now
    tries = ["+tries=1"] if tool == "dig" else ["+retry=0"]
    out = subprocess.run([exe, "@127.0.0.1", "-p", str(canon.port), "-b", "127.0.1.10",
                          "+norec", "+timeout=1", *tries, "+cookie", "www." + ORIGIN, "A"],
                         capture_output=True, text=True, timeout=10).stdout
    assert "BADCOOKIE" in out, out  # both print the BADCOOKIE before they retry
    assert "status: NOERROR" in out and "192.0.2.2" in out, out


# --- response rate limiting --------------------------------------------------------------------


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as r:
        body = r.read().decode()
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split()
            values[name] = float(value)
    return values


def test_rate_limit_drops_one_network_not_another(tmp_path, zone, track):
    mport = conftest.free_port()
    canon = track(start(tmp_path, zone, "--rate-limit", "10", "--rate-limit-slip", "0",
                        "--rate-limit-exempt", "127.0.3.0/24",
                        "--metrics", f"127.0.0.1:{mport}"))
    wait_next_second()
    limited = flood(canon, "127.0.1.1", FLOOD)
    # 10 a second, and a burst across the turn of a second may get 20.
    assert 10 <= len(limited) <= 20
    assert ask(canon, "127.0.2.1") is not None  # another /24 is still answered
    exempt = flood(canon, "127.0.3.1", FLOOD)
    assert len(exempt) == FLOOD
    # Over TCP every query is answered (a handshake proved the address).
    for _ in range(15):
        assert canon.query("www." + ORIGIN, "A", tcp=True).rcode() == dns.rcode.NOERROR
    m = metrics(mport)
    assert m["canon_rrl_dropped_total"] == FLOOD - len(limited)
    assert m["canon_rrl_slipped_total"] == 0
    # Another kind of answer from the limited network is counted apart (NXDOMAIN).
    assert ask(canon, "127.0.1.1", qname="nothing." + ORIGIN).rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("slip", [1, 2])
def test_slip_sends_truncated_answers(tmp_path, zone, track, slip):
    mport = conftest.free_port()
    canon = track(start(tmp_path, zone, "--rate-limit", "5", "--rate-limit-slip", str(slip),
                        "--metrics", f"127.0.0.1:{mport}"))
    wait_next_second()
    responses = flood(canon, "127.0.1.2", 40)
    full = [r for r in responses if not r.flags & dns.flags.TC]
    truncated = [r for r in responses if r.flags & dns.flags.TC]
    assert 5 <= len(full) <= 10
    assert all(not r.answer and r.question for r in truncated)
    limited = 40 - len(full)
    assert len(truncated) == limited // slip
    m = metrics(mport)
    assert m["canon_rrl_slipped_total"] == len(truncated)
    assert m["canon_rrl_dropped_total"] == limited - len(truncated)


def test_slip_with_a_client_cookie_is_badcookie(tmp_path, zone, track):
    """RFC 7873 §5.2.3 (as BIND does): a limited client that sent a client cookie
    gets BADCOOKIE with a fresh server cookie instead of TC, and its retry with
    that cookie is answered."""
    canon = track(start(tmp_path, zone, "--rate-limit", "5", "--rate-limit-slip", "1"))
    client = bytes.fromhex("3132333435363738")
    wait_next_second()
    responses = flood(canon, "127.0.1.4", 20, options=[cookie_option(client)], wait=0.3)
    assert len(responses) == 20
    full = [r for r in responses if r.rcode() == dns.rcode.NOERROR]
    bad = [r for r in responses if r.rcode() == dns.rcode.BADCOOKIE]
    assert len(full) == 5 and len(bad) == 15
    for r in bad:
        assert not r.answer and not r.flags & dns.flags.TC
        assert cookie_of(r)[:8] == client and len(cookie_of(r)) == 24
    retry = flood(canon, "127.0.1.4", 20, options=[cookie_option(cookie_of(bad[-1]))],
                  wait=0.3)
    assert len(retry) == 20 and all(r.rcode() == dns.rcode.NOERROR and r.answer for r in retry)


def test_rate_limit_settings_are_checked(tmp_path, zone):
    for args, word in ((["--rate-limit", "-1"], "rate-limit"),
                       (["--rate-limit-slip", "1000"], "rate-limit-slip"),
                       (["--rate-limit-exempt", "10.0.0.0/33"], "rate-limit-exempt"),
                       (["--cookie-secret", "abc"], "cookie-secret")):
        p = subprocess.run([conftest.CANON_BIN, "serve", "--listen", "127.0.0.1:1",
                            "--zone", f"{ORIGIN}={zone}", *args],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode != 0 and word in p.stderr, p.stderr
    conf = tmp_path / "canon.conf"
    conf.write_text("rate-limit: many\n")
    p = subprocess.run([conftest.CANON_BIN, "serve", "-c", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and "rate-limit" in p.stderr and "canon.conf" in p.stderr


# --- the same checks against nsd ----------------------------------------------------------------


def test_nsd_same_checks(tmp_path, zone, track):
    """nsd 4 on the same checks, for comparison (docs/config.md, "Compared with nsd").
    Where they differ: nsd answers ANY with one RRset over TCP too (canon: all);
    nsd's RRL rate decays over seconds rather than a fixed window, so a first
    burst of 100 gets about 19 answers through at rrl-ratelimit 10 (canon 10).
    Both answer another /24, both send a cookie, both exempt a valid cookie."""
    nsd = track(refservers.start_nsd(tmp_path, {ORIGIN: zone}, extra=[
        "rrl-ratelimit: 10", "rrl-slip: 0", "rrl-ipv4-prefix-length: 24",
        "answer-cookie: yes", f"cookie-secret: \"{SECRET}\""]))
    udp = nsd.query("big." + ORIGIN, "ANY")
    assert len(udp.answer) == 1
    tcp = nsd.query("big." + ORIGIN, "ANY", tcp=True)
    assert len(tcp.answer) == 1  # canon gives the full set over TCP
    client = bytes.fromhex("0102030405060708")
    data = cookie_of(ask(nsd, "127.0.1.1", options=[cookie_option(client)]))
    assert len(data) == 24 and data[:8] == client and data[8] == 1
    wait_next_second()
    limited = flood(nsd, "127.0.1.1", FLOOD, wait=0.3)
    assert 10 <= len(limited) < FLOOD / 2
    assert ask(nsd, "127.0.2.1") is not None
    assert len(flood(nsd, "127.0.1.1", 30, options=[cookie_option(data)], wait=0.3)) == 30


def test_resolver_answers_cookies(tmp_path, zone, track):
    """canon resolve shares lib/cookie.c: a client cookie gets an RFC 9018 server
    cookie back, which the next query carries; a malformed one is FORMERR."""
    auth = track(start(tmp_path, zone))
    port = conftest.free_port()
    res = track(conftest.Server(
        [conftest.CANON_BIN, "resolve", "--listen", f"127.0.0.1:{port}",
         "--forward", f"127.0.0.1:{auth.port}"],
        "127.0.0.1", port, str(tmp_path / "resolve.log")))
    assert conftest.wait_for_dns("127.0.0.1", port, qname=ORIGIN)
    client = bytes.fromhex("2122232425262728")

    def ask_resolver(data):
        q = dns.message.make_query("www." + ORIGIN, "A", use_edns=0,
                                   options=[cookie_option(data)])
        return dns.query.udp(q, res.addr, port=res.port, timeout=3)

    first = ask_resolver(client)
    data = cookie_of(first)
    assert first.rcode() == dns.rcode.NOERROR and first.answer
    assert len(data) == 24 and data[:8] == client and data[8] == 1
    second = ask_resolver(data)
    assert second.rcode() == dns.rcode.NOERROR and cookie_of(second)[:8] == client
    assert ask_resolver(b"123").rcode() == dns.rcode.FORMERR


def test_tcp_evictions_are_counted_and_logged_once(tmp_path, zone, track):
    """When tcp-max-clients is full a new connection evicts the idlest one
    (test_tcp_limits.py); each eviction counts in canon_tcp_evicted_total and
    the worker says so in the log at most once a minute, not once each."""
    mport = conftest.free_port()
    canon = track(start(tmp_path, zone, "--tcp-max-clients", "4", "--metrics",
                        f"127.0.0.1:{mport}"))
    socks = []
    try:
        for i in range(10):
            # One address each: the per-address cap (a quarter of 4: one) never applies.
            socks.append(socket.create_connection((canon.addr, canon.port), timeout=2,
                                                  source_address=(f"127.0.4.{i + 1}", 0)))
            time.sleep(0.05)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and metrics(mport)["canon_tcp_evicted_total"] < 6:
            time.sleep(0.1)
        assert metrics(mport)["canon_tcp_evicted_total"] == 6
        lines = [x for x in canon.logtext().splitlines() if "TCP slots taken" in x]
        assert len(lines) == 1, lines
        assert "tcp-max-clients" in lines[0]
        # The newest connection is served.
        q = dns.message.make_query("www." + ORIGIN, "A")
        wire = q.to_wire()
        socks[-1].sendall(struct.pack("!H", len(wire)) + wire)
        length = struct.unpack("!H", socks[-1].recv(2))[0]
        data = b""
        while len(data) < length:
            data += socks[-1].recv(length - len(data))
        assert dns.message.from_wire(data).rcode() == dns.rcode.NOERROR
    finally:
        for s in socks:
            s.close()
