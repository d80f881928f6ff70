#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""canon benchmark, zones that change (issue 10): canon vs knotd vs named.

Run through `bench/run --changes` (see bench/README.md). Three measurements,
one table:
  1. durable UPDATEs per second: each server is the primary of a small zone
     with TSIG (hmac-sha256) and its journal on disk, synced; 1 client, then
     8 client processes at once, each sending one signed UPDATE (one new A
     record) at a time and waiting for its NOERROR;
  2. AXFR of the 100k-name zone (bench/genzone.py) from canon and knotd:
     kdig, TSIG-signed, median of 3, and the record count of both;
  3. convergence: canon (then knotd) as the primary with NOTIFY to a knotd,
     an nsd and a named secondary; time from an UPDATE's acknowledgement
     until all three secondaries answer the new record.
"""
import argparse
import base64
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "changes")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)

try:
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.tsig
    import dns.update
except ImportError:
    sys.exit("changes_bench: dnspython is missing: run scripts/deps (needs python3-dnspython)")

import bench  # noqa: E402  (process helpers, table printing)
import genzone  # noqa: E402
from bench import log, warn, CLK_TCK, BUSY_PCT  # noqa: E402

ORIGIN = genzone.ORIGIN
KEY_NAME = "bench-key."
KEY_ALG = "hmac-sha256"
KEY_SECRET = base64.b64encode(b"canon-bench-changes-tsig-secret!").decode()
KEY = (KEY_NAME, KEY_ALG, KEY_SECRET)
SERVERS = ("canon", "knotd", "named")
POLL_S = 0.005
CONVERGE_TIMEOUT = 10.0
CONVERGE_GAP = 1.0  # seconds between the timed updates


def tool(name):
    p = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if not p:
        raise StartFailed(f"{name} is not installed (scripts/deps)")
    return p


def q(s):
    if '"' in s or "\n" in s:
        raise ValueError(f"unsupported character in config value: {s!r}")
    return f'"{s}"'


class StartFailed(Exception):
    pass


# ---------------------------------------------------------------- daemons


def soa_serial(port, timeout=0.3):
    """SOA serial served with AA on 127.0.0.1:port, or None."""
    try:
        m = dns.message.make_query(ORIGIN, "SOA")
        m.flags &= ~dns.flags.RD
        r = dns.query.udp(m, "127.0.0.1", port=port, timeout=timeout)
    except Exception:
        return None
    if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA:
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
    return None


def answers(port):
    """Anything answers a query on 127.0.0.1:port (any rcode)."""
    try:
        dns.query.udp(dns.message.make_query(ORIGIN, "SOA"), "127.0.0.1", port=port, timeout=0.2)
        return True
    except Exception:
        return False


def start_daemon(name, argv, port, workdir, timeout, zone=True):
    """Start argv (logging into workdir/NAME.log), wait until ORIGIN's SOA is
    served with AA (zone=False: until it answers at all, for a secondary that
    has yet to transfer the zone). Raises StartFailed with the log's tail."""
    import conftest

    srv = conftest.Server(argv, "127.0.0.1", port, os.path.join(workdir, f"{name}.log"))
    srv.name = name
    bench._children.append(srv)
    deadline = time.monotonic() + timeout
    while srv.alive() and time.monotonic() < deadline:
        if (soa_serial(port) is not None) if zone else answers(port):
            return srv
        time.sleep(0.05)
    why = f"exited with status {srv.proc.poll()}" if not srv.alive() else \
        f"did not {'serve ' + ORIGIN if zone else 'answer'} within {timeout:.0f} s"
    srv.stop()
    bench._children.remove(srv)
    tail = "".join(open(srv.logpath, errors="replace").readlines()[-20:])
    raise StartFailed(f"{name} {why}; command: {' '.join(argv)}\n--- {srv.logpath} (tail) ---\n{tail}")


def stop(srv):
    if srv is None:
        return
    srv.stop()
    if srv in bench._children:
        bench._children.remove(srv)


def fresh_dir(*parts):
    d = os.path.join(OUT, *parts)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def start_canon(args, zonefile, workdir, port, notify=(), timeout=60):
    if not os.access(args.canon_bin, os.X_OK):
        raise StartFailed(f"{args.canon_bin} does not exist (build it with `make build`)")
    state = os.path.join(workdir, "state")
    os.makedirs(state, exist_ok=True)
    zopt = f"{ORIGIN}={zonefile},update={KEY_NAME},transfer={KEY_NAME},127.0.0.1/32"
    if notify:
        zopt += ",notify=" + ",".join(f"127.0.0.1:{p}" for p in notify)
    argv = [args.canon_bin, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1",
            "--state-dir", state, "--key", f"{KEY_NAME}:{KEY_ALG}:{KEY_SECRET}", "--zone", zopt]
    return start_daemon("canon", argv, port, workdir, timeout)


def knot_head(workdir, port, log_level="notice"):
    rundir = os.path.join(workdir, "run")
    storage = os.path.join(workdir, "storage")
    os.makedirs(rundir, exist_ok=True)
    os.makedirs(storage, exist_ok=True)
    return [
        "server:",
        f"    rundir: {q(rundir)}",
        f"    pidfile: {q(os.path.join(rundir, 'knot.pid'))}",
        f"    listen: 127.0.0.1@{port}",
        "    udp-workers: 1",
        "    tcp-workers: 1",
        "    background-workers: 1",
        "    automatic-acl: off",
        "",
        "log:",
        "  - target: stderr",
        f"    any: {log_level}",
        "",
        "database:",
        f"    storage: {q(storage)}",
        "",
        "control:",
        f"    listen: {q(os.path.join(rundir, 'knot.sock'))}",
        "",
        "key:",
        f"  - id: {q(KEY_NAME)}",
        f"    algorithm: {KEY_ALG}",
        f"    secret: {KEY_SECRET}",
        "",
    ], storage


def start_knotd_primary(zonefile, workdir, port, notify=(), timeout=60):
    """knotd as primary: journal (journal-content: changes, the default synced
    journal-db in its storage dir), zone file never written back, UPDATE and
    transfers with the key, NOTIFY (signed) to notify ports."""
    lines, storage = knot_head(workdir, port)
    copy = os.path.join(workdir, "bench.test.zone")
    shutil.copyfile(zonefile, copy)
    if notify:
        lines += ["remote:"]
        for i, p in enumerate(notify):
            lines += [f"  - id: sec{i}", f"    address: 127.0.0.1@{p}", f"    key: {q(KEY_NAME)}"]
        lines += [""]
    lines += ["acl:", "  - id: keyed", "    address: 127.0.0.0/8", f"    key: {q(KEY_NAME)}",
              "    action: [ transfer, update ]", "",
              "template:", "  - id: default", f"    storage: {q(storage)}", "    acl: keyed",
              "    zonefile-load: whole", "    zonefile-sync: -1", "    journal-content: changes",
              "    serial-policy: increment", "    semantic-checks: soft", "    dnssec-signing: off",
              "    zonemd-verify: off"]
    if notify:
        lines += [f"    notify: [ {', '.join(f'sec{i}' for i in range(len(notify)))} ]"]
    lines += ["", "zone:", f"  - domain: {q(ORIGIN)}", f"    file: {q(copy)}", ""]
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines))
    return start_daemon("knotd", [tool("knotd"), "-c", conf], port, workdir, timeout)


def named_head(workdir, port, extra=()):
    return [
        "options {",
        f"    directory {q(workdir)};",
        f"    pid-file {q(os.path.join(workdir, 'named.pid'))};",
        f"    session-keyfile {q(os.path.join(workdir, 'session.key'))};",
        f"    managed-keys-directory {q(workdir)};",
        f"    listen-on port {port} {{ 127.0.0.1; }};",
        "    listen-on-v6 { none; };",
        "    recursion no;",
        "    dnssec-validation no;",
        "    answer-cookie no;",
        "    transfer-source 127.0.0.1;",
        "    notify-source 127.0.0.1;",
        *extra,
        "};",
        "controls { };",
        f"key {q(KEY_NAME)} {{ algorithm {KEY_ALG}; secret {q(KEY_SECRET)}; }};",
        "",
    ]


def named_start(workdir, port, lines, timeout, zone=True):
    conf = os.path.join(workdir, "named.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    chk = subprocess.run([tool("named-checkconf"), conf], capture_output=True, text=True, timeout=30)
    if chk.returncode != 0:
        raise StartFailed(f"named-checkconf rejected {conf}:\n{chk.stdout}{chk.stderr}")
    # -g: foreground, log to stderr; -4: IPv4 only; -n 1: one worker thread.
    return start_daemon("named", [tool("named"), "-g", "-4", "-n", "1", "-c", conf], port, workdir, timeout, zone)


def start_named_primary(zonefile, workdir, port, timeout=60):
    """named as primary: allow-update with the key, its journal (.jnl) next to
    the zone copy; no NOTIFY."""
    shutil.copyfile(zonefile, os.path.join(workdir, "bench.test.zone"))
    lines = named_head(workdir, port, ["    notify no;"])
    lines += [f"zone {q(ORIGIN)} {{", "    type primary;", '    file "bench.test.zone";',
              f"    allow-update {{ key {q(KEY_NAME)}; }};", f"    allow-transfer {{ key {q(KEY_NAME)}; }};", "};"]
    return named_start(workdir, port, lines, timeout)


# Secondaries: TSIG on SOA queries, transfers and the NOTIFY they accept
# (adapted from tests/e2e/secondaries.py, kept here so bench/ stands alone).


def start_knotd_secondary(workdir, port, primary_port, timeout=30):
    lines, storage = knot_head(workdir, port, "info")
    lines += ["remote:", "  - id: primary", f"    address: 127.0.0.1@{primary_port}", f"    key: {q(KEY_NAME)}", "",
              "acl:", "  - id: notify_from_primary", "    address: 127.0.0.1", "    action: notify",
              f"    key: {q(KEY_NAME)}", "",
              "template:", "  - id: default", f"    storage: {q(storage)}", "    master: primary",
              "    acl: notify_from_primary", "    zonefile-sync: -1", "    zonefile-load: none",
              "    journal-content: all", "    semantic-checks: soft", "    refresh-min-interval: 2",
              "    retry-min-interval: 1", "    retry-max-interval: 2", "",
              "zone:", f"  - domain: {q(ORIGIN)}", ""]
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines))
    return start_daemon("knotd-secondary", [tool("knotd"), "-c", conf], port, workdir, timeout, zone=False)


def start_nsd_secondary(workdir, port, primary_port, timeout=30):
    xfrdir = os.path.join(workdir, "xfr")
    os.makedirs(xfrdir, exist_ok=True)
    lines = [
        "server:", f"    ip-address: 127.0.0.1@{port}", "    do-ip4: yes", "    do-ip6: no",
        "    server-count: 1", '    username: ""', '    chroot: ""', '    database: ""',
        f"    zonelistfile: {q(os.path.join(workdir, 'zone.list'))}",
        f"    xfrdfile: {q(os.path.join(workdir, 'xfrd.state'))}",
        f"    xfrdir: {q(xfrdir)}",
        f"    pidfile: {q(os.path.join(workdir, 'nsd.pid'))}",
        f"    zonesdir: {q(workdir)}",
        "    verbosity: 1", "    rrl-ratelimit: 0", "    zonefiles-write: 0", "    answer-cookie: no",
        # By default nsd waits up to 1 s after a transfer before it reloads
        # (to batch transfers of many zones); 0: serve the new zone at once.
        "    xfrd-reload-timeout: 0",
        "", "remote-control:", "    control-enable: no", "",
        "key:", f"    name: {q(KEY_NAME)}", f"    algorithm: {KEY_ALG}", f"    secret: {q(KEY_SECRET)}", "",
        "zone:", f"    name: {q(ORIGIN)}", f"    zonefile: {q(os.path.join(workdir, 'bench.test.zone'))}",
        f"    request-xfr: 127.0.0.1@{primary_port} {KEY_NAME}", "    allow-axfr-fallback: yes",
        f"    allow-notify: 127.0.0.1 {KEY_NAME}", "    min-retry-time: 1", "    max-retry-time: 2", "",
    ]
    conf = os.path.join(workdir, "nsd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines))
    chk = subprocess.run([tool("nsd-checkconf"), conf], capture_output=True, text=True, timeout=30)
    if chk.returncode != 0:
        raise StartFailed(f"nsd-checkconf rejected {conf}:\n{chk.stdout}{chk.stderr}")
    return start_daemon("nsd-secondary", [tool("nsd"), "-d", "-c", conf], port, workdir, timeout, zone=False)


def start_named_secondary(workdir, port, primary_port, timeout=30, signed=True):
    """signed=False: SOA queries and transfers without TSIG (named cannot sign
    only the transfers: a primary that does not sign its answers to signed
    SOA queries gets the unsigned setup, see converge())."""
    lines = named_head(workdir, port, ["    notify no;", "    request-ixfr yes;", "    min-refresh-time 2;",
                                       "    min-retry-time 1;", "    max-retry-time 2;"])
    key = f" key {q(KEY_NAME)}" if signed else ""
    lines += [f"zone {q(ORIGIN)} {{", "    type secondary;",
              f"    primaries {{ 127.0.0.1 port {primary_port}{key}; }};",
              '    file "bench.test.zone";', "    masterfile-format text;",
              f"    allow-notify {{ key {q(KEY_NAME)}; }};", "};"]
    return named_start(workdir, port, lines, timeout, zone=False)


# ---------------------------------------------------------------- UPDATE load


def keyring():
    return dns.tsig.Key(KEY_NAME, KEY_SECRET, KEY_ALG)


def make_update(name, ip):
    u = dns.update.UpdateMessage(ORIGIN)
    u.add(name, 300, "A", ip)
    u.use_tsig(keyring(), algorithm=KEY_ALG)
    return u


def _update_worker(cid, port, t_start, t_end, timeout, tag, out_q):
    """One client: signed UPDATEs, one at a time, until t_end. Reports counts
    and its own CPU time. The reply is checked by ID, QR, opcode and rcode."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    ok, fails, lat = 0, {}, 0.0
    i = 0
    while time.time() < t_start:
        time.sleep(0.001)
    cpu0 = time.process_time()
    while True:
        now = time.time()
        if now >= t_end:
            break
        i += 1
        wire = make_update(f"{tag}-c{cid}-{i}", f"10.{cid % 256}.{(i >> 8) & 255}.{i & 255}").to_wire()
        mid = wire[:2]
        s.send(wire)
        got = None
        s.settimeout(timeout)
        try:
            while True:
                r = s.recv(65535)
                if r[:2] == mid and r[2] & 0x80:
                    got = r
                    break
        except socket.timeout:
            fails["timeout"] = fails.get("timeout", 0) + 1
            continue
        except OSError as e:
            fails[type(e).__name__] = fails.get(type(e).__name__, 0) + 1
            time.sleep(0.01)
            continue
        t1 = time.time()
        opcode, rcode = (got[2] >> 3) & 15, got[3] & 15
        if opcode != 5:
            fails["opcode"] = fails.get("opcode", 0) + 1
        elif rcode != 0:
            k = dns.rcode.to_text(rcode)
            fails[k] = fails.get(k, 0) + 1
        else:
            ok += 1
            lat += t1 - now
    out_q.put({"cid": cid, "ok": ok, "fails": fails, "cpu_s": time.process_time() - cpu0, "lat_s": lat})
    s.close()


def update_run(port, pid, nclients, duration, tag):
    """nclients processes send UPDATEs for `duration` s; returns the run's figures."""
    ctx = multiprocessing.get_context("fork")
    out_q = ctx.Queue()
    t_start = time.time() + 0.3
    t_end = t_start + duration
    procs = [ctx.Process(target=_update_worker, args=(c, port, t_start, t_end, 2.0, tag, out_q), daemon=True)
             for c in range(nclients)]
    for p in procs:
        p.start()
    while time.time() < t_start:
        time.sleep(0.001)
    c0, f0, w0 = bench.cpu_ticks(pid), bench.foreign_cpu(), time.monotonic()
    res = []
    deadline = time.monotonic() + duration + 10
    while len(res) < nclients and time.monotonic() < deadline:
        try:
            res.append(out_q.get(timeout=0.5))
        except Exception:
            pass
    c1, wall = bench.cpu_ticks(pid), time.monotonic() - w0
    for p in procs:
        p.join(2)
        if p.is_alive():
            p.terminate()
            p.join(2)
    # Other processes: everything but us, the server and our clients (those
    # were ours at f0 and have exited by now, so they are not counted).
    other, top = bench.foreign_delta(f0, bench.foreign_cpu(), wall)
    ok = sum(r["ok"] for r in res)
    fails = {}
    for r in res:
        for k, v in r["fails"].items():
            fails[k] = fails.get(k, 0) + v
    if len(res) < nclients:
        fails["client lost"] = nclients - len(res)
    client_cpu = sum(r["cpu_s"] for r in res)
    return {"clients": nclients, "ok": ok, "fails": fails, "ups": ok / duration,
            "server_cpu_pct": 100.0 * (c1 - c0) / CLK_TCK / duration,
            "server_us_per_update": 1e6 * (c1 - c0) / CLK_TCK / ok if ok else None,
            "client_cpu_pct": 100.0 * client_cpu / duration,
            "latency_ms": 1000.0 * sum(r["lat_s"] for r in res) / ok if ok else None,
            "other_cpu_pct": other, "other_top": top}


def check_applied(port, tag):
    """One of the updated names must now be served (sanity check)."""
    try:
        m = dns.message.make_query(f"{tag}-c0-1.{ORIGIN}", "A")
        m.flags &= ~dns.flags.RD
        r = dns.query.udp(m, "127.0.0.1", port=port, timeout=1)
        return r.rcode() == dns.rcode.NOERROR and bool(r.answer)
    except Exception:
        return False


# ---------------------------------------------------------------- AXFR


def axfr_kdig(port):
    """One AXFR with kdig (TSIG-signed); (seconds, records, messages, error)."""
    argv = [tool("kdig"), "-p", str(port), "@127.0.0.1", "-y", f"{KEY_ALG}:{KEY_NAME}:{KEY_SECRET}",
            "AXFR", ORIGIN, "+noall", "+stats", "+time=30", "+retry=0"]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    dt = time.monotonic() - t0
    m = re.search(r"\((\d+) messages?, (\d+) records?\)", r.stdout)
    err = None
    if r.returncode != 0 or not m:
        err = (r.stdout + r.stderr).strip().splitlines()[-1:] or [f"kdig exit {r.returncode}"]
        err = err[0]
    elif re.search(r"failed|error|BADSIG|BADKEY", r.stdout + r.stderr, re.I):
        err = next(l for l in (r.stdout + r.stderr).splitlines() if re.search(r"failed|error|BAD", l, re.I))
    return dt, int(m.group(2)) if m else None, int(m.group(1)) if m else None, err


# ---------------------------------------------------------------- convergence


class Poller:
    """Fast UDP polling of several servers for one name's A record."""

    def __init__(self, ports):
        self.socks = {}
        for name, port in ports.items():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            self.socks[name] = s

    def close(self):
        for s in self.socks.values():
            s.close()

    def wait(self, qname, t_ack, timeout):
        """{secondary: seconds from t_ack to its first answer with the record, or None}."""
        import select

        msg = dns.message.make_query(qname, "A")
        msg.flags &= ~dns.flags.RD
        wire = msg.to_wire()
        pending = dict(self.socks)
        got = {}
        deadline = t_ack + timeout
        for s in pending.values():  # drop late answers to earlier polls
            try:
                while s.recv(65535):
                    pass
            except OSError:
                pass
        while pending and time.monotonic() < deadline:
            for s in pending.values():
                try:
                    s.send(wire)
                except OSError:
                    pass
            until = time.monotonic() + POLL_S
            while pending and time.monotonic() < until:
                rd, _, _ = select.select(list(pending.values()), [], [], max(0.0, until - time.monotonic()))
                for s in rd:
                    name = next(k for k, v in pending.items() if v is s)
                    try:
                        data = s.recv(65535)
                    except OSError:
                        continue
                    if data[:2] != wire[:2] or len(data) < 12:
                        continue
                    if data[3] & 15 == 0 and struct.unpack("!H", data[6:8])[0] > 0:
                        got[name] = time.monotonic() - t_ack
                        del pending[name]
        for name in pending:
            got[name] = None
        return got


def converge(args, primary_kind, zonefile, rounds, workdir):
    """Primary + knotd/nsd/named secondaries; `rounds` updates; returns figures."""
    import conftest

    sec_ports = {k: conftest.free_port() for k in ("knotd", "nsd", "named")}
    pport = conftest.free_port()
    started = []
    try:
        pdir = os.path.join(workdir, f"{primary_kind}-primary")
        os.makedirs(pdir)
        if primary_kind == "canon":
            prim = start_canon(args, zonefile, pdir, pport, notify=list(sec_ports.values()))
        else:
            prim = start_knotd_primary(zonefile, pdir, pport, notify=list(sec_ports.values()))
        started.append(prim)
        serial0 = soa_serial(pport)
        secs = {}
        for kind, fn in (("knotd", start_knotd_secondary), ("nsd", start_nsd_secondary),
                         ("named", start_named_secondary)):
            d = os.path.join(workdir, f"{primary_kind}-primary-{kind}-secondary")
            os.makedirs(d)
            secs[kind] = fn(d, sec_ports[kind], pport)
            started.append(secs[kind])
        # Every secondary must have the primary's zone first.
        notes = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and soa_serial(sec_ports["named"]) != serial0:
            time.sleep(0.05)
        if soa_serial(sec_ports["named"]) != serial0 and "expected a TSIG" in secs["named"].logtext():
            # named refuses an unsigned answer to its signed SOA query; let it
            # query and transfer unsigned (the primary allows 127.0.0.1/32).
            notes.append(f"{primary_kind} did not sign its answer to named's TSIG-signed SOA query "
                         "(named: 'expected a TSIG or SIG(0)'): the named secondary ran without TSIG")
            warn(notes[-1])
            stop(secs["named"])
            started.remove(secs["named"])
            d = os.path.join(workdir, f"{primary_kind}-primary-named-secondary-unsigned")
            os.makedirs(d)
            secs["named"] = start_named_secondary(d, sec_ports["named"], pport, signed=False)
            started.append(secs["named"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(soa_serial(p) != serial0 for p in sec_ports.values()):
            time.sleep(0.05)
        behind = [k for k, p in sec_ports.items() if soa_serial(p) != serial0]
        if behind:
            raise StartFailed(f"secondaries without the primary's serial {serial0} after 20 s: {', '.join(behind)}")
        time.sleep(CONVERGE_GAP)  # as between updates: the initial transfers count as the last refresh
        poller = Poller(sec_ports)
        samples, per = [], {k: [] for k in sec_ports}
        fails = []
        f0, w0 = bench.foreign_cpu(), time.monotonic()
        try:
            for i in range(rounds):
                name = f"conv-{primary_kind}-{i}.{ORIGIN}"
                u = make_update(name, f"10.200.0.{i % 250 + 1}")
                try:
                    r = dns.query.udp(u, "127.0.0.1", port=pport, timeout=3)
                    t_ack = time.monotonic()
                except Exception as e:
                    fails.append(f"update {i}: {type(e).__name__}")
                    continue
                if r.rcode() != dns.rcode.NOERROR:
                    fails.append(f"update {i}: {dns.rcode.to_text(r.rcode())}")
                    continue
                got = poller.wait(name, t_ack, CONVERGE_TIMEOUT)
                for k, v in got.items():
                    if v is not None:
                        per[k].append(v)
                missing = [k for k, v in got.items() if v is None]
                if missing:
                    fails.append(f"update {i}: not on {', '.join(missing)} within {CONVERGE_TIMEOUT:.0f} s")
                else:
                    samples.append(max(got.values()))
                # Secondaries defer a refresh that a NOTIFY asks for soon
                # after the last one (named by ~250 ms): space the updates.
                time.sleep(CONVERGE_GAP)
        finally:
            poller.close()
        wall = time.monotonic() - w0
        other, top = bench.foreign_delta(f0, bench.foreign_cpu(), wall)
        return {"all": samples, "per": per, "fails": fails, "notes": notes, "other_cpu_pct": other,
                "other_top": top}
    finally:
        for s in reversed(started):
            stop(s)


# ---------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run --changes",
                                 description="zones that change: UPDATE/s, AXFR time, NOTIFY convergence; "
                                             "canon vs knotd vs named.")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 s runs, 10,000-name AXFR zone, 3 convergence rounds")
    ap.add_argument("--duration", type=float, help="seconds per UPDATE run (default 5; --quick 2)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent UPDATE clients, second run (default 8)")
    ap.add_argument("--small-names", type=int, default=300, help="names in the UPDATE zone (default 300)")
    ap.add_argument("--names", type=int, help="names in the AXFR zone (default 100000; --quick 10000)")
    ap.add_argument("--axfr-runs", type=int, default=3, help="AXFRs per server; the median counts (default 3)")
    ap.add_argument("--converge", type=int, help="updates timed to the secondaries (default 5; --quick 3)")
    ap.add_argument("--servers", default="canon,knotd,named", help="UPDATE/s: subset of canon,knotd,named")
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: update,axfr,converge")
    ap.add_argument("--canon-bin", default=os.environ.get("CANON_BIN", os.path.join(ROOT, "build", "canon")))
    ap.add_argument("--seed", type=int, default=20261123)
    a = ap.parse_args(argv)
    a.duration = a.duration or (2.0 if a.quick else 5.0)
    a.names = a.names or (10000 if a.quick else 100000)
    a.converge = a.converge or (3 if a.quick else 5)
    a.servers = [s for s in a.servers.split(",") if s]
    for s in a.servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")
    a.skip = set(x for x in a.skip.split(",") if x)
    return a


def fmt(v, f="{:.0f}"):
    return "n/a" if v is None else f.format(v)


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, bench._on_signal)
    signal.signal(signal.SIGHUP, bench._on_signal)
    t_begin = time.monotonic()
    import conftest

    ncpu = os.cpu_count()
    load = os.getloadavg()
    log(f"changes: {ncpu} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    small = genzone.generate(args.small_names, args.seed, 1, os.path.join(OUT, "zone-small"))
    log(f"changes: UPDATE zone {small['owner_names']} names / {small['records']} records")
    results = {"cpus": ncpu, "loadavg": load, "update": {}, "axfr": {}, "converge": {}, "failed": {}}
    warnings, busy = [], []
    failed = results["failed"]

    def mark_busy(what, r):
        if r.get("other_cpu_pct", 0) > BUSY_PCT:
            r["busy"] = True
            busy.append(f"{what} (other processes {r['other_cpu_pct']:.0f}% of a CPU: {', '.join(r['other_top'])})")
            return "*"
        return ""

    # 1. durable UPDATEs per second
    upd = results["update"]
    if "update" not in args.skip:
        for kind in args.servers:
            wd = fresh_dir("update", kind)
            port = conftest.free_port()
            srv = None
            try:
                if kind == "canon":
                    srv = start_canon(args, small["zonefile"], wd, port)
                elif kind == "knotd":
                    srv = start_knotd_primary(small["zonefile"], wd, port)
                else:
                    srv = start_named_primary(small["zonefile"], wd, port)
                upd[kind] = {}
                for n in (1, args.clients):
                    tag = f"u{n}"
                    r = update_run(port, srv.proc.pid, n, args.duration, tag)
                    if r["ok"] and not check_applied(port, tag):
                        r["fails"]["not served after ack"] = 1
                    upd[kind][n] = r
                    b = mark_busy(f"{kind} UPDATE x{n}", r)
                    log(f"  UPDATE {kind:5s} {n} client(s): {r['ups']:7.0f}/s{b}  failed {sum(r['fails'].values())}"
                        f"  server cpu {r['server_cpu_pct']:3.0f}%  clients cpu {r['client_cpu_pct']:3.0f}%"
                        f"  mean latency {fmt(r['latency_ms'], '{:.2f}')} ms")
                    if r["fails"]:
                        x = f"{kind} UPDATE x{n}: failures " + ", ".join(f"{k} {v}" for k, v in sorted(r["fails"].items()))
                        warn(x)
                        warnings.append(x)
                if not srv.alive():
                    raise StartFailed(f"{kind} died during the UPDATE runs; log {srv.logpath}")
            except StartFailed as e:
                failed[f"update {kind}"] = str(e)
                warn(f"UPDATE/s: {kind} left out:\n{e}")
            finally:
                stop(srv)

    # 2. AXFR of the big zone
    ax = results["axfr"]
    big = None
    if "axfr" not in args.skip:
        big = genzone.generate(args.names, args.seed, 1, os.path.join(OUT, "zone-big"))
        log(f"changes: AXFR zone {big['owner_names']} names / {big['records']} records")
        for kind in ("canon", "knotd"):
            wd = fresh_dir("axfr", kind)
            port = conftest.free_port()
            srv = None
            try:
                srv = (start_canon(args, big["zonefile"], wd, port) if kind == "canon"
                       else start_knotd_primary(big["zonefile"], wd, port))
                runs = []
                f0, w0 = bench.foreign_cpu(), time.monotonic()
                for i in range(args.axfr_runs):
                    runs.append(axfr_kdig(port))
                other, top = bench.foreign_delta(f0, bench.foreign_cpu(), time.monotonic() - w0)
                errs = [r[3] for r in runs if r[3]]
                good = [r for r in runs if not r[3]]
                med = statistics.median(r[0] for r in good) if good else None
                recs = sorted(set(r[1] for r in good))
                ax[kind] = {"times": [r[0] for r in runs], "median_s": med, "records": recs,
                            "messages": [r[2] for r in runs], "errors": errs, "other_cpu_pct": other, "other_top": top}
                b = mark_busy(f"{kind} AXFR", ax[kind])
                log(f"  AXFR {kind:5s}: " + " ".join(f"{r[0]:.3f}s" for r in runs)
                    + f"  records {recs}  messages {sorted(set(r[2] for r in good))}{b}")
                for x in errs:
                    warn(f"{kind} AXFR: {x}")
                    warnings.append(f"{kind} AXFR: {x}")
            except StartFailed as e:
                failed[f"axfr {kind}"] = str(e)
                warn(f"AXFR: {kind} left out:\n{e}")
            finally:
                stop(srv)
        counts = {k: v["records"] for k, v in ax.items() if v["records"]}
        # An AXFR carries the SOA twice.
        expect = big["records"] + 1
        for k, c in counts.items():
            if c != [expect]:
                x = f"{k} AXFR: {c} records, the zone file has {big['records']} (+1 closing SOA = {expect})"
                warn(x)
                warnings.append(x)

    # 3. convergence through NOTIFY
    cv = results["converge"]
    if "converge" not in args.skip:
        for kind in ("canon", "knotd"):
            wd = fresh_dir("converge", kind)
            try:
                cv[kind] = converge(args, kind, small["zonefile"], args.converge, wd)
                r = cv[kind]
                b = mark_busy(f"{kind} convergence", r)
                log(f"  converge {kind:5s} primary: ack -> all three " +
                    " ".join(f"{1000 * s:.0f}" for s in r["all"]) + " ms; per secondary median " +
                    ", ".join(f"{k} {fmt(1000 * statistics.median(v) if v else None)}" for k, v in r["per"].items())
                    + f" ms{b}")
                for x in r["fails"]:
                    warn(f"{kind} convergence: {x}")
                    warnings.append(f"{kind} convergence: {x}")
                warnings += r["notes"]
            except StartFailed as e:
                failed[f"converge {kind}"] = str(e)
                warn(f"convergence: {kind} primary left out:\n{e}")

    bench.stop_all()

    # ---- the table
    header = ["", "canon", "knotd", "named", "canon/knotd", "canon/named"]
    rows = []

    def row(label, vals, f, lower_better=False):
        c, k, n = vals
        rows.append([label] + [fmt(v, f) if not isinstance(v, str) else v for v in vals]
                    + [bench.fmt_ratio(c, k) if not isinstance(k, str) and not isinstance(c, str) else "-",
                       bench.fmt_ratio(c, n) if not isinstance(n, str) and not isinstance(c, str) else "-"])

    def u(kind, n, key):
        r = upd.get(kind, {}).get(n)
        return None if r is None else r.get(key)

    def star(r):
        return "*" if r and r.get("busy") else ""

    for n in (1, args.clients):
        vals = [u(k, n, "ups") for k in SERVERS]
        rows.append([f"durable UPDATE/s, {n} client{'s' if n > 1 else ''}"]
                    + [fmt(v) + star(upd.get(k, {}).get(n)) if v is not None else "n/a" for k, v in zip(SERVERS, vals)]
                    + [bench.fmt_ratio(vals[0], vals[1]), bench.fmt_ratio(vals[0], vals[2])])
    for n in (1, args.clients):
        rows.append([f"  failed updates, {n} client{'s' if n > 1 else ''}"]
                    + [str(sum(upd[k][n]["fails"].values())) if k in upd else "n/a" for k in SERVERS] + ["", ""])
    for n in (1, args.clients):
        row(f"  server CPU µs/update, {n} cl.", [u(k, n, "server_us_per_update") for k in SERVERS], "{:.0f}")
    for n in (1, args.clients):
        rows.append([f"  server / clients CPU %, {n} cl."]
                    + [f"{u(k, n, 'server_cpu_pct'):.0f} / {u(k, n, 'client_cpu_pct'):.0f}" if k in upd else "n/a"
                       for k in SERVERS] + ["", ""])
    rows.append(None)
    recs = big["records"] if big else None
    am = [ax.get(k, {}).get("median_s") for k in ("canon", "knotd")]
    rows.append([f"AXFR {recs} records, median of {args.axfr_runs} (s)"]
                + [fmt(v, "{:.3f}") + star(ax.get(k)) if v else "n/a" for k, v in zip(("canon", "knotd"), am)]
                + ["-", bench.fmt_ratio(am[0], am[1]), "-"])
    rps = [recs / v if v and recs else None for v in am]
    rows.append(["AXFR records/s (thousands)"] + [fmt(v / 1000 if v else None, "{:.0f}k") for v in rps]
                + ["-", bench.fmt_ratio(rps[0], rps[1]), "-"])
    rows.append(None)
    for label, fn in (("median", statistics.median), ("max", max)):
        v = [1000 * fn(cv[k]["all"]) if cv.get(k, {}).get("all") else None for k in ("canon", "knotd")]
        rows.append([f"ack -> 3 secondaries, {label} (ms)"]
                    + [fmt(x) + star(cv.get(k)) if x is not None else "n/a" for k, x in zip(("canon", "knotd"), v)]
                    + ["-", bench.fmt_ratio(v[0], v[1]), "-"])
    for sec in ("knotd", "nsd", "named"):
        v = [1000 * statistics.median(cv[k]["per"][sec]) if cv.get(k, {}).get("per", {}).get(sec) else None
             for k in ("canon", "knotd")]
        rows.append([f"  {sec} secondary answers, median (ms)"] + [fmt(x) for x in v]
                    + ["-", bench.fmt_ratio(v[0], v[1]), "-"])
    results["table"] = {"header": header, "rows": [r for r in rows if r]}

    log()
    log(f"== canon changes benchmark: {ncpu} CPUs, load average at start {load[0]:.2f}; one worker each; "
        f"UPDATE runs {args.duration:g} s; TSIG {KEY_ALG} ==")
    log("UPDATE/s and records/s: a ratio above 1.00x means canon is faster; times, ms and µs: below 1.00x.")
    log("AXFR and convergence rows: the column is the primary (named is not measured there); * = machine busy.")
    bench.print_table(rows, header)
    log(f"UPDATE zone: {small['records']} records; AXFR client: kdig +noall +stats (TSIG); convergence: "
        f"{args.converge} updates {CONVERGE_GAP:g} s apart, each secondary polled every {1000 * POLL_S:.0f} ms over UDP")
    for k, why in failed.items():
        log(f"{k}: not measured: {why.splitlines()[0]}")
    for k, r in cv.items():
        for x in r["notes"]:
            log(f"note: {x}")
    if busy:
        x = "the machine was busy while these were taken (rerun on a quiet machine): " + "; ".join(busy)
        warn(x)
        results["busy"] = busy
    if warnings:
        log(f"{len(warnings)} WARNING(S) above")
    load2 = os.getloadavg()
    log(f"load average at the end {load2[0]:.2f}; details: {os.path.join(OUT, 'results.json')}; "
        f"server logs in {OUT}/; took {time.monotonic() - t_begin:.0f} s")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    return 1 if (failed or warnings or busy) else 0


if __name__ == "__main__":
    try:
        rc = main(sys.argv[1:])
    except KeyboardInterrupt:
        print("\nchanges_bench: interrupted; stopping servers", file=sys.stderr)
        rc = 130
    finally:
        bench.stop_all()
    sys.exit(rc)
