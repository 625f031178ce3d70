"""Engine throughput: the extract_json suite in jsonl mode over both sample stacks.

    python benchmarks/extract_json_throughput.py [--cases 20000] [--runs 3] [--seed 1]
        [--batch-size N] [--profile] [--no-write]

Runs of the same seeded budget, without shrinking (``--no-shrink``):

1. ``harness.runner.run`` as ``parity run --suite extract_json --no-shrink``
   does it (reference + rust + go probes, reproducers and reports), ``--runs``
   times: the headline cases per second is the best run (the machine may be
   shared; every run is listed).
2. The same engine with timing wrappers around the reference, each probe
   target and the suite's comparison, for a breakdown: time in the reference,
   time waiting for the probes beyond it, comparing, and the rest (Hypothesis
   generating cases, and the engine's own bookkeeping).

``--profile`` runs the second under cProfile and prints the top functions.
Needs the probes built (``make -C targets build``). Results go to
``benchmarks/results/extract_json_throughput.md``.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from harness import runner
from harness.config import Config
from harness.engine import Engine, EngineSettings
from harness.model import Difference, JsonValue, Observation
from harness.suites import Suite
from harness.targets.base import Target

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results" / "extract_json_throughput.md"
SUITE: Final = "extract_json"
GOAL: Final = 1_000  # cases per second


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

    def close(self) -> None:
        self.inner.close()


def timed_compare(suite: Suite, clock: Intervals) -> Suite:
    inner = suite.compare

    def compare(reference: Observation, target: Observation) -> tuple[Difference, ...]:
        start = time.perf_counter()
        try:
            return inner(reference, target)
        finally:
            clock.add(start, time.perf_counter())

    return dataclasses.replace(suite, compare=compare)


@dataclass(frozen=True)
class Breakdown:
    cases: int
    seconds: float
    reference_s: float
    waiting_s: float  # probe batches beyond the reference (they run meanwhile)
    targets_s: dict[str, float]  # each probe's own batch time (concurrent)
    compare_s: float

    @property
    def rest_s(self) -> float:
        return self.seconds - self.reference_s - self.waiting_s - self.compare_s


def _waiting(reference: Intervals, targets: Sequence[TimedTarget]) -> float:
    """Per batch: how long after the reference finished the slowest probe finished."""
    waiting = 0.0
    for index, (_, ref_end) in enumerate(reference.spans):
        ends = [t.intervals.spans[index][1] for t in targets if index < len(t.intervals.spans)]
        waiting += max(0.0, max(ends, default=ref_end) - ref_end)
    return waiting


def breakdown(
    config: Config, cases: int, seed: int, batch_size: int | None, profiler: cProfile.Profile | None
) -> Breakdown:
    [suite] = runner.choose_suites(config, (SUITE,))
    compare_clock = Intervals()
    suite = timed_compare(suite, compare_clock)
    reference = TimedTarget(runner.reference_target())
    targets = [TimedTarget(t) for t in runner.probe_targets(config, [suite])]
    settings = EngineSettings(max_examples=cases, seed=seed, shrink=False, batch_size=batch_size)
    engine = Engine(suites=[suite], reference=reference, targets=targets, settings=settings)
    started = time.perf_counter()
    try:
        if profiler is not None:
            profiler.enable()
        summary = engine.run()
    finally:
        if profiler is not None:
            profiler.disable()
        for target in targets:
            target.close()
    seconds = time.perf_counter() - started
    return Breakdown(
        cases=summary.suites[0].cases,
        seconds=seconds,
        reference_s=reference.intervals.total,
        waiting_s=_waiting(reference.intervals, targets),
        targets_s={t.name: t.intervals.total for t in targets},
        compare_s=compare_clock.total,
    )


# --------------------------------------------------------------------------- report


def _row(name: str, seconds: float, total: float, cases: int) -> str:
    share = 100 * seconds / total if total else 0.0
    return f"| {name} | {seconds:.2f} | {share:.0f}% | {1e6 * seconds / cases:.0f} |"


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


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
        f"seed {seed}; batch size {batch_size or 'the suite default'}",
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
        _row("waiting for the probes beyond the reference", parts.waiting_s, parts.seconds,
             parts.cases),
        _row("comparison (suite.compare, both targets)", parts.compare_s, parts.seconds,
             parts.cases),
        _row("generation (Hypothesis) and engine bookkeeping", parts.rest_s, parts.seconds,
             parts.cases),
        "",
        f"Probe batches, run concurrently with the reference: {probes}.",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="headline runs (best is kept)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, help="cases per Hypothesis example")
    parser.add_argument("--profile", action="store_true", help="cProfile the instrumented run")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as folder:
        work = Path(folder)
        config = bench_config(work)
        missing = _missing_probes(config)
        if missing:
            raise SystemExit(f"probes not built ({', '.join(missing)}): make -C targets build")
        tops = headlines(config, work, args.cases, args.seed, args.runs)
        profiler = cProfile.Profile() if args.profile else None
        parts = breakdown(config, args.cases, args.seed, args.batch_size, profiler)
    text = render(tops, parts, args.seed, args.batch_size)
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
