"""``parity run``: the suites, their progress and the findings table."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from harness import config, runner
from harness.cli.common import FiniteFloatRange, err, out, reported_errors, resolve_config
from harness.events import CaseChecked, Event, SuiteFinished, SuiteStarted
from harness.model import Cause, CauseStatus, Finding, RunSummary


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
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="an earlier report.json: only causes it does not list fail the gate",
)
@click.option(
    "--base-ref",
    help="a git revision: its sample stacks verify each new cause (pre-existing ones pass)",
)
@click.option(
    "--base-config",
    type=click.Path(path_type=Path),
    help="a parity.toml of the base revision's runtimes: they verify each new cause",
)
@click.option(
    "--max-time",
    type=FiniteFloatRange(min=1),
    help="bound the whole run (seconds), shared between the suites",
)
@click.option(
    "--aa-rate",
    type=click.FloatRange(min=0, max=1),
    help="share of explored live cases asked twice of each runtime (A/A; default 0.1)",
)
@click.option(
    "--flaky-replays",
    type=click.IntRange(min=1, max=20),
    help="replays of a new cause's trigger before it fails the gate (default 3)",
)
@click.option(
    "--fail-on-flaky/--no-fail-on-flaky",
    default=None,
    help="a flaky new cause fails the gate too (default: no)",
)
@click.option(
    "--fail-on-unstable/--no-fail-on-unstable",
    default=None,
    help="an unstable path fails the gate (default: yes)",
)
@click.option(
    "--min-rule-cases",
    type=click.IntRange(min=0),
    help="fail (exit 2) when a rule a suite declares was exercised by fewer cases",
)
@click.option(
    "--shard",
    callback=lambda ctx, param, value: _shard(value),
    metavar="I/N",
    help="explore part I of N of each suite's budget (parity merge joins the parts)",
)
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
    baseline: Path | None,
    base_ref: str | None,
    base_config: Path | None,
    max_time: float | None,
    aa_rate: float | None,
    flaky_replays: int | None,
    fail_on_flaky: bool | None,
    fail_on_unstable: bool | None,
    shard: tuple[int, int] | None,
    min_rule_cases: int | None,
    debug: bool,
) -> None:
    """Run the suites through the reference and every target; write reports."""
    with reported_errors():
        cfg = resolve_config(config_path)
        if cfg.path is None and build:
            build_sample_stacks()
        progress = Progress(
            TextColumn("{task.description:<14}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.elapsed:>5.1f}s", markup=False),
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
            baseline=baseline,
            base_ref=base_ref,
            base_config=base_config,
            max_time_s=max_time,
            aa_rate=aa_rate,
            flaky_replays=flaky_replays,
            fail_on_flaky=fail_on_flaky,
            fail_on_unstable=fail_on_unstable,
            shard=shard,
            min_rule_cases=min_rule_cases,
            listeners=(ProgressListener(progress),),
        )
        with progress:
            summary, paths = runner.run(cfg, options)
        print_summary(summary, paths)
        print_tracebacks(summary, paths, debug=debug)
    sys.exit(summary.exit_code)


def _shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise click.BadParameter(f"{value!r} is not I/N with 1 <= I <= N (e.g. 2/4)")
    return int(index), int(count)


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
    """One row per cause, readable in an 80-column CI log, then where the
    details are and the verdict."""
    print_causes(summary)
    print_coverage(summary)
    print_errors(summary)
    if summary.max_time_s is not None:
        print_shares(summary)
    if summary.baseline is not None:
        print_baseline(summary)
    for use in summary.declared_volatile:
        state = "UNUSED (never varied)" if use["unused"] else f"varied {use['varied']}x"
        line = f"declared volatile {use['suite']} {use['path']}: {state}, hid {use['masked']}"
        out.print(Text(line))
    for waiver in summary.expired_waivers:
        out.print(Text("expired waiver: ", style="red") + Text(waiver))
    reproducers = sorted({Path(f.reproducer).parent for f in _all(summary) if f.reproducer})
    for folder in reproducers:
        out.print(Text(f"reproducers: {folder}/  (replay: parity repro {folder})"))
    verdict = {0: "parity", 1: "divergence", 2: "infrastructure error"}[summary.exit_code]
    if summary.exit_code == 2 and summary.uncovered and not any(s.errors for s in summary.suites):
        verdict = "rule coverage below --min-rule-cases"
    short = [suite.suite for suite in summary.suites if suite.out_of_time]
    if summary.exit_code == 0 and short:
        verdict = f"parity in the cases checked, {', '.join(short)} cut short by --max-time"
    out.print(f"result: {verdict} (exit {summary.exit_code}) in {summary.elapsed_s:.1f}s")
    for kind, path in sorted(paths.items()):
        out.print(Text(f"  {kind}: {path}"))


def _all(summary: RunSummary) -> list[Finding]:
    return [f for suite in summary.suites for f in (*suite.errors, *suite.findings)]


def print_causes(summary: RunSummary) -> None:
    if not summary.causes:
        return
    baseline = summary.baseline is not None
    rows = [_cause_row(cause, baseline=baseline) for cause in summary.causes]
    headers = ["gate", "cause", "blamed", "summary", "finds", "seen"]
    # No cell may wrap: every column but the summary is as wide as its widest
    # cell, and the summary gets what is left of the line (an 80-column log).
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fixed = sum(w for h, w in zip(headers, widths, strict=True) if h != "summary")
    room = max(20, out.width - fixed - 3 * len(headers) - 1)
    table = Table(title=f"{len(rows)} causes", box=box.SIMPLE_HEAD, title_justify="left")
    for header in headers:
        numeric = header in {"finds", "seen"}
        table.add_column(
            header,
            no_wrap=True,
            justify="right" if numeric else "left",
            overflow="ellipsis",
            max_width=room if header == "summary" else None,
        )
    for row in rows:
        table.add_row(*(Text(cell, style=_style(cell)) for cell in row))
    out.print(table, soft_wrap=False)
    out.print(Text("every finding of every cause: report.md, report.html, report.json"))


def _cause_row(cause: Cause, *, baseline: bool) -> list[str]:
    what = cause.summary.removeprefix(", ".join(cause.blamed) + ": ")
    count, seen = str(len(cause.findings)), str(cause.occurrences)
    return [_gate(cause, baseline=baseline), cause.id, ",".join(cause.blamed), what, count, seen]


def _gate(cause: Cause, *, baseline: bool) -> str:
    """What the cause does to the gate, in a word."""
    if not cause.fails_gate:
        waived = cause.waived_by is not None or any(f.waived_by for f in cause.findings)
        if waived:
            return "waived"
        return "exempt" if any(f.exempt for f in cause.findings) else "enc"
    if baseline:
        if cause.status is CauseStatus.PRE_EXISTING:
            return "pre"
        if cause.new:
            return "flaky" if cause.flaky else "NEW"
        return "known"
    return "FAIL"


def _style(cell: str) -> str:
    return "bold red" if cell in {"NEW", "FAIL"} else ""


def print_coverage(summary: RunSummary) -> None:
    """One line when every declared rule was exercised; else the rules no
    case exercised, per suite; and each rule below --min-rule-cases."""
    tallies = [s.coverage for s in summary.suites if s.coverage is not None and s.coverage.declared]
    never = [(t.suite, rule) for t in tallies for rule in t.never()]
    total = sum(len(t.declared) for t in tallies)
    least = min((t.count(r) for t in tallies for r in t.declared), default=0)
    if total == 0:
        pass  # no suite ran far enough to count
    elif not never:
        out.print(
            Text(
                f"rule coverage: all {total} declared rules exercised (the rarest by {least} cases)"
            )
        )
    else:
        out.print(Text(f"rule coverage: {len(never)} of {total} declared rules never exercised:"))
        for suite, rule in never:
            out.print(Text(f"  {suite}: {rule}"))
    for line in summary.uncovered:
        err.print(Text(f"coverage error: {line}", style="red"))


def print_errors(summary: RunSummary) -> None:
    for suite in summary.suites:
        for error in suite.errors:
            blamed = ", ".join(error.failure.blamed) or "harness"
            line = f"infrastructure error ({suite.suite}, {blamed}): {error.failure.message}"
            err.print(Text(line, style="red"))


def print_shares(summary: RunSummary) -> None:
    """With --max-time: what each suite checked in the time it was given."""
    out.print(Text(f"--max-time {summary.max_time_s:g}s, shared between the suites:"))
    for suite in summary.suites:
        share = f"{suite.share_s:.1f}s" if suite.share_s is not None else "-"
        end = "its share ran out" if suite.out_of_time else "done within it"
        out.print(Text(f"  {suite.suite}: {suite.cases} cases in a {share} share ({end})"))


def print_baseline(summary: RunSummary) -> None:
    outcome = summary.baseline
    assert outcome is not None
    new = [cause for cause in summary.causes if cause.new and not cause.flaky]
    flaky = [cause for cause in summary.causes if cause.new and cause.flaky]
    source = f"baseline {outcome.source}" if outcome.source else "no baseline"
    line = (
        f"{source}: {len(new)} new, {len(flaky)} flaky, {len(outcome.pre_existing)} "
        f"pre-existing, {len(outcome.known)} known, {len(outcome.fixed)} fixed, "
        f"{len(outcome.unobserved)} unobserved"
    )
    out.print(Text(line))
    if outcome.base is not None:
        out.print(Text(f"  new causes were replayed on the base runtimes: {outcome.base}"))
    elif new:
        out.print(
            Text("  new is unverified: no base runtimes (--base-ref or --base-config) replayed it")
        )
    if outcome.schema_version == "1":
        out.print(Text("  (a version 1 report has no causes: known means all findings were in it)"))
    for cause in new + flaky:
        which = ", ".join(cause.new_findings)
        rate = (
            f" (showed {cause.flakiness.shown}/{cause.flakiness.replays})"
            if cause.flaky and cause.flakiness
            else ""
        )
        out.print(Text(f"  new {cause.id}{rate}: new finding(s) {which}"))
    for known in outcome.fixed:
        out.print(Text(f"  fixed {known.id} {known.summary}"))
    for known in outcome.unobserved:
        out.print(Text(f"  unobserved {known.id} (its suites did not run) {known.summary}"))


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
