"""canon ctl against a running canon serve: every command's answer, and the exit statuses.

Two servers: 'upstream' serves t.test. (the ALIAS target's zone); the server under
test serves a.test. (apex ALIAS www.t.test.) with --upstream pointing at it and a
state-dir, so its control socket is STATE_DIR/canon.sock.
"""
import os
import re
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import CANON_BIN, Server, free_port, wait_for_dns

TARGET_ZONE = """$ORIGIN t.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  2 A 192.0.2.7
"""

ZONE = """$ORIGIN a.test.
$TTL 300
@    SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@    NS  ns1
@    ALIAS www.t.test.
ns1  A   192.0.2.53
{extra}
"""


def start(tmp_path, name, argv, qname):
    port = free_port()
    argv = [CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "2"] + argv
    server = Server(argv, "127.0.0.1", port, str(tmp_path / f"{name}.log"))
    if not wait_for_dns("127.0.0.1", port, qname=qname):
        server.stop()
        raise RuntimeError(f"canon serve ({name}) did not answer:\n" + server.logtext())
    return server


def ctl(sock, *args):
    out = subprocess.run([CANON_BIN, "ctl", "-s", str(sock), *args], capture_output=True,
                         text=True, timeout=30)
    return out.returncode, out.stdout, out.stderr


@pytest.fixture
def servers(tmp_path):
    (tmp_path / "t.zone").write_text(TARGET_ZONE)
    zone = tmp_path / "a.zone"
    zone.write_text(ZONE.format(serial=1, extra=""))
    state = tmp_path / "state"
    state.mkdir()
    upstream = start(tmp_path, "upstream", ["--zone", f"t.test.={tmp_path / 't.zone'}"], "t.test.")
    served = None
    try:
        served = start(tmp_path, "served",
                       ["--zone", f"a.test.={zone}", "--state-dir", str(state),
                        "--upstream", f"127.0.0.1:{upstream.port}"], "a.test.")
        yield upstream, served, zone, state / "canon.sock"
    finally:
        if served is not None:
            served.stop()
        upstream.stop()


def ask(server, qname, qtype="A"):
    q = dns.message.make_query(qname, qtype)
    return dns.query.udp(q, "127.0.0.1", port=server.port, timeout=3)


def serial_of(zone_status):
    return int(re.search(r"^  serial: (\d+)$", zone_status, re.M).group(1))


def test_status(servers):
    _, served, _, sock = servers
    assert oct(os.stat(sock).st_mode & 0o777) == "0o660"
    rc, out, err = ctl(sock, "status")
    assert (rc, err) == (0, "")
    assert re.search(r"^version: \d+\.\d+\.\d+$", out, re.M)
    assert re.search(r"^uptime: \d+s$", out, re.M)
    assert "zones: 1 served\n" in out
    assert "workers: 2\n" in out
    assert f"listen: 127.0.0.1:{served.port} (UDP and TCP)\n" in out


def test_zone_status_and_reload(servers):
    _, served, zone, sock = servers
    rc, out, _ = ctl(sock, "zone-status")
    assert rc == 0 and out.startswith("a.test.\n")
    assert serial_of(out) == 1
    assert f"  file: {zone}\n" in out and "  journal: ok\n" in out
    assert re.search(r"^  loaded: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+s ago\)$", out, re.M)
    assert re.search(r"^  findings: \d+$", out, re.M)
    assert "  last error: none\n" in out

    # Nothing changed.
    assert ctl(sock, "reload", "a.test") == (0, "a.test. unchanged: serial 1\n", "")

    # Changed, same serial: kept, with the reason, in the answer and in zone-status.
    zone.write_text(ZONE.format(serial=1, extra="new A 192.0.2.9"))
    rc, out, _ = ctl(sock, "reload", "a.test.")
    assert rc == 0 and out.startswith("a.test. kept serial 1: ")
    assert "serial 1 is not greater than 1" in out
    rc, out, _ = ctl(sock, "zone-status", "a.test.")
    assert serial_of(out) == 1 and "  last error: kept serial 1: " in out
    assert ask(served, "new.a.test.").rcode() == dns.rcode.NXDOMAIN

    # A new serial: reloaded, served, and the error is gone.
    zone.write_text(ZONE.format(serial=2, extra="new A 192.0.2.9"))
    assert ctl(sock, "reload", "a.test.") == (0, "a.test. reloaded: serial 1 -> 2\n", "")
    rc, out, _ = ctl(sock, "zone-status", "a.test")
    assert serial_of(out) == 2 and "  last error: none\n" in out
    assert ask(served, "new.a.test.").answer[0].to_text().endswith("192.0.2.9")

    # Every zone, as SIGHUP.
    zone.write_text(ZONE.format(serial=3, extra="new A 192.0.2.9"))
    assert ctl(sock, "reload") == (0, "a.test. reloaded: serial 2 -> 3\n", "")

    rc, out, err = ctl(sock, "zone-status", "nosuch.test")
    assert (rc, out, err) == (1, "", "error: no such zone\n")
    rc, out, err = ctl(sock, "reload", "nosuch.test")
    assert (rc, out, err) == (1, "", "error: no such zone\n")


def counters(sock):
    rc, out, _ = ctl(sock, "stats")
    assert rc == 0
    total = re.search(r"^responses: (\d+) \(udp (\d+), tcp (\d+)\)$", out, re.M)
    flat = re.search(r"^flattened answers: (\d+)$", out, re.M)
    return out, int(total.group(1)), int(total.group(2)), int(flat.group(1))


def test_stats_move_with_queries(servers):
    _, served, _, sock = servers
    _, total, udp, flat = counters(sock)
    for _ in range(3):
        assert ask(served, "a.test.", "A").answer[0].to_text().endswith("192.0.2.7")
    assert ask(served, "a.test.", "SOA").rcode() == dns.rcode.NOERROR
    out, total2, udp2, flat2 = counters(sock)
    assert (total2 - total, udp2 - udp, flat2 - flat) == (4, 4, 3)
    assert re.search(r"^  NOERROR  A +\d+$", out, re.M)
    assert re.search(r"^  NOERROR  SOA +\d+$", out, re.M)


def test_alias_status_flush_and_stale(servers):
    upstream, served, _, sock = servers
    rc, out, _ = ctl(sock, "alias-status")
    assert rc == 0
    line = re.search(r"^www\.t\.test\. A: (.*)$", out, re.M).group(1)
    assert line.startswith("192.0.2.7; age ") and "stale" not in line
    assert re.search(r"^www\.t\.test\. AAAA: no addresses", out, re.M)

    rc, out, _ = ctl(sock, "flush")
    assert rc == 0 and re.fullmatch(r"flushed \d+ entries of the resolver cache\n", out)

    # The upstream goes: the 2-second answer expires, refreshes fail, it is served stale.
    upstream.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        out = ctl(sock, "alias-status")[1]
        line = re.search(r"^www\.t\.test\. A: (.*)$", out, re.M).group(1)
        if "stale" in line:
            break
        time.sleep(0.3)
    assert line.startswith("192.0.2.7; age ") and "; stale" in line
    assert "last failure" in line and "(failing now)" in line
    assert ask(served, "a.test.", "A").answer[0].to_text().endswith("192.0.2.7")


def test_bad_requests(servers):
    _, _, _, sock = servers
    rc, out, err = ctl(sock, "bogus")
    assert (rc, out) == (1, "") and err.startswith("error: unknown command")
    rc, out, err = ctl(sock, "stats", "extra")
    assert (rc, out) == (1, "") and err == "error: this command takes no argument\n"
    rc, _, err = ctl(sock)
    assert rc == 2 and "no command" in err
    rc, _, err = ctl(sock, "reload", "a", "b")
    assert rc == 2 and "too many arguments" in err


def test_no_server(tmp_path):
    sock = tmp_path / "none.sock"
    rc, out, err = ctl(sock)
    assert rc == 2
    rc, out, err = ctl(sock, "status")
    assert (rc, out) == (3, "") and str(sock) in err and "cannot connect" in err


def test_control_option_and_no_state_dir(tmp_path):
    zone = tmp_path / "a.zone"
    zone.write_text(ZONE.format(serial=7, extra=""))
    sock = tmp_path / "ctl.sock"
    server = start(tmp_path, "ctl", ["--zone", f"a.test.={zone}", "--control", str(sock)],
                   "a.test.")
    try:
        rc, out, _ = ctl(sock, "zone-status")
        assert rc == 0 and serial_of(out) == 7 and "  journal: none (no state-dir)\n" in out
        rc, out, err = ctl(sock, "flush")
        assert rc == 1 and "ALIAS resolution is not set up" in err
        rc, out, _ = ctl(sock, "alias-status")
        assert rc == 0 and "no ALIAS resolution set up" in out
    finally:
        server.stop()
    assert not sock.exists()  # Removed at the stop.


def test_help_and_version():
    out = subprocess.run([CANON_BIN, "ctl", "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("usage: canon ctl")
    out = subprocess.run([CANON_BIN, "ctl", "--version"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("canon ctl ")
