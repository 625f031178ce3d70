"""The iterate suite's session rate with tracing on against tracing off, in
one run (CONTRACT §7: delivery never in the way).

Each round runs the embedded default twice, alternated: ``--suite iterate``
(tracing off: the sample stacks are started without a Langfuse URL and send
nothing) and ``--suite iterate --suite traces`` (tracing on: both stacks
send every session's tree to the harness's Langfuse stand-in, which checks
them afterwards). The rate is the iterate suite's own cases per second
(``SuiteSummary.elapsed_s``), so the stacks' start and the traces suite's
check are not counted; shrinking is off so that both do the same cases.

    python benchmarks/trace_rate.py [--sessions 400] [--rounds 3]

writes ``benchmarks/results/trace_rate.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import runner  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "trace_rate.md"
ON = ("iterate", "traces")  # the traces suite makes the run trace


def iterate_rate(suites: tuple[str, ...], sessions: int, seed: int, folder: Path) -> float:
    """Cases per second of the iterate suite in one run of ``suites``."""
    options = runner.RunOptions(
        suites=suites, max_examples=sessions, seed=seed, report_dir=folder, shrink=False
    )
    summary, _ = runner.run(runner.default_config(), options)
    (iterate,) = [s for s in summary.suites if s.suite == "iterate"]
    return iterate.cases / iterate.elapsed_s


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=400, help="iterate cases per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    off: list[float] = []
    on: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            seed = 1000 + round_
            folder = Path(tmp)
            off.append(iterate_rate(("iterate",), args.sessions, seed, folder / f"off{round_}"))
            on.append(iterate_rate(ON, args.sessions, seed, folder / f"on{round_}"))
            print(f"round {round_ + 1}: off {off[-1]:.1f}/s, on {on[-1]:.1f}/s", flush=True)
    report(args, off, on)
    return 0


def report(args: argparse.Namespace, off: list[float], on: list[float]) -> None:
    ratio = statistics.median(on) / statistics.median(off)
    lines = [
        "# iterate suite rate, tracing on against tracing off",
        "",
        f"{dt.date.today()} · {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()} · load at start {os.getloadavg()[0]:.1f} · "
        f"{args.sessions} iterate cases per run, {args.rounds} rounds alternated, "
        "shrinking off (`python benchmarks/trace_rate.py`)",
        "",
        "| round | tracing off (cases/s) | tracing on (cases/s) |",
        "|---|---|---|",
        *(f"| {i + 1} | {a:.1f} | {b:.1f} |" for i, (a, b) in enumerate(zip(off, on, strict=True))),
        "",
        f"Median: off {statistics.median(off):.1f}/s, on {statistics.median(on):.1f}/s: "
        f"tracing on runs at {ratio:.0%} of the rate with it off.",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
