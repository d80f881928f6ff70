"""The real clients against `canon serve`: dig (BIND), kdig (Knot) and drill (ldns).

Each client asks for alias chains over UDP and over TCP (RD clear); its text
output is parsed back into RRsets (rcode, header flags, ANSWER and AUTHORITY)
and compared as sets with the answer written from the RFCs, as test_serve.py
does with dnspython. A client that cannot parse canon's answer, or sees other
records, fails here.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_clients.py
"""
import re
import subprocess

import dns.rcode
import dns.rrset
import pytest

import conftest
from test_serve import SOA_E2E_NEG, SOA_OTHER_NEG, TARGET, cname, rr, rr_lines
from test_serve import srv  # noqa: F401  (the module's shared server)

CASES = {
    # A two-hop chain in one zone (RFC 1034 §3.6.2).
    "hop2.e2e.test.": ("NOERROR", [cname("hop2.e2e.test.", "hop1.e2e.test."),
                                   cname("hop1.e2e.test.", "target.e2e.test."),
                                   TARGET["A"]], []),
    # A chain into the second zone (RFC 2181 §10.1.1).
    "tootherzone.e2e.test.": ("NOERROR", [cname("tootherzone.e2e.test.", "www.other.test."),
                                          cname("www.other.test.", "final.other.test."),
                                          rr("final.other.test.", 3600, "A",
                                             "192.0.2.150")], []),
    # A chain ending in NXDOMAIN (RFC 6604 §3, RFC 2308 §3).
    "tonx.e2e.test.": ("NXDOMAIN", [cname("tonx.e2e.test.", "missing.e2e.test.")],
                       [SOA_E2E_NEG]),
    "toothernx.e2e.test.": ("NXDOMAIN", [cname("toothernx.e2e.test.", "missing.other.test.")],
                            [SOA_OTHER_NEG]),
}


def command(tool, server, qname, tcp):
    path = conftest.need_tool(tool)
    port = str(server.port)
    if tool == "dig":
        argv = [path, f"@{server.addr}", "-p", port, "+norec", "+time=2", "+tries=1"]
        argv += ["+tcp"] if tcp else []
        return argv + [qname, "A"]
    if tool == "kdig":
        argv = [path, f"@{server.addr}", "-p", port, "+norec", "+time=2", "+retry=0"]
        argv += ["+tcp"] if tcp else []
        return argv + [qname, "A"]
    # drill: '-o rd' in lower case clears RD; -t is TCP.
    argv = [path, "-p", port, "-o", "rd"] + (["-t"] if tcp else [])
    return argv + [qname, f"@{server.addr}", "A"]


def parse_output(text):
    """(rcode, flags, {section: [RRset]}) from dig, kdig or drill output."""
    rcode = re.search(r"->>HEADER<<- opcode: QUERY[,;] (?:status|rcode): ([A-Z]+)", text)
    flags = re.search(r"^;; [Ff]lags: ([a-z ]*?)\s*;", text, re.M)
    assert rcode and flags, f"no header in the output:\n{text}"
    sections = {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
    current = None
    for line in text.splitlines():
        m = re.match(r";; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
        if m:
            current = m.group(1)
            continue
        if not line.strip() or line.startswith(";"):
            if not line.strip():
                current = None
            continue
        if current is None:
            continue
        owner, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        sections[current].append(dns.rrset.from_text(owner, int(ttl), rdclass, rdtype, rdata))
    return rcode.group(1), set(flags.group(1).split()), sections


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("qname", sorted(CASES))
@pytest.mark.parametrize("tool", ["dig", "kdig", "drill"])
def test_client_sees_the_chain(srv, tool, qname, tcp):  # noqa: F811
    rcode, answer, authority = CASES[qname]
    argv = command(tool, srv, qname, tcp)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(argv)} did not finish within 15s")
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    got_rcode, flags, sections = parse_output(p.stdout)
    assert got_rcode == dns.rcode.to_text(dns.rcode.from_text(rcode)), out
    # An authoritative answer, neither truncated nor recursive (RFC 1035 §4.1.1).
    assert flags == {"qr", "aa"}, out
    assert rr_lines(sections["ANSWER"]) == rr_lines(answer), out
    assert rr_lines(sections["AUTHORITY"]) == rr_lines(authority), out
    assert rr_lines(sections["ADDITIONAL"]) == [], out
    if tool in ("dig", "kdig"):
        # Both say which transport they used; drill does not.
        assert ("(TCP)" in out) == tcp, out
