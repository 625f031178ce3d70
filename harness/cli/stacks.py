"""``parity stacks``: build, start, inspect and stop the sample stacks."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness import defaults
from harness.cli.common import EXIT_DIVERGENCE, EXIT_OK, out, reported_errors


@click.group("stacks")
def stacks_group() -> None:
    """Build, start, inspect and stop the sample stacks of targets/."""


@stacks_group.command("build")
@click.option("--force", is_flag=True, help="build even when up to date")
def stacks_build(force: bool) -> None:
    """Build each stack whose binary is missing or older than its sources."""
    from harness import stacks

    with reported_errors():
        for result in stacks.build_all(force=force):
            if result.built:
                line = f"{result.name}: built ({result.reason}) in {result.duration_s:.0f}s"
            else:
                line = f"{result.name}: {result.reason}"
            out.print(line, markup=False, soft_wrap=True)


@stacks_group.command("up")
@click.option("--state-dir", type=click.Path(path_type=Path), help="default: .parity/")
@click.option("--roster", type=click.Path(path_type=Path, exists=True), help="roster.jsonl")
@click.option("--session-log", type=click.Path(path_type=Path), help="one shared log")
@click.option("--script", type=click.Path(path_type=Path, exists=True), help="model replies")
@click.option("--rust-port", type=click.IntRange(0, 65535), help="default 3100 (0: any)")
@click.option("--go-port", type=click.IntRange(0, 65535), help="default 4110 (0: any)")
@click.option(
    "--upstream-timeout-ms",
    type=click.IntRange(min=1),
    default=defaults.UPSTREAM_TIMEOUT_MS,
    show_default=True,
)
@click.option("--build/--no-build", default=True, help="build first when stale")
def stacks_up(
    state_dir: Path | None,
    roster: Path | None,
    session_log: Path | None,
    script: Path | None,
    rust_port: int | None,
    go_port: int | None,
    upstream_timeout_ms: int,
    build: bool,
) -> None:
    """Start both stacks in the background, each behind its own scripted model."""
    from harness import stacks

    ports = {n: p for n, p in (("rust", rust_port), ("go", go_port)) if p is not None}
    with reported_errors():
        state = stacks.up(
            state_dir=state_dir,
            roster=roster,
            ports=ports or None,
            session_log=session_log,
            script=script,
            upstream_timeout_ms=upstream_timeout_ms,
            build_first=build,
        )
    for record in state.processes:
        upstream = f" upstream {record.upstream}" if record.upstream else ""
        out.print(
            f"{record.name}: {record.url} (pid {record.pid}){upstream}; log {record.log}",
            markup=False,
            soft_wrap=True,
        )
    out.print(f"state: {state.path}; stop with `parity stacks down`", markup=False, soft_wrap=True)


@stacks_group.command("status")
@click.option("--state-dir", type=click.Path(path_type=Path), help="default: .parity/")
def stacks_status(state_dir: Path | None) -> None:
    """Each recorded process: running, healthy. Exit 1 when one is not."""
    from harness import stacks

    with reported_errors():
        statuses = stacks.status(state_dir)
    if not statuses:
        out.print("no stacks are up")
        sys.exit(EXIT_OK)
    for item in statuses:
        record = item.record
        state = "healthy" if item.healthy else "running, unhealthy" if item.running else "stopped"
        line = f"{record.name}: {state} at {record.url} (pid {record.pid})"
        out.print(line, markup=False, soft_wrap=True)
    sys.exit(EXIT_OK if all(item.healthy for item in statuses) else EXIT_DIVERGENCE)


@stacks_group.command("down")
@click.option("--state-dir", type=click.Path(path_type=Path), help="default: .parity/")
def stacks_down(state_dir: Path | None) -> None:
    """Stop every process `parity stacks up` started."""
    from harness import stacks

    with reported_errors():
        stopped = stacks.down(state_dir)
    if not stopped:
        out.print("no stacks are up")
    for item in stopped:
        out.print(f"{item.name} (pid {item.pid}): {item.outcome}", markup=False, soft_wrap=True)
