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

``spec`` (what a stack is, the two of ``targets/``, ``StackError``), ``builds``
(builds, only when stale), ``process`` (one attached daemon, the ``atexit``
fallback, pid checks), ``attached`` (``Stacks``: signals), ``detached``
(``up``, ``status``, ``down`` and the state file). This package's names are
the public ones of all five.
"""

from __future__ import annotations

from harness.stacks.attached import Stacks
from harness.stacks.builds import BuildResult, build, build_all, staleness
from harness.stacks.detached import (
    ProcessRecord,
    ProcessStatus,
    StackState,
    StoppedProcess,
    default_state_dir,
    down,
    read_state,
    state_path,
    status,
    up,
)
from harness.stacks.process import (
    StackProcess,
    child_env,
    daemon_argv,
    free_port,
    launch,
    pid_running,
    read_log_tail,
    start,
    stop_all,
    wait_healthy,
)
from harness.stacks.spec import (
    HOST,
    PACKAGE_ROOT,
    REPO_ROOT,
    StackError,
    StackSpec,
    default_specs,
)

__all__ = [
    "HOST",
    "PACKAGE_ROOT",
    "REPO_ROOT",
    "BuildResult",
    "ProcessRecord",
    "ProcessStatus",
    "StackError",
    "StackProcess",
    "StackSpec",
    "StackState",
    "Stacks",
    "StoppedProcess",
    "build",
    "build_all",
    "child_env",
    "daemon_argv",
    "default_specs",
    "default_state_dir",
    "down",
    "free_port",
    "launch",
    "pid_running",
    "read_log_tail",
    "read_state",
    "staleness",
    "start",
    "state_path",
    "status",
    "stop_all",
    "up",
    "wait_healthy",
]
