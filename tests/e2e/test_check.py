"""`canon check` end to end: the zone corpus, output formats, exit codes, --fix, --resolve.

Every zone in tests/zones/check/ is checked and its findings, as a multiset of
(file, line, severity, rule), must equal its NAME.expected file (the format is
in tests/zones/check/README.md). The text output is parsed line by line and
must say exactly what the JSON output says. --resolve runs against a knotd on
127.0.0.1 that serves ext.test. (EXT_ZONE), against a port where nothing
listens, and against a socket that never answers. Every run is bounded in time
(RUN_TIMEOUT); a run that does not end fails its test.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_check.py
"""
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import time

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

import conftest
import refservers

CORPUS = os.path.join(conftest.ZONES_DIR, "check")
DEFAULT_ORIGIN = "example.com."
RUN_TIMEOUT = 10  # seconds for one `canon check` run without --resolve

# Findings that come without a hint: the scanner's own errors, and lookups
# that failed (nothing to fix in the zone).
NO_HINT_RULES = {"syntax", "unreadable", "unresolved-target"}

FINDING_RE = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): (?P<severity>error|warning): (?P<message>.+) "
    r"\[(?P<rule>[a-z0-9-]+)\]$"
)
HINT_RE = re.compile(r"^  hint: (?P<hint>\S.*)$")
SUMMARY_RE = re.compile(
    r"^(?P<zones>\d+) zones? checked: (?P<errors>\d+) errors?, (?P<warnings>\d+) warnings?"
    r"(?:; ignored: (?P<ignored>\d+ [a-z0-9-]+(?:, \d+ [a-z0-9-]+)*))?$"
)

# The zone the --resolve tests look targets up in (served by knotd).
EXT_ZONE = """\
$ORIGIN ext.test.
$TTL 3600
@       SOA     ns hostmaster 1 7200 3600 1209600 300
@       NS      ns
ns      A       192.0.2.200
www     A       192.0.2.201
mx1     A       192.0.2.202
mail    CNAME   mx1
dns     CNAME   ns
"""


# ---------------------------------------------------------------- helpers

def run_check(args, cwd=None, timeout=RUN_TIMEOUT):
    """Run `canon check ARGS`; a run that outlives 'timeout' fails the test."""
    argv = [conftest.CANON_BIN, "check"] + list(args)
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(argv)}` did not finish within {timeout} s (hang?)")


def corpus_zones():
    return sorted(f for f in os.listdir(CORPUS) if f.endswith(".zone"))


def zone_name(zone):
    return zone[: -len(".zone")]


class Expected:
    """A NAME.expected file: origin, resolve mode, and the findings as Counters."""

    def __init__(self, zone):
        self.origin = DEFAULT_ORIGIN
        self.resolve = None
        self.offline = collections.Counter()
        self.with_resolve = collections.Counter()
        path = os.path.join(CORPUS, zone_name(zone) + ".expected")
        with open(path) as f:
            for number, raw in enumerate(f, 1):
                line = raw.strip()
                if not line:
                    continue
                if line.startswith("#"):
                    m = re.match(r"#\s*(origin|resolve):\s*(\S+)$", line)
                    if m and m.group(1) == "origin":
                        self.origin = m.group(2)
                    elif m:
                        self.resolve = m.group(2)
                    continue
                only_resolve = line.startswith("resolve ")
                if only_resolve:
                    line = line[len("resolve "):]
                parts = line.split(":")
                if len(parts) == 3:
                    parts.insert(0, "")
                assert len(parts) == 4, f"{path}:{number}: expected [file:]line:severity:rule"
                key = (parts[0], int(parts[1]), parts[2], parts[3])
                self.with_resolve[key] += 1
                if not only_resolve:
                    self.offline[key] += 1

    def findings(self, resolve=False):
        return self.with_resolve if resolve else self.offline


def expected_status(findings):
    """The exit status a run with these findings must have."""
    rules = {key[3] for key in findings}
    severities = {key[2] for key in findings}
    if "unreadable" in rules:
        return 3
    if "error" in severities:
        return 1
    if "warning" in severities:
        return 2
    return 0


def file_key(finding_file, zone_path, cwd=None):
    """'' for the zone file itself, else the file's name relative to the zone's directory
    (paths relative to 'cwd', the directory canon ran in)."""
    if finding_file == zone_path:
        return ""
    base = cwd or os.getcwd()
    return os.path.relpath(os.path.join(base, finding_file),
                           os.path.dirname(os.path.join(base, zone_path)))


def json_counter(doc, zone_path, cwd=None):
    return collections.Counter(
        (file_key(f["file"], zone_path, cwd), f["line"], f["severity"], f["rule"])
        for f in doc["findings"]
    )


def parse_text(stdout):
    """The findings of a text run, in order, and its summary; any other line fails."""
    findings, summary = [], None
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        assert summary is None, f"text after the summary line: {line!r}"
        m = FINDING_RE.match(line)
        if m:
            f = m.groupdict()
            f["line"] = int(f["line"])
            f["hint"] = None
            findings.append(f)
            continue
        m = HINT_RE.match(line)
        if m:
            assert findings and findings[-1]["hint"] is None and i > 0 and \
                FINDING_RE.match(lines[i - 1]), f"hint line not after a finding: {line!r}"
            findings[-1]["hint"] = m.group("hint")
            continue
        m = SUMMARY_RE.match(line)
        assert m, f"line is neither a finding, a hint nor the summary: {line!r}"
        summary = {k: int(v) for k, v in m.groupdict().items() if k != "ignored"}
        if m.group("ignored"):
            summary["ignored"] = {rule: int(n) for n, rule in
                                  (part.split(" ") for part in m.group("ignored").split(", "))}
    assert summary is not None, "no summary line"
    return findings, summary


def check_json_document(doc, files):
    """The --json document: keys and types of every field; summary counts match."""
    assert set(doc) == {"zones", "findings", "summary"}
    assert isinstance(doc["zones"], list) and len(doc["zones"]) == len(files)
    for zone, path in zip(doc["zones"], files):
        assert set(zone) == {"file", "origin", "read"}
        assert zone["file"] == path
        assert isinstance(zone["origin"], str) and zone["origin"]
        assert isinstance(zone["read"], bool)
    keys = {"file", "line", "owner", "type", "severity", "rule", "message", "hint"}
    for f in doc["findings"]:
        assert set(f) == keys, f
        assert isinstance(f["file"], str) and f["file"]
        assert isinstance(f["line"], int) and not isinstance(f["line"], bool) and f["line"] >= 0
        assert f["owner"] is None or (isinstance(f["owner"], str) and f["owner"].endswith("."))
        assert f["type"] is None or re.fullmatch(r"[A-Z][A-Z0-9]*", f["type"]), f
        assert f["severity"] in ("error", "warning")
        assert isinstance(f["rule"], str) and re.fullmatch(r"[a-z0-9-]+", f["rule"])
        assert isinstance(f["message"], str) and f["message"].strip()
        assert f["hint"] is None or (isinstance(f["hint"], str) and f["hint"].strip())
        if f["rule"] not in NO_HINT_RULES:
            assert f["hint"], f"{f['rule']} finding without a hint: {f}"
        if f["rule"] not in ("syntax", "unreadable", "no-soa"):
            assert f["owner"] and f["type"], f"finding without owner or type: {f}"
    summary = doc["summary"]
    assert set(summary) - {"ignored"} == {"errors", "warnings"}
    assert summary["errors"] == sum(f["severity"] == "error" for f in doc["findings"])
    assert summary["warnings"] == sum(f["severity"] == "warning" for f in doc["findings"])


def check_text_matches_json(text_stdout, doc):
    findings, summary = parse_text(text_stdout)
    as_text = [(f["file"], f["line"], f["severity"], f["rule"], f["message"], f["hint"])
               for f in findings]
    as_json = [(f["file"], f["line"], f["severity"], f["rule"], f["message"], f["hint"])
               for f in doc["findings"]]
    assert as_text == as_json
    want = {"zones": len(doc["zones"]), "errors": doc["summary"]["errors"],
            "warnings": doc["summary"]["warnings"]}
    if "ignored" in doc["summary"]:
        want["ignored"] = doc["summary"]["ignored"]
    assert summary == want


def check_both(args, files, cwd=None, timeout=RUN_TIMEOUT):
    """Run --json and text with the same arguments; both must agree. Returns (doc, status)."""
    js = run_check(["--json"] + list(args) + list(files), cwd=cwd, timeout=timeout)
    assert js.stdout, f"no output (status {js.returncode}); stderr: {js.stderr}"
    doc = json.loads(js.stdout)
    check_json_document(doc, files)
    text = run_check(list(args) + list(files), cwd=cwd, timeout=timeout)
    assert text.returncode == js.returncode
    check_text_matches_json(text.stdout, doc)
    return doc, js.returncode


def rule_ids_in_source():
    """Every rule id canon defines (src/lib/check.c, src/cli/check_resolve.c)."""
    ids = set()
    for rel in ("src/lib/check.c", "src/cli/check_resolve.c"):
        with open(os.path.join(conftest.SOURCE_DIR, rel)) as f:
            ids |= set(re.findall(r'canon_rule_t\s+CANON_RULE_\w+\s*=\s*\{\s*"([a-z0-9-]+)"',
                                  f.read()))
    return ids


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


# ---------------------------------------------------------------- the corpus

def test_corpus_has_a_zone_per_rule():
    rules = rule_ids_in_source()
    assert len(rules) >= 25, rules
    zones = set(corpus_zones())
    missing = sorted(r for r in rules if r + ".zone" not in zones)
    assert not missing, f"rules without a zone in tests/zones/check/: {missing}"
    for zone in zones:
        assert os.path.exists(os.path.join(CORPUS, zone_name(zone) + ".expected")), zone
    clean = [z for z in zones if not Expected(z).with_resolve]
    assert len(clean) >= 5, clean
    # Each rule zone shows its own rule.
    for rule in rules:
        assert rule in {key[3] for key in Expected(rule + ".zone").with_resolve}, rule


@pytest.mark.parametrize("zone", corpus_zones())
def test_corpus_zone(zone):
    """Findings (JSON and text) equal NAME.expected; the exit status follows from them."""
    exp = Expected(zone)
    path = os.path.join(CORPUS, zone)
    doc, status = check_both(["-o", exp.origin], [path])
    assert json_counter(doc, path) == exp.offline
    assert status == expected_status(exp.offline)
    assert doc["zones"][0]["origin"] == exp.origin
    assert doc["zones"][0]["read"] == ("unreadable" not in {k[3] for k in exp.offline})


@pytest.mark.parametrize("zone", [z for z in corpus_zones() if Expected(z).offline
                                  and not {"no-soa", "unreadable"} & {k[3] for k in
                                                                      Expected(z).offline}])
def test_corpus_zone_origin_from_soa(zone):
    """Without -o the origin is the SOA owner: the same findings as with -o."""
    exp = Expected(zone)
    path = os.path.join(CORPUS, zone)
    doc, status = check_both([], [path])
    assert doc["zones"][0]["origin"] == exp.origin
    assert json_counter(doc, path) == exp.offline
    assert status == expected_status(exp.offline)


def test_corpus_relative_path_and_cwd(tmp_path):
    """File names are printed as given; $INCLUDE is found beside the zone, not in the cwd."""
    doc, status = check_both(["-o", DEFAULT_ORIGIN], ["include.zone"], cwd=CORPUS)
    assert status == 1
    assert {f["file"] for f in doc["findings"] if f["line"] == 8} == {"include.zone"}
    included = {f["file"] for f in doc["findings"] if f["file"] != "include.zone"}
    assert included and all(os.path.samefile(os.path.join(CORPUS, p), os.path.join(
        CORPUS, "include.inc")) for p in included)
    rel = os.path.relpath(os.path.join(CORPUS, "include.zone"), str(tmp_path))
    doc2, _ = check_both(["-o", DEFAULT_ORIGIN], [rel], cwd=str(tmp_path))
    assert json_counter(doc2, rel, cwd=str(tmp_path)) == Expected("include.zone").offline


# ---------------------------------------------------------------- exit statuses and usage

def test_exit_status_each_kind():
    def status(*files):
        return run_check([os.path.join(CORPUS, f) for f in files]).returncode

    assert status("clean-basic.zone") == 0
    assert status("cname-dangling.zone") == 1
    assert status("cname-chain.zone") == 2
    assert status("unreadable.zone") == 3
    # Several files: the worst one counts; an unreadable file beats everything.
    assert status("clean-basic.zone", "clean-ttl.zone") == 0
    assert status("clean-basic.zone", "cname-chain.zone") == 2
    assert status("cname-chain.zone", "cname-dangling.zone", "clean-basic.zone") == 1
    assert status("cname-dangling.zone", "unreadable.zone", "cname-chain.zone") == 3


@pytest.mark.parametrize("args", [
    [],                                   # no zone file
    ["--bogus", "x.zone"],                # unknown option
    ["-o"],                               # -o without its argument
    ["-o", "example.com.", "a.zone", "b.zone"],  # -o names one zone
    ["--resolve=not an address", "cname-chain.zone"],
], ids=["no-file", "unknown-option", "o-without-arg", "o-two-files", "bad-resolver"])
def test_usage_errors(args):
    r = run_check(args, cwd=CORPUS)
    assert r.returncode == 4, (r.stdout, r.stderr)
    assert r.stderr.strip()


def test_help():
    r = run_check(["--help"])
    assert r.returncode == 0
    assert "usage: canon check" in r.stdout


@pytest.mark.parametrize("kind", ["missing", "directory", "dangling-link", "bad-origin"])
def test_unreadable(tmp_path, kind):
    args = []
    if kind == "missing":
        path = str(tmp_path / "nothere.zone")
    elif kind == "directory":
        path = str(tmp_path)
    elif kind == "dangling-link":
        path = os.path.join(CORPUS, "unreadable.zone")
    else:
        path = os.path.join(CORPUS, "clean-basic.zone")
        args = ["-o", "bad..origin"]
    doc, status = check_both(args, [path])
    assert status == 3
    assert doc["zones"][0]["read"] is False
    assert [(f["rule"], f["severity"], f["file"]) for f in doc["findings"]] == \
        [("unreadable", "error", path)]


def test_missing_include_is_not_silently_partial(tmp_path):
    """A $INCLUDE that cannot be read: either the file counts as unreadable (3), or
    the check goes on and still finds what follows the directive."""
    zone = write(tmp_path / "z.zone", """\
$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
$INCLUDE nothere.inc
ns1     A       192.0.2.53
www     CNAME   gone
""")
    doc, status = check_both([], [zone])
    found = json_counter(doc, zone)
    assert status == 3 or ("", 7, "error", "cname-dangling") in found, \
        f"status {status}, findings {sorted(found)}: the records after the failed " \
        f"$INCLUDE were never checked, yet the zone passes as read"


# ---------------------------------------------------------------- origins and several files

ORIGINLESS = """\
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
www     CNAME   nothere
"""


@pytest.mark.parametrize("name,origin", [
    ("guess.test.zone", "guess.test."),
    ("db.guess.test", "guess.test."),
    ("guess.test.db", "guess.test."),
    ("guess.test", "guess.test."),
])
def test_origin_from_file_name(tmp_path, name, origin):
    """No $ORIGIN, SOA owner '@': the origin comes from the file name."""
    zone = write(tmp_path / name, ORIGINLESS)
    doc, status = check_both([], [zone])
    assert doc["zones"][0]["origin"] == origin
    assert status == 1
    assert [(f["owner"], f["rule"]) for f in doc["findings"]] == \
        [("www." + origin, "cname-dangling")]


def test_origin_from_absolute_soa_owner(tmp_path):
    zone = write(tmp_path / "whatever.zone", ORIGINLESS.replace("@       SOA", "other.test. SOA")
                 .replace("@       NS", "other.test. NS")
                 .replace("ns1     A", "ns1.other.test. A")
                 .replace("www     CNAME", "www.other.test. CNAME"))
    doc, _ = check_both([], [zone])
    assert doc["zones"][0]["origin"] == "other.test."
    assert [(f["owner"], f["rule"]) for f in doc["findings"]] == \
        [("www.other.test.", "cname-dangling")]


def test_dash_o_overrides_guess(tmp_path):
    zone = write(tmp_path / "guess.test.zone", ORIGINLESS)
    for origin in ("example.org.", "example.org"):
        doc, status = check_both(["-o", origin], [zone])
        assert dns.name.from_text(doc["zones"][0]["origin"]) == dns.name.from_text(origin)
        assert status == 1
        assert [(f["owner"], f["rule"]) for f in doc["findings"]] == \
            [("www.example.org.", "cname-dangling")]


def test_several_files_in_one_run():
    zones = ["cname-chain.zone", "clean-basic.zone", "include.zone", "clean-reverse.zone",
             "cname-ttl.zone"]
    paths = [os.path.join(CORPUS, z) for z in zones]
    doc, status = check_both([], paths)
    assert status == 1
    assert [z["origin"] for z in doc["zones"]] == [Expected(z).origin for z in zones]
    for zone, path in zip(zones, paths):
        mine = [f for f in doc["findings"] if f["file"] == path or
                (zone == "include.zone" and f["file"].endswith("/include.inc"))]
        assert json_counter({"findings": mine}, path) == Expected(zone).offline, zone
    assert len(doc["findings"]) == sum(sum(Expected(z).offline.values()) for z in zones)
    # Zones are reported in the order given.
    include = paths[zones.index("include.zone")]
    order = [paths.index(f["file"]) if f["file"] in paths else paths.index(include)
             for f in doc["findings"]]
    assert order == sorted(order)


def test_findings_sorted_by_line():
    doc, _ = check_both(["-o", DEFAULT_ORIGIN], [os.path.join(CORPUS, "multi-errors.zone")])
    lines = [f["line"] for f in doc["findings"]]
    assert lines == sorted(lines)


# ---------------------------------------------------------------- --fix

def cname_targets(path, origin):
    """{owner: final name} following in-zone CNAMEs (dnspython reads the zone)."""
    zone = dns.zone.from_file(path, origin=origin, relativize=False, check_origin=False)
    direct = {}
    for name, node in zone.nodes.items():
        rds = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
        if rds:
            direct[name] = list(rds)[0].target
    final = {}
    for name in direct:
        seen, target = {name}, direct[name]
        while target in direct and target not in seen:
            seen.add(target)
            target = direct[target]
        final[name] = target
    return final


def run_fix(path, origin=DEFAULT_ORIGIN):
    r = run_check(["--fix", "-o", origin, path])
    assert r.returncode in (0, 1, 2), r.stderr
    return r.stdout


def check_fix(tmp_path, path, changed, origin=DEFAULT_ORIGIN):
    """--fix output: lines in 'changed' ({line: new target}) get their CNAME target
    replaced and nothing else; every other line is byte-identical; the fixed zone
    has the same meaning and no cname-chain finding."""
    with open(path, "rb") as f:
        before = f.read().decode().splitlines(keepends=True)
    out = run_fix(path, origin)
    after = out.splitlines(keepends=True)
    assert len(after) == len(before)
    for number, (old, new) in enumerate(zip(before, after), 1):
        if number not in changed:
            assert new == old, f"line {number} changed: {old!r} -> {new!r}"
            continue
        # The target is the last token before any comment; only it may change.
        tokens = list(re.finditer(r"\S+", old.split(";")[0]))
        start, end = tokens[-1].start(), tokens[-1].end()
        assert tokens[-2].group().upper() == "CNAME", old
        assert new.startswith(old[:start]) and new.endswith(old[end:]), \
            f"line {number}: more than the target changed: {old!r} -> {new!r}"
        target = new[start:len(new) - len(old[end:])]
        assert re.fullmatch(r"\S+", target), new
        assert dns.name.from_text(target, dns.name.from_text(origin)) == \
            dns.name.from_text(changed[number], dns.name.from_text(origin)), new
    fixed = write(tmp_path / os.path.basename(path), out)
    assert cname_targets(fixed, origin) == cname_targets(path, origin), "--fix changed the zone"
    doc, _ = check_both(["-o", origin], [fixed])
    assert not [f for f in doc["findings"] if f["rule"] == "cname-chain"], doc["findings"]
    return doc


def test_fix_corpus_chain(tmp_path):
    """a -> b -> c -> host becomes a -> host, b -> host, c -> host: the fixed zone is clean."""
    doc = check_fix(tmp_path, os.path.join(CORPUS, "cname-chain.zone"),
                    {9: "host.example.com.", 10: "host.example.com."})
    assert doc["findings"] == []


def test_fix_generate_corpus(tmp_path):
    check_fix(tmp_path, os.path.join(CORPUS, "generate.zone"), {10: "host1.example.com."})


def test_fix_keeps_everything_else(tmp_path):
    """TTL, class, comments, tabs, upper and lower case, chains that end out of zone or at
    a dangling name; loops and single hops are left alone."""
    zone = write(tmp_path / "fix.zone", """\
; a comment that mentions CNAME a b
$ORIGIN example.com.
$TTL 3600
@\tSOA\tns1 hostmaster 1 7200 3600 1209600 300
@\tNS\tns1
ns1\tA\t192.0.2.53
host\tA\t192.0.2.1
a 300 IN CNAME b ; first hop
b\t\tcname\tc.example.com.
c   CNAME   host
out     CNAME   mid
mid     CNAME   far.example.net.
dead    CNAME   dead2
dead2   CNAME   nowhere
loop1   CNAME   loop2
loop2   CNAME   loop1
one     CNAME   host
""")
    check_fix(tmp_path, zone, {8: "host.example.com.", 9: "host.example.com.",
                               11: "far.example.net.", 13: "nowhere.example.com."})


def test_fix_owner_named_cname(tmp_path):
    """The owner 'cname' is a name like any other: only the target is replaced."""
    zone = write(tmp_path / "fix.zone", """\
$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
host    A       192.0.2.1
cname   CNAME   mid
mid     CNAME   host
""")
    check_fix(tmp_path, zone, {7: "host.example.com."})


def test_fix_never_changes_where_generated_aliases_lead(tmp_path):
    """One $GENERATE line makes aliases whose chains end at different names: --fix must
    not point all of them at the first one's end."""
    zone = write(tmp_path / "fix.zone", """\
$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
$GENERATE 1-2 a$ CNAME b$
b1      CNAME   c1
b2      CNAME   c2
c1      A       192.0.2.11
c2      A       192.0.2.12
""")
    out = run_fix(zone)
    fixed = write(tmp_path / "fixed.zone", out)
    assert cname_targets(fixed, DEFAULT_ORIGIN) == cname_targets(zone, DEFAULT_ORIGIN), out


def test_fix_several_files(tmp_path):
    paths = [os.path.join(CORPUS, "cname-chain.zone"), os.path.join(CORPUS, "clean-basic.zone")]
    r = run_check(["--fix"] + paths)
    assert r.returncode == 2
    parts = re.split(r"^; canon check --fix: (.+)\n", r.stdout, flags=re.M)
    assert parts[0] == "" and parts[1::2] == paths
    with open(paths[1]) as f:
        assert parts[4] == f.read()
    assert "CNAME   host.example.com." in parts[2]


# ---------------------------------------------------------------- --fix for MX, NS and SRV

@pytest.mark.parametrize("zone,rule,line,kind,target", [
    ("mx-to-cname.zone", "mx-to-cname", 9, "MX", "host.example.com."),
    ("ns-to-cname.zone", "ns-to-cname", 9, "NS", "ns1.example.com."),
    ("srv-to-cname.zone", "srv-to-cname", 9, "SRV", "host.example.com."),
])
def test_fix_repoints_mx_ns_srv(tmp_path, zone, rule, line, kind, target):
    """The record is pointed at the end of the alias chain; only its target changes, the
    change is listed on stderr, and the fixed zone no longer has the finding."""
    path = os.path.join(CORPUS, zone)
    r = run_check(["--fix", path])
    with open(path) as f:
        before = f.read().splitlines(keepends=True)
    after = r.stdout.splitlines(keepends=True)
    assert len(after) == len(before)
    for number, (old, new) in enumerate(zip(before, after), 1):
        if number != line:
            assert new == old, f"line {number} changed: {old!r} -> {new!r}"
    old_fields, new_fields = before[line - 1].split(), after[line - 1].split()
    assert new_fields[:-1] == old_fields[:-1] and new_fields[-1] == target, after[line - 1]
    assert re.search(rf"^{re.escape(path)}:{line}: \S+ {kind}: target \S+ -> "
                     rf"{re.escape(target)}$", r.stderr, re.M), r.stderr
    fixed = write(tmp_path / zone, r.stdout)
    doc, _ = check_both([], [fixed])
    assert not [f for f in doc["findings"] if f["rule"] == rule], doc["findings"]
    old_zone = dns.zone.from_file(path, relativize=False)
    new_zone = dns.zone.from_file(fixed, relativize=False)
    rdtype = dns.rdatatype.from_text(kind)
    old_set = {(n, rd.to_text()) for n, rds in old_zone.iterate_rdatasets() for rd in rds
               if rds.rdtype != rdtype}
    new_set = {(n, rd.to_text()) for n, rds in new_zone.iterate_rdatasets() for rd in rds
               if rds.rdtype != rdtype}
    assert old_set == new_set, "--fix changed other records"


def test_fix_nothing_to_fix_prints_zone_unchanged():
    path = os.path.join(CORPUS, "clean-basic.zone")
    r = run_check(["--fix", path])
    with open(path) as f:
        assert r.stdout == f.read()
    assert "nothing to fix" in r.stderr
    assert r.returncode == 0


# ---------------------------------------------------------------- --ignore, --flatten, --now

def test_ignore_drops_rule_and_says_so():
    path = os.path.join(CORPUS, "cname-chain.zone")
    doc, status = check_both(["--ignore", "cname-chain", "--ignore", "ttl-mismatch"], [path])
    assert doc["findings"] == [] and status == 0
    assert doc["summary"]["ignored"] == {"cname-chain": 2, "ttl-mismatch": 0}
    text = run_check(["--ignore", "cname-chain", path])
    assert text.stdout.rstrip().endswith("; ignored: 2 cname-chain"), text.stdout
    # Other rules stay.
    multi = os.path.join(CORPUS, "multi-errors.zone")
    full, _ = check_both([], [multi])
    some, _ = check_both(["--ignore", "cname-chain"], [multi])
    assert [f for f in full["findings"] if f["rule"] != "cname-chain"] == some["findings"]


@pytest.mark.parametrize("args", [["--ignore", "no-such-rule"], ["--flatten=sometimes"],
                                  ["--now", "yesterday"], ["--now", "2026-01-01"]])
def test_new_options_refuse_bad_values(args):
    r = run_check(args + [os.path.join(CORPUS, "clean-basic.zone")])
    assert r.returncode == 4, (r.stdout, r.stderr)
    assert r.stderr.strip()


def test_flatten_checks_zone_as_served(tmp_path):
    """A CNAME at the apex is an error as written, and the ALIAS it is served as under
    flatten=apex; beside the apex's addresses that ALIAS is one too."""
    path = os.path.join(CORPUS, "cname-at-apex.zone")
    doc, status = check_both([], [path])
    assert {f["rule"] for f in doc["findings"]} == {"cname-at-apex"} and status == 1
    for mode in ("apex", "all"):
        doc, status = check_both([f"--flatten={mode}"], [path])
        assert doc["findings"] == [] and status == 0, mode
    doc, _ = check_both(["--flatten=none"], [path])
    assert {f["rule"] for f in doc["findings"]} == {"cname-at-apex"}
    chain = os.path.join(CORPUS, "cname-chain.zone")
    doc, _ = check_both(["--flatten=apex"], [chain])
    assert {f["rule"] for f in doc["findings"]} == {"cname-chain"}
    both = write(tmp_path / "both.zone", """\
$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
host    A       192.0.2.1
www     CNAME   host
www     A       192.0.2.2
""")
    doc, _ = check_both(["--flatten=all"], [both])
    assert {f["rule"] for f in doc["findings"]} == {"alias-and-address"}, doc["findings"]


def test_now_judges_signature_windows():
    """The corpus's signatures run 2026-2090; the one expired in 2020 was valid in January
    2020, when the others were not yet; in 2092 all of them have expired."""
    expired = os.path.join(CORPUS, "rrsig-expired.zone")
    doc, _ = check_both(["--now", "20200115000000"], [expired])
    rules = collections.Counter(f["rule"] for f in doc["findings"])
    assert rules == {"rrsig-not-yet-valid": 10}, rules
    clean = os.path.join(CORPUS, "clean-signed.zone")
    doc, status = check_both(["--now", "20920101000000"], [clean])
    assert {f["rule"] for f in doc["findings"]} == {"rrsig-expired"} and status == 1
    doc, status = check_both(["--now", "1893456000"], [clean])  # 2030-01-01
    assert doc["findings"] == [] and status == 0


def test_missing_final_dot_every_target_type(tmp_path):
    """DNAME, ALIAS, NS and SRV targets too; the finding names the name meant; names that
    exist, one-label names and names past a zone cut are left alone."""
    zone = write(tmp_path / "dots.zone", """\
$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
@       ALIAS   lb.provider.net
old     DNAME   legacy.dev
_x._tcp SRV     0 0 443 api.vendor.com
sub     NS      ns.dns-host.org
www     CNAME   cdn
cdn     A       192.0.2.7
io      NS      ns1
fine    CNAME   foo.io
""")
    doc, status = check_both([], [zone])
    found = {(f["line"], f["type"]): f for f in doc["findings"]}
    assert {k for k, f in found.items() if f["rule"] == "missing-final-dot"} == \
        {(6, "TYPE65401"), (7, "DNAME"), (8, "SRV"), (9, "NS")}, doc["findings"]
    assert "lb.provider.net." in found[(6, "TYPE65401")]["message"]
    assert found[(8, "SRV")]["hint"] == "write the target as api.vendor.com., with the final dot"
    assert status == 1


# ---------------------------------------------------------------- --resolve

@pytest.fixture(scope="module")
def ext_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("check-resolve")
    zone = write(tmp / "ext.test.zone", EXT_ZONE)
    server = refservers.start_knotd(tmp, {"ext.test.": zone})
    yield server
    server.stop()


def resolve_arg(server):
    return f"--resolve={server.addr}:{server.port}"


@pytest.mark.parametrize("zone", [z for z in corpus_zones() if Expected(z).resolve == "ext"])
def test_resolve_corpus(ext_server, zone):
    """NXDOMAIN target: cname-dangling-external; existing target: nothing; MX and NS at
    an out-of-zone alias: mx-to-cname, ns-to-cname."""
    exp = Expected(zone)
    path = os.path.join(CORPUS, zone)
    doc, status = check_both(["-o", exp.origin, resolve_arg(ext_server)], [path])
    assert json_counter(doc, path) == exp.with_resolve
    assert status == expected_status(exp.with_resolve)
    server = f"{ext_server.addr}:{ext_server.port}"
    for f in doc["findings"]:
        assert server in f["message"], f


def test_resolve_unused_port():
    """Nothing listens on the port: an unresolved-target warning, quickly."""
    exp = Expected("unresolved-target.zone")
    path = os.path.join(CORPUS, "unresolved-target.zone")
    start = time.monotonic()
    doc, status = check_both([f"--resolve=127.0.0.1:{conftest.free_port()}"], [path])
    assert time.monotonic() - start < 10
    assert json_counter(doc, path) == exp.with_resolve
    assert status == 2


def test_resolve_server_never_answers():
    """A socket that takes queries and never answers: the lookup times out (bounded)
    and the target is reported as unresolved."""
    exp = Expected("unresolved-target.zone")
    path = os.path.join(CORPUS, "unresolved-target.zone")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as hole:
        hole.bind(("127.0.0.1", 0))
        arg = f"--resolve=127.0.0.1:{hole.getsockname()[1]}"
        start = time.monotonic()
        r = run_check(["--json", arg, path], timeout=30)
        elapsed = time.monotonic() - start
    assert elapsed < 15, f"one unanswered lookup took {elapsed:.1f} s"
    doc = json.loads(r.stdout)
    check_json_document(doc, [path])
    assert json_counter(doc, path) == exp.with_resolve
    assert r.returncode == 2


def test_resolve_only_out_of_zone_targets():
    """In-zone targets are never looked up: a dead resolver changes nothing for them."""
    for zone in ("clean-ttl.zone", "cname-chain.zone", "clean-dname.zone"):
        path = os.path.join(CORPUS, zone)
        doc, status = check_both([f"--resolve=127.0.0.1:{conftest.free_port()}"], [path])
        assert json_counter(doc, path) == Expected(zone).offline
        assert status == expected_status(Expected(zone).offline)


def test_resolve_refused_is_unresolved(ext_server, tmp_path):
    """The server refuses the lookup (it does not serve that zone): the target was not
    resolved, so it must not pass as fine."""
    zone = write(tmp_path / "z.zone", """\
$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
www     CNAME   www.elsewhere.test.
""")
    doc, status = check_both([resolve_arg(ext_server)], [zone])
    assert json_counter(doc, zone) == collections.Counter([("", 6, "warning", "unresolved-target")])
    assert status == 2
