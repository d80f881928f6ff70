"""`make install` and running canon as a service: the installed files, the
installed binary serving from the installed example config as an unprivileged
user, the man pages, the systemd unit, sd_notify, and the port-53 message.

The build directory (CANON_BUILD_DIR, else the directory of CANON_BIN) is
installed with `cmake --install --prefix /usr` into a DESTDIR under /tmp that
every user may read, since the installed canon reads its config and zone as
`nobody` once it has dropped root.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_install.py
"""
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import CANON_BIN, EXAMPLES_DIR, Server, free_port, need_tool, wait_for_dns
from test_serve import stop_and_check

BUILD_DIR = os.environ.get("CANON_BUILD_DIR", os.path.dirname(CANON_BIN))
COMMANDS = ("serve", "check", "resolve", "dig", "ctl")
MAN_PAGES = (
    "man1/canon.1",
    "man1/canon-check.1",
    "man1/canon-dig.1",
    "man1/canon-ctl.1",
    "man5/canon.conf.5",
    "man8/canon-serve.8",
    "man8/canon-resolve.8",
)
UNIT = "usr/lib/systemd/system/canon.service"
IS_ROOT = os.geteuid() == 0


def version():
    out = subprocess.run([CANON_BIN, "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.split()[-1]


@pytest.fixture(scope="module")
def destdir():
    """The build installed under a fresh DESTDIR with PREFIX=/usr."""
    root = tempfile.mkdtemp(prefix="canon-install-")
    os.chmod(root, 0o755)  # readable by nobody, unlike pytest's tmp_path
    env = dict(os.environ, DESTDIR=root)
    done = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", "/usr"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    yield root
    shutil.rmtree(root, ignore_errors=True)


def installed(destdir, *parts):
    return os.path.join(destdir, *parts)


def test_install_puts_every_file_in_place(destdir):
    canon = installed(destdir, "usr/bin/canon")
    assert os.access(canon, os.X_OK)
    for page in MAN_PAGES:
        assert os.path.isfile(installed(destdir, "usr/share/man", page)), page
    for path in (UNIT, "usr/lib/sysusers.d/canon.conf", "etc/canon/canon.conf",
                 "etc/canon/example.test.zone", "usr/share/doc/canon/examples/canon.conf",
                 "usr/share/canon/example.test.zone", "usr/share/canon/root.hints",
                 "usr/share/canon/web/index.html", "usr/share/canon/web/app.js",
                 "usr/share/canon/web/style.css"):
        assert os.path.isfile(installed(destdir, path)), path


def test_install_keeps_an_existing_config(destdir):
    conf = installed(destdir, "etc/canon/canon.conf")
    with open(conf) as f:
        original = f.read()
    with open(conf, "a") as f:
        f.write("# the operator's edit\n")
    env = dict(os.environ, DESTDIR=destdir)
    subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", "/usr"], env=env, check=True,
                   capture_output=True, timeout=120)
    with open(conf) as f:
        assert f.read() == original + "# the operator's edit\n"
    with open(conf, "w") as f:
        f.write(original)


@pytest.mark.parametrize("command", COMMANDS)
def test_installed_binary_version_and_help(destdir, command):
    canon = installed(destdir, "usr/bin/canon")
    out = subprocess.run([canon, command, "--version"], capture_output=True, text=True, timeout=10)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"canon {command} {version()}\n", "")
    out = subprocess.run([canon, command, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.startswith(f"usage: canon {command}")


def test_canon_version_and_help(destdir):
    canon = installed(destdir, "usr/bin/canon")
    out = subprocess.run([canon, "--version"], capture_output=True, text=True, timeout=10)
    assert (out.returncode, out.stdout) == (0, f"canon {version()}\n")
    out = subprocess.run([canon, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("usage: canon <command>")


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(destdir, page):
    path = installed(destdir, "usr/share/man", page)
    groff = subprocess.run([need_tool("groff"), "-man", "-ww", "-z", path], capture_output=True,
                           text=True, timeout=30)
    assert (groff.returncode, groff.stderr) == (0, ""), groff.stderr
    env = dict(os.environ, MANWIDTH="80")
    man = subprocess.run([need_tool("man"), "--warnings", "-l", path], capture_output=True,
                         text=True, env=env, timeout=30)
    assert (man.returncode, man.stderr) == (0, ""), man.stderr
    name = os.path.basename(page).rsplit(".", 1)[0]
    assert re.search(rf"NAME\s+{re.escape(name)}\s+-\s", man.stdout), man.stdout[:400]
    assert version() in man.stdout


def test_man_pages_name_every_option_of_the_usage(destdir):
    """Each long option a command's --help lists is in its man page."""
    pages = {"serve": "man8/canon-serve.8", "resolve": "man8/canon-resolve.8",
             "check": "man1/canon-check.1", "ctl": "man1/canon-ctl.1"}
    for command, page in pages.items():
        usage = subprocess.run([CANON_BIN, command, "--help"], capture_output=True, text=True,
                               timeout=10).stdout
        with open(installed(destdir, "usr/share/man", page)) as f:
            roff = f.read().replace("\\-", "-")
        for option in set(re.findall(r"--[a-z-]+", usage)):
            assert option in roff, f"{option} of canon {command} is not in {page}"


def test_systemd_unit_verifies(destdir):
    with open(installed(destdir, UNIT)) as f:
        unit = f.read()
    assert "Type=notify" in unit
    assert "ExecStart=/usr/bin/canon serve -c /etc/canon/canon.conf" in unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd): "
                    "the unit file was not verified")
    # The unit names /usr/bin/canon; verify checks that it exists, so point it
    # into DESTDIR. MANPATH lets verify find the Documentation= pages.
    copy = os.path.join(destdir, "canon.service")
    with open(copy, "w") as f:
        f.write(unit.replace("/usr/bin/canon", installed(destdir, "usr/bin/canon")))
    env = dict(os.environ, MANPATH=installed(destdir, "usr/share/man"))
    out = subprocess.run([analyze, "verify", copy], capture_output=True, text=True, env=env,
                         timeout=60)
    os.unlink(copy)
    assert (out.returncode, out.stderr) == (0, ""), out.stderr


def serving_config(destdir, port, state_dir, user):
    """The installed example config on a test port, with its state-dir and user."""
    with open(installed(destdir, "etc/canon/canon.conf")) as f:
        lines = f.read().splitlines()
    assert "user: canon" in lines and any(l.startswith("zone: example.test.") for l in lines)
    keep = [l for l in lines if not l.startswith(("listen:", "user:", "state-dir:"))]
    keep += [f"listen: 127.0.0.1:{port}", f"state-dir: {state_dir}"]
    if user:
        keep.append(f"user: {user}")
    path = installed(destdir, "etc/canon/test.conf")  # next to the example zone it names
    with open(path, "w") as f:
        f.write("\n".join(keep) + "\n")
    return path


def process_ids(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return [int(x) for x in fields["Uid"].split()], [int(x) for x in fields["Gid"].split()]


def test_installed_example_config_serves_as_nobody(destdir, tmp_path):
    """As root: binds, drops to nobody, serves the example zone; the state-dir is nobody's."""
    port = free_port()
    state_dir = installed(destdir, "var/lib/canon")
    os.makedirs(os.path.dirname(state_dir), exist_ok=True)
    user = "nobody" if IS_ROOT else None
    if IS_ROOT:
        # A journal left by an earlier run as root becomes nobody's too.
        os.makedirs(state_dir, exist_ok=True)
        open(os.path.join(state_dir, "old.journal"), "w").close()
    conf = serving_config(destdir, port, state_dir, user)
    server = Server([installed(destdir, "usr/bin/canon"), "serve", "-c", conf, "--workers", "1"],
                    "127.0.0.1", port, str(tmp_path / "canon.log"))
    try:
        assert wait_for_dns("127.0.0.1", port, qname="example.test."), server.logtext()
        reply = server.query("shop.example.test.", "A")
        assert [str(r.name) for r in reply.answer] == [
            "shop.example.test.", "www.example.test.", "example.test."]
        if IS_ROOT:
            nobody = pwd.getpwnam("nobody")
            assert process_ids(server.proc.pid) == ([nobody.pw_uid] * 4, [nobody.pw_gid] * 4)
            for path in (state_dir, os.path.join(state_dir, "old.journal")):
                assert os.stat(path).st_uid == nobody.pw_uid, path
            assert "running as user nobody" in server.logtext()
    finally:
        stop_and_check(server)
    assert server.proc.returncode == 0, server.logtext()


def test_unknown_user_stops_the_start(tmp_path):
    out = subprocess.run([CANON_BIN, "serve", "--listen", f"127.0.0.1:{free_port()}",
                          "--user", "no-such-user-canon"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 1
    assert "user: no user named 'no-such-user-canon'" in out.stderr


def run_as_nobody(argv):
    """argv as nobody: directly when not root, else under setpriv (skip without it)."""
    if not IS_ROOT:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot run canon without root")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + argv


def test_port_53_without_root_says_what_to_do(destdir):
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 53:
            pytest.skip("net.ipv4.ip_unprivileged_port_start <= 53: any user may bind port 53")
    canon = installed(destdir, "usr/bin/canon")  # CANON_BIN may be where nobody cannot go
    out = subprocess.run(run_as_nobody([canon, "serve", "--listen", "127.0.0.1:53"]),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out.stderr
    assert "cannot listen on 127.0.0.1:53: Permission denied" in out.stderr
    assert "CAP_NET_BIND_SERVICE" in out.stderr
    assert f"setcap 'cap_net_bind_service=+ep' {os.path.realpath(canon)}" in out.stderr
    assert "user: NAME (--user NAME)" in out.stderr


def test_user_without_root_says_so(destdir):
    canon = installed(destdir, "usr/bin/canon")  # CANON_BIN may be where nobody cannot go
    argv = [canon, "serve", "--listen", f"127.0.0.1:{free_port()}", "--user", "root"]
    out = subprocess.run(run_as_nobody(argv), capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "not as root, so it cannot become root" in out.stderr


class NotifySocket:
    """What systemd listens on for sd_notify(3): a unix datagram socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def expect(self, *states, timeout=20.0):
        """Wait for messages until each of 'states' (KEY=VALUE) was seen, in order."""
        want = list(states)
        got = []
        deadline = time.monotonic() + timeout
        while want and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            got.append(message)
            if want[0] in message.split("\n"):
                want.pop(0)
        assert not want, f"waited for {want}, got {got}"
        return got

    def close(self):
        self.sock.close()


@contextlib.contextmanager
def notifying(tmp_path, argv, port):
    """A daemon started with NOTIFY_SOCKET, as systemd starts a Type=notify unit."""
    notify = NotifySocket(str(tmp_path / "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    server = Server(argv, "127.0.0.1", port, str(tmp_path / "daemon.log"), env=env)
    try:
        notify.expect("READY=1")
        yield notify, server
        server.proc.send_signal(signal.SIGTERM)
        notify.expect("STOPPING=1")
        assert server.proc.wait(timeout=10) == 0
    finally:
        stop_and_check(server)
        notify.close()


def test_serve_tells_systemd_ready_reloading_stopping(tmp_path):
    port = free_port()
    argv = [CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1"]
    with notifying(tmp_path, argv, port) as (notify, server):
        # READY means serving: the first query is answered.
        assert server.query("shop.example.test.", "A", timeout=2).answer
        server.proc.send_signal(signal.SIGHUP)
        got = notify.expect("RELOADING=1", "READY=1")
        assert any(re.search(r"^MONOTONIC_USEC=\d+$", m, re.M) for m in got), got


def test_resolve_tells_systemd_ready_and_stopping(tmp_path):
    port = free_port()
    argv = [CANON_BIN, "resolve", "--listen", f"127.0.0.1:{port}", "--forward",
            f"127.0.0.1:{free_port()}"]
    with notifying(tmp_path, argv, port):
        pass  # READY=1 at start, STOPPING=1 at SIGTERM


def test_state_dir_is_created_for_the_user(tmp_path):
    """--user creates a missing --state-dir and gives it to the user (as root)."""
    if not IS_ROOT:
        pytest.skip("needs root: only root can give a directory to another user")
    root = tempfile.mkdtemp(prefix="canon-state-")
    try:
        os.chmod(root, 0o755)
        state_dir = os.path.join(root, "state")
        port = free_port()
        server = Server([CANON_BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1",
                         "--user", "nobody", "--state-dir", state_dir,
                         "--zone", f"example.test.={copy_zone(root)}"],
                        "127.0.0.1", port, str(tmp_path / "canon.log"))
        try:
            assert wait_for_dns("127.0.0.1", port, qname="example.test."), server.logtext()
            st = os.stat(state_dir)
            assert stat.S_ISDIR(st.st_mode) and st.st_uid == pwd.getpwnam("nobody").pw_uid
        finally:
            stop_and_check(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def copy_zone(directory):
    """The example zone where nobody can read it."""
    path = os.path.join(directory, "example.test.zone")
    shutil.copy(os.path.join(EXAMPLES_DIR, "example.test.zone"), path)
    os.chmod(path, 0o644)
    return path
