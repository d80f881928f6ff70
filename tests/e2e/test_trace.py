"""canon dig +trace: the delegation walk from the root to the answer.

A three-level world (root, test., example.test.) served by canon on
127.0.0.2-4, all on one free port: +trace must print each zone's referral and
end with the answer from the leaf's server, as dig +trace does.
"""
import re
import socket
import subprocess

import pytest

from conftest import CANON_BIN, Server, wait_for_dns

ZONES = {
    ".": ("127.0.0.2", """$TTL 3600
.        SOA rootns. h. 1 3600 600 86400 60
.        NS  rootns.
rootns.  A   127.0.0.2
test.    NS  ns.test.
ns.test. A   127.0.0.3
"""),
    "test.": ("127.0.0.3", """$ORIGIN test.
$TTL 3600
@    SOA ns h 1 3600 600 86400 60
@    NS  ns
ns   A   127.0.0.3
example NS ns.example
ns.example A 127.0.0.4
"""),
    "example.test.": ("127.0.0.4", """$ORIGIN example.test.
$TTL 300
@    SOA ns h 1 3600 600 86400 60
@    NS  ns
ns   A   127.0.0.4
www  A   192.0.2.7
"""),
}


def port_free_everywhere(addrs):
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.2", 0))
            port = probe.getsockname()[1]
        try:
            for addr in addrs:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind((addr, port))
            return port
        except OSError:
            continue
    pytest.fail("no port free on every address")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trace")
    port = port_free_everywhere([addr for addr, _ in ZONES.values()])
    servers = []
    for origin, (addr, text) in ZONES.items():
        path = tmp / (origin.strip(".") or "root")
        path.write_text(text)
        argv = [CANON_BIN, "serve", "--listen", f"{addr}:{port}", "--workers", "1",
                "--zone", f"{origin}={path}"]
        servers.append(Server(argv, addr, port, str(tmp / f"{addr}.log")))
        assert wait_for_dns(addr, port, qname=origin), open(servers[-1].logpath).read()
    yield port
    for s in servers:
        s.stop()


def test_trace_walks_every_cut(world):
    out = subprocess.run([CANON_BIN, "dig", "@127.0.0.2", "-p", str(world),
                          "www.example.test", "A", "+trace"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    steps = re.findall(r"^;; Received \d+ bytes from (\S+?)#\d+\((\S+)\) in \d+ ms$",
                       out.stdout, re.M)
    # The root NS set from the first server, then root, test. and example.test.
    assert [s[0] for s in steps] == ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert [s[1] for s in steps[1:]] == ["rootns.", "ns.test.", "ns.example.test."]
    records = re.findall(r"^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(\S+)$", out.stdout, re.M)
    assert ("test.", "3600", "NS", "ns.test.") in records
    assert ("example.test.", "3600", "NS", "ns.example.test.") in records
    assert records[-1] == ("www.example.test.", "300", "A", "192.0.2.7")


def test_trace_ends_at_a_negative_answer(world):
    # nowhere. is not delegated: the root's NXDOMAIN (with its SOA) ends the walk.
    out = subprocess.run([CANON_BIN, "dig", "@127.0.0.2", "-p", str(world), "x.nowhere", "A",
                          "+trace", "+timeout=1", "+tries=1"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0
    assert re.search(r"^\.\s+\d+\s+IN\s+SOA\s", out.stdout, re.M), out.stdout
