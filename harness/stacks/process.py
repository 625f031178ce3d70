"""Attached processes: a daemon (a stack or a scripted model) started in its
own process group, waited for until it answers ``GET /health``, and stopped
on request or, as a last resort, from ``atexit``; and whether a recorded pid
is still the process that was started."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness import defaults
from harness.stacks.spec import HOST, LOG_TAIL_LINES, StackError, StackSpec, tail_text


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
    langfuse: tuple[str, str, str] | None = None,
) -> list[str]:
    """The command line of docs/decisions.md §5; ``--flag=value`` so no value reads as a flag.
    ``langfuse``: (URL, public key, secret key) of a Langfuse host (CONTRACT §7)."""
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
    if langfuse is not None:
        url, public_key, secret_key = langfuse
        argv += [
            f"--langfuse-url={url}",
            f"--langfuse-public-key={public_key}",
            f"--langfuse-secret-key={secret_key}",
        ]
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
        DETACHED[popen.pid] = popen
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
            if answers_health(client, process.url):
                return
            if time.monotonic() >= deadline:
                raise StackError(
                    f"{process.name} did not answer GET {process.url}/health within "
                    f"{timeout_s:g}s (log {process.log_path}):\n{process.log_tail()}"
                )
            time.sleep(0.05)


def answers_health(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url + "/health").status_code == 200
    except httpx.HTTPError:
        return False


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"<cannot read {path}: {exc.strerror}>"
    return tail_text(data, lines) or "<empty log>"


# Attached processes still running: stopped by Stacks, or at interpreter exit.
_LIVE: set[StackProcess] = set()
_LIVE_LOCK = threading.Lock()
_ATEXIT_INSTALLED = False
# Detached children of this process, kept so they can be reaped (no zombies, no
# "still running" ResourceWarning) when `down` runs in the same process.
DETACHED: dict[int, subprocess.Popen[bytes]] = {}


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
        DETACHED.pop(process.pid, None)


def stop_all() -> None:
    """Stop every attached process still running (the ``atexit`` fallback)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        with contextlib.suppress(Exception):
            process.stop()


def pid_running(pid: int, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` is still the live (non-zombie) process that was recorded."""
    child = DETACHED.get(pid)
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


def proc_start_ticks(pid: int) -> int | None:
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
