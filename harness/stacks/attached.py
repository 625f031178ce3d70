"""``Stacks``: starts stacks for a harness run and guarantees every one is
stopped when the block ends, on an exception, on Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final

from harness import defaults, interrupts
from harness.stacks.process import StackProcess, start
from harness.stacks.spec import StackError, StackSpec


class Stacks:
    """Starts stacks and guarantees every one is stopped when the block ends.

    ``with Stacks(log_dir) as stacks: rust = stacks.start(spec, ...)``. In the
    main thread, SIGTERM, SIGHUP and SIGINT raise ``Terminated`` (a
    KeyboardInterrupt) while the block runs, so it unwinds like a Ctrl-C, and
    are recorded, so that one a gc callback swallowed is raised again
    (``interrupts``). A SIGHUP or SIGINT ignored on entry stays ignored:
    ``nohup parity run &`` outlives its terminal.
    """

    SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self, log_dir: Path, *, handle_signals: bool = True) -> None:
        self.log_dir = log_dir
        self.handle_signals = handle_signals
        self.processes: dict[str, StackProcess] = {}
        self._previous: dict[signal.Signals, Any] = {}
        self._signalled = False

    def start(
        self,
        spec: StackSpec,
        *,
        port: int = 0,
        upstream_url: str,
        roster: Path,
        session_log: Path | None = None,
        upstream_timeout_ms: int = defaults.UPSTREAM_TIMEOUT_MS,
        health_timeout_s: float = defaults.STACK_HEALTH_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
    ) -> StackProcess:
        if spec.name in self.processes:
            raise StackError(f"{spec.name} is already started")
        process = start(
            spec,
            port=port,
            upstream_url=upstream_url,
            roster=roster,
            session_log=session_log,
            log_dir=self.log_dir,
            upstream_timeout_ms=upstream_timeout_ms,
            health_timeout_s=health_timeout_s,
            env=env,
        )
        self.processes[spec.name] = process
        return process

    def stop(self) -> None:
        """Stop every started process, last started first; every one is tried."""
        errors: list[BaseException] = []
        for process in reversed(list(self.processes.values())):
            try:
                process.stop()
            except Exception as exc:
                errors.append(exc)
        self.processes.clear()
        if errors:
            raise StackError(f"could not stop every stack: {errors}")

    def __enter__(self) -> Stacks:
        interrupts.clear()  # a stop asked of an earlier run in this process is done
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                if signum != signal.SIGTERM and signal.getsignal(signum) == signal.SIG_IGN:
                    continue
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)
            self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Raise once: a second signal must not interrupt the cleanup it started.
        if not self._signalled:
            self._signalled = True
            raise interrupts.request(signum)
