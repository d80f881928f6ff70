"""The catalog zone (RFC 9432): canon lists every zone it serves in the zone
named by `catalog:`, and a knotd secondary that interprets the catalog serves
the member zones without a line of its own configuration per zone; a zone
added to canon (here by a SIGHUP of its config file) reaches it by NOTIFY.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_catalog.py
"""
import os
import signal
import time

import dns.rcode

import conftest
from secondaries import b64secret, soa_serial, start_knotd_secondary, transfer

KEY = ("xfr-key", "hmac-sha256", b64secret("catalog"))
CATALOG = "catalog.invalid."
ZONE_A = "a.cat.test."
ZONE_B = "b.cat.test."


def zone_text(origin, address):
    return (f"$ORIGIN {origin}\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n"
            f"@ NS ns\nns A 192.0.2.53\nwww A {address}\n")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def start_canon(tmp_path, conf_text):
    port = conftest.free_port()
    conf = tmp_path / "canon.conf"
    write(conf, f"listen: 127.0.0.1:{port}\nworkers: 1\n" + conf_text)
    server = conftest.Server([conftest.CANON_BIN, "serve", "-c", str(conf)], "127.0.0.1", port,
                             str(tmp_path / "canon.log"))
    if not conftest.wait_for_dns("127.0.0.1", port, qname=ZONE_A):
        server.stop()
        raise RuntimeError("canon did not start:\n" + server.logtext())
    return server, conf


def catalog_members(server):
    t = transfer(server, CATALOG, "AXFR", key=KEY)
    assert t.rcode == dns.rcode.NOERROR and t.complete, t
    return t.rrsets()


def test_catalog_lists_the_zones_and_knotd_follows_it(tmp_path, track):
    write(tmp_path / "a.zone", zone_text(ZONE_A, "192.0.2.1"))
    write(tmp_path / "b.zone", zone_text(ZONE_B, "192.0.2.2"))
    knot_port = conftest.free_port()
    base = (f"state-dir: {tmp_path / 'state'}\n"
            f"key: {KEY[0]} {KEY[1]} {KEY[2]}\n"
            f"catalog: {CATALOG} transfer={KEY[0]} notify=127.0.0.1:{knot_port}\n"
            f"zone: {ZONE_A} a.zone transfer={KEY[0]} notify=127.0.0.1:{knot_port}\n")
    os.makedirs(tmp_path / "state")
    canon, conf = start_canon(tmp_path, base)
    track(canon)

    # RFC 9432 §4: SOA, NS invalid., version "2", one PTR per member under zones.
    records = catalog_members(canon)
    types = sorted(r[2] for r in records)
    assert types == ["NS", "PTR", "SOA", "TXT"], records
    assert (f"version.{CATALOG}", 0, "TXT", '"2"') in records
    ptr = [r for r in records if r[2] == "PTR"]
    assert ptr[0][0].endswith(f".zones.{CATALOG}") and ptr[0][3] == ZONE_A, ptr
    assert any(r[2] == "NS" and r[3] == "invalid." for r in records)

    knot = track(start_knotd_secondary(tmp_path, [], (canon.addr, canon.port), key=KEY,
                                       port=knot_port, catalog=CATALOG, wait=False))
    deadline = time.monotonic() + 15
    while soa_serial(knot, ZONE_A) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert soa_serial(knot, ZONE_A) == 1, knot.logtext()

    # A new zone in canon: a new catalog serial, NOTIFY, and knotd serves the member.
    serial = soa_serial(canon, CATALOG)
    write(conf, f"listen: 127.0.0.1:{canon.port}\nworkers: 1\n" + base +
          f"zone: {ZONE_B} b.zone transfer={KEY[0]}\n")
    canon.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while soa_serial(canon, CATALOG) == serial and time.monotonic() < deadline:
        time.sleep(0.05)
    assert soa_serial(canon, CATALOG) != serial, canon.logtext()
    assert len([r for r in catalog_members(canon) if r[2] == "PTR"]) == 2
    deadline = time.monotonic() + 15
    while soa_serial(knot, ZONE_B) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert soa_serial(knot, ZONE_B) == 1, knot.logtext()
    assert knot.query(f"www.{ZONE_B}", "A").answer[0][0].to_text() == "192.0.2.2"


def test_zone_made_through_the_api_reaches_a_knotd_secondary(tmp_path, track):
    """POST a zone to the API: the catalog lists it, knotd (following the catalog)
    transfers it with the catalog's key and answers for it; DELETE: knotd drops it."""
    from test_api import rrset, start_api_canon

    write(tmp_path / "a.zone", zone_text(ZONE_A, "192.0.2.1"))
    knot_port = conftest.free_port()
    api = track(start_api_canon(
        tmp_path, {ZONE_A: tmp_path / "a.zone"},
        extra=["--key", ":".join(KEY),
               "--catalog", f"{CATALOG},transfer={KEY[0]},notify=127.0.0.1:{knot_port}"]))
    knot = track(start_knotd_secondary(tmp_path, [], (api.addr, api.port), key=KEY,
                                       port=knot_port, catalog=CATALOG, wait=False))
    status, doc, _ = api.api.call("POST", "/api/v1/servers/localhost/zones", {
        "name": "made.cat.test.", "kind": "Native", "nameservers": ["ns1.made.cat.test."],
        "rrsets": [rrset("ns1.made.cat.test.", "A", 300, ["192.0.2.60"]),
                   rrset("www.made.cat.test.", "A", 300, ["192.0.2.61"])]})
    assert status == 201, doc
    deadline = time.monotonic() + 15
    while soa_serial(knot, "made.cat.test.") is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert soa_serial(knot, "made.cat.test.") is not None, knot.logtext()
    assert knot.query("www.made.cat.test.", "A").answer[0][0].to_text() == "192.0.2.61"

    assert api.api.call("DELETE", api.api.zone_path("made.cat.test."))[0] == 204
    deadline = time.monotonic() + 15
    while soa_serial(knot, "made.cat.test.") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert soa_serial(knot, "made.cat.test.") is None, knot.logtext()
