"""Finding the processes a test started, to prove none is left behind."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.stacks import pid_running


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# Sets SIGINT, SIGHUP and SIGTERM to their default dispositions (then ignores
# the signals numbered in argv[1]) and becomes the given program, the same pid.
# Only a handler is reset by exec: an ignored signal stays ignored, which is
# what a test run as a background job of a script (SIGINT) or under nohup
# (SIGHUP) hands down, and a shell cannot undo it (POSIX: signals ignored on
# entry cannot be trapped or reset).
_DISPOSITIONS = (
    "import os, signal, sys; "
    "[signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)]; "
    "[signal.signal(int(n), signal.SIG_IGN) for n in sys.argv[1].split()]; "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def from_a_terminal(argv: Sequence[str], *, ignored: Sequence[int] = ()) -> list[str]:
    """``argv`` (its first item an absolute path) started as from a terminal,
    where Ctrl-C and a hang-up reach it, whatever dispositions the test run
    itself inherited; ``ignored``: signals it starts with ignored (``nohup``:
    SIGHUP). For a test that sends a signal."""
    return [sys.executable, "-c", _DISPOSITIONS, " ".join(map(str, ignored)), *argv]


def processes_mentioning(marker: str) -> list[int]:
    """Live (non-zombie) processes, other than this one, whose command line
    mentions ``marker``: pass something only this test's processes carry
    (its tmp_path, a report folder), never a binary other tests also run."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if marker in command_line(int(entry.name)) and pid_running(int(entry.name)):
            found.append(int(entry.name))
    return found
