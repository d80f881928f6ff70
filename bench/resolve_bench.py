#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""canon resolve against unbound in the mini-internet of tests/e2e/miniworld.py.

    bench/resolve_bench.py [--duration S] [--rounds N] [--cold-runs N] [--no-pin]
                           [--baseline CANON] [--no-count] [--cold-only]

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
     seconds; the order of the resolvers alternates from round to round. The
     median round counts, with the spread (min-max) beside it. The resolver's
     threads are pinned to the last CPU, dnsperf and this script to the
     others (--no-pin: not). Also shown: the resolver's CPU time per answer
     (all its threads, from /proc), which is the sharper comparison when
     dnsperf is the bottleneck.
  2. Cold resolution of the 3-zone chain a.one.test -> b.two.test ->
     c.three.test: --cold-runs rounds; in each, every resolver is started
     fresh (empty cache), given 0.3 s to settle, asked once and stopped, in
     an order that rotates from round to round (canon, unbound; unbound,
     canon; ...), so that a machine busy for a while weighs on both alike.
     Nothing is pinned here: on a busy machine, a pinned resolver or server
     waits for its one CPU at every hop. Shown: the median time from sending
     the query to the answer (both start from root hints: priming and every
     referral), its spread (p25-p75 and min-max), the median of the
     per-round ratios canon/unbound, the resolver's CPU time for the
     resolution (all threads, /proc/PID/task/*/schedstat) and its page
     faults. Then each resolver resolves the chain once more under strace
     (when installed; --no-count: not), which counts its upstream queries:
     connect() calls to the world's servers (both connect each query's
     socket).
  --baseline CANON adds a column for another canon binary (e.g. main's build),
  measured in the same interleaved rounds: before/after on the same machine.
"""
import argparse
import os
import re
import select
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
COLD_SETTLE_S = 0.3  # From "ready" to the cold query.
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


def run_stats(pid):
    """(CPU nanoseconds, minor page faults) of every thread of pid so far."""
    ns = faults = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                faults += int(f.read().rsplit(")", 1)[1].split()[7])
        except (OSError, IndexError, ValueError):
            pass
    return ns, faults


def cold_once(start):
    """One cold resolution of COLD_NAME by a fresh resolver: (ms, CPU µs, page faults)."""
    server = start()
    try:
        # A cold cache, not a process still starting: its threads settle first.
        time.sleep(COLD_SETTLE_S)
        q = miniworld.make_query(COLD_NAME, "A")
        ns0, f0 = run_stats(server.proc.pid)
        t0 = time.monotonic()
        r = dns.query.udp(q, server.addr, port=server.port, timeout=5)
        elapsed = (time.monotonic() - t0) * 1000
        time.sleep(0.01)  # The thread that answered goes back to sleep.
        ns1, f1 = run_stats(server.proc.pid)
        if r.rcode() != dns.rcode.NOERROR or len(r.answer) < 3:
            warn(f"cold {COLD_NAME}: {server.name} answered {dns.rcode.to_text(r.rcode())} "
                 f"with {len(r.answer)} RRsets")
        return elapsed, (ns1 - ns0) / 1000, f1 - f0
    finally:
        server.stop()


def cold_rounds(kinds, runs):
    """{name: [(ms, CPU µs, faults), ...]}: 'runs' rounds, every resolver once a
    round, the order rotating from round to round."""
    out = {name: [] for name in kinds}
    order = list(kinds)
    for _ in range(runs):
        for name in order:
            out[name].append(cold_once(kinds[name]))
        order = order[1:] + order[:1]
    return out


WORLD_NET = "127.53.0."


def count_upstream(start, log_path):
    """Upstream queries of one cold resolution of COLD_NAME, counted by strace as
    connect() calls to the world's servers; None without strace."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    server = start()
    try:
        tracer = subprocess.Popen([strace, "-f", "-e", "trace=connect", "-o", log_path,
                                   "-p", str(server.proc.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # "Process N attached with T threads": strace has seized every thread.
        said, deadline = b"", time.monotonic() + 5
        while b"attached" not in said and time.monotonic() < deadline:
            ready, _, _ = select.select([tracer.stderr], [], [], 0.2)
            if ready:
                chunk = os.read(tracer.stderr.fileno(), 4096)
                if not chunk:
                    break
                said += chunk
        if b"attached" not in said:
            tracer.kill()
            tracer.wait()
            return None
        miniworld.ask(server.addr, server.port, COLD_NAME, "A", timeout=5)
        time.sleep(0.2)
        tracer.terminate()
        tracer.wait(timeout=5)
    finally:
        server.stop()
    with open(log_path) as f:
        return sum(1 for line in f if "connect(" in line and WORLD_NET in line
                   and "resumed" not in line)


# ---------------------------------------------------------------- main


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def fmt(v, spec):
    return format(v, spec) if v is not None else "n/a"


def quantile(values, q):
    """The q-quantile (0..1) of values, linear between the closest ranks."""
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per dnsperf run (5)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="dnsperf rounds, resolvers interleaved; the median counts (3)")
    ap.add_argument("--cold-runs", type=int, default=21,
                    help="cold rounds, resolvers interleaved; the median counts (21)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin resolvers and dnsperf")
    ap.add_argument("--baseline", metavar="CANON",
                    help="another canon binary, measured as a third column (canon-base)")
    ap.add_argument("--no-count", action="store_true",
                    help="do not count upstream queries under strace")
    ap.add_argument("--cold-only", action="store_true", help="skip the cache-hit QPS runs")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "resolve"),
                    help="dnsperf outputs, query file, logs (bench/out/resolve)")
    args = ap.parse_args()
    if not os.access(miniworld.CANON_BIN, os.X_OK):
        sys.exit(f"resolve_bench: {miniworld.CANON_BIN} is missing: make build")
    if args.baseline and not os.access(args.baseline, os.X_OK):
        sys.exit(f"resolve_bench: --baseline {args.baseline} is not an executable")
    if shutil.which("dnsperf") is None:
        sys.exit("resolve_bench: dnsperf is missing: run scripts/deps")
    os.makedirs(args.out, exist_ok=True)
    all_cpus = set(os.sched_getaffinity(0))
    server_cpus = None if args.no_pin or len(all_cpus) < 2 else {max(all_cpus)}
    client_cpus = None if server_cpus is None else all_cpus - server_cpus
    # Where resolvers go: the last CPU for the QPS runs; anywhere for the cold
    # runs, a latency that pinning would turn into waits for a busy CPU.
    placement = {"cpus": server_cpus}

    workdir = tempfile.mkdtemp(prefix="resolve-bench-")
    world = miniworld.World(workdir)
    started = []
    try:
        # Started before this script pins itself: the world's servers run anywhere.
        world.start()
        if client_cpus:
            os.sched_setaffinity(0, client_cpus)
        log(f"world up on 127.53.0.0/24, query port {world.query_port}"
            f"{', and 53' if world.port53 else ''}; logs in {workdir}")

        def start_canon():
            s = world.resolver()
            s.name = "canon"
            pin(s.proc.pid, placement["cpus"])
            return s

        def start_base():
            s = world.resolver(binary=os.path.abspath(args.baseline))
            s.name = "canon-base"
            pin(s.proc.pid, placement["cpus"])
            return s

        def start_unbound():
            s = miniworld.start_unbound(workdir)
            s.name = "unbound"
            pin(s.proc.pid, placement["cpus"])
            return s

        kinds = {"canon": start_canon}
        if args.baseline:
            kinds["canon-base"] = start_base
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
        runs = {name: [] for name in servers}
        if not args.cold_only:
            queries = query_set(servers)
            qfile = os.path.join(args.out, "queries.txt")
            with open(qfile, "w") as f:
                f.writelines(f"{n} {t}\n" for n, t, _ in queries)
            log(f"{len(queries)} queries in {qfile}")
            order = list(servers)
            for rnd in range(args.rounds):
                for name in order:
                    s = servers[name]
                    warm(s, queries)
                    pin(s.proc.pid, server_cpus)
                    run = dnsperf(s, qfile, args.duration,
                                  os.path.join(args.out, f"dnsperf-{name}-{rnd}.txt"))
                    check_run(name, run, queries)
                    log(f"round {rnd + 1} {name:10} {fmt(run['qps'], '.0f'):>9} QPS  "
                        f"{fmt(run['cpu_us'], '.2f')} µs/answer  resolver CPU "
                        f"{run['server_pct']:.0f}%  others {run['others_pct']:.0f}%")
                    runs[name].append(run)
                order = order[1:] + order[:1]
            for name, rs in runs.items():
                busy = [r for r in rs if r["others_pct"] > BUSY_PCT]
                if len(busy) * 2 > len(rs):
                    warn(f"{name}: {len(busy)} of {len(rs)} rounds had other processes using "
                         f"more than {BUSY_PCT:.0f}% of a CPU ({busy[0]['others_top']}): "
                         f"rerun on a quiet machine")

        for s in started:
            s.stop()
        started.clear()
        placement["cpus"] = None
        os.sched_setaffinity(0, all_cpus)
        log(f"cold: {args.cold_runs} rounds of {', '.join(kinds)} (order rotating, not pinned)")
        cold = cold_rounds(kinds, args.cold_runs)
        with open(os.path.join(args.out, "cold.txt"), "w") as f:
            f.write("# resolver ms cpu_us faults, one cold resolution a line, in round order\n")
            for name, rows in cold.items():
                f.writelines(f"{name} {ms:.3f} {us:.0f} {pf}\n" for ms, us, pf in rows)
        upstream = {}
        if not args.no_count:
            for name, start in kinds.items():
                upstream[name] = count_upstream(
                    start, os.path.join(args.out, f"strace-{name}.txt"))
            if any(v is None for v in upstream.values()):
                log("strace is missing or cannot attach: upstream queries not counted")
    finally:
        for s in started:
            s.stop()
        world.stop()

    report(args, kinds, runs, cold, upstream, len(queries), server_cpus)
    if _warnings:
        log(f"{len(_warnings)} warning(s) above")
    return 1 if _warnings else 0


def query_set(servers):
    """QUERIES less those any resolver does not answer with the expected rcode."""
    queries = []
    for q in QUERIES:
        got = {n: rcode_of(s, q[0], q[1]) for n, s in servers.items()}
        wrong = {n: g for n, g in got.items() if g != q[2]}
        if wrong:
            warn(f"{q[0]} {q[1]}: expected {q[2]}, got {wrong}: left out of the query set")
        else:
            queries.append(q)
    return queries


def spread(values, spec, lo=0.0, hi=1.0):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return f"{format(quantile(values, lo), spec)}-{format(quantile(values, hi), spec)}"


def report(args, kinds, runs, cold, upstream, nqueries, server_cpus):
    names = list(kinds)
    base = "unbound" if "unbound" in names else None
    ratios = [("canon", other) for other in ("unbound", "canon-base") if other in names]
    width = 13
    rwidth = 18

    def row(label, values, ratio_values=None, spec=".2f"):
        cells = "".join(f"{(v if isinstance(v, str) else fmt(v, spec)):>{width}}" for v in values)
        rs = ""
        if ratio_values is not None:
            rs = "".join(f"{ratio(ratio_values[a], ratio_values[b]):>{rwidth}}"
                         for a, b in ratios)
        log(f"{label:40}{cells}{rs}")

    log()
    log(f"{'':40}" + "".join(f"{n:>{width}}" for n in names)
        + "".join(f"{a + '/' + b:>{rwidth}}" for a, b in ratios))
    if runs and any(runs.values()):
        qps = {n: median(r["qps"] for r in runs[n]) for n in names}
        cpu = {n: median(r["cpu_us"] for r in runs[n]) for n in names}
        row(f"cache-hit QPS (median of {args.rounds} x {args.duration} s)",
            [qps[n] for n in names], qps, ".0f")
        row("  spread (min-max)", [spread([r["qps"] for r in runs[n]], ".0f") for n in names])
        row("resolver CPU per cache hit (µs, median)", [cpu[n] for n in names], cpu)
        row("  spread (min-max)", [spread([r["cpu_us"] for r in runs[n]], ".2f") for n in names])
    ms = {n: median(x[0] for x in cold[n]) for n in names}
    us = {n: median(x[1] for x in cold[n]) for n in names}
    pf = {n: median(x[2] for x in cold[n]) for n in names}
    row(f"cold 3-zone chain (ms, median of {args.cold_runs})", [ms[n] for n in names], ms)
    row("  spread (p25-p75)", [spread([x[0] for x in cold[n]], ".2f", .25, .75) for n in names])
    row("  spread (min-max)", [spread([x[0] for x in cold[n]], ".2f") for n in names])
    row("cold: resolver CPU (µs, median)", [us[n] for n in names], us, ".0f")
    row("  spread (p25-p75)", [spread([x[1] for x in cold[n]], ".0f", .25, .75) for n in names])
    row("cold: page faults (median)", [pf[n] for n in names], pf, ".0f")
    if upstream:
        row("cold: upstream queries", [upstream.get(n) for n in names], None, "d")
    log(f"QPS: higher is better (ratio > 1: canon faster); µs and ms: lower is better "
        f"(ratio < 1: canon cheaper/faster). "
        f"{str(nqueries) + ' names, ' if nqueries else ''}"
        f"QPS runs {'pinned: resolver on CPU ' + str(min(server_cpus)) if server_cpus else 'not pinned'}"
        f", cold runs not pinned.")
    for a, b in ratios:
        paired = [x[0] / y[0] for x, y in zip(cold[a], cold[b]) if y[0]]
        log(f"cold {a}/{b}, round by round: median {fmt(median(paired), '.2f')}x, "
            f"p25-p75 {spread(paired, '.2f', .25, .75)}x")
    for name in names:
        log(f"cold runs {name} (ms): " + " ".join(f"{x[0]:.2f}" for x in cold[name]))
    if base is None:
        log("(no unbound: no canon/unbound ratio)")


if __name__ == "__main__":
    sys.exit(main())
