#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""canon benchmark: canon vs knotd vs nsd on one generated zone, one worker each.

Run through bench/run (see bench/README.md). Steps:
  1. bench/genzone.py writes the zone and the query files into bench/out/;
  2. each server is started on a minimal zone (baseline memory, start-up time),
     then on the benchmark zone (load time = process start to the first
     authoritative SOA answer; memory after load);
  3. a few queries of every mix are sent to every server with dnspython and
     the answers compared with knotd's (a fast wrong server is not fast);
  4. the load client (bench/blast.c, or dnsperf with --client dnsperf) runs
     every mix against bench/echo.c (the harness ceiling) and every server,
     back to back, for --rounds rounds, rotating who goes first; the best
     round gives each QPS, and the ratios canon/echo, canon/knotd and
     canon/nsd are taken within every round (min/median/max); the rcode
     split of every run is checked against the split the query file must
     give; the server's user and system CPU per answer are kept apart;
  5. one table is printed, and everything is kept in bench/out/results.json.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)

try:
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
except ImportError:
    sys.exit("bench: dnspython is missing: run scripts/deps (needs python3-dnspython)")

import genzone  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
BUSY_PCT = 5.0  # other processes using more than this % of a CPU during a run: warn
SERVERS = ("canon", "knotd", "nsd")
# Ratios taken within every round (runs seconds apart), min/median/max over the rounds.
RATIOS = (("canon", "echo"), ("canon", "knotd"), ("canon", "nsd"))
ORIGIN = genzone.ORIGIN

_children = []  # Server objects and Popens to stop on any exit


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    print("WARNING: " + msg, flush=True)


# ---------------------------------------------------------------- processes


def _on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def stop_all():
    while _children:
        c = _children.pop()
        try:
            if hasattr(c, "stop"):
                c.stop()
            elif c.poll() is None:
                c.terminate()
                try:
                    c.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    c.kill()
                    c.wait(timeout=5)
        except Exception as e:  # keep stopping the others
            print(f"bench: while stopping a process: {e}", file=sys.stderr)


def proc_tree(pid):
    """pid and all its descendants (scans /proc)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid):
    """{'rss': sum of VmRSS, 'pss': sum of Pss, 'procs': n} over the process tree, in KiB."""
    pids = proc_tree(pid)
    return {
        "rss_kb": sum(_status_kb(p, "VmRSS") for p in pids),
        "pss_kb": sum(_pss_kb(p) for p in pids),
        "procs": len(pids),
    }


def cpu_split(pid):
    """(user, system) clock ticks used so far by the process tree. A
    process's /proc/PID/stat utime and stime sum all its threads, the
    exited ones included (proc(5)), so no need to walk task/*/stat."""
    u = s = 0
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fl = f.read().rsplit(")", 1)[1].split()
            u += int(fl[11])
            s += int(fl[12])
        except (OSError, IndexError, ValueError):
            pass
    return u, s


def cpu_ticks(pid):
    """User+system clock ticks used so far by the process tree (all threads)."""
    return sum(cpu_split(pid))


def foreign_cpu():
    """{pid: (comm, ticks)} for every process that is not this one or one of
    its descendants (the servers, the client): what else is using the machine."""
    mine = set(proc_tree(os.getpid()))
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            comm = st[st.index("(") + 1:st.rindex(")")]
            fl = st.rsplit(")", 1)[1].split()
            out[int(d)] = (comm, int(fl[11]) + int(fl[12]))
        except (OSError, ValueError, IndexError):
            pass
    return out


def foreign_delta(before, after, seconds):
    """(% of one CPU used by other processes, the top few 'comm pid: %')."""
    use = []
    for pid, (comm, t) in after.items():
        d = t - before.get(pid, (comm, 0))[1]
        if d > 0:
            use.append((d, comm, pid))
    use.sort(reverse=True)
    total = 100.0 * sum(d for d, _, _ in use) / CLK_TCK / max(seconds, 1e-3)
    top = [f"{c} (pid {p}) {100.0 * d / CLK_TCK / max(seconds, 1e-3):.0f}%" for d, c, p in use[:3]
           if 100.0 * d / CLK_TCK / max(seconds, 1e-3) >= 1]
    return total, top


def start_time(pid):
    """Process start, seconds on CLOCK_BOOTTIME (resolution 1/CLK_TCK)."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19]) / CLK_TCK


class FirstAnswer(threading.Thread):
    """Polls 127.0.0.1:port every few ms with `origin SOA` and records the
    CLOCK_BOOTTIME instant of the first NOERROR+AA answer that has the SOA."""

    def __init__(self, port, origin):
        super().__init__(daemon=True)
        m = dns.message.make_query(origin, "SOA")
        m.flags &= ~dns.flags.RD
        self.wire, self.port, self.when = m.to_wire(), port, None
        self.halt = threading.Event()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", self.port))
        s.settimeout(0.01)
        try:
            while not self.halt.is_set():
                try:
                    s.send(self.wire)
                    r = dns.message.from_wire(s.recv(65535))
                    if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
                        self.when = time.clock_gettime(time.CLOCK_BOOTTIME)
                        return
                except (socket.timeout, BlockingIOError):
                    pass
                except OSError:  # ECONNREFUSED: nothing bound yet
                    time.sleep(0.003)
                except Exception:
                    time.sleep(0.003)
        finally:
            s.close()


def pin_self(cpus):
    if cpus is not None:
        os.sched_setaffinity(0, cpus)


def pin_tree(pid, cpus):
    """Pin every thread of pid and its descendants to cpus. Needed on top of
    inheriting the affinity: knotd pins its UDP worker i to CPU i itself."""
    if cpus is None:
        return
    for p in proc_tree(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                os.sched_setaffinity(int(t), cpus)
            except OSError:
                pass


# ---------------------------------------------------------------- servers


class StartFailed(Exception):
    pass


def start_server(kind, zonefile, workdir, args):
    """Start one server on zonefile; returns (Server, {'load_s', ...})."""
    import conftest

    port = conftest.free_port()
    fa = FirstAnswer(port, ORIGIN)
    fa.start()
    pin_self(args.server_cpus)  # children inherit the affinity
    try:
        if kind == "canon":
            if not os.path.isfile(args.canon_bin) or not os.access(args.canon_bin, os.X_OK):
                raise StartFailed(f"{args.canon_bin} does not exist (build it with `make build`)")
            argv = [args.canon_bin, "serve", "--listen", f"127.0.0.1:{port}",
                    "--zone", f"{ORIGIN}={zonefile}", "--workers", "1"]
            srv = conftest.Server(argv, "127.0.0.1", port, os.path.join(workdir, f"canon-{port}.log"))
            _children.append(srv)
            deadline = time.monotonic() + args.start_timeout
            while fa.is_alive() and srv.alive() and time.monotonic() < deadline:
                fa.join(0.02)
            if fa.when is None:
                fa.halt.set()
                why = "exited with status %s" % srv.proc.poll() if not srv.alive() else \
                    f"gave no authoritative SOA answer for {ORIGIN} within {args.start_timeout:.0f} s"
                srv.stop()
                _children.remove(srv)
                tail = "".join(open(srv.logpath, errors="replace").readlines()[-15:])
                raise StartFailed(f"canon {why}; command: {' '.join(argv)}\n--- {srv.logpath} (tail) ---\n{tail}")
        else:
            from refservers import start_knotd, start_nsd
            start = start_knotd if kind == "knotd" else start_nsd
            try:
                srv = start(workdir, {ORIGIN: zonefile}, workers=1, port=port)
            except Exception as e:
                raise StartFailed(f"{kind}: {e}")
            _children.append(srv)
    finally:
        pin_self(args.client_cpus)
    fa.join(args.start_timeout)
    fa.halt.set()
    pin_tree(srv.proc.pid, args.server_cpus)
    info = {"port": port, "pid": srv.proc.pid}
    if fa.when is not None:
        info["load_s"] = max(0.0, fa.when - start_time(srv.proc.pid))
    time.sleep(0.3)  # let lazy initialisation settle before reading memory
    info.update(memory(srv.proc.pid))
    return srv, info


class EchoServer:
    """bench/echo.c on a free port, pinned like the servers and up for the
    whole run: it takes its turn in every round next to them."""

    def __init__(self, exe, workdir, args):
        import conftest

        self.port = conftest.free_port()
        self.logpath = os.path.join(workdir, f"echo-{self.port}.log")
        pin_self(args.server_cpus)
        try:
            with open(self.logpath, "w") as out:
                self.proc = subprocess.Popen([exe, str(self.port)], stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT)
        finally:
            pin_self(args.client_cpus)
        _children.append(self)
        time.sleep(0.2)  # bind

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self in _children:
            _children.remove(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


# ---------------------------------------------------------------- answers


def _norm(r):
    ans = []
    for rrset in r.answer:
        ans += sorted(rrset.to_text().splitlines())
    # nsd puts the apex NS set in the authority section of positive answers,
    # knotd does not: both are right, so NS there is not compared.
    auth = sorted(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}" for rrset in r.authority
                  if not (rrset.rdtype == dns.rdatatype.NS and r.answer))
    return {"rcode": dns.rcode.to_text(r.rcode()), "aa": bool(r.flags & dns.flags.AA), "answer": ans,
            "authority": auth}


def spot_check(servers, meta, n, edns=False):
    """Send the first n queries of every mix to every server; compare with knotd.
    Returns a list of warnings (strings)."""
    ref = "knotd" if "knotd" in servers else next(iter(servers), None)
    warnings, refdiff = [], []
    for mix, m in meta["mixes"].items():
        with open(m["file"]) as f:
            lines = [next(f).split() for _ in range(min(n, m["queries"]))]
        for qname, qtype in lines:
            got = {}
            for name, srv in servers.items():
                try:
                    msg = dns.message.make_query(qname, qtype, use_edns=0 if edns else False)
                    msg.flags &= ~dns.flags.RD
                    got[name] = _norm(dns.query.udp(msg, srv.addr, port=srv.port, timeout=2))
                except Exception as e:
                    got[name] = {"error": type(e).__name__}
            refs = [got[k] for k in ("knotd", "nsd") if k in got]
            for name, g in got.items():
                if name == ref or g == got[ref]:
                    continue
                if name == "canon" and g in refs:
                    continue  # canon agrees with one of the references
                diff = {k: (g.get(k), got[ref].get(k)) for k in set(g) | set(got[ref]) if g.get(k) != got[ref].get(k)}
                text = f"{mix}: {qname} {qtype}: {name} differs from {ref}: " + "; ".join(
                    f"{k}: {name}={a!r} {ref}={b!r}" for k, (a, b) in sorted(diff.items()))
                (warnings if name == "canon" else refdiff).append(text)
    return warnings, refdiff


# ---------------------------------------------------------------- client (blast or dnsperf)


def parse_dnsperf(text):
    """dnsperf's summary; bench/blast.c prints the same lines (and its own CPU)."""
    def num(pat, cast=int):
        m = re.search(pat, text)
        return cast(m.group(1)) if m else None

    r = {
        "sent": num(r"Queries sent:\s+(\d+)"),
        "completed": num(r"Queries completed:\s+(\d+)"),
        "lost": num(r"Queries lost:\s+(\d+)"),
        "qps": num(r"Queries per second:\s+([\d.]+)", float),
        "runtime": num(r"Run time \(s\):\s+([\d.]+)", float),
        "client_cpu_s": num(r"Client CPU \(s\):\s+([\d.]+)", float),
        "unexpected": num(r"Unexpected responses:\s+(\d+)"),
        "rcodes": {},
    }
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        for code, cnt in re.findall(r"([A-Z0-9]+) (\d+) \(", m.group(1)):
            r["rcodes"][code] = int(cnt)
    return r


def expected_split(rcodes, sent):
    """NOERROR/NXDOMAIN counts the first `sent` lines (cycling) must give."""
    n = len(rcodes)
    full, rem = divmod(sent, n)
    nx = full * rcodes.count("X") + rcodes[:rem].count("X")
    return {"NOERROR": sent - nx, "NXDOMAIN": nx}


def client_argv(args, port, qfile):
    if args.client == "blast":
        argv = [args.blast, "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.duration),
                "-t", f"{args.timeout:g}", "-q", str(args.outstanding)]
    else:
        argv = [args.dnsperf, "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.duration),
                "-t", f"{args.timeout:g}", "-c", str(args.clients), "-q", str(args.outstanding),
                "-T", str(args.threads),
                "-O", "suppress=timeout"]
    if args.edns:
        argv.append("-e")
    return argv


def client_desc(args):
    """The client and its options, for the log and the table's title."""
    if args.client == "blast":
        return f"blast -q {args.outstanding} -t {args.timeout:g}{' -e' if args.edns else ''}"
    return (f"dnsperf -c {args.clients} -q {args.outstanding} -T {args.threads} -t {args.timeout:g}"
            f"{' -e' if args.edns else ''}")


def run_client(kind, port, pid, mix, m, rnd, args):
    path = os.path.join(OUT, "runs", f"{kind}-{mix}-r{rnd}.txt")
    argv = client_argv(args, port, m["file"])
    pin_tree(pid, args.server_cpus)
    f0, w0 = foreign_cpu(), time.monotonic()
    c0 = cpu_split(pid) if pid else (0, 0)
    with open(path, "w") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _children.append(p)
        try:
            p.wait(timeout=args.duration + args.timeout + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        _children.remove(p)
    c1 = cpu_split(pid) if pid else (0, 0)
    r_other = foreign_delta(f0, foreign_cpu(), time.monotonic() - w0)
    with open(path, errors="replace") as f:
        r = parse_dnsperf(f.read())
    r["log"] = path
    r["exit"] = p.returncode
    r["other_cpu_pct"], r["other_top"] = r_other
    r["round"] = rnd
    r["cpu_user_ticks"], r["cpu_sys_ticks"] = c1[0] - c0[0], c1[1] - c0[1]
    ticks = r["cpu_user_ticks"] + r["cpu_sys_ticks"]
    if r["runtime"]:
        r["cpu_pct"] = 100.0 * ticks / CLK_TCK / r["runtime"]
        if r["client_cpu_s"] is not None:
            r["client_cpu_pct"] = 100.0 * r["client_cpu_s"] / r["runtime"]
    if r["completed"]:
        r["cpu_us_per_q"] = 1e6 * ticks / CLK_TCK / r["completed"]
        r["cpu_user_us_per_q"] = 1e6 * r["cpu_user_ticks"] / CLK_TCK / r["completed"]
        r["cpu_sys_us_per_q"] = 1e6 * r["cpu_sys_ticks"] / CLK_TCK / r["completed"]
    return r


def check_rcodes(kind, mix, r, rcodes, args):
    """Warnings for a run whose responses are not what the query file must give."""
    w = []
    if r["qps"] is None or r["sent"] is None:
        return [f"{kind} {mix}: {args.client} gave no result (exit {r['exit']}, see {r['log']})"]
    lost = r["lost"] or 0
    if r["sent"] and lost > max(10, 0.005 * r["sent"]):
        w.append(f"{kind} {mix}: {lost} of {r['sent']} queries lost ({100.0 * lost / r['sent']:.2f}%)")
    if r.get("unexpected"):
        w.append(f"{kind} {mix}: {r['unexpected']} responses that match no query in flight (see {r['log']})")
    exp = expected_split(rcodes, r["sent"])
    # dnsperf's clients each read the file in turn; blast sends it in order.
    slack = lost + (2 if args.client == "blast" else 2 * args.clients * args.threads + 2)
    for code, cnt in sorted(r["rcodes"].items()):
        if code not in exp and cnt:
            w.append(f"{kind} {mix}: {cnt} responses with rcode {code} (expected none)")
    for code in ("NOERROR", "NXDOMAIN"):
        got = r["rcodes"].get(code, 0)
        if abs(got - exp[code]) > slack:
            w.append(f"{kind} {mix}: {code} {got}, expected {exp[code]} (±{slack}) "
                     f"for the first {r['sent']} queries of {os.path.basename(r.get('qfile', mix))}")
    return w


# ---------------------------------------------------------------- output


def fmt_qps(v):
    if v is None:
        return "n/a"
    return f"{v / 1000:.1f}k"


def fmt_split(r):
    """'user + sys' µs of server CPU per answer in one run."""
    if r.get("cpu_user_us_per_q") is None:
        return "n/a"
    return f"{r['cpu_user_us_per_q']:.2f} + {r['cpu_sys_us_per_q']:.2f}"


def round_ratio(results, a, b, mix, rnd):
    """QPS of a over QPS of b in round rnd of mix (None if either is missing)."""
    def qps(kind):
        for r in results["runs"].get(kind, {}).get(mix, []):
            if r.get("round") == rnd and r.get("qps"):
                return r["qps"]
        return None

    x, y = qps(a), qps(b)
    return x / y if x and y else None


def machine_line(m, args):
    """Core count, load average before/after and pinning: printed with every table."""
    pin = (f"servers on CPU {sorted(args.server_cpus)}, client on CPU {sorted(args.client_cpus)}"
           if args.pinned else "not pinned")
    la = " ".join(f"{x:.2f}" for x in m["loadavg_before"])
    lb = " ".join(f"{x:.2f}" for x in m.get("loadavg_after", m["loadavg_before"]))
    return (f"(machine: {m['cores']} cores, {pin}; load average {la} before the runs, {lb} after; "
            f"others used {m['other_cpu_pct_before']:.0f}% of a CPU just before)")


def client_cpu(r):
    """', client N%' when the client reported its own CPU use (blast does)."""
    return f", client {r['client_cpu_pct']:3.0f}%" if r.get("client_cpu_pct") is not None else ""


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def print_table(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header] if r) for i in range(len(header))]
    line = "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header))
    log(line)
    log("-" * len(line))
    for r in rows:
        if r is None:
            log("-" * len(line))
            continue
        log("  ".join(str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r)))


# ---------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run", description="canon vs knotd vs nsd, one worker each.")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: small zone, 0.5 s runs, 3 rounds (about a minute)")
    ap.add_argument("--names", type=int, help="owner names in the zone (default 100000; --quick 10000)")
    ap.add_argument("--queries", type=int, help="lines per query file (default 100000; --quick 5000)")
    ap.add_argument("--client", choices=("auto", "blast", "dnsperf"), default="auto",
                    help="load client: bench/blast.c (built into bench/out/) or dnsperf; "
                         "default auto: blast if it builds, else dnsperf")
    ap.add_argument("--duration", type=float, help="seconds per client run (default 5; --quick 0.5)")
    ap.add_argument("--rounds", type=int,
                    help="rounds over all mixes and servers (echo included): best QPS and min/median/max "
                         "of the per-round ratios (default 3; --quick 3)")
    ap.add_argument("--mixes", help="comma-separated subset of: " + ",".join(genzone.MIXES))
    ap.add_argument("--servers", default="canon,knotd,nsd", help="comma-separated subset of canon,knotd,nsd")
    ap.add_argument("--clients", type=int, default=4, help="dnsperf -c (default 4; dnsperf only)")
    ap.add_argument("--outstanding", type=int,
                    help="queries in flight: blast -q (default 128) or dnsperf -q (default 200)")
    ap.add_argument("--threads", type=int, default=1, help="dnsperf -T (default 1; dnsperf only)")
    ap.add_argument("--timeout", type=float,
                    help="seconds until a query counts as lost: blast -t (default 1), dnsperf -t (default 2)")
    ap.add_argument("--edns", action="store_true", help="send EDNS0 (blast/dnsperf -e)")
    ap.add_argument("--no-pin", action="store_true",
                    help="don't pin servers to the last CPU and the client to the others")
    ap.add_argument("--no-echo", action="store_true", help="leave bench/echo.c (the harness ceiling) out of the rounds")
    ap.add_argument("--spot", type=int, help="queries per mix compared answer by answer (default 100; --quick 15)")
    ap.add_argument("--canon-bin", default=os.environ.get("CANON_BIN", os.path.join(ROOT, "build", "canon")))
    ap.add_argument("--start-timeout", type=float, help="seconds a server gets to load the zone (default 60; --quick 20)")
    ap.add_argument("--seed", type=int, default=20261123)
    a = ap.parse_args(argv)
    q = a.quick
    a.names = a.names or (10000 if q else 100000)
    a.queries = a.queries or (5000 if q else 100000)
    a.duration = a.duration or (0.5 if q else 5)
    a.rounds = a.rounds or 3
    a.spot = a.spot if a.spot is not None else (15 if q else 100)
    a.start_timeout = a.start_timeout or (20.0 if q else 60.0)
    a.duration = int(a.duration) if float(a.duration).is_integer() else a.duration
    a.mixes = a.mixes.split(",") if a.mixes else list(genzone.MIXES)
    for mx in a.mixes:
        if mx not in genzone.MIXES:
            ap.error(f"unknown mix {mx!r}")
    a.servers = [s for s in a.servers.split(",") if s]
    for s in a.servers:
        if s not in SERVERS:
            ap.error(f"unknown server {s!r}")
    ncpu = len(os.sched_getaffinity(0))
    if a.no_pin or ncpu < 2:
        # Every thread may run anywhere (pin_tree still undoes knotd's own
        # pinning of its UDP worker to CPU 0).
        a.server_cpus = a.client_cpus = set(os.sched_getaffinity(0))
        a.pinned = False
    else:
        a.pinned = True
        cpus = sorted(os.sched_getaffinity(0))
        a.server_cpus, a.client_cpus = {cpus[-1]}, set(cpus[:-1])
    return a


def build_tool(name, quiet=False):
    """Compile bench/NAME.c into bench/out/NAME (when older than the source)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        if not quiet:
            warn(f"no C compiler: cannot build bench/{name}.c")
        return None
    os.makedirs(OUT, exist_ok=True)
    exe = os.path.join(OUT, name)
    src = os.path.join(HERE, f"{name}.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        r = subprocess.run([cc, "-O2", "-o", exe, src], capture_output=True, text=True)
        if r.returncode != 0:
            if not quiet:
                warn(f"could not build bench/{name}.c: " + r.stderr.strip())
            return None
    return exe


def build_echo():
    return build_tool("echo")


def pick_client(args):
    """Sets args.client, args.blast / args.dnsperf and the client's defaults."""
    args.dnsperf = shutil.which("dnsperf")
    args.blast = None
    if args.client in ("auto", "blast"):
        args.blast = build_tool("blast", quiet=args.client == "auto")
        if args.blast:
            args.client = "blast"
        elif args.client == "blast":
            sys.exit("bench: bench/blast.c did not build (see above)")
        else:
            log("bench: bench/blast.c did not build (needs a C compiler); using dnsperf")
            args.client = "dnsperf"
    if args.client == "dnsperf" and not args.dnsperf:
        sys.exit("bench: dnsperf is not installed: run scripts/deps")
    if args.outstanding is None:
        args.outstanding = 128 if args.client == "blast" else 200
    if args.timeout is None:
        args.timeout = 1.0 if args.client == "blast" else 2.0


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    t_begin = time.monotonic()
    pick_client(args)
    for tool in ("knotd", "nsd"):
        if tool in args.servers and not (shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}")):
            sys.exit(f"bench: {tool} is not installed: run scripts/deps")
    if not os.path.exists(os.path.join(ROOT, "tests", "e2e", "refservers.py")):
        sys.exit("bench: tests/e2e/refservers.py is missing (it starts knotd and nsd)")

    os.makedirs(os.path.join(OUT, "runs"), exist_ok=True)
    for f in os.listdir(os.path.join(OUT, "runs")):
        os.unlink(os.path.join(OUT, "runs", f))
    workdir = os.path.join(OUT, "servers")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)

    log(f"bench: generating {args.names} names, {args.queries} queries per mix (seed {args.seed})")
    meta = genzone.generate(args.names, args.seed, args.queries, OUT)
    meta["mixes"] = {k: v for k, v in meta["mixes"].items() if k in args.mixes}
    rcodes = {}
    for mix, m in meta["mixes"].items():
        with open(m["rcodes"]) as f:
            rcodes[mix] = f.read().strip()
    log(f"bench: zone {meta['zonefile']}: {meta['owner_names']} names, {meta['records']} records")
    pin_self(args.client_cpus)
    if args.pinned:
        log(f"bench: servers pinned to CPU {sorted(args.server_cpus)}, {args.client} to CPU {sorted(args.client_cpus)}")

    results = {"args": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
               "zone": {k: meta[k] for k in ("owner_names", "records", "breakdown")},
               "servers": {}, "runs": {}, "warnings": [], "echo": None}
    warnings = results["warnings"]
    servers = {}
    failed = {}

    # Baseline: each server with the minimal zone, then stopped.
    for kind in args.servers:
        try:
            srv, info = start_server(kind, meta["minimal_zonefile"], workdir, args)
        except StartFailed as e:
            failed[kind] = str(e)
            warn(f"{kind} did not start; it is left out of the results.\n{e}")
            continue
        results["servers"][kind] = {"minimal": info}
        srv.stop()
        _children.remove(srv)

    # The benchmark zone: one server at a time loads it; all stay up.
    for kind in args.servers:
        if kind in failed:
            continue
        try:
            srv, info = start_server(kind, meta["zonefile"], workdir, args)
        except StartFailed as e:
            failed[kind] = str(e)
            warn(f"{kind} did not load the benchmark zone; it is left out of the results.\n{e}")
            continue
        servers[kind] = srv
        results["servers"][kind]["full"] = info
        log(f"bench: {kind:5s} loaded in {info.get('load_s', float('nan')):.2f} s, "
            f"PSS {info['pss_kb'] / 1024:.1f} MiB, VmRSS {info['rss_kb'] / 1024:.1f} MiB "
            f"({info['procs']} process{'es' if info['procs'] > 1 else ''}), port {info['port']}")
    if not servers:
        sys.exit("bench: no server started")

    # Correctness before speed.
    if args.spot:
        w, refdiff = spot_check(servers, meta, args.spot, args.edns)
        for x in w:
            warn("answer " + x)
        for x in refdiff[:10]:
            log("note (references disagree): " + x)
        if len(refdiff) > 10:
            log(f"note: {len(refdiff) - 10} more reference disagreements")
        warnings += ["answer " + x for x in w]
        results["spot_check"] = {"queries_per_mix": args.spot, "canon_mismatches": w, "reference_mismatches": refdiff}
        log(f"bench: answers compared for {args.spot} queries per mix: "
            f"{len(w)} canon mismatch(es), {len(refdiff)} knotd/nsd disagreement(s)")

    echo = None
    if not args.no_echo:
        exe = build_echo()
        if exe:
            echo = EchoServer(exe, workdir, args)
            if not echo.alive():
                warn(f"bench/echo.c exited at start (see {echo.logpath}); no harness ceiling")
                echo.stop()
                echo = None
    # The echo server takes its turn in every round, next to the servers, so
    # every canon/echo ratio compares runs seconds apart: this VM's speed
    # drifts by 2x within minutes, and a ceiling measured once, apart, gave
    # canon/echo 0.69 in one run and 1.11 in the next with the same binary.
    targets = ({"echo": echo} if echo else {}) | servers

    busy = []
    f0 = foreign_cpu()
    time.sleep(1.0)
    pct, top = foreign_delta(f0, foreign_cpu(), 1.0)
    if pct > BUSY_PCT:
        warn(f"the machine is busy before the runs: other processes use {pct:.0f}% of a CPU "
             f"({', '.join(top)}); the numbers will be low and noisy")
    results["machine"] = {"cores": os.cpu_count(), "usable_cpus": sorted(args.server_cpus | args.client_cpus),
                          "loadavg_before": list(os.getloadavg()), "other_cpu_pct_before": pct}
    total = len(args.mixes) * len(targets) * args.rounds
    est = total * (args.duration + 0.4)
    log(f"bench: {total} runs of {args.duration} s with {client_desc(args)}, about {est / 60:.1f} min")
    order = list(targets)
    for rnd in range(args.rounds):
        for mix in args.mixes:
            for kind in order:
                srv = targets[kind]
                if not srv.alive():
                    if kind not in failed:
                        failed[kind] = f"{kind} died during the benchmark (exit {srv.proc.poll()}); log: {srv.logpath}"
                        warn(failed[kind])
                    continue
                r = run_client(kind, srv.port, srv.proc.pid, mix, meta["mixes"][mix], rnd, args)
                r["qfile"] = meta["mixes"][mix]["file"]
                results["runs"].setdefault(kind, {}).setdefault(mix, []).append(r)
                if kind != "echo":  # echo answers NOERROR to everything
                    for x in check_rcodes(kind, mix, r, rcodes[mix], args):
                        warn(x)
                        warnings.append(x)
                if r["other_cpu_pct"] > BUSY_PCT:
                    r["busy"] = True
                    busy.append((r["other_cpu_pct"], kind, mix, rnd, r["other_top"]))
                log(f"  round {rnd + 1} {mix:9s} {kind:5s} {fmt_qps(r['qps']):>8s}"
                    f"  cpu {r.get('cpu_pct', 0):3.0f}% ({fmt_split(r)} µs/answer){client_cpu(r)}  "
                    + " ".join(f"{k}={v}" for k, v in sorted(r["rcodes"].items())))
            ratios = [(a, b, round_ratio(results, a, b, mix, rnd)) for a, b in RATIOS]
            log(f"  round {rnd + 1} {mix:9s} " + ", ".join(f"{a}/{b} {x:.2f}" for a, b, x in ratios if x))
            order = order[1:] + order[:1]  # rotate who goes first, against drift

    # Consistency across servers: the same file must give the same split.
    for mix in args.mixes:
        fr = {}
        for kind in servers:
            runs = results["runs"].get(kind, {}).get(mix, [])
            if runs and runs[0].get("completed"):
                fr[kind] = runs[0]["rcodes"].get("NXDOMAIN", 0) / runs[0]["completed"]
        if fr and max(fr.values()) - min(fr.values()) > 0.005:
            x = f"{mix}: NXDOMAIN share differs between servers: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in fr.items())
            warn(x)
            warnings.append(x)

    stop_all()
    results["machine"]["loadavg_after"] = list(os.getloadavg())
    machine = machine_line(results["machine"], args)

    def good(kind, mix):
        return [r for r in results["runs"].get(kind, {}).get(mix, []) if r.get("qps")]

    def best(kind, mix):
        q = [r["qps"] for r in good(kind, mix)]
        return max(q) if q else None

    def cpu(kind, mix):
        runs = good(kind, mix)
        if not runs:
            return "-"
        return f"{max(runs, key=lambda r: r['qps']).get('cpu_pct', 0):.0f}%"

    def cpu_per_q(kind, mix):
        runs = good(kind, mix)
        if not runs:
            return None
        return max(runs, key=lambda r: r["qps"]).get("cpu_us_per_q")

    def pooled(kind, mix):
        """(user, sys) µs per answer over all rounds: the ticks are 10 ms, so
        pooling the rounds gives the finest figure; a server's CPU per
        answer moves far less with the machine's load than its QPS."""
        runs = good(kind, mix)
        n = sum(r.get("completed") or 0 for r in runs)
        if not n:
            return None
        return tuple(1e6 * sum(r[k] for r in runs) / CLK_TCK / n for k in ("cpu_user_ticks", "cpu_sys_ticks"))

    kinds = ("echo",) + SERVERS
    results["best_qps"] = {k: {m: best(k, m) for m in args.mixes} for k in kinds}
    results["ratios"] = {}
    for mix in args.mixes:
        results["ratios"][mix] = {}
        for a, b in RATIOS:
            xs = [x for x in (round_ratio(results, a, b, mix, rnd) for rnd in range(args.rounds)) if x]
            if xs:
                results["ratios"][mix][f"{a}/{b}"] = {"min": min(xs), "median": statistics.median(xs),
                                                      "max": max(xs), "rounds": xs}
    results["cpu_split_us"] = {k: {m: pooled(k, m) for m in args.mixes} for k in kinds}

    header = ["", "canon", "knotd", "nsd", "canon/knotd", "canon/nsd"]
    header_q = ["", "echo", "canon", "knotd", "nsd", "canon/echo", "canon/knotd", "canon/nsd"]
    rows, rows_q = [], []
    for mix in args.mixes:
        e, c, k, n = (best(s, mix) for s in kinds)
        rows.append([f"QPS {mix}", fmt_qps(c), fmt_qps(k), fmt_qps(n), fmt_ratio(c, k), fmt_ratio(c, n)])
        rows_q.append([mix, fmt_qps(e), fmt_qps(c), fmt_qps(k), fmt_qps(n), fmt_ratio(c, e), fmt_ratio(c, k),
                       fmt_ratio(c, n)])
    rows.append(None)
    rows_m = []

    def sv(kind, which, key):
        return results["servers"].get(kind, {}).get(which, {}).get(key)

    def mrow(label, vals, fmt):
        c, k, n = vals
        row = [label] + [fmt(v) if v is not None else "n/a" for v in vals] + [fmt_ratio(c, k), fmt_ratio(c, n)]
        rows.append(row)
        rows_m.append(row)

    recs = meta["records"]
    mrow("zone load time (s)", [sv(s, "full", "load_s") for s in SERVERS], lambda v: f"{v:.2f}")
    mrow("start, minimal zone (s)", [sv(s, "minimal", "load_s") for s in SERVERS], lambda v: f"{v:.2f}")
    mrow("memory after load (MiB PSS)", [(sv(s, "full", "pss_kb") or 0) / 1024 or None for s in SERVERS],
         lambda v: f"{v:.1f}")
    mrow("memory, minimal zone (MiB PSS)", [(sv(s, "minimal", "pss_kb") or 0) / 1024 or None for s in SERVERS],
         lambda v: f"{v:.1f}")

    def per_rec(s):
        a, b = sv(s, "full", "pss_kb"), sv(s, "minimal", "pss_kb")
        return (a - b) * 1024 / recs if a and b else None

    mrow(f"bytes/record ({recs} records)", [per_rec(s) for s in SERVERS], lambda v: f"{v:.0f}")
    mrow("VmRSS after load, sum (MiB)", [(sv(s, "full", "rss_kb") or 0) / 1024 or None for s in SERVERS],
         lambda v: f"{v:.1f}")
    # "table" keeps its old shape (QPS and memory rows, no echo) for readers of results.json.
    results["table"] = {"header": header, "rows": [r for r in rows if r]}
    results["table_qps"] = {"header": header_q, "rows": rows_q}

    log()
    log(f"== canon benchmark: {meta['owner_names']} names / {recs} records, one worker each, "
        f"{client_desc(args)}, {args.duration} s x {args.rounds} round(s) ==")
    log()
    log(f"QPS, best of {args.rounds} round(s) per server and mix; ratios of the bests")
    log(machine)
    print_table(rows_q, header_q)

    log()
    nr = args.rounds
    log(f"per-round QPS ratios, min / median / max over {nr} round(s): each round runs "
        + ", ".join(targets) + " back to back on the mix,")
    log("so each ratio compares runs seconds apart; the min is what held in every round")
    log(machine)
    header_r = [""] + [f"{a}/{b}" for a, b in RATIOS]
    rows_r = []
    for mix in args.mixes:
        cells = []
        for a, b in RATIOS:
            x = results["ratios"][mix].get(f"{a}/{b}")
            cells.append(f"{x['min']:.2f} / {x['median']:.2f} / {x['max']:.2f}" if x else "-")
        rows_r.append([mix] + cells)
    print_table(rows_r, header_r)
    results["table_ratios"] = {"header": header_r, "rows": rows_r}

    log()
    log("load time and memory")
    log(machine)
    print_table(rows_m, header)
    mx = "mixed" if "mixed" in args.mixes else args.mixes[0]
    if results["echo"] is None and echo:
        runs = good("echo", mx)
        if runs:
            results["echo"] = max(runs, key=lambda r: r["qps"])
    if results["echo"]:
        e = results["echo"]
        log(f"harness ceiling (bench/echo.c, recvmmsg echo, {mx} file, {args.client}): {fmt_qps(e['qps'])} QPS"
            f" (echo cpu {e.get('cpu_pct', 0):.0f}%{client_cpu(e)})")
        ce = results["ratios"][mx].get("canon/echo")
        log(f"QPS {mx} / echo ceiling (bests): " + ", ".join(
            f"{k} {best(k, mx) / e['qps']:.2f}" for k in SERVERS if best(k, mx))
            + (f"; canon/echo within a round: min {ce['min']:.2f}, median {ce['median']:.2f}" if ce else ""))
    log()
    log("server CPU per answer in the best run, µs (and the server's CPU use, % of one core: near 100% = the")
    log("server was the bottleneck, well below = the client was and the QPS above understates the server):")
    log(machine)
    rows2 = []
    for mix in args.mixes:
        v = [cpu_per_q(s, mix) for s in SERVERS]
        rows2.append([mix] + [f"{a:.2f} ({cpu(s, mix)})" if a else "n/a" for a, s in zip(v, SERVERS)]
                     + [fmt_ratio(v[0], v[1]), fmt_ratio(v[0], v[2])])
    print_table(rows2, header)
    results["table_cpu"] = {"header": header, "rows": rows2}

    log()
    log(f"server CPU per answer, µs user + system, all {nr} round(s) pooled (/proc/PID/stat utime, stime;")
    log("the system part is mostly the kernel's UDP path, all that echo has; the user part is the server's own work):")
    log(machine)
    header3 = ["", "echo", "canon", "knotd", "nsd", "canon/echo", "canon/knotd", "canon-echo sys"]
    rows3 = []
    results["cpu_bound_ratio"] = {}
    for mix in args.mixes:
        v = [results["cpu_split_us"][k][mix] for k in kinds]
        e, c, k = (sum(x) if x else None for x in v[:3])
        # QPS ratios if each server ran its core at 100%: the inverse of the CPU ratio.
        results["cpu_bound_ratio"][mix] = {"canon/echo": e / c if e and c else None,
                                           "canon/knotd": k / c if k and c else None}
        rows3.append([mix] + [f"{x[0]:.2f} + {x[1]:.2f}" if x else "n/a" for x in v]
                     + [fmt_ratio(e, c), fmt_ratio(k, c),
                        f"{v[1][1] - v[0][1]:+.2f}" if v[1] and v[0] else "-"])
    print_table(rows3, header3)
    log("canon/echo, canon/knotd here: the QPS ratio if both ran their core at 100% (CPU per answer, inverted);")
    log("steadier than the QPS ratios above when the servers' core is shared or the client is the limit")
    results["table_cpu_split"] = {"header": header3, "rows": rows3}
    log()
    for kind, why in failed.items():
        log(f"{kind}: not measured: {why.splitlines()[0]}")
    results["busy_runs"] = busy
    if warnings:
        log(f"{len(warnings)} WARNING(S): the responses were not all as expected (see above); "
            "a fast wrong server is not fast.")
    busy_best = []
    if busy:
        worst = max(busy)
        for kind in targets:
            for mix in args.mixes:
                runs = good(kind, mix)
                if runs and max(runs, key=lambda r: r["qps"]).get("busy"):
                    busy_best.append(f"{kind} {mix}")
        x = (f"the machine was busy during {len(busy)} of {total} runs: other processes used up to "
             f"{worst[0]:.0f}% of a CPU (worst: {worst[1]} {worst[2]} round {worst[3] + 1}: {', '.join(worst[4])})")
        if busy_best:
            named = ", ".join(busy_best[:6]) + (f" and {len(busy_best) - 6} more" if len(busy_best) > 6 else "")
            x += (f"; the best run shown was one of them for: {named}: those QPS are low, "
                  "rerun on a quiet machine")
            warn(x)
        else:
            x += "; none of them is a best run shown above (another round was better), so the table stands"
            log("note: " + x)
        results["busy_warning"] = x
    if not warnings:
        log("responses: every run's NOERROR/NXDOMAIN split matched the query files; spot-checked answers matched.")
    log(f"details: {os.path.join(OUT, 'results.json')}; {args.client} outputs in {os.path.join(OUT, 'runs')}; "
        f"took {time.monotonic() - t_begin:.0f} s")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    return 1 if (failed or warnings or busy_best) else 0


if __name__ == "__main__":
    try:
        rc = main(sys.argv[1:])
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping servers", file=sys.stderr)
        rc = 130
    finally:
        stop_all()
    sys.exit(rc)
