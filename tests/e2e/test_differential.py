"""Differential tests: canon's answers against knotd's and nsd's on the same zones.

The zones in tests/zones/diff/ exercise the RFC 1034 §4.3.2 answer algorithm
(CNAME chains inside and across zones, loops, DNAME, wildcards, empty
non-terminals, delegations, negative answers, additional-section processing).
knotd, nsd and canon are each started once for the module with all three zones,
and every query of CASES is sent to each with RD clear and, unless the case
says otherwise, over UDP without EDNS.

Responses are compared on rcode, AA, TC and each of ANSWER, AUTHORITY and
ADDITIONAL as a set of RRsets (owner, class, type, TTL, set of rdata; OPT is
ignored, order is not compared). A response that repeats a record in a section
also fails (RFC 2181 §5).

The expected answer:
  * a case without `expect`: knotd and nsd agree, and canon must match them;
  * a case with `expect`: the references disagree with each other (or answer
    with an RFC-permitted subset, see ANY); the expected answer is written out
    in full, with `why` citing the RFC and saying what each reference does,
    and `like` naming the references that give exactly that answer.
test_references checks the table's claims about knotd and nsd (agreement, and
`like`), so an upgraded reference that changes behaviour is noticed;
test_canon checks canon against the expected answer.

nsd runs with `minimal-responses: yes`. At its default nsd adds the zone's NS
RRset to AUTHORITY (and their addresses to ADDITIONAL) in every positive
answer; knotd and canon don't (RFC 1034 §4.3.2 step 3a puts nothing in
AUTHORITY for an answer, as the example responses in §6.2.1 and §6.2.2 show).
With minimal responses nsd agrees with
knotd on that, but leaves out the addresses of MX/SRV targets too; those cases
are written out below (WHY_ADDITIONAL).

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_differential.py
"""
import os
import re
from collections import namedtuple

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

import conftest
import refservers

DIFF_ZONES_DIR = os.path.join(conftest.ZONES_DIR, "diff")
ZONES = {
    "alpha.test.": os.path.join(DIFF_ZONES_DIR, "alpha.test.zone"),
    "beta.test.": os.path.join(DIFF_ZONES_DIR, "beta.test.zone"),
    "kid.alpha.test.": os.path.join(DIFF_ZONES_DIR, "kid.alpha.test.zone"),
}
REFERENCES = ("knotd", "nsd")
QUERY_TIMEOUT = 2.0

Case = namedtuple("Case", "id qname qtype expect edns tcp")


class Expect(namedtuple("Expect", "why like rcode aa tc answer authority additional")):
    """An expected response written out in full, for cases where the references
    don't both give it. Sections are zone-file lines: `name TTL class type rdata`."""


def X(why, like, rcode="NOERROR", aa=True, tc=False, answer="", authority="", additional=""):
    assert why and set(like) <= set(REFERENCES)
    return Expect(why, tuple(like), rcode, aa, tc, answer, authority, additional)


def Q(id, qname, qtype, expect=None, edns=None, tcp=False):
    return Case(id, qname, qtype, expect, edns, tcp)


A = ".alpha.test."
B = ".beta.test."
# lng.alpha.test. DNAME target (190 octets) and a name below lng whose
# substitution exceeds 255 octets (RFC 6672 §2.2: YXDOMAIN).
LNG_TARGET = f"{'a' * 63}.{'b' * 63}.{'c' * 50}.beta.test."
LONG = ("x" * 60) + "." + ("y" * 40) + ".lng" + A

MAIL_ADDRS = """
    mail.alpha.test. 3600 IN A 192.0.2.25
    mail.alpha.test. 3600 IN AAAA 2001:db8::25
"""
BETA_NEG_SOA = "beta.test. 60 IN SOA ns.beta.test. admin.beta.test. 7 3600 600 86400 600"


def chain(prefix, first, last, ttl=3600):
    """Zone lines of the CNAME links prefix<first> -> ... -> prefix<last>."""
    return "\n".join(f"{prefix}{i}{A} {ttl} IN CNAME {prefix}{i + 1}{A}" for i in range(first, last))


WHY_ADDITIONAL = (
    "RFC 1035 §3.3.9 (MX) and RFC 2782 (SRV) call for additional-section processing of "
    "the target: its A and AAAA (RFC 3596 §3) go in ADDITIONAL (RFC 1034 §4.3.2 step 6) "
    "when the server has them in the zone. knotd adds them; nsd, run with "
    "minimal-responses: yes (module docstring), leaves ADDITIONAL empty (at its default "
    "nsd adds the same addresses as knotd). Targets in another zone get none from either."
)
WHY_XZONE = (
    "RFC 1034 §4.3.2 step 3a: after a CNAME 'change QNAME to the canonical name ... and go "
    "back to step 1'; step 2 then searches every zone the server has for the nearest "
    "ancestor, so the chase goes on in the other zone. RFC 6604 §2: the rcode is that of "
    "the last name; RFC 2308 §2.1-2.2: the SOA in AUTHORITY is that of the last name's "
    "zone. nsd follows the "
    "chain into the other zone. knotd stops at the edge of the zone where the query "
    "started and answers only the records from it (NOERROR, empty AUTHORITY)."
)
WHY_XZONE_DNAME = (
    "RFC 6672 §3.1-3.2: the CNAME synthesized from a DNAME is chased like any other "
    "CNAME, so " + WHY_XZONE
)
WHY_CHILD = (
    "RFC 1034 §4.3.2 step 2: the nearest ancestor zone of www.kid.alpha.test. is "
    "kid.alpha.test., which the server also serves, so the chase answers from that "
    "zone, authoritatively. nsd does; knotd stays in alpha.test. and answers with "
    "alpha.test.'s referral for kid (NS and glue in AUTHORITY/ADDITIONAL)."
)
WHY_ANY = (
    "RFC 1034 §3.7.1 and §4.3.2 step 3a: QTYPE * matches every RRset at the name, and all "
    "of them go in ANSWER (with additional processing for the NS and MX targets in the "
    "zone). RFC 8482 §4.1 lets a server answer with a subset instead, and both references "
    "do, each answering with a single RRset of its own choice (knotd: the A at "
    "alpha.test., the NS at beta.test.; nsd: the SOA). Over UDP canon answers as knotd "
    "does, with the RRset of the lowest type (RFC 8482 §4.2); over TCP with every RRset "
    "(tests/e2e/test_abuse.py)."
)
WHY_CHAIN_LONG = (
    "RFC 1034 §4.3.2 sets no limit on a chain. knotd stops after 5 links (answers the first "
    "5 CNAMEs, NOERROR); nsd follows the whole chain. canon's limit is 16 links "
    "(CANON_CHAIN_MAX, src/lib/lookup.h), so a chain of up to 16 links is followed to the "
    "end, as nsd does."
)

CASES = [
    # --- the apex and a plain name -----------------------------------------
    Q("apex-soa", "alpha.test.", "SOA"),
    Q("apex-ns", "alpha.test.", "NS"),
    Q("apex-a", "alpha.test.", "A"),
    Q("apex-mx", "alpha.test.", "MX", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="""
            alpha.test. 3600 IN MX 10 mail.alpha.test.
            alpha.test. 3600 IN MX 20 mail.beta.test.
        """,
        additional=MAIL_ADDRS)),
    Q("apex-any", "alpha.test.", "ANY", X(
        WHY_ANY, like=["knotd"],
        answer="alpha.test. 3600 IN A 192.0.2.1")),
    Q("apex-aaaa-nodata", "alpha.test.", "AAAA"),
    Q("apex-ds", "alpha.test.", "DS"),
    Q("host-a", "host" + A, "A"),
    Q("host-mx", "host" + A, "MX", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="host.alpha.test. 3600 IN MX 10 mail.alpha.test.",
        additional=MAIL_ADDRS)),
    Q("host-case", "HoSt.AlPhA.TeSt.", "A"),
    # --- CNAME at QNAME (RFC 1034 §3.6.2, §4.3.2 step 3a) ----------------------
    Q("cname-a", "alias" + A, "A"),
    Q("cname-aaaa", "alias" + A, "AAAA"),
    Q("cname-mx", "alias" + A, "MX", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="""
            alias.alpha.test. 3600 IN CNAME host.alpha.test.
            host.alpha.test. 3600 IN MX 10 mail.alpha.test.
        """,
        additional=MAIL_ADDRS)),
    Q("cname-txt", "alias" + A, "TXT"),
    Q("cname-cname", "alias" + A, "CNAME"),
    Q("cname-any", "alias" + A, "ANY"),
    Q("cname-srv-nodata", "alias" + A, "SRV"),
    Q("cname-apex-a", "apexalias" + A, "A"),
    Q("cname-apex-mx", "apexalias" + A, "MX", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="""
            apexalias.alpha.test. 600 IN CNAME alpha.test.
            alpha.test. 3600 IN MX 10 mail.alpha.test.
            alpha.test. 3600 IN MX 20 mail.beta.test.
        """,
        additional=MAIL_ADDRS)),
    # --- chains inside one zone (each link keeps its own TTL) -----------------
    Q("chain-1", "c4" + A, "A"),
    Q("chain-2", "c3" + A, "A"),
    Q("chain-3", "c2" + A, "A"),
    Q("chain-4", "c1" + A, "A"),
    Q("chain-5", "c0" + A, "A"),
    Q("chain-5-txt", "c0" + A, "TXT"),
    Q("chain-5-cname", "c0" + A, "CNAME"),
    Q("chain-5-nodata", "c0" + A, "AAAA"),
    Q("chain-10", "d0" + A, "A", X(
        WHY_CHAIN_LONG, like=["nsd"],
        answer=chain("d", 0, 10) + "\nd10.alpha.test. 3600 IN A 192.0.2.110")),
    Q("chain-16", "e4" + A, "A", X(
        WHY_CHAIN_LONG + " This chain has exactly 16 links.", like=["nsd"],
        answer=chain("e", 4, 20) + "\ne20.alpha.test. 3600 IN A 192.0.2.120")),
    Q("chain-20-limit", "e0" + A, "A", X(
        "20 links, over canon's limit of 16 (CANON_CHAIN_MAX): lookup.h says 'A chain longer "
        "than this is answered with its first CANON_CHAIN_MAX links and NOERROR', so the "
        "answer holds the CNAMEs e0 -> ... -> e16 (16 links) and nothing more. RFC 1034 "
        "§4.3.2 sets no limit; knotd answers the first 5 links, nsd all 20 and the A.",
        like=[], answer=chain("e", 0, 16))),
    # --- chains crossing into the other zones served --------------------------
    Q("xzone-a", "xz" + A, "A", X(
        WHY_XZONE, like=["nsd"],
        answer="""
            xz.alpha.test. 3600 IN CNAME target.beta.test.
            target.beta.test. 1800 IN A 192.0.2.150
        """)),
    Q("xzone-txt", "xz" + A, "TXT", X(
        WHY_XZONE, like=["nsd"],
        answer="""
            xz.alpha.test. 3600 IN CNAME target.beta.test.
            target.beta.test. 1800 IN TXT "beta target"
        """)),
    Q("xzone-back-and-forth", "xzz" + A, "A", X(
        WHY_XZONE, like=["nsd"],
        answer="""
            xzz.alpha.test. 3600 IN CNAME back.beta.test.
            back.beta.test. 1800 IN CNAME c3.alpha.test.
            c3.alpha.test. 120 IN CNAME c4.alpha.test.
            c4.alpha.test. 3600 IN CNAME c5.alpha.test.
            c5.alpha.test. 3600 IN A 192.0.2.5
        """)),
    Q("xzone-child", "tokid" + A, "A", X(
        WHY_CHILD, like=["nsd"],
        answer="""
            tokid.alpha.test. 3600 IN CNAME www.kid.alpha.test.
            www.kid.alpha.test. 3600 IN A 192.0.2.71
        """)),
    Q("xzone-child-then-beta", "tokid2" + A, "A", X(
        WHY_CHILD + " Then " + WHY_XZONE, like=["nsd"],
        answer="""
            tokid2.alpha.test. 3600 IN CNAME hop.kid.alpha.test.
            hop.kid.alpha.test. 3600 IN CNAME www.beta.test.
            www.beta.test. 1800 IN A 192.0.2.151
        """)),
    # --- chains leaving every zone served: the answer ends at the last CNAME ----
    Q("out-1", "out" + A, "A"),
    Q("out-2", "out2" + A, "A"),
    Q("out-via-wildcard", "outwild" + A, "A"),
    # --- loops: the chase stops at the repeat, NOERROR --------------------------
    Q("loop-self", "self" + A, "A"),
    Q("loop-self-cname", "self" + A, "CNAME"),
    Q("loop-2", "loopa" + A, "A"),
    Q("loop-3", "l3a" + A, "A"),
    Q("loop-after-hop", "intoloop" + A, "A"),
    Q("loop-xzone", "xl" + A, "A", X(
        WHY_XZONE + " The chase then meets xl.alpha.test. again and stops there (NOERROR).",
        like=["nsd"],
        answer="""
            xl.alpha.test. 3600 IN CNAME xl.beta.test.
            xl.beta.test. 1800 IN CNAME xl.alpha.test.
        """)),
    # --- chains ending in NXDOMAIN / NODATA (RFC 6604, RFC 2308) ----------------
    Q("to-nx", "tonx" + A, "A"),
    Q("to-nx-2", "tonx2" + A, "A"),
    Q("to-nx-beta", "tonxb" + A, "A", X(
        WHY_XZONE, like=["nsd"], rcode="NXDOMAIN",
        answer="tonxb.alpha.test. 3600 IN CNAME nothere.beta.test.",
        authority=BETA_NEG_SOA)),
    Q("to-nodata", "tonodata" + A, "SRV"),
    Q("to-nodata-beta", "tonodatab" + A, "A", X(
        WHY_XZONE, like=["nsd"],
        answer="tonodatab.alpha.test. 3600 IN CNAME onlytxt.beta.test.",
        authority=BETA_NEG_SOA)),
    Q("to-ent", "toent" + A, "A"),
    # --- DNAME (RFC 6672) -------------------------------------------------------
    Q("dname-below", "www.old" + A, "A"),
    Q("dname-below-aaaa", "www.old" + A, "AAAA"),
    Q("dname-owner-dname", "old" + A, "DNAME"),
    Q("dname-owner-a", "old" + A, "A"),
    Q("dname-owner-cname", "old" + A, "CNAME"),
    Q("dname-nx", "nx.old" + A, "A"),
    Q("dname-deep", "deep.er.old" + A, "A"),
    Q("dname-mx", "mail.old" + A, "MX", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="""
            old.alpha.test. 600 IN DNAME new.alpha.test.
            mail.old.alpha.test. 600 IN CNAME mail.new.alpha.test.
            mail.new.alpha.test. 3600 IN MX 10 mail.alpha.test.
        """,
        additional=MAIL_ADDRS)),
    Q("dname-below-cname", "www.old" + A, "CNAME"),
    Q("dname-below-dname", "www.old" + A, "DNAME"),
    Q("dname-to-cname", "www.dn2" + A, "A"),
    Q("dname-to-dname", "www.dd" + A, "A"),
    Q("dname-xzone", "www.dnb" + A, "A", X(
        WHY_XZONE_DNAME, like=["nsd"],
        answer="""
            dnb.alpha.test. 900 IN DNAME beta.test.
            www.dnb.alpha.test. 900 IN CNAME www.beta.test.
            www.beta.test. 1800 IN A 192.0.2.151
        """)),
    Q("dname-xzone-deep", "a.b.dnb" + A, "A", X(
        WHY_XZONE_DNAME, like=["nsd"],
        answer="""
            dnb.alpha.test. 900 IN DNAME beta.test.
            a.b.dnb.alpha.test. 900 IN CNAME a.b.beta.test.
            a.b.beta.test. 1800 IN A 192.0.2.152
        """)),
    Q("dname-xzone-nx", "x.dnb" + A, "A", X(
        WHY_XZONE_DNAME, like=["nsd"], rcode="NXDOMAIN",
        answer="""
            dnb.alpha.test. 900 IN DNAME beta.test.
            x.dnb.alpha.test. 900 IN CNAME x.beta.test.
        """,
        authority=BETA_NEG_SOA)),
    Q("dname-out", "www.dno" + A, "A"),
    Q("cname-to-dname", "tod" + A, "A"),
    Q("dname-yxdomain", LONG, "A"),
    Q("dname-long-xzone-nx", "s.lng" + A, "A", X(
        WHY_XZONE_DNAME, like=["nsd"], rcode="NXDOMAIN",
        answer=f"""
            lng.alpha.test. 3600 IN DNAME {LNG_TARGET}
            s.lng.alpha.test. 3600 IN CNAME s.{LNG_TARGET}
        """,
        authority=BETA_NEG_SOA)),
    # --- wildcards (RFC 4592) -----------------------------------------------------
    Q("wild-a", "a.wild" + A, "A"),
    Q("wild-a-deep", "a.b.wild" + A, "A"),
    Q("wild-mx", "a.wild" + A, "MX", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="a.wild.alpha.test. 3600 IN MX 10 mail.alpha.test.",
        additional=MAIL_ADDRS)),
    Q("wild-nodata", "a.wild" + A, "TXT"),
    # knotd and nsd pick the same RRset here (the A, RFC 8482), and so does canon.
    Q("wild-any", "a.wild" + A, "ANY"),
    Q("wild-star", "*.wild" + A, "A"),
    Q("wild-parent-ent", "wild" + A, "A"),
    Q("wild-exists", "exists.wild" + A, "A"),
    Q("wild-exists-nodata", "exists.wild" + A, "TXT"),
    Q("wild-blocked-by-name", "x.exists.wild" + A, "A"),
    Q("wild-ent", "ent.wild" + A, "A"),
    Q("wild-blocked-by-ent", "q.ent.wild" + A, "A"),
    Q("wild-cname-a", "a.wc" + A, "A"),
    Q("wild-cname-cname", "a.wc" + A, "CNAME"),
    Q("wild-cname-aaaa", "a.wc" + A, "AAAA"),
    Q("wild-cname-xzone", "a.wcx" + A, "A", X(
        WHY_XZONE, like=["nsd"],
        answer="""
            a.wcx.alpha.test. 3600 IN CNAME target.beta.test.
            target.beta.test. 1800 IN A 192.0.2.150
        """)),
    Q("wild-cname-out", "a.wco" + A, "A"),
    Q("wild-cname-to-nx", "a.wcnx" + A, "A"),
    Q("wild-cname-xzone-nx", "a.wcn" + A, "A", X(
        WHY_XZONE, like=["nsd"], rcode="NXDOMAIN",
        answer="a.wcn.alpha.test. 3600 IN CNAME missing.beta.test.",
        authority=BETA_NEG_SOA)),
    Q("wild-cname-loop", "a.wloop" + A, "A"),
    Q("wild-cname-star", "*.wc" + A, "A"),
    # --- empty non-terminals: NODATA, not NXDOMAIN (RFC 8020, RFC 4592 §2.2.2) -----
    Q("ent-top", "ent2" + A, "A"),
    Q("ent-mid", "b.ent2" + A, "A"),
    Q("ent-leaf", "a.b.ent2" + A, "TXT"),
    Q("ent-below-nx", "x.b.ent2" + A, "A"),
    # --- delegations (RFC 1034 §4.3.2 step 3b; DS at the parent, RFC 4035 §3.1.4.1)
    Q("deleg-ns", "sub" + A, "NS"),
    Q("deleg-a", "sub" + A, "A"),
    Q("deleg-below", "www.sub" + A, "A"),
    Q("deleg-glue-name", "ns.sub" + A, "A"),
    Q("deleg-any", "sub" + A, "ANY"),
    Q("deleg-ds", "sub" + A, "DS"),
    Q("deleg-ds-below", "ns.sub" + A, "DS"),
    Q("deleg-ds-none", "nods" + A, "DS"),
    Q("deleg-partial-glue", "x.y.nods" + A, "A"),
    Q("deleg-via-cname", "tosub" + A, "A"),
    Q("child-ns", "kid" + A, "NS"),
    Q("child-ds", "kid" + A, "DS"),
    Q("child-soa", "kid" + A, "SOA"),
    Q("child-www", "www.kid" + A, "A"),
    Q("child-nx", "nx.kid" + A, "A"),
    Q("child-apex-a", "kid" + A, "A"),
    # --- negative answers: SOA TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3) ------------
    Q("nx-alpha", "nx" + A, "A"),
    Q("nx-beta", "nx" + B, "A"),
    Q("nodata-beta", "onlytxt" + B, "A"),
    Q("nx-deep", "a.b.c.nx" + A, "A"),
    # --- additional-section processing ------------------------------------------
    Q("add-srv", "_sip._tcp" + A, "SRV", X(
        WHY_ADDITIONAL, like=["knotd"],
        answer="""
            _sip._tcp.alpha.test. 3600 IN SRV 10 60 5060 sipserver.alpha.test.
            _sip._tcp.alpha.test. 3600 IN SRV 20 60 5060 sip.beta.test.
        """,
        additional="""
            sipserver.alpha.test. 3600 IN A 192.0.2.60
            sipserver.alpha.test. 3600 IN AAAA 2001:db8::60
        """)),
    Q("add-mx-out", "mxo" + A, "MX"),
    Q("add-mx-wild", "mxw" + A, "MX", X(
        WHY_ADDITIONAL + " The target foo.wild.alpha.test. exists only through *.wild: "
        "knotd (and nsd at its default) add the A synthesized from the wildcard (RFC 4592 "
        "§3.3: the wildcard answers every lookup of a name it covers).",
        like=["knotd"],
        answer="mxw.alpha.test. 3600 IN MX 10 foo.wild.alpha.test.",
        additional="foo.wild.alpha.test. 3600 IN A 192.0.2.100")),
    Q("add-mx-nx", "mxnx" + A, "MX"),
    Q("add-ns-beta", "beta.test.", "NS"),
    Q("beta-any", "beta.test.", "ANY", X(
        WHY_ANY, like=["knotd"],
        answer="""
            beta.test. 1800 IN NS ns.beta.test.
            beta.test. 1800 IN NS ns1.alpha.test.
        """,
        additional="""
            ns.beta.test. 1800 IN A 192.0.2.200
            ns.beta.test. 1800 IN AAAA 2001:db8::200
        """)),
    # --- outside every zone served -------------------------------------------------
    Q("refused-other", "www.nowhere.example.", "A"),
    Q("refused-parent", "test.", "SOA"),
    Q("refused-root", ".", "NS"),
    # --- truncation: 8 TXT records of ~80 octets ------------------------------------
    Q("tc-udp-512", "big" + A, "TXT"),
    Q("tc-edns-1232", "big" + A, "TXT", edns=1232),
    Q("tc-tcp", "big" + A, "TXT", tcp=True),
]

# ----------------------------------------------------------------------------
# Normalized responses


Resp = namedtuple("Resp", "rcode aa tc answer authority additional dups")
SECTIONS = ("answer", "authority", "additional")


def _norm_section(rrsets):
    """A section as a frozenset of RRsets (owner, class, type, TTL, rdata set).

    Messages are parsed one RR per RRset, so records are grouped here: an RRset
    whose records carry different TTLs keeps them all (and so differs from any
    well-formed expectation); a record repeated in a section is reported."""
    groups = {}
    dups = []
    for rrset in rrsets:
        if rrset.rdtype == dns.rdatatype.OPT:
            continue
        key = (rrset.name.to_text().lower(), dns.rdataclass.to_text(rrset.rdclass),
               dns.rdatatype.to_text(rrset.rdtype))
        rdatas, ttls = groups.setdefault(key, ({}, set()))
        for rd in rrset:
            digest = rd.to_digestable()
            if digest in rdatas:
                dups.append(f"{key[0]} {key[1]} {key[2]} {rd.to_text()}")
            rdatas[digest] = rd.to_text()
            ttls.add(rrset.ttl)
    out = set()
    for key, (rdatas, ttls) in groups.items():
        ttl = next(iter(ttls)) if len(ttls) == 1 else tuple(sorted(ttls))
        out.add(key + (ttl, frozenset(rdatas.items())))
    return frozenset(out), dups


def normalize(msg):
    sections, dups = [], []
    for sec in (msg.answer, msg.authority, msg.additional):
        s, d = _norm_section(sec)
        sections.append(s)
        dups += d
    return Resp(dns.rcode.to_text(msg.rcode()), bool(msg.flags & dns.flags.AA),
                bool(msg.flags & dns.flags.TC), *sections, tuple(dups))


def _parse_lines(text):
    rrsets = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        name, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        rrsets.append(dns.rrset.from_text(name, int(ttl), rdclass, rdtype, rdata))
    return rrsets


def expected_resp(exp):
    sections = [_norm_section(_parse_lines(getattr(exp, s)))[0] for s in SECTIONS]
    return Resp(exp.rcode, exp.aa, exp.tc, *sections, ())


def ask(server, case):
    """Send the case's query to server; the normalized response."""
    if case.edns:
        msg = dns.message.make_query(case.qname, case.qtype, use_edns=0, payload=case.edns)
    else:
        msg = dns.message.make_query(case.qname, case.qtype, use_edns=False)
    msg.flags &= ~dns.flags.RD
    if case.tcp:
        r = dns.query.tcp(msg, server.addr, port=server.port, timeout=QUERY_TIMEOUT,
                          one_rr_per_rrset=True)
    else:
        r = dns.query.udp(msg, server.addr, port=server.port, timeout=QUERY_TIMEOUT,
                          one_rr_per_rrset=True)
    return normalize(r)


def _natural(text):
    """Sort key that puts e2 before e10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _lines(section):
    out = []
    for name, cls, typ, ttl, rdatas in section:
        for _, text in rdatas:
            out.append(f"{name} {ttl} {cls} {typ} {text}")
    return sorted(out, key=_natural)


def render(resp):
    out = [f"rcode={resp.rcode} aa={int(resp.aa)} tc={int(resp.tc)}"]
    for label in SECTIONS:
        out.append(f";{label.upper()}")
        out += ["  " + line for line in _lines(getattr(resp, label))]
    if resp.dups:
        out.append(";REPEATED RECORDS: " + "; ".join(resp.dups))
    return "\n".join(out)


def diff(expected, got, expected_label="expected", got_label="got"):
    """A readable account of how got differs from expected ('' when equal)."""
    if expected == got:
        return ""
    out = []
    for field in ("rcode", "aa", "tc"):
        e, g = getattr(expected, field), getattr(got, field)
        if e != g:
            out.append(f"  {field.upper()}: {expected_label} {e}, {got_label} {g}")
    for label in SECTIONS:
        e, g = set(_lines(getattr(expected, label))), set(_lines(getattr(got, label)))
        if e != g:
            out.append(f"  {label.upper()}:")
            out += [f"    - {line}   (missing from {got_label})"
                    for line in sorted(e - g, key=_natural)]
            out += [f"    + {line}   (not in {expected_label})"
                    for line in sorted(g - e, key=_natural)]
    if got.dups != expected.dups:
        out.append(f"  {got_label} repeats records in a section: " + "; ".join(got.dups))
    return "\n".join(out)


def describe(case):
    how = "TCP" if case.tcp else (f"UDP, EDNS {case.edns}" if case.edns else "UDP, no EDNS")
    return f"{case.qname} {case.qtype} ({how})"


# ----------------------------------------------------------------------------
# Servers, started once for the module


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diffrefs")
    servers = {}
    try:
        servers["knotd"] = refservers.start_knotd(tmp, ZONES)
        servers["nsd"] = refservers.start_nsd(tmp, ZONES, minimal_responses=True)
        yield servers
    finally:
        for s in servers.values():
            s.stop()


@pytest.fixture(scope="module")
def canon(tmp_path_factory):
    if not os.path.exists(conftest.CANON_BIN):
        pytest.fail(f"{conftest.CANON_BIN} does not exist: run `make build`", pytrace=False)
    server = conftest.start_canon(tmp_path_factory.mktemp("diffcanon"), ZONES)
    server.timeouts = 0
    yield server
    server.stop()


_ref_cache = {}


def ref_answer(refs, name, case):
    key = (name, case.id)
    if key not in _ref_cache:
        _ref_cache[key] = ask(refs[name], case)
    return _ref_cache[key]


def canon_answer(canon, case):
    if not canon.alive():
        pytest.fail("canon is no longer running:\n" + canon.logtext()[-4000:], pytrace=False)
    if canon.timeouts >= 3:
        pytest.fail("canon stopped answering (3 timeouts already)", pytrace=False)
    try:
        return ask(canon, case)
    except dns.exception.Timeout:
        canon.timeouts += 1
        pytest.fail(f"canon did not answer {describe(case)} within {QUERY_TIMEOUT}s",
                    pytrace=False)


IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), "duplicate case ids"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_references(refs, case):
    """The table's claims about knotd and nsd hold."""
    got = {name: ref_answer(refs, name, case) for name in REFERENCES}
    if case.expect is None:
        d = diff(got["knotd"], got["nsd"], "knotd", "nsd")
        if d:
            pytest.fail(f"{describe(case)}: knotd and nsd disagree; decide by the RFC and write "
                        f"the expected answer into the table:\n{d}", pytrace=False)
        return
    exp = expected_resp(case.expect)
    problems = []
    for name in REFERENCES:
        matches = got[name] == exp
        if matches != (name in case.expect.like):
            claim = "gives" if name in case.expect.like else "does not give"
            problems.append(f"the table says {name} {claim} the expected answer, but:\n"
                            + (diff(exp, got[name], "expected", name) or "  it does"))
    if problems:
        pytest.fail(f"{describe(case)}:\n" + "\n".join(problems), pytrace=False)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_canon(refs, canon, case):
    """canon gives the expected answer: the references' when they agree, else the table's."""
    if case.expect is None:
        k, n = ref_answer(refs, "knotd", case), ref_answer(refs, "nsd", case)
        if k != n:
            pytest.fail(f"{describe(case)}: knotd and nsd disagree and the table has no "
                        f"expected answer:\n{diff(k, n, 'knotd', 'nsd')}", pytrace=False)
        exp, source = k, "knotd and nsd agree"
    else:
        exp, source = expected_resp(case.expect), "table: " + case.expect.why
    got = canon_answer(canon, case)
    if got != exp:
        pytest.fail(f"canon's answer to {describe(case)} differs from the expected one "
                    f"({source})\n{diff(exp, got, 'expected', 'canon')}\n"
                    f"--- expected\n{render(exp)}\n--- canon\n{render(got)}", pytrace=False)
