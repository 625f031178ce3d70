"""Finding the processes a test started, to prove none is left behind."""

from __future__ import annotations

import os
from pathlib import Path

from harness.stacks import pid_running


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


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
