"""usher_assets.process_group: a signal stops the command's whole group, children included, SIGKILL as last resort."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from local_services import wait_for

# A shell whose two children ignore SIGINT (as a stuck server would) and one that exits on it.
TREE = "sh -c 'trap \"\" INT; exec sleep 300' & sh -c 'trap \"\" INT; exec sleep 301' & sleep 302 & wait"


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def leader_of_group(wrapper: subprocess.Popen) -> int:
    """The pid of the command the wrapper started: the one child that leads its own group."""
    children = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children").read_text().split()
    return int(children[0]) if children else 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_process_group_stops_children_that_ignore_sigint(signum):
    wrapper = subprocess.Popen([sys.executable, "-m", "usher_assets.process_group", "--grace", "1", "sh", "-c", TREE])
    try:
        wait_for(lambda: leader_of_group(wrapper) and len(group_members(leader_of_group(wrapper))) == 4,
                 "the shell and its three sleeps", 30, process=wrapper)
        group = leader_of_group(wrapper)
        wrapper.send_signal(signum)
        assert wrapper.wait(timeout=30) == 128 + signum
        assert group_members(group) == []
    finally:
        wrapper.kill()


def test_process_group_returns_the_command_exit_code():
    result = subprocess.run([sys.executable, "-m", "usher_assets.process_group", "sh", "-c", "exit 3"], timeout=30)
    assert result.returncode == 3


def test_process_group_without_command_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "usher_assets.process_group"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2 and "no command given" in result.stderr
