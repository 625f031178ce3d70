"""Detached stacks, for a human: ``up`` starts both stacks, each with its own
scripted model as upstream, in new sessions that outlive the caller, and
records them in ``.parity/stacks.json``; ``status`` and ``down`` read that file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from harness import atomic, defaults
from harness.stacks.builds import build
from harness.stacks.process import (
    DETACHED,
    StackProcess,
    answers_health,
    free_port,
    launch,
    pid_running,
    proc_start_ticks,
    start,
)
from harness.stacks.spec import PACKAGE_ROOT, REPO_ROOT, StackError, StackSpec, default_specs

STATE_VERSION: Final = 1


def default_state_dir(root: Path = REPO_ROOT) -> Path:
    return root / ".parity"


def state_path(state_dir: Path) -> Path:
    return state_dir / "stacks.json"


@dataclass(frozen=True)
class ProcessRecord:
    """One detached process as ``.parity/stacks.json`` records it."""

    name: str
    role: str  # "stack" or "model"
    pid: int
    port: int
    url: str
    log: str
    argv: tuple[str, ...]
    started_at: str
    start_ticks: int | None  # /proc start time: tells a reused pid from ours
    upstream: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessRecord:
        return cls(**{**data, "argv": tuple(data["argv"])})


@dataclass(frozen=True)
class StackState:
    path: Path
    processes: tuple[ProcessRecord, ...]

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "processes": [asdict(p) for p in self.processes]}


@dataclass(frozen=True)
class ProcessStatus:
    record: ProcessRecord
    running: bool
    healthy: bool


@dataclass(frozen=True)
class StoppedProcess:
    name: str
    pid: int
    outcome: str  # "stopped", "killed" or "not running"


def up(
    specs: Sequence[StackSpec] | None = None,
    *,
    state_dir: Path | None = None,
    roster: Path | None = None,
    ports: Mapping[str, int] | None = None,
    session_log: Path | None = None,
    script: Path | None = None,
    upstream_timeout_ms: int = defaults.UPSTREAM_TIMEOUT_MS,
    build_first: bool = True,
    health_timeout_s: float = defaults.STACK_HEALTH_TIMEOUT_S,
) -> StackState:
    """Start the stacks detached, each with its own scripted model, and record them.

    Ports default to each spec's default port (``0`` picks a free one); the
    session log defaults to ``<state_dir>/sessions.jsonl``. On any failure
    everything started so far is stopped again.
    """
    chosen = list(default_specs().values()) if specs is None else list(specs)
    state_dir = state_dir or default_state_dir()
    _refuse_if_up(state_path(state_dir))
    if build_first:
        for spec in chosen:
            build(spec)
    started: list[tuple[StackProcess, str, str | None]] = []
    try:
        for spec in chosen:
            model = _start_model(spec.name, state_dir, script, health_timeout_s)
            started.append((model, "model", None))
            stack = start(
                spec,
                port=(ports or {}).get(spec.name, spec.default_port),
                upstream_url=model.url,
                roster=roster or REPO_ROOT / defaults.ROSTER,
                session_log=session_log or state_dir / "sessions.jsonl",
                log_dir=state_dir / "logs",
                upstream_timeout_ms=upstream_timeout_ms,
                health_timeout_s=health_timeout_s,
                detached=True,
            )
            started.append((stack, "stack", model.url))
    except BaseException:
        for process, _, _ in reversed(started):
            process.stop()
        raise
    state = StackState(state_path(state_dir), tuple(_record(*item) for item in started))
    _write_state(state)
    return state


def _start_model(
    name: str, state_dir: Path, script: Path | None, health_timeout_s: float
) -> StackProcess:
    port = free_port()
    argv = [sys.executable, "-m", "harness.mock_llm", "--port", str(port)]
    if script is not None:
        argv += ["--script", str(script.resolve())]
    pythonpath = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    return launch(
        f"model-{name}",
        argv,
        port=port,
        cwd=PACKAGE_ROOT,
        log_dir=state_dir / "logs",
        env={"PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"},
        detached=True,
        health_timeout_s=health_timeout_s,
    )


def _record(process: StackProcess, role: str, upstream: str | None) -> ProcessRecord:
    return ProcessRecord(
        name=process.name,
        role=role,
        pid=process.pid,
        port=process.port,
        url=process.url,
        log=str(process.log_path),
        argv=process.argv,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        start_ticks=proc_start_ticks(process.pid),
        upstream=upstream,
    )


def _refuse_if_up(path: Path) -> None:
    state = read_state(path.parent)
    if state is None:
        return
    running = [p.name for p in state.processes if pid_running(p.pid, p.start_ticks)]
    if running:
        raise StackError(
            f"stacks are already up ({', '.join(running)} running, see {path}); "
            "run `parity stacks down` first"
        )


def read_state(state_dir: Path | None = None) -> StackState | None:
    """The recorded detached processes, or None when nothing is up."""
    path = state_path(state_dir or default_state_dir())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = tuple(ProcessRecord.from_json(item) for item in data["processes"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StackError(f"{path} is unreadable ({exc}); remove it by hand") from exc
    return StackState(path, records)


def _write_state(state: StackState) -> None:
    state.path.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: a reader never sees half a file.
    atomic.write_text(state.path, json.dumps(state.to_json(), indent=2) + "\n")


def status(state_dir: Path | None = None) -> list[ProcessStatus]:
    """``parity stacks status``: each recorded process, alive or not, healthy or not."""
    state = read_state(state_dir)
    if state is None:
        return []
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        return [_status_of(client, record) for record in state.processes]


def _status_of(client: httpx.Client, record: ProcessRecord) -> ProcessStatus:
    running = pid_running(record.pid, record.start_ticks)
    return ProcessStatus(record, running, running and answers_health(client, record.url))


def down(
    state_dir: Path | None = None, *, grace_s: float = defaults.STACK_STOP_GRACE_S
) -> list[StoppedProcess]:
    """``parity stacks down``: SIGTERM then SIGKILL every recorded process; forget the state."""
    state = read_state(state_dir)
    if state is None:
        return []
    # Stacks before their models: a stack mid-request still gets its answer.
    ordered = sorted(state.processes, key=lambda record: record.role != "stack")
    stopped = [_stop_recorded(record, grace_s) for record in ordered]
    state.path.unlink(missing_ok=True)
    return stopped


def _stop_recorded(record: ProcessRecord, grace_s: float) -> StoppedProcess:
    if not pid_running(record.pid, record.start_ticks):
        return StoppedProcess(record.name, record.pid, "not running")
    outcome = "stopped"
    _killpg(record.pid, signal.SIGTERM)
    if not _wait_gone(record, grace_s):
        outcome = "killed"
        _killpg(record.pid, signal.SIGKILL)
        if not _wait_gone(record, 10.0):
            raise StackError(f"{record.name} (pid {record.pid}) survived SIGKILL")
    DETACHED.pop(record.pid, None)
    return StoppedProcess(record.name, record.pid, outcome)


def _killpg(pid: int, signum: signal.Signals) -> None:
    # A detached process leads its own session, so its group id is its pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _wait_gone(record: ProcessRecord, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while pid_running(record.pid, record.start_ticks):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
