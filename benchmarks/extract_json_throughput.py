"""Engine throughput: the extract_json suite in jsonl mode over both sample stacks.

    python benchmarks/extract_json_throughput.py [--cases 20000] [--runs 3] [--seed 1]
        [--batch-size N] [--batch-sweep 16,64,256] [--profile] [--no-write]

Runs of the same seeded budget, without shrinking (``--no-shrink``):

1. ``harness.runner.run`` as ``parity run --suite extract_json --no-shrink``
   does it (reference + rust + go probes, reproducers and reports), ``--runs``
   times: the headline cases per second is the best run (the machine may be
   shared; every run is listed).
2. The same engine with timing wrappers around the reference, each probe
   target and the suite's comparison, for a breakdown: time in the reference,
   time the engine's thread waits for the probes' answers (blocked in
   ``Future.result``: the probes work while the engine draws the next batch
   and answers it for the reference), comparing, and the rest (Hypothesis
   generating cases, and the engine's own bookkeeping).

``--batch-sweep`` adds the headline (best of ``--runs``) at each of the given
batch sizes; ``--profile`` runs the second under cProfile and prints the top
functions.
Needs the probes built (``make -C targets build``). Results go to
``benchmarks/results/extract_json_throughput.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import datetime as dt
import io
import os
import platform
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from harness import runner
from harness.config import Config
from harness.engine import Engine, EngineSettings
from harness.environment import environment
from harness.model import Difference, JsonValue, Observation
from harness.suites import catalog
from harness.suites.base import ProbeSuite
from harness.targets.base import Target
from reference_impl.rules import Hit

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results" / "extract_json_throughput.md"
SUITE: Final = "extract_json"
GOAL: Final = 3_000  # cases per second


def bench_config(work: Path) -> Config:
    """The embedded default (both stacks' probes, jsonl), writing only under ``work``."""
    config = runner.default_config()
    run = dataclasses.replace(
        config.run, database=work / "hypothesis", regressions=None, waivers=None
    )
    return dataclasses.replace(config, run=run)


def _missing_probes(config: Config) -> list[str]:
    return [
        probe.command[0]
        for target in config.targets.values()
        for suite, probe in target.probes.items()
        if suite == SUITE and not Path(probe.command[0]).is_file()
    ]


# --------------------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    cases: int
    seconds: float  # runner.run, end to end
    engine_s: float  # the suite alone (without reproducers and reports)
    findings: int
    errors: int

    @property
    def per_second(self) -> float:
        return self.cases / self.seconds


@contextlib.contextmanager
def suite_batch_size(batch_size: int | None) -> Iterator[None]:
    """The suite's batch size set to ``batch_size`` for a while (the runner has
    no option for it; the engine's ``EngineSettings.batch_size`` is the same)."""
    if batch_size is None:
        yield
        return
    suite = catalog.PROBE_SUITES[SUITE]
    catalog.PROBE_SUITES[SUITE] = dataclasses.replace(suite, batch_size=batch_size)
    try:
        yield
    finally:
        catalog.PROBE_SUITES[SUITE] = suite


def headline(config: Config, work: Path, cases: int, seed: int) -> Headline:
    options = runner.RunOptions(
        suites=(SUITE,), max_examples=cases, seed=seed, shrink=False, report_dir=work / "report"
    )
    started = time.perf_counter()
    summary, _ = runner.run(config, options)
    seconds = time.perf_counter() - started
    [suite] = summary.suites
    return Headline(suite.cases, seconds, suite.elapsed_s, len(suite.findings), len(suite.errors))


def headlines(config: Config, work: Path, cases: int, seed: int, runs: int) -> list[Headline]:
    out = []
    for number in range(runs):
        out.append(headline(config, work, cases, seed))
        print(f"run {number + 1}/{runs}: {out[-1].per_second:,.0f} cases/s", file=sys.stderr)
    return out


# --------------------------------------------------------------------------- breakdown


@dataclass
class Intervals:
    """(start, end) of each call, per batch, from any thread."""

    spans: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, start: float, end: float) -> None:
        with self.lock:
            self.spans.append((start, end))

    @property
    def total(self) -> float:
        return sum(end - start for start, end in self.spans)


class TimedTarget:
    """A target whose every batch is timed."""

    def __init__(self, inner: Target) -> None:
        self.inner = inner
        self.name = inner.name
        self.intervals = Intervals()

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        start = time.perf_counter()
        try:
            return self.inner.run_batch(suite, cases)
        finally:
            self.intervals.add(start, time.perf_counter())

    def interrupt(self) -> None:
        self.inner.interrupt()

    def close(self) -> None:
        self.inner.close()


def timed_suite(suite: ProbeSuite, reference: Intervals, comparison: Intervals) -> ProbeSuite:
    """``suite`` with its reference answer (one call per case) and its comparison timed."""
    answer, compare_ = suite.answer, suite.compare

    def timed_answer(case: JsonValue, hit: Hit) -> str:
        start = time.perf_counter()
        try:
            return answer(case, hit)
        finally:
            reference.add(start, time.perf_counter())

    def timed_compare(expected: Observation, actual: Observation) -> tuple[Difference, ...]:
        start = time.perf_counter()
        try:
            return compare_(expected, actual)
        finally:
            comparison.add(start, time.perf_counter())

    return dataclasses.replace(suite, answer=timed_answer, compare=timed_compare)


@dataclass(frozen=True)
class Breakdown:
    cases: int
    seconds: float
    reference_s: float
    waiting_s: float  # the engine blocked on the probes' answers
    targets_s: dict[str, float]  # each probe's own batch time (concurrent)
    compare_s: float

    @property
    def rest_s(self) -> float:
        return self.seconds - self.reference_s - self.waiting_s - self.compare_s


@contextlib.contextmanager
def blocked_on_futures(clock: Intervals) -> Iterator[None]:
    """Time every ``Future.result`` call of this thread: how long the engine
    waits for answers, whatever overlaps it arranges around them."""
    thread, result = threading.get_ident(), Future.result

    def timed(self: Future[Any], timeout: float | None = None) -> Any:
        if threading.get_ident() != thread or self.done():
            return result(self, timeout)
        start = time.perf_counter()
        try:
            return result(self, timeout)
        finally:
            clock.add(start, time.perf_counter())

    Future.result = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        Future.result = result  # type: ignore[method-assign]


def breakdown(
    config: Config,
    work: Path,
    cases: int,
    seed: int,
    batch_size: int | None,
    profiler: cProfile.Profile | None,
) -> Breakdown:
    names = runner.choose_suite_names(config, (SUITE,))
    with environment(config, names, work) as env:  # what runner.run starts
        [suite] = env.suites
        assert isinstance(suite, ProbeSuite)
        reference, compare_clock = Intervals(), Intervals()
        suite = timed_suite(suite, reference, compare_clock)
        targets = [TimedTarget(t) for t in env.targets]
        settings = EngineSettings(
            max_examples=cases, seed=seed, shrink=False, batch_size=batch_size
        )
        engine = Engine(suites=[suite], targets=targets, settings=settings)
        waiting = Intervals()
        started = time.perf_counter()
        try:
            if profiler is not None:
                profiler.enable()
            with blocked_on_futures(waiting):
                summary = engine.run()
            assert not summary.suites[0].errors, summary.suites[0].errors
        finally:
            if profiler is not None:
                profiler.disable()
    seconds = time.perf_counter() - started
    return Breakdown(
        cases=summary.suites[0].cases,
        seconds=seconds,
        reference_s=reference.total,
        waiting_s=waiting.total,
        targets_s={t.name: t.intervals.total for t in targets},
        compare_s=compare_clock.total,
    )


# --------------------------------------------------------------------------- report


def _row(name: str, seconds: float, total: float, cases: int) -> str:
    share = 100 * seconds / total if total else 0.0
    return f"| {name} | {seconds:.2f} | {share:.0f}% | {1e6 * seconds / cases:.0f} |"


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _batch_size(batch_size: int | None) -> str:
    if batch_size is not None:
        return f"{batch_size} (--batch-size, both runs)"
    return f"{catalog.PROBE_SUITES[SUITE].batch_size} (the suite's default)"


def sweep(config: Config, work: Path, args: argparse.Namespace) -> dict[int, list[Headline]]:
    out = {}
    for size in args.batch_sweep:
        with suite_batch_size(size):
            print(f"batch size {size}:", file=sys.stderr)
            out[size] = headlines(config, work, args.cases, args.seed, args.runs)
    return out


def render_sweep(swept: dict[int, list[Headline]]) -> list[str]:
    if not swept:
        return []
    lines = [
        "## Headline by batch size (cases per Hypothesis example)",
        "",
        "| batch size | cases/s (best) | every run | findings |",
        "|---:|---:|---|---:|",
    ]
    for size, tops in swept.items():
        top = max(tops, key=lambda h: h.per_second)
        every = ", ".join(f"{h.per_second:,.0f}" for h in tops)
        lines.append(f"| {size} | {top.per_second:,.0f} | {every} | {top.findings} |")
    return [*lines, ""]


def render(tops: list[Headline], parts: Breakdown, seed: int, batch_size: int | None) -> str:
    top = max(tops, key=lambda h: h.per_second)
    verdict = "meets" if top.per_second >= GOAL else "below"
    every = ", ".join(f"{h.per_second:,.0f}" for h in tops)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    probes = ", ".join(f"{name} {s:.2f}s" for name, s in sorted(parts.targets_s.items()))
    lines = [
        "# Engine throughput: extract_json, jsonl probes, no shrinking",
        "",
        f"- date: {now}",
        f"- machine: nproc {os.cpu_count()}, {platform.platform()}",
        f"- python: {platform.python_version()}",
        f"- load average when done (1/5/15 min): {_load()} (the machine may be shared)",
        f"- targets: reference (in process), rust and go `parity_extract_json --jsonl`; "
        f"seed {seed}; batch size {_batch_size(batch_size)}",
        "",
        "## Headline (`harness.runner.run`, as `parity run --suite extract_json --no-shrink`)",
        "",
        "| cases | seconds (run) | cases/s | seconds (engine only) | findings | errors | goal |",
        "|---:|---:|---:|---:|---:|---:|---|",
        f"| {top.cases} | {top.seconds:.2f} | {top.per_second:,.0f} | {top.engine_s:.2f} "
        f"| {top.findings} | {top.errors} | {GOAL:,}/s: {verdict} |",
        "",
        f"Best of {len(tops)} runs; every run, cases/s: {every}.",
        "",
        "## Where the time goes (the same run, instrumented)",
        "",
        f"{parts.cases} cases in {parts.seconds:.2f}s ({parts.cases / parts.seconds:,.0f}/s).",
        "",
        "| part | seconds | share | µs/case |",
        "|---|---:|---:|---:|",
        _row("reference (in process)", parts.reference_s, parts.seconds, parts.cases),
        _row("waiting for the probes' answers", parts.waiting_s, parts.seconds, parts.cases),
        _row("comparison (suite.compare, both targets)", parts.compare_s, parts.seconds,
             parts.cases),
        _row("generation (Hypothesis) and engine bookkeeping", parts.rest_s, parts.seconds,
             parts.cases),
        "",
        f"Probe batches (their own time, concurrent with the engine): {probes}.",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="headline runs (best is kept)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, help="cases per Hypothesis example")
    parser.add_argument(
        "--batch-sweep",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[],
        help="also the headline at each of these batch sizes (comma-separated)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the instrumented run")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as folder:
        work = Path(folder)
        config = bench_config(work)
        missing = _missing_probes(config)
        if missing:
            raise SystemExit(f"probes not built ({', '.join(missing)}): make -C targets build")
        with suite_batch_size(args.batch_size):
            tops = headlines(config, work, args.cases, args.seed, args.runs)
        swept = sweep(config, work, args)
        profiler = cProfile.Profile() if args.profile else None
        parts = breakdown(config, work, args.cases, args.seed, args.batch_size, profiler)
    text = "\n".join([render(tops, parts, args.seed, args.batch_size), *render_sweep(swept)])
    print(text)
    if profiler is not None:
        print(_profile_text(profiler))
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def _profile_text(profiler: cProfile.Profile, top: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


if __name__ == "__main__":
    sys.exit(main())
