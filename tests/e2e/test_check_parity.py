"""`canon check` beside named-checkzone, kzonecheck and nsd-checkzone: docs/checker-parity.md.

Every rule zone of tests/zones/check/ (plus the clean zones and the zones that
combine cases) goes through the three reference checkers and canon check; what
each one says is recorded in a table. A tool "reports" a rule zone when it
exits non-zero or prints any diagnostic: every rule zone is a clean base that
all four tools pass, plus the records that break the rule, so whatever a tool
says is about those records. The cell quotes what it said.

The test asserts that canon check reports every rule (its rule id, on the lines
NAME.expected gives), that the reference tools pass the clean base, and that
docs/checker-parity.md is what the tools say now. With CANON_WRITE_PARITY=1 it
(re)writes the document first:

    CANON_WRITE_PARITY=1 /usr/bin/python3 -m pytest -q tests/e2e/test_check_parity.py
"""
import difflib
import json
import os
import re
import subprocess

import pytest

import conftest
import refservers
from test_check import CORPUS, EXT_ZONE, Expected, corpus_zones, write

DOC = os.path.join(conftest.SOURCE_DIR, "docs", "checker-parity.md")
TOOL_TIMEOUT = 10  # seconds for one checker run

# Row order and the RFC each rule comes from (as canon's messages cite them).
RULES = [
    ("cname-and-other-data", "RFC 1034 §3.6.2, RFC 2181 §10.1"),
    ("cname-at-apex", "RFC 1034 §3.6.2, RFC 2181 §10.1"),
    ("multiple-cnames", "RFC 1034 §3.6.2, RFC 2181 §10.1"),
    ("dname-and-cname", "RFC 1034 §3.6.2, RFC 6672 §2.4"),
    ("multiple-dnames", "RFC 6672 §2.4"),
    ("data-below-dname", "RFC 6672 §2.4"),
    ("mx-to-cname", "RFC 2181 §10.3"),
    ("ns-to-cname", "RFC 2181 §10.3"),
    ("srv-to-cname", "RFC 2782"),
    ("ptr-to-cname", "RFC 2181 §10.2"),
    ("cname-loop", "RFC 1034 §3.6.2"),
    ("cname-dangling", "RFC 1034 §3.6.2, RFC 6604"),
    ("cname-chain", "RFC 1034 §3.6.2"),
    ("cname-to-ip", "RFC 1034 §3.6.2"),
    ("origin-twice", "RFC 1035 §5.1"),
    ("cname-ttl", "RFC 2181 §10.1.1"),
    ("syntax", "RFC 1035 §5.1"),
    ("out-of-zone", "RFC 1034 §4.2.1"),
    ("ttl-mismatch", "RFC 2181 §5.2"),
    ("bad-class", "RFC 1035 §5.2"),
    ("no-soa", "RFC 1035 §5.2"),
    ("soa-not-at-apex", "RFC 1035 §5.2"),
    ("unreadable", "-"),
    ("cname-dangling-external", "-"),
    ("unresolved-target", "-"),
    ("alias-and-address", "canon ALIAS (docs/alias.md)"),
    ("multiple-aliases", "canon ALIAS (docs/alias.md)"),
    ("multiple-soa", "RFC 1035 §5.2, RFC 1034 §4.2.1"),
    ("target-missing", "RFC 1034 §3.6.2, RFC 1035 §3.3"),
    ("target-no-address", "RFC 1034 §3.6.2, RFC 1035 §3.3"),
    ("delegation-no-glue", "RFC 9471 §2.1, RFC 1034 §4.2.1"),
    ("missing-final-dot", "RFC 1035 §5.1"),
    ("rrsig-missing", "RFC 4035 §2.2"),
    ("rrsig-expired", "RFC 4034 §3.1.5, RFC 4035 §5.3.1"),
    ("rrsig-not-yet-valid", "RFC 4034 §3.1.5, RFC 4035 §5.3.1"),
]
# Zones that combine cases: how many of the expected problems each tool points at.
COMBINED = [
    ("multi-errors", "several errors in one file"),
    ("include", "findings in a $INCLUDEd file"),
    ("generate", "records made by $GENERATE"),
]

TOOLS = ["named-checkzone", "kzonecheck", "nsd-checkzone"]


def tool_argv(tool, origin, zone):
    if tool == "named-checkzone":
        # -i local: MX, SRV and NS integrity checks for in-zone targets, without
        # looking up out-of-zone names (-i full would ask the system resolver).
        # -M/-S warn (the defaults, made explicit): MX/SRV to a CNAME are warnings.
        return [conftest.need_tool(tool), "-i", "local", "-M", "warn", "-S", "warn", origin, zone]
    if tool == "kzonecheck":
        return [conftest.need_tool(tool), "-o", origin, zone]
    return [conftest.need_tool(tool), origin, zone]


def tool_command_text(tool):
    return " ".join([tool] + tool_argv(tool, "ORIGIN", "FILE")[1:])


# Lines that say nothing about the zone's content.
BOILERPLATE = [
    r"^zone \S+: loaded serial \d+(?: \(DNSSEC signed\))?$",
    r"^OK$",
    r"^zone \S+: not loaded due to errors\.$",
    r"^Error summary:$",
    r"^\s+\d+\t.*$",
    r"^Serious semantic error detected$",
    r"^zone \S+ is ok$",
    r"^zone \S+ file \S+ has \d+ errors?$",
    r"^\S+: file does not end with newline$",
]
LOAD_FAILED = re.compile(r"^zone \S+: loading from master file \S+ failed: (.*)$")
PREFIXES = [
    r"^\[[^\]]*\] nsd-checkzone\[\d+\]: (?:error|warning): ",
    r"^dns_master_load: ",
    r"^dns_rdata_fromtext: ",
    r"^\$GENERATE: ",
    r"^zone \S+/IN: ",
    r"^error: ",
]
PLACE = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+): ")


def diagnostics(output):
    """[(file, line or None, message)] of a reference tool's output, boilerplate dropped."""
    out, failed = [], []
    for raw in output.splitlines():
        line = raw.strip("\n")
        if not line.strip() or any(re.match(p, line) for p in BOILERPLATE):
            continue
        m = LOAD_FAILED.match(line)
        if m:
            failed.append((None, None, m.group(1)))
            continue
        for p in PREFIXES:
            line = re.sub(p, "", line)
        m = PLACE.match(line)
        place = (os.path.basename(m.group("file")), int(m.group("line"))) if m else (None, None)
        message = line[m.end():] if m else line
        knot = re.match(r"^\[(?P<owner>[^\]]+)\] (?P<message>.*)$", message)
        if knot:
            message = f"{knot.group('message')} ({knot.group('owner')})"
        out.append(place + (message.strip(),))
    return out or failed


def run_tool(tool, origin, zone):
    argv = tool_argv(tool, origin, zone)
    try:
        r = subprocess.run(argv, cwd=CORPUS, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"status": None, "diagnostics": [(None, None, "timed out")]}
    return {"status": r.returncode, "diagnostics": diagnostics(r.stdout + r.stderr)}


def run_canon(zone, resolver=None):
    exp = Expected(zone)
    argv = [conftest.CANON_BIN, "check", "--json", "-o", exp.origin]
    if resolver:
        argv.append(f"--resolve={resolver}")
    try:
        r = subprocess.run(argv + [zone], cwd=CORPUS, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"status": None, "findings": None}
    try:
        findings = json.loads(r.stdout)["findings"]
    except (ValueError, KeyError):
        findings = None
    return {"status": r.returncode, "findings": findings}


def md(text):
    return text.replace("|", "\\|").replace("`", "'")


def tool_cell(result):
    status, diags = result["status"], result["diagnostics"]
    if status is None:
        return "no answer: timed out"
    if status == 0 and not diags:
        return "no"
    kind = "error" if status != 0 else "warning"
    shown = []
    for file, line, message in diags[:2]:
        where = f" (line {line})" if line is not None and file and not file.endswith(".inc") \
            else f" ({file}:{line})" if line is not None else ""
        shown.append(md(message) + where)
    more = f"; +{len(diags) - 2} more" if len(diags) > 2 else ""
    return f"yes, {kind}: {'; '.join(shown)}{more}"


def canon_catches(result, zone, rule, resolve):
    """Whether canon reported 'rule' on exactly the lines NAME.expected gives for it."""
    if result["findings"] is None:
        return False
    want = sorted((f, l, s) for (f, l, s, r) in Expected(zone).findings(resolve).elements()
                  if r == rule)
    got = sorted(("" if f["file"] == zone else os.path.relpath(f["file"], CORPUS),
                  f["line"], f["severity"]) for f in result["findings"] if f["rule"] == rule)
    return bool(want) and got == want


def canon_cell(result, zone, rule, resolve):
    if result["findings"] is None:
        return "**no**: " + ("did not finish" if result["status"] is None else "no output")
    mine = [f for f in result["findings"] if f["rule"] == rule]
    if canon_catches(result, zone, rule, resolve):
        lines = ", ".join(str(f["line"]) for f in mine)
        label = "lines" if len(mine) > 1 else "line"
        return f"yes, {mine[0]['severity']} [{rule}] ({label} {lines})"
    said = "; ".join(f"{f['severity']} [{f['rule']}] line {f['line']}"
                     for f in result["findings"]) or "nothing"
    return f"**no**: {md(said)}"


def tool_version(tool):
    path = conftest.need_tool(tool)
    if tool == "named-checkzone":
        text = subprocess.run([path, "-v"], capture_output=True, text=True).stdout
    elif tool == "kzonecheck":
        text = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    else:
        r = subprocess.run([path, "-h"], capture_output=True, text=True)
        text = r.stdout + r.stderr
    m = re.search(r"(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else "unknown"


def places_text(places):
    ordered = sorted(places, key=lambda p: (p[0] != "", p[0], p[1]))
    return ", ".join(f"{f}:{l}" if f else str(l) for f, l in ordered)


def combined_cell(places, diags):
    """The lines a tool pointed at, or what it said when it gave no line."""
    if places:
        return ("lines " if len(places) > 1 else "line ") + places_text(places)
    if diags:
        return "no line: " + md(diags[0][2])
    return "nothing"


@pytest.fixture(scope="module")
def resolvers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    server = refservers.start_knotd(tmp, {"ext.test.": write(tmp / "ext.test.zone", EXT_ZONE)})
    yield {"ext": f"{server.addr}:{server.port}", "dead": f"127.0.0.1:{conftest.free_port()}"}
    server.stop()


def build_document(resolvers):
    """The Markdown document and the list of rules canon missed."""
    missed, loud_on_clean = [], []
    rows = []
    for rule, rfc in RULES:
        zone = rule + ".zone"
        exp = Expected(zone)
        resolver = resolvers[exp.resolve] if exp.resolve else None
        cells = [tool_cell(run_tool(t, exp.origin, zone)) for t in TOOLS]
        result = run_canon(zone, resolver)
        if not canon_catches(result, zone, rule, resolver is not None):
            missed.append(rule)
        zone_link = f"[{rule}](../tests/zones/check/{zone})"
        rows.append(f"| {zone_link} | {rfc} | " + " | ".join(cells) + " | "
                    + canon_cell(result, zone, rule, resolver is not None) + " |")

    clean = [z for z in corpus_zones() if z.startswith("clean-")]
    clean_row = []
    for tool in TOOLS:
        quiet = []
        for zone in clean:
            r = run_tool(tool, Expected(zone).origin, zone)
            if r["status"] == 0 and not r["diagnostics"]:
                quiet.append(zone)
            elif zone != "clean-generate.zone":
                loud_on_clean.append((tool, zone, r))
        noisy = [z[len("clean-"):-len(".zone")] for z in clean if z not in quiet]
        clean_row.append(f"silent on {len(quiet)} of {len(clean)}"
                         + (f" (not on: {', '.join(noisy)})" if noisy else ""))
    canon_quiet = sum(1 for z in clean if run_canon(z)["findings"] == [])
    clean_row.append(f"silent on {canon_quiet} of {len(clean)}")
    if canon_quiet != len(clean):
        missed.append("clean zones")

    combined_rows = []
    for name, what in COMBINED:
        zone = name + ".zone"
        exp = Expected(zone)
        cells = [places_text({(f, l) for (f, l, s, r) in exp.offline})]
        for tool in TOOLS:
            r = run_tool(tool, exp.origin, zone)
            places = {("" if f == zone else f, l) for f, l, m in r["diagnostics"]
                      if l is not None}
            cells.append(combined_cell(places, r["diagnostics"]))
        result = run_canon(zone)
        places = set()
        if result["findings"] is not None:
            places = {("" if f["file"] == zone else os.path.relpath(f["file"], CORPUS),
                       f["line"]) for f in result["findings"]}
        cells.append(combined_cell(places, []))
        combined_rows.append(f"| [{name}](../tests/zones/check/{zone}) | {what} | "
                             + " | ".join(cells) + " |")

    versions = ", ".join(f"{t} {tool_version(t)}" for t in TOOLS)
    commands = "\n".join(f"    {tool_command_text(t)}" for t in TOOLS)
    doc = f"""# canon check beside named-checkzone, kzonecheck and nsd-checkzone

Generated by `tests/e2e/test_check_parity.py` from the zones in
`tests/zones/check/` (one per rule, each a clean base plus the records that
break the rule); do not edit by hand. The test fails when this file no longer
matches what the tools say; regenerate it with

    CANON_WRITE_PARITY=1 /usr/bin/python3 -m pytest -q tests/e2e/test_check_parity.py

Tools: {versions}. They were run as

{commands}
    canon check --json -o ORIGIN [--resolve=SERVER] FILE

"yes" means the tool exited non-zero (error) or printed a diagnostic (warning)
for the zone; the cell quotes the first diagnostics, with the line the tool
gave. A "yes" may be about a consequence of the problem rather than the
problem itself (read the quote). canon's cell is "yes" only when it reports
the rule's id on the lines given in `tests/zones/check/RULE.expected`.

The two `--resolve` rules are checked against a knotd on 127.0.0.1 that serves
`ext.test.` (cname-dangling-external) and against a port where nothing
answers (unresolved-target); the other tools have no such lookup and are run
on the same file as it is.

| rule | RFC | named-checkzone | kzonecheck | nsd-checkzone | canon check |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}
| clean zones (`clean-*.zone`) | | {' | '.join(clean_row)} |

kzonecheck and nsd-checkzone do not know `$GENERATE` (a BIND extension), so
they reject `clean-generate.zone`.

## Zones with several findings

The lines each tool points at, beside the lines of the problems listed in
`tests/zones/check/NAME.expected`. A tool that stops at its first error, or
gives no line, points at fewer; a line may be off by one where a parser
reports the end of a record.

| zone | what | problems at | named-checkzone | kzonecheck | nsd-checkzone | canon check |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(combined_rows)}
"""
    return doc, missed, loud_on_clean


def test_parity(resolvers):
    doc, missed, loud_on_clean = build_document(resolvers)
    if os.environ.get("CANON_WRITE_PARITY") == "1":
        with open(DOC, "w") as f:
            f.write(doc)
    problems = []
    for tool, zone, result in loud_on_clean:
        problems.append(f"{tool} complains about the clean zone {zone}: {result}")
    if missed:
        problems.append(f"canon check does not report: {', '.join(missed)}")
    current = open(DOC).read() if os.path.exists(DOC) else ""
    if current != doc:
        diff = "".join(list(difflib.unified_diff(
            current.splitlines(keepends=True), doc.splitlines(keepends=True),
            "docs/checker-parity.md", "what the tools say now"))[:60])
        problems.append("docs/checker-parity.md is stale; regenerate it with "
                        "CANON_WRITE_PARITY=1 (see the module docstring)\n" + diff)
    if problems:
        pytest.fail("\n".join(problems))
