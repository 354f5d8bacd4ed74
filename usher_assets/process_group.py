"""Run a command as its own process group and stop the whole group on Ctrl-C or SIGTERM.

`python -m usher_assets.process_group dagster dev ...` is how `make ui` starts the UI: dagster dev spawns a
webserver, a daemon and code servers, and on its own it ignores SIGTERM whenever it was started in the background.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 20.0  # dagster dev waits up to 10 s for each of its services before it kills them itself
POLL_SECONDS = 0.1


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user id: still there
        return True
    return True


def stop_group(child: subprocess.Popen, grace: float = GRACE_SECONDS) -> None:
    """SIGINT to every process in the child's group (as a terminal's Ctrl-C), SIGKILL to what outlives `grace`."""
    pgid = child.pid
    try:
        os.killpg(pgid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        child.poll()  # reap our child, or its zombie keeps the group alive
        if not group_alive(pgid):
            return
        time.sleep(POLL_SECONDS)
    print(f"process_group: group {pgid} still running after {grace:.0f} s; killing it", file=sys.stderr)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def run(command: list[str], grace: float = GRACE_SECONDS) -> int:
    """Run `command` in a new process group until it exits or this process gets SIGINT or SIGTERM."""
    stopping: list[int] = []

    def request_stop(signum, _frame):
        stopping.append(signum)

    # Handlers before the fork: the child starts with both signals at their defaults, even when this
    # process inherited them ignored (`make ui &` in a script ignores SIGINT, and dagster dev maps
    # SIGTERM onto whatever SIGINT does).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    child = subprocess.Popen(command, process_group=0)
    while not stopping and child.poll() is None:
        time.sleep(POLL_SECONDS)
    if stopping:
        stop_group(child, grace)
        return 128 + stopping[0]
    stop_group(child, grace)  # the leader exited on its own: leave none of its children behind
    return child.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m usher_assets.process_group", description=__doc__.split("\n")[0])
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS,
                        help=f"seconds the group gets to stop before SIGKILL (default {GRACE_SECONDS:.0f})")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("no command given")
    return run(args.command, args.grace)


if __name__ == "__main__":
    sys.exit(main())
