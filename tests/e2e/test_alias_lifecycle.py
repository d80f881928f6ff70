"""The ALIAS flattener over time (issue 14, issue 13): a target no zone uses any
more is forgotten after a reload, and a target that starts failing and recovers
is logged once each way, not at every refresh.

'upstream' serves t.test. (targets www and other, TTL 1 s); the server under
test serves a.test. with an apex ALIAS and --upstream pointing at it.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_alias_lifecycle.py
"""
import os
import re
import signal
import subprocess
import time

import dns.message
import dns.query

from conftest import CANON_BIN, Server, free_port, wait_for_dns

TARGET_ZONE = """$ORIGIN t.test.
$TTL 300
@      SOA ns1 hostmaster 1 7200 3600 1209600 300
@      NS  ns1
ns1    A   192.0.2.53
www    1 A 192.0.2.7
other  1 A 192.0.2.8
"""
ZONE = """$ORIGIN a.test.
$TTL 300
@    SOA ns1 hostmaster {serial} 7200 3600 1209600 300
@    NS  ns1
@    ALIAS {target}
ns1  A   192.0.2.53
"""
FORGET_WAIT = 10.0  # FORGET_SECONDS (3) in src/resolve/flatten.c, plus slack


def start(tmp_path, name, argv, qname, port=None):
    port = port or free_port()
    argv = [CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1"] + argv
    server = Server(argv, "127.0.0.1", port, str(tmp_path / f"{name}-{time.monotonic_ns()}.log"))
    if not wait_for_dns("127.0.0.1", port, qname=qname):
        server.stop()
        raise RuntimeError(f"canon serve ({name}) did not answer:\n" + server.logtext())
    return server


def alias_status(sock):
    out = subprocess.run([CANON_BIN, "ctl", "-s", str(sock), "alias-status"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def address(server, qname="a.test."):
    q = dns.message.make_query(qname, "A")
    r = dns.query.udp(q, "127.0.0.1", port=server.port, timeout=2)
    return [rr.to_text() for rrset in r.answer for rr in rrset]


def poll(fn, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    return None


def test_unused_target_is_forgotten_and_failures_are_logged_once(tmp_path):
    (tmp_path / "t.zone").write_text(TARGET_ZONE)
    zone = tmp_path / "a.zone"
    zone.write_text(ZONE.format(serial=1, target="www.t.test."))
    state = tmp_path / "state"
    state.mkdir()
    servers = []
    try:
        upstream = start(tmp_path, "upstream", ["--zone", f"t.test.={tmp_path / 't.zone'}"],
                         "t.test.")
        servers.append(upstream)
        served = start(tmp_path, "served", ["--zone", f"a.test.={zone}", "--upstream",
                                            f"127.0.0.1:{upstream.port}",
                                            "--state-dir", str(state)], "a.test.")
        servers.append(served)
        sock = state / "canon.sock"
        assert poll(lambda: address(served) == ["192.0.2.7"], 5), address(served)
        assert re.search(r"^www\.t\.test\. A: 192\.0\.2\.7", alias_status(sock), re.M)

        # The upstream goes and comes back: one line each way, however many refreshes.
        upstream.stop()
        failing = re.compile(r"ALIAS target www\.t\.test\. A: resolution failed")
        assert poll(lambda: failing.search(served.logtext()), 8), served.logtext()
        time.sleep(5)  # refreshes every 2 s keep failing
        assert len(failing.findall(served.logtext())) == 1, served.logtext()
        upstream = start(tmp_path, "upstream", ["--zone", f"t.test.={tmp_path / 't.zone'}"],
                         "t.test.", port=upstream.port)
        servers.append(upstream)
        again = re.compile(r"ALIAS target www\.t\.test\. A: resolved again")
        assert poll(lambda: again.search(served.logtext()), 8), served.logtext()
        time.sleep(2)
        assert len(again.findall(served.logtext())) == 1, served.logtext()
        assert len(failing.findall(served.logtext())) == 1, served.logtext()

        # The ALIAS now points elsewhere: the old target is no longer kept fresh.
        zone.write_text(ZONE.format(serial=2, target="other.t.test."))
        os.kill(served.proc.pid, signal.SIGHUP)
        assert poll(lambda: address(served) == ["192.0.2.8"], 5), address(served)
        assert poll(lambda: not re.search(r"^www\.t\.test\. ", alias_status(sock), re.M),
                    FORGET_WAIT), alias_status(sock)
        assert re.search(r"^other\.t\.test\. A: 192\.0\.2\.8", alias_status(sock), re.M)
        # Taken back into use by the next reload, it resolves again.
        zone.write_text(ZONE.format(serial=3, target="www.t.test."))
        os.kill(served.proc.pid, signal.SIGHUP)
        assert poll(lambda: address(served) == ["192.0.2.7"], 5), address(served)
    finally:
        for s in reversed(servers):
            s.stop()
