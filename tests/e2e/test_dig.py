"""`canon dig` against the real dig, both asking the same knotd.

knotd serves two small zones written into the module's tmp dir. For each case
both clients are run with the same arguments and their outputs are parsed:
header (opcode, status), flags, section counts, the EDNS line and every
section as a set of record lines with whitespace normalised. Cases listed in
EXACT must also match dig byte for byte (tab layout included) apart from the
message ID, the times and the version banner.

+chain has no dig counterpart: its hops are checked against the zone.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_dig.py
"""
import re
import socket
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import conftest
import refservers

RUN_TIMEOUT = 20  # seconds for any one client run

EXAMPLE_ZONE = """\
$ORIGIN example.test.
$TTL 3600
@               SOA     ns1 hostmaster 2026112301 7200 3600 1209600 300
@               NS      ns1
@               A       192.0.2.1
@               AAAA    2001:db8::1
@               MX      10 mail
@               TXT     "v=spf1 mx -all"
ns1             A       192.0.2.53
mail            A       192.0.2.25
; A two-hop chain whose smallest TTL is the middle hop's.
shop    3600    CNAME   www
www     120     CNAME   @
; A loop, and a chain ending in a name that does not exist.
loop1           CNAME   loop2
loop2           CNAME   loop1
dead    900     CNAME   nothere
; A chain ending in a name without the asked type (NODATA).
nodata          CNAME   mail
; DNAME (RFC 6672): everything below old. moves to new.
old     1800    DNAME   new
www.new 600     A       192.0.2.90
; An alias into another zone on the same server, and one to nowhere we serve.
cross           CNAME   host.other.test.
away            CNAME   host.elsewhere.example.
; A delegation.
sub             NS      ns.sub
ns.sub          A       192.0.2.99
; An empty non-terminal.
x.y             TXT     "below y"
; Four TXT records of 160 octets: more than 512 octets in all (TC over UDP).
big     TXT     "{big}1"
big     TXT     "{big}2"
big     TXT     "{big}3"
big     TXT     "{big}4"
""".format(big="a" * 159)

OTHER_ZONE = """\
$ORIGIN other.test.
$TTL 3600
@               SOA     ns1 hostmaster 1 7200 3600 1209600 60
@               NS      ns1
ns1             A       192.0.2.53
host    240     A       192.0.2.7
"""


@pytest.fixture(scope="module")
def knot(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dig")
    zones = {}
    for origin, text in (("example.test.", EXAMPLE_ZONE), ("other.test.", OTHER_ZONE)):
        path = tmp / f"{origin}zone"
        path.write_text(text)
        zones[origin] = str(path)
    server = refservers.start_knotd(tmp, zones)
    yield server
    server.stop()


def run(argv, timeout=RUN_TIMEOUT):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def canon_dig(*args):
    return run([conftest.CANON_BIN, "dig", *args])


def real_dig(*args):
    return run([conftest.need_tool("dig"), *args])


def at(server):
    return [f"@{server.addr}", "-p", str(server.port)]


SECTION_RE = re.compile(r"^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:$")
HEADER_RE = re.compile(r"^;; ->>HEADER<<- opcode: (\S+), status: (\S+), id: \d+$")
FLAGS_RE = re.compile(
    r"^;; flags:([^;]*); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)$"
)


def parse(text):
    """dig output -> dict of the parts that must agree between clients."""
    out = {"sections": {}, "edns": [], "notes": [], "server": None}
    section = None
    for line in text.splitlines():
        if m := HEADER_RE.match(line):
            out["opcode"], out["status"] = m.groups()
        elif m := FLAGS_RE.match(line):
            out["flags"] = set(m.group(1).split())
            out["counts"] = tuple(int(x) for x in m.groups()[1:])
        elif m := SECTION_RE.match(line):
            section = out["sections"].setdefault(m.group(1), set())
        elif line == "":
            section = None
        elif section is not None:
            section.add(" ".join(line.split()))
        elif line.startswith("; EDNS:") or line.startswith("; EDE:"):
            out["edns"].append(line)
        elif line.startswith(";; SERVER:"):
            out["server"] = line
        elif line.startswith(";; WARNING") or line.startswith(";; Truncated"):
            out["notes"].append(line)
    return out


def normalise(text):
    """Whole output with the parts that differ run to run masked."""
    text = re.sub(r"^; <<>> .*$", "; <<>> DIG", text, flags=re.M)
    text = re.sub(r"id: \d+", "id: ID", text)
    text = re.sub(r";; Query time: \d+ msec", ";; Query time: T", text)
    return re.sub(r";; WHEN: .*", ";; WHEN: W", text)


def both(server, *args):
    """Run dig and canon dig with the same arguments; both must succeed."""
    ref = real_dig(*at(server), *args)
    got = canon_dig(*at(server), *args)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    assert got.returncode == 0, got.stdout + got.stderr
    return ref.stdout, got.stdout


CASES = [
    ("apex-a", ["example.test"]),
    ("apex-mx-additional", ["example.test", "MX"]),
    ("txt", ["-t", "TXT", "example.test"]),
    ("soa", ["example.test", "SOA", "+norecurse"]),
    ("aaaa", ["example.test", "AAAA", "+dnssec"]),
    ("chain", ["shop.example.test"]),
    ("loop", ["loop1.example.test"]),
    ("nxdomain", ["nx.example.test"]),
    ("chain-nxdomain", ["dead.example.test"]),
    ("nodata", ["mail.example.test", "AAAA"]),
    ("ent-nodata", ["y.example.test"]),
    ("dname", ["a.old.example.test"]),
    ("dname-answer", ["www.old.example.test"]),
    ("referral", ["www.sub.example.test", "+norec"]),
    ("out-of-zone-refused", ["-x", "192.0.2.1"]),
    ("noedns", ["example.test", "+noedns"]),
    ("bufsize", ["example.test", "+bufsize=4096"]),
    ("class-ch-refused", ["example.test", "-c", "CH"]),
    ("tcp", ["example.test", "MX", "+tcp"]),
    ("any-over-tcp", ["example.test", "ANY"]),
    ("badvers-retry", ["example.test", "+edns=1"]),
    ("badvers-shown", ["example.test", "+edns=1", "+noednsnegotiation"]),
    ("truncated-edns", ["big.example.test", "TXT", "+bufsize=512"]),
    ("truncated-noedns", ["big.example.test", "TXT", "+noedns"]),
    ("truncated-ignored", ["big.example.test", "TXT", "+noedns", "+ignore"]),
]


@pytest.mark.parametrize("args", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_same_records_as_dig(knot, args):
    ref, got = both(knot, *args)
    r, g = parse(ref), parse(got)
    for key in ("opcode", "status", "flags", "counts", "edns", "sections", "notes", "server"):
        assert g.get(key) == r.get(key), f"{key} differs\n--- dig\n{ref}\n--- canon\n{got}"


@pytest.mark.parametrize("args", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_same_layout_as_dig(knot, args):
    ref, got = both(knot, *args)
    assert normalise(got) == normalise(ref)


SHORT_CASES = [
    ["example.test"],
    ["shop.example.test"],
    ["example.test", "MX"],
    ["example.test", "TXT"],
    ["a.old.example.test"],
    ["nx.example.test"],
    ["big.example.test", "TXT", "+bufsize=512"],
    ["example.test", "+edns=1"],
]


@pytest.mark.parametrize("args", SHORT_CASES, ids=lambda a: "-".join(a))
def test_short_identical_to_dig(knot, args):
    ref, got = both(knot, "+short", *args)
    assert got == ref


def test_tcp_is_used(knot):
    _, got = both(knot, "example.test", "+tcp")
    assert parse(got)["server"].endswith("(TCP)")
    _, got = both(knot, "example.test")
    assert parse(got)["server"].endswith("(UDP)")


def test_truncated_reply_retried_over_tcp(knot):
    _, got = both(knot, "big.example.test", "TXT", "+noedns")
    p = parse(got)
    assert p["notes"][0] == ";; Truncated, retrying in TCP mode."
    assert p["server"].endswith("(TCP)")
    assert "tc" not in p["flags"]
    assert len(p["sections"]["ANSWER"]) == 4


class Silent:
    """A UDP socket and a TCP listener on one port that never answer."""

    def __init__(self):
        self.port = conftest.free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(4)

    def close(self):
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def silent():
    s = Silent()
    yield s
    s.close()


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_timeout_exits_9(silent, transport):
    start = time.monotonic()
    got = canon_dig("@127.0.0.1", "-p", str(silent.port), "example.test", transport,
                    "+timeout=1", "+tries=2")
    elapsed = time.monotonic() - start
    assert got.returncode == 9, got.stdout + got.stderr
    assert 1.5 < elapsed < 6
    errors = [l for l in got.stdout.splitlines() if l.startswith(";; communications error")]
    assert errors == [f";; communications error to 127.0.0.1#{silent.port}: timed out"] * 2
    assert got.stdout.rstrip().endswith(";; no servers could be reached")


def test_timeout_matches_dig(silent):
    args = ["@127.0.0.1", "-p", str(silent.port), "example.test", "+timeout=1", "+tries=1"]
    ref, got = real_dig(*args), canon_dig(*args)
    assert got.returncode == ref.returncode == 9
    assert normalise(got.stdout) == normalise(ref.stdout)


def test_connection_refused_exits_9():
    port = conftest.free_port()  # nothing listens there
    args = ["@127.0.0.1", "-p", str(port), "example.test", "+timeout=1", "+tries=1"]
    ref, got = real_dig(*args), canon_dig(*args)
    assert got.returncode == ref.returncode == 9
    assert normalise(got.stdout) == normalise(ref.stdout)
    assert "connection refused" in got.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["+frobnicate", "example.test"],
        ["-t", "BOGUS", "example.test"],
        ["-p", "99999", "example.test"],
        ["-p", "x", "example.test"],
        ["+bufsize=abc", "example.test"],
        ["+bufsize=70000", "example.test"],
        ["+timeout=-1", "example.test"],
        ["+tries", "example.test"],
        ["+tcp=1", "example.test"],
        ["-q"],
        ["-z", "example.test"],
        ["a..b.test"],
        ["-x", "not-an-address"],
        ["example.test", "AXFR"],
        ["@", "example.test"],
    ],
    ids=lambda a: " ".join(a),
)
def test_bad_arguments_exit_1(args):
    got = canon_dig("@127.0.0.1", "-p", "9", *args)
    assert got.returncode == 1
    assert got.stderr.startswith("canon dig: ")
    assert got.stdout == ""


def test_help_and_version():
    got = canon_dig("-h")
    assert got.returncode == 0 and "+[no]chain" in got.stdout
    got = canon_dig("-v")
    assert got.returncode == 0 and got.stdout.startswith("canon dig ")


def test_unresolvable_server_exits_10():
    got = canon_dig("@no-such-host.invalid", "example.test")
    assert got.returncode == 10
    assert "couldn't get address for 'no-such-host.invalid'" in got.stderr


def test_id_mismatch_is_skipped():
    """A liar answers first with a wrong ID, then correctly (RFC 5452 §9.1)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)

    def serve():
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            return
        query = dns.message.from_wire(data)
        reply = dns.message.make_response(query)
        reply.set_rcode(dns.rcode.NXDOMAIN)
        wrong = dns.message.make_response(query)
        wrong.id = (query.id + 1) & 0xFFFF
        sock.sendto(wrong.to_wire(), peer)
        sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        got = canon_dig("@127.0.0.1", "-p", str(sock.getsockname()[1]), "example.test",
                        "+timeout=2", "+tries=1")
    finally:
        thread.join(timeout=5)
        sock.close()
    assert got.returncode == 0, got.stdout
    assert ";; Warning: ID mismatch: expected ID" in got.stdout
    assert parse(got.stdout)["status"] == "NXDOMAIN"


# +chain ---------------------------------------------------------------------

CHAIN_LINE_RE = re.compile(r"^;;\s+(\S+)\s+(\S+)\s+(.*)$")
CHAIN_END_RE = re.compile(r"^;; CHAIN END: (\d+) hops?, (\S+), effective TTL (\S+)$")


def chain(server, *args):
    """Run canon dig +chain; return (head, steps, (hops, status, ttl))."""
    got = canon_dig(*at(server), "+chain", *args)
    assert got.returncode == 0, got.stdout + got.stderr
    lines = got.stdout.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(";; CHAIN: "))
    end = next(i for i, l in enumerate(lines) if l.startswith(";; CHAIN END: "))
    steps = []
    for line in lines[start + 1 : end]:
        mark, owner, rest = CHAIN_LINE_RE.match(line).groups()
        steps.append((mark, owner, " ".join(rest.split())))
    m = CHAIN_END_RE.match(lines[end])
    assert m, lines[end]
    return lines[start], steps, (int(m.group(1)), m.group(2), m.group(3))


def test_chain_two_hops(knot):
    head, steps, end = chain(knot, "shop.example.test")
    assert head == ";; CHAIN: shop.example.test. A"
    assert steps == [
        ("1", "shop.example.test.", "3600 CNAME www.example.test."),
        ("2", "www.example.test.", "120 CNAME example.test."),
        ("=", "example.test.", "3600 A 192.0.2.1"),
    ]
    assert end == (2, "ANSWER", "120")


def test_chain_hops_are_the_answer_records(knot):
    """Every hop printed is a record of dig's own ANSWER section."""
    ref = parse(real_dig(*at(knot), "shop.example.test").stdout)["sections"]["ANSWER"]
    _, steps, _ = chain(knot, "shop.example.test")
    for _, owner, rest in steps:
        ttl, rtype, data = rest.split(" ", 2)
        assert f"{owner} {ttl} IN {rtype} {data}" in ref


def test_chain_loop(knot):
    _, steps, end = chain(knot, "loop1.example.test")
    assert steps == [
        ("1", "loop1.example.test.", "3600 CNAME loop2.example.test."),
        ("2", "loop2.example.test.", "3600 CNAME loop1.example.test."),
        ("!", "loop1.example.test.", "LOOP (back to hop 1)"),
    ]
    assert end == (2, "LOOP", "3600")


def test_chain_nxdomain_end(knot):
    _, steps, end = chain(knot, "dead.example.test")
    assert steps == [
        ("1", "dead.example.test.", "900 CNAME nothere.example.test."),
        ("!", "nothere.example.test.", "NXDOMAIN (negative TTL 300)"),
    ]
    # RFC 2308 §5: min(SOA TTL 3600, SOA MINIMUM 300) bounds the chain.
    assert end == (1, "NXDOMAIN", "300")


def test_chain_nodata_end(knot):
    _, steps, end = chain(knot, "nodata.example.test", "AAAA")
    assert steps[-1] == ("!", "mail.example.test.", "NODATA (no AAAA records) (negative TTL 300)")
    assert end == (1, "NODATA", "300")


def test_chain_dname_shows_synthesized_cname(knot):
    _, steps, end = chain(knot, "www.old.example.test")
    assert steps == [
        (
            "1",
            "www.old.example.test.",
            "1800 DNAME www.new.example.test. (old.example.test. DNAME new.example.test.)",
        ),
        ("=", "www.new.example.test.", "600 A 192.0.2.90"),
    ]
    assert end == (1, "ANSWER", "600")


def test_chain_requery_into_other_zone(knot):
    """knotd stops at the zone's edge; the target is asked again at the server."""
    _, steps, end = chain(knot, "cross.example.test")
    assert steps[0] == ("1", "cross.example.test.", "3600 CNAME host.other.test.")
    assert steps[1][:2] == (">", "host.other.test.")
    assert steps[1][2] == f"not in this answer, re-querying 127.0.0.1#{knot.port}"
    assert steps[2:] == [("=", "host.other.test.", "240 A 192.0.2.7")]
    assert end == (1, "ANSWER", "240")


def test_chain_leaving_the_server(knot):
    _, steps, end = chain(knot, "away.example.test")
    assert steps[0] == ("1", "away.example.test.", "3600 CNAME host.elsewhere.example.")
    assert steps[1][0] == ">" and "re-querying 127.0.0.1#" in steps[1][2]
    # knotd is authoritative (no RA): its REFUSED means "not my zones" (issue 13).
    assert steps[2] == (
        "!",
        "host.elsewhere.example.",
        "LEFT (outside this server's zones: it answered REFUSED)",
    )
    assert end == (1, "LEFT", "3600")


def test_chain_referral_is_left(knot):
    _, steps, end = chain(knot, "www.sub.example.test", "+norecurse")
    assert steps == [
        (
            "!",
            "www.sub.example.test.",
            "LEFT (referral to sub.example.test.; not answered by this server)",
        )
    ]
    assert end == (0, "LEFT", "none")


def test_chain_with_short(knot):
    ref, _ = both(knot, "+short", "shop.example.test")
    got = canon_dig(*at(knot), "+short", "+chain", "shop.example.test")
    assert got.returncode == 0
    assert got.stdout.startswith(ref)
    assert got.stdout[len(ref) :].startswith(";; CHAIN: shop.example.test. A\n")


def test_chain_after_full_output(knot):
    ref, _ = both(knot, "shop.example.test")
    got = canon_dig(*at(knot), "+chain", "shop.example.test")
    assert normalise(got.stdout).startswith(normalise(ref).replace(" +chain", ""))
