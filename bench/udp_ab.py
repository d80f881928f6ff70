#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A/B of canon builds on the UDP path: CPU and syscalls per answer.

Not a test: a measurement for changes to the UDP loop (src/serve/udp.c,
src/serve/worker.c), where QPS on a shared VM is too noisy to judge. Every
build named on the command line (and bench/echo.c, with `echo`) serves the
benchmark zone with one worker, pinned to the last CPU; bench/blast.c, on the
other CPUs, sends one mix to each in turn, --rounds times, the order rotating.
For each run: the server's user and system µs per answer (/proc/PID/stat utime
and stime), and, when `perf` may read the syscalls tracepoints (root, or
perf_event_paranoid <= -1), the recvmmsg / sendmmsg / epoll_wait calls and
all syscalls per answer, and the context switches. The last table gives the
medians over the rounds.

    make build && cp build/canon /tmp/canon-a     # then change, rebuild:
    /usr/bin/python3 bench/udp_ab.py a=/tmp/canon-a b=build/canon echo
    /usr/bin/python3 bench/udp_ab.py --window 4 a=/tmp/canon-a b=build/canon echo   # light load

The zone and query files are bench/out's (bench/run --quick writes a
10,000-name zone there); --names N makes them if they are missing.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import genzone  # noqa: E402

OUT = os.path.join(HERE, "out")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYSCALLS = ("recvmmsg", "sendmmsg", "epoll_wait")


def free_port():
    """A port claimed for this process (tests/e2e/conftest.py): a port the kernel
    hands out and this script closes again could go to the next build before
    the first one has bound it."""
    import conftest  # bench.py put tests/e2e on sys.path

    return conftest.free_port()


def perf_works():
    """True when perf can count the syscalls tracepoints of another process."""
    try:
        r = subprocess.run(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "true"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and "not supported" not in r.stderr and "<not" not in r.stderr


def start(name, binary, zonefile, cpus):
    port = free_port()
    if binary == "echo":
        argv = [bench.build_tool("echo"), str(port)]
    else:
        argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--zone", f"{genzone.ORIGIN}={zonefile}",
                "--workers", "1"]
    bench.pin_self(cpus[0])
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        bench.pin_self(cpus[1])
    bench._children.append(p)
    return p, port


def run_one(pid, port, qfile, args, cpus, perf):
    bench.pin_tree(pid, cpus[0])
    events = [f"syscalls:sys_enter_{s}" for s in SYSCALLS] + ["raw_syscalls:sys_enter", "context-switches"]
    counter = None
    if perf:
        counter = subprocess.Popen(["perf", "stat", "-x", ",", "-p", str(pid), "-e", ",".join(events)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.1)  # perf attaches
    u0, s0 = bench.cpu_split(pid)
    b = subprocess.run([bench.build_tool("blast"), "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
                        "-l", str(args.duration), "-q", str(args.window), "-t", "1"],
                       capture_output=True, text=True, timeout=args.duration + 60)
    u1, s1 = bench.cpu_split(pid)
    counts = {}
    if counter:
        counter.send_signal(2)  # SIGINT: perf prints its counts and exits
        _, err = counter.communicate(timeout=20)
        for line in err.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].strip().isdigit():
                counts[f[2].split(":")[-1].replace("sys_enter_", "").replace("sys_enter", "all")] = int(f[0])
    r = bench.parse_dnsperf(b.stdout)
    n = r["completed"] or 0
    row = {"qps": r["qps"] or 0, "lost": r["lost"], "answers": n}
    if n:
        row["user"] = 1e6 * (u1 - u0) / CLK_TCK / n
        row["sys"] = 1e6 * (s1 - s0) / CLK_TCK / n
        row["cpu_pct"] = 100.0 * ((u1 - u0) + (s1 - s0)) / CLK_TCK / max(r["runtime"] or args.duration, 1e-3)
        for k, v in counts.items():
            row[k] = v / n
    return row


COLUMNS = ("user", "sys", "recvmmsg", "sendmmsg", "epoll_wait", "all", "context-switches")


def fmt_row(name, row):
    cells = [f"{name:10s}", f"{row['qps'] / 1000:7.1f}k", f"cpu {row.get('cpu_pct', 0):3.0f}%"]
    cells += [f"{k} {row[k]:.3f}" for k in COLUMNS if k in row]
    return "  ".join(cells)


def main(argv):
    ap = argparse.ArgumentParser(prog="bench/udp_ab.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("builds", nargs="+", help="NAME=PATH of a canon binary, or echo (bench/echo.c)")
    ap.add_argument("--mix", default="mixed", help="query mix (default mixed)")
    ap.add_argument("--duration", type=float, default=3, help="seconds per run (default 3)")
    ap.add_argument("--rounds", type=int, default=6, help="rounds, the order rotating (default 6)")
    ap.add_argument("--window", type=int, default=128, help="queries in flight, blast -q (default 128)")
    ap.add_argument("--names", type=int, default=10000, help="zone size when bench/out has none (default 10000)")
    args = ap.parse_args(argv)
    if args.mix not in genzone.MIXES:
        ap.error(f"unknown mix {args.mix!r}")
    zonefile = os.path.join(OUT, "bench.test.zone")
    qfile = os.path.join(OUT, f"q-{args.mix}.txt")
    if not (os.path.exists(zonefile) and os.path.exists(qfile)):
        genzone.generate(args.names, 20261123, 5000, OUT)
    builds = []
    for b in args.builds:
        name, _, path = b.partition("=") if b != "echo" else ("echo", "", "echo")
        if path != "echo" and not os.access(path, os.X_OK):
            ap.error(f"{b}: not NAME=PATH of an executable")
        builds.append((name, path))
    cpus = sorted(os.sched_getaffinity(0))
    pins = ({cpus[-1]}, set(cpus[:-1])) if len(cpus) > 1 else (set(cpus), set(cpus))
    perf = perf_works()
    print(f"udp_ab: {args.mix} mix, blast -q {args.window}, {args.duration:g} s x {args.rounds} rounds; "
          f"servers on CPU {sorted(pins[0])}, client on CPU {sorted(pins[1])}; {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          + ("" if perf else "; perf cannot count syscalls here: CPU only"), flush=True)
    servers = {name: start(name, path, zonefile, pins) for name, path in builds}
    time.sleep(1.0)  # zone loaded
    rows = {name: [] for name in servers}
    order = list(servers)
    for rnd in range(args.rounds):
        for name in order:
            p, port = servers[name]
            if p.poll() is not None:
                sys.exit(f"udp_ab: {name} exited (status {p.returncode})")
            row = run_one(p.pid, port, qfile, args, pins, perf)
            rows[name].append(row)
            print(f"round {rnd + 1}  " + fmt_row(name, row) + f"  lost {row['lost']}", flush=True)
        order = order[1:] + order[:1]
    print(f"\nmedian over {args.rounds} rounds, per answer (µs user, µs sys, calls); load average now "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for name, rs in rows.items():
        keys = [k for k in ("qps", "cpu_pct") + COLUMNS if all(k in r for r in rs)]
        med = {k: statistics.median(r[k] for r in rs) for k in keys}
        print(fmt_row(name, med))
    return 0


if __name__ == "__main__":
    try:
        rc = main(sys.argv[1:])
    except KeyboardInterrupt:
        rc = 130
    finally:
        bench.stop_all()
    sys.exit(rc)
