"""GET /metrics of `canon serve` (docs/metrics.md): Prometheus text, readable
without the API key, with exact counts for a known query mix (deltas between
two scrapes), every name under canon_, and each zone's serial as its SOA says.
"""
import http.client
import re

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import free_port, wait_for_tcp
from test_api import KEY, start_api_canon

ZONE = """$ORIGIN m.test.
$TTL 3600
@       SOA   ns1 hostmaster 2026120201 7200 3600 1209600 300
@       NS    ns1
@       ALIAS www
@       MX    10 mail
ns1     A     192.0.2.53
www     A     192.0.2.1
mail    A     192.0.2.25
one     CNAME two
two     CNAME www
"""

# One series: name{label="value",...} value (the subset of the format canon writes).
SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(port, path, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"X-API-Key": key} if key else {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


def parse(text):
    """{(name, frozenset of (label, value)): float}; checks the HELP/TYPE lines too."""
    series, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge"), line
            typed.add(name)
            continue
        if line.startswith("#") or not line:
            continue
        m = SERIES.match(line)
        assert m, f"not a series: {line!r}"
        name, labels, value = m.groups()
        assert name in typed, f"{name} has no # TYPE line before it"
        key = (name, frozenset(LABEL.findall(labels or "")))
        assert key not in series, f"duplicate series {line!r}"
        series[key] = float(value)
    return series


def scrape(server):
    status, ctype, body = get(server.http_port, "/metrics")
    assert status == 200, body
    assert ctype.startswith("text/plain; version=0.0.4")
    return parse(body)


def series(name, **labels):
    return (name, frozenset(labels.items()))


def ask(server, qname, qtype, tcp=False, edns=-1):
    q = dns.message.make_query(qname, qtype)
    q.use_edns(edns)  # -1: none (make_query's use_edns=1 would mean True, version 0)
    q.flags &= ~dns.flags.RD
    send = dns.query.tcp if tcp else dns.query.udp
    return send(q, "127.0.0.1", port=server.port, timeout=3)


@pytest.fixture
def canon(tmp_path, track):
    path = tmp_path / "m.test.zone"
    path.write_text(ZONE)
    return track(start_api_canon(tmp_path, {"m.test.": path}))


def test_names_and_key(canon):
    before = scrape(canon)
    assert before, "no series at all"
    assert all(name.startswith("canon_") for name, _ in before)
    # /metrics needs no key; the API still does.
    assert get(canon.http_port, "/api/v1/servers")[0] == 401
    assert get(canon.http_port, "/api/v1/servers", key=KEY)[0] == 200
    assert get(canon.http_port, "/metrics", key="wrong")[0] == 200


def test_zone_serial_and_load_time(canon):
    soa = ask(canon, "m.test.", "SOA").answer[0][0]
    m = scrape(canon)
    assert m[series("canon_zone_serial", zone="m.test.")] == soa.serial == 2026120201
    assert m[series("canon_zone_loaded", zone="m.test.")] == 1
    assert m[series("canon_zone_loaded_timestamp_seconds", zone="m.test.")] > 1.7e9


def test_query_mix_counts(canon):
    before = scrape(canon)
    for _ in range(7):
        assert ask(canon, "www.m.test.", "A").rcode() == dns.rcode.NOERROR
    for i in range(3):
        assert ask(canon, f"nx{i}.m.test.", "A").rcode() == dns.rcode.NXDOMAIN
    for _ in range(2):
        assert ask(canon, "m.test.", "MX", tcp=True).rcode() == dns.rcode.NOERROR
    chain = ask(canon, "one.m.test.", "A")  # one -> two -> www: two hops
    assert chain.rcode() == dns.rcode.NOERROR and len(chain.answer) == 3
    flat = ask(canon, "m.test.", "A")       # the apex ALIAS, flattened from www
    assert flat.rcode() == dns.rcode.NOERROR and flat.answer[0][0].address == "192.0.2.1"
    assert ask(canon, "www.m.test.", "CAA").rcode() == dns.rcode.NOERROR  # qtype "other"
    assert ask(canon, "example.org.", "TXT").rcode() == dns.rcode.REFUSED
    assert ask(canon, "m.test.", "SOA", edns=1).rcode() == dns.rcode.BADVERS
    after = scrape(canon)

    expected = {
        series("canon_responses_total", rcode="NOERROR", qtype="A", transport="udp"): 9,
        series("canon_responses_total", rcode="NXDOMAIN", qtype="A", transport="udp"): 3,
        series("canon_responses_total", rcode="NOERROR", qtype="MX", transport="tcp"): 2,
        series("canon_responses_total", rcode="NOERROR", qtype="other", transport="udp"): 1,
        series("canon_responses_total", rcode="REFUSED", qtype="TXT", transport="udp"): 1,
        series("canon_responses_total", rcode="BADVERS", qtype="SOA", transport="udp"): 1,
        series("canon_alias_chain_answers_total", hops="2"): 1,
        series("canon_flattened_answers_total"): 1,
    }
    # Every series moved by exactly what was sent, and no other one moved.
    for key in set(before) | set(after):
        name = key[0]
        if name.startswith("canon_zone_"):
            continue
        delta = after.get(key, 0) - before.get(key, 0)
        assert delta == expected.get(key, 0), (key, delta)
    for key in expected:
        assert key in after, key
    assert after[series("canon_stale_answers_total")] == before[series("canon_stale_answers_total")]


def test_metrics_listener(tmp_path, track):
    """metrics: ADDR:PORT serves /metrics alone, with the same counts as http:."""
    path = tmp_path / "m.test.zone"
    path.write_text(ZONE)
    port = free_port()
    canon = track(start_api_canon(tmp_path, {"m.test.": path},
                                  extra=["--metrics", f"127.0.0.1:{port}"]))
    assert wait_for_tcp(port)
    ask(canon, "www.m.test.", "A", tcp=True)
    status, ctype, body = get(port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    own = parse(body)
    assert own == scrape(canon)
    assert own[series("canon_responses_total", rcode="NOERROR", qtype="A", transport="tcp")] == 1
    # Nothing else is there: not the API (even with the key), not the web page.
    assert get(port, "/api/v1/servers", key=KEY)[0] == 404
    assert get(port, "/")[0] == 404
