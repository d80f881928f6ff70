#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures the machine's load does not move much: instructions per query,
memory, load and reload time; plus canon with 1 and 2 workers.

Run through bench/run (see bench/README.md, "Cost, memory, load"):
  bench/run --cost     user-space instructions per answered query (callgrind),
                       canon vs knotd vs nsd, 20,000 mixed queries, 10k-name zone
                       (--edns: the queries carry an OPT record; --edns do: with DO)
  bench/run --memory   RSS and PSS with the 100k-name zone at each log level
  bench/run --load     zone load time and reload time (SIGHUP) of the 100k zone
  bench/run --scale    canon with 1 and 2 workers next to the echo ceiling (QPS)
Several can be given at once; each prints its own table, headed by the
machine's core count and load average.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out", "cost")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

import bench  # noqa: E402  (process helpers, memory(), the blast build)
import genzone  # noqa: E402

ORIGIN = genzone.ORIGIN
SERVERS = ("canon", "knotd", "nsd")


def log(msg=""):
    print(msg, flush=True)


def machine():
    return f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def soa_serial(port, timeout=0.2):
    """The SOA serial 127.0.0.1:port answers authoritatively for ORIGIN, or None."""
    m = dns.message.make_query(ORIGIN, "SOA")
    m.flags &= ~dns.flags.RD
    try:
        r = dns.query.udp(m, "127.0.0.1", port=port, timeout=timeout)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR or not (r.flags & dns.flags.AA) or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_serial(port, proc, want=None, timeout=120.0):
    """Poll until the server answers the SOA (with serial 'want' if given);
    returns the CLOCK_BOOTTIME instant or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        s = soa_serial(port, 0.05)
        if s is not None and (want is None or s == want):
            return time.clock_gettime(time.CLOCK_BOOTTIME)
        time.sleep(0.002)
    return None


def server_argv(kind, zonefile, workdir, port, log_level=None, workers=1):
    """(argv, env) for one server on 127.0.0.1:port serving zonefile."""
    import refservers

    zones = {ORIGIN: os.path.abspath(zonefile)}
    os.makedirs(workdir, exist_ok=True)
    if kind == "canon":
        argv = [os.environ.get("CANON_BIN", os.path.join(ROOT, "build", "canon")), "serve",
                "--listen", f"127.0.0.1:{port}", "--zone", f"{ORIGIN}={zonefile}",
                "--workers", str(workers)]
        if log_level:
            argv += ["--log-level", log_level]
        return argv, None
    if kind == "knotd":
        argv, env = refservers._knotd_build(workers)(port, workdir, zones)
        if log_level:  # knot.conf's "any: notice" line
            conf = argv[-1]
            text = open(conf).read().replace("    any: notice", f"    any: {log_level}")
            open(conf, "w").write(text)
        return argv, env
    argv, env = refservers._nsd_build(workers, False)(port, workdir, zones)
    if log_level:
        conf = argv[-1]
        text = open(conf).read().replace("    verbosity: 0", f"    verbosity: {log_level}")
        open(conf, "w").write(text)
    return argv, env


class Proc:
    def __init__(self, argv, logpath, env=None):
        self.log = open(logpath, "w")
        self.logpath = logpath
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                  stdin=subprocess.DEVNULL)
        bench._children.append(self)

    def poll(self):
        return self.p.poll()

    @property
    def pid(self):
        return self.p.pid

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
        self.log.close()
        if self in bench._children:
            bench._children.remove(self)


def tree_pids(pid):
    return bench.proc_tree(pid)


# ---------------------------------------------------------------- --cost


def cg_total(path):
    """The Ir total of one callgrind output file."""
    total = 0
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("totals:"):
                total += int(line.split()[1])
    return total


def cost(args, meta):
    """Instructions per answered query, user space, under callgrind: the
    counters are switched on after the zone is loaded (--instr-atstart=no,
    then callgrind_control -i on for every process of the server) and the
    client sends exactly --cost-queries queries of the mixed file."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        sys.exit("bench: --cost needs valgrind (callgrind, callgrind_control)")
    blast = bench.build_tool("blast")
    if not blast:
        sys.exit("bench: --cost needs bench/blast.c built")
    import conftest

    qfile = meta["mixes"]["mixed"]["file"]
    res = {}
    for kind in args.servers:
        work = os.path.join(OUT, f"cg-{kind}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        port = conftest.free_port()
        argv, env = server_argv(kind, meta["zonefile"], work, port)
        vg = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
              f"--callgrind-out-file={work}/callgrind.%p.out"]
        p = Proc(vg + argv, os.path.join(work, "server.log"), env)
        if wait_serial(port, p, timeout=args.start_timeout) is None:
            log(f"{kind}: did not answer under valgrind; see {p.logpath}")
            p.stop()
            continue
        time.sleep(0.5)
        pids = tree_pids(p.pid)
        for pid in pids:
            subprocess.run(["callgrind_control", "-i", "on", str(pid)], capture_output=True, timeout=60)
        edns = {"": [], "edns": ["-e"], "do": ["-D"]}[args.edns]
        r = subprocess.run([blast, "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-n", str(args.cost_queries),
                            "-l", "600", "-t", "5", "-q", str(args.cost_window)] + edns,
                           capture_output=True, text=True, timeout=900)
        for pid in pids:
            subprocess.run(["callgrind_control", "-i", "off", str(pid)], capture_output=True, timeout=60)
        p.stop(timeout=120)
        out = bench.parse_dnsperf(r.stdout)
        files = glob.glob(os.path.join(work, "callgrind.*.out*"))
        ir = sum(cg_total(f) for f in files)
        done = out["completed"] or 0
        res[kind] = {"ir": ir, "answered": done, "lost": out["lost"], "rcodes": out["rcodes"],
                     "per_query": ir / done if done else None, "files": files}
        log(f"  {kind:5s} {ir:>14,d} instructions / {done:,d} answers = "
            f"{ir / done if done else float('nan'):,.0f} per query  ({', '.join(f'{k} {v}' for k, v in sorted(out['rcodes'].items()))})")
    log()
    sent = {"": "", "edns": ", EDNS0", "do": ", EDNS0 DO"}[args.edns]
    log(f"== user-space instructions per answered query (callgrind, {args.cost_queries:,d} mixed queries{sent}, "
        f"{meta['owner_names']:,d}-name zone, one worker) ==")
    log(machine())
    c = res.get("canon", {}).get("per_query")
    for kind in args.servers:
        v = res.get(kind, {}).get("per_query")
        ratio = f"   canon/{kind} {c / v:.2f}x" if c and v and kind != "canon" else ""
        log(f"  {kind:5s} {v:>8,.0f}{ratio}" if v else f"  {kind:5s}      n/a")
    log("profiles: " + ", ".join(os.path.relpath(f, ROOT) for k in res for f in res[k]["files"]
                                  if cg_total(f) > 0) + "  (callgrind_annotate FILE)")
    return res


# ---------------------------------------------------------------- --memory


LEVELS = {
    # kind: [(label, log level argument)] from the quietest to the default
    "canon": [("error", "error"), ("warning", "warning"), ("info (default)", None), ("debug", "debug")],
    "knotd": [("error", "error"), ("notice (harness)", None), ("info", "info")],
    "nsd": [("verbosity 0 (harness)", None), ("verbosity 2", "2")],
}


def memory(args, meta, minimal):
    import conftest

    rows = []
    for kind in args.servers:
        base = None
        for label, level in LEVELS[kind]:
            vals = []
            for zf in (minimal, meta["zonefile"]):
                work = os.path.join(OUT, f"mem-{kind}")
                shutil.rmtree(work, ignore_errors=True)
                port = conftest.free_port()
                argv, env = server_argv(kind, zf, work, port, level)
                p = Proc(argv, os.path.join(OUT, f"mem-{kind}.log"), env)
                if wait_serial(port, p, timeout=args.start_timeout) is None:
                    log(f"{kind} {label}: did not answer; see {p.logpath}")
                    p.stop()
                    vals.append(None)
                    continue
                time.sleep(1.0)  # let a background check or log flush settle
                vals.append(bench.memory(p.pid))
                p.stop()
            small, full = vals
            if full is None:
                continue
            if small is not None:
                base = small
            per = (full["pss_kb"] - base["pss_kb"]) * 1024 / meta["records"] if base else None
            rows.append((kind, label, full["rss_kb"] / 1024, full["pss_kb"] / 1024, per))
            log(f"  {kind:5s} {label:22s} VmRSS {full['rss_kb'] / 1024:7.1f} MiB  PSS {full['pss_kb'] / 1024:7.1f} MiB"
                + (f"  {per:5.0f} B/record" if per else ""))
    log()
    log(f"== memory with the {meta['owner_names']:,d}-name zone ({meta['records']:,d} records), one worker ==")
    log(machine())
    knot = [r for r in rows if r[0] == "knotd"]
    kref = max((r[2] for r in knot), default=None)
    log(f"  {'server':5s} {'log level':22s} {'VmRSS MiB':>9s} {'PSS MiB':>8s} {'B/record':>8s}  RSS/knotd(max)")
    for kind, label, rss, pss, per in rows:
        log(f"  {kind:5s} {label:22s} {rss:9.1f} {pss:8.1f} {per if per else 0:8.0f}  "
            + (f"{rss / kref:.2f}x" if kref else "-"))
    log("  B/record: (PSS with the zone - PSS with the apex-only zone) / records")
    return rows


# ---------------------------------------------------------------- --load


def bump_serial(src, dst, add):
    """Copy zone file src to dst with the SOA serial + add; returns the new serial."""
    text = open(src).read()
    m = re.search(r"(\sSOA\s+\S+\s+\S+\s+\(?\s*)(\d+)", text)
    if not m:
        raise RuntimeError(f"no SOA serial found in {src}")
    serial = (int(m.group(2)) + add) % (1 << 32)
    with open(dst, "w") as f:
        f.write(text[:m.start(2)] + str(serial) + text[m.end(2):])
    return serial


def load(args, meta):
    import conftest

    res = {}
    for kind in args.servers:
        work = os.path.join(OUT, f"load-{kind}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        zf = os.path.join(work, "bench.test.zone")
        serial0 = bump_serial(meta["zonefile"], zf, 0)
        port = conftest.free_port()
        argv, env = server_argv(kind, zf, work, port)
        p = Proc(argv, os.path.join(work, "server.log"), env)
        t = wait_serial(port, p, timeout=args.start_timeout)
        if t is None:
            log(f"{kind}: did not load; see {p.logpath}")
            p.stop()
            continue
        load_s = t - bench.start_time(p.pid)
        reloads = []
        for i in range(args.reloads):
            time.sleep(0.5)
            serial = bump_serial(meta["zonefile"], zf, i + 1)
            # A new mtime for servers that compare it (knotd, nsd).
            os.utime(zf, (time.time() + i + 1, time.time() + i + 1))
            t0 = time.clock_gettime(time.CLOCK_BOOTTIME)
            os.kill(p.pid, signal.SIGHUP)
            t1 = wait_serial(port, p, want=serial, timeout=args.start_timeout)
            reloads.append(t1 - t0 if t1 else None)
        p.stop()
        ok = [r for r in reloads if r is not None]
        res[kind] = {"load_s": load_s, "reload_s": sorted(ok)[len(ok) // 2] if ok else None,
                     "reloads": reloads, "serial0": serial0}
        log(f"  {kind:5s} load {load_s:.2f} s, reloads " + ", ".join(f"{r:.2f}" if r else "failed" for r in reloads))
    log()
    log(f"== zone load and reload (SIGHUP, serial + 1) of the {meta['owner_names']:,d}-name zone, "
        "default log level, one worker ==")
    log(machine())
    log(f"  {'':5s} {'load (s)':>9s} {'reload, median (s)':>19s}")
    for kind, r in res.items():
        log(f"  {kind:5s} {r['load_s']:9.2f} {r['reload_s'] if r['reload_s'] else float('nan'):19.2f}")
    log("  load: process start to the first authoritative SOA answer; reload: SIGHUP to the new serial answered")
    return res


# ---------------------------------------------------------------- --scale


def scale(args, meta):
    import conftest

    blast = bench.build_tool("blast")
    echo = bench.build_tool("echo")
    qfile = meta["mixes"]["mixed"]["file"]

    def run(port):
        r = subprocess.run([blast, "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.duration),
                            "-q", "128", "-t", "1"], capture_output=True, text=True, timeout=args.duration + 60)
        return bench.parse_dnsperf(r.stdout)

    rows = []
    for rnd in range(args.rounds):
        port = conftest.free_port()
        e = Proc([echo, str(port)], os.path.join(OUT, "echo.log"))
        time.sleep(0.2)
        rows.append(("echo", rnd, run(port)["qps"]))
        e.stop()
        for workers in (1, 2):
            work = os.path.join(OUT, f"scale-{workers}")
            port = conftest.free_port()
            argv, env = server_argv("canon", meta["zonefile"], work, port, workers=workers)
            p = Proc(argv, os.path.join(OUT, f"scale-{workers}.log"), env)
            if wait_serial(port, p, timeout=args.start_timeout) is None:
                log(f"canon --workers {workers}: did not answer; see {p.logpath}")
                p.stop()
                continue
            rows.append((f"canon {workers}w", rnd, run(port)["qps"]))
            p.stop()
    best = {}
    for name, _, q in rows:
        if q:
            best[name] = max(best.get(name, 0), q)
    log()
    log(f"== canon with 1 and 2 workers, mixed file, blast -q 128, unpinned, best of {args.rounds} "
        f"x {args.duration} s (QPS: indicative, the machine is shared) ==")
    log(machine())
    for name, q in best.items():
        ratio = f"  {q / best['echo']:.2f} of echo" if best.get("echo") and name != "echo" else ""
        log(f"  {name:9s} {q / 1000:7.1f}k{ratio}")
    return best


# ---------------------------------------------------------------- main


def main(argv):
    ap = argparse.ArgumentParser(prog="bench/run --cost|--memory|--load|--scale")
    ap.add_argument("--cost", action="store_true", help="instructions per query (callgrind)")
    ap.add_argument("--memory", action="store_true", help="RSS/PSS at each log level, 100k zone")
    ap.add_argument("--load", action="store_true", help="load and reload (SIGHUP) time, 100k zone")
    ap.add_argument("--scale", action="store_true", help="canon with 1 and 2 workers next to the echo ceiling")
    ap.add_argument("--servers", default="canon,knotd,nsd")
    ap.add_argument("--cost-names", type=int, default=10000, help="zone size for --cost (default 10000)")
    ap.add_argument("--cost-queries", type=int, default=20000, help="queries for --cost (default 20000)")
    ap.add_argument("--edns", nargs="?", const="edns", default="", choices=["edns", "do"],
                    help="--cost queries carry an OPT record (UDP size 4096; --edns do: with DO)")
    ap.add_argument("--cost-window", type=int, default=32, help="queries in flight for --cost (default 32)")
    ap.add_argument("--names", type=int, default=100000, help="zone size for --memory/--load/--scale")
    ap.add_argument("--reloads", type=int, default=3, help="reloads for --load; the median counts (default 3)")
    ap.add_argument("--duration", type=float, default=5, help="seconds per --scale run (default 5)")
    ap.add_argument("--rounds", type=int, default=2, help="--scale rounds, best counts (default 2)")
    ap.add_argument("--start-timeout", type=float, default=180.0)
    ap.add_argument("--seed", type=int, default=20261123)
    a = ap.parse_args(argv)
    a.servers = [s for s in a.servers.split(",") if s]
    if not (a.cost or a.memory or a.load or a.scale):
        ap.error("give --cost, --memory, --load and/or --scale")
    signal.signal(signal.SIGTERM, bench._on_signal)
    os.makedirs(OUT, exist_ok=True)
    log(machine())
    if a.cost:
        d = os.path.join(OUT, f"zone-{a.cost_names}")
        meta = genzone.generate(a.cost_names, a.seed, a.cost_queries, d)
        cost(a, meta)
    if a.memory or a.load or a.scale:
        d = os.path.join(OUT, f"zone-{a.names}")
        meta = genzone.generate(a.names, a.seed, 20000, d)
        if a.memory:
            memory(a, meta, meta["minimal_zonefile"])
        if a.load:
            load(a, meta)
        if a.scale:
            scale(a, meta)
    log(machine())
    return 0


if __name__ == "__main__":
    try:
        rc = main(sys.argv[1:])
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping servers", file=sys.stderr)
        rc = 130
    finally:
        bench.stop_all()
    sys.exit(rc)
