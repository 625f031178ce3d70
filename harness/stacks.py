"""Lifecycle of the two sample stacks: build, start, health, stop (``parity stacks ...``).

Two ways to run a stack:

* attached, for a harness run: ``start`` (or the ``Stacks`` context manager)
  launches a daemon in its own process group, waits for ``GET /health`` and
  guarantees a stop on exit, on an exception, on Ctrl-C, on SIGTERM/SIGHUP and,
  as a last resort, from ``atexit``;
* detached, for a human: ``up`` starts both stacks, each with its own scripted
  model as upstream, in new sessions that outlive the caller, and records them
  in ``.parity/stacks.json``; ``status`` and ``down`` read that file.

Every command is an argv list: nothing here goes through a shell.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final

import httpx

from harness import atomic, defaults, interrupts
from harness.errors import HarnessError

PACKAGE_ROOT: Final = Path(__file__).resolve().parents[1]
REPO_ROOT: Final = PACKAGE_ROOT
HOST: Final = "127.0.0.1"
STATE_VERSION: Final = 1

LOG_TAIL_LINES: Final = 40


class StackError(HarnessError):
    """A stack could not be built, started or stopped; the message says why."""


# -- specs and builds --------------------------------------------------------------


@dataclass(frozen=True)
class StackSpec:
    """How to build and run one stack. Relative paths are relative to ``workdir``."""

    name: str
    workdir: Path
    build_argv: tuple[str, ...]
    binary: Path
    default_port: int
    daemon: str  # the session log's ``daemon`` value
    sources: tuple[str, ...]  # glob patterns; a newer match makes the binary stale
    launcher: tuple[str, ...] = ()  # prefix for the binary's argv (an interpreter)

    @property
    def binary_path(self) -> Path:
        return self.workdir / self.binary

    def source_files(self) -> list[Path]:
        found = {path for pattern in self.sources for path in self.workdir.glob(pattern)}
        return sorted(path for path in found if path.is_file())


def default_specs(targets: Path = REPO_ROOT / "targets") -> dict[str, StackSpec]:
    """The two sample stacks of ``targets/`` (see ``targets/Makefile``)."""
    rust = StackSpec(
        name="rust",
        workdir=targets / "rust-gateway",
        build_argv=("cargo", "build", "--release", "--locked"),
        binary=Path("target/release/gateway"),
        default_port=3100,
        daemon="gateway",
        sources=("Cargo.toml", "Cargo.lock", "build.rs", "src/**/*"),
    )
    go = StackSpec(
        name="go",
        workdir=targets / "go-validatord",
        build_argv=("go", "build", "-trimpath", "-o", "bin/", "./cmd/..."),
        binary=Path("bin/validatord"),
        default_port=4110,
        daemon="validatord",
        sources=("go.mod", "go.sum", "**/*.go"),
    )
    return {rust.name: rust, go.name: go}


@dataclass(frozen=True)
class BuildResult:
    name: str
    built: bool
    reason: str  # why it was (or was not) built
    duration_s: float = 0.0


def staleness(spec: StackSpec) -> str | None:
    """Why the binary must be (re)built, or None when it is newer than every source."""
    binary = spec.binary_path
    if not binary.is_file():
        return f"{binary} is missing"
    built_at = binary.stat().st_mtime_ns
    newer = [path for path in spec.source_files() if path.stat().st_mtime_ns > built_at]
    if newer:
        shown = ", ".join(str(path.relative_to(spec.workdir)) for path in newer[:3])
        more = f" and {len(newer) - 3} more" if len(newer) > 3 else ""
        return f"sources changed since the last build: {shown}{more}"
    return None


def build(
    spec: StackSpec, force: bool = False, *, timeout_s: float = defaults.STACK_BUILD_TIMEOUT_S
) -> BuildResult:
    """Build when forced, or when the binary is missing or older than a source."""
    reason = "forced" if force else staleness(spec)
    if reason is None:
        return BuildResult(spec.name, built=False, reason="up to date")
    started, started_ns = time.monotonic(), time.time_ns()
    output = _run_build(spec, timeout_s)
    binary = spec.binary_path
    if not binary.is_file():
        raise StackError(f"{spec.name}: the build succeeded but {binary} is missing\n{output}")
    # An up-to-date Go build leaves the binary untouched; mark it as built now so
    # staleness() agrees. The build's start, not its end: a source saved during
    # the build must still look newer.
    if binary.stat().st_mtime_ns < started_ns:
        os.utime(binary, ns=(started_ns, started_ns))
    return BuildResult(spec.name, True, reason, time.monotonic() - started)


def _run_build(spec: StackSpec, timeout_s: float) -> str:
    command = " ".join(spec.build_argv)
    try:
        done = subprocess.run(
            spec.build_argv,
            cwd=spec.workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise StackError(f"{spec.name}: cannot run `{command}`: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        tail = _tail_text(exc.output or b"")
        raise StackError(
            f"{spec.name}: `{command}` timed out after {timeout_s:g}s\n{tail}"
        ) from exc
    tail = _tail_text(done.stdout)
    if done.returncode != 0:
        raise StackError(
            f"{spec.name}: `{command}` failed with exit code {done.returncode} "
            f"in {spec.workdir}\n{tail}"
        )
    return tail


def build_all(specs: Iterable[StackSpec] | None = None, force: bool = False) -> list[BuildResult]:
    """``parity stacks build``: every stack, in order; the first failure raises."""
    chosen = list(default_specs().values()) if specs is None else list(specs)
    return [build(spec, force) for spec in chosen]


# -- attached processes --------------------------------------------------------------


@dataclass(eq=False)
class StackProcess:
    """One running daemon (a stack or a scripted model), its port and its log."""

    name: str
    port: int
    log_path: Path
    argv: tuple[str, ...]
    popen: subprocess.Popen[bytes] = field(repr=False)
    spec: StackSpec | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_s: float = defaults.STACK_STOP_GRACE_S) -> int:
        """SIGTERM the process group, SIGKILL it after ``grace_s``; returns the exit code."""
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait()
        _forget(self)
        return self.popen.returncode

    def _signal(self, signum: signal.Signals) -> None:
        # The child leads its own process group (see _spawn): signal all of it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return read_log_tail(self.log_path, lines)


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def daemon_argv(
    spec: StackSpec,
    *,
    port: int,
    upstream_url: str,
    roster: Path,
    session_log: Path | None,
    upstream_timeout_ms: int,
) -> list[str]:
    """The command line of docs/decisions.md §5; ``--flag=value`` so no value reads as a flag."""
    argv = [
        *spec.launcher,
        str(spec.binary_path),
        f"--port={port}",
        f"--upstream={upstream_url}",
        f"--roster={roster.resolve()}",
        f"--upstream-timeout-ms={upstream_timeout_ms}",
    ]
    if session_log is not None:
        argv.append(f"--session-log={session_log.resolve()}")
    return argv


def start(
    spec: StackSpec,
    *,
    port: int = 0,
    upstream_url: str,
    roster: Path,
    session_log: Path | None = None,
    log_dir: Path,
    upstream_timeout_ms: int = defaults.UPSTREAM_TIMEOUT_MS,
    health_timeout_s: float = defaults.STACK_HEALTH_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
    detached: bool = False,
) -> StackProcess:
    """Start a built stack and wait until it answers ``GET /health``.

    ``port=0`` picks a free port. Output goes to ``log_dir/<name>.log``. A
    daemon that dies or stays unhealthy is stopped and reported with its log
    tail. Unless ``detached``, the process is stopped at interpreter exit.
    """
    if not spec.binary_path.is_file():
        raise StackError(f"{spec.name}: {spec.binary_path} is missing; build it first")
    chosen = port or free_port()
    argv = daemon_argv(
        spec,
        port=chosen,
        upstream_url=upstream_url,
        roster=roster,
        session_log=session_log,
        upstream_timeout_ms=upstream_timeout_ms,
    )
    process = launch(
        spec.name,
        argv,
        port=chosen,
        cwd=spec.workdir,
        log_dir=log_dir,
        env=env,
        detached=detached,
        health_timeout_s=health_timeout_s,
    )
    process.spec = spec
    return process


def launch(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    cwd: Path,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    detached: bool = False,
    health_timeout_s: float = defaults.STACK_HEALTH_TIMEOUT_S,
) -> StackProcess:
    """Spawn any daemon that serves ``GET /health`` on ``port`` and wait for it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    popen = _spawn(argv, cwd=cwd, log_path=log_path, env=env, detached=detached)
    process = StackProcess(name, port, log_path, tuple(argv), popen)
    if detached:
        _DETACHED[popen.pid] = popen
    else:
        _remember(process)
    try:
        wait_healthy(process, health_timeout_s)
    except BaseException:
        process.stop()
        raise
    return process


def _spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    env: Mapping[str, str] | None,
    detached: bool,
) -> subprocess.Popen[bytes]:
    # Own process group (attached) so a terminal's Ctrl-C reaches only us and we
    # stop the daemon in order; own session (detached) so it outlives us.
    with log_path.open("wb") as log:
        try:
            return subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(env),
                start_new_session=detached,
                process_group=None if detached else 0,
            )
        except OSError as exc:
            raise StackError(f"cannot start {argv[0]}: {exc}") from exc


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment minus ``LAKEHOUSE_*`` (flags say everything), plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAKEHOUSE_")}
    env.update(extra or {})
    return env


def wait_healthy(process: StackProcess, timeout_s: float) -> None:
    """Poll ``GET /health`` until 200; a clear StackError if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    # trust_env=False: a proxy from the environment must not intercept 127.0.0.1.
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while True:
            code = process.popen.poll()
            if code is not None:
                raise StackError(
                    f"{process.name} exited with code {code} during start-up "
                    f"(log {process.log_path}):\n{process.log_tail()}"
                )
            if _answers_health(client, process.url):
                return
            if time.monotonic() >= deadline:
                raise StackError(
                    f"{process.name} did not answer GET {process.url}/health within "
                    f"{timeout_s:g}s (log {process.log_path}):\n{process.log_tail()}"
                )
            time.sleep(0.05)


def _answers_health(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url + "/health").status_code == 200
    except httpx.HTTPError:
        return False


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"<cannot read {path}: {exc.strerror}>"
    return _tail_text(data, lines) or "<empty log>"


def _tail_text(data: bytes, lines: int = LOG_TAIL_LINES) -> str:
    text = data[-64 * 1024 :].decode("utf-8", errors="replace")
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


# Attached processes still running: stopped by Stacks, or at interpreter exit.
_LIVE: set[StackProcess] = set()
_LIVE_LOCK = threading.Lock()
_ATEXIT_INSTALLED = False
# Detached children of this process, kept so they can be reaped (no zombies, no
# "still running" ResourceWarning) when `down` runs in the same process.
_DETACHED: dict[int, subprocess.Popen[bytes]] = {}


def _remember(process: StackProcess) -> None:
    global _ATEXIT_INSTALLED
    with _LIVE_LOCK:
        _LIVE.add(process)
        if not _ATEXIT_INSTALLED:
            atexit.register(stop_all)
            _ATEXIT_INSTALLED = True


def _forget(process: StackProcess) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(process)
        _DETACHED.pop(process.pid, None)


def stop_all() -> None:
    """Stop every attached process still running (the ``atexit`` fallback)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        with contextlib.suppress(Exception):
            process.stop()


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


# -- detached: up / status / down ------------------------------------------------------


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
        start_ticks=_proc_start_ticks(process.pid),
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
    return ProcessStatus(record, running, running and _answers_health(client, record.url))


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
    _DETACHED.pop(record.pid, None)
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


def pid_running(pid: int, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` is still the live (non-zombie) process that was recorded."""
    child = _DETACHED.get(pid)
    if child is not None:
        return child.poll() is None  # our own child: poll() also reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists but is not ours; /proc decides below
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (not Linux): existence is all we can know
    state, ticks = stat
    if state in ("Z", "X"):
        return False
    return start_ticks is None or ticks == start_ticks


def _proc_start_ticks(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) from /proc/<pid>/stat, if there is one."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])
