"""``parity``: the command line. Exit codes: 0 parity, 1 divergence, 2 error."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from harness import __version__, config, defaults, runner, schema_store
from harness.errors import HarnessError
from harness.model import CaseChecked, Event, RunSummary, SuiteFinished, SuiteStarted

EXIT_OK, EXIT_DIVERGENCE, EXIT_ERROR = 0, 1, 2

# soft_wrap: in a CI log (not a terminal) a long path must stay on one line.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(EXIT_ERROR)


@contextmanager
def reported_errors() -> Iterator[None]:
    """A ``HarnessError`` (config, target, stack lifecycle) becomes one clear
    line; anything else is a harness bug, shown with its traceback. Both exit
    2: neither can vouch for parity."""
    try:
        yield
    except HarnessError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted: every process the harness started was stopped")
        sys.exit(EXIT_ERROR)
    except click.ClickException:
        raise
    except Exception:
        err.print_exception()
        fail("a harness bug (traceback above); please report it")


def resolve_config(path: Path | None) -> config.Config:
    if path is not None:
        return config.load(path)
    local = Path("parity.toml")
    if local.is_file():
        return config.load(local)
    return runner.default_config()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parity")
def main() -> None:
    """Cross-runtime parity harness for the lakehouse iterate stack."""


# ---------------------------------------------------------------------------
# run


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


@main.command()
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


# ---------------------------------------------------------------------------
# repro


@main.command()
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


# ---------------------------------------------------------------------------
# schema check


@main.group()
def schema() -> None:
    """Check documents against the contract's JSON Schemas."""


@schema.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--schema", "name", help="schema name (default: inferred per document)")
def schema_check(files: tuple[Path, ...], name: str | None) -> None:
    """Validate JSON or JSON Lines files; errors name the line: 0 valid, 1 invalid, 2 error."""
    with reported_errors():
        if name is not None and name not in schema_store.names():
            raise HarnessError(f"unknown schema {name!r}; known: {', '.join(schema_store.names())}")
        problems = sum(_check_file(path, name) for path in files)
    out.print(f"{problems} problem(s) in {len(files)} file(s)")
    sys.exit(EXIT_DIVERGENCE if problems else EXIT_OK)


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    """(location, parsed document) for a JSON file or each line of a JSON Lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read: {exc}") from exc
    if path.suffix in {".jsonl", ".ndjson"}:
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                yield f"{path}:{number}", _parse(line, f"{path}:{number}")
        return
    yield str(path), _parse(text, str(path))


class _Unparsed:
    def __init__(self, message: str) -> None:
        self.message = message


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return _Unparsed(f"not JSON: {exc}")


def _check_file(path: Path, name: str | None) -> int:
    problems = 0
    for where, document in _documents(path):
        for message in _document_problems(document, name):
            out.print(f"{where}: {message}", markup=False)
            problems += 1
    return problems


def _document_problems(document: Any, name: str | None) -> list[str]:
    if isinstance(document, _Unparsed):
        return [document.message]
    chosen = name or schema_store.infer(document)
    if chosen is None:
        return ["cannot infer a schema for this document (use --schema)"]
    return [f"{e.path}: {e.message} [{chosen}]" for e in schema_store.errors(chosen, document)]


# ---------------------------------------------------------------------------
# stacks


@main.group("stacks")
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


# ---------------------------------------------------------------------------
# mock-llm


@main.command("mock-llm")
@click.option("--port", type=click.IntRange(0, 65535), required=True)
@click.option("--script", type=click.Path(path_type=Path, exists=True), help="replies by case id")
def mock_llm(port: int, script: Path | None) -> None:
    """Serve the scripted OpenAI-compatible model on 127.0.0.1 until Ctrl-C."""
    from harness import mock_llm as mock

    with reported_errors():
        mock.run_standalone(port, script)


if __name__ == "__main__":
    main()
