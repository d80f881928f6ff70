"""`canon dig`'s output options, TSIG, NSID, cookies, several queries per run
and +dnssec, each compared with bind9's dig asking the same server (issue 13's
dig part, issue 12 item 4).

Servers:
- canon serve with two zones signed here by dnssec-keygen/dnssec-signzone
  (ECDSA with NSEC; RSA with NSEC3, DS, CDS, CDNSKEY, TLSA, SSHFP) and a TSIG
  key (--key), for the section toggles, +multi, +dnssec and TSIG;
- knotd with an NSID and mod-cookies, and named with a server-id and the
  same TSIG key, for +nsid, +cookie and TSIG against other servers (canon
  serve does not answer cookies).
Both clients get the same arguments; their whole outputs must be identical
once the parts that differ run to run are masked: message ID, query time,
date, version banner, cookie values (random per query) and the TSIG times and
MACs.

+chain has no dig counterpart: its signed markers and its end at a server's
edge are checked against the zone.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_dig_options.py
"""
import base64
import glob
import os
import re
import socket
import subprocess
import threading

import dns.edns
import dns.message
import dns.rcode
import dns.rrset
import pytest

import conftest
import refservers

RUN_TIMEOUT = 20  # seconds for any one client run

SECRET = base64.b64encode(b"canon-dig-tsig-test-secret").decode()
WRONG = base64.b64encode(b"not-the-secret").decode()

EX_ZONE = """$ORIGIN ex.test.
$TTL 3600
@ SOA ns1 hostmaster 2026112301 7200 3600 1209600 300
@ NS ns1
@ A 192.0.2.1
@ MX 10 mail
ns1 A 192.0.2.53
mail A 192.0.2.25
www CNAME @
c1 CNAME www
away CNAME host.elsewhere.example.
old DNAME new
www.new A 192.0.2.90
"""

N3_ZONE = """$ORIGIN n3.test.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 0
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
sub NS ns.sub
ns.sub A 192.0.2.99
sub DS 15263 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
sub2 NS ns.sub
sub2 DS 15263 13 1 0123456789ABCDEF0123456789ABCDEF01234567
_443._tcp.www TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
www SSHFP 4 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
txt TXT "hello world" "second"
"""


def tool(name):
    return conftest.need_tool(name)


def sign(workdir, origin, text, alg, bits, nsec3_args):
    """Sign text with a KSK and a ZSK (and CDS/CDNSKEY of the KSK); returns the file."""
    os.makedirs(workdir, exist_ok=True)
    keys = []
    for flags in (["-f", "KSK"], []):
        size = ["-b", str(bits)] if bits else []
        out = subprocess.run([tool("dnssec-keygen"), "-q", "-K", workdir, "-a", alg, *size,
                              *flags, origin], capture_output=True, text=True, check=True,
                             timeout=60)
        keys.append(os.path.join(workdir, out.stdout.strip()))
    ksk = open(keys[0] + ".key").read()
    ksk_rr = [l for l in ksk.splitlines() if " DNSKEY " in l][0]
    cds = subprocess.run([tool("dnssec-dsfromkey"), "-C", "-2", keys[0] + ".key"],
                         capture_output=True, text=True, check=True, timeout=20).stdout
    unsigned = os.path.join(workdir, origin + "zone")
    with open(unsigned, "w") as f:
        f.write(text)
        for k in keys:
            f.write(f"$INCLUDE {k}.key\n")
        f.write(cds.replace(" DS ", " CDS "))
        f.write(ksk_rr.replace(" DNSKEY ", " CDNSKEY ") + "\n")
    signed = unsigned + ".signed"
    subprocess.run([tool("dnssec-signzone"), "-q", "-K", workdir, "-d", workdir, "-o", origin,
                    "-f", signed, *nsec3_args, unsigned, *[k + ".private" for k in keys]],
                   capture_output=True, text=True, check=True, timeout=60)
    return signed


@pytest.fixture(scope="module")
def canon(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("digopt")
    zones = {
        "ex.test.": sign(str(tmp / "ex"), "ex.test.", EX_ZONE, "ECDSAP256SHA256", 0, []),
        "n3.test.": sign(str(tmp / "n3"), "n3.test.", N3_ZONE, "RSASHA256", 1024,
                         ["-3", "aabbccdd", "-H", "5"]),
    }
    server = conftest.start_canon(tmp, zones, extra_args=["--key", f"tk:hmac-sha256:{SECRET}"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def knot(tmp_path_factory):
    """knotd with an NSID and server cookies (mod-cookies)."""
    tmp = tmp_path_factory.mktemp("digknot")
    zone = tmp / "ex.test.zone"
    zone.write_text(EX_ZONE)
    port = conftest.free_port()
    conf = refservers.write_knotd_conf(str(tmp), [f"127.0.0.1@{port}"], {"ex.test.": str(zone)})
    text = open(conf).read()
    text = text.replace("server:\n", 'server:\n    nsid: "knot-nsid"\n', 1)
    text = text.replace("template:\n  - id: default\n",
                        "mod-cookies:\n  - id: default\n\ntemplate:\n  - id: default\n"
                        "    global-module: mod-cookies/default\n", 1)
    open(conf, "w").write(text)
    server = conftest.Server([tool("knotd"), "-c", conf], "127.0.0.1", port,
                             str(tmp / "knotd.log"))
    if not conftest.wait_for_dns("127.0.0.1", port, qname="ex.test."):
        server.stop()
        raise RuntimeError("knotd did not start:\n" + open(server.logpath).read())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """named with a server-id (NSID), cookies (its default) and the TSIG key."""
    tmp = tmp_path_factory.mktemp("dignamed")
    zone = tmp / "ex.test.zone"
    zone.write_text(EX_ZONE)
    port = conftest.free_port()
    conf = tmp / "named.conf"
    conf.write_text(f"""options {{
    directory "{tmp}"; pid-file "{tmp}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
    recursion no; server-id "named-id"; dnssec-validation no;
}};
key "tk" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
zone "ex.test" {{ type primary; file "{zone}"; }};
""")
    server = conftest.Server([tool("named"), "-g", "-c", str(conf)], "127.0.0.1", port,
                             str(tmp / "named.log"))
    if not conftest.wait_for_dns("127.0.0.1", port, qname="ex.test."):
        server.stop()
        raise RuntimeError("named did not start:\n" + open(server.logpath).read())
    yield server
    server.stop()


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)


def at(server):
    return [f"@{server.addr}", "-p", str(server.port)]


def canon_dig(*args):
    return run([conftest.CANON_BIN, "dig", *args])


def real_dig(*args):
    return run([tool("dig"), *args])


MASKS = [
    (r"^; <<>> .*$", "; <<>> DIG"),
    (r"id: \d+", "id: ID"),
    (r";; Query time: \d+ msec", ";; Query time: T"),
    (r";; WHEN: .*", ";; WHEN: W"),
    (r" in \d+ ms\.", " in T ms."),
    (r"COOKIE: [0-9a-f]+", "COOKIE: C"),
    # TSIG: time signed, MAC and original ID (RFC 8945 §4.2) change per query.
    (r"(TSIG\s+hmac-\S+) \d+ 300 (\d+) (\(\n\s+)?\S+ ", r"\1 T 300 \2 \3MAC "),
    (r"(TSIG\s+hmac-\S+) \d+ 300 0 ", r"\1 T 300 0 "),
    (r"(MAC(?: \))?|300 0) \d+ (NOERROR|BADSIG|BADKEY|BADTIME)", r"\1 ID \2"),
]


def normalise(text):
    for pattern, repl in MASKS:
        text = re.sub(pattern, repl, text, flags=re.M)
    return text


def both(server, *args):
    ref = real_dig(*at(server), *args)
    got = canon_dig(*at(server), *args)
    return ref, got


def assert_same(server, *args):
    ref, got = both(server, *args)
    assert got.returncode == ref.returncode, got.stdout + got.stderr
    assert normalise(got.stdout) == normalise(ref.stdout), (
        f"--- dig\n{ref.stdout}\n--- canon\n{got.stdout}")
    assert normalise(got.stderr) == normalise(ref.stderr)
    return got


# Section toggles, in the order dig applies them ------------------------------

TOGGLES = [
    ["+noall", "+answer"],
    ["+noall"],
    ["+all"],
    ["+nocomments"],
    ["+nostats"],
    ["+noquestion"],
    ["+noanswer"],
    ["+noauthority"],
    ["+noadditional"],
    ["+nocmd"],
    ["+noall", "+comments"],
    ["+noall", "+stats"],
    ["+noall", "+question"],
    ["+noall", "+cmd"],
    ["+noall", "+authority", "+additional"],
    ["+answer", "+noall"],  # the last one wins
    ["+noall", "+answer", "+all"],
    ["+nocmd", "+noquestion", "+nocomments"],
    ["+short"],
    ["+short", "+identify"],
    ["+short", "+noanswer"],
    ["+short", "+comments"],
    ["+noall", "+answer", "+multi"],
    ["+multi"],
    ["+multi", "+nocomments"],
    ["+noal", "+ans"],  # prefixes, as dig takes them
    ["+noclass"],
    ["+nottlid"],
    ["+noclass", "+nottlid"],
    ["+noclass", "+nottlid", "+multi"],
    ["+nottlid", "+multi"],
    ["+qr"],
    ["+qr", "+nostats"],
    ["+qr", "+nocomments"],
    ["+qr", "+noquestion"],
    ["+qr", "+noall", "+comments"],
    ["+qr", "+short"],
    ["+qr", "+multi", "+dnssec", "+nsid"],
    ["+noadflag"],
]


@pytest.mark.parametrize("opts", TOGGLES, ids=lambda o: " ".join(o))
@pytest.mark.parametrize("query", [["ex.test", "MX"], ["nx.ex.test"], ["c1.ex.test"]],
                         ids=lambda q: " ".join(q))
def test_toggles_like_dig(canon, query, opts):
    assert_same(canon, *query, *opts)


# Several queries in one run, with per-query options --------------------------

MULTI_QUERY = [
    ["ex.test", "A", "www.ex.test", "MX"],
    ["+noall", "ex.test", "+answer", "www.ex.test", "MX", "+answer"],
    ["ex.test", "+short", "www.ex.test"],
    ["+short", "ex.test", "www.ex.test", "+noshort"],
    ["ex.test", "+noall", "+answer", "c1.ex.test", "+nocmd"],
    ["+nocmd", "ex.test", "mail.ex.test", "-t", "TXT"],
    ["MX", "ex.test", "www.ex.test"],
    ["-q", "ex.test", "-q", "mail.ex.test", "+noall", "+answer"],
    ["ex.test", "+dnssec", "+noall", "+answer", "ex.test", "+noall", "+answer"],
    ["+noall", "+answer", "-x", "192.0.2.1", "ex.test", "NS"],
]


@pytest.mark.parametrize("args", MULTI_QUERY, ids=lambda a: " ".join(a))
def test_several_queries_like_dig(canon, args):
    assert_same(canon, *args)


def test_several_queries_each_answered(canon):
    got = canon_dig(*at(canon), "+noall", "+answer", "ex.test", "mail.ex.test", "ns1.ex.test")
    assert got.returncode == 0
    owners = [l.split()[0] for l in got.stdout.splitlines()]
    assert owners == ["ex.test.", "mail.ex.test.", "ns1.ex.test."]


# +dnssec and +multi: DNSSEC records in dig's presentation --------------------

DNSSEC_CASES = [
    ["ex.test", "SOA"],
    ["ex.test", "DNSKEY"],
    ["ex.test", "MX"],
    ["nx.ex.test"],
    ["c1.ex.test"],
    ["www.old.ex.test"],
    ["ex.test", "NSEC"],
    ["n3.test", "DNSKEY"],
    ["n3.test", "CDS"],
    ["n3.test", "CDNSKEY"],
    ["n3.test", "NSEC3PARAM"],
    ["sub.n3.test", "DS"],
    ["sub2.n3.test", "DS"],
    ["nx.n3.test"],
    ["_443._tcp.www.n3.test", "TLSA"],
    ["www.n3.test", "SSHFP"],
    ["txt.n3.test", "TXT"],
    ["www.sub.n3.test", "+norec"],
]


@pytest.mark.parametrize("style", [[], ["+multi"], ["+short"], ["+split=12"], ["+nosplit"]],
                         ids=lambda s: " ".join(s) or "oneline")
@pytest.mark.parametrize("args", DNSSEC_CASES, ids=lambda a: " ".join(a))
def test_dnssec_like_dig(canon, args, style):
    assert_same(canon, "+dnssec", *args, *style)


def test_dnssec_records_are_there(canon):
    """Not only the same text as dig: the records the issue names are printed."""
    got = canon_dig(*at(canon), "+dnssec", "+noall", "+answer", "+authority", "nx.n3.test")
    types = {l.split()[3] for l in got.stdout.splitlines() if l}
    assert {"SOA", "RRSIG", "NSEC3"} <= types
    got = canon_dig(*at(canon), "+dnssec", "+multi", "+noall", "+answer", "ex.test", "DNSKEY")
    assert re.search(r"\) ; KSK; alg = ECDSAP256SHA256 ; key id = \d+$", got.stdout, re.M)
    assert re.search(r"\) ; ZSK; alg = ECDSAP256SHA256 ; key id = \d+$", got.stdout, re.M)


# TSIG: -y and -k ---------------------------------------------------------------

def test_tsig_good_key_like_dig(canon):
    got = assert_same(canon, "ex.test", "-y", f"hmac-sha256:tk:{SECRET}")
    assert ";; TSIG PSEUDOSECTION:" in got.stdout
    assert "NOERROR 0 \n" in got.stdout
    assert "WARNING -- Some TSIG" not in got.stdout


@pytest.mark.parametrize("opts", [["+nocomments"], ["+multi"], ["+noadditional"], ["+short"],
                                  ["+qr"]],
                         ids=lambda o: " ".join(o))
def test_tsig_layout_like_dig(canon, opts):
    assert_same(canon, "ex.test", "-y", f"hmac-sha256:tk:{SECRET}", *opts)


@pytest.mark.parametrize("key", [f"hmac-sha256:tk:{WRONG}", f"hmac-sha256:other:{SECRET}",
                                 f"tk:{SECRET}"],
                         ids=["wrong-secret", "unknown-key", "default-hmac-md5"])
def test_tsig_refused_like_dig(canon, key):
    got = assert_same(canon, "ex.test", "-y", key)
    assert "status: NOTAUTH" in got.stdout
    assert got.stdout.startswith(";; Couldn't verify signature: tsig indicates error\n")
    assert ";; WARNING -- Some TSIG could not be validated" in got.stdout


def test_tsig_keyfile(canon, tmp_path):
    keyfile = tmp_path / "tk.key"
    keyfile.write_text(f'# made by hand\nkey "tk" {{\n\talgorithm hmac-sha256;\n'
                       f'\tsecret "{SECRET}";\n}};\n')
    got = assert_same(canon, "ex.test", "-k", str(keyfile))
    assert "status: NOERROR" in got.stdout and "TSIG" in got.stdout


def test_tsig_keyfile_from_tsig_keygen(canon, tmp_path):
    """tsig-keygen's output as it comes, with the server's secret put in."""
    generated = run([tool("tsig-keygen"), "-a", "hmac-sha256", "tk"]).stdout
    assert 'secret "' in generated
    keyfile = tmp_path / "gen.key"
    keyfile.write_text(re.sub(r'secret "[^"]+"', f'secret "{SECRET}"', generated))
    got = assert_same(canon, "ex.test", "-k", str(keyfile), "+noall", "+answer")
    assert got.stdout.split()[-1] == "192.0.2.1", got.stdout


@pytest.mark.parametrize("args", [["-y", "tk"], ["-y", "hmac-sha999:tk:" + SECRET],
                                  ["-y", "tk:not base64!"], ["-k", "/nonexistent/key"]],
                         ids=lambda a: " ".join(a))
def test_tsig_bad_arguments(args):
    got = canon_dig("@127.0.0.1", "-p", "9", "ex.test", *args)
    assert got.returncode == 1
    assert got.stderr.startswith("canon dig: ")
    assert got.stdout == ""


def test_tsig_unknown_to_knotd_like_dig(knot):
    """knotd holds no key: NOTAUTH with an unsigned BADKEY TSIG (RFC 8945 §5.2.1)."""
    got = assert_same(knot, "ex.test", "-y", f"hmac-sha256:tk:{SECRET}")
    assert ";; Couldn't verify signature: tsig indicates error\n" in got.stdout
    assert "status: NOTAUTH" in got.stdout


class Unsigner:
    """Answers every query on a UDP port with an empty unsigned NOERROR reply."""

    def __init__(self, count):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.addr, self.port = self.sock.getsockname()
        self.thread = threading.Thread(target=self.serve, args=(count,), daemon=True)
        self.thread.start()

    def serve(self, count):
        for _ in range(count):
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            end = 12
            while data[end] != 0:
                end += data[end] + 1
            question = data[12:end + 5]
            # Same ID, QR AA RD, one question, nothing else: no TSIG.
            header = data[:2] + bytes([0x85, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
            self.sock.sendto(header + question, peer)

    def close(self):
        self.thread.join(timeout=5)
        self.sock.close()


def test_tsig_unsigned_reply_like_dig():
    """A reply to a signed query without a TSIG: dig's 'expected a TSIG or
    SIG(0)' (RFC 8945 §5.4: the answer to a signed request must be signed)."""
    liar = Unsigner(2)
    try:
        got = assert_same(liar, "ex.test", "-y", f"hmac-sha256:tk:{SECRET}", "+tries=1",
                          "+timeout=3")
    finally:
        liar.close()
    assert got.stdout.startswith(";; Couldn't verify signature: expected a TSIG or SIG(0)\n")
    assert ";; WARNING -- Some TSIG could not be validated" in got.stdout


# NSID and cookies, against knotd ---------------------------------------------

@pytest.mark.parametrize("opts", [["+nsid"], ["+nocookie"], ["+nsid", "+nocookie"],
                                  ["+cookie", "+multi"], ["+short", "+identify", "+nsid"],
                                  ["+nsid", "+nocomments"], ["+nsid", "+noall", "+comments"]],
                         ids=lambda o: " ".join(o))
@pytest.mark.parametrize("server", ["knot", "named"])
def test_nsid_cookie_like_dig(request, server, opts):
    assert_same(request.getfixturevalue(server), "ex.test", *opts)


def test_nsid_and_good_cookie_from_named(named):
    got = canon_dig(*at(named), "ex.test", "+nsid")
    lines = got.stdout.splitlines()
    assert '; NSID: 6e 61 6d 65 64 2d 69 64 ("named-id")' in lines
    assert any(l.startswith("; COOKIE: ") and l.endswith(" (good)") for l in lines)


@pytest.mark.parametrize("key", [f"hmac-sha256:tk:{SECRET}", f"hmac-sha256:tk:{WRONG}",
                                 f"hmac-sha256:other:{SECRET}"],
                         ids=["good", "wrong-secret", "unknown-key"])
def test_tsig_against_named_like_dig(named, key):
    got = assert_same(named, "ex.test", "-y", key)
    assert ("status: NOERROR" in got.stdout) == (key.endswith(SECRET) and ":tk:" in key)


def test_nsid_printed(knot):
    got = canon_dig(*at(knot), "ex.test", "+nsid")
    assert '; NSID: 6b 6e 6f 74 2d 6e 73 69 64 ("knot-nsid")' in got.stdout.splitlines()


def test_cookie_good_after_badcookie(knot):
    """mod-cookies answers a lone client cookie with BADCOOKIE and a server
    cookie; dig (and canon dig) ask again with it (RFC 7873 §5.3)."""
    got = canon_dig(*at(knot), "ex.test")
    lines = got.stdout.splitlines()
    cookie = [l for l in lines if l.startswith("; COOKIE: ")]
    assert len(cookie) == 1 and cookie[0].endswith(" (good)"), got.stdout
    assert len(cookie[0].split()[2]) >= 32  # client (16 hex) + server cookie
    assert "status: NOERROR" in got.stdout


class CookieLiar:
    """BADCOOKIE with a server cookie to every UDP query; over TCP (where RFC
    7873 §5.3 lets a client go) an answer. Each reply echoes the client cookie."""

    SERVER_COOKIE = bytes(range(1, 9))

    def __init__(self):
        self.port = conftest.free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(4)
        self.tcp.settimeout(0.2)
        self.addr = "127.0.0.1"
        self.stopping = False
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self.serve_udp, self.serve_tcp)]
        for t in self.threads:
            t.start()

    def reply(self, data, badcookie):
        query = dns.message.from_wire(data)
        client = next(o.data[:8] for o in query.options if o.otype == 10)
        reply = dns.message.make_response(query)
        cookie = dns.edns.GenericOption(10, client + self.SERVER_COOKIE)
        reply.use_edns(0, payload=1232, options=[cookie])
        if badcookie:
            reply.set_rcode(dns.rcode.BADCOOKIE)
        else:
            reply.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A",
                                                    "192.0.2.7"))
        return reply.to_wire()

    def serve_udp(self):
        while not self.stopping:
            try:
                data, peer = self.udp.recvfrom(4096)
            except OSError:
                continue
            self.udp.sendto(self.reply(data, True), peer)

    def serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                length = int.from_bytes(conn.recv(2), "big")
                data = b""
                while len(data) < length:
                    data += conn.recv(length - len(data))
                wire = self.reply(data, False)
                conn.sendall(len(wire).to_bytes(2, "big") + wire)

    def close(self):
        self.stopping = True
        for t in self.threads:
            t.join(timeout=5)
        self.udp.close()
        self.tcp.close()


def test_badcookie_twice_goes_to_tcp_like_dig():
    liar = CookieLiar()
    try:
        got = assert_same(liar, "ex.test", "+tries=1", "+timeout=3")
    finally:
        liar.close()
    assert got.stdout.startswith(";; BADCOOKIE, retrying.\n"
                                 ";; BADCOOKIE, retrying in TCP mode.\n")
    assert "(TCP)" in got.stdout and "192.0.2.7" in got.stdout


def test_nocookie_sends_none(knot):
    got = canon_dig(*at(knot), "ex.test", "+nocookie")
    assert "COOKIE" not in got.stdout and "status: NOERROR" in got.stdout


# +chain with +dnssec, and at the edge of an authoritative server -------------

def chain_lines(text):
    return [" ".join(l.split()) for l in text.splitlines() if l.startswith(";; ")
            and ("CHAIN" in l or re.match(r";;\s+(\d+|=|!|>)\s", l))]


def test_chain_marks_signed_hops(canon):
    got = canon_dig(*at(canon), "c1.ex.test", "+dnssec", "+chain", "+noall")
    assert chain_lines(got.stdout) == [
        ";; CHAIN: c1.ex.test. A",
        ";; 1 c1.ex.test. 3600 CNAME www.ex.test. (signed)",
        ";; 2 www.ex.test. 3600 CNAME ex.test. (signed)",
        ";; = ex.test. 3600 A 192.0.2.1 (signed)",
        ";; CHAIN END: 2 hops, ANSWER, effective TTL 3600, DNSSEC: all signed",
    ]


def test_chain_dname_hop_signed(canon):
    """The DNAME hop is the DNAME's RRset, signed; the synthesized CNAME is not
    a line of its own (RFC 6672 §5.3: it comes unsigned)."""
    got = canon_dig(*at(canon), "www.old.ex.test", "+dnssec", "+chain", "+noall")
    assert chain_lines(got.stdout) == [
        ";; CHAIN: www.old.ex.test. A",
        ";; 1 www.old.ex.test. 3600 DNAME www.new.ex.test. (old.ex.test. DNAME new.ex.test.) "
        "(signed)",
        ";; = www.new.ex.test. 3600 A 192.0.2.90 (signed)",
        ";; CHAIN END: 1 hop, ANSWER, effective TTL 3600, DNSSEC: all signed",
    ]


def test_chain_without_dnssec_has_no_marks(canon):
    got = canon_dig(*at(canon), "c1.ex.test", "+chain", "+noall")
    assert "signed" not in got.stdout
    assert chain_lines(got.stdout)[-1] == ";; CHAIN END: 2 hops, ANSWER, effective TTL 3600"


def test_chain_unsigned_zone_counts_unsigned(knot):
    got = canon_dig(*at(knot), "c1.ex.test", "+dnssec", "+chain", "+noall")
    assert "(signed)" not in got.stdout
    assert chain_lines(got.stdout)[-1] == (
        ";; CHAIN END: 2 hops, ANSWER, effective TTL 3600, DNSSEC: 3 of 3 unsigned")


@pytest.mark.parametrize("server", ["canon", "knot"])
def test_chain_leaving_the_servers_zones(request, server):
    srv = request.getfixturevalue(server)
    got = canon_dig(*at(srv), "away.ex.test", "+chain", "+noall")
    lines = chain_lines(got.stdout)
    assert lines[1] == ";; 1 away.ex.test. 3600 CNAME host.elsewhere.example."
    assert lines[2].startswith(";; > host.elsewhere.example. not in this answer, re-querying")
    assert lines[3] == (";; ! host.elsewhere.example. LEFT "
                        "(outside this server's zones: it answered REFUSED)")
    assert lines[4] == ";; CHAIN END: 1 hop, LEFT, effective TTL 3600"


def test_chain_refused_question_stays_refused(canon):
    """The user's own name outside the server: REFUSED, as the server said."""
    got = canon_dig(*at(canon), "nope.test", "+chain", "+noall")
    assert chain_lines(got.stdout)[-1] == ";; CHAIN END: 0 hops, REFUSED, effective TTL none"


# --help ---------------------------------------------------------------------

def test_help_lists_every_option():
    got = canon_dig("--help")
    assert got.returncode == 0
    for opt in ["+[no]all", "+[no]question", "+[no]answer", "+[no]authority",
                "+[no]additional", "+[no]comments", "+[no]stats", "+[no]cmd", "+[no]short",
                "+[no]identify", "+[no]multiline", "+[no]split", "+[no]nsid", "+[no]cookie",
                "+[no]dnssec", "+[no]chain", "-y [alg:]name:secret", "-k keyfile"]:
        assert opt in got.stdout, opt


def test_man_page_names_every_option_of_the_usage():
    """Each option `canon dig --help` lists is in man/canon-dig.1.in."""
    usage = canon_dig("--help").stdout
    with open(os.path.join(conftest.SOURCE_DIR, "man", "canon-dig.1.in")) as f:
        roff = f.read().replace("\\-", "-").replace("\\fR", "").replace("\\fP", "")
    roff = roff.replace("\\c\n.IR ", "").replace(".BR ", "").replace(".BI ", "")
    options = set(re.findall(r"\+\[no\][a-z]+|\+[a-z]+=|(?<![\w-])-[a-z46]\b|--[a-z]+", usage))
    assert len(options) > 30
    for option in options:
        assert option in roff, f"{option} is not in canon-dig(1)"
