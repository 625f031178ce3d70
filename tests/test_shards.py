"""``parity run --shard i/n`` and ``parity merge``: four shards of one run,
run one after another and merged, against a single run of the same total
budget on the same stacks and seed. Each command in its own process."""

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
SUITES: Final = ("--suite=extract_json", "--suite=validate", "--suite=iterate")
BUDGET: Final = "200"
SEED: Final = "7"


@pytest.fixture(scope="module")
def built() -> None:
    for spec in default_specs().values():
        build(spec)


def parity(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def report(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return document


def together(document: dict[str, Any]) -> dict[str, str]:
    """Finding id -> the cause it is in."""
    return {fid: cause["id"] for cause in document["causes"] for fid in cause["findings"]}


@pytest.fixture(scope="module")
def runs(built: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One single run, four shards of the same run, and their merge."""
    tmp = tmp_path_factory.mktemp("shards")
    common = ["run", "--no-build", "--max-examples", BUDGET, "--seed", SEED, *SUITES]
    single = parity(tmp, *common, "--report-dir", "single")
    codes = [
        parity(tmp, *common, "--shard", f"{i}/4", "--report-dir", f"shard-{i}").returncode
        for i in range(1, 5)
    ]
    merged = parity(tmp, "merge", *(f"shard-{i}" for i in range(1, 5)), "--report-dir", "merged")
    return {"tmp": tmp, "single": single, "codes": codes, "merged": merged}


def test_each_shard_explores_its_part_and_says_so(runs: dict[str, Any]) -> None:
    tmp = runs["tmp"]
    explored = []
    for index in range(1, 5):
        document = report(tmp / f"shard-{index}")
        assert document["shard"] == [index, 4]
        explored.append(document["suites"]["validate"]["explored"])
    assert sum(explored) == int(BUDGET) and max(explored) - min(explored) <= 1
    digests = {report(tmp / f"shard-{i}")["config_digest"] for i in range(1, 5)}
    assert len(digests) == 1


def test_the_merge_is_one_run_as_a_single_run_would_report_it(runs: dict[str, Any]) -> None:
    tmp, single, merged = runs["tmp"], runs["single"], runs["merged"]
    assert merged.returncode == single.returncode, merged.stdout[-3000:] + merged.stderr[-2000:]
    one, parts = report(tmp / "single"), report(tmp / "merged")
    assert parts["shard"] is None and parts["exit_code"] == one["exit_code"]
    for name, suite in parts["suites"].items():
        assert suite["explored"] == one["suites"][name]["explored"]
    # No fault is split into more causes than the single run gives it:
    # findings one cause holds there, one cause holds in the merge.
    theirs, ours = together(one), together(parts)
    shared = theirs.keys() & ours.keys()
    for fid in shared:
        mates = {other for other in shared if theirs[other] == theirs[fid]}
        assert {ours[m] for m in mates} == {ours[fid]}, (fid, mates)
    # The causes match, apart from rare ones only one side drew: each such
    # cause is one whose findings the other side has none of.
    by_findings = {frozenset(c["findings"]) & shared for c in parts["causes"]}
    for cause in one["causes"]:
        mine = frozenset(cause["findings"]) & shared
        assert not mine or mine in by_findings, cause["summary"]


def test_a_missing_duplicated_or_foreign_shard_is_a_clear_error(runs: dict[str, Any]) -> None:
    tmp = runs["tmp"]
    missing = parity(tmp, "merge", "shard-1", "shard-2", "shard-3")
    assert missing.returncode == 2 and "shard 4/4 is missing" in missing.stderr
    twice = parity(tmp, "merge", "shard-1", "shard-1", "shard-2", "shard-3", "shard-4")
    assert twice.returncode == 2 and "shard 1/4 is given 2 times" in twice.stderr
    whole = parity(tmp, "merge", "single")
    assert whole.returncode == 2 and "a whole run, not a shard" in whole.stderr
    other = parity(
        tmp, "run", "--no-build", "--max-examples", "20", "--seed", "8", "--suite=validate",
        "--shard", "4/4", "--report-dir", "foreign",
    )  # fmt: skip
    assert other.returncode in (0, 1), other.stderr[-2000:]
    foreign = parity(tmp, "merge", "shard-1", "shard-2", "shard-3", "foreign")
    assert foreign.returncode == 2 and "different runs" in foreign.stderr
    for done in (missing, twice, whole, foreign):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
