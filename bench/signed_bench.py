#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""canon benchmark, signed zones (issue 12): signed QPS (DO set) of canon's
dnssec=online next to knotd with mod-onlinesign, on the same zone; and with
--presigned, the same zone signed beforehand by dnssec-signzone, served by
canon, knotd and nsd.

Run through `bench/run --signed` (see bench/README.md):
  1. the benchmark zone of bench/genzone.py (100,000 names; --quick 10,000)
     and its query files;
  2. canon serve --workers 1 with the zone as dnssec=online (a fresh
     state-dir: a new key), knotd with one UDP worker and mod-onlinesign
     (its default policy: keys made at start);
  3. a few queries per mix with DO sent to both with dnspython: every
     answer must carry RRSIGs (a fast server that does not sign is not fast);
  4. dnsperf -D (DO set) for DURATION seconds per mix and server, server on
     one CPU and dnsperf on the other; then without DO, for the cost of
     signing;
  5. a table of QPS and the ratio canon/knotd with DO. The issue's target is
     canon >= 5x knotd.
--presigned: the zone is signed once with dnssec-signzone (ECDSA P-256 KSK
and ZSK, NSEC) and the three servers serve the signed file as it is; same
spot check, first pass and runs; the ratios printed are canon/knotd and
canon/nsd with DO.
canon's first pass over a query file fills its signature cache (each worker
signs a given RRset once, docs/dnssec.md): that pass (dnsperf -n 1) runs
first for both servers, its QPS shown apart as the cold rate, then the
measured runs replay the same file.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rdatatype  # noqa: E402

import genzone  # noqa: E402
from bench import cpu_ticks  # noqa: E402
import refservers  # noqa: E402
from conftest import Server, free_port, wait_for_dns  # noqa: E402

ORIGIN = genzone.ORIGIN
_children = []


def log(msg=""):
    print(msg, flush=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run --signed",
                                 description="signed QPS: canon dnssec=online vs knotd mod-onlinesign")
    ap.add_argument("--quick", action="store_true", help="10,000 names, 2 s runs")
    ap.add_argument("--names", type=int, help="owner names (default 100000; --quick 10000)")
    ap.add_argument("--duration", type=float, help="seconds per run (default 10; --quick 2)")
    ap.add_argument("--mixes", default="a,cname,nxdomain,nodata,wildcard,mixed",
                    help="comma-separated query mixes of bench/genzone.py")
    ap.add_argument("--clients", type=int, default=4, help="dnsperf -c (default 4)")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q (default 200)")
    ap.add_argument("--canon-bin", default=os.environ.get("CANON_BIN", os.path.join(ROOT, "build", "canon")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--presigned", action="store_true",
                    help="a zone signed by dnssec-signzone, served by canon, knotd and nsd")
    ap.add_argument("--json", default=os.path.join(OUT, "signed-results.json"))
    a = ap.parse_args(argv)
    a.names = a.names or (10000 if a.quick else 100000)
    a.duration = a.duration or (2.0 if a.quick else 10.0)
    a.mixes = [m for m in a.mixes.split(",") if m]
    return a


def pin(pid, cpus):
    """Every thread of pid on cpus (knotd pins its workers itself)."""
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                os.sched_setaffinity(int(t), cpus)
            except OSError:
                pass
    except OSError:
        pass


def start_canon(args, zonefile, workdir, online=True):
    state = os.path.join(workdir, "canon-state")
    shutil.rmtree(state, ignore_errors=True)
    port = free_port()
    zone = f"{ORIGIN}={zonefile}" + (",dnssec=online" if online else "")
    argv = [args.canon_bin, "serve", "--workers", "1", "--listen", f"127.0.0.1:{port}",
            "--state-dir", state, "--log-level", "warning", "--zone", zone]
    srv = Server(argv, "127.0.0.1", port, os.path.join(workdir, "canon-signed.log"))
    _children.append(srv)
    if not wait_for_dns("127.0.0.1", port, timeout=120, qname=ORIGIN):
        raise RuntimeError("canon did not start:\n" + srv.logtext())
    return srv


def knotd_build(port, workdir, zones):
    conf = refservers.write_knotd_conf(workdir, [f"127.0.0.1@{port}"], zones, 1)
    with open(conf) as f:
        text = f.read()
    # mod-onlinesign signs every answer as it goes out; its default policy
    # makes the keys at start (Knot's documentation, "onlinesign").
    text = text.replace("    dnssec-signing: off\n",
                        "    dnssec-signing: off\n    module: mod-onlinesign\n")
    with open(conf, "w") as f:
        f.write(text)
    return [refservers.need_tool("knotd"), "-c", conf], None


def start_knotd(zonefile, workdir):
    kdir = os.path.join(workdir, "knotd-signed")
    shutil.rmtree(kdir, ignore_errors=True)
    os.makedirs(kdir)
    srv = refservers._start("knotd", kdir, {ORIGIN: zonefile}, None, knotd_build, 120)
    _children.append(srv)
    return srv


def sign_zone(zonefile, workdir):
    """The zone signed by dnssec-signzone (ECDSA P-256 KSK + ZSK, NSEC): its path."""
    kdir = os.path.join(workdir, "keys")
    shutil.rmtree(kdir, ignore_errors=True)
    os.makedirs(kdir)
    run = dict(cwd=kdir, capture_output=True, text=True, timeout=600, check=True)
    keygen = refservers.need_tool("dnssec-keygen")
    subprocess.run([keygen, "-q", "-K", kdir, "-a", "ECDSAP256SHA256", "-f", "KSK", ORIGIN], **run)
    subprocess.run([keygen, "-q", "-K", kdir, "-a", "ECDSAP256SHA256", ORIGIN], **run)
    signed = os.path.join(workdir, "presigned.zone")
    subprocess.run([refservers.need_tool("dnssec-signzone"), "-S", "-K", kdir, "-o", ORIGIN,
                    "-f", signed, zonefile], **run)
    return signed


def start_presigned(args, zonefile, workdir):
    """canon, knotd and nsd on the zone signed beforehand: {kind: Server}."""
    servers = {}
    starts = {
        "canon": lambda: start_canon(args, zonefile, workdir, online=False),
        "knotd": lambda: refservers.start_knotd(os.path.join(workdir, "knotd-presigned"),
                                                {ORIGIN: zonefile}, start_timeout=300),
        "nsd": lambda: refservers.start_nsd(os.path.join(workdir, "nsd-presigned"),
                                            {ORIGIN: zonefile}, start_timeout=300),
    }
    for kind, start in starts.items():
        if kind != "canon":
            shutil.rmtree(os.path.join(workdir, f"{kind}-presigned"), ignore_errors=True)
            os.makedirs(os.path.join(workdir, f"{kind}-presigned"))
        try:
            servers[kind] = start()
            if kind != "canon":
                _children.append(servers[kind])
        except (RuntimeError, subprocess.SubprocessError) as e:
            log(f"bench: {kind} left out: {e}")
    return servers


def spot_check(srv, qfile, n=20):
    """The first n queries of a mix with DO: every answer signed."""
    unsigned = []
    with open(qfile) as f:
        lines = [next(f).split() for _ in range(n)]
    for name, qtype in lines:
        q = dns.message.make_query(name, qtype, want_dnssec=True, use_edns=0, payload=1232)
        q.flags &= ~dns.flags.RD
        r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
        if not any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer + r.authority):
            unsigned.append(f"{name} {qtype}")
    return unsigned


def dnsperf(args, port, qfile, do, duration, passes=None):
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(duration),
            "-c", str(args.clients), "-q", str(args.outstanding), "-t", "2"]
    if passes:
        argv += ["-n", str(passes)]
    if do:
        argv.append("-D")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pin(p.pid, {1})
    out, _ = p.communicate(timeout=duration + 60)
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    return (float(qps.group(1)) if qps else 0.0), (int(lost.group(1)) if lost else -1)


def measured_run(args, srv, qfile, do):
    """One DURATION run: (QPS, lost, server CPU µs per answer). The CPU figure is
    the server's own (its whole process tree), so it holds when dnsperf, not the
    server, is what limits the QPS."""
    before = cpu_ticks(srv.proc.pid)
    qps, lost = dnsperf(args, srv.port, qfile, do, args.duration)
    ticks = cpu_ticks(srv.proc.pid) - before
    answers = qps * args.duration
    usec = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / answers if answers else float("nan")
    return qps, lost, usec


def busy_pct(seconds=1.0):
    """CPU used by other processes while idle (two CPUs here): how busy the machine is."""
    def ticks():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4], sum(v)
    a = ticks()
    time.sleep(seconds)
    b = ticks()
    return 100.0 * (b[0] - a[0]) / max(1, b[1] - a[1]) * os.cpu_count()


def main(argv):
    args = parse_args(argv)
    if shutil.which("dnsperf") is None:
        sys.exit("bench: dnsperf is not installed: run scripts/deps")
    workdir = os.path.join(OUT, "signed")
    os.makedirs(workdir, exist_ok=True)
    log(f"bench --signed: generating {args.names} names (seed {args.seed})")
    meta = genzone.generate(args.names, args.seed, 100000 if not args.quick else 5000, OUT)
    zonefile = meta["zonefile"]
    servers = {}
    if args.presigned:
        log("bench --signed --presigned: signing the zone with dnssec-signzone")
        servers = start_presigned(args, sign_zone(zonefile, workdir), workdir)
        others = ["knotd", "nsd"]
    else:
        others = ["knotd"]
        try:
            servers["canon"] = start_canon(args, zonefile, workdir)
        except RuntimeError as e:
            log(f"bench: canon left out: {e}")
        try:
            servers["knotd"] = start_knotd(zonefile, workdir)
        except RuntimeError as e:
            log(f"bench: knotd left out: {e}")
    if not servers:
        sys.exit("bench: no server started")
    for srv in servers.values():
        pin(srv.proc.pid, {0})
    os.sched_setaffinity(0, {1})
    ok = True
    for kind, srv in servers.items():
        for mix in args.mixes:
            unsigned = spot_check(srv, meta["mixes"][mix]["file"])
            if unsigned:
                ok = False
                log(f"bench: {kind} {mix}: answers without RRSIG: {', '.join(unsigned[:5])}")
    pct = busy_pct()
    if pct > 20:
        log(f"bench: the machine is busy: other processes use {pct:.0f}% of a CPU; "
            "the numbers are low and noisy")
    results = {"names": args.names, "duration": args.duration, "busy_pct": pct,
               "presigned": args.presigned, "runs": {}}
    for mix in args.mixes:
        qfile = meta["mixes"][mix]["file"]
        for kind, srv in servers.items():
            # The first pass over the file, with DO: canon signs each RRset once
            # here (its cold rate); knotd gets the same pass.
            cold, _ = dnsperf(args, srv.port, qfile, True, 300, passes=1)
            do_qps, do_lost, do_usec = measured_run(args, srv, qfile, True)
            plain_qps, _, _ = measured_run(args, srv, qfile, False)
            results["runs"].setdefault(mix, {})[kind] = {"do": do_qps, "do_lost": do_lost,
                                                         "do_usec": do_usec,
                                                         "plain": plain_qps, "first_pass": cold}
            log(f"  {mix:9s} {kind:5s} first pass DO {cold:8.0f} qps, then DO {do_qps:8.0f} qps "
                f"(lost {do_lost}, {do_usec:.2f} µs CPU/answer), no DO {plain_qps:8.0f} qps")
    log("")
    head = f"{'mix':10s} {'canon DO':>10s}"
    for o in others:
        head += f" {o + ' DO':>10s} {'canon/' + o:>12s}"
    log(head + f" {'canon 1st pass':>15s} {'canon no DO':>12s}")
    usec_rows = []
    for mix, r in results["runs"].items():
        c = r.get("canon", {})
        line = f"{mix:10s} {c.get('do', 0):10.0f}"
        for o in others:
            d = r.get(o, {}).get("do", 0)
            ratio = c["do"] / d if c.get("do") and d else float("nan")
            line += f" {d:10.0f} {ratio:11.1f}x"
        log(line + f" {c.get('first_pass', 0):15.0f} {c.get('plain', 0):12.0f}")
        usec = f"{mix:10s} {c.get('do_usec', float('nan')):10.2f}"
        for o in others:
            u = r.get(o, {}).get("do_usec", float("nan"))
            usec += f" {u:10.2f} {c.get('do_usec', float('nan')) / u:11.2f}x"
        usec_rows.append(usec)
    log("\nserver CPU per answer with DO, µs (lower is better; it holds when dnsperf limits the QPS):")
    log(head.replace(" DO", " µs"))
    for row in usec_rows:
        log(row)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    log(f"\nbench: results in {args.json}")
    return 0 if ok and len(servers) == 1 + len(others) and pct <= 20 else 1


if __name__ == "__main__":
    rc = 1
    try:
        rc = main(sys.argv[1:])
    except KeyboardInterrupt:
        rc = 130
    finally:
        for s in _children:
            s.stop()
    sys.exit(rc)
