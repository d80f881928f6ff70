"""Shared fixtures for end-to-end tests: start real servers on loopback, query them.

Every server binds 127.0.0.1 on a port picked free at start, runs under a time
bound, and is killed when its test ends.
"""
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import pytest

SOURCE_DIR = os.environ.get(
    "CANON_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
)
CANON_BIN = os.environ.get("CANON_BIN", os.path.join(SOURCE_DIR, "build", "canon"))
ZONES_DIR = os.path.join(SOURCE_DIR, "tests", "zones")
EXAMPLES_DIR = os.path.join(SOURCE_DIR, "examples")


# Ports for test servers: below the kernel's ephemeral range (32768-60999 by
# default), so that no outgoing connection and no other suite's port-0 bind
# takes one between its pick and its use. Each process starts at its own
# place in the range (from its pid) and walks on from there, and every port it
# hands out is claimed with an flock on PORT_LOCK_DIR/PORT, held until the
# process ends: suites run side by side never hand out the same port, and a
# claim of a dead process goes with it.
PORT_LOW, PORT_HIGH = 10000, 32000
PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "canon-test-ports")
_claimed = {}       # port -> the open lock file (kept for this process's life)
_next_port = None   # offset in the range where the next search starts


def _bindable(addr, port):
    """True when UDP and TCP port 'port' can be bound on 'addr' right now."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as s:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def claim_port(port):
    """Claim 'port' for this process across processes; False if another holds it."""
    if port in _claimed:
        return False
    os.makedirs(PORT_LOCK_DIR, mode=0o1777, exist_ok=True)
    fd = os.open(os.path.join(PORT_LOCK_DIR, str(port)), os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _claimed[port] = fd
    return True


def free_port(addr="127.0.0.1"):
    """A port free for both UDP and TCP on 'addr', claimed for this process."""
    global _next_port
    span = PORT_HIGH - PORT_LOW
    if _next_port is None:
        _next_port = (os.getpid() * 7919) % span
    for _ in range(span):
        port = PORT_LOW + _next_port
        _next_port = (_next_port + 1) % span
        if port not in _claimed and _bindable(addr, port) and claim_port(port):
            return port
    raise RuntimeError(f"no free port on {addr} in {PORT_LOW}-{PORT_HIGH}")


def wait_for_dns(addr, port, timeout=10.0, qname="."):
    """Poll until something answers a DNS query on addr:port (any rcode)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            dns.query.udp(dns.message.make_query(qname, "SOA"), addr, port=port, timeout=0.2)
            return True
        except Exception:
            time.sleep(0.05)
    return False


def wait_for_tcp(port, addr="127.0.0.1", timeout=10.0):
    """Poll until something accepts TCP connections on addr:port; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((addr, port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A running process that answers DNS on addr:port."""

    def __init__(self, argv, addr, port, logpath, env=None):
        self.addr, self.port, self.logpath = addr, port, logpath
        self.log = open(logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def query(self, qname, qtype="A", tcp=False, timeout=3.0, **kw):
        msg = dns.message.make_query(qname, qtype, **kw)
        msg.flags &= ~dns.flags.RD
        if tcp:
            return dns.query.tcp(msg, self.addr, port=self.port, timeout=timeout)
        return dns.query.udp(msg, self.addr, port=self.port, timeout=timeout)

    def send(self, msg, tcp=False, timeout=3.0):
        if tcp:
            return dns.query.tcp(msg, self.addr, port=self.port, timeout=timeout)
        return dns.query.udp(msg, self.addr, port=self.port, timeout=timeout)

    def logtext(self):
        self.log.flush()
        with open(self.logpath) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


def start_canon(tmp_path, zones, extra_args=(), wait_qname=None, workers=1):
    """Start `canon serve` for {origin: zonefile}; returns a ready Server."""
    port = free_port()
    argv = [CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", str(workers)]
    for origin, path in zones.items():
        argv += ["--zone", f"{origin}={path}"]
    argv += list(extra_args)
    server = Server(argv, "127.0.0.1", port, str(tmp_path / f"canon-{port}.log"))
    if not wait_for_dns("127.0.0.1", port, qname=wait_qname or next(iter(zones), ".")):
        server.stop()
        raise RuntimeError("canon serve did not answer:\n" + open(server.logpath).read())
    return server


@pytest.fixture
def canon_factory(tmp_path):
    """Start any number of canon servers in a test; all are stopped at its end."""
    servers = []

    def start(zones, **kw):
        s = start_canon(tmp_path, zones, **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def track():
    """track(server) registers a started server; all are stopped at the end."""
    started = []

    def add(server):
        started.append(server)
        return server

    yield add
    for s in reversed(started):
        s.stop()


def need_tool(name):
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/deps")
    return path
