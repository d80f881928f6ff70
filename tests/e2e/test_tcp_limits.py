"""TCP slots under abuse (issue 14): slowloris, idle and many-per-address clients.

One `canon serve` per test, one worker, a small tcp-max-clients (20), so every
slot is its own. Clients come from distinct loopback addresses (127.0.x.y) where
the per-address cap (a quarter of a worker's slots, 5 here) must not get in the
way. Bounded: at most 40 sockets and ~10 s a test; every socket is closed at
the end.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_tcp_limits.py
"""
import os
import select
import socket
import struct
import subprocess
import time

import dns.message
import dns.query
import dns.rcode

import conftest

ZONE = os.path.join(conftest.EXAMPLES_DIR, "example.test.zone")
ORIGIN = "example.test."
MAX_CLIENTS = 20
PER_ADDR = MAX_CLIENTS // 4  # TCP_PER_ADDR_SHARE in src/serve/worker.h
MSG_DEADLINE = 5.0  # TCP_MSG_DEADLINE_MS in src/serve/tcp.c


def start(tmp_path, *args):
    return conftest.start_canon(
        tmp_path, {ORIGIN: ZONE}, extra_args=["--tcp-max-clients", str(MAX_CLIENTS), *args]
    )


def connect(server, source):
    s = socket.create_connection((server.addr, server.port), timeout=2, source_address=(source, 0))
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """True once the server has closed 's' (FIN or RST); never blocks."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        return bool(r) and s.recv(4096) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def ask_tcp(server, source="127.0.0.1", timeout=2.0):
    """SOA query over TCP from 'source'; the answer, within 'timeout' seconds."""
    q = dns.message.make_query(ORIGIN, "SOA")
    return dns.query.tcp(q, server.addr, port=server.port, timeout=timeout, source=source)


def test_slowloris_is_evicted_and_cut_by_the_message_deadline(tmp_path):
    server = start(tmp_path)
    # Each one promises a 100-octet message and sends it a byte every 0.5 s.
    wire = struct.pack("!H", 100) + b"\0" * 100
    conns = [connect(server, f"127.0.1.{i + 1}") for i in range(MAX_CLIENTS)]
    opened = time.monotonic()
    sent = 0
    closed_at = {}
    try:

        def trickle():
            nonlocal sent
            for i, s in enumerate(conns):
                if i in closed_at:
                    continue
                if closed_by_peer(s):
                    closed_at[i] = time.monotonic() - opened
                    continue
                try:
                    s.send(wire[sent : sent + 1])
                except OSError:
                    closed_at[i] = time.monotonic() - opened
            sent += 1

        trickle()
        time.sleep(0.5)
        trickle()
        # Every slot is held: a new client still gets its answer (the longest idle goes).
        t0 = time.monotonic()
        reply = ask_tcp(server)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer
        assert time.monotonic() - t0 < 2.0
        while len(closed_at) < len(conns) and time.monotonic() - opened < MSG_DEADLINE + 4:
            time.sleep(0.5)
            trickle()
        # Bytes every 0.5 s do not keep a message alive past its deadline.
        assert len(closed_at) == len(conns), f"still open: {len(conns) - len(closed_at)}"
        late = [t for t in closed_at.values() if t >= MSG_DEADLINE - 1]
        assert len(late) >= len(conns) - 2, closed_at  # not cut per byte before the deadline
        assert server.alive()
        assert ask_tcp(server).rcode() == dns.rcode.NOERROR
    finally:
        for s in conns:
            s.close()
        server.stop()


def test_per_address_cap_does_not_lock_others_out(tmp_path):
    server = start(tmp_path)
    extra = 10
    conns = []
    try:
        conns = [connect(server, "127.0.0.2") for _ in range(PER_ADDR + extra)]
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            open_ = [s for s in conns if not closed_by_peer(s)]
            if len(open_) <= PER_ADDR:
                break
            time.sleep(0.1)
        # The extra connections of 127.0.0.2 were refused; the first ones stay.
        assert sum(1 for s in conns if not closed_by_peer(s)) == PER_ADDR
        assert ask_tcp(server, source="127.0.0.3").rcode() == dns.rcode.NOERROR
        assert ask_tcp(server).rcode() == dns.rcode.NOERROR
        assert sum(1 for s in conns[:PER_ADDR] if not closed_by_peer(s)) == PER_ADDR
    finally:
        for s in conns:
            s.close()
        server.stop()


def test_idle_connection_closed_after_timeout(tmp_path):
    # The settings from a config file (tcp-idle-timeout: 1) this time.
    conf = tmp_path / "canon.conf"
    conf.write_text(f"tcp-max-clients: {MAX_CLIENTS}\ntcp-idle-timeout: 1\n")
    server = conftest.start_canon(tmp_path, {ORIGIN: ZONE}, extra_args=["-c", str(conf)])
    silent = busy = None
    try:
        silent = connect(server, "127.0.0.4")
        busy = connect(server, "127.0.0.5")
        q = dns.message.make_query(ORIGIN, "SOA").to_wire()
        busy.setblocking(True)
        busy.settimeout(2)
        busy.sendall(struct.pack("!H", len(q)) + q)
        (length,) = struct.unpack("!H", busy.recv(2))
        assert length > 0
        while length > 0:
            length -= len(busy.recv(length))
        busy.setblocking(False)
        answered = time.monotonic()
        closed = {}
        while len(closed) < 2 and time.monotonic() - answered < 4:
            for name, s in (("silent", silent), ("busy", busy)):
                if name not in closed and closed_by_peer(s):
                    closed[name] = time.monotonic() - answered
            time.sleep(0.1)
        assert set(closed) == {"silent", "busy"}, closed
        assert closed["busy"] >= 0.9  # idle counts from the last answer
        assert server.alive()
    finally:
        for s in (silent, busy):
            if s is not None:
                s.close()
        server.stop()


def test_bad_settings_are_refused(tmp_path):
    for args in (["--tcp-max-clients", "0"], ["--tcp-idle-timeout", "x"]):
        r = subprocess.run(
            [conftest.CANON_BIN, "serve", "--zone", f"{ORIGIN}={ZONE}", *args],
            capture_output=True, text=True, timeout=10,
        )
        assert r.returncode == 2 and args[0] in r.stderr, r.stderr
    conf = tmp_path / "bad.conf"
    conf.write_text("tcp-idle-timeout: 0\n")
    r = subprocess.run(
        [conftest.CANON_BIN, "serve", "-c", str(conf)], capture_output=True, text=True, timeout=10
    )
    assert r.returncode == 2 and "tcp-idle-timeout" in r.stderr, r.stderr
