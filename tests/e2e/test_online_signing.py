"""Online signing (issue 12, part 2; docs/dnssec.md): a zone with dnssec=online
gets a key at first start (kept in state-dir/keys), DNSKEY/CDS/CDNSKEY at the
apex, RRSIGs made at answer time for every RRset an answer holds (CNAME hops,
DNAME, wildcard expansions, flattened ALIAS addresses, records added by
UPDATE) and compact denial (RFC 9824) for negative answers.

Two validators judge the answers, given the zone's DNSKEY (read from the
server) as trust anchor: delv ("fully validated") and unbound (the AD bit),
both on loopback. A tampered signature (a proxy flips one octet of every
RRSIG) and a trust anchor for another key must fail validation, while the
same proxy untouched passes: the failure is the signature's, not the path's.

The ALIAS target is served by a second canon, the first one's upstream.
Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_online_signing.py
"""
import os
import socket
import stat
import subprocess
import threading

import dns.dnssec
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import conftest

ORIGIN = "online.test."
TARGET_ORIGIN = "target.test."
KEY = ("k1.", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0")
TIMEOUT = 5.0
NXNAME = 128  # RFC 9824 §3.2

ZONE = """$TTL 300
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.10
www AAAA 2001:db8::10
c1 CNAME c2
c2 CNAME www
old DNAME new
x.new A 192.0.2.20
*.wild A 192.0.2.30
a.ent A 192.0.2.60
mx MX 10 www
al ALIAS host.target.test.
sub NS ns.sub
ns.sub A 192.0.2.53
*.wc CNAME www
dangling CNAME nope
"""
TARGET_ZONE = """$TTL 300
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
ns1 A 127.0.0.1
host A 198.51.100.7
host AAAA 2001:db8::7
"""

# (id, name relative to ORIGIN, type, rcode unbound gives, answer expected)
CASES = [
    ("a", "www", "A", "NOERROR", True),
    ("cname-chain", "c1", "A", "NOERROR", True),
    ("dname", "x.old", "A", "NOERROR", True),
    ("wildcard", "foo.wild", "A", "NOERROR", True),
    ("wildcard-deep", "a.b.wild", "A", "NOERROR", True),
    ("alias-a", "al", "A", "NOERROR", True),
    ("alias-aaaa", "al", "AAAA", "NOERROR", True),
    ("dnskey", "@", "DNSKEY", "NOERROR", True),
    ("cds", "@", "CDS", "NOERROR", True),
    ("mx", "mx", "MX", "NOERROR", True),
    ("wildcard-cname", "x.wc", "A", "NOERROR", True),
    ("nxdomain", "nope", "A", "NXDOMAIN", False),
    ("cname-to-nxdomain", "dangling", "A", "NXDOMAIN", False),
    ("nxdomain-below-dname", "y.old", "A", "NXDOMAIN", False),
    ("nodata", "www", "TXT", "NOERROR", False),
    ("nodata-ent", "ent", "A", "NOERROR", False),
    ("nodata-wildcard", "foo.wild", "AAAA", "NOERROR", False),
    ("nodata-alias", "al", "TXT", "NOERROR", False),
    ("ds-absent", "sub", "DS", "NOERROR", False),
]


def fqdn(rel):
    return ORIGIN if rel == "@" else f"{rel}.{ORIGIN}"


def ask(server, qname, qtype, do=True, tcp=True):
    msg = dns.message.make_query(qname, qtype, want_dnssec=do, use_edns=0, payload=4096)
    msg.flags &= ~dns.flags.RD
    send = dns.query.tcp if tcp else dns.query.udp
    return send(msg, server.addr, port=server.port, timeout=TIMEOUT)


def start_online(tmp, state, port_upstream, name="signer"):
    """canon serving ORIGIN with dnssec=online (and update= for nsupdate)."""
    workdir = tmp / name
    workdir.mkdir(exist_ok=True)
    zone = workdir / "online.zone"
    zone.write_text(ZONE)
    port = conftest.free_port()
    # --key before --zone: update= names it.
    argv = [conftest.CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1",
            "--state-dir", str(state), "--key", ":".join(KEY),
            "--upstream", f"127.0.0.1:{port_upstream}",
            "--zone", f"{ORIGIN}={zone},dnssec=online,update={KEY[0]}"]
    server = conftest.Server(argv, "127.0.0.1", port, str(workdir / f"canon-{port}.log"))
    if not conftest.wait_for_dns("127.0.0.1", port, qname=ORIGIN):
        server.stop()
        raise RuntimeError("canon serve did not answer:\n" + open(server.logpath).read())
    return server


def dnskey_of(server):
    resp = ask(server, ORIGIN, "DNSKEY", do=False)
    rrset = resp.find_rrset(resp.answer, dns.name.from_text(ORIGIN), dns.rdataclass.IN,
                            dns.rdatatype.DNSKEY)
    assert len(rrset) == 1
    return rrset[0]


def write_anchor(path, key):
    text = key.to_text().split()
    with open(path, "w") as f:
        f.write(f'trust-anchors {{ {ORIGIN} static-key {text[0]} {text[1]} {text[2]} '
                f'"{"".join(text[3:])}"; }};\n')
    return str(path)


class Unbound:
    """unbound validating ORIGIN from a stub server, with 'key' as trust anchor."""

    def __init__(self, workdir, stub_port, key):
        os.makedirs(workdir, exist_ok=True)
        self.port = conftest.free_port()
        self.addr = "127.0.0.1"
        conf = os.path.join(workdir, "unbound.conf")
        lines = [
            "server:",
            f"    interface: 127.0.0.1@{self.port}",
            f"    port: {self.port}",
            "    do-ip6: no",
            "    num-threads: 1",
            '    username: ""',
            '    chroot: ""',
            f'    directory: "{workdir}"',
            f'    pidfile: "{workdir}/unbound.pid"',
            "    use-syslog: no",
            f'    logfile: "{workdir}/unbound.log"',
            "    verbosity: 1",
            "    val-log-level: 2",
            "    do-not-query-localhost: no",
            '    local-zone: "test." nodefault',
            '    module-config: "validator iterator"',
            f'    trust-anchor: "{ORIGIN} DNSKEY {key.to_text()}"',
            "    access-control: 127.0.0.0/8 allow",
            "    discard-timeout: 0",
            "    so-reuseport: no",
            "stub-zone:",
            f'    name: "{ORIGIN}"',
            f"    stub-addr: 127.0.0.1@{stub_port}",
            "remote-control:",
            "    control-enable: no",
        ]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.logpath = os.path.join(workdir, "unbound.log")
        self.server = conftest.Server(["/usr/sbin/unbound", "-d", "-c", conf], self.addr,
                                      self.port, os.path.join(workdir, "unbound.stderr"))
        if not conftest.wait_for_tcp(self.port, timeout=10):
            self.server.stop()
            raise RuntimeError("unbound did not start")

    def resolve(self, qname, qtype):
        msg = dns.message.make_query(qname, qtype, want_dnssec=True, use_edns=0, payload=4096)
        return dns.query.udp(msg, self.addr, port=self.port, timeout=TIMEOUT)

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        self.server.stop()


class Proxy:
    """UDP relay to a server; with tamper set, one octet of every RRSIG's signature flips."""

    def __init__(self, upstream_port, tamper):
        self.upstream_port, self.tamper = upstream_port, tamper
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1"
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def relay(self, wire):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(TIMEOUT)
            s.sendto(wire, ("127.0.0.1", self.upstream_port))
            answer = s.recv(65535)
        if not self.tamper:
            return answer
        msg = dns.message.from_wire(answer)
        for section in (msg.answer, msg.authority):
            for rrset in section:
                if rrset.rdtype != dns.rdatatype.RRSIG:
                    continue
                flipped = [rd.replace(signature=bytes([rd.signature[0] ^ 0x01]) + rd.signature[1:])
                           for rd in rrset]
                rrset.clear()
                for rd in flipped:
                    rrset.add(rd)
        return msg.to_wire()

    def run(self):
        while not self.stopping:
            try:
                wire, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            try:
                self.sock.sendto(self.relay(wire), peer)
            except (OSError, dns.exception.DNSException):
                pass

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("online")
    started = []
    try:
        target_zone = tmp / "target.zone"
        target_zone.write_text(TARGET_ZONE)
        upstream = conftest.start_canon(tmp, {TARGET_ORIGIN: str(target_zone)})
        started.append(upstream)
        state = tmp / "state"
        signer = start_online(tmp, state, upstream.port)
        started.append(signer)
        key = dnskey_of(signer)
        anchor = write_anchor(tmp / "anchor", key)
        unbound = Unbound(str(tmp / "unbound"), signer.port, key)
        started.append(unbound)
        yield dict(tmp=tmp, upstream=upstream, signer=signer, state=state, key=key,
                   anchor=anchor, unbound=unbound)
    finally:
        for s in reversed(started):
            s.stop()


def delv(server, anchor, qname, qtype, tcp=True):
    argv = [conftest.need_tool("delv"), f"@{server.addr}", "-p", str(server.port), "-a", anchor,
            f"+root={ORIGIN}", qname, qtype]
    if tcp:
        argv.insert(-2, "+tcp")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_delv_validates(world, case):
    _, rel, qtype, _, _ = case
    out = delv(world["signer"], world["anchor"], fqdn(rel), qtype)
    assert "fully validated" in out, out
    assert "resolution failed: failure" not in out, out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_unbound_sets_ad(world, case):
    _, rel, qtype, rcode, answer = case
    resp = world["unbound"].resolve(fqdn(rel), qtype)
    log = world["unbound"].log()
    assert resp.flags & dns.flags.AD, f"{resp}\n{log}"
    # unbound 1.17 keeps compact denial's NOERROR; newer ones may map NXNAME to NXDOMAIN.
    allowed = {"NOERROR", rcode}
    assert dns.rcode.to_text(resp.rcode()) in allowed, str(resp)
    rrsets = [r for r in resp.answer if r.rdtype == dns.rdatatype.from_text(qtype)]
    assert bool(rrsets) == answer, str(resp)


def test_every_answer_rrset_signed(world):
    """Each RRset of the answer has an RRSIG by the zone's key, except the CNAME
    synthesized from the DNAME (RFC 6672 §5.3); wildcard labels per RFC 4035."""
    tag = dns.dnssec.key_id(world["key"])
    resp = ask(world["signer"], fqdn("x.old"), "A")
    covered = {(r.name.to_text(), rd.type_covered) for r in resp.answer
               if r.rdtype == dns.rdatatype.RRSIG for rd in r}
    assert covered == {("old." + ORIGIN, dns.rdatatype.DNAME),
                       ("x.new." + ORIGIN, dns.rdatatype.A)}, str(resp)
    for r in resp.answer:
        for rd in r:
            if r.rdtype == dns.rdatatype.RRSIG:
                assert rd.key_tag == tag and rd.signer.to_text() == ORIGIN
    resp = ask(world["signer"], fqdn("a.b.wild"), "A")
    sigs = [rd for r in resp.answer if r.rdtype == dns.rdatatype.RRSIG for rd in r]
    assert [rd.labels for rd in sigs] == [3], str(resp)  # wild.online.test: '*' not counted
    nsec = [r for r in resp.authority if r.rdtype == dns.rdatatype.NSEC]
    assert len(nsec) == 1, str(resp)  # the cover that no closer name exists (RFC 4035 §3.1.3.3)


def test_compact_denial(world):
    """NXDOMAIN with DO: NOERROR, signed SOA, NSEC at the name listing RRSIG NSEC
    NXNAME, next name \\000.name (RFC 9824 §3); without DO a plain NXDOMAIN."""
    qname = fqdn("nope")
    resp = ask(world["signer"], qname, "A")
    assert resp.rcode() == dns.rcode.NOERROR and not resp.answer
    nsec = [r for r in resp.authority if r.rdtype == dns.rdatatype.NSEC]
    assert len(nsec) == 1 and nsec[0].name.to_text() == qname, str(resp)
    rd = nsec[0][0]
    assert rd.next.to_text() == "\\000." + qname
    types = {t for window, bits in rd.windows for i, b in enumerate(bits) for j in range(8)
             if b & (0x80 >> j) for t in [window * 256 + i * 8 + j]}
    assert types == {dns.rdatatype.RRSIG, dns.rdatatype.NSEC, NXNAME}
    covered = {rd.type_covered for r in resp.authority if r.rdtype == dns.rdatatype.RRSIG
               for rd in r}
    assert covered == {dns.rdatatype.SOA, dns.rdatatype.NSEC}
    plain = ask(world["signer"], qname, "A", do=False)
    assert plain.rcode() == dns.rcode.NXDOMAIN
    assert all(r.rdtype == dns.rdatatype.SOA for r in plain.authority)
    # RFC 9824 §3.5: NXNAME is a meta-type, a query for it is FORMERR (EDE 30).
    for do in (True, False):
        resp = ask(world["signer"], fqdn("www"), NXNAME, do=do)
        assert resp.rcode() == dns.rcode.FORMERR and not resp.answer, str(resp)
    # NODATA: the NSEC lists the types the name has.
    resp = ask(world["signer"], fqdn("www"), "TXT")
    rd = [r for r in resp.authority if r.rdtype == dns.rdatatype.NSEC][0][0]
    types = {t for window, bits in rd.windows for i, b in enumerate(bits) for j in range(8)
             if b & (0x80 >> j) for t in [window * 256 + i * 8 + j]}
    assert types == {dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.RRSIG,
                     dns.rdatatype.NSEC}


def test_without_do_no_rrsig_but_keys(world):
    resp = ask(world["signer"], fqdn("www"), "A", do=False)
    assert all(r.rdtype != dns.rdatatype.RRSIG for r in resp.answer + resp.authority)
    for qtype in ("DNSKEY", "CDS", "CDNSKEY"):
        resp = ask(world["signer"], ORIGIN, qtype, do=False)
        assert [r.rdtype for r in resp.answer] == [dns.rdatatype.from_text(qtype)], str(resp)
    cds = ask(world["signer"], ORIGIN, "CDS", do=False).answer[0][0]
    assert cds.key_tag == dns.dnssec.key_id(world["key"])
    assert cds.digest == dns.dnssec.make_ds(ORIGIN, world["key"], "SHA256").digest


def test_signatures_come_from_the_cache(world):
    """ECDSA signatures differ each time they are made: equal bytes twice mean
    the second answer reused the first one's signature."""
    first = ask(world["signer"], fqdn("mx"), "MX")
    second = ask(world["signer"], fqdn("mx"), "MX", tcp=False)
    sig = [r for r in first.answer if r.rdtype == dns.rdatatype.RRSIG]
    assert sig and sig == [r for r in second.answer if r.rdtype == dns.rdatatype.RRSIG]


def signature_counts(world):
    """(from the cache, made) from `canon ctl stats` (the control socket in state-dir)."""
    p = subprocess.run([conftest.CANON_BIN, "ctl", "-s", str(world["state"] / "canon.sock"),
                        "stats"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    line = [x for x in p.stdout.splitlines() if x.startswith("online signatures:")][0]
    words = line.split()
    return int(words[2]), int(words[6])


def test_cache_counts_hits_and_misses(world):
    """A name asked once is signed (made); asked again, its signature comes from
    the cache: the counters of `canon ctl stats` say which."""
    before = signature_counts(world)
    ask(world["signer"], fqdn("counted.wild"), "A", tcp=False)
    middle = signature_counts(world)
    # Expansions of one wildcard share its signature; the covering NSEC is new.
    assert middle[1] - before[1] == 1, (before, middle)
    for _ in range(3):
        ask(world["signer"], fqdn("counted.wild"), "A", tcp=False)
    after = signature_counts(world)
    assert after[1] == middle[1], (middle, after)
    assert after[0] - middle[0] == 3 * 2, (middle, after)  # the A's and the NSEC's


def nsupdate(server, lines):
    script = f"server {server.addr} {server.port}\nzone {ORIGIN}\n" + "\n".join(lines) + "\nsend\n"
    p = subprocess.run([conftest.need_tool("nsupdate"), "-t", "5", "-y",
                        f"{KEY[1]}:{KEY[0]}:{KEY[2]}"], input=script, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


def test_update_records_validate(world):
    """Records that came by UPDATE are signed as soon as the version is served; a
    changed RRset gets a new signature (the cache keys on the content)."""
    signer = world["signer"]
    before = [r for r in ask(signer, fqdn("www"), "A").answer if r.rdtype == dns.rdatatype.RRSIG]
    nsupdate(signer, [f"update add added.{ORIGIN} 300 A 203.0.113.5",
                      f"update add www.{ORIGIN} 300 A 192.0.2.11"])
    out = delv(signer, world["anchor"], fqdn("added"), "A")
    assert "fully validated" in out and "203.0.113.5" in out, out
    out = delv(signer, world["anchor"], fqdn("www"), "A")
    assert "fully validated" in out and "192.0.2.11" in out, out
    resp = world["unbound"].resolve(fqdn("added"), "A")
    assert resp.flags & dns.flags.AD and resp.answer, str(resp)
    after = [r for r in ask(signer, fqdn("www"), "A").answer if r.rdtype == dns.rdatatype.RRSIG]
    assert before != after


def test_update_cannot_presign_an_online_zone(world):
    """A zone is pre-signed or online, also after an UPDATE: adding a DNSKEY or an
    RRSIG to a dnssec=online zone is REFUSED, and the log says why."""
    signer = world["signer"]
    for record in (f"update add {ORIGIN} 300 DNSKEY 256 3 13 "
                   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
                   f"update add www.{ORIGIN} 300 RRSIG A 13 3 300 20300101000000 20200101000000 "
                   "1 online.test. AAAA"):
        script = (f"server {signer.addr} {signer.port}\nzone {ORIGIN}\n{record}\nsend\n")
        p = subprocess.run([conftest.need_tool("nsupdate"), "-t", "5", "-y",
                            f"{KEY[1]}:{KEY[0]}:{KEY[2]}"], input=script, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode != 0 and "REFUSED" in p.stdout + p.stderr, p.stdout + p.stderr
    assert "already signed" in signer.logtext()
    resp = ask(signer, ORIGIN, "DNSKEY", do=False)
    assert [dns.dnssec.key_id(rd) for r in resp.answer for rd in r] == \
        [dns.dnssec.key_id(world["key"])]


def test_tampered_signature_is_bogus(world):
    """Through a relay the answers validate; with one octet of each signature
    flipped, the same relay's answers are bogus: SERVFAIL from unbound, a
    failure from delv."""
    tmp = world["tmp"]
    honest = Proxy(world["signer"].port, tamper=False)
    liar = Proxy(world["signer"].port, tamper=True)
    resolvers = []
    try:
        for name, proxy in (("honest", honest), ("liar", liar)):
            resolvers.append(Unbound(str(tmp / f"unbound-{name}"), proxy.port, world["key"]))
        ok = resolvers[0].resolve(fqdn("c1"), "A")
        assert ok.flags & dns.flags.AD and ok.rcode() == dns.rcode.NOERROR, str(ok)
        bad = resolvers[1].resolve(fqdn("c1"), "A")
        assert bad.rcode() == dns.rcode.SERVFAIL, str(bad)
        out = delv(honest, world["anchor"], fqdn("www"), "A", tcp=False)
        assert "fully validated" in out, out
        out = delv(liar, world["anchor"], fqdn("www"), "A", tcp=False)
        assert "fully validated" not in out and "resolution failed" in out, out
    finally:
        for r in resolvers:
            r.stop()
        honest.stop()
        liar.stop()


def test_key_persists_and_other_key_is_bogus(world, tmp_path):
    """The key file is made once (mode 0600) and used again after a restart; a
    server with another state-dir has another key, and unbound trusting that
    key finds the first server's answers bogus."""
    state = tmp_path / "state"
    first = start_online(tmp_path, state, world["upstream"].port, "one")
    try:
        key = dnskey_of(first)
    finally:
        first.stop()
    path = state / "keys" / f"{ORIGIN}pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = start_online(tmp_path, state, world["upstream"].port, "two")
    try:
        assert dnskey_of(again) == key
        assert "signing online with key" in again.logtext()
    finally:
        again.stop()
    assert key != world["key"]
    wrong = Unbound(str(tmp_path / "unbound-wrong"), world["signer"].port, key)
    try:
        resp = wrong.resolve(fqdn("www"), "A")
        assert resp.rcode() == dns.rcode.SERVFAIL, str(resp)
    finally:
        wrong.stop()


def test_presigned_zone_with_online_is_refused(tmp_path):
    """A zone may be pre-signed or signed online, not both: said at load."""
    zone = tmp_path / "signed.zone"
    zone.write_text(ZONE + "@ DNSKEY 257 3 13 AAAA\n")
    other = tmp_path / "other.zone"
    other.write_text(TARGET_ZONE)
    (tmp_path / "state").mkdir()
    server = conftest.start_canon(tmp_path, {TARGET_ORIGIN: str(other),
                                             ORIGIN: f"{zone},dnssec=online"},
                                  extra_args=["--state-dir", str(tmp_path / "state")],
                                  wait_qname=TARGET_ORIGIN)
    try:
        resp = ask(server, ORIGIN, "SOA", do=False)
        assert resp.rcode() == dns.rcode.SERVFAIL  # a zone that did not load (zonetable.h)
        log = server.logtext()
        assert "dnssec=online, but" in log and "already signed" in log, log
    finally:
        server.stop()


def test_online_needs_state_dir(tmp_path):
    zone = tmp_path / "z.zone"
    zone.write_text(ZONE)
    p = subprocess.run([conftest.CANON_BIN, "serve", "--listen", f"127.0.0.1:{conftest.free_port()}", "--zone",
                        f"{ORIGIN}={zone},dnssec=online"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode != 0 and "dnssec=online needs state-dir" in p.stderr, p.stderr
    p = subprocess.run([conftest.CANON_BIN, "serve", "--listen", f"127.0.0.1:{conftest.free_port()}", "--zone",
                        f"{ORIGIN}={zone},dnssec=offline"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode != 0 and "dnssec must be online or none" in p.stderr, p.stderr


def test_config_file_zone_line(tmp_path):
    """`zone: ORIGIN FILE dnssec=online` in canon.conf, as --zone does; the key
    goes to the state-dir the file names."""
    zone = tmp_path / "z.zone"
    zone.write_text(ZONE.replace("al ALIAS host.target.test.\n", ""))
    port = conftest.free_port()
    conf = tmp_path / "canon.conf"
    conf.write_text(f"listen: 127.0.0.1:{port}\nworkers: 1\nstate-dir: state\n"
                    f"zone: {ORIGIN} z.zone dnssec=online\n")
    server = conftest.Server([conftest.CANON_BIN, "serve", "-c", str(conf)], "127.0.0.1", port,
                             str(tmp_path / "canon.log"))
    try:
        assert conftest.wait_for_dns("127.0.0.1", port, qname=ORIGIN), server.logtext()
        resp = ask(server, fqdn("www"), "A")
        assert any(r.rdtype == dns.rdatatype.RRSIG for r in resp.answer), str(resp)
        key = dnskey_of(server)
        assert dns.dnssec.key_id(key) == [rd for r in resp.answer
                                          if r.rdtype == dns.rdatatype.RRSIG for rd in r][0].key_tag
        assert (tmp_path / "state" / "keys" / f"{ORIGIN}pem").exists()
    finally:
        server.stop()


def test_reload_turns_online_signing_on_and_off(tmp_path):
    """SIGHUP re-reads the zone lines: dnssec=online added to a served zone
    makes its key and signs from then on; taken away, answers are unsigned."""
    import signal
    import time
    zone = tmp_path / "z.zone"
    zone.write_text(ZONE.replace("al ALIAS host.target.test.\n", ""))
    port = conftest.free_port()
    conf = tmp_path / "canon.conf"

    def write(opts):
        conf.write_text(f"listen: 127.0.0.1:{port}\nworkers: 1\nstate-dir: state\n"
                        f"zone: {ORIGIN} z.zone {opts}\n")

    def signed():
        resp = ask(server, fqdn("www"), "A")
        return any(r.rdtype == dns.rdatatype.RRSIG for r in resp.answer)

    def wait_for(want):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if signed() == want:
                return True
            time.sleep(0.1)
        return False

    (tmp_path / "state").mkdir()
    write("")
    server = conftest.Server([conftest.CANON_BIN, "serve", "-c", str(conf)], "127.0.0.1", port,
                             str(tmp_path / "canon.log"))
    try:
        assert conftest.wait_for_dns("127.0.0.1", port, qname=ORIGIN), server.logtext()
        assert not signed()
        write("dnssec=online")
        server.proc.send_signal(signal.SIGHUP)
        assert wait_for(True), server.logtext()
        assert (tmp_path / "state" / "keys" / f"{ORIGIN}pem").exists()
        assert dnskey_of(server) is not None
        write("")
        server.proc.send_signal(signal.SIGHUP)
        assert wait_for(False), server.logtext()
    finally:
        server.stop()
