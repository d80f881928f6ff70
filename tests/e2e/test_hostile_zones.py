"""Hostile zone files: `canon check` and `canon serve` stay bounded in time and memory.

Each case once hung, looped or failed without a reason (issue 14): a $GENERATE
range near 2^63, an $INCLUDE of itself, a 60,000-record RRset (quadratic), an
RRset past 65,535 records, $INCLUDE of /dev/zero or a FIFO, and SIGTERM while a
hostile zone loads. Limits are described in docs/answers.md ("Limits on zone files").

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_hostile_zones.py
"""
import os
import re
import signal
import subprocess
import time

import pytest

import conftest

BASE = """$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 2026010101 7200 3600 1209600 300
@       NS      ns1
ns1     A       192.0.2.53
"""
BASE_LINES = BASE.count("\n")
RSS_LIMIT_KB = 200 * 1024


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def run_bounded(argv, timeout=20, cwd=None):
    """Run argv; returns (exit status, stdout+stderr, seconds, peak RSS in KiB).

    Killed (and the test failed) past 'timeout' seconds or RSS_LIMIT_KB."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
    os.set_blocking(proc.stdout.fileno(), False)
    out, rss = b"", 0
    while True:
        chunk = proc.stdout.read() or b""
        out += chunk
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            out += proc.stdout.read() or b""
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, out.decode(), time.monotonic() - start, usage.ru_maxrss
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+)", f.read())
                rss = max(rss, int(m.group(1)) if m else 0)
        except OSError:
            pass
        if time.monotonic() - start > timeout or rss > RSS_LIMIT_KB:
            proc.kill()
            proc.wait()
            pytest.fail(f"{argv} ran {time.monotonic() - start:.1f} s, RSS {rss} KiB:\n"
                        + out.decode())
        time.sleep(0.01)


def check(zone, *args, timeout=20):
    return run_bounded([conftest.CANON_BIN, "check", *args, str(zone)], timeout=timeout)


def findings(text):
    """[(file, line, rule, message)] of `canon check` text output."""
    return [(m.group(1), int(m.group(2)), m.group(4), m.group(3))
            for m in re.finditer(r"^(\S+?):(\d+): (?:error|warning): (.*) \[([a-z-]+)\]$",
                                 text, re.M)]


# ---------------------------------------------------------------- $GENERATE


def test_generate_range_near_2_63_is_refused_at_its_line(tmp_path):
    zone = write(tmp_path / "gen.zone", BASE +
                 "$GENERATE 9223372036854775800-9223372036854775807 h$ A 192.0.2.1\n")
    status, out, seconds, _ = check(zone)
    assert status == 1, out
    assert seconds < 5, seconds
    (f,) = findings(out)
    assert f[:3] == (zone, BASE_LINES + 1, "syntax"), out
    assert "out of bounds" in f[3], out


@pytest.mark.parametrize("rng", ["2147483648-2147483649", "0-9223372036854775808",
                                 "5-1", "0-10/0", "0-99999999999999999999999"])
def test_generate_impossible_ranges(tmp_path, rng):
    zone = write(tmp_path / "gen.zone", BASE + f"$GENERATE {rng} h$ A 192.0.2.1\n")
    status, out, seconds, _ = check(zone)
    assert status == 1 and seconds < 5, out
    assert [(f[1], f[2]) for f in findings(out)] == [(BASE_LINES + 1, "syntax")], out


def test_generate_offset_cannot_overflow(tmp_path):
    zone = write(tmp_path / "gen.zone", BASE +
                 "$GENERATE 2147483640-2147483647 h${9223372036854775807} A 192.0.2.1\n")
    status, out, _, _ = check(zone)
    assert status == 1, out
    assert [(f[1], f[2]) for f in findings(out)] == [(BASE_LINES + 1, "syntax")], out


def test_generate_cannot_make_an_include(tmp_path):
    """A generated line that is a directive would be followed by libzscanner itself."""
    zone = write(tmp_path / "gen.zone", BASE + "$GENERATE 1-1 \\$INCLUDE /dev/zero example.com.\n")
    status, out, seconds, rss = check(zone, timeout=10)
    assert status == 1 and seconds < 5 and rss < RSS_LIMIT_KB, out
    (f,) = findings(out)
    assert f[1:3] == (BASE_LINES + 1, "syntax") and "not a record" in f[3], out


# ---------------------------------------------------------------- $INCLUDE


def test_include_of_itself_stops_at_once(tmp_path):
    zone = write(tmp_path / "self.zone", BASE + "$INCLUDE self.zone\n")
    status, out, seconds, _ = check(zone)
    assert status == 3 and seconds < 5, out
    (f,) = findings(out)
    assert f[:3] == (zone, BASE_LINES + 1, "unreadable") and "includes itself" in f[3], out


def test_include_loop_through_two_files(tmp_path):
    zone = write(tmp_path / "a.zone", BASE + "$INCLUDE b.inc\n")
    write(tmp_path / "b.inc", "x A 192.0.2.1\n$INCLUDE a.zone\n")
    status, out, _, _ = check(zone)
    assert status == 3, out
    (f,) = findings(out)
    assert (os.path.basename(f[0]), f[1], f[2]) == ("b.inc", 2, "unreadable"), out


def test_include_depth_is_bounded(tmp_path):
    """Eleven distinct files, each including the next: the tenth level is the last read."""
    for i in range(1, 12):
        write(tmp_path / f"inc{i}.inc", f"h{i} A 192.0.2.{i}\n$INCLUDE inc{i + 1}.inc\n")
    write(tmp_path / "inc12.inc", "h12 A 192.0.2.12\n")
    zone = write(tmp_path / "deep.zone", BASE + "$INCLUDE inc1.inc\n")
    status, out, _, _ = check(zone)
    assert status == 3, out
    (f,) = findings(out)
    assert (os.path.basename(f[0]), f[1], f[2]) == ("inc10.inc", 2, "unreadable"), out
    assert "nest more than 10 deep" in f[3], out


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "."])
def test_include_of_a_device_fifo_or_directory_is_refused(tmp_path, target):
    os.mkfifo(tmp_path / "fifo")
    zone = write(tmp_path / "z.zone", BASE + f"$INCLUDE {target}\n")
    status, out, seconds, rss = check(zone, timeout=10)
    assert status == 3 and seconds < 5 and rss < RSS_LIMIT_KB, out
    (f,) = findings(out)
    assert f[:3] == (zone, BASE_LINES + 1, "unreadable"), out
    assert "not a regular file" in f[3], out


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_zone_file_that_is_a_device_or_fifo(tmp_path, target):
    os.mkfifo(tmp_path / "fifo")
    path = target if target.startswith("/") else str(tmp_path / target)
    status, out, seconds, _ = run_bounded([conftest.CANON_BIN, "check", "-o", "example.com.",
                                           path], timeout=10)
    assert status == 3 and seconds < 5, out
    assert "not a regular file" in out and "0 errors" not in out, out


# ---------------------------------------------------------------- big RRsets


def test_rrset_of_60000_records_loads_in_linear_time(tmp_path):
    records = "".join(f'big TXT "record {i}"\n' for i in range(60000))
    zone = write(tmp_path / "big.zone", BASE + records + 'big TXT "record 7"\n')
    status, out, seconds, _ = check(zone)
    assert status == 0, out
    assert seconds < 5, f"60,000 records took {seconds:.2f} s"


def test_rrset_past_65535_records_is_a_finding(tmp_path):
    zone = write(tmp_path / "big.zone",
                 BASE + '$GENERATE 0-69999 big TXT "r$"\nwww A 192.0.2.1\n')
    status, out, seconds, _ = check(zone)
    assert status == 1 and seconds < 5, out
    (f,) = findings(out)
    assert f[:3] == (zone, BASE_LINES + 1, "rrset-too-large"), out
    assert "65,535 TXT records at big.example.com." in f[3], out
    assert "1 error" in out, out


def test_serve_says_why_a_zone_is_refused(tmp_path, track):
    bad = write(tmp_path / "big.zone", BASE + '$GENERATE 0-69999 big TXT "r$"\n')
    good = write(tmp_path / "good.zone", BASE.replace("example.com.", "example.net."))
    server = track(conftest.start_canon(tmp_path, {"example.net.": good,
                                                   "example.com.": bad}))
    log = server.logtext()
    assert re.search(rf"{re.escape(bad)}:{BASE_LINES + 1}: .*\[rrset-too-large\]", log), log
    assert server.query("example.com.", "SOA").rcode() == 2  # SERVFAIL: not loaded


# ---------------------------------------------------------------- zone-max-size


def test_zone_max_size_bounds_files_includes_and_generate(tmp_path, track):
    big = write(tmp_path / "big.inc", "".join(f"h{i} A 192.0.2.1\n" for i in range(10000)))
    zone = write(tmp_path / "z.zone", BASE + "$INCLUDE big.inc\n")
    gen = write(tmp_path / "gen.zone",
                BASE.replace("example.com.", "example.org.") +
                "$GENERATE 0-999999 h$ A 192.0.2.1\n")
    conf = write(tmp_path / "canon.conf", f"zone-max-size: 65536\nzone: example.com. {zone}\n"
                 f"zone: example.org. {gen}\nzone: example.net. {tmp_path / 'ok.zone'}\n")
    write(tmp_path / "ok.zone", BASE.replace("example.com.", "example.net."))
    port = conftest.free_port()
    server = track(conftest.Server([conftest.CANON_BIN, "serve", "-c", conf, "--listen",
                                    f"127.0.0.1:{port}", "--workers", "1"],
                                   "127.0.0.1", port, str(tmp_path / "serve.log")))
    assert conftest.wait_for_dns("127.0.0.1", port, qname="example.net."), server.logtext()
    log = server.logtext()
    assert re.search(rf"{re.escape(zone)}:{BASE_LINES + 1}: .*zone-max-size, 65536 bytes",
                     log), log
    assert re.search(rf"{re.escape(gen)}:{BASE_LINES + 1}: .*zone-max-size", log), log


def test_zone_max_size_setting_is_checked(tmp_path):
    conf = write(tmp_path / "canon.conf", "zone-max-size: 12\n")
    r = subprocess.run([conftest.CANON_BIN, "serve", "-c", conf], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0 and "zone-max-size must be" in r.stderr, r.stderr


# ---------------------------------------------------------------- SIGTERM


SLOW = BASE + '$GENERATE 0-999999 big TXT "$"\n' * 60


def stop_within(server, seconds):
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        pytest.fail("canon serve ignored SIGTERM:\n" + server.logtext())
    took = time.monotonic() - start
    assert took < seconds, f"stopped after {took:.2f} s:\n" + server.logtext()
    assert server.proc.returncode == 0, server.logtext()  # a clean stop (no sanitizer report)


def test_sigterm_stops_serve_while_a_hostile_zone_loads_at_start(tmp_path, track):
    zone = write(tmp_path / "slow.zone", SLOW)
    port = conftest.free_port()
    server = track(conftest.Server([conftest.CANON_BIN, "serve", "--listen",
                                    f"127.0.0.1:{port}", "--workers", "1", "--zone",
                                    f"example.com.={zone}"],
                                   "127.0.0.1", port, str(tmp_path / "serve.log")))
    time.sleep(0.5)
    assert server.alive(), server.logtext()
    stop_within(server, 1.0)
    assert "the process is stopping" in server.logtext()


def test_sigterm_stops_serve_during_a_hostile_reload(tmp_path, track):
    zone = write(tmp_path / "live.zone", BASE)
    server = track(conftest.start_canon(tmp_path, {"example.com.": zone}))
    write(zone, SLOW)
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    stop_within(server, 1.0)
