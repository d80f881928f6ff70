"""canon serve stops cleanly when its start fails after the workers are set up
(issue 14): ALIAS resolution that cannot be set up, a listen address already
taken. Each must exit with status 1 and a message, not crash, and not close a
descriptor it never opened (stop_workers() in src/serve/server.c tears down
only what canon_worker_init() set up). Run with the ASan build as CANON_BIN to
check for memory errors as well.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_serve_start_failures.py
"""
import os
import re
import shutil
import socket
import subprocess

import dns.message
import dns.query
import dns.rcode
import dns.update

import conftest
from secondaries import b64secret, keyring

ZONE = os.path.join(conftest.ZONES_DIR, "alias", "example.com.zone")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def run_serve(tmp_path, *args):
    """Run canon serve to its end; then again under strace (close calls) when there
    is one, without LeakSanitizer, which cannot work under ptrace."""
    argv = [conftest.CANON_BIN, "serve", "--workers", "2", "--zone", f"example.com.={ZONE}",
            *args]
    out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=60)
    out.closes = ""
    if shutil.which("strace"):
        trace = tmp_path / "close.trace"
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=close", "-o", str(trace)] + argv,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=env)
        out.closes = trace.read_text()
        assert "close(" in out.closes, "strace saw no close() at all"
    return out


def assert_clean_failure(out, words):
    assert out.returncode == 1, f"exit {out.returncode}:\n{out.stderr}"
    assert words in out.stderr, out.stderr
    assert not any(m in out.stderr for m in SANITIZER_MARKS), out.stderr
    # A worker never set up has fd 0 in its zeroed fields: closing it was the bug.
    assert not re.search(r"\bclose\(0\)", out.closes), "closed fd 0 (standard input)"


def test_alias_resolution_that_cannot_be_set_up(tmp_path):
    """The zone has an ALIAS; the root hints file does not exist."""
    port = conftest.free_port()
    out = run_serve(tmp_path, "--listen", f"127.0.0.1:{port}",
                    "--root-hints", str(tmp_path / "no-such-root.hints"))
    assert_clean_failure(out, "cannot set up ALIAS resolution")
    assert "no-such-root.hints" in out.stderr


def test_listen_address_taken(tmp_path):
    """The TCP port is taken by another socket: the listen check fails."""
    port = conftest.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        out = run_serve(tmp_path, "--listen", f"127.0.0.1:{port}",
                        "--root-hints", os.path.join(conftest.ZONES_DIR, "alias", "root.hints"))
    assert_clean_failure(out, str(port))


def test_alias_without_a_resolver_is_said_at_start(tmp_path):
    """Issue 12 item 3: ALIAS records and no upstream nor root hints: one clear line
    at start (the server still runs; those names answer SERVFAIL)."""
    server = conftest.start_canon(tmp_path, {"example.com.": ZONE})
    try:
        lines = [line for line in server.logtext().splitlines() if "ALIAS:" in line]
        assert len(lines) == 1 and "neither upstream nor root-hints" in lines[0] \
            and "SERVFAIL" in lines[0], server.logtext()
    finally:
        server.stop()


OWN_ZONE = """$ORIGIN own.test.
$TTL 300
@    SOA ns1 hostmaster 1 7200 3600 1209600 300
@    NS  ns1
@    ALIAS www.own.test.
ns1  A   192.0.2.53
www  A   192.0.2.1
"""


def test_alias_to_a_served_zone_needs_no_resolver(tmp_path):
    """Issue 12 item 3: an ALIAS whose target is in a zone served here is answered
    from that zone, without an upstream, and the start says nothing about it."""
    zone = tmp_path / "own.zone"
    zone.write_text(OWN_ZONE)
    server = conftest.start_canon(tmp_path, {"own.test.": str(zone)})
    try:
        assert "ALIAS:" not in server.logtext(), server.logtext()
        r = dns.query.udp(dns.message.make_query("own.test.", "A"), "127.0.0.1",
                          port=server.port, timeout=2)
        assert r.rcode() == dns.rcode.NOERROR, r
        assert [rr.to_text() for rrset in r.answer for rr in rrset] == ["192.0.2.1"], r
    finally:
        server.stop()


def test_state_dir_is_made_at_first_start(tmp_path):
    """A state-dir that does not exist yet (nor its parent) is made, as knotd makes
    its storage: the journal and the control socket go in it, UPDATE works."""
    zone = tmp_path / "own.zone"
    zone.write_text(OWN_ZONE)
    state = tmp_path / "var" / "canon"
    key = ("state-key", "hmac-sha256", b64secret("state"))
    # --key before the --zone that names it.
    server = conftest.start_canon(tmp_path, {}, wait_qname="own.test.",
                                  extra_args=["--state-dir", str(state), "--key", ":".join(key),
                                              "--zone", f"own.test.={zone},update={key[0]}"])
    try:
        assert state.is_dir() and (state.stat().st_mode & 0o777) == 0o750
        assert (state / "canon.sock").exists(), server.logtext()
        update = dns.update.UpdateMessage("own.test.", keyring=keyring(key), keyname=key[0],
                                          keyalgorithm=key[1])
        update.add("new", 300, "A", "192.0.2.7")
        r = dns.query.tcp(update, "127.0.0.1", port=server.port, timeout=5)
        assert r.rcode() == dns.rcode.NOERROR, (r, server.logtext())
        assert "cannot be read" not in server.logtext(), server.logtext()
    finally:
        server.stop()


def test_state_dir_that_cannot_be_made_stops_the_start(tmp_path):
    """A state-dir below a plain file: exit 1, and the message names the path."""
    (tmp_path / "file").write_text("")
    out = run_serve(tmp_path, "--listen", f"127.0.0.1:{conftest.free_port()}",
                    "--state-dir", str(tmp_path / "file" / "state"),
                    "--root-hints", os.path.join(conftest.ZONES_DIR, "alias", "root.hints"))
    assert_clean_failure(out, f"state-dir {tmp_path / 'file' / 'state'}: cannot create")
