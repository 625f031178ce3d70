"""What recording the contract's rules costs the extract_json suite.

    python benchmarks/coverage_throughput.py [--cases 20000] [--runs 3] [--seed 1] [--no-write]

Runs ``harness.runner.run`` as ``parity run --suite extract_json --no-shrink``
(reference + rust + go jsonl probes) with the rules recorded and without,
alternately, ``--runs`` times each; the headline is the best run of each (the
machine may be shared; every run is listed, with ``uptime``). Recording is
done as the engine will do it: each case's reference answer through a
recorder (``harness.coverage.exercised``: a set of rule ids per case), tallied
per suite (``Coverage.add``). Also the reference alone, per case, both ways.

Needs the probes built (``make -C targets build``). Results go to
``benchmarks/results/coverage_throughput.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.check_pairs import draw_cases  # noqa: E402
from benchmarks.extract_json_throughput import (  # noqa: E402
    GOAL,
    SUITE,
    Headline,
    _missing_probes,
    bench_config,
    headline,
)
from harness import coverage  # noqa: E402
from harness.model import JsonValue  # noqa: E402
from harness.strategies import model_outputs  # noqa: E402
from harness.suites import catalog  # noqa: E402
from reference_impl.probes import answer_extract_json  # noqa: E402
from reference_impl.rules import Hit  # noqa: E402

RESULTS: Final = ROOT / "benchmarks" / "results" / "coverage_throughput.md"


@contextlib.contextmanager
def recording(tally: coverage.Coverage) -> Iterator[None]:
    """The extract_json suite answering through a recorder into ``tally``
    for a while (the engine does not record yet: the lead's redesign will)."""
    suite = catalog.PROBE_SUITES[SUITE]

    def answer(case: JsonValue, hit: Hit) -> str:
        hits: set[str] = set()
        text = suite.answer(case, hits.add)
        tally.add(SUITE, hits)
        return text

    catalog.PROBE_SUITES[SUITE] = dataclasses.replace(suite, answer=answer)
    try:
        yield
    finally:
        catalog.PROBE_SUITES[SUITE] = suite


def reference_alone(cases: list[str], rounds: int = 5) -> tuple[float, float]:
    """µs per case of the reference's answer, without and with a recorder (best round)."""

    def plain() -> None:
        for case in cases:
            answer_extract_json(case)

    def recorded() -> None:
        for case in cases:
            hits: set[str] = set()
            answer_extract_json(case, hits.add)

    best = {plain: float("inf"), recorded: float("inf")}
    for _ in range(rounds):
        for run in (plain, recorded):
            start = time.perf_counter()
            run()
            best[run] = min(best[run], time.perf_counter() - start)
    return best[plain] / len(cases) * 1e6, best[recorded] / len(cases) * 1e6


def _uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def render(
    off: list[Headline], on: list[Headline], alone: tuple[float, float], tally: coverage.Coverage
) -> str:
    def best(runs: list[Headline]) -> Headline:
        return max(runs, key=lambda h: h.per_second)

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        "# What recording the rules costs: extract_json, jsonl probes, no shrinking",
        "",
        f"- date: {now}",
        f"- machine: nproc {os.cpu_count()}, {platform.platform()}",
        f"- python: {platform.python_version()}",
        f"- `uptime` when done: {_uptime()} (2 cores shared with other work: noisy)",
        "",
        "| rules recorded | cases | cases/s (best) | every run | goal |",
        "|---|---:|---:|---|---|",
    ]
    for name, runs in (("no", off), ("yes", on)):
        top = best(runs)
        verdict = "meets" if top.per_second >= GOAL else "below"
        every = ", ".join(f"{h.per_second:,.0f}" for h in runs)
        lines.append(
            f"| {name} | {top.cases} | {top.per_second:,.0f} | {every} | {GOAL:,}/s: {verdict} |"
        )
    plain, recorded = alone
    suite = tally.suites.get(SUITE)
    lines += [
        "",
        f"The reference alone (5,000 drawn outputs, best of 5): {plain:.1f} µs a case "
        f"without a recorder, {recorded:.1f} µs with one (+{recorded - plain:.1f} µs).",
        "",
        f"Rules tallied over the recorded runs: {suite.cases if suite else 0} cases, "
        f"{len(suite.counts) if suite else 0} distinct rules.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    tally = coverage.Coverage()
    off: list[Headline] = []
    on: list[Headline] = []
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as folder:
        work = Path(folder)
        config = bench_config(work)
        missing = _missing_probes(config)
        if missing:
            raise SystemExit(f"probes not built ({', '.join(missing)}): make -C targets build")
        runs: list[tuple[list[Headline], Callable[[], contextlib.AbstractContextManager[None]]]]
        runs = [(off, contextlib.nullcontext), (on, lambda: recording(tally))]
        for number in range(args.runs):
            for out, context in runs:
                with context():
                    out.append(headline(config, work, args.cases, args.seed))
                state = "on" if out is on else "off"
                print(f"run {number + 1}, recording {state}: {out[-1].per_second:,.0f}/s")
    alone = reference_alone(draw_cases(model_outputs(), 5000, at=args.seed))
    text = render(off, on, alone, tally)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
