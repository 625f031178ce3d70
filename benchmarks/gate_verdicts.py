"""Does the gate tell the truth? Issue 15's measurement, rerun: the
unchanged sample stacks must never fail the gate (no false alarm), and every
one-line change of ``tests/test_mutations.py`` must fail it with its own new
cause(s), blamed on the changed runtime (no hidden regression).

1. Unchanged stacks, ``--max-examples 300``: seed 1 (report A); seed 1 again
   gated by A with ``--base-ref HEAD``; then a ``quick`` baseline (seed 1,
   400 cases) and seeds 2 to 6 gated by it with ``--base-ref HEAD``.
2. Each mutation on a copy of its stack, gated by the unmutated stacks'
   report of the same suites and budget, verified on the unmutated stacks
   (``--base-config``), as ``tests/test_mutations.py`` runs it.

Run from the repository root (the stacks built):

    python benchmarks/gate_verdicts.py [--skip-mutations]

and it writes ``benchmarks/results/gate_verdicts.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "gate_verdicts.md"


def parity(report: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--no-build", "--report-dir", str(report),
         *args],
        cwd=REPO, env=env, capture_output=True, check=False,
    )  # fmt: skip
    document: dict[str, Any] = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return document


def verdict(document: dict[str, Any]) -> str:
    causes = document["causes"]
    statuses = [c.get("status") for c in causes]
    failing = [
        c for c in causes
        if c.get("status") == "new" and c["fails_gate"] and not c.get("flaky", {}).get("flaky")
    ]  # fmt: skip
    return (
        f"exit {document['exit_code']}; {len(failing)} failing new, "
        f"{statuses.count('pre_existing')} pre-existing, {statuses.count('known')} known, "
        f"{sum(1 for c in causes if c.get('flaky', {}).get('flaky'))} flaky"
    )


def unchanged(scratch: Path) -> list[str]:
    rows = []
    first = parity(scratch / "a", "--max-examples", "300", "--seed", "1")
    rows.append(f"| seed 1, 300 cases (report A) | {verdict(first)} |")
    again = parity(
        scratch / "a2", "--max-examples", "300", "--seed", "1",
        "--baseline", str(scratch / "a" / "report.json"), "--base-ref", "HEAD",
    )  # fmt: skip
    rows.append(f"| seed 1 again, gated by A, `--base-ref HEAD` | {verdict(again)} |")
    quick = parity(scratch / "q", "--seed", "1")
    rows.append(f"| seed 1, `quick` (report Q) | {verdict(quick)} |")
    for seed in range(2, 7):
        gated = parity(
            scratch / f"s{seed}", "--seed", str(seed),
            "--baseline", str(scratch / "q" / "report.json"), "--base-ref", "HEAD",
        )  # fmt: skip
        rows.append(f"| seed {seed}, `quick`, gated by Q, `--base-ref HEAD` | {verdict(gated)} |")
    return rows


def mutations(scratch: Path) -> list[str]:
    from harness.stacks import default_specs
    from tests import test_mutations as tm

    real = default_specs()
    reports: dict[tuple[tuple[str, ...], int], Path] = {}

    def baseline(suites: tuple[str, ...], budget: int) -> Path:
        if (suites, budget) not in reports:
            folder = scratch / f"base-{len(reports)}"
            tm.run_suites(folder, real, suites, budget)
            reports[suites, budget] = folder / "report" / "report.json"
        return reports[suites, budget]

    rows = []
    table = {**tm.MUTATIONS, "go-random-error": tm.RANDOM_ERROR, "go-coin-flip": tm.COIN_FLIP}
    for name, mutation in table.items():
        started = time.monotonic()
        summary = tm.gated_run(mutation, baseline, real, scratch / name)
        new = tm.failing_new(summary)
        blamed = sorted({",".join(c.blamed) for c in new})
        classes = sorted({str(f.failure.cls) for c in new for f in c.findings})
        rows.append(
            f"| `{name}` | {len(new)} | {', '.join(blamed) or '-'} | {', '.join(classes)} | "
            f"{summary.exit_code} | {time.monotonic() - started:.0f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-mutations", action="store_true")
    options = parser.parse_args()
    load = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="gate-verdicts-"))
    lines = [
        "# Does the gate tell the truth? (false alarms and hidden regressions)",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores), load average before: {load}; "
        "`python benchmarks/gate_verdicts.py`.",
        "",
        "## The unchanged sample stacks (no cause may fail the gate)",
        "",
        "| run | verdict |",
        "|---|---|",
        *unchanged(scratch),
    ]
    if not options.skip_mutations:
        lines += [
            "",
            "## One-line changes (each must fail the gate, blamed on its runtime)",
            "",
            "| mutation | failing new causes | blamed | classes | exit | s |",
            "|---|---:|---|---|---:|---:|",
            *mutations(scratch),
        ]
    lines += ["", f"Load average after: {os.getloadavg()}.", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
