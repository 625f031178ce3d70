"""Throughput of the reference's extract_json probe in persistent (jsonl) mode.

    python benchmarks/reference_probe_throughput.py [--lines 50000] [--runs 3]
        [--profile] [--no-write]

Generates a deterministic corpus shaped like model output (mostly prose, a few
small objects, fences, stray braces), pipes it through
``python -m reference_impl.probes extract-json --jsonl`` and reports lines per
second (best of ``--runs``; process start-up included and also shown apart).
``--profile`` runs the same corpus in process under cProfile and prints where
the time goes. Results go to ``benchmarks/results/reference_probe_throughput.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
RESULTS: Final = ROOT / "benchmarks" / "results" / "reference_probe_throughput.md"
GOAL: Final = 10_000  # lines per second
COMMAND: Final = (sys.executable, "-m", "reference_impl.probes", "extract-json", "--jsonl")

WORDS: Final = (
    "the", "worker", "shift", "Toledo", "welder", "available", "contract", "here", "is",
    "your", "JSON", "object", "I", "found", "two", "candidates", "for", "night", "please",
    "confirm", "café", "naïve", "😀", "<b>", "&", "—", "résumé", "Louisville", "role",
)  # fmt: skip


# --------------------------------------------------------------------------- corpus


def _prose(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _small_object(rng: random.Random) -> str:
    fills = [
        {"candidate_id": f"W-{rng.randint(1, 40)}", "name": rng.choice(WORDS)}
        for _ in range(rng.randint(0, 3))
    ]
    value: dict[str, object] = {"fills": fills}
    if rng.random() < 0.5:
        value["score"] = round(rng.uniform(0, 100), rng.randint(0, 4))
    if rng.random() < 0.3:
        value["note"] = _prose(rng, 1, 6)
    if rng.random() < 0.2:
        value["count"] = rng.randint(-(2**40), 2**40)
    indent = rng.choice((None, None, 2))
    return json.dumps(value, ensure_ascii=rng.random() < 0.5, indent=indent)


def model_output(rng: random.Random) -> str:
    """One answer a model might give: prose around zero, one or two small objects."""
    roll = rng.random()
    before, after = _prose(rng, 3, 30), _prose(rng, 0, 20)
    if roll < 0.35:
        return f"{before}\n```json\n{_small_object(rng)}\n```\n{after}"
    if roll < 0.65:
        return f"{before} {_small_object(rng)} {after}"
    if roll < 0.75:
        return f"{before} {_small_object(rng)} and {_small_object(rng)}"
    if roll < 0.85:
        return f"{before} }} stray {{ {after}"
    if roll < 0.92:
        return f"{before}\n```python\nprint('hi')\n```\n{after}"
    return before + " " + after


def corpus(lines: int, seed: int = 20260502) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    for _ in range(lines):
        out.write(json.dumps({"raw": model_output(rng)}))
        out.write("\n")
    return out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Measure:
    lines: int
    input_bytes: int
    seconds: float  # start of the process to the last answer
    startup_s: float  # the same probe given no input

    @property
    def per_second(self) -> float:
        return self.lines / self.seconds

    @property
    def steady_per_second(self) -> float:
        return self.lines / max(1e-9, self.seconds - self.startup_s)


def _pipe(data_path: Path) -> tuple[float, bytes]:
    started = time.perf_counter()
    with data_path.open("rb") as source:
        done = subprocess.run(
            COMMAND, stdin=source, capture_output=True, cwd=ROOT, check=True, timeout=600
        )
    return time.perf_counter() - started, done.stdout


def measure(data: bytes, lines: int, runs: int) -> Measure:
    with tempfile.TemporaryDirectory() as folder:
        empty, path = Path(folder) / "empty", Path(folder) / "corpus.jsonl"
        empty.write_bytes(b"")
        path.write_bytes(data)
        startup = min(_pipe(empty)[0] for _ in range(3))
        best = float("inf")
        for _ in range(runs):
            seconds, out = _pipe(path)
            answers = out.count(b"\n")
            if answers != lines:
                raise SystemExit(f"expected {lines} answers, got {answers}")
            best = min(best, seconds)
    return Measure(lines=lines, input_bytes=len(data), seconds=best, startup_s=startup)


def profile(data: bytes, top: int = 25) -> str:
    """The probe's loop in process under cProfile: where the time goes."""
    from reference_impl.probes import answer_extract_json_line, serve_lines

    sink = io.StringIO()
    profiler = cProfile.Profile()
    profiler.enable()
    serve_lines(answer_extract_json_line, io.BytesIO(data), sink)
    profiler.disable()
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report)
    stats.sort_stats("tottime").print_stats(top)
    return report.getvalue()


# --------------------------------------------------------------------------- report


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def render(result: Measure, runs: int) -> str:
    verdict = "meets" if result.per_second >= GOAL else "below"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "\n".join(
        [
            "# Reference extract_json probe throughput (jsonl mode)",
            "",
            f"- date: {now}",
            f"- machine: nproc {os.cpu_count()}, {platform.platform()}",
            f"- python: {platform.python_version()}",
            f"- load average when done (1/5/15 min): {_load()} (the machine may be shared)",
            f"- command: `{' '.join(COMMAND[1:])}` (python = `{Path(COMMAND[0]).name}`)",
            f"- corpus: {result.lines} lines, {result.input_bytes / 1e6:.1f} MB, prose with"
            " 0-2 small objects per line (fenced, bare, stray braces), seed 20260502",
            f"- best of {runs} runs; start-up measured with empty input",
            "",
            "| lines | seconds | lines/s | start-up s | lines/s without start-up | goal |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {result.lines} | {result.seconds:.2f} | {result.per_second:,.0f} "
            f"| {result.startup_s:.2f} | {result.steady_per_second:,.0f} "
            f"| {GOAL:,}/s: {verdict} |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile breakdown")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args(argv)
    data = corpus(args.lines)
    result = measure(data, args.lines, args.runs)
    text = render(result, args.runs)
    print(text)
    if args.profile:
        print(profile(data))
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
