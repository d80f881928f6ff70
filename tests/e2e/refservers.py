"""Reference DNS servers (knotd, nsd) started on loopback for the differential
tests and the benchmarks.

    start_knotd(tmp_path, zones, workers=1, port=None, start_timeout=20.0) -> Server
    start_nsd(tmp_path, zones, workers=1, port=None, minimal_responses=False,
              start_timeout=20.0, extra=()) -> Server

zones maps an origin to a zone file: {"example.test.": "/path/example.test.zone"}.
Each call writes a minimal configuration into its own directory under tmp_path
(named after the port, so several servers can share one tmp_path), starts the
daemon in the foreground on 127.0.0.1 (a free port unless port= is given),
waits until every zone answers its SOA with AA set, and returns a
conftest.Server (.query/.send/.stop; also .workdir). A daemon that does not
start, or a zone that does not load, raises RuntimeError with the daemon's log.

Both are set up to serve the zone files as written and nothing else: no
response rate limiting (nsd's is on by default), no record rotation, no DNS
cookies, no journal, no zone-file write-back, no transfers or NOTIFY, no
DNSSEC signing; knotd runs with `semantic-checks: soft` so that intentionally
odd zones still load. `workers` is knotd's udp-workers/tcp-workers (threads)
and nsd's server-count (processes, with reuseport when more than one).
"""
import os
import subprocess
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode

from conftest import Server, free_port, need_tool, wait_for_dns

START_TIMEOUT = 20.0
ZONE_LOAD_GRACE = 10.0
# How many times to retry with a fresh port when the daemon dies at start
# (another process grabbed the port between free_port() and bind()).
PORT_RETRIES = 3


def _abs_zones(zones):
    out = {}
    for origin, path in zones.items():
        origin = str(origin)
        if not origin.endswith("."):
            origin += "."
        path = os.path.abspath(str(path))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"zone file for {origin} not found: {path}")
        out[origin] = path
    return out


def _quote(s):
    """Quote a string for knot.conf / nsd.conf (both accept double quotes)."""
    if '"' in s or "\n" in s:
        raise ValueError(f"unsupported character in config value: {s!r}")
    return f'"{s}"'


def _zones_ready(server, origins, deadline):
    """Poll until every origin answers SOA with NOERROR and AA. Returns the
    origins still not ready (empty list on success)."""
    pending = list(origins)
    while pending and time.monotonic() < deadline:
        if not server.alive():
            return pending
        still = []
        for origin in pending:
            try:
                msg = dns.message.make_query(origin, "SOA")
                msg.flags &= ~dns.flags.RD
                r = dns.query.udp(msg, server.addr, port=server.port, timeout=0.5)
                if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
                    continue
            except Exception:
                pass
            still.append(origin)
        pending = still
        if pending:
            time.sleep(0.05)
    return pending


def _start(name, tmp_path, zones, port, build, start_timeout):
    """Common start/readiness/retry logic. build(port, workdir, zones) -> (argv, env)."""
    zones = _abs_zones(zones)
    if not zones:
        raise ValueError("at least one zone is needed")
    attempts = 1 if port is not None else PORT_RETRIES
    last_error = ""
    for _ in range(attempts):
        p = port if port is not None else free_port()
        workdir = os.path.join(str(tmp_path), f"{name}-{p}")
        os.makedirs(workdir, exist_ok=True)
        argv, env = build(p, workdir, zones)
        server = Server(argv, "127.0.0.1", p, os.path.join(workdir, f"{name}.log"), env=env)
        server.workdir = workdir
        server.name = name
        deadline = time.monotonic() + start_timeout
        origins = list(zones)
        if wait_for_dns("127.0.0.1", p, timeout=start_timeout, qname=origins[0]):
            # Both daemons load their zones before they answer; a zone still
            # not served a few seconds later failed to load (see the log).
            deadline = min(deadline, time.monotonic() + ZONE_LOAD_GRACE)
            pending = _zones_ready(server, origins, deadline)
            if not pending:
                return server
            last_error = f"zones not served: {', '.join(pending)}"
        else:
            last_error = "no answer on the port"
        died = not server.alive()
        server.stop()
        log = open(server.logpath, errors="replace").read()
        last_error = f"{name} on port {p}: {last_error}\n--- {server.logpath} ---\n{log}"
        if not died:
            break  # it runs but does not serve the zones: a new port won't help
    raise RuntimeError(f"{name} did not start:\n{last_error}")


def write_knotd_conf(workdir, listen, zones, workers=1):
    """Write a knot.conf in workdir serving {origin: zonefile} on every "addr@port"
    of listen; returns its path. Shared with miniworld.py."""
    rundir = os.path.join(workdir, "run")
    storage = os.path.join(workdir, "storage")
    os.makedirs(rundir, exist_ok=True)
    os.makedirs(storage, exist_ok=True)
    lines = [
        "server:",
        f"    rundir: {_quote(rundir)}",
        f"    pidfile: {_quote(os.path.join(rundir, 'knot.pid'))}",
        f"    listen: [ {', '.join(listen)} ]",
        f"    udp-workers: {int(workers)}",
        f"    tcp-workers: {int(workers)}",
        "    background-workers: 1",
        "    answer-rotation: off",
        "    automatic-acl: off",
        "",
        "log:",
        "  - target: stderr",
        "    any: notice",
        "",
        "database:",
        f"    storage: {_quote(storage)}",
        "",
        "control:",
        f"    listen: {_quote(os.path.join(rundir, 'knot.sock'))}",
        "",
        "template:",
        "  - id: default",
        f"    storage: {_quote(storage)}",
        # Load each zone file whole, never write it back, keep no journal:
        # what is in the file is what is served, on every start.
        "    zonefile-load: whole",
        "    zonefile-sync: -1",
        "    journal-content: none",
        # 'soft' also lets zones load that break mandatory checks (CNAME
        # with other data, data below a DNAME, ...): the tests want the
        # intentionally odd zones served as written.
        "    semantic-checks: soft",
        "    dnssec-signing: off",
        "    zonemd-verify: off",
        "",
        "zone:",
    ]
    for origin, path in zones.items():
        lines += [f"  - domain: {_quote(origin)}", f"    file: {_quote(path)}"]
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf


def _knotd_build(workers):
    def build(port, workdir, zones):
        conf = write_knotd_conf(workdir, [f"127.0.0.1@{port}"], zones, workers)
        return [need_tool("knotd"), "-c", conf], None

    return build


def start_knotd(tmp_path, zones, workers=1, port=None, start_timeout=START_TIMEOUT):
    """Start knotd in the foreground serving {origin: zonefile}; returns a ready Server.

    workers sets udp-workers and tcp-workers (threads); start_timeout bounds the
    wait for the first answer (raise it for very large zones)."""
    return _start("knotd", tmp_path, zones, port, _knotd_build(workers), start_timeout)


def _nsd_build(workers, minimal_responses, extra=()):
    def build(port, workdir, zones):
        xfrdir = os.path.join(workdir, "xfr")
        os.makedirs(xfrdir, exist_ok=True)
        lines = [
            "server:",
            f"    ip-address: 127.0.0.1@{port}",
            "    do-ip4: yes",
            "    do-ip6: no",
            f"    server-count: {int(workers)}",
            f"    reuseport: {'yes' if int(workers) > 1 else 'no'}",
            '    username: ""',
            '    chroot: ""',
            '    database: ""',
            f"    zonelistfile: {_quote(os.path.join(workdir, 'zone.list'))}",
            f"    xfrdfile: {_quote(os.path.join(workdir, 'xfrd.state'))}",
            f"    xfrdir: {_quote(xfrdir)}",
            f"    pidfile: {_quote(os.path.join(workdir, 'nsd.pid'))}",
            f"    zonesdir: {_quote(workdir)}",
            "    verbosity: 0",
            "    hide-version: yes",
            "    hide-identity: yes",
            # Rate limiting is on by default in Debian's build: a test or
            # benchmark sending many similar queries would get TC=1 slips.
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
            "    round-robin: no",
            f"    minimal-responses: {'yes' if minimal_responses else 'no'}",
            "    refuse-any: no",
            "    answer-cookie: no",
            # Never write zone files back; don't check mtimes behind our back.
            "    zonefiles-write: 0",
            # Settings a test wants instead (nsd.conf: the last one wins).
            *[f"    {line}" for line in extra],
            "",
            "remote-control:",
            "    control-enable: no",
            "",
        ]
        for origin, path in zones.items():
            lines += ["zone:", f"    name: {_quote(origin)}", f"    zonefile: {_quote(path)}", ""]
        conf = os.path.join(workdir, "nsd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        checkconf = need_tool("nsd-checkconf")
        chk = subprocess.run([checkconf, conf], capture_output=True, text=True, timeout=30)
        if chk.returncode != 0:
            raise RuntimeError(f"nsd-checkconf rejected {conf}:\n{chk.stdout}{chk.stderr}")
        return [need_tool("nsd"), "-d", "-c", conf], None

    return build


def start_nsd(tmp_path, zones, workers=1, port=None, minimal_responses=False,
              start_timeout=START_TIMEOUT, extra=()):
    """Start nsd in the foreground serving {origin: zonefile}; returns a ready Server.

    workers sets server-count (processes; reuseport when more than one);
    start_timeout bounds the wait for the first answer.

    minimal_responses=False is nsd's default: it adds the zone's NS RRset to
    AUTHORITY (and their addresses to ADDITIONAL) in positive answers, which
    knotd and canon don't. True sets nsd's `minimal-responses: yes`, which
    drops that but also drops the MX/SRV target addresses from ADDITIONAL.

    extra: more "key: value" lines for nsd.conf's server: clause, after the
    defaults above (e.g. "rrl-ratelimit: 10" to compare rate limiting).
    """
    return _start("nsd", tmp_path, zones, port,
                  _nsd_build(workers, minimal_responses, tuple(extra)), start_timeout)
