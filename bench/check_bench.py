#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time `canon check` beside named-checkzone, kzonecheck and nsd-checkzone.

Not a test: a measurement. bench/genzone.py writes the benchmark zone
(bench.test., --names owner names, the same fixed seed as bench/run: hosts,
single CNAMEs, two-hop chains, a DNAME subtree, a wildcard) into
bench/out/check/, unless --zone names another file. Each checker then runs
--runs times on it, the checkers interleaved; one table gives, per checker,
the median and best wall time, the CPU time and the peak RSS of the run (from
GNU time: ru_maxrss), its exit status and what it reported.

    /usr/bin/python3 bench/check_bench.py              # 100,000 names, 3 runs each
    /usr/bin/python3 bench/check_bench.py --names 10000 --runs 1

The checkers do different amounts of work: canon check runs every alias rule
(chains, loops, dangling targets, TTLs), named-checkzone its integrity checks
(-i local: MX/SRV/NS targets in the zone), kzonecheck Knot's semantic checks,
nsd-checkzone NSD's zone load checks. canon's output (one finding per chain
head: about 5% of the names) goes to a file, which is part of its time.
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
ORIGIN = "bench.test."
RUN_TIMEOUT = 600  # seconds for one checker run
TIME = "/usr/bin/time"  # GNU time (Debian package "time")


def find_tool(name):
    for path in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if path and os.path.exists(path):
            return path
    return None


def checkers(canon_bin, zone):
    """(label, argv) of every checker that is installed."""
    out = [("canon check", [canon_bin, "check", "-o", ORIGIN, zone])]
    for label, argv in [
        ("named-checkzone", ["named-checkzone", "-i", "local", ORIGIN, zone]),
        ("kzonecheck", ["kzonecheck", "-o", ORIGIN, zone]),
        ("nsd-checkzone", ["nsd-checkzone", ORIGIN, zone]),
    ]:
        path = find_tool(argv[0])
        if path is None:
            print(f"check_bench: {argv[0]} is not installed, left out (scripts/deps)",
                  file=sys.stderr)
            continue
        out.append((label, [path] + argv[1:]))
    return out


def run_once(argv, outpath):
    """Run argv with stdout+stderr into outpath; (status, wall s, cpu s, peak RSS KiB).

    GNU time reports the child's CPU time and ru_maxrss: measured in Python
    (wait4 of a child forked from this process), ru_maxrss would include the
    forked Python image, about 12 MiB, before the exec."""
    timing = outpath + ".time"
    argv = [TIME, "-q", "-f", "%x %U %S %M", "-o", timing] + list(argv)
    with open(outpath, "wb") as out:
        start = time.monotonic()
        try:
            subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None, RUN_TIMEOUT, 0.0, 0
        wall = time.monotonic() - start
    with open(timing) as f:
        status, user, system, rss = f.read().split()[-4:]
    return int(status), wall, float(user) + float(system), int(rss)


def summary_of(label, text):
    """A short account of what a checker said."""
    if label == "canon check":
        rules = {}
        for m in re.finditer(r"^\S+:\d+: (?:error|warning): .* \[([a-z0-9-]+)\]$", text, re.M):
            rules[m.group(1)] = rules.get(m.group(1), 0) + 1
        return ", ".join(f"{n} {r}" for r, n in sorted(rules.items())) or "no findings"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [re.sub(r"^\[[^\]]*\] nsd-checkzone\[\d+\]: ", "", line) for line in lines]
    if not lines:
        return "no output"
    first = lines[0] if len(lines[0]) <= 70 else lines[0][:67] + "..."
    return first if len(lines) == 1 else f"{len(lines)} lines: {first}"


def zone_file(args):
    if args.zone:
        return os.path.abspath(args.zone)
    outdir = os.path.join(HERE, "out", "check")
    zone = os.path.join(outdir, "bench.test.zone")
    stamp = os.path.join(outdir, f"names-{args.names}")
    if not (os.path.exists(zone) and os.path.exists(stamp)):
        os.makedirs(outdir, exist_ok=True)
        for f in os.listdir(outdir):
            if f.startswith("names-"):
                os.remove(os.path.join(outdir, f))
        subprocess.run([sys.executable, os.path.join(HERE, "genzone.py"), "--names",
                        str(args.names), "--queries", "10", "--out", outdir], check=True)
        open(stamp, "w").close()
    return zone


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=100000, help="owner names (default 100000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per checker (default 3)")
    ap.add_argument("--zone", help="check this zone file (origin bench.test.) instead")
    ap.add_argument("--canon-bin", default=os.environ.get(
        "CANON_BIN", os.path.join(ROOT, "build", "canon")))
    args = ap.parse_args()
    if not os.access(args.canon_bin, os.X_OK):
        sys.exit(f"check_bench: {args.canon_bin} not found: run make build")
    if not os.access(TIME, os.X_OK):
        sys.exit(f"check_bench: {TIME} not found: apt-get install time")

    zone = zone_file(args)
    with open(zone, "rb") as f:
        data = f.read()
    records = sum(1 for line in data.splitlines()
                  if line.strip() and not line.lstrip().startswith((b";", b"$")))
    print(f"zone {zone}: {len(data) / 2**20:.1f} MiB, {records} record lines")

    tools = checkers(args.canon_bin, zone)
    results = {label: [] for label, _ in tools}
    said = {}
    with tempfile.TemporaryDirectory(prefix="check-bench-") as tmp:
        for label, argv in tools:  # Warm-up: the zone file into the page cache.
            run_once(argv, os.path.join(tmp, "out"))
        for run in range(args.runs):
            # Rotate who goes first, so page-cache and CPU-frequency effects spread out.
            for label, argv in tools[run % len(tools):] + tools[:run % len(tools)]:
                outpath = os.path.join(tmp, "out")
                results[label].append(run_once(argv, outpath))
                with open(outpath, errors="replace") as f:
                    said[label] = summary_of(label, f.read())

    print()
    header = (f"{'checker':<16} {'exit':>4} {'wall s (median)':>15} {'best':>7} "
              f"{'CPU s':>7} {'peak RSS MiB':>12}  reported")
    print(header)
    print("-" * len(header))
    for label, _ in tools:
        runs = results[label]
        statuses = sorted({"timeout" if r[0] is None else r[0] for r in runs}, key=str)
        wall = statistics.median(r[1] for r in runs)
        best = min(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        rss = max(r[3] for r in runs) / 1024
        print(f"{label:<16} {'/'.join(map(str, statuses)):>4} {wall:>15.2f} {best:>7.2f} "
              f"{cpu:>7.2f} {rss:>12.1f}  {said[label]}")
    print(f"\n{args.runs} run(s) each, interleaved; peak RSS is the largest of the runs.")


if __name__ == "__main__":
    main()
