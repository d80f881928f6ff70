"""Pre-signed zones (issue 12, part 1): with DO, canon's answers carry the
RRSIGs of every RRset they hold and the NSEC/NSEC3 proofs of denial (RFC 4035
§3.1, RFC 5155 §7.2); without DO, no DNSSEC record is added.

Each test zone is signed here, in a temporary directory, with dnssec-keygen and
dnssec-signzone (NSEC, NSEC3, and NSEC3 with opt-out, -A) and with ldns-signzone
(NSEC, and NSEC3 with opt-out, -p). knotd and nsd serve
the same signed files; every case's sections are compared with theirs as sets
of RRsets (RRSIGs told apart by the type they cover). Where the references
disagree, the case names the one canon follows and why (docs/answers.md).
delv, given the zone's KSK as trust anchor, must call canon's positive and
negative answers "fully validated".

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_dnssec.py
"""
import json
import os
import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import conftest
import refservers

ORIGIN = "signed.test."
ZONE = """$TTL 3600
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
www AAAA 2001:db8::10
c1 CNAME c2
c2 CNAME www
dn DNAME tgt
x.tgt A 192.0.2.20
*.wild A 192.0.2.30
a.ent A 192.0.2.60
mx MX 10 www
dangling CNAME nope
*.wc CNAME www
secure NS ns.secure
secure DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure A 192.0.2.40
insecure NS ns.insecure
ns.insecure A 192.0.2.50
"""
# The signer and its arguments per flavour: BIND's and ldns's signers.
FLAVOURS = {
    "nsec": ("bind", []),
    "nsec3": ("bind", ["-3", "aabbccdd", "-H", "0"]),
    "nsec3-optout": ("bind", ["-3", "-", "-H", "0", "-A"]),
    "ldns-nsec": ("ldns", []),
    "ldns-nsec3-optout": ("ldns", ["-n", "-p", "-t", "0"]),
}
# (id, qname relative to the origin, qtype, validates with delv)
CASES = [
    ("plain", "www", "A", True),
    ("chain", "c1", "A", True),
    ("dname", "x.dn", "A", True),
    ("wildcard", "a.wild", "A", True),
    ("wildcard-nodata", "a.wild", "TXT", True),
    ("wildcard-cname", "a.wc", "A", True),
    ("chain-to-nxdomain", "dangling", "A", True),
    ("nxdomain", "nx", "A", True),
    ("nxdomain-deep", "a.b.nx", "A", True),
    ("nodata", "www", "TXT", True),
    ("nodata-ent", "ent", "A", True),
    ("mx-additional", "mx", "MX", True),
    ("apex-dnskey", "", "DNSKEY", True),
    ("referral-ds", "h.secure", "A", False),
    ("referral-no-ds", "h.insecure", "A", False),
    ("ds", "secure", "DS", True),
    ("no-ds", "insecure", "DS", True),
    ("any", "www", "ANY", False),
    ("qtype-rrsig", "www", "RRSIG", False),
    ("qtype-nsec", "www", "NSEC", False),
    ("qtype-nsec3param", "", "NSEC3PARAM", False),
]
DNSSEC_TYPES = {dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3}
TIMEOUT = 2.0


def sign(workdir, flavour):
    """The signed zone file and the trust anchor file (delv's syntax) for it."""
    os.makedirs(workdir, exist_ok=True)
    signer, args = FLAVOURS[flavour]
    src = os.path.join(workdir, "zone")
    with open(src, "w") as f:
        f.write(ZONE)
    out = os.path.join(workdir, "signed.zone")
    run = dict(cwd=workdir, capture_output=True, text=True, timeout=60, check=True)
    if signer == "bind":
        keygen = conftest.need_tool("dnssec-keygen")
        ksk = subprocess.run([keygen, "-q", "-K", workdir, "-a", "ECDSAP256SHA256", "-f", "KSK",
                              ORIGIN], **run).stdout.strip()
        subprocess.run([keygen, "-q", "-K", workdir, "-a", "ECDSAP256SHA256", ORIGIN], **run)
        subprocess.run([conftest.need_tool("dnssec-signzone"), "-S", "-K", workdir, "-o", ORIGIN,
                        "-f", out] + args + [src], **run)
    else:
        keygen = conftest.need_tool("ldns-keygen")
        ksk = subprocess.run([keygen, "-a", "ECDSAP256SHA256", "-k", ORIGIN],
                             **run).stdout.strip()
        zsk = subprocess.run([keygen, "-a", "ECDSAP256SHA256", ORIGIN], **run).stdout.strip()
        subprocess.run([conftest.need_tool("ldns-signzone")] + args + ["-o", ORIGIN, "-f", out,
                        src, ksk, zsk], **run)
    with open(os.path.join(workdir, ksk + ".key")) as f:
        key = [line.split(";")[0].split() for line in f if not line.startswith(";")][0]
    # name [ttl] IN DNSKEY flags proto alg key...
    at = key.index("DNSKEY")
    anchor = os.path.join(workdir, "anchor")
    with open(anchor, "w") as f:
        f.write(f'trust-anchors {{ {ORIGIN} static-key {key[at + 1]} {key[at + 2]} '
                f'{key[at + 3]} "{"".join(key[at + 4:])}"; }};\n')
    return out, anchor


@pytest.fixture(scope="module", params=sorted(FLAVOURS))
def servers(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    zone, anchor = sign(str(tmp / "keys"), request.param)
    started = {}
    try:
        started["canon"] = conftest.start_canon(tmp, {ORIGIN: zone})
        started["knotd"] = refservers.start_knotd(tmp, {ORIGIN: zone})
        started["nsd"] = refservers.start_nsd(tmp, {ORIGIN: zone}, minimal_responses=True)
        yield request.param, started, anchor
    finally:
        for s in started.values():
            s.stop()


def ask(server, qname, qtype, do):
    msg = dns.message.make_query(qname, qtype, want_dnssec=do, use_edns=0, payload=4096)
    msg.flags &= ~dns.flags.RD
    return dns.query.tcp(msg, server.addr, port=server.port, timeout=TIMEOUT)


def rrset_key(rrset):
    return (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
            dns.rdatatype.to_text(rrset.covers), rrset.ttl,
            frozenset(rd.to_text().lower() for rd in rrset))


def sections(msg):
    """rcode, AA and each section as a set of RRsets."""
    return (dns.rcode.to_text(msg.rcode()), bool(msg.flags & dns.flags.AA),
            *(frozenset(rrset_key(r) for r in sec)
              for sec in (msg.answer, msg.authority, msg.additional)))


def fqdn(rel):
    return f"{rel}.{ORIGIN}" if rel else ORIGIN


def describe(name, resp):
    return f"--- {name}:\n" + "\n".join(r.to_text() for sec in (resp.answer, resp.authority,
                                                               resp.additional) for r in sec)


# Where knotd and nsd differ, the reference canon follows (see docs/answers.md).
FOLLOW = {
    # nsd runs with minimal-responses (see test_differential.py), which drops
    # the MX target's addresses; knotd adds them with their RRSIGs (RFC 1034
    # §4.3.2 step 6, RFC 4035 §3.1.1), as canon does.
    "mx-additional": "knotd",
    # QTYPE RRSIG: knotd answers the signatures of one type only (as for ANY,
    # RFC 8482); nsd every RRSIG at the name, as canon does (RFC 4035 §3.1.5
    # leaves it open, and the name's RRSIG RRset is what was asked for).
    "qtype-rrsig": "nsd",
}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_with_do_like_references(servers, case):
    flavour, started, _ = servers
    cid, rel, qtype, _ = case
    if cid == "any":
        pytest.skip("ANY: test_any_keeps_every_rrset_signed")
    got = {name: ask(s, fqdn(rel), qtype, True) for name, s in started.items()}
    norm = {name: sections(r) for name, r in got.items()}
    detail = "\n".join(describe(n, r) for n, r in got.items())
    if norm["knotd"] == norm["nsd"]:
        assert norm["canon"] == norm["knotd"], f"{flavour} {cid}: canon differs\n{detail}"
    else:
        ref = FOLLOW.get(cid)
        assert ref, f"{flavour} {cid}: knotd and nsd disagree, say whom to follow\n{detail}"
        assert norm["canon"] == norm[ref], f"{flavour} {cid}: canon differs from {ref}\n{detail}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_without_do_no_dnssec_records(servers, case):
    flavour, started, _ = servers
    cid, rel, qtype, _ = case
    resp = ask(started["canon"], fqdn(rel), qtype, False)
    for sec in (resp.answer, resp.authority, resp.additional):
        for rrset in sec:
            # Asked for by type, they are data (RFC 4035 §3.1: "unless explicitly requested").
            asked = rrset.rdtype == dns.rdatatype.from_text(qtype)
            assert asked or rrset.rdtype not in DNSSEC_TYPES, f"{flavour} {cid}: {rrset}"
    ref = FOLLOW.get(cid, "knotd")
    plain = ask(started[ref], fqdn(rel), qtype, False)
    if cid != "any":
        assert sections(resp) == sections(plain), describe("canon", resp) + describe(ref, plain)


@pytest.mark.parametrize("case", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
def test_delv_validates(servers, case):
    flavour, started, anchor = servers
    cid, rel, qtype, _ = case
    canon = started["canon"]
    delv = conftest.need_tool("delv")
    p = subprocess.run([delv, f"@{canon.addr}", "-p", str(canon.port), "-a", anchor,
                        f"+root={ORIGIN}", "+tcp", fqdn(rel), qtype],
                       capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    if flavour.endswith("nsec3-optout") and cid == "wildcard":
        # RFC 5155 §9.2: the NSEC3 covering the next closer name has the
        # opt-out flag, so an insecure delegation could hide there: the
        # expansion is provably unsigned, not secure (knotd and nsd answer
        # the same sections).
        assert "; unsigned answer" in out, f"{flavour} {cid}:\n{out}"
        return
    assert "fully validated" in out, f"{flavour} {cid}:\n{out}"


def test_any_keeps_every_rrset_signed(servers):
    """ANY with DO: knotd and nsd answer one RRset (RFC 8482 §4.2). canon keeps
    its ANY (every RRset of the name, minimal ANY is another issue) with each
    RRset's RRSIGs, and the RRSIG RRset not listed apart (docs/answers.md)."""
    flavour, started, _ = servers
    resp = ask(started["canon"], fqdn("www"), "ANY", True)
    ref = sections(ask(started["knotd"], fqdn("www"), "ANY", True))
    got = sections(resp)
    assert ref[2] <= got[2], describe("canon", resp)
    types = {r.rdtype for r in resp.answer if r.rdtype != dns.rdatatype.RRSIG}
    covered = [r.covers for r in resp.answer if r.rdtype == dns.rdatatype.RRSIG]
    want = {dns.rdatatype.A, dns.rdatatype.AAAA}
    want.add(dns.rdatatype.A if "nsec3" in flavour else dns.rdatatype.NSEC)
    assert types == want and sorted(covered) == sorted(types), describe("canon", resp)


def test_check_finds_nothing_false(servers, tmp_path):
    """`canon check` on the signed zone reports only what the unsigned zone
    has (the two-hop chain): RRSIG and NSEC beside a CNAME are legal (RFC 2181
    §10.1), RRSIGs of one name differ in TTL (RFC 4034 §3), NSEC TTLs are the
    negative TTL (RFC 4035 §2.3) and say nothing about the data's TTL."""
    flavour, started, anchor = servers
    zone = os.path.join(os.path.dirname(anchor), "signed.zone")
    def rules(path):
        p = subprocess.run([conftest.CANON_BIN, "check", "-o", ORIGIN, "--json", path],
                           capture_output=True, text=True, timeout=30)
        return sorted((f["rule"], f["owner"], f["type"]) for f in json.loads(p.stdout)["findings"])

    unsigned = rules(os.path.join(os.path.dirname(anchor), "zone"))
    assert unsigned and rules(zone) == unsigned, flavour


def test_signed_answer_too_big_for_udp_is_truncated(servers):
    """An NXDOMAIN with its proofs that does not fit 512 octets: TC and the
    question only over UDP (RFC 2181 §9); the whole answer over TCP."""
    flavour, started, _ = servers
    canon = started["canon"]
    msg = dns.message.make_query(fqdn("a.b.nx"), "A", want_dnssec=True, use_edns=0, payload=512)
    msg.flags &= ~dns.flags.RD
    tcp = dns.query.tcp(msg, canon.addr, port=canon.port, timeout=TIMEOUT)
    assert not tcp.flags & dns.flags.TC and len(tcp.authority) >= 4, tcp.to_text()
    udp = dns.query.udp(msg, canon.addr, port=canon.port, timeout=TIMEOUT)
    if len(tcp.to_wire()) > 512:
        assert udp.flags & dns.flags.TC and not udp.answer and not udp.authority, udp.to_text()
    else:
        assert not udp.flags & dns.flags.TC and sections(udp) == sections(tcp), udp.to_text()


@pytest.mark.parametrize("qtype", ["A", "NSEC3"])
@pytest.mark.parametrize("do", [True, False], ids=["do", "no-do"])
def test_nsec3_owner_name_does_not_exist(servers, qtype, do):
    """RFC 5155 §7.2.8: a query for an NSEC3 owner name is answered NXDOMAIN
    (with proofs under DO), as knotd and nsd do."""
    flavour, started, anchor = servers
    if "nsec3" not in flavour:
        pytest.skip("NSEC3 only")
    with open(os.path.join(os.path.dirname(anchor), "signed.zone")) as f:
        owner = next(line.split()[0] for line in f
                     if "NSEC3" in line.split()[:4] and "RRSIG" not in line.split()[:4])
    got = {name: ask(s, owner, qtype, do) for name, s in started.items()}
    norm = {name: sections(r) for name, r in got.items()}
    detail = "\n".join(describe(n, r) for n, r in got.items())
    assert norm["canon"][0] == "NXDOMAIN", detail
    assert norm["knotd"] == norm["nsd"] == norm["canon"], detail
