#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Byte-for-byte comparison of two canon binaries' answers.

Starts both on the same zones and sends each the same queries (same IDs):
every name and type of the zones plus absent types and names, in random
0x20 case, without EDNS, with EDNS (4096 and 512), with DO, with a COOKIE
(both servers share --cookie-secret), and over TCP; optionally the lines of
bench query files. Any answer that differs is printed, and the exit status
is 1. Used to check a rewrite of the answer writer against the old one:

  bench/compare_wire.py --old /tmp/canon-main --new build/canon \\
      --zone bench.test.=bench/out/cost/zone-10000/bench.test.zone \\
      --queries 'bench/out/cost/zone-10000/q-*.txt' --limit 2000
"""
import argparse
import glob
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import dns.zone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))

SECRET = "00112233445566778899aabbccddeeff"
EXTRA_TYPES = ["A", "AAAA", "MX", "NS", "SOA", "TXT", "ANY", "SRV", "DNSKEY", "DS", "NSEC", "RRSIG",
               "CAA", "PTR", "HINFO", "NAPTR", "TYPE65534"]


def free_port():
    import conftest
    return conftest.free_port()


def start(binary, zones, workdir, port):
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1",
            "--cookie-secret", SECRET, "--state-dir", workdir]
    for z in zones:
        argv += ["--zone", z]
    log = open(os.path.join(workdir, "server.log"), "w")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    origin = zones[0].split("=", 1)[0]
    q = dns.message.make_query(origin, "SOA").to_wire()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit(f"{binary} exited; see {workdir}/server.log")
        try:
            udp(port, q, 0.1)
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit(f"{binary} did not answer; see {workdir}/server.log")


def udp(port, wire, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(wire, ("127.0.0.1", port))
        return s.recv(65535)
    finally:
        s.close()


def tcp(port, wire, timeout=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        head = b""
        while len(head) < 2:
            chunk = s.recv(2 - len(head))
            if not chunk:
                raise OSError("closed")
            head += chunk
        n = struct.unpack("!H", head)[0]
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                raise OSError("closed")
            body += chunk
        return body
    finally:
        s.close()


def mixed_case(name, rng):
    text = name.to_text()
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in text)


VARIANTS = {
    "plain": dict(),
    "edns": dict(use_edns=0, payload=4096),
    "edns512": dict(use_edns=0, payload=512),
    "do": dict(use_edns=0, payload=4096, want_dnssec=True),
    "do1232": dict(use_edns=0, payload=1232, want_dnssec=True),
    "cookie": dict(use_edns=0, payload=4096,
                   options=[dns.edns.GenericOption(dns.edns.COOKIE, b"\x01\x02\x03\x04\x05\x06\x07\x08")]),
    "badvers": dict(use_edns=1, payload=4096),
}


def questions(zones, files, limit, rng):
    out = []
    for spec in zones:
        origin, path = spec.split("=", 1)[0], spec.split("=", 1)[1].split(",")[0]
        z = dns.zone.from_file(path, origin=origin, relativize=False, check_origin=False)
        names = sorted(z.nodes.keys())
        if limit and len(names) > limit:
            names = rng.sample(names, limit)
        for name in names:
            types = {dns.rdatatype.to_text(r.rdtype) for r in z.nodes[name].rdatasets}
            types |= set(rng.sample(EXTRA_TYPES, 3))
            for t in sorted(types):
                out.append((mixed_case(name, rng), t))
            out.append((mixed_case(dns.name.from_text("nx-" + str(rng.randint(0, 99999)), name), rng), "A"))
    for pattern in files:
        for path in sorted(glob.glob(pattern)):
            lines = [line.split() for line in open(path) if line.strip()]
            if limit and len(lines) > limit:
                lines = rng.sample(lines, limit)
            out += [(mixed_case(dns.name.from_text(n), rng), t) for n, t in lines]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the reference canon binary")
    ap.add_argument("--new", required=True, help="the canon binary under test")
    ap.add_argument("--zone", action="append", required=True, help="ORIGIN=FILE[,OPTIONS] (repeatable)")
    ap.add_argument("--queries", action="append", default=[], help="bench query file glob (NAME TYPE lines)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many names per zone or file")
    ap.add_argument("--variants", default=",".join(VARIANTS) + ",tcp")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    qs = questions(a.zone, a.queries, a.limit, rng)
    variants = a.variants.split(",")
    with tempfile.TemporaryDirectory() as d_old, tempfile.TemporaryDirectory() as d_new:
        po, pn = free_port(), free_port()
        servers = [start(a.old, a.zone, d_old, po), start(a.new, a.zone, d_new, pn)]
        try:
            differ = sent = 0
            for i, (name, qtype) in enumerate(qs):
                for v in variants:
                    opts = VARIANTS.get(v, VARIANTS["edns"])
                    m = dns.message.make_query(name, qtype, **opts)
                    m.id = (i * 7 + len(v)) & 0xFFFF
                    if v == "tcp":
                        m = dns.message.make_query(name, qtype, use_edns=0, payload=4096, want_dnssec=True)
                        m.id = i & 0xFFFF
                    wire = m.to_wire()
                    send = tcp if v == "tcp" else udp
                    for attempt in range(2):  # a cookie's timestamp may tick between the two
                        old, new = send(po, wire), send(pn, wire)
                        if old == new:
                            break
                    sent += 1
                    if old != new:
                        differ += 1
                        if differ <= 20:
                            print(f"DIFFER {name} {qtype} {v}\n  old {old.hex()}\n  new {new.hex()}")
            print(f"{sent} queries, {differ} answers differ")
            return 1 if differ else 0
        finally:
            for p in servers:
                p.terminate()
                p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
