"""Building the sample stacks: only when a binary is missing or older than
a source (``parity stacks build``)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass

from harness import defaults
from harness.stacks.spec import StackError, StackSpec, default_specs, tail_text


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
        tail = tail_text(exc.output or b"")
        raise StackError(
            f"{spec.name}: `{command}` timed out after {timeout_s:g}s\n{tail}"
        ) from exc
    tail = tail_text(done.stdout)
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
