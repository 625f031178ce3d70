"""Run one of the harness's writers and SIGKILL this process in the middle.

    python -m tests.hostile.killer MARKER POINT WHAT [ARGS...]

The fault is injected at a point of the write, in this process only:

* ``write``: the first ``os.write`` to a file whose path holds MARKER writes
  half its bytes, then the process kills itself (a crash mid-write);
* ``replace``: right after an ``os.replace`` onto such a path (a crash just
  after the new file took the old one's place).

WHAT is ``cli`` (``parity ARGS``), ``state`` (the stacks' state file at
ARGS[0], with ARGS[1] records) or ``naive`` (ARGS[1] written over ARGS[0]
the way a plain ``open(path, "w")`` would: the control, which must tear).
A process that is not killed exits 3: the writer never reached the point,
i.e. it did not write through ``harness.atomic``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

NOT_KILLED = 3


def _path_of(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def install(marker: str, point: str) -> None:
    real_write, real_replace = os.write, os.replace

    def write(fd: int, data: Any) -> int:
        if point == "write" and marker in _path_of(fd) and len(data) > 1:
            real_write(fd, bytes(data[: len(data) // 2]))
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write(fd, data)

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        real_replace(src, dst, **kwargs)
        if point == "replace" and marker in os.fspath(dst):
            os.kill(os.getpid(), signal.SIGKILL)

    os.write = write  # type: ignore[assignment]
    os.replace = replace  # type: ignore[assignment]


def write_state(path: Path, count: int) -> None:
    from harness import stacks

    records = tuple(
        stacks.ProcessRecord(
            name=f"process-{i}",
            role="stack",
            pid=100_000 + i,
            port=20_000 + i,
            url=f"http://127.0.0.1:{20_000 + i}",
            log=f"/tmp/log-{i}.txt",
            argv=("daemon", "--port", str(20_000 + i)),
            started_at="2026-12-07T00:00:00+00:00",
            start_ticks=None,
        )
        for i in range(count)
    )
    stacks.detached._write_state(stacks.StackState(path, records))


def _naive(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    os.write(fd, text.encode("utf-8"))
    os.close(fd)


def main(argv: list[str]) -> int:
    marker, point, what, *args = argv
    install(marker, point)
    if what == "cli":
        from harness.cli import main as parity

        with contextlib.suppress(SystemExit):
            parity(args)
    elif what == "state":
        write_state(Path(args[0]), int(args[1]))
    elif what == "naive":
        _naive(Path(args[0]), args[1])
    else:
        raise SystemExit(f"unknown writer {what!r}")
    return NOT_KILLED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
