"""The gate never cries wolf on unchanged stacks (issue 15's measurement,
kept): a first run, then the same seed and other seeds gated by its report
with the base revision's stacks (``--base-ref HEAD``) verifying what the
baseline missed. Each run is ``parity run`` in its own process, as a user
or CI runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from harness.stacks import build, default_specs

REPO: Final = Path(__file__).resolve().parents[1]
BUDGET: Final = "100"


@pytest.fixture(scope="module")
def built() -> None:
    for spec in default_specs().values():
        build(spec)


def parity(report: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--max-examples", BUDGET,
         "--report-dir", str(report), *args],
        cwd=report.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return done.returncode, document, done.stdout + done.stderr


def test_unchanged_stacks_pass_the_gate_whatever_the_seed(built: None, tmp_path: Path) -> None:
    first = tmp_path / "main"
    code, _, output = parity(first, "--seed", "1")
    assert code == 1, output[-3000:]  # the sample stacks' known divergences
    baseline = str(first / "report.json")
    for seed in ("1", "2", "3"):
        code, gated, output = parity(
            tmp_path / f"seed-{seed}", "--seed", seed, "--baseline", baseline, "--base-ref", "HEAD"
        )
        assert code == 0, f"seed {seed}: {output[-3000:]}"
        outcome = gated["baseline"]
        assert outcome["verified"] and outcome["base"].startswith("--base-ref HEAD")
        statuses = {cause["status"] for cause in gated["causes"]}
        assert statuses <= {"known", "pre_existing", "new"}
        # Whatever the baseline missed, the base stacks showed: pre-existing;
        # "new" is left only to what fails no gate (encoding only).
        failing_new = [c for c in gated["causes"] if c["status"] == "new" and c["fails_gate"]]
        assert all(c.get("flaky", {}).get("flaky") for c in failing_new), failing_new
        assert len(outcome["pre_existing"]) == sum(
            1 for c in gated["causes"] if c["status"] == "pre_existing"
        )
