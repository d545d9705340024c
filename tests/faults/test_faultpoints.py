"""The fault-injection points themselves: inert unless armed, fire once, kill the whole group."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.faults.world import wait_until

# A process that starts a child in its own process group, reaches the point, then says it lived.
SCRIPT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
from worker import faultpoints
faultpoints.hit("after_send")
print("survived", flush=True)
child.kill()
"""


def run(env: dict) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=30, start_new_session=True)
    return proc.returncode, proc.stdout.split()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie not yet reaped by init counts as dead
        return f.read().split(")")[-1].split()[0] != "Z"


def test_inert_unless_armed_with_markers(tmp_path):
    assert run({})[1][1:] == ["survived"]
    assert run({"NIANBAO_FAULTPOINTS": "after_send"})[1][1:] == ["survived"]  # no marker folder: not armed
    assert run({"NIANBAO_FAULTPOINTS": "after_commit:parse_snapshot",
                "NIANBAO_FAULTPOINTS_DIR": str(tmp_path)})[1][1:] == ["survived"]  # another point


def test_fires_once_and_kills_the_whole_process_group(tmp_path):
    env = {"NIANBAO_FAULTPOINTS": "after_commit:evaluate,after_send", "NIANBAO_FAULTPOINTS_DIR": str(tmp_path)}
    code, out = run(env)
    assert code == -9 and out[1:] == []
    assert wait_until(lambda: not alive(int(out[0])), 10)  # the child in its group died with it
    assert (tmp_path / "after_send").read_text().isdigit()
    assert run(env)[1][1:] == ["survived"]  # fired already: passes from now on
