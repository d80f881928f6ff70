"""Zone transfers out (AXFR/IXFR), TSIG, NOTIFY to stock secondaries and the
durable journal (issue 10): canon as a primary.

The checks are written once (the check_* functions) and run against two
primaries: knotd (TestHarnessWithKnotPrimary: proves that the harness, the
secondaries and the checks themselves work; these must always pass) and
canon (the test_canon_* functions, started with the issue-10 command line:
--state-dir, --key, --zone ORIGIN=FILE,update=..,transfer=..,notify=..).
Tests only canon can run (SIGHUP reloads, a corrupt journal, its log) are
canon-only.

Every daemon runs on 127.0.0.1 on a free port with its own directory under
tmp_path and is stopped at the end of its test; every wait is bounded.

Run alone: CANON_BIN=$PWD/build/canon CANON_SOURCE_DIR=$PWD \\
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_transfer.py
"""
import os
import re
import shutil
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update
import dns.xfr
import dns.zone
import pytest

import conftest
from test_reload import write_zone
from secondaries import (apply_ixfr, b64secret, file_rrsets, keyring, soa_serial,
                         start_canon_primary, start_knotd_primary, start_knotd_secondary,
                         start_named_secondary, start_nsd_secondary, transfer, wait_serial,
                         zone_rrsets)

ORIGIN = "xfr.test."
ZONE_FILE = os.path.join(conftest.ZONES_DIR, "xfr", "xfr.test.zone")
SERIAL = 2024010101  # the serial in ZONE_FILE

KEY = ("xfr-key", "hmac-sha256", b64secret("transfer and notify"))
UPDATE_KEY = ("update-key", "hmac-sha256", b64secret("update"))
WRONG_SECRET = ("xfr-key", "hmac-sha256", b64secret("not the secret"))
UNKNOWN_KEY = ("no-such-key", "hmac-sha256", b64secret("transfer and notify"))

NOTIFY_WAIT = 8.0   # s; the zone's refresh is 3600 s, so a secondary this quick got NOTIFY
NO_ZONE_WAIT = 3.0  # s a secondary with a wrong key is given to (not) get the zone

SECONDARIES = {
    "knotd": start_knotd_secondary,
    "nsd": start_nsd_secondary,
    "named": start_named_secondary,
}

# The change every update test makes, and what it looks like in the zone.
ADDED = (f"new.{ORIGIN}", 300, "A", "192.0.2.200")
DELETED = (f"www.{ORIGIN}", 3600, "A", "192.0.2.81")


def zone_copy(tmp_path, src=ZONE_FILE, name="xfr.test.zone"):
    path = tmp_path / name
    shutil.copyfile(src, path)
    return str(path)


# --------------------------------------------------------------------------
# The two primaries behind one interface:
#   start(tmp_path, zonefile, transfer=[...], update=[...], notify=[...],
#         port=None, state_dir=None) -> Server
# transfer entries are key triples or address prefixes (as canon's transfer=),
# update entries key triples, notify entries (addr, port).


def start_knot(tmp_path, zonefile, transfer=(), update=(), notify=(), port=None,
               state_dir=None):
    keys = [t for t in transfer if isinstance(t, tuple)]
    return start_knotd_primary(tmp_path, {ORIGIN: zonefile}, key=keys[0] if keys else None,
                               notify=notify, update_key=update[0] if update else None,
                               port=port, transfer=list(transfer))


def start_canon(tmp_path, zonefile, transfer=(), update=(), notify=(), port=None,
                state_dir=None, origin=ORIGIN):
    keys = {}
    for k in list(transfer) + list(update) + [KEY]:
        if isinstance(k, tuple):
            keys[k[0]] = k
    opts = {"transfer": [t[0] if isinstance(t, tuple) else t for t in transfer],
            "update": [k[0] for k in update],
            "notify": [f"{a}:{p}" for a, p in notify]}
    return start_canon_primary(tmp_path, {origin: (zonefile, opts)}, keys=list(keys.values()),
                               state_dir=state_dir, port=port)


def send_update(server, adds=(), deletes=(), key=UPDATE_KEY, origin=ORIGIN, tcp=False):
    """One RFC 2136 UPDATE (dnspython), TSIG-signed with key; returns the rcode."""
    upd = dns.update.UpdateMessage(origin, keyring=keyring(key), keyname=key[0],
                                   keyalgorithm=key[1])
    for name, ttl, rdtype, rdata in adds:
        upd.add(name, ttl, rdtype, rdata)
    for name, _ttl, rdtype, rdata in deletes:
        upd.delete(name, rdtype, rdata)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(upd, server.addr, port=server.port, timeout=5).rcode()


def nsupdate(server, commands, key=UPDATE_KEY):
    """Run nsupdate -y with these update commands; asserts it succeeded."""
    script = f"server {server.addr} {server.port}\nzone {ORIGIN}\n" + \
        "".join(c + "\n" for c in commands) + "send\n"
    r = subprocess.run([conftest.need_tool("nsupdate"), "-t", "5", "-y",
                        f"{key[1]}:{key[0]}:{key[2]}"],
                       input=script, text=True, capture_output=True, timeout=20)
    assert r.returncode == 0, f"nsupdate failed: {r.stdout}{r.stderr}"


def the_change_commands():
    return [f"update add {ADDED[0]} {ADDED[1]} {ADDED[2]} {ADDED[3]}",
            f"update delete {DELETED[0]} {DELETED[2]} {DELETED[3]}"]


def changed(rrsets, serial):
    """rrsets (a zone) with ADDED and without DELETED, at this SOA serial."""
    out = []
    for r in rrsets:
        if r == DELETED:
            continue
        if r[2] == "SOA":
            f = r[3].split()
            f[2] = str(serial)
            r = (r[0], r[1], r[2], " ".join(f))
        out.append(r)
    return sorted(out + [ADDED])


def soa_tuple(serial):
    return (ORIGIN, 3600, "SOA",
            f"ns1.{ORIGIN} hostmaster.{ORIGIN} {serial} 3600 600 1209600 300")


# --------------------------------------------------------------------------
# Checks shared by both primaries


def check_axfr_is_the_file(primary, zonefile, key=None):
    t = transfer(primary, ORIGIN, "AXFR", key=key)
    assert t.rcode == dns.rcode.NOERROR and t.complete, t
    assert t.records[0][2] == "SOA" and t.records[-1] == t.records[0], \
        "AXFR must start and end with the zone's SOA"
    assert [r for r in t.records if r[2] == "SOA"] == [t.records[0]] * 2
    assert len(t.records) == len(set(t.records)) + 1, "a record sent twice"
    assert t.rrsets() == file_rrsets(zonefile, ORIGIN)
    return t


def check_dnspython_axfr(primary, zonefile, key=None):
    kw = {}
    if key is not None:
        kw = dict(keyring=keyring(key), keyname=key[0], keyalgorithm=key[1])
    # dns.query.xfr, the classic generator, into a zone...
    z1 = dns.zone.from_xfr(dns.query.xfr(primary.addr, ORIGIN, port=primary.port, timeout=5,
                                         lifetime=20, relativize=False, **kw),
                           relativize=False)
    # ... and dns.query.inbound_xfr, the transaction-based one.
    z2 = dns.zone.Zone(ORIGIN, relativize=False)
    q, _ = dns.xfr.make_query(z2, keyring=kw.get("keyring"), keyname=kw.get("keyname"),
                              keyalgorithm=kw.get("keyalgorithm", dns.tsig.default_algorithm))
    dns.query.inbound_xfr(primary.addr, z2, query=q, port=primary.port, timeout=5, lifetime=20)
    want = dns.zone.from_file(zonefile, origin=ORIGIN, relativize=False)
    for z in (z1, z2):
        assert z == want, "AXFR by dnspython differs from the zone file:\n" + \
            "\n".join(sorted(set(z.to_text().splitlines()) ^ set(want.to_text().splitlines())))


def parse_presentation(text):
    """Records from dig/kdig output, in order, as (name, ttl, type, rdata)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        name, ttl, rdclass, rdtype, rdata = line.split(None, 4)
        if rdtype == "TSIG":
            continue
        rrset = dns.rrset.from_text(name, int(ttl), rdclass, rdtype, rdata)
        out.append((rrset.name.to_text(), rrset.ttl, rdtype, rrset[0].to_text()))
    return out


def check_tool_axfr(primary, zonefile, tool, key):
    if tool == "dig":
        argv = [conftest.need_tool("dig"), f"@{primary.addr}", "-p", str(primary.port),
                ORIGIN, "AXFR", "+nocomments", "+nostats", "+nocmd", "+time=5", "+tries=1"]
    else:
        argv = [conftest.need_tool("kdig"), f"@{primary.addr}", "-p", str(primary.port),
                ORIGIN, "AXFR", "+nocomments", "+nostats", "+time=5", "+retry=0"]
    if key is not None:
        argv += ["-y", f"{key[1]}:{key[0]}:{key[2]}"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{tool} failed:\n{r.stdout}{r.stderr}"
    assert "failed" not in r.stdout.lower(), r.stdout
    recs = parse_presentation(r.stdout)
    assert recs and recs[0][2] == "SOA" and recs[-1] == recs[0], f"{tool}:\n{r.stdout}"
    assert sorted(set(recs)) == file_rrsets(zonefile, ORIGIN)
    assert len(recs) == len(file_rrsets(zonefile, ORIGIN)) + 1


def big_zone(tmp_path, names=5000):
    lines = [f"$ORIGIN {ORIGIN}", "$TTL 3600",
             f"@ SOA ns1 hostmaster {SERIAL} 3600 600 1209600 300", "@ NS ns1",
             "ns1 A 127.0.0.1"]
    for i in range(names):
        lines.append(f"host{i:05d} A 10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        if i % 2 == 0:
            lines.append(f'host{i:05d} TXT "filler text for host {i} to make the zone big"')
    path = tmp_path / "big.xfr.test.zone"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def check_big_axfr(primary, zonefile, key=None):
    t = check_axfr_is_the_file(primary, zonefile, key)
    assert len(t.messages) > 1, "a zone this big cannot fit one message"


def check_axfr_over_udp(primary, key=None):
    q = dns.message.make_query(ORIGIN, "AXFR")
    if key is not None:
        q.use_tsig(keyring(key), keyname=key[0], algorithm=key[1])
    r = dns.query.udp(q, primary.addr, port=primary.port, timeout=3)
    # knotd: NOTIMP. RFC 5936 §4.2: AXFR is TCP only.
    assert r.rcode() != dns.rcode.NOERROR, f"AXFR over UDP answered: {r}"
    assert not r.answer, f"AXFR over UDP answered: {r}"


def check_tsig_transfer(primary, refused=(dns.rcode.REFUSED, dns.rcode.NOTAUTH)):
    ok = transfer(primary, ORIGIN, "AXFR", key=KEY)
    assert ok.rcode == dns.rcode.NOERROR and ok.complete, ok
    unsigned = transfer(primary, ORIGIN, "AXFR")
    assert unsigned.rcode in refused and not unsigned.records, unsigned
    bad = transfer(primary, ORIGIN, "AXFR", key=WRONG_SECRET)
    assert bad.rcode == dns.rcode.NOTAUTH and bad.tsig_error == "BADSIG" and not bad.records, bad
    unknown = transfer(primary, ORIGIN, "AXFR", key=UNKNOWN_KEY)
    assert unknown.rcode == dns.rcode.NOTAUTH and unknown.tsig_error == "BADKEY", unknown
    # A key the server knows (for UPDATE) but not allowed to transfer.
    other = transfer(primary, ORIGIN, "AXFR", key=UPDATE_KEY)
    assert other.rcode in refused and not other.records, other


def check_ixfr(primary, zonefile, key=KEY):
    """Two updates; IXFR from each old serial is the exact difference; from
    the newest a single SOA; from a serial older than the history or never
    served, the whole zone."""
    start = zone_rrsets(primary, ORIGIN, key=key)
    assert send_update(primary, adds=[ADDED], deletes=[DELETED]) == dns.rcode.NOERROR
    s1 = soa_serial(primary, ORIGIN)
    assert s1 is not None and s1 != SERIAL
    after1 = zone_rrsets(primary, ORIGIN, key=key)
    assert after1 == changed(start, s1)

    t = transfer(primary, ORIGIN, "IXFR", serial=SERIAL, key=key)
    assert t.rcode == dns.rcode.NOERROR and t.complete, t
    assert t.records == [soa_tuple(s1), soa_tuple(SERIAL), DELETED, soa_tuple(s1), ADDED,
                         soa_tuple(s1)], t.records

    extra = (f"second.{ORIGIN}", 60, "TXT", '"two"')
    assert send_update(primary, adds=[extra]) == dns.rcode.NOERROR
    s2 = soa_serial(primary, ORIGIN)
    assert s2 != s1
    after2 = zone_rrsets(primary, ORIGIN, key=key)
    assert sorted(set(after2) - set(after1)) == sorted([extra, soa_tuple(s2)])

    # From the first serial: both differences, in order (or condensed to one).
    t = transfer(primary, ORIGIN, "IXFR", serial=SERIAL, key=key)
    assert t.rcode == dns.rcode.NOERROR and t.complete, t
    kind, zone = apply_ixfr(start, t.records)
    assert kind == "ixfr" and zone == after2
    t = transfer(primary, ORIGIN, "IXFR", serial=s1, key=key)
    assert t.records == [soa_tuple(s2), soa_tuple(s1), soa_tuple(s2), extra, soa_tuple(s2)], \
        t.records
    t = transfer(primary, ORIGIN, "IXFR", serial=s2, key=key)
    assert t.records == [soa_tuple(s2)], "IXFR from the current serial: one SOA"
    for old in (SERIAL - 10, 12345):
        t = transfer(primary, ORIGIN, "IXFR", serial=old, key=key)
        assert t.rcode == dns.rcode.NOERROR and t.complete, (old, t)
        kind, zone = apply_ixfr(start, t.records)
        assert (kind, zone) == ("axfr", after2), f"IXFR from unknown serial {old}"


def start_all_secondaries(tmp_path, track, primary_port, ports, key=KEY, wait=True):
    return {kind: track(start(tmp_path, [ORIGIN], ("127.0.0.1", primary_port), key=key,
                              port=ports[kind], wait=wait))
            for kind, start in SECONDARIES.items()}


def check_secondaries_follow(tmp_path, track, start_primary):
    ports = {kind: conftest.free_port() for kind in SECONDARIES}
    zonefile = zone_copy(tmp_path)
    primary = track(start_primary(tmp_path, zonefile, transfer=[KEY], update=[UPDATE_KEY],
                                  notify=[("127.0.0.1", p) for p in ports.values()]))
    secs = start_all_secondaries(tmp_path, track, primary.port, ports)
    want = zone_rrsets(primary, ORIGIN, key=KEY)
    assert want == file_rrsets(zonefile, ORIGIN)
    for kind, sec in secs.items():
        assert zone_rrsets(sec, ORIGIN) == want, f"{kind} did not load the zone"

    nsupdate(primary, the_change_commands())
    new = soa_serial(primary, ORIGIN)
    assert new is not None and new != SERIAL
    want = zone_rrsets(primary, ORIGIN, key=KEY)
    assert want == changed(file_rrsets(zonefile, ORIGIN), new)
    late = [kind for kind, sec in secs.items() if not wait_serial(sec, ORIGIN, new, NOTIFY_WAIT)]
    assert not late, f"no NOTIFY-driven refresh to {new} within {NOTIFY_WAIT}s: {late}"
    for kind, sec in secs.items():
        assert zone_rrsets(sec, ORIGIN) == want, f"{kind} differs from its primary"


def check_wrong_key_secondary(tmp_path, track, start_primary, kind):
    port = conftest.free_port()
    primary = track(start_primary(tmp_path, zone_copy(tmp_path), transfer=[KEY],
                                  update=[UPDATE_KEY], notify=[("127.0.0.1", port)]))
    sec = track(SECONDARIES[kind](tmp_path, [ORIGIN], ("127.0.0.1", primary.port),
                                  key=WRONG_SECRET, port=port, wait=False))
    assert send_update(primary, adds=[ADDED]) == dns.rcode.NOERROR  # and a NOTIFY
    assert not wait_serial(sec, ORIGIN, SERIAL, NO_ZONE_WAIT), \
        f"{kind} with a wrong TSIG secret got the zone"
    assert sec.alive() and primary.alive()


def journal_files(state_dir):
    out = []
    for root, _dirs, files in os.walk(state_dir):
        out += [os.path.join(root, f) for f in files]
    return sorted(out)


def ixfr_log_lines(knot_secondary):
    """knotd's (info) log lines about incoming transfers."""
    return [ln for ln in knot_secondary.logtext().splitlines()
            if re.search(r"\b[AI]XFR, incoming\b", ln)]


def check_durable(tmp_path, track, start_primary, state_dir):
    """Acknowledged updates survive kill -9; a knotd secondary carries on by IXFR."""
    sec_port = conftest.free_port()
    zonefile = zone_copy(tmp_path)
    args = dict(transfer=[KEY], update=[UPDATE_KEY], notify=[("127.0.0.1", sec_port)],
                state_dir=state_dir)
    primary = track(start_primary(tmp_path, zonefile, **args))
    sec = track(start_knotd_secondary(tmp_path, [ORIGIN], ("127.0.0.1", primary.port), key=KEY,
                                      port=sec_port))
    for i in range(5):
        rr = (f"durable{i}.{ORIGIN}", 300, "A", f"192.0.2.{100 + i}")
        assert send_update(primary, adds=[rr], tcp=bool(i % 2)) == dns.rcode.NOERROR
    assert send_update(primary, deletes=[DELETED]) == dns.rcode.NOERROR
    before = zone_rrsets(primary, ORIGIN, key=KEY)
    serial = soa_serial(primary, ORIGIN)
    assert wait_serial(sec, ORIGIN, serial, NOTIFY_WAIT)

    primary.proc.kill()  # SIGKILL: no chance to flush anything not yet durable
    primary.proc.wait(timeout=5)
    primary = track(start_primary(tmp_path, zonefile, port=primary.port, **args))
    assert zone_rrsets(primary, ORIGIN, key=KEY) == before, "acknowledged updates lost"

    seen = len(ixfr_log_lines(sec))
    assert send_update(primary, adds=[ADDED]) == dns.rcode.NOERROR
    newer = soa_serial(primary, ORIGIN)
    assert newer != serial
    assert wait_serial(sec, ORIGIN, newer, NOTIFY_WAIT), "secondary did not follow the restart"
    assert zone_rrsets(sec, ORIGIN) == zone_rrsets(primary, ORIGIN, key=KEY)
    # knotd logs "IXFR, incoming, ... started/finished"; an AXFR (or an
    # AXFR-style IXFR) would mean the primary lost its history.
    new_lines = ixfr_log_lines(sec)[seen:]
    assert any("IXFR, incoming" in ln and "finished" in ln for ln in new_lines), new_lines
    assert not any("AXFR" in ln for ln in new_lines), new_lines


# --------------------------------------------------------------------------
# The harness against knotd as the primary (must always pass)


class TestHarnessWithKnotPrimary:
    def test_axfr_is_the_zone_file(self, tmp_path, track):
        zonefile = zone_copy(tmp_path)
        primary = track(start_knot(tmp_path, zonefile, transfer=[KEY]))
        check_axfr_is_the_file(primary, zonefile, key=KEY)
        check_dnspython_axfr(primary, zonefile, key=KEY)

    @pytest.mark.parametrize("tool", ["dig", "kdig"])
    def test_axfr_by_tool(self, tmp_path, track, tool):
        zonefile = zone_copy(tmp_path)
        primary = track(start_knot(tmp_path, zonefile, transfer=[KEY]))
        check_tool_axfr(primary, zonefile, tool, KEY)

    def test_big_zone(self, tmp_path, track):
        zonefile = big_zone(tmp_path)
        primary = track(start_knot(tmp_path, zonefile, transfer=["127.0.0.1/32"]))
        check_big_axfr(primary, zonefile)

    def test_axfr_over_udp(self, tmp_path, track):
        primary = track(start_knot(tmp_path, zone_copy(tmp_path), transfer=["127.0.0.1/32"]))
        check_axfr_over_udp(primary)

    def test_tsig(self, tmp_path, track):
        primary = track(start_knot(tmp_path, zone_copy(tmp_path), transfer=[KEY],
                                   update=[UPDATE_KEY]))
        check_tsig_transfer(primary)

    def test_address_prefix(self, tmp_path, track):
        primary = track(start_knot(tmp_path, zone_copy(tmp_path), transfer=["127.0.0.2/32"]))
        t = transfer(primary, ORIGIN, "AXFR")
        assert t.rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH) and not t.records, t
        t = transfer(primary, ORIGIN, "AXFR", source="127.0.0.2")
        assert t.rcode == dns.rcode.NOERROR and t.complete, t

    def test_ixfr(self, tmp_path, track):
        zonefile = zone_copy(tmp_path)
        primary = track(start_knot(tmp_path, zonefile, transfer=[KEY], update=[UPDATE_KEY]))
        check_ixfr(primary, zonefile)

    def test_secondaries_follow(self, tmp_path, track):
        check_secondaries_follow(tmp_path, track, start_knot)

    @pytest.mark.parametrize("kind", list(SECONDARIES))
    def test_wrong_key_secondary(self, tmp_path, track, kind):
        check_wrong_key_secondary(tmp_path, track, start_knot, kind)

    def test_durable(self, tmp_path, track):
        check_durable(tmp_path, track, start_knot, None)


# --------------------------------------------------------------------------
# canon as the primary


def test_canon_axfr_is_the_zone_file(tmp_path, track):
    zonefile = zone_copy(tmp_path)
    primary = track(start_canon(tmp_path, zonefile, transfer=["127.0.0.1/32"]))
    check_axfr_is_the_file(primary, zonefile)
    check_dnspython_axfr(primary, zonefile)


def test_canon_axfr_signed_by_dnspython(tmp_path, track):
    zonefile = zone_copy(tmp_path)
    primary = track(start_canon(tmp_path, zonefile, transfer=[KEY]))
    check_axfr_is_the_file(primary, zonefile, key=KEY)
    check_dnspython_axfr(primary, zonefile, key=KEY)


@pytest.mark.parametrize("tool", ["dig", "kdig"])
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "tsig"])
def test_canon_axfr_by_tool(tmp_path, track, tool, signed):
    zonefile = zone_copy(tmp_path)
    primary = track(start_canon(tmp_path, zonefile,
                                transfer=[KEY] if signed else ["127.0.0.1/32"]))
    check_tool_axfr(primary, zonefile, tool, KEY if signed else None)


def test_canon_big_zone_many_messages(tmp_path, track):
    zonefile = big_zone(tmp_path)
    primary = track(start_canon(tmp_path, zonefile, transfer=["127.0.0.1/32", KEY]))
    check_big_axfr(primary, zonefile)
    check_big_axfr(primary, zonefile, key=KEY)  # TSIG over many messages (RFC 8945 §5.3.1)


def test_canon_axfr_over_udp_not_served(tmp_path, track):
    primary = track(start_canon(tmp_path, zone_copy(tmp_path), transfer=["127.0.0.1/32"]))
    check_axfr_over_udp(primary)
    assert primary.query(ORIGIN, "SOA").rcode() == dns.rcode.NOERROR


def test_canon_tsig(tmp_path, track):
    primary = track(start_canon(tmp_path, zone_copy(tmp_path), transfer=[KEY],
                                update=[UPDATE_KEY]))
    check_tsig_transfer(primary)
    assert primary.alive()


def test_canon_address_prefix(tmp_path, track):
    primary = track(start_canon(tmp_path, zone_copy(tmp_path), transfer=["127.0.0.2/32"]))
    t = transfer(primary, ORIGIN, "AXFR")
    assert t.rcode == dns.rcode.REFUSED and not t.records, t
    t = transfer(primary, ORIGIN, "IXFR", serial=SERIAL - 1)
    assert t.rcode == dns.rcode.REFUSED and not t.records, t
    t = transfer(primary, ORIGIN, "AXFR", source="127.0.0.2")
    assert t.rcode == dns.rcode.NOERROR and t.complete, t


def test_canon_key_or_prefix(tmp_path, track):
    """Any transfer= entry that matches allows: here a key or 127.0.0.2."""
    primary = track(start_canon(tmp_path, zone_copy(tmp_path), transfer=[KEY, "127.0.0.2/32"]))
    assert transfer(primary, ORIGIN, key=KEY).complete
    assert transfer(primary, ORIGIN, source="127.0.0.2").complete
    assert transfer(primary, ORIGIN).rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)


def test_canon_no_transfer_option_refuses(tmp_path, track):
    primary = track(start_canon(tmp_path, zone_copy(tmp_path), update=[UPDATE_KEY]))
    for key in (None, KEY, UPDATE_KEY):
        for rdtype in ("AXFR", "IXFR"):
            t = transfer(primary, ORIGIN, rdtype, serial=SERIAL - 1, key=key)
            assert t.rcode == dns.rcode.REFUSED and not t.records, (key, rdtype, t)


def test_canon_ixfr(tmp_path, track):
    zonefile = zone_copy(tmp_path)
    primary = track(start_canon(tmp_path, zonefile, transfer=[KEY], update=[UPDATE_KEY]))
    check_ixfr(primary, zonefile)


def test_canon_secondaries_follow(tmp_path, track):
    check_secondaries_follow(tmp_path, track, start_canon)


@pytest.mark.parametrize("kind", list(SECONDARIES))
def test_canon_wrong_key_secondary(tmp_path, track, kind):
    check_wrong_key_secondary(tmp_path, track, start_canon, kind)


def test_canon_durable_after_kill9(tmp_path, track):
    check_durable(tmp_path, track, start_canon, str(tmp_path / "state"))


def test_canon_corrupt_journal(tmp_path, track):
    zonefile = zone_copy(tmp_path)
    state = str(tmp_path / "state")
    args = dict(transfer=[KEY], update=[UPDATE_KEY], state_dir=state)
    primary = track(start_canon(tmp_path, zonefile, **args))
    assert send_update(primary, adds=[ADDED]) == dns.rcode.NOERROR
    primary.stop()
    files = journal_files(state)
    assert files, f"no journal in {state} after an acknowledged update"
    for path in files:
        size = max(os.path.getsize(path), 4096)
        with open(path, "wb") as f:
            f.write(b"\xde\xad garbage \xbe\xef" * (size // 16 + 1))
    primary = track(start_canon(tmp_path, zonefile, **args))
    assert zone_rrsets(primary, ORIGIN, key=KEY) == file_rrsets(zonefile, ORIGIN)
    log = primary.logtext()
    named = [ln for ln in log.splitlines() if any(p in ln for p in files + [state])]
    assert named, f"the log does not name the journal ({files}):\n{log}"
    assert any(re.search(r"(could not|cannot|can't|unable to|failed to) (be )?read|unreadable"
                         r"|corrupt", ln, re.I) for ln in named), \
        f"the log does not say the journal could not be read:\n{log}"


def wait_log(server, pattern, timeout=10.0, start=0):
    """Wait until pattern appears in the log after offset start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, server.logtext()[start:]):
            return True
        time.sleep(0.05)
    return False


def test_canon_sighup_higher_serial_is_a_changeset(tmp_path, track):
    zonefile = zone_copy(tmp_path)
    primary = track(start_canon(tmp_path, zonefile, transfer=[KEY]))
    before = zone_rrsets(primary, ORIGIN, key=KEY)
    text = open(zonefile).read().replace(f" {SERIAL} ", f" {SERIAL + 1} ")
    added = (f"reloaded.{ORIGIN}", 3600, "A", "192.0.2.123")
    write_zone(zonefile, text + "reloaded A 192.0.2.123\n")
    primary.proc.send_signal(signal.SIGHUP)
    assert wait_serial(primary, ORIGIN, SERIAL + 1, 10), primary.logtext()
    t = transfer(primary, ORIGIN, "IXFR", serial=SERIAL, key=KEY)
    assert t.rcode == dns.rcode.NOERROR and t.complete, t
    assert t.records == [soa_tuple(SERIAL + 1), soa_tuple(SERIAL), soa_tuple(SERIAL + 1), added,
                         soa_tuple(SERIAL + 1)], t.records
    assert zone_rrsets(primary, ORIGIN, key=KEY) == sorted(
        [r for r in before if r[2] != "SOA"] + [soa_tuple(SERIAL + 1), added])


def test_canon_sighup_same_serial_keeps_old_version(tmp_path, track):
    zonefile = zone_copy(tmp_path)
    primary = track(start_canon(tmp_path, zonefile, transfer=[KEY]))
    before = zone_rrsets(primary, ORIGIN, key=KEY)
    log_before = len(primary.logtext())
    write_zone(zonefile, open(zonefile).read() + "unbumped A 192.0.2.124\n")
    primary.proc.send_signal(signal.SIGHUP)
    # canon logs "<time> canon[error]: ..."; the error names the serial.
    assert wait_log(primary, r"(?im)^.*\[error\].*serial.*$", start=log_before), \
        f"no error about the serial not growing:\n{primary.logtext()[log_before:]}"
    assert primary.alive()
    assert zone_rrsets(primary, ORIGIN, key=KEY) == before
    assert primary.query(f"unbumped.{ORIGIN}", "A").rcode() == dns.rcode.NXDOMAIN
    assert soa_serial(primary, ORIGIN) == SERIAL


def test_canon_sigusr1_writes_the_served_version_to_the_file(tmp_path, track):
    """After UPDATEs the file is behind; SIGUSR1 writes the served version over it
    (temp file, fsync, rename), which a restart without the journal then serves."""
    zonefile = zone_copy(tmp_path)
    state_dir = str(tmp_path / "canon-state")
    primary = track(start_canon(tmp_path, zonefile, transfer=[KEY], update=[UPDATE_KEY],
                                state_dir=state_dir))
    assert send_update(primary, adds=[ADDED], deletes=[DELETED]) == dns.rcode.NOERROR
    served = zone_rrsets(primary, ORIGIN, key=KEY)
    assert file_rrsets(zonefile, ORIGIN) != served
    log_before = len(primary.logtext())
    primary.proc.send_signal(signal.SIGUSR1)
    assert wait_log(primary, r"written to .*serial", start=log_before), primary.logtext()
    assert file_rrsets(zonefile, ORIGIN) == served
    assert not os.path.exists(f"{zonefile}.canon-new")
    # Nothing changed since: a second SIGUSR1 leaves the file alone.
    mtime = os.stat(zonefile).st_mtime_ns
    primary.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.3)
    assert os.stat(zonefile).st_mtime_ns == mtime
    primary.stop()
    shutil.rmtree(state_dir)
    again = track(start_canon(tmp_path, zonefile, transfer=[KEY]))
    assert zone_rrsets(again, ORIGIN, key=KEY) == served
