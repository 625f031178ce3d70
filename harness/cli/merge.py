"""``parity merge``: the reports of a run's shards as one run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness import runner
from harness.cli.common import reported_errors, resolve_config
from harness.cli.run import print_summary, print_tracebacks


@click.command()
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="parity.toml of the shards' run (default: ./parity.toml, else the sample stacks)",
)
@click.option("--report-dir", type=click.Path(path_type=Path), help="default: parity-report/")
@click.option("--waivers", type=click.Path(path_type=Path), help="waivers.toml")
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="an earlier report.json: only causes it does not list fail the gate",
)
@click.option("--base-ref", help="a git revision: its sample stacks verify each new cause")
@click.option(
    "--base-config",
    type=click.Path(path_type=Path),
    help="a parity.toml of the base revision's runtimes",
)
@click.option("--debug", is_flag=True, help="print the traceback of a harness error")
def merge(
    shards: tuple[Path, ...],
    config_path: Path | None,
    report_dir: Path | None,
    waivers: Path | None,
    baseline: Path | None,
    base_ref: str | None,
    base_config: Path | None,
    debug: bool,
) -> None:
    """Merge the report folders of `parity run --shard i/n` into one run.

    Checks that the shards are one run's parts (the same config digest, the
    same n, every shard once), unites their findings, replays every minimal
    case here to group them into causes, applies waivers and the baseline,
    and writes every report format. Exits 0, 1 or 2 as `parity run` would.
    """
    with reported_errors():
        cfg = resolve_config(config_path)
        options = runner.RunOptions(
            report_dir=report_dir,
            waivers=waivers,
            baseline=baseline,
            base_ref=base_ref,
            base_config=base_config,
        )
        summary, paths = runner.merge(cfg, shards, options)
        print_summary(summary, paths)
        print_tracebacks(summary, paths, debug=debug)
    sys.exit(summary.exit_code)
