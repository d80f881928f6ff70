"""Debian's lexicon, its PowerDNS provider unmodified, manages records in canon
through the HTTP API (issue 11): create, list, update, delete, each visible in
DNS answers at once; a record the alias rules forbid is refused and changes
nothing.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_lexicon.py
"""
import json
import os
import subprocess

import dns.rcode
import pytest

from conftest import need_tool
from test_api import KEY, answer, start_api_canon

# Under a suffix lexicon's bundled public suffix list knows (RFC 2606 reserves
# example.com): lexicon splits the name it is given into a registered domain.
ZONE = "lex.example.com"
ZONE_TEXT = """$ORIGIN lex.example.com.
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
ns A 192.0.2.53
www A 192.0.2.1
"""


@pytest.fixture
def canon(tmp_path, track):
    path = tmp_path / "lex.zone"
    path.write_text(ZONE_TEXT)
    server = track(start_api_canon(tmp_path, {ZONE + ".": path}))
    server.workdir = str(tmp_path)
    return server


def lexicon(canon, action, rtype, *args):
    """Run `lexicon powerdns ACTION lex.example.com RTYPE ...` against canon."""
    # --delegated: the zone is below the registered domain example.com.
    argv = [need_tool("lexicon"), "--delegated", ZONE, "powerdns", action, ZONE, rtype,
            "--output", "JSON",
            "--auth-token", KEY, "--pdns-server", f"http://127.0.0.1:{canon.http_port}",
            *args]
    # Offline: tldextract must not try to fetch the public suffix list.
    env = dict(os.environ, TLDEXTRACT_CACHE=os.path.join(canon.workdir, 'tldextract'),
               HOME=canon.workdir)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_lexicon_creates_lists_updates_deletes(canon):
    p = lexicon(canon, "create", "A", "--name", "lex", "--content", "192.0.2.44", "--ttl", "600")
    assert p.returncode == 0, p.stderr
    assert answer(canon, "lex.lex.example.com.", "A")[0] == \
        {("lex.lex.example.com.", "A"): ["192.0.2.44"]}

    p = lexicon(canon, "list", "A", "--name", "lex")
    assert p.returncode == 0, p.stderr
    listed = json.loads(p.stdout)
    assert [(r["name"], r["content"], r["ttl"]) for r in listed] == \
        [("lex.lex.example.com", "192.0.2.44", 600)], listed

    # lexicon's PowerDNS provider updates by the identifier its list gave.
    p = lexicon(canon, "update", "A", "--name", "lex", "--content", "192.0.2.45",
                "--identifier", listed[0]["id"])
    assert p.returncode == 0, p.stderr
    assert answer(canon, "lex.lex.example.com.", "A")[0] == \
        {("lex.lex.example.com.", "A"): ["192.0.2.45"]}

    p = lexicon(canon, "create", "CNAME", "--name", "blog", "--content", "www.lex.example.com.")
    assert p.returncode == 0, p.stderr
    assert answer(canon, "blog.lex.example.com.", "CNAME")[0] == \
        {("blog.lex.example.com.", "CNAME"): ["www.lex.example.com."]}

    p = lexicon(canon, "delete", "A", "--name", "lex")
    assert p.returncode == 0, p.stderr
    assert answer(canon, "lex.lex.example.com.", "A")[1] == dns.rcode.NXDOMAIN


def test_lexicon_is_refused_a_txt_at_a_cname(canon):
    p = lexicon(canon, "create", "CNAME", "--name", "mail-track", "--content", "t.example.net.")
    assert p.returncode == 0, p.stderr
    before = answer(canon, "mail-track.lex.example.com.", "TXT")
    p = lexicon(canon, "create", "TXT", "--name", "mail-track", "--content", "v=spf1 -all")
    # lexicon shows the status, not the body (test_api.py checks the 422 names the rule).
    assert p.returncode != 0 and "Unprocessable" in p.stderr, p.stderr
    assert answer(canon, "mail-track.lex.example.com.", "TXT") == before
