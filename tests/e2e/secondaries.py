"""Stock secondaries (knotd, nsd, named) and a knotd primary on loopback, for
the zone transfer, NOTIFY and UPDATE tests.

    start_knotd_secondary(tmp_path, zones, primary, key=None, port=None, wait=True) -> Server
    start_nsd_secondary(tmp_path, zones, primary, key=None, port=None, wait=True) -> Server
    start_named_secondary(tmp_path, zones, primary, key=None, port=None, wait=True) -> Server
    start_knotd_primary(tmp_path, zones, key=None, notify=(), update_key=None,
                        port=None, transfer=None) -> Server
    start_canon_primary(tmp_path, zones, keys=(), state_dir=None, port=None,
                        extra_args=()) -> Server

    wait_serial(server, origin, serial, timeout=10) -> bool
    soa_serial(server, origin) -> int | None
    zone_rrsets(server, origin, key=None) -> sorted list of (name, ttl, type, rdata)
    transfer(server, origin, rdtype="AXFR", serial=None, key=None) -> Transfer
    file_rrsets(path, origin) -> sorted list of (name, ttl, type, rdata)
    apply_ixfr(old_rrsets, records) -> (kind, new_rrsets)
    keyring(key) -> {name: dns.tsig.Key}

zones is a list of origins for a secondary (it has no zone file: it gets the
zone from `primary`, an (addr, port) pair) and {origin: zonefile} for a
primary. key is None or (name, algorithm, base64 secret), algorithm as in
"hmac-sha256"; it signs the secondary's SOA queries and transfers and is
required on the NOTIFY it accepts (from 127.0.0.1 only). Each secondary
prefers IXFR, keeps everything it writes (zone copies, journals, state) in
its own work directory under tmp_path, retries a failed refresh within a
second or two, lets 127.0.0.1 transfer the zone from it (unsigned: that is how
zone_rrsets reads it back) and runs in the foreground on a free port of
127.0.0.1 (or port=, so that a primary can be told where to send NOTIFY
before its secondaries start). The returned conftest.Server has .workdir,
.name and .logpath (the daemon's log, at info level: transfers are logged).

wait=True waits until every zone is served (SOA with AA), so the initial
transfer is done; wait=False only waits until the daemon answers at all (for
a secondary that is expected never to get the zone). A daemon that does not
start raises RuntimeError with its log.

The knotd primary serves copies of the zone files with a journal
(journal-content: changes, zonefile-sync: -1: the file is never written),
allows AXFR/IXFR as canon's transfer= would (key triples and address
prefixes; by default `key`, or 127.0.0.0/8 without one), UPDATE signed with
update_key (nobody else) and sends NOTIFY (signed with `key` when given) to
every (addr, port) in notify. knotd answers a refused transfer with NOTAUTH
(canon may say REFUSED), AXFR over UDP with NOTIMP.

start_canon_primary runs `canon serve` with the issue-10 options: keys are
(name, algorithm, secret) triples passed as --key, zones maps an origin to
(zonefile, {"update": [...], "transfer": [...], "notify": [...]}) or just a
zonefile, and state_dir defaults to tmp_path/"canon-state".
"""
import base64
import os
import re
import shutil
import socket
import struct
import subprocess
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.zone

import conftest
from conftest import Server, free_port, need_tool, wait_for_dns

START_TIMEOUT = 20.0
LOAD_TIMEOUT = 10.0


def _q(s):
    s = str(s)
    if '"' in s or "\n" in s:
        raise ValueError(f"unsupported character in config value: {s!r}")
    return f'"{s}"'


def _fqdn(origin):
    origin = str(origin)
    return origin if origin.endswith(".") else origin + "."


def _zone_file_name(origin):
    return (_fqdn(origin).rstrip(".") or "root") + ".zone"


def keyring(key):
    """{keyname: dns.tsig.Key} for dnspython from (name, algorithm, secret)."""
    name, algorithm, secret = key
    kname = dns.name.from_text(name)
    return {kname: dns.tsig.Key(kname, secret, algorithm)}


# --------------------------------------------------------------------------
# Queries and transfers


def _query(server, qname, qtype, timeout=1.0):
    msg = dns.message.make_query(qname, qtype)
    msg.flags &= ~dns.flags.RD
    return dns.query.udp(msg, server.addr, port=server.port, timeout=timeout)


def soa_serial(server, origin):
    """The serial of origin's SOA as served (AA set), or None."""
    try:
        r = _query(server, _fqdn(origin), "SOA")
    except (dns.exception.DNSException, OSError):
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AA:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def wait_serial(server, origin, serial, timeout=10.0):
    """Poll the SOA until its serial is `serial` or later (RFC 1982); True/False."""
    deadline = time.monotonic() + timeout
    while True:
        s = soa_serial(server, origin)
        if s is not None and (s == serial or 0 < ((s - serial) & 0xFFFFFFFF) < 0x80000000):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def rr_tuples(records):
    """(name, ttl, type, rdata) tuples from dnspython RRsets."""
    out = []
    for rrset in records:
        for rd in rrset:
            out.append((rrset.name.to_text(), rrset.ttl, dns.rdatatype.to_text(rrset.rdtype),
                        rd.to_text()))
    return out


def without_soa(rrs):
    return sorted(r for r in rrs if r[2] != "SOA")


class Transfer:
    """The outcome of one AXFR/IXFR over TCP.

    rcode: the first message's rcode; tsig_error: the TSIG error the server
    signalled (dns.rcode text, e.g. "BADKEY") or None; messages: the parsed
    messages; records: every answer record in order as (name, ttl, type,
    rdata); complete: the transfer ended as RFC 5936/1995 say it ends."""

    def __init__(self):
        self.rcode = None
        self.tsig_error = None
        self.messages = []
        self.records = []
        self.complete = False

    def rrsets(self):
        """The records as a sorted list without duplicates (for AXFR: the
        zone, its SOA once)."""
        return sorted(set(self.records))

    def __repr__(self):
        rc = dns.rcode.to_text(self.rcode) if self.rcode is not None else None
        return (f"<Transfer rcode={rc} tsig_error={self.tsig_error} "
                f"messages={len(self.messages)} records={len(self.records)} "
                f"complete={self.complete}>")


_TSIG_ERRORS = {
    dns.tsig.PeerBadKey: "BADKEY",
    dns.tsig.PeerBadSignature: "BADSIG",
    dns.tsig.PeerBadTime: "BADTIME",
    dns.tsig.PeerBadTruncation: "BADTRUNC",
}


def _recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def parse_reply(wire, query=None, key=None, tsig_ctx=None, multi=False, xfr=False):
    """Parse a reply; returns (message or None, rcode, tsig_error or None).

    A reply whose TSIG carries an error (BADKEY, BADSIG, BADTIME) cannot be
    verified: then message is None and rcode is read from the header."""
    kw = {}
    if key is not None:
        kw["keyring"] = keyring(key)
        kw["request_mac"] = query.mac if query is not None else b""
    else:
        # Accept (without checking) a TSIG on a reply to an unsigned request.
        kw["keyring"] = lambda msg, name: dns.tsig.Key(name, b"\0" * 32)
    try:
        m = dns.message.from_wire(wire, tsig_ctx=tsig_ctx, multi=multi, xfr=xfr,
                                  origin=None, one_rr_per_rrset=True, **kw)
        return m, m.rcode(), None
    except tuple(_TSIG_ERRORS) as e:
        return None, wire[3] & 0x0F, _TSIG_ERRORS[type(e)]
    except dns.tsig.BadSignature:
        if key is None:
            m = _strip_tsig(wire)
            return m, m.rcode(), None
        raise


def _strip_tsig(wire):
    """Parse a message ignoring its TSIG (the last additional record)."""
    hdr = bytearray(wire[:12])
    arcount = struct.unpack("!H", hdr[10:12])[0]
    if arcount == 0:
        return dns.message.from_wire(wire, one_rr_per_rrset=True)
    hdr[10:12] = struct.pack("!H", arcount - 1)
    return dns.message.from_wire(bytes(hdr) + wire[12:], ignore_trailing=True,
                                 one_rr_per_rrset=True)


def transfer(server, origin, rdtype="AXFR", serial=None, key=None, timeout=10.0,
             addr=None, port=None, source=None):
    """AXFR or IXFR (from `serial`) of origin over TCP; returns a Transfer.

    Reads messages until the transfer's own end (AXFR: the second SOA; IXFR:
    the new SOA where a deletion part would start; one SOA only: up to date),
    an error rcode, or the deadline. Signed with key when given (and every
    signed reply is verified)."""
    origin = _fqdn(origin)
    rdtype = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    q = dns.message.make_query(origin, rdtype)
    q.flags &= ~dns.flags.RD
    if rdtype == dns.rdatatype.IXFR:
        soa = dns.rrset.from_text(origin, 0, "IN", "SOA",
                                  f". . {int(serial if serial is not None else 0)} 0 0 0 0")
        q.authority.append(soa)
    if key is not None:
        q.use_tsig(keyring(key), keyname=dns.name.from_text(key[0]), algorithm=key[1])
    wire = q.to_wire()
    out = Transfer()
    deadline = time.monotonic() + timeout
    addr = addr or server.addr
    port = port or server.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect((addr, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        ctx = None
        first_serial = None
        state = "start"  # start, second, axfr, del, add, done
        while state != "done" and time.monotonic() < deadline:
            try:
                (n,) = struct.unpack("!H", _recv_exact(s, 2, deadline))
                data = _recv_exact(s, n, deadline)
            except (EOFError, OSError):
                break
            m, rcode, terr = parse_reply(data, q, key, tsig_ctx=ctx, multi=True, xfr=True)
            if out.rcode is None:
                out.rcode, out.tsig_error = rcode, terr
            if m is None:
                break
            out.messages.append(m)
            if key is not None:
                ctx = m.tsig_ctx
            if rcode != dns.rcode.NOERROR:
                break
            for rrset in m.answer:
                for t in rr_tuples([rrset]):
                    out.records.append(t)
                    is_soa = rrset.rdtype == dns.rdatatype.SOA
                    this_serial = rrset[0].serial if is_soa else None
                    if state == "start":
                        if not is_soa:
                            state = "done"  # malformed: not starting with SOA
                            break
                        first_serial = this_serial
                        state = "second"
                    elif state == "second":
                        if is_soa and rdtype == dns.rdatatype.IXFR and this_serial != first_serial:
                            state = "del"
                        elif is_soa:
                            state, out.complete = "done", True  # AXFR of a SOA-only zone
                        else:
                            state = "axfr"
                    elif state == "axfr":
                        if is_soa:
                            state, out.complete = "done", True
                    elif state == "del":
                        if is_soa:
                            state = "add"
                    elif state == "add":
                        if is_soa and this_serial == first_serial:
                            state, out.complete = "done", True
                        elif is_soa:
                            state = "del"
                    if state == "done":
                        break
                if state == "done":
                    break
            if state == "second" and rdtype == dns.rdatatype.IXFR:
                # A single SOA in the first message: up to date (RFC 1995 §4).
                state, out.complete = "done", True
    return out


def zone_rrsets(server, origin, key=None, timeout=10.0):
    """The zone as served by `server`, by AXFR: a sorted list of (name, ttl,
    type, rdata) tuples (SOA once). Raises AssertionError if the transfer
    fails or is incomplete."""
    t = transfer(server, origin, "AXFR", key=key, timeout=timeout)
    if t.rcode != dns.rcode.NOERROR or not t.complete:
        raise AssertionError(f"AXFR of {origin} from {getattr(server, 'name', 'server')} "
                             f"port {server.port} failed: {t!r}")
    return t.rrsets()


def _nottl(rr):
    return (rr[0].lower(), rr[2], rr[3])


def apply_ixfr(old, records):
    """Check that `records` (a Transfer's) is a well-formed IXFR answer
    (RFC 1995 §4) against the zone `old` and apply it.

    Returns ("uptodate", old) for a single SOA, ("axfr", zone) for an
    AXFR-style answer, ("ixfr", zone) for difference sequences. Raises
    AssertionError when a deletion is not in the zone, an old SOA is not the
    zone's SOA, or the sequence does not end with the new SOA."""
    assert records and records[0][2] == "SOA", f"IXFR does not start with SOA: {records[:2]}"
    new_soa = records[0]
    if len(records) == 1:
        return "uptodate", sorted(old)
    if records[1][2] != "SOA":
        assert records[-1] == new_soa, "AXFR-style IXFR does not end with the SOA"
        return "axfr", sorted(set(records[:-1]))
    assert records[-1] == new_soa, f"IXFR does not end with the new SOA: {records[-1]}"
    zone = {_nottl(r): r for r in old}
    body = records[1:-1]
    i = 0
    while i < len(body):
        old_soa = body[i]
        assert old_soa[2] == "SOA", f"expected an old SOA at {i}: {old_soa}"
        cur = [r for r in zone.values() if r[2] == "SOA"]
        assert [_nottl(r) for r in cur] == [_nottl(old_soa)], \
            f"IXFR deletes from {old_soa} but the zone has {cur}"
        i += 1
        while i < len(body) and body[i][2] != "SOA":
            assert _nottl(body[i]) in zone, f"IXFR deletes {body[i]} which is not in the zone"
            del zone[_nottl(body[i])]
            i += 1
        assert i < len(body), "IXFR difference without its new SOA"
        del zone[_nottl(old_soa)]
        zone[_nottl(body[i])] = body[i]
        i += 1
        while i < len(body) and body[i][2] != "SOA":
            zone[_nottl(body[i])] = body[i]
            i += 1
    assert [r for r in zone.values() if r[2] == "SOA"] == [new_soa], "IXFR ends on another SOA"
    return "ixfr", sorted(zone.values())


def file_rrsets(path, origin):
    """The zone file as the same kind of sorted tuple list as zone_rrsets."""
    z = dns.zone.from_file(str(path), origin=_fqdn(origin), relativize=False,
                           check_origin=False)
    out = []
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                out.append((name.to_text(), rds.ttl, dns.rdatatype.to_text(rds.rdtype),
                            rd.to_text()))
    return sorted(out)


# --------------------------------------------------------------------------
# Starting daemons


def _start(name, tmp_path, port, build, origins, wait, start_timeout=START_TIMEOUT):
    last = ""
    for _ in range(1 if port is not None else 3):
        p = port if port is not None else free_port()
        workdir = os.path.join(str(tmp_path), f"{name}-{p}")
        os.makedirs(workdir, exist_ok=True)
        argv = build(p, workdir)
        server = Server(argv, "127.0.0.1", p, os.path.join(workdir, f"{name}.log"))
        server.workdir, server.name = workdir, name
        if wait_for_dns("127.0.0.1", p, timeout=start_timeout, qname=origins[0]):
            if not wait:
                return server
            deadline = time.monotonic() + LOAD_TIMEOUT
            pending = list(origins)
            while pending and time.monotonic() < deadline and server.alive():
                pending = [o for o in pending if soa_serial(server, o) is None]
                if pending:
                    time.sleep(0.05)
            if not pending:
                return server
            last = f"zones not loaded within {LOAD_TIMEOUT}s: {', '.join(pending)}"
        else:
            last = "no answer on the port"
        died = not server.alive()
        server.stop()
        last = f"{name} on port {p}: {last}\n--- {server.logpath} ---\n" + \
            open(server.logpath, errors="replace").read()
        if not died:
            break
    raise RuntimeError(f"{name} did not start:\n{last}")


def _knot_conf_head(workdir, port, key, log_level="info"):
    rundir = os.path.join(workdir, "run")
    storage = os.path.join(workdir, "storage")
    os.makedirs(rundir, exist_ok=True)
    os.makedirs(storage, exist_ok=True)
    lines = [
        "server:",
        f"    rundir: {_q(rundir)}",
        f"    pidfile: {_q(os.path.join(rundir, 'knot.pid'))}",
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
        f"    storage: {_q(storage)}",
        "",
        "control:",
        f"    listen: {_q(os.path.join(rundir, 'knot.sock'))}",
        "",
    ]
    if key is not None:
        lines += ["key:", f"  - id: {_q(key[0])}", f"    algorithm: {key[1]}",
                  f"    secret: {key[2]}", ""]
    return lines, storage


def _knotd_secondary_build(zones, primary, key, catalog=None):
    def build(port, workdir):
        lines, storage = _knot_conf_head(workdir, port, key)
        lines += ["remote:", "  - id: primary", f"    address: {primary[0]}@{int(primary[1])}"]
        if key is not None:
            lines += [f"    key: {_q(key[0])}"]
        lines += ["", "acl:", "  - id: notify_from_primary", "    address: 127.0.0.1",
                  "    action: notify"]
        if key is not None:
            lines += [f"    key: {_q(key[0])}"]
        lines += ["  - id: transfer_to_tests", "    address: 127.0.0.1", "    action: transfer",
                  "",
                  "template:",
                  "  - id: default",
                  f"    storage: {_q(storage)}",
                  "    master: primary",
                  "    acl: [ notify_from_primary, transfer_to_tests ]",
                  # Keep the zone in the journal only; never write a zone file.
                  "    zonefile-sync: -1",
                  "    zonefile-load: none",
                  "    journal-content: all",
                  "    semantic-checks: soft",
                  "    refresh-min-interval: 2",
                  "    retry-min-interval: 1",
                  "    retry-max-interval: 2",
                  "",
                  "zone:"]
        for origin in zones:
            lines += [f"  - domain: {_q(_fqdn(origin))}"]
        if catalog is not None:
            # RFC 9432: the members come from the catalog, made with the default template.
            lines += [f"  - domain: {_q(_fqdn(catalog))}", "    catalog-role: interpret",
                      "    catalog-template: default"]
        conf = os.path.join(workdir, "knot.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [need_tool("knotd"), "-c", conf]

    return build


def start_knotd_secondary(tmp_path, zones, primary, key=None, port=None, wait=True,
                          catalog=None):
    """knotd as a secondary of primary=(addr, port) for the origins in zones, and
    with catalog= the members of that catalog zone (RFC 9432) too (knotd does not
    answer for the catalog itself: wait for its members with wait=False)."""
    zones = [_fqdn(z) for z in zones]
    waits = zones or [_fqdn(catalog)]
    return _start("knotd-secondary", tmp_path, port,
                  _knotd_secondary_build(zones, primary, key, catalog), waits, wait)


def _nsd_secondary_build(zones, primary, key):
    def build(port, workdir):
        xfrdir = os.path.join(workdir, "xfr")
        os.makedirs(xfrdir, exist_ok=True)
        kname = key[0] if key is not None else "NOKEY"
        lines = [
            "server:",
            f"    ip-address: 127.0.0.1@{port}",
            "    do-ip4: yes",
            "    do-ip6: no",
            "    server-count: 1",
            '    username: ""',
            '    chroot: ""',
            '    database: ""',
            f"    zonelistfile: {_q(os.path.join(workdir, 'zone.list'))}",
            f"    xfrdfile: {_q(os.path.join(workdir, 'xfrd.state'))}",
            f"    xfrdir: {_q(xfrdir)}",
            f"    pidfile: {_q(os.path.join(workdir, 'nsd.pid'))}",
            f"    zonesdir: {_q(workdir)}",
            "    verbosity: 2",
            "    rrl-ratelimit: 0",
            "    zonefiles-write: 0",
            "    answer-cookie: no",
            "",
            "remote-control:",
            "    control-enable: no",
            "",
        ]
        if key is not None:
            lines += ["key:", f"    name: {_q(key[0])}", f"    algorithm: {key[1]}",
                      f"    secret: {_q(key[2])}", ""]
        for origin in zones:
            lines += [
                "zone:",
                f"    name: {_q(origin)}",
                f"    zonefile: {_q(os.path.join(workdir, _zone_file_name(origin)))}",
                # IXFR over TCP first, AXFR when the primary has no IXFR.
                f"    request-xfr: {primary[0]}@{int(primary[1])} {kname}",
                "    allow-axfr-fallback: yes",
                f"    allow-notify: 127.0.0.1 {kname}",
                "    provide-xfr: 127.0.0.1 NOKEY",
                "    min-retry-time: 1",
                "    max-retry-time: 2",
                "",
            ]
        conf = os.path.join(workdir, "nsd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        chk = subprocess.run([need_tool("nsd-checkconf"), conf], capture_output=True,
                             text=True, timeout=30)
        if chk.returncode != 0:
            raise RuntimeError(f"nsd-checkconf rejected {conf}:\n{chk.stdout}{chk.stderr}")
        return [need_tool("nsd"), "-d", "-c", conf]

    return build


def start_nsd_secondary(tmp_path, zones, primary, key=None, port=None, wait=True):
    """nsd as a secondary of primary=(addr, port) for the origins in zones."""
    zones = [_fqdn(z) for z in zones]
    return _start("nsd-secondary", tmp_path, port, _nsd_secondary_build(zones, primary, key),
                  zones, wait)


def _named_secondary_build(zones, primary, key):
    def build(port, workdir):
        lines = [
            "options {",
            f"    directory {_q(workdir)};",
            f"    pid-file {_q(os.path.join(workdir, 'named.pid'))};",
            f"    session-keyfile {_q(os.path.join(workdir, 'session.key'))};",
            f"    managed-keys-directory {_q(workdir)};",
            f"    listen-on port {port} {{ 127.0.0.1; }};",
            "    listen-on-v6 { none; };",
            "    recursion no;",
            "    dnssec-validation no;",
            "    notify no;",
            "    request-ixfr yes;",
            "    transfer-source 127.0.0.1;",
            "    notify-source 127.0.0.1;",
            "    allow-transfer { 127.0.0.1; };",
            "    min-refresh-time 2;",
            "    min-retry-time 1;",
            "    max-retry-time 2;",
            "    answer-cookie no;",
            "};",
            "controls { };",
            "",
        ]
        if key is not None:
            lines += [f"key {_q(key[0])} {{", f"    algorithm {key[1]};",
                      f"    secret {_q(key[2])};", "};", ""]
        prim = f"{primary[0]} port {int(primary[1])}"
        if key is not None:
            prim += f" key {_q(key[0])}"
        notify_acl = f"key {_q(key[0])};" if key is not None else "127.0.0.1;"
        for origin in zones:
            lines += [
                f"zone {_q(origin)} {{",
                "    type secondary;",
                f"    primaries {{ {prim}; }};",
                f"    file {_q(_zone_file_name(origin))};",
                "    masterfile-format text;",
                f"    allow-notify {{ {notify_acl} }};",
                "};",
                "",
            ]
        conf = os.path.join(workdir, "named.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        chk = subprocess.run([need_tool("named-checkconf"), conf], capture_output=True,
                             text=True, timeout=30)
        if chk.returncode != 0:
            raise RuntimeError(f"named-checkconf rejected {conf}:\n{chk.stdout}{chk.stderr}")
        # -g: foreground, log to stderr; -4: IPv4 only; -n 1: one worker.
        return [need_tool("named"), "-g", "-4", "-n", "1", "-c", conf]

    return build


def start_named_secondary(tmp_path, zones, primary, key=None, port=None, wait=True):
    """named (BIND 9) as a secondary of primary=(addr, port) for the origins in zones."""
    zones = [_fqdn(z) for z in zones]
    return _start("named-secondary", tmp_path, port,
                  _named_secondary_build(zones, primary, key), zones, wait)


def _knotd_primary_build(zones, key, notify, update_key, transfer):
    def build(port, workdir):
        keys = [k for k in (key, update_key) if k is not None]
        keys += [t for t in transfer if isinstance(t, tuple)]
        keys = list({k[0]: k for k in keys}.values())
        lines, storage = _knot_conf_head(workdir, port, None)
        if keys:
            lines += ["key:"]
            for k in keys:
                lines += [f"  - id: {_q(k[0])}", f"    algorithm: {k[1]}", f"    secret: {k[2]}"]
            lines += [""]
        if notify:
            lines += ["remote:"]
            for i, (addr, p) in enumerate(notify):
                lines += [f"  - id: secondary{i}", f"    address: {addr}@{int(p)}"]
                if key is not None:
                    lines += [f"    key: {_q(key[0])}"]
            lines += [""]
        # One ACL entry per transfer= item, as canon reads them: a key (from
        # anywhere on loopback) or an address prefix (unsigned).
        lines += ["acl:"]
        acls = []
        for i, t in enumerate(transfer):
            lines += [f"  - id: transfer{i}", "    action: transfer"]
            if isinstance(t, tuple):
                lines += ["    address: 127.0.0.0/8", f"    key: {_q(t[0])}"]
            else:
                lines += [f"    address: {t}"]
            acls.append(f"transfer{i}")
        if update_key is not None:
            lines += ["  - id: update", "    address: 127.0.0.0/8", "    action: update",
                      f"    key: {_q(update_key[0])}"]
            acls.append("update")
        lines += ["", "template:", "  - id: default", f"    storage: {_q(storage)}",
                  f"    acl: [ {', '.join(acls)} ]",
                  "    zonefile-load: whole",
                  "    zonefile-sync: -1",
                  "    journal-content: changes",
                  "    serial-policy: increment",
                  "    dnssec-signing: off",
                  "    zonemd-verify: off"]
        if notify:
            lines += [f"    notify: [ {', '.join(f'secondary{i}' for i in range(len(notify)))} ]"]
        lines += ["", "zone:"]
        zdir = os.path.join(workdir, "zones")
        os.makedirs(zdir, exist_ok=True)
        for origin, path in zones.items():
            copy = os.path.join(zdir, _zone_file_name(origin))
            shutil.copyfile(path, copy)
            lines += [f"  - domain: {_q(origin)}", f"    file: {_q(copy)}"]
        conf = os.path.join(workdir, "knot.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [need_tool("knotd"), "-c", conf]

    return build


def start_knotd_primary(tmp_path, zones, key=None, notify=(), update_key=None, port=None,
                        transfer=None):
    """knotd as a primary of {origin: zonefile} with a journal, UPDATE (update_key),
    transfers and NOTIFY (signed with key when given) to the (addr, port)s in
    notify. transfer lists who may transfer, as canon's transfer= does: key
    triples and address prefixes; default [key] with a key, else 127.0.0.0/8.
    A restart on the same port (port=) reuses the work dir, so the journal."""
    zones = {_fqdn(o): os.path.abspath(str(p)) for o, p in zones.items()}
    if transfer is None:
        transfer = [key] if key is not None else ["127.0.0.0/8"]
    return _start("knotd-primary", tmp_path, port,
                  _knotd_primary_build(zones, key, list(notify), update_key, list(transfer)),
                  list(zones), True)


# --------------------------------------------------------------------------
# canon as a primary (the issue-10 command line)


def canon_zone_arg(origin, path, update=(), transfer=(), notify=(), flatten=None):
    """One --zone value: ORIGIN=FILE[,flatten=M][,update=K,...][,transfer=..][,notify=..]."""
    parts = [f"{_fqdn(origin)}={path}"]
    if flatten:
        parts.append(f"flatten={flatten}")
    for opt, values in (("update", update), ("transfer", transfer), ("notify", notify)):
        values = [f"{v[0]}:{v[1]}" if isinstance(v, tuple) else str(v) for v in values]
        if values:
            parts.append(f"{opt}={values[0]}")
            parts += values[1:]
    return ",".join(parts)


def canon_argv(port, zones, keys=(), state_dir=None, extra_args=()):
    argv = [conftest.CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1"]
    if state_dir is not None:
        argv += ["--state-dir", str(state_dir)]
    for name, algorithm, secret in keys:
        argv += ["--key", f"{name}:{algorithm}:{secret}"]
    for origin, spec in zones.items():
        if isinstance(spec, (str, os.PathLike)):
            spec = (spec, {})
        path, opts = spec
        argv += ["--zone", canon_zone_arg(origin, path, **opts)]
    return argv + list(extra_args)


def start_canon_primary(tmp_path, zones, keys=(), state_dir=None, port=None, extra_args=(),
                        start_timeout=10.0, log_name=None):
    """Start canon serve with keys, zone options and a state dir; wait until the
    first zone answers its SOA (any rcode: canon answers before it is primed)
    and every zone is served with AA. port= reuses a port (a restart);
    binding it is retried within start_timeout."""
    if state_dir is None:
        state_dir = os.path.join(str(tmp_path), "canon-state")
    os.makedirs(str(state_dir), exist_ok=True)
    origins = [_fqdn(o) for o in zones]
    deadline = time.monotonic() + start_timeout
    last = ""
    while True:
        p = port if port is not None else free_port()
        logpath = os.path.join(str(tmp_path), log_name or f"canon-{p}-{time.monotonic_ns()}.log")
        server = Server(canon_argv(p, zones, keys, state_dir, extra_args), "127.0.0.1", p, logpath)
        server.workdir, server.name, server.state_dir = str(tmp_path), "canon", str(state_dir)
        ok = False
        while not ok and server.alive() and time.monotonic() < deadline:
            ok = wait_for_dns("127.0.0.1", p, timeout=0.3, qname=origins[0] if origins else ".")
        while ok and server.alive() and time.monotonic() < deadline:
            if all(soa_serial(server, o) is not None for o in origins):
                return server
            time.sleep(0.05)
        died = not server.alive()
        server.stop()
        last = open(logpath, errors="replace").read()
        retry = died and port is not None and re.search(r"in use|bind", last, re.I)
        if not retry or time.monotonic() >= deadline:
            raise RuntimeError(f"canon serve did not start on port {p}:\n{last}")
        time.sleep(0.2)  # the port of a killed canon not yet free: retry


def b64secret(seed):
    """A deterministic 32-byte TSIG secret in base64 from a short string."""
    raw = (seed.encode() * 32)[:32]
    return base64.b64encode(raw).decode()
