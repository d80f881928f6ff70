"""What `canon serve` logs about zones, and how a zone that failed to load answers.

- A zone with 10,000 alias chains logs a bounded number of lines at load and at
  reload: the first few findings of each rule, then one summary line per rule.
- A zone that is not loaded says so in one line naming the rule and file:line
  that stopped it, and answers SERVFAIL (as BIND and Knot do) over UDP and TCP,
  while the other zones keep answering and names of no zone stay REFUSED.
- A reload (SIGHUP, `canon ctl reload`) logs one line for each zone it kept at
  its old version, and says how many it kept when it is done.
- The newer checker rules at load: two SOAs stop a load; an expired signature
  is logged and the zone served.

Every wait is bounded (WAIT seconds).

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_logs.py
"""
import os
import re
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import CANON_BIN, ZONES_DIR, Server, free_port, wait_for_dns

WAIT = 20.0  # seconds; loading the 10,000-chain zone takes well under one
CHAINS = 10000
PER_RULE = 3  # CANON_LOAD_FINDINGS_LOGGED

GOOD = """$ORIGIN good.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
"""

BAD = """$ORIGIN bad.test.
$TTL 300
@    SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.81
{extra}
"""
BAD_LINE = 7  # the line of {extra}
CNAME_AND_A = "www  CNAME ns1"


def chains_zone(serial, chains=CHAINS):
    lines = ["$ORIGIN chains.test.", "$TTL 300",
             f"@    SOA ns1 hostmaster {serial} 7200 3600 1209600 300",
             "@    NS  ns1", "ns1  A   192.0.2.53", "host A   192.0.2.1"]
    for i in range(chains):
        lines.append(f"a{i} CNAME b{i}")
        lines.append(f"b{i} CNAME host")
    return "\n".join(lines) + "\n"


def start(tmp_path, zones, extra=(), qname="good.test."):
    port = free_port()
    argv = [CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1"]
    for origin, path in zones.items():
        argv += ["--zone", f"{origin}={path}"]
    server = Server(argv + list(extra), "127.0.0.1", port, str(tmp_path / f"canon-{port}.log"))
    if not wait_for_dns("127.0.0.1", port, timeout=WAIT, qname=qname):
        server.stop()
        raise RuntimeError("canon serve did not answer:\n" + server.logtext())
    return server


def wait_for_log(server, pattern, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.logtext()
        if re.search(pattern, text, re.M):
            return text
        time.sleep(0.05)
    pytest.fail(f"no log line matching {pattern!r} within {timeout}s:\n{server.logtext()}")


def rcode(server, qname, qtype="A", tcp=False):
    q = dns.message.make_query(qname, qtype)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=server.port, timeout=3)
    return dns.query.udp(q, "127.0.0.1", port=server.port, timeout=3)


def write(path, text, later=0):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    if later:
        t = time.time() + later
        os.utime(path, (t, t))


@pytest.fixture
def servers():
    started = []
    yield started
    for s in started:
        s.stop()


def test_many_findings_log_bounded_lines(tmp_path, servers):
    path = str(tmp_path / "chains.zone")
    write(path, chains_zone(1))
    s = start(tmp_path, {"chains.test.": path}, qname="chains.test.")
    servers.append(s)
    text = wait_for_log(s, r"zone chains\.test\. loaded from")
    lines = text.splitlines()
    chain_lines = [line for line in lines if "[cname-chain]" in line]
    assert len(chain_lines) == PER_RULE + 1, chain_lines
    assert f"zone chains.test.: ... and {CHAINS - PER_RULE:,} more [cname-chain]" in text
    assert len(lines) < 20, text
    # The zone is served in full all the same.
    reply = rcode(s, f"a{CHAINS - 1}.chains.test.")
    assert reply.rcode() == dns.rcode.NOERROR and len(reply.answer) == 3
    # A reload of the changed file is bounded too.
    before = len(lines)
    write(path, chains_zone(2, CHAINS + 1), later=2)
    s.proc.send_signal(signal.SIGHUP)
    text = wait_for_log(s, r"reload done")
    added = text.splitlines()[before:]
    assert any("reloaded from" in line for line in added), added
    assert len(added) < 30, "\n".join(added)
    assert f"... and {CHAINS + 1 - PER_RULE:,} more [cname-chain]" in text


def test_failed_zone_names_rule_and_place_and_answers_servfail(tmp_path, servers):
    good = str(tmp_path / "good.zone")
    bad = str(tmp_path / "bad.zone")
    state = tmp_path / "state"
    state.mkdir()
    write(good, GOOD)
    write(bad, BAD.format(serial=1, extra=CNAME_AND_A))
    s = start(tmp_path, {"good.test.": good, "bad.test.": bad}, ["--state-dir", str(state)])
    servers.append(s)
    text = wait_for_log(s, r"zone bad\.test\.: load from .* failed, not served: ")
    line = re.search(r"^.*zone bad\.test\.: load from .* failed, not served: .*$", text,
                     re.M).group(0)
    assert f"{bad}:{BAD_LINE}:" in line and line.endswith("[cname-and-other-data]"), line
    # canon ctl zone-status gives the same reason.
    out = subprocess.run([CANON_BIN, "ctl", "-s", str(state / "canon.sock"), "zone-status",
                          "bad.test."], capture_output=True, text=True, timeout=30)
    assert re.search(rf"^  last error: not loaded: {re.escape(bad)}:{BAD_LINE}: .*"
                     r"\[cname-and-other-data\]$", out.stdout, re.M), (out.stdout, out.stderr)
    for tcp in (False, True):
        for qname in ("bad.test.", "www.bad.test.", "nowhere.bad.test."):
            reply = rcode(s, qname, tcp=tcp)
            assert reply.rcode() == dns.rcode.SERVFAIL, (qname, tcp, reply)
            assert not reply.answer
        ok = rcode(s, "www.good.test.", tcp=tcp)
        assert ok.rcode() == dns.rcode.NOERROR
        assert [r.to_text() for r in ok.answer] == ["www.good.test. 300 IN A 192.0.2.80"]
        assert rcode(s, "www.other.test.", tcp=tcp).rcode() == dns.rcode.REFUSED
    # A transfer of the zone that is not loaded is not answered with its (absent) data.
    xfr = rcode(s, "bad.test.", "AXFR", tcp=True)
    assert xfr.rcode() != dns.rcode.NOERROR and not xfr.answer
    assert s.alive()
    # Fixed and reloaded: the zone answers.
    write(bad, BAD.format(serial=2, extra=""), later=2)
    s.proc.send_signal(signal.SIGHUP)
    wait_for_log(s, r"reload done")
    reply = rcode(s, "www.bad.test.")
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer


def test_reload_reports_each_kept_zone(tmp_path, servers):
    good = str(tmp_path / "good.zone")
    bad = str(tmp_path / "bad.zone")
    state = tmp_path / "state"
    state.mkdir()
    write(good, GOOD)
    write(bad, BAD.format(serial=1, extra=""))
    s = start(tmp_path, {"good.test.": good, "bad.test.": bad}, ["--state-dir", str(state)])
    servers.append(s)
    # A newer serial with a record that blocks loading: the served version stays.
    write(bad, BAD.format(serial=2, extra=CNAME_AND_A), later=2)
    # The same serial with new data: kept too.
    write(good, GOOD.replace("www  A   192.0.2.80", "www  A   192.0.2.90"), later=2)
    before = len(s.logtext().splitlines())
    s.proc.send_signal(signal.SIGHUP)
    text = wait_for_log(s, r"reload done: 2 zones served, 2 kept")
    added = text.splitlines()[before:]
    kept_bad = [line for line in added
                if "zone bad.test.: kept serial 1 (the old version): " in line]
    kept_good = [line for line in added
                 if "zone good.test.: kept serial 1 (the old version): " in line]
    assert len(kept_bad) == 1 and len(kept_good) == 1, "\n".join(added)
    assert f"{bad}:{BAD_LINE}:" in kept_bad[0] and "[cname-and-other-data]" in kept_bad[0]
    assert "serial 1 is not greater than 1" in kept_good[0]
    assert rcode(s, "www.bad.test.").answer[0].to_text() == "www.bad.test. 300 IN A 192.0.2.81"
    # canon ctl reload says the same, and the log gets the same one line per kept zone.
    before = len(s.logtext().splitlines())
    out = subprocess.run([CANON_BIN, "ctl", "-s", str(state / "canon.sock"), "reload"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert re.search(rf"^bad\.test\. kept serial 1: {re.escape(bad)}:{BAD_LINE}: .*"
                     r"\[cname-and-other-data\]$", out.stdout, re.M), out.stdout
    assert re.search(r"^good\.test\. kept serial 1: .*not greater than 1", out.stdout, re.M)
    text = wait_for_log(s, r"reload done: 2 zones served, 2 kept")
    added = text.splitlines()[before:]
    kept = [line for line in added if ": kept serial 1 (the old version): " in line]
    assert len(kept) == 2, "\n".join(added)


def test_new_rules_at_load(tmp_path, servers):
    """Two SOAs stop a load (SERVFAIL, the line names [multiple-soa]); an expired signature
    in a signed zone is logged and the zone is served."""
    corpus = os.path.join(ZONES_DIR, "check")
    two = os.path.join(corpus, "multiple-soa.zone")
    expired = os.path.join(corpus, "rrsig-expired.zone")
    good = str(tmp_path / "good.zone")
    write(good, GOOD)
    s = start(tmp_path, {"good.test.": good, "example.com.": two})
    servers.append(s)
    text = wait_for_log(s, r"zone example\.com\.: load from .* failed, not served: ")
    assert re.search(rf"not served: {re.escape(two)}:9: .*\[multiple-soa\]$", text, re.M), text
    assert rcode(s, "example.com.", "SOA").rcode() == dns.rcode.SERVFAIL
    s.stop()
    s2 = start(tmp_path, {"example.com.": expired}, qname="example.com.")
    servers.append(s2)
    text = wait_for_log(s2, r"zone example\.com\. loaded from")
    assert re.search(rf"zone example\.com\.: {re.escape(expired)}:18: .*\[rrsig-expired\]$",
                     text, re.M), text
    reply = rcode(s2, "host.example.com.")
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer
