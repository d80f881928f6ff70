"""dnstap query logging (issue 13, Logs): `canon serve --dnstap`.

A real collector (fstrm_capture, from fstrm-bin) listens on a unix socket;
canon logs to it; BIND's dnstap-read decodes what was captured. The queries
and responses sent with dnspython over UDP and TCP must all be there, as
AUTH_QUERY and AUTH_RESPONSE, with their names, types, transport and answers.
A second test writes straight to a file (Knot's sink semantics: a path is a
file, unix:PATH a socket) with dnstap-log-queries off. Bounded: a few queries,
~10 s a test.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_dnstap.py
"""
import os
import re
import shutil
import subprocess
import time

import dns.rcode
import pytest

import conftest

ZONE = os.path.join(conftest.EXAMPLES_DIR, "example.test.zone")
ORIGIN = "example.test."
# (name, type, over TCP): answers from the bundled example zone.
QUERIES = [
    ("www.example.test.", "A", False),
    ("shop.example.test.", "A", False),
    ("www.example.test.", "AAAA", True),
    ("nonexistent.example.test.", "TXT", True),
    ("example.test.", "SOA", False),
]


def read_dnstap(path):
    """dnstap-read -y's YAML, one dict per message: type, protocol, question, status, answers."""
    reader = conftest.need_tool("dnstap-read")
    out = subprocess.run([reader, "-y", str(path)], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    messages = []
    for doc in out.stdout.split("\n---\n"):
        kind = re.search(r"^  type: (\w+)$", doc, re.M)
        if kind is None:
            continue
        question = re.search(r"^\s+- '(\S+) IN (\w+)'$", doc, re.M)
        messages.append({
            "type": kind.group(1),
            "protocol": re.search(r"^  socket_protocol: (\w+)$", doc, re.M).group(1),
            "address": re.search(r'^  query_address: "?([^"\n]+)"?$', doc, re.M).group(1),
            "question": (question.group(1), question.group(2)) if question else None,
            "status": re.search(r"^    status: (\w+)$", doc, re.M).group(1),
            "answers": int(re.search(r"^    ANSWER: (\d+)$", doc, re.M).group(1)),
        })
    return messages


def ask_all(server):
    """Send QUERIES; the (name, type, protocol) -> (rcode, answer count) each got."""
    got = {}
    for name, qtype, tcp in QUERIES:
        r = server.query(name, qtype, tcp=tcp)
        got[(name, qtype, "TCP" if tcp else "UDP")] = (dns.rcode.to_text(r.rcode()),
                                                        sum(len(s) for s in r.answer))
    return got


def wait_for_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not os.path.exists(path):
        time.sleep(0.05)
    return os.path.exists(path)


def test_dnstap_to_fstrm_capture_logs_queries_and_responses(tmp_path, track):
    capture = shutil.which("fstrm_capture")
    if capture is None:
        pytest.skip("fstrm_capture is not installed (package fstrm-bin: scripts/deps test)")
    sock, out = tmp_path / "dnstap.sock", tmp_path / "capture.tap"
    collector = subprocess.Popen([capture, "-t", "protobuf:dnstap.Dnstap", "-u", str(sock),
                                  "-w", str(out)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    try:
        assert wait_for_file(sock), "fstrm_capture did not open its socket"
        server = track(conftest.start_canon(tmp_path, {ORIGIN: ZONE}, workers=2,
                                            extra_args=["--dnstap", f"unix:{sock}"]))
        got = ask_all(server)
        server.stop()  # Flushes the queues and closes the stream.
        assert "dnstap: logging queries and responses" in open(server.logpath).read()
    finally:
        collector.terminate()
        collector.wait(timeout=10)
    messages = read_dnstap(out)
    for kind, name in (("AUTH_QUERY", "query"), ("AUTH_RESPONSE", "response")):
        logged = {(m["question"][0], m["question"][1], m["protocol"])
                  for m in messages if m["type"] == kind}
        assert logged >= set(got), f"{name}s missing from the dnstap log: {set(got) - logged}"
    responses = {(m["question"][0], m["question"][1], m["protocol"]): (m["status"], m["answers"])
                 for m in messages if m["type"] == "AUTH_RESPONSE"}
    for key, answer in got.items():
        assert responses[key] == answer, key
    assert {m["address"] for m in messages} == {"127.0.0.1"}
    assert responses[("nonexistent.example.test.", "TXT", "TCP")][0] == "NXDOMAIN"


def test_dnstap_file_with_queries_off_has_responses_only(tmp_path, track):
    path = tmp_path / "canon.tap"
    conf = tmp_path / "canon.conf"
    conf.write_text("dnstap: canon.tap   # relative to this file\n"
                    "dnstap-log-queries: off\n"
                    "dnstap-log-responses: on\n")
    server = track(conftest.start_canon(tmp_path, {ORIGIN: ZONE}, extra_args=["-c", str(conf)]))
    got = ask_all(server)
    server.stop()
    messages = read_dnstap(path)
    assert {m["type"] for m in messages} == {"AUTH_RESPONSE"}
    logged = {(m["question"][0], m["question"][1], m["protocol"]) for m in messages}
    assert logged >= set(got)


@pytest.mark.parametrize("setting,error", [
    ("dnstap: unix:", "dnstap: needs a FILE or unix:PATH"),
    ("dnstap-log-queries: maybe", "dnstap-log-queries: must be on or off"),
    ("dnstap-log-responses: 1", "dnstap-log-responses: must be on or off"),
    ("dnstap: unix:/" + "d" * 120, "dnstap: the socket's path is longer than"),
])
def test_bad_dnstap_setting_is_refused_naming_the_line(tmp_path, setting, error):
    conf = tmp_path / "canon.conf"
    conf.write_text(f"zone: {ORIGIN} {ZONE}\n{setting}\n")
    port = conftest.free_port()
    p = subprocess.run([conftest.CANON_BIN, "serve", "-l", f"127.0.0.1:{port}", "-c", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert f"{conf}:2: {error}" in p.stderr


def test_dnstap_file_that_cannot_be_written_stops_the_start(tmp_path):
    port = conftest.free_port()
    bad = tmp_path / "no-such-dir" / "canon.tap"
    p = subprocess.run([conftest.CANON_BIN, "serve", "-l", f"127.0.0.1:{port}", "-z",
                        f"{ORIGIN}={ZONE}", "--dnstap", str(bad)],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert f"dnstap: cannot write {bad}: No such file or directory" in p.stdout + p.stderr
