#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""canon resolve against unbound in the mini-internet of tests/e2e/miniworld.py.

    bench/resolve_bench.py [--duration S] [--rounds N] [--cold-runs N] [--no-pin]

Not a test: it prints one table and exits 0, or 1 when something it measured
is not to be trusted (a resolver missing, a wrong rcode, lost queries, a busy
machine). Two measurements:

  1. Cache-hit QPS. The world is started (needs port 53 on 127.53.0.x for
     unbound, see docs/resolver.md), then canon resolve (one --listen: one
     front thread, which answers every cache hit) and unbound (num-threads: 1,
     iterator only). Each query of QUERIES is asked of both with dnspython and
     must get its rcode; a query either one gets wrong is dropped from the set
     with a WARNING (a SERVFAIL is not cached and would measure the network).
     Then, for --rounds rounds, each resolver is warmed again (every query once)
     and dnsperf (-c 4 -q 200 -T 1) sends the set in a loop for --duration
     seconds; the best round counts. The resolver's threads are pinned to the
     last CPU, dnsperf and this script to the others (--no-pin: not). Also
     shown: the resolver's CPU time per answer (all its threads, from /proc),
     which is the sharper comparison when dnsperf is the bottleneck.
  2. Cold resolution of the 3-zone chain a.one.test -> b.two.test ->
     c.three.test: a fresh resolver (empty cache) is started --cold-runs times,
     asked once, and stopped; the median time from sending the query to the
     answer counts (both start from root hints: priming and every referral).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

try:
    import dns.message
    import dns.query
    import dns.rcode
except ImportError:
    sys.exit("resolve_bench: dnspython is missing: run scripts/deps (python3-dnspython)")

import miniworld  # noqa: E402

# (name, type, rcode): names of the world that resolve (no SERVFAIL: it is not cached).
QUERIES = [
    ("a.one.test.", "A", "NOERROR"),            # the 3-zone chain
    ("b.two.test.", "A", "NOERROR"),
    ("c.three.test.", "A", "NOERROR"),
    ("in1.one.test.", "A", "NOERROR"),          # in-zone, then across
    ("www.alias.one.test.", "A", "NOERROR"),    # DNAME across zones
    ("host.one.test.", "A", "NOERROR"),
    ("ns.two.test.", "A", "NOERROR"),
    ("www.noglue.test.", "A", "NOERROR"),
    ("www.halflame.test.", "A", "NOERROR"),
    ("www.fallback.test.", "A", "NOERROR"),
    ("www.liar.test.", "A", "NOERROR"),
    ("victim.target.test.", "A", "NOERROR"),
    ("test.", "SOA", "NOERROR"),
    ("txtonly.two.test.", "TXT", "NOERROR"),
    ("nodata.one.test.", "A", "NOERROR"),       # chain to NODATA
    ("nx.one.test.", "A", "NXDOMAIN"),          # chain to NXDOMAIN
    ("nothere.two.test.", "A", "NXDOMAIN"),
    ("www.example.", "A", "NXDOMAIN"),          # denied by the root
]
COLD_NAME = "a.one.test."
BUSY_PCT = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
_warnings = []


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    _warnings.append(msg)
    log("WARNING: " + msg)


# ---------------------------------------------------------------- CPU


def cpu_jiffies(pid):
    """User+system jiffies of every thread of pid (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


def _descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        out.add(p)
        todo += kids.get(p, [])
    return out


def foreign_cpu():
    """{pid: (comm, jiffies)} of every process not this one or its descendants."""
    mine = _descendants(os.getpid())
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            fields = st.rsplit(")", 1)[1].split()
            out[int(d)] = (st[st.index("(") + 1:st.rindex(")")], int(fields[11]) + int(fields[12]))
        except (OSError, ValueError, IndexError):
            pass
    return out


def foreign_delta(before, after, seconds):
    """(% of a CPU the other processes used, the top ones as text)."""
    use = sorted(((t - before.get(pid, (comm, 0))[1], comm, pid)
                  for pid, (comm, t) in after.items()), reverse=True)
    pct = [(100.0 * d / CLK_TCK / seconds, c, p) for d, c, p in use if d > 0]
    return sum(x for x, _, _ in pct), ", ".join(f"{c} ({p}) {x:.0f}%" for x, c, p in pct[:3])


def pin(pid, cpus):
    if cpus is None:
        return
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


# ---------------------------------------------------------------- measuring


def rcode_of(server, name, rtype, timeout=3.0):
    try:
        r = miniworld.ask(server.addr, server.port, name, rtype, timeout=timeout)
        return dns.rcode.to_text(r.rcode())
    except Exception as e:
        return f"no answer ({type(e).__name__})"


def warm(server, queries):
    for name, rtype, _ in queries:
        rcode_of(server, name, rtype)


def dnsperf(server, qfile, duration, out_path):
    argv = [shutil.which("dnsperf") or "dnsperf", "-s", server.addr, "-p", str(server.port),
            "-d", qfile, "-l", str(duration), "-c", "4", "-q", "200", "-T", "1", "-t", "2",
            "-O", "suppress=timeout"]
    f0, cpu0, t0 = foreign_cpu(), cpu_jiffies(server.proc.pid), time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
    f1, cpu1, t1 = foreign_cpu(), cpu_jiffies(server.proc.pid), time.monotonic()
    with open(out_path, "w") as f:
        f.write(" ".join(argv) + "\n" + res.stdout + res.stderr)
    text = res.stdout

    def num(pattern, cast=int):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None

    run = {
        "sent": num(r"Queries sent:\s+(\d+)"),
        "completed": num(r"Queries completed:\s+(\d+)"),
        "lost": num(r"Queries lost:\s+(\d+)"),
        "qps": num(r"Queries per second:\s+([\d.]+)", float),
        "rcodes": dict((k, int(v)) for k, v in
                       re.findall(r"([A-Z]+) (\d+) \(", (re.search(r"Response codes:\s+(.*)", text)
                                                          or re.match("", "")).group(0))),
    }
    server_s = (cpu1 - cpu0) / CLK_TCK
    wall = t1 - t0
    run["cpu_us"] = server_s / run["completed"] * 1e6 if run["completed"] else None
    run["server_pct"] = 100 * server_s / wall
    run["others_pct"], run["others_top"] = foreign_delta(f0, f1, wall)
    if res.returncode != 0 or run["qps"] is None:
        warn(f"dnsperf failed against {server.name}: see {out_path}")
    return run


def check_run(name, run, queries):
    share_nx = sum(1 for q in queries if q[2] == "NXDOMAIN") / len(queries)
    got = run["rcodes"]
    other = {k: v for k, v in got.items() if k not in ("NOERROR", "NXDOMAIN")}
    if other:
        warn(f"{name}: unexpected rcodes {other}")
    done = sum(got.values())
    if done and abs(got.get("NXDOMAIN", 0) / done - share_nx) > 0.02:
        warn(f"{name}: NXDOMAIN share {got.get('NXDOMAIN', 0) / done:.3f}, "
             f"the query set has {share_nx:.3f}")
    if run["sent"] and run["lost"] and run["lost"] > 0.005 * run["sent"]:
        warn(f"{name}: {run['lost']} of {run['sent']} queries lost")


def cold_times(start, runs):
    """Milliseconds to resolve COLD_NAME with a fresh resolver, 'runs' times."""
    times = []
    for _ in range(runs):
        server = start()
        try:
            q = miniworld.make_query(COLD_NAME, "A")
            t0 = time.monotonic()
            r = dns.query.udp(q, server.addr, port=server.port, timeout=5)
            elapsed = (time.monotonic() - t0) * 1000
            if r.rcode() != dns.rcode.NOERROR or len(r.answer) < 3:
                warn(f"cold {COLD_NAME}: {server.name} answered {dns.rcode.to_text(r.rcode())} "
                     f"with {len(r.answer)} RRsets")
            times.append(elapsed)
        finally:
            server.stop()
    return times


# ---------------------------------------------------------------- main


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def fmt(v, spec):
    return format(v, spec) if v is not None else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per dnsperf run (5)")
    ap.add_argument("--rounds", type=int, default=2, help="dnsperf rounds; the best counts (2)")
    ap.add_argument("--cold-runs", type=int, default=7, help="fresh resolvers per median (7)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin resolvers and dnsperf")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "resolve"),
                    help="dnsperf outputs, query file, logs (bench/out/resolve)")
    args = ap.parse_args()
    if not os.access(miniworld.CANON_BIN, os.X_OK):
        sys.exit(f"resolve_bench: {miniworld.CANON_BIN} is missing: make build")
    if shutil.which("dnsperf") is None:
        sys.exit("resolve_bench: dnsperf is missing: run scripts/deps")
    os.makedirs(args.out, exist_ok=True)
    ncpu = len(os.sched_getaffinity(0))
    server_cpus = None if args.no_pin or ncpu < 2 else {max(os.sched_getaffinity(0))}
    client_cpus = None if server_cpus is None else set(os.sched_getaffinity(0)) - server_cpus
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)

    workdir = tempfile.mkdtemp(prefix="resolve-bench-")
    world = miniworld.World(workdir)
    started = []
    try:
        world.start()
        log(f"world up on 127.53.0.0/24, query port {world.query_port}"
            f"{', and 53' if world.port53 else ''}; logs in {workdir}")

        def start_canon():
            s = world.resolver()
            s.name = "canon"
            pin(s.proc.pid, server_cpus)
            return s

        def start_unbound():
            s = miniworld.start_unbound(workdir)
            s.name = "unbound"
            pin(s.proc.pid, server_cpus)
            return s

        kinds = {"canon": start_canon}
        if not miniworld.unbound_available():
            warn("unbound is not installed: its column is n/a")
        elif not world.port53:
            warn(f"unbound needs the world on port 53: {world.why_no_53}; its column is n/a")
        else:
            kinds["unbound"] = start_unbound

        servers = {}
        for name, start in kinds.items():
            servers[name] = start()
            started.append(servers[name])

        queries = []
        for q in QUERIES:
            got = {n: rcode_of(s, q[0], q[1]) for n, s in servers.items()}
            wrong = {n: g for n, g in got.items() if g != q[2]}
            if wrong:
                warn(f"{q[0]} {q[1]}: expected {q[2]}, got {wrong}: left out of the query set")
            else:
                queries.append(q)
        qfile = os.path.join(args.out, "queries.txt")
        with open(qfile, "w") as f:
            f.writelines(f"{n} {t}\n" for n, t, _ in queries)
        log(f"{len(queries)} queries in {qfile}")

        best = {}
        order = list(servers)
        for rnd in range(args.rounds):
            for name in order:
                s = servers[name]
                warm(s, queries)
                pin(s.proc.pid, server_cpus)
                run = dnsperf(s, qfile, args.duration,
                              os.path.join(args.out, f"dnsperf-{name}-{rnd}.txt"))
                check_run(name, run, queries)
                log(f"round {rnd + 1} {name:8} {fmt(run['qps'], '.0f'):>9} QPS  "
                    f"{fmt(run['cpu_us'], '.2f')} µs/answer  resolver CPU "
                    f"{run['server_pct']:.0f}%  others {run['others_pct']:.0f}%")
                run["busy"] = run["others_pct"] > BUSY_PCT
                if run["qps"] and (name not in best or run["qps"] > best[name]["qps"]):
                    best[name] = run
            order.reverse()
        for name, run in best.items():
            if run["busy"]:
                warn(f"{name}: its best run had other processes using {run['others_pct']:.0f}% "
                     f"of a CPU ({run['others_top']}): rerun on a quiet machine")

        for s in started:
            s.stop()
        started.clear()
        cold = {name: cold_times(start, args.cold_runs) for name, start in kinds.items()}
    finally:
        for s in started:
            s.stop()
        world.stop()

    c, u = best.get("canon", {}), best.get("unbound", {})
    cold_c = statistics.median(cold["canon"]) if cold.get("canon") else None
    cold_u = statistics.median(cold["unbound"]) if cold.get("unbound") else None
    log()
    log(f"{'':44}{'canon':>10}{'unbound':>10}{'canon/unbound':>15}")
    log(f"{f'cache-hit QPS (best of {args.rounds} x {args.duration} s)':44}"
        f"{fmt(c.get('qps'), '.0f'):>10}{fmt(u.get('qps'), '.0f'):>10}"
        f"{ratio(c.get('qps'), u.get('qps')):>15}")
    log(f"{'resolver CPU per cache hit (µs)':44}{fmt(c.get('cpu_us'), '.2f'):>10}"
        f"{fmt(u.get('cpu_us'), '.2f'):>10}{ratio(c.get('cpu_us'), u.get('cpu_us')):>15}")
    log(f"{f'cold 3-zone chain (ms, median of {args.cold_runs})':44}{fmt(cold_c, '.2f'):>10}"
        f"{fmt(cold_u, '.2f'):>10}{ratio(cold_c, cold_u):>15}")
    log(f"QPS: higher is better (ratio > 1: canon faster); µs and ms: lower is better "
        f"(ratio < 1: canon cheaper/faster). {len(queries)} names, "
        f"{'pinned: resolver on CPU ' + str(min(server_cpus)) if server_cpus else 'not pinned'}.")
    for name, times in cold.items():
        log(f"cold runs {name}: " + " ".join(f"{t:.2f}" for t in times) + " ms")
    if _warnings:
        log(f"{len(_warnings)} warning(s) above")
    return 1 if _warnings else 0


if __name__ == "__main__":
    sys.exit(main())
