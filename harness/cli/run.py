"""``parity run``: the suites, their progress and the findings table."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from harness import config, runner
from harness.cli.common import err, out, reported_errors, resolve_config
from harness.model import CaseChecked, Event, RunSummary, SuiteFinished, SuiteStarted


class ProgressListener:
    """Draws one bar per suite; prints a line when a suite ends."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, SuiteStarted):
            self.tasks[event.suite] = self.progress.add_task(event.suite, total=event.budget)
        elif isinstance(event, CaseChecked):
            self.progress.advance(self.tasks[event.suite])
        elif isinstance(event, SuiteFinished):
            task = self.tasks[event.suite]
            self.progress.update(task, total=event.cases, completed=event.cases)
            waived = sum(1 for f in event.findings if f.waived_by)
            self.progress.console.print(
                f"{event.suite}: {event.cases} cases, {len(event.findings)} divergences"
                f" ({waived} waived), {len(event.errors)} infrastructure errors"
                f" in {event.elapsed_s:.1f}s"
            )


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="parity.toml (default: ./parity.toml, else the sample stacks)",
)
@click.option(
    "--suite",
    "suites",
    multiple=True,
    type=click.Choice(config.ALL_SUITES),
    help="run only this suite (repeatable; default: every suite the targets support)",
)
@click.option("--profile", type=click.Choice(["quick", "ci", "thorough"]))
@click.option("--max-examples", type=click.IntRange(min=1), help="cases per suite")
@click.option("--seed", type=int, help="Hypothesis seed, for a reproducible run")
@click.option("--report-dir", type=click.Path(path_type=Path), help="default: parity-report/")
@click.option("--waivers", type=click.Path(path_type=Path), help="waivers.toml")
@click.option("--build/--no-build", default=True, help="build the sample stacks when stale")
@click.option("--shrink/--no-shrink", default=True, help="shrink each divergence")
@click.option("--debug", is_flag=True, help="print the traceback of a harness error")
def run(
    config_path: Path | None,
    suites: tuple[str, ...],
    profile: str | None,
    max_examples: int | None,
    seed: int | None,
    report_dir: Path | None,
    waivers: Path | None,
    build: bool,
    shrink: bool,
    debug: bool,
) -> None:
    """Run the suites through the reference and every target; write reports."""
    with reported_errors():
        cfg = resolve_config(config_path)
        if cfg.path is None and build:
            build_sample_stacks()
        progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.elapsed:>5.1f}s"),
            console=out,
            disable=not out.is_terminal,
        )
        options = runner.RunOptions(
            suites=suites,
            profile=profile,
            max_examples=max_examples,
            seed=seed,
            report_dir=report_dir,
            waivers=waivers,
            shrink=shrink,
            listeners=(ProgressListener(progress),),
        )
        with progress:
            summary, paths = runner.run(cfg, options)
        print_summary(summary, paths)
        print_tracebacks(summary, paths, debug=debug)
    sys.exit(summary.exit_code)


def build_sample_stacks() -> None:
    from harness import stacks

    for spec in stacks.default_specs().values():
        reason = stacks.staleness(spec)
        if reason is None:
            continue
        # A first Rust build takes minutes: say so before the screen goes quiet.
        out.print(f"building {spec.name} ({reason}); the first build takes a few minutes...")
        result = stacks.build(spec)
        out.print(f"built {result.name} in {result.duration_s:.0f}s")


def print_summary(summary: RunSummary, paths: dict[str, Path]) -> None:
    table = Table(title="findings", show_lines=False)
    for column in ("suite", "class", "path", "blamed", "seen", "id"):
        table.add_column(column, overflow="fold")
    reproducers: set[Path] = set()
    for suite in summary.suites:
        for finding in [*suite.errors, *suite.findings]:
            failure = finding.failure
            waived = " (waived)" if finding.waived_by else ""
            table.add_row(
                suite.suite,
                str(failure.cls) + waived,
                failure.path,
                ", ".join(failure.blamed) or "-",
                str(finding.occurrences),
                failure.fingerprint,
            )
            if finding.reproducer:
                reproducers.add(Path(finding.reproducer).parent)
    if table.row_count:
        out.print(table)
    for folder in sorted(reproducers):
        out.print(f"reproducers: {folder}/  (replay: parity repro {folder})")
    for waiver in summary.expired_waivers:
        out.print(f"[red]expired waiver:[/] {waiver}")
    verdict = {0: "parity", 1: "divergence", 2: "infrastructure error"}[summary.exit_code]
    out.print(f"result: {verdict} (exit {summary.exit_code}) in {summary.elapsed_s:.1f}s")
    for kind, path in sorted(paths.items()):
        out.print(f"  {kind}: {path}")


def print_tracebacks(summary: RunSummary, paths: dict[str, Path], *, debug: bool) -> None:
    """A harness bug that ended a suite: its traceback with ``--debug``, and
    where to find it otherwise."""
    for suite in summary.suites:
        if suite.traceback is None:
            continue
        if debug:
            err.print(suite.traceback, markup=False)
        else:
            where = paths.get("json", "report.json")
            err.print(f"{suite.suite}: traceback in {where} (or rerun with --debug)")
