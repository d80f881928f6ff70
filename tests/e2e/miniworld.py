"""A mini-internet on loopback for `canon resolve`: its tests and its benchmark.

    World(tmp_path).start() ... .stop()       (or the module-scoped `world` fixture)

Every name server has its own address in 127.53.0.0/24 and listens on the
world's query port Q (one high port, checked free on every address) and, when
port 53 is free on all of them, on port 53 as well. canon resolve reaches the
servers on Q (`--query-port Q`); unbound, which has no setting for the port
of authoritative servers, reaches the very same processes on 53
(docs/resolver.md). The zones are tests/zones/world/*.zone:

    127.53.0.1   canon serve   .                    (root.hints points here)
    127.53.0.2   knotd         test.
    127.53.0.3   knotd         one.test three.test halflame.test fallback.test noglue.test
    127.53.0.4   canon serve   two.test target.test (REFUSED for lame.test, halflame.test)
    127.53.0.5   the liar      liar.test            (a dnspython server in a thread, below)
    127.53.0.9   a bound UDP socket nobody reads: never answers (dead.test, fallback.test ns1)
    127.53.0.10  nothing listens (unreach.test)

Resolvers under test listen on 127.53.0.53 (canon, free ports) and
127.53.0.54 (unbound). Every process has a time bound on start and stop, the
Python servers are daemon threads stopped by an event, and World.stop() undoes
everything start() did, also after a partial start.
"""
import contextlib
import os
import random
import selectors
import signal
import socket
import struct
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

import conftest
from conftest import CANON_BIN, ZONES_DIR, Server, need_tool
from refservers import write_knotd_conf

WORLD_ZONES = os.path.join(ZONES_DIR, "world")
ROOT_HINTS = os.path.join(WORLD_ZONES, "root.hints")

ROOT, TLD, KNOT, CANON, LIAR = "127.53.0.1", "127.53.0.2", "127.53.0.3", "127.53.0.4", "127.53.0.5"
BLACKHOLE, NOTHING = "127.53.0.9", "127.53.0.10"
RESOLVER, UNBOUND = "127.53.0.53", "127.53.0.54"
# Every address a server of the world uses (NOTHING must stay silent: checked free too).
WORLD_ADDRS = (ROOT, TLD, KNOT, CANON, LIAR, BLACKHOLE, NOTHING)

START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
TIMEOUT = 3.0  # one query of the harness


def zone(name):
    return os.path.join(WORLD_ZONES, name)


ZONES = {
    ROOT: {".": zone("root.zone")},
    TLD: {"test.": zone("test.zone")},
    KNOT: {
        "one.test.": zone("one.test.zone"),
        "three.test.": zone("three.test.zone"),
        "halflame.test.": zone("halflame.test.zone"),
        "fallback.test.": zone("fallback.test.zone"),
        "noglue.test.": zone("noglue.test.zone"),
    },
    CANON: {"two.test.": zone("two.test.zone"), "target.test.": zone("target.test.zone")},
}


# ---------------------------------------------------------------- ports


def _family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def port_free(addr, port):
    """True when both UDP and TCP port 'port' can be bound on 'addr' right now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(_family(addr), kind) as s:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def common_free_port(addrs, low=20000, high=60000):
    """A port free for UDP and TCP on every one of 'addrs', claimed for this
    process (conftest.claim_port), so a suite run beside this one cannot take it."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, high)
        if all(port_free(a, port) for a in addrs) and conftest.claim_port(port):
            return port
    raise RuntimeError(f"no port free on all of {', '.join(addrs)}")


def free_port_on(addr):
    """A port free for UDP and TCP on 'addr', claimed for this process (conftest.free_port)."""
    return conftest.free_port(addr)


# ---------------------------------------------------------------- queries


def make_query(qname, qtype="A", rd=True, payload=1232, edns=True):
    q = dns.message.make_query(qname, qtype)
    if not rd:
        q.flags &= ~dns.flags.RD
    if edns:
        q.use_edns(0, payload=payload)
    return q


def ask(addr, port, qname, qtype="A", tcp=False, timeout=TIMEOUT, **kw):
    """One query (RD set, EDNS 1232 unless told otherwise); the response message."""
    q = make_query(qname, qtype, **kw)
    if tcp:
        return dns.query.tcp(q, addr, port=port, timeout=timeout)
    return dns.query.udp(q, addr, port=port, timeout=timeout)


def wait_ready(addr, port, timeout=START_TIMEOUT, proc=None):
    """Poll with a CHAOS-class query (any answer will do: it starts no resolution)."""
    deadline = time.monotonic() + timeout
    q = dns.message.make_query("version.bind.", "TXT", rdclass=dns.rdataclass.CH)
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            dns.query.udp(q, addr, port=port, timeout=0.2)
            return True
        except Exception:
            time.sleep(0.05)
    return False


def wait_zones(addr, port, origins, timeout=START_TIMEOUT, proc=None):
    """Poll until every origin answers SOA with AA on addr:port; the ones that never did."""
    pending = list(origins)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        still = []
        for origin in pending:
            try:
                r = ask(addr, port, origin, "SOA", rd=False, timeout=0.3)
                if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
                    continue
            except Exception:
                pass
            still.append(origin)
        pending = still
        if pending:
            time.sleep(0.05)
    return pending


# ---------------------------------------------------------------- processes


def _failed(server, what):
    server.stop()
    with open(server.logpath, errors="replace") as f:
        log = f.read()
    raise RuntimeError(f"{what}\n--- {server.logpath} ---\n{log}")


def start_canon_serve(workdir, addr, ports, zones):
    argv = [CANON_BIN, "serve", "--workers", "1"]
    for port in ports:
        argv += ["--listen", f"{addr}:{port}"]
    for origin, path in zones.items():
        argv += ["--zone", f"{origin}={path}"]
    server = Server(argv, addr, ports[0], os.path.join(workdir, f"canon-serve-{addr}.log"))
    for port in ports:
        if wait_zones(addr, port, zones, proc=server.proc):
            _failed(server, f"canon serve on {addr}:{port} does not serve {', '.join(zones)}")
    return server


def start_knotd(workdir, addr, ports, zones):
    """knotd in the foreground, configured as in refservers.py, on 'addr' and every port."""
    base = os.path.join(workdir, f"knotd-{addr}")
    conf = write_knotd_conf(base, [f"{addr}@{p}" for p in ports], zones)
    server = Server([need_tool("knotd"), "-c", conf], addr, ports[0],
                    os.path.join(base, "knotd.log"))
    for port in ports:
        if wait_zones(addr, port, zones, proc=server.proc):
            _failed(server, f"knotd on {addr}:{port} does not serve {', '.join(zones)}")
    return server


def start_canon_resolve(workdir, query_port, addr=RESOLVER, port=None, hints=ROOT_HINTS,
                        forward=(), extra=(), binary=None):
    """canon resolve on addr:port (a free port unless given); a ready conftest.Server.
    'binary': another canon executable than CANON_BIN (the benchmark's --baseline)."""
    port = port or free_port_on(addr)
    listen = f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
    argv = [binary or CANON_BIN, "resolve", "--listen", listen]
    if forward:
        for f in forward:
            argv += ["--forward", f]
    else:
        argv += ["--root-hints", hints, "--query-port", str(query_port)]
    argv += list(extra)
    server = Server(argv, addr, port, os.path.join(workdir, f"canon-resolve-{addr}-{port}.log"))
    if not wait_ready(addr, port, proc=server.proc):
        _failed(server, f"canon resolve did not answer on {addr}:{port}")
    return server


def unbound_available():
    return os.path.exists("/usr/sbin/unbound")


def start_unbound(workdir, addr=UNBOUND, port=None, hints=ROOT_HINTS, extra=()):
    """unbound, iterator only, one thread, on addr:port; servers asked on port 53."""
    port = port or free_port_on(addr)
    base = os.path.join(workdir, f"unbound-{addr}-{port}")
    os.makedirs(base, exist_ok=True)
    lines = [
        "server:",
        f"    interface: {addr}@{port}",
        f"    port: {port}",
        "    do-ip4: yes",
        "    do-ip6: no",
        "    num-threads: 1",
        '    username: ""',
        '    chroot: ""',
        f'    directory: "{base}"',
        f'    pidfile: "{os.path.join(base, "unbound.pid")}"',
        "    use-syslog: no",
        f'    logfile: "{os.path.join(base, "unbound.log")}"',
        "    verbosity: 1",
        f'    root-hints: "{hints}"',
        # The world's servers are all on 127.53.0.0/8.
        "    do-not-query-localhost: no",
        # unbound answers test. itself by default (RFC 6761 §6.2); here it is a real TLD.
        '    local-zone: "test." nodefault',
        # No DNSSEC: the world is unsigned, and canon does not validate.
        '    module-config: "iterator"',
        "    access-control: 127.0.0.0/8 allow",
        "    ede: yes",
        # unbound drops the reply to a query older than 1.9 s (the client will have
        # retried); the tests send each query once and want the answer.
        "    discard-timeout: 0",
        "    so-reuseport: no",
        *[f"    {line}" for line in extra],
        "remote-control:",
        "    control-enable: no",
    ]
    conf = os.path.join(base, "unbound.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    server = Server(["/usr/sbin/unbound", "-d", "-c", conf], addr, port,
                    os.path.join(base, "unbound.stderr"))
    server.workdir = base
    if not wait_ready(addr, port, proc=server.proc):
        _failed(server, f"unbound did not answer on {addr}:{port} "
                        f"(log: {os.path.join(base, 'unbound.log')})")
    return server


# ---------------------------------------------------------------- Python servers


class ScriptedServer:
    """A DNS server in a daemon thread: UDP and TCP on addr, each of 'ports'.

    respond(query, port) returns the response message (or None: no answer).
    Every query is logged as (port, transport, qname, qtype) in .log."""

    def __init__(self, addr, ports, respond):
        self.addr, self.ports, self.respond = addr, list(ports), respond
        self.log = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._socks = []
        family = _family(addr)
        for port in self.ports:
            u = socket.socket(family, socket.SOCK_DGRAM)
            u.bind((addr, port))
            t = socket.socket(family, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((addr, port))
            t.listen(16)
            for s, kind in ((u, "udp"), (t, "tcp")):
                s.setblocking(False)
                self._socks.append(s)
                self._sel.register(s, selectors.EVENT_READ, (kind, port))
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"scripted-{addr}")
        self._thread.start()

    def queries(self, port=None):
        with self._lock:
            return [e for e in self.log if port is None or e[0] == port]

    def _answer(self, wire, port, transport):
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return None
        if not q.question:
            return None
        with self._lock:
            self.log.append((port, transport, q.question[0].name.to_text().lower(),
                             dns.rdatatype.to_text(q.question[0].rdtype)))
        r = self.respond(q, port)
        if r is None:
            return None
        size = 65535 if transport == "tcp" else max(512, q.payload if q.edns >= 0 else 512)
        try:
            return r.to_wire(max_size=size)
        except dns.exception.TooBig:
            r = dns.message.make_response(q)
            r.flags |= dns.flags.TC
            return r.to_wire()

    def _tcp(self, conn, port):
        conn.settimeout(1.0)
        try:
            while not self._stop.is_set():
                head = conn.recv(2)
                if len(head) < 2:
                    return
                (length,) = struct.unpack("!H", head)
                wire = b""
                while len(wire) < length:
                    chunk = conn.recv(length - len(wire))
                    if not chunk:
                        return
                    wire += chunk
                out = self._answer(wire, port, "tcp")
                if out is not None:
                    conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            return
        finally:
            conn.close()

    def _run(self):
        while not self._stop.is_set():
            for key, _ in self._sel.select(timeout=0.1):
                kind, port = key.data
                try:
                    if kind == "udp":
                        wire, peer = key.fileobj.recvfrom(65535)
                        out = self._answer(wire, port, "udp")
                        if out is not None:
                            key.fileobj.sendto(out, peer)
                    else:
                        conn, _ = key.fileobj.accept()
                        conn.setblocking(True)
                        self._tcp(conn, port)
                except (BlockingIOError, OSError):
                    continue

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=STOP_TIMEOUT)
        for s in self._socks:
            self._sel.unregister(s)
            s.close()
        self._sel.close()


def _rrset(owner, ttl, rtype, *rdatas):
    return dns.rrset.from_text(owner, ttl, "IN", rtype, *rdatas)


LIAR_ZONE = dns.name.from_text("liar.test.")
LIAR_TARGET = dns.name.from_text("target.test.")
LIAR_SOA = _rrset("liar.test.", 60, "SOA",
                  "ns.liar.test. hostmaster.liar.test. 1 3600 900 604800 60")
LIE = "6.6.6.6"
# NXNSAttack: names under nxns.liar.test are referred to NXNS_COUNT glueless name
# servers whose names do not exist (under sink.liar.test).
NXNS_ZONE = dns.name.from_text("nxns.liar.test.")
NXNS_SINK = dns.name.from_text("sink.liar.test.")
NXNS_COUNT = 50
# v6.liar.test is served on [::1] only: its NS nsv6.liar.test has an AAAA and no A.
V6_ZONE = dns.name.from_text("v6.liar.test.")
V6_NS = dns.name.from_text("nsv6.liar.test.")
V6_ADDR = "192.0.2.66"


def liar_respond(q, port):
    """liar.test's server, which also claims target.test (see tests/e2e/test_resolve.py).

    www.liar.test: CNAME victim.target.test plus, in the same answer, an
    out-of-bailiwick victim.target.test A 6.6.6.6, an NS for target.test in
    AUTHORITY and its glue (this server) in ADDITIONAL. Asked about target.test
    names directly, it claims to be authoritative and says 6.6.6.6."""
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    name, rdtype = q.question[0].name, q.question[0].rdtype
    if name == dns.name.from_text("www.liar.test."):
        r.answer.append(_rrset(name, 300, "CNAME", "victim.target.test."))
        r.answer.append(_rrset("victim.target.test.", 86400, "A", LIE))
        r.authority.append(_rrset("target.test.", 86400, "NS", "ns.target.test."))
        r.additional.append(_rrset("ns.target.test.", 86400, "A", LIAR))
    elif name.is_subdomain(LIAR_TARGET):
        if rdtype == dns.rdatatype.A and name != LIAR_TARGET:
            r.answer.append(_rrset(name, 86400, "A", LIE))
        elif rdtype == dns.rdatatype.NS and name == LIAR_TARGET:
            r.answer.append(_rrset(name, 86400, "NS", "ns.target.test."))
            r.additional.append(_rrset("ns.target.test.", 86400, "A", LIAR))
    elif name == LIAR_ZONE:
        if rdtype == dns.rdatatype.SOA:
            r.answer.append(LIAR_SOA)
        elif rdtype == dns.rdatatype.NS:
            r.answer.append(_rrset(name, 60, "NS", "ns.liar.test."))
        else:
            r.authority.append(LIAR_SOA)
    elif name.is_subdomain(NXNS_ZONE):
        r.flags &= ~dns.flags.AA
        r.authority.append(_rrset(NXNS_ZONE, 60, "NS", *(f"ns{i}.{NXNS_SINK}"
                                                         for i in range(NXNS_COUNT))))
    elif name.is_subdomain(V6_ZONE):
        r.flags &= ~dns.flags.AA
        r.authority.append(_rrset(V6_ZONE, 60, "NS", V6_NS.to_text()))
    elif name == V6_NS:
        if rdtype == dns.rdatatype.AAAA:
            r.answer.append(_rrset(name, 60, "AAAA", "::1"))
        else:
            r.authority.append(LIAR_SOA)
    elif name == dns.name.from_text("ns.liar.test."):
        if rdtype == dns.rdatatype.A:
            r.answer.append(_rrset(name, 60, "A", LIAR))
        else:
            r.authority.append(LIAR_SOA)
    elif name.is_subdomain(LIAR_ZONE):
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(LIAR_SOA)
    else:
        r.flags &= ~dns.flags.AA
        r.set_rcode(dns.rcode.REFUSED)
    return r


def v6_respond(q, port):
    """v6.liar.test's own server, on [::1]: every name has A V6_ADDR."""
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    name, rdtype = q.question[0].name, q.question[0].rdtype
    if not name.is_subdomain(V6_ZONE):
        r.flags &= ~dns.flags.AA
        r.set_rcode(dns.rcode.REFUSED)
    elif rdtype == dns.rdatatype.A:
        r.answer.append(_rrset(name, 60, "A", V6_ADDR))
    return r


class Blackhole:
    """UDP sockets bound on addr that nobody reads: queries sent there vanish."""

    def __init__(self, addr, ports):
        self.socks = []
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, port))
            self.socks.append(s)

    def stop(self):
        for s in self.socks:
            s.close()


# ---------------------------------------------------------------- the world


def wait_stopped(pid, timeout=STOP_TIMEOUT):
    """Wait until every thread of pid is stopped (state T). kill(SIGSTOP) returns
    before that: a busy machine left knotd answering for a while after it (seen
    in 1 of 6 tries), and a paused world must answer nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = []
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            return  # Gone: it answers nothing either.
        if all(st in ("T", "t") for st in states):
            return
        time.sleep(0.001)
    raise RuntimeError(f"process {pid} did not stop within {timeout} s of SIGSTOP")


class World:
    """The servers of tests/zones/world on 127.53.0.0/24 (see the module's docstring)."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.query_port = None
        self.port53 = False     # also on port 53 (for unbound)
        self.why_no_53 = ""
        self.processes = {}     # address -> conftest.Server
        self.liar = None
        self.blackhole = None

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.query_port = common_free_port(WORLD_ADDRS)
        busy = [a for a in WORLD_ADDRS if not port_free(a, 53)]
        self.port53 = not busy
        if busy:
            self.why_no_53 = f"port 53 is not free on {', '.join(busy)}"
        ports = [self.query_port] + ([53] if self.port53 else [])
        self.blackhole = Blackhole(BLACKHOLE, ports)
        self.liar = ScriptedServer(LIAR, ports, liar_respond)
        self.processes[ROOT] = start_canon_serve(self.workdir, ROOT, ports, ZONES[ROOT])
        self.processes[TLD] = start_knotd(self.workdir, TLD, ports, ZONES[TLD])
        self.processes[KNOT] = start_knotd(self.workdir, KNOT, ports, ZONES[KNOT])
        self.processes[CANON] = start_canon_serve(self.workdir, CANON, ports, ZONES[CANON])

    def stop(self):
        for addr in list(self.processes):
            server = self.processes.pop(addr)
            with contextlib.suppress(Exception):
                os.kill(server.proc.pid, signal.SIGCONT)
            server.stop()
        for part in (self.liar, self.blackhole):
            if part is not None:
                part.stop()
        self.liar = self.blackhole = None

    @contextlib.contextmanager
    def paused(self, *addrs):
        """SIGSTOP the world's server processes (all of them by default), SIGCONT after.

        While paused they answer nothing: an answer is from the resolver's cache."""
        servers = [self.processes[a] for a in (addrs or self.processes)]
        for s in servers:
            os.kill(s.proc.pid, signal.SIGSTOP)
        for s in servers:
            wait_stopped(s.proc.pid)
        try:
            yield
        finally:
            for s in servers:
                os.kill(s.proc.pid, signal.SIGCONT)

    def resolver(self, **kw):
        """A new canon resolve (cold cache) for this world; the caller stops it."""
        return start_canon_resolve(self.workdir, self.query_port, **kw)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("world")).start()
    yield w
    w.stop()
