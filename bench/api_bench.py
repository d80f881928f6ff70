#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""canon benchmark, the HTTP API (issue 11): DNS queries per second idle and
while the API is busy.

Run through `bench/run --api` (see bench/README.md). canon serve, one worker,
a zone of 1,000 names, the API on loopback:
  1. dnsperf for DURATION seconds: the idle QPS;
  2. the same while CLIENTS threads send API requests back to back (GET the
     zone list, GET the zone with its 1,000 RRsets, and a PATCH every tenth
     request), counting the API's answers per second;
  3. the ratio of the two QPS figures.
The HTTP server runs in threads of its own and the workers never wait for it:
what the API costs DNS is CPU shared on the same machine, nothing more.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from conftest import free_port, wait_for_tcp  # noqa: E402  (shared test helpers)

KEY = "bench-api-key"
ORIGIN = "api.bench."
NAMES = 1000


def write_zone(path):
    lines = [f"$ORIGIN {ORIGIN}", "$TTL 300", "@ SOA ns1 hostmaster 1 7200 3600 1209600 300",
             "@ NS ns1", "ns1 A 192.0.2.53"]
    for i in range(NAMES):
        lines.append(f"h{i} A 192.0.2.{i % 250 + 1}" if i % 4 else f"h{i} CNAME h{i + 1}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_queries(path):
    with open(path, "w") as f:
        for i in range(NAMES):
            f.write(f"h{i}.{ORIGIN} A\n")


def dnsperf(port, queries, duration):
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
                          "-l", str(duration), "-c", "4", "-Q", "1000000"],
                         capture_output=True, text=True, timeout=duration + 30).stdout
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    return (float(qps.group(1)) if qps else 0.0), (int(lost.group(1)) if lost else -1)


def api_call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"X-API-Key": KEY})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def api_load(port, clients, stop, counts):
    zones = "/api/v1/servers/localhost/zones"

    def client(cid):
        n = 0
        while not stop.is_set():
            if n % 10 == 9:
                body = {"rrsets": [{"name": f"load{cid}.{ORIGIN}", "type": "A", "ttl": 60,
                                    "changetype": "REPLACE",
                                    "records": [{"content": f"192.0.2.{n % 250 + 1}",
                                                 "disabled": False}]}]}
                status = api_call(port, "PATCH", f"{zones}/{ORIGIN}", body)
            else:
                status = api_call(port, "GET", zones if n % 2 else f"{zones}/{ORIGIN}")
            counts["ok" if status in (200, 204) else "failed"] += 1
            n += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        for f in [pool.submit(client, i) for i in range(clients)]:
            f.result()


def main(argv):
    p = argparse.ArgumentParser(prog="bench/run --api")
    p.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    p.add_argument("--clients", type=int, default=32, help="API client threads")
    p.add_argument("--quick", action="store_true", help="3 s runs")
    p.add_argument("--canon-bin", default=os.environ.get("CANON_BIN",
                                                          os.path.join(ROOT, "build", "canon")))
    args = p.parse_args(argv)
    duration = 3 if args.quick else args.duration
    if not shutil.which("dnsperf"):
        sys.exit("api_bench: dnsperf is missing: run scripts/deps")
    work = tempfile.mkdtemp(prefix="canon-api-bench-")
    zone, queries = os.path.join(work, "zone"), os.path.join(work, "queries")
    write_zone(zone)
    write_queries(queries)
    os.mkdir(os.path.join(work, "state"))
    dns_port, http_port = free_port(), free_port()
    log = open(os.path.join(work, "canon.log"), "w")
    proc = subprocess.Popen([args.canon_bin, "serve", "--listen", f"127.0.0.1:{dns_port}",
                             "--workers", "1", "--zone", f"{ORIGIN}={zone}",
                             "--state-dir", os.path.join(work, "state"),
                             "--http", f"127.0.0.1:{http_port}", "--api-key", KEY,
                             "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_for_tcp(http_port, timeout=15):
            sys.exit(f"api_bench: canon serve did not start (see {work}/canon.log)")
        time.sleep(0.5)
        idle, idle_lost = dnsperf(dns_port, queries, duration)
        stop, counts = threading.Event(), {"ok": 0, "failed": 0}
        loader = threading.Thread(target=api_load, args=(http_port, args.clients, stop, counts))
        loader.start()
        time.sleep(0.5)
        before, t0 = counts["ok"], time.monotonic()
        busy, busy_lost = dnsperf(dns_port, queries, duration)
        api_rate = (counts["ok"] - before) / (time.monotonic() - t0)
        stop.set()
        loader.join()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    print(f"canon serve, 1 worker, {NAMES} names; {os.cpu_count()} CPUs shared by dnsperf, "
          f"the API clients and canon")
    print(f"{'':32}{'DNS QPS':>12}{'lost':>8}{'API req/s':>12}")
    print(f"{'idle':32}{idle:>12.0f}{idle_lost:>8}{'-':>12}")
    print(f"{f'API load ({args.clients} clients)':32}{busy:>12.0f}{busy_lost:>8}{api_rate:>12.0f}")
    print(f"DNS under API load: {100 * busy / idle:.0f}% of idle; API errors: {counts['failed']}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if counts["failed"] == 0 and busy_lost == 0 and idle_lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
