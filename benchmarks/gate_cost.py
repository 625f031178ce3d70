"""What the gate's ground truth costs: the default run (every suite, the
``quick`` profile, the sample stacks) with and without A/A replay and base
verification, alternated in one invocation so that the machine's load falls
on each alike.

Four configurations, each a ``parity run`` in its own process:

(a) ``--aa-rate 0``: no case asked twice (explored or minimal);
(b) the default: A/A on a tenth of the explored live cases and on every
    minimal case (the settle pass);
(c) the default gated by ``--baseline`` (a report of another seed and 30
    cases a suite, so that there are causes it does not know): "new"
    unverified, flakiness replays;
(d) (c) with ``--base-ref HEAD``: the base stacks started beside, each new
    cause replayed there.

(c) against (b) is the baseline's cost (its cases replayed first: often a
saving, shrinking then starts from small cases), (d) against (c) base
verification's.

Run from the repository root (the stacks built):

    python benchmarks/gate_cost.py [--rounds 2] [--seed 1]

and it writes ``benchmarks/results/gate_cost.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "gate_cost.md"


def parity(report: Path, *args: str) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--no-build", "--report-dir", str(report),
         *args],
        cwd=REPO, env=env, capture_output=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    return wall, json.loads((report / "report.json").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    options.load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="gate-cost-"))
    # A small baseline: it misses causes, so (c) and (d) have new ones to judge.
    _, base_doc = parity(
        scratch / "baseline", "--seed", str(options.seed + 100), "--max-examples", "30"
    )
    baseline = str(scratch / "baseline" / "report.json")
    configs = {
        "(a) --aa-rate 0": ["--aa-rate", "0"],
        "(b) default (A/A 0.1)": [],
        "(c) default + --baseline": ["--baseline", baseline],
        "(d) default + --baseline + --base-ref HEAD": [
            "--baseline",
            baseline,
            "--base-ref",
            "HEAD",
        ],
    }
    rows: dict[str, list[tuple[float, dict[str, Any]]]] = {name: [] for name in configs}
    for index in range(options.rounds):
        for name, extra in configs.items():
            folder = scratch / f"{index}-{len(rows[name])}-{name[1]}"
            rows[name].append(parity(folder, "--seed", str(options.seed), *extra))
    write(rows, options, base_doc)


def write(rows: dict[str, list[tuple[float, dict[str, Any]]]], options: Any, base: Any) -> None:
    lines = [
        "# The gate's cost: A/A replay and base verification",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}), load average before: {options.load_before}.",
        f"`python benchmarks/gate_cost.py --rounds {options.rounds} --seed {options.seed}`: "
        "the default run (every suite, `quick`), each configuration alternated in every round.",
        f"The baseline of (c) and (d) is seed {options.seed + 100}'s report at 30 cases a "
        f"suite ({len(base['causes'])} causes).",
        "",
        "| configuration | wall s (median) | engine s (median) | A/A pairs | settled | "
        "replayed for causes | new / pre-existing / flaky | exit |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, runs in rows.items():
        wall = statistics.median(w for w, _ in runs)
        engine = statistics.median(doc["elapsed_s"] for _, doc in runs)
        doc = runs[-1][1]
        suites = doc["suites"].values()
        statuses = [c.get("status") for c in doc["causes"]]
        flaky = sum(1 for c in doc["causes"] if c.get("flaky", {}).get("flaky"))
        gate = (
            f"{statuses.count('new')} / {statuses.count('pre_existing')} / {flaky}"
            if doc["baseline"]
            else "-"
        )
        lines.append(
            f"| {name} | {wall:.1f} | {engine:.1f} | {sum(s['aa_pairs'] for s in suites)} | "
            f"{sum(s['settled'] for s in suites)} | {sum(s.get('replayed', 0) for s in suites)} "
            f"| {gate} | {doc['exit_code']} |"
        )
    lines += ["", f"Load average after: {os.getloadavg()}.", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
