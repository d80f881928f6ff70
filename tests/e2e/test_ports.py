"""conftest.free_port across processes: suites run side by side never get the same port.

Run alone: /usr/bin/python3 -m pytest -q tests/e2e/test_ports.py
"""
import os
import subprocess
import sys

import conftest

HOLDER = """
import sys
sys.path.insert(0, {here!r})
import conftest
conftest._next_port = {start}
print(" ".join(str(conftest.free_port()) for _ in range(20)), flush=True)
sys.stdin.readline()
"""


def test_free_port_is_not_handed_to_two_processes():
    """Another process claims 20 ports from the same place in the range as this
    one then searches: none of this process's 20 ports is one of them, and a port
    is free again for others once its process has ended."""
    start = 1234
    here = os.path.dirname(os.path.abspath(__file__))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(here=here, start=start)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        theirs = set(map(int, holder.stdout.readline().split()))
        assert len(theirs) == 20
        saved = conftest._next_port
        conftest._next_port = start
        try:
            ours = {conftest.free_port() for _ in range(20)}
        finally:
            conftest._next_port = saved
        assert not ours & theirs, f"ports handed out twice: {sorted(ours & theirs)}"
    finally:
        holder.communicate("\n", timeout=10)
    # The holder is gone: its claims went with it.
    assert all(conftest.claim_port(p) for p in sorted(theirs)[:3])
