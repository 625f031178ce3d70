"""``parity trend REPORT... --out DIR``: the history of many runs, on the
terminal and as ``trend.html`` and ``badge.json`` (``harness/trend/``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich import box
from rich.table import Table
from rich.text import Text

from harness import trend as trends
from harness.cli.common import out, reported_errors
from harness.errors import HarnessError
from harness.reports.common import one_line
from harness.trend.runs import out_of_order

_HEADERS = ("run", "started", "profile", "cases", "open", "new", "fixed", "waived", "exit")


@click.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="the folder for trend.html and badge.json (created if needed)",
)
def trend(reports: tuple[Path, ...], out_dir: Path) -> None:
    """Follow causes across runs: REPORT is a report.json, a report folder, or
    a folder of many (each report.json below it, oldest first); give them in
    time order. Prints one row per run, writes trend.html and badge.json."""
    with reported_errors():
        history = trends.build(reports)
        if not history.runs:
            raise HarnessError("no report to follow")
        paths = trends.write(history, out_dir)
    print_table(history)
    counts = history.counts[-1]
    out.print(
        Text(
            f"last run: {counts.open} open cause(s), {counts.waived} waived; "
            f"wrote {paths['html']} and {paths['badge']}"
        )
    )


def print_table(history: trends.Trend) -> None:
    table = Table(title=f"{len(history.runs)} run(s)", box=box.SIMPLE_HEAD, title_justify="left")
    for header in _HEADERS:
        numeric = header not in {"run", "started", "profile"}
        table.add_column(
            header, justify="right" if numeric else "left", no_wrap=True, min_width=len(header)
        )
    for index, (run, counts) in enumerate(zip(history.runs, history.counts, strict=True)):
        cells = [
            f"#{index + 1}",
            _when(run.started_at),
            one_line(run.profile),
            str(run.cases),
            str(counts.open),
            str(counts.new),
            str(counts.fixed),
            str(counts.waived),
            str(run.exit_code),
        ]
        table.add_row(*(Text(cell) for cell in cells))
    out.print(table, soft_wrap=False)
    for index, run in enumerate(history.runs):
        for note in run.missing():
            out.print(Text(f"#{index + 1} {one_line(run.source)}: {note}"))
    for line in out_of_order(history.runs):
        out.print(Text(f"note: {line}"))


def _when(started_at: str) -> str:
    """A run's start to the minute (the report keeps the exact instant)."""
    try:
        return dt.datetime.fromisoformat(started_at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return one_line(started_at)
