"""``parity repro``: replay reproducer files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness import runner
from harness.cli.common import out, reported_errors, resolve_config


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="parity.toml (default: ./parity.toml, else the sample stacks)",
)
def repro(paths: tuple[Path, ...], config_path: Path | None) -> None:
    """Replay reproducer files or folders: 0 fixed, 1 still diverges, 2 error."""

    def show(replayed: runner.Replayed) -> None:
        if replayed.infrastructure_error:
            verdict = "infrastructure error"
        elif replayed.diverges:
            verdict = "still diverges"
        elif replayed.result.failures:
            verdict = "differs in encoding only (does not fail the gate)"
        else:
            verdict = "no longer diverges"
        out.print(f"{replayed.reproducer.path}: {verdict}")
        for failure in replayed.result.failures:
            out.print(f"  {failure.cls} at {failure.path} ({', '.join(failure.blamed)})")

    with reported_errors():
        cfg = resolve_config(config_path)
        results = runner.replay(cfg, list(paths), on_result=show)
    sys.exit(runner.replay_exit_code(results))
