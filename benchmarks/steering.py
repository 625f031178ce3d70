"""Does steering generation towards rare rules pay? An experiment.

    python benchmarks/steering.py [--seeds 1,2,3,4,5] [--budgets 400,2000]
        [--suites extract_json,validate] [--no-write]

Draws each suite's cases as the engine's exploration does
(``rule_coverage.draw_like_the_engine``: Hypothesis, a batch of distinct cases
per example, the reference only, with a recorder) in three ways, each seed in
a fresh interpreter:

* ``none``: as the engine does today;
* ``target``: the engine's choice if it steered: after each batch,
  ``hypothesis.target(steering.rarity(...))`` (how many cases of the batch
  exercised a rule the run had seen fewer than 5 times), with Hypothesis's
  target phase on;
* ``across``: not steering but a check of what the engine spends its budget
  on: a case an earlier batch had is not checked again (the engine dedupes
  within a batch only, and past its first examples Hypothesis mutates an
  example into near-copies of it).

Reported per suite, budget and way: the rules below 5 cases (summed over the
seeds), the least-exercised rule's count (worst seed), the cases of the ten
rules ``none`` exercises least (summed), the distinct cases checked, and the
cases per second of drawing plus the reference. Results go to
``benchmarks/results/steering.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import rule_coverage  # noqa: E402
from harness import coverage, steering  # noqa: E402

RESULTS: Final = ROOT / "benchmarks" / "results" / "steering.md"
WAYS: Final = ("none", "target", "across")
GOAL: Final = 5


def one(suite_name: str, budget: int, way: str, at: int) -> dict[str, Any]:
    """One suite, one way, one seed: rule counts, distinct cases, seconds."""
    suite = rule_coverage.suites_of_a_run()[suite_name]
    declared = coverage.rules_of(suite_name)
    tally = coverage.Coverage()
    keys: set[str] = set()

    def check(cases: list[Any]) -> float:
        counts = dict(tally.suite(suite_name).counts)  # before this batch
        batch = []
        with suite.executions(cases) as sent:
            for case, execution in zip(cases, sent, strict=True):
                rules = coverage.exercised(suite, execution)[1]
                tally.add(suite_name, rules)
                batch.append(rules)
                keys.add(case if isinstance(case, str) else json.dumps(case, sort_keys=True))
        return steering.rarity(batch, counts, declared, goal=GOAL)

    start = time.perf_counter()
    cases = rule_coverage.draw_like_the_engine(
        suite.strategy,  # type: ignore[union-attr]
        budget,
        suite.batch_size,
        at,
        check,
        steer=way == "target",
        across=way == "across",
    )
    seconds = time.perf_counter() - start
    counts = tally.suite(suite_name).counts
    return {
        "counts": {rule: counts[rule] for rule in declared},
        "cases": len(cases),
        "distinct": len(keys),
        "seconds": seconds,
    }


def run_all(suites: Sequence[str], budgets: Sequence[int], seeds: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in suites:
        for budget in budgets:
            for way in WAYS:
                for at in seeds:
                    argv = [sys.executable, __file__, "--one", f"{name},{budget},{way},{at}"]
                    done = subprocess.run(
                        argv, cwd=ROOT, check=True, capture_output=True, text=True
                    )
                    out[f"{name},{budget},{way},{at}"] = json.loads(done.stdout)
                print(f"{name} {budget} {way}: done", file=sys.stderr)
    return out


def render(results: dict[str, Any], suites: Sequence[str], budgets: Sequence[int],
           seeds: Sequence[int]) -> str:  # fmt: skip
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    lines = [
        "# Steering generation towards rare rules: an experiment",
        "",
        f"- date: {now}; machine: nproc {os.cpu_count()}, {platform.platform()}",
        f"- `uptime` when done: {uptime.strip()} (shared machine: cases/s are noisy)",
        f"- seeds {', '.join(map(str, seeds))}, each in a fresh interpreter; reference only",
        "",
        "| suite | budget | way | rules < 5 (all seeds) | least (worst seed) "
        "| ten rarest (sum) | distinct cases (mean) | cases/s (mean) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name in suites:
        for budget in budgets:
            runs = {way: [results[f"{name},{budget},{way},{at}"] for at in seeds] for way in WAYS}
            baseline: Counter[str] = Counter()
            for run in runs["none"]:
                baseline.update(run["counts"])
            rarest = [rule for rule, _ in sorted(baseline.items(), key=lambda kv: kv[1])[:10]]
            for way, per_seed in runs.items():
                below = sum(n < GOAL for run in per_seed for n in run["counts"].values())
                least = min(min(run["counts"].values()) for run in per_seed)
                rare = sum(run["counts"][rule] for run in per_seed for rule in rarest)
                distinct = sum(run["distinct"] for run in per_seed) / len(per_seed)
                rate = sum(run["cases"] / run["seconds"] for run in per_seed) / len(per_seed)
                lines.append(
                    f"| {name} | {budget} | {way} | {below} | {least} | {rare} "
                    f"| {distinct:,.0f} | {rate:,.0f} |"
                )
    return "\n".join([*lines, ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--budgets", default="400,2000")
    parser.add_argument("--suites", default="extract_json,validate")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.one:
        name, budget, way, at = args.one.split(",")
        print(json.dumps(one(name, int(budget), way, int(at))))
        return 0
    suites = args.suites.split(",")
    budgets = [int(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    text = render(run_all(suites, budgets, seeds), suites, budgets, seeds)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
