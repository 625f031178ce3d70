"""``parity trend`` over real runs, each writing its report as ``parity run``
does: engine runs against fake probes (real subprocesses) in which faults
are introduced, waived and removed one by one, and the sample stacks with a
one-line mutation applied and removed. The trend must show each cause appear
and be fixed, and its table, its page's data and its badge must agree with
each report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
from click.testing import CliRunner

from harness import runner, trend
from harness.cli import main
from harness.config import Config, RunConfig, TargetConfig
from harness.stacks import StackSpec
from tests.fakes import Fakes
from tests.test_mutations import MUTATIONS, checked, failing_new, mutated_stack, run_suites
from tests.test_trend import page_data

SEED: Final = 20261207
BUDGET: Final = 60
SUITES: Final = ("extract_json", "session_log")


@dataclass(frozen=True)
class Step:
    """One run: the faulty target's mode per suite, and whether its
    session_log fault is waived."""

    modes: dict[str, str]
    waive_session_log: bool = False


# extract_json's number_type fault appears; session_log's missing_field joins
# it; the first is fixed; the second is waived; then fixed.
STEPS: Final = (
    Step({"extract_json": "identical", "session_log": "identical"}),
    Step({"extract_json": "number_type", "session_log": "identical"}),
    Step({"extract_json": "number_type", "session_log": "missing_field"}),
    Step({"extract_json": "identical", "session_log": "missing_field"}),
    Step({"extract_json": "identical", "session_log": "missing_field"}, waive_session_log=True),
    Step({"extract_json": "identical", "session_log": "identical"}),
)


def config(fakes: Fakes, modes: dict[str, str], folder: Path) -> Config:
    faulty = TargetConfig(name="faulty", probes={s: fakes.probe(s, m) for s, m in modes.items()})
    twin = TargetConfig(name="twin", probes={s: fakes.probe(s, "identical") for s in modes})
    # One example database for the whole sequence, as a CI cache keeps it.
    run = RunConfig(report_dir=folder, database=fakes.tmp / "hypothesis")
    return Config(targets={"faulty": faulty, "twin": twin}, run=run, root=fakes.tmp)


def waiver_for(report: dict[str, Any], suite: str) -> str:
    (finding,) = [d for d in report["divergences"] if d["suite"] == suite]
    targets = json.dumps(finding["blamed"])
    return (
        f'[[waiver]]\nsuite = "{suite}"\nclass = "{finding["class"]}"\n'
        f'path = "{finding["path"]}"\ntargets = {targets}\n'
        'reason = "tracked in LH-1"\nexpires = 2099-01-31\n'
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    tmp = tmp_path_factory.mktemp("trend-runs")
    fakes = Fakes.new(tmp)
    paths: list[Path] = []
    for index, step in enumerate(STEPS):
        folder = tmp / f"run-{index + 1}"
        waivers = None
        if step.waive_session_log:
            waivers = tmp / "waivers.toml"
            previous = json.loads(paths[-1].read_text(encoding="utf-8"))
            waivers.write_text(waiver_for(previous, "session_log"), encoding="utf-8")
        options = runner.RunOptions(
            suites=SUITES, max_examples=BUDGET, seed=SEED, report_dir=folder, waivers=waivers
        )
        runner.run(config(fakes, step.modes, folder), options)
        paths.append(folder / "report.json")
    fakes.assert_none_left()
    yield paths


def causes_of(path: Path) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in json.loads(path.read_text(encoding="utf-8"))["causes"]}


def test_each_cause_appears_and_is_fixed(reports: list[Path], tmp_path: Path) -> None:
    ids = [set(causes_of(path)) for path in reports]
    # The sequence did what it says: one cause per fault, the same id while
    # the fault is there (the trend follows causes by id).
    assert ids[0] == set()
    (number_type,) = ids[1]
    assert ids[2] - ids[1] and number_type in ids[2]
    (missing,) = ids[2] - {number_type}
    assert ids[3] == ids[4] == {missing} and ids[5] == set()

    done = CliRunner().invoke(main, ["trend", *map(str, reports), "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    data = page_data(tmp_path / "trend.html")
    counts = [{k: run[k] for k in ("open", "new", "fixed", "waived")} for run in data["runs"]]
    assert counts == [
        {"open": 0, "new": 0, "fixed": 0, "waived": 0},
        {"open": 1, "new": 1, "fixed": 0, "waived": 0},
        {"open": 2, "new": 1, "fixed": 0, "waived": 0},
        {"open": 1, "new": 0, "fixed": 1, "waived": 0},
        {"open": 0, "new": 0, "fixed": 0, "waived": 1},
        {"open": 0, "new": 0, "fixed": 1, "waived": 0},
    ]
    episodes = {c["key"]: c["episodes"] for c in data["causes"]}
    assert episodes == {
        number_type: [{"appeared": 2, "fixed": 4}],
        missing: [{"appeared": 3, "fixed": 6}],
    }
    # The terminal table says the same, one row per run.
    rows = [line.split() for line in done.output.splitlines() if re.match(r"\s*#\d", line)]
    assert [row[0] for row in rows] == [f"#{n}" for n in range(1, 7)]
    assert [[int(cell) for cell in row[5:9]] for row in rows] == [
        [c["open"], c["new"], c["fixed"], c["waived"]] for c in counts
    ]


def test_the_badge_and_the_waivers_match_the_report(reports: list[Path], tmp_path: Path) -> None:
    for last in (3, 4, 5):
        out = tmp_path / str(last)
        done = CliRunner().invoke(main, ["trend", *map(str, reports[:last]), "--out", str(out)])
        assert done.exit_code == 0, done.output
        report = json.loads(reports[last - 1].read_text(encoding="utf-8"))
        failing = [c for c in report["causes"] if c["fails_gate"] and c["waived"] is None]
        badge = json.loads((out / "badge.json").read_text(encoding="utf-8"))
        noun = "cause" if len(failing) == 1 else "causes"
        assert badge == {
            "schemaVersion": 1,
            "label": "parity",
            "message": f"{len(failing)} open {noun}",
            "color": "red" if failing else "brightgreen",
        }
    # The waived run's report records its waiver's expiry and what it covered.
    waived = json.loads(reports[4].read_text(encoding="utf-8"))
    (use,) = waived["waivers"]
    (cause,) = waived["causes"]
    assert use["expires"] == "2099-01-31" and use["expired"] is False
    assert use["covers"] == cause["findings"] and use["names"]["suite"] == "session_log"
    data = page_data(tmp_path / "5" / "trend.html")
    waivers = {s["label"]: s["values"] for s in data["plots"]["waivers"]["series"]}
    assert waivers["in force"] == [0, 0, 0, 0, 1]


# --------------------------------------------------------------------------- the sample stacks


def test_a_mutation_of_a_sample_stack_appears_and_is_fixed(
    real_specs: dict[str, StackSpec], tmp_path: Path
) -> None:
    """The issue's example: the sample stacks, a one-line fault applied and
    removed. Main's report first; then the mutated Go stack and the real one
    again, each gated by main's report as CI gates a pull request."""
    mutation = MUTATIONS["go-subject-limit-off-by-one"]
    suites, budget = mutation.suites, mutation.max_examples
    main_report = tmp_path / "main" / "report" / "report.json"
    checked(run_suites(tmp_path / "main", real_specs, suites, budget), suites, budget)
    copy = mutated_stack(mutation, tmp_path / "copy")
    mutated = run_suites(
        tmp_path / "mutated",
        {**real_specs, "go": copy},
        suites,
        budget,
        baseline=main_report,
        base=real_specs,
    )
    checked(mutated, suites, budget)
    fixed = run_suites(
        tmp_path / "fixed", real_specs, suites, budget, baseline=main_report, base=real_specs
    )
    checked(fixed, suites, budget)
    new = {cause.id for cause in failing_new(mutated)}
    assert len(new) in mutation.causes and failing_new(fixed) == []

    paths = [tmp_path / name / "report" / "report.json" for name in ("main", "mutated", "fixed")]
    history = trend.build(paths)
    episodes = {t.key: [(e.appeared, e.fixed) for e in t.episodes(3)] for t in history.threads}
    for ident in new:
        assert episodes[ident] == [(1, 2)]  # appeared with the mutation, fixed without it
    known = {cause.id for cause in fixed.causes}
    assert known and all(episodes[ident] == [(0, None)] for ident in known)
    assert [(c.new, c.fixed) for c in history.counts] == [
        (len(known), 0),
        (len(new), 0),
        (0, len(new)),
    ]
    out = tmp_path / "trend"
    assert CliRunner().invoke(main, ["trend", *map(str, paths), "--out", str(out)]).exit_code == 0
    badge = json.loads((out / "badge.json").read_text(encoding="utf-8"))
    open_causes = [c for c in fixed.causes if c.fails_gate and c.waived_by is None]
    assert badge["message"].startswith(f"{len(open_causes)} open cause")
