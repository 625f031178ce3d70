"""The engine end to end against fake probes (real subprocesses, no mocks).

Each fake (``tests/fakes/probe.py``) answers like the reference except for one
known, case-dependent divergence; the engine has to find it, classify it,
blame the faulty target and not its identical twin, and save a reproducer.
Crashing, hanging and garbage-writing fakes must give infrastructure errors,
with the process restarted and nothing left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import repro, runner
from harness.config import Config
from harness.config import load as load_config
from harness.events import CaseChecked, Event
from harness.model import DivergenceClass, RunSummary
from tests.fakes import Fakes
from tests.fakes.probe import CRASH_STATUS, MODES

REPO = Path(__file__).resolve().parents[1]
SEED = 20260502
BUDGET = 200
INFRA_MODES = ("crash", "hang", "garbage")
DIVERGING = [
    (suite, mode)
    for suite, modes in MODES.items()
    for mode in modes
    if mode not in (*INFRA_MODES, "identical")
]
# A text in roughly one generated extract_json case in twelve.
TRIGGER = "Toledo"


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[Fakes]:
    fakes = Fakes.new(tmp_path)
    yield fakes
    fakes.assert_none_left()


def run(
    config: Config,
    suites: tuple[str, ...],
    *,
    budget: int = BUDGET,
    shrink: bool = False,
    events: list[Event] | None = None,
) -> RunSummary:
    listeners = (events.append,) if events is not None else ()
    options = runner.RunOptions(
        suites=suites, max_examples=budget, seed=SEED, shrink=shrink, listeners=listeners
    )
    summary, paths = runner.run(config, options)
    assert paths["json"].is_file()
    return summary


# --------------------------------------------------------------------------- divergences


@pytest.mark.parametrize(("suite", "mode"), DIVERGING, ids=[f"{s}-{m}" for s, m in DIVERGING])
def test_each_class_is_found_and_blamed_on_the_faulty_target(
    fakes: Fakes, suite: str, mode: str
) -> None:
    summary = run(fakes.config((suite,), mode), (suite,))

    [result] = summary.suites
    assert result.cases >= BUDGET
    assert result.errors == []
    assert {str(f.failure.cls) for f in result.findings} == {mode}
    for finding in result.findings:
        assert finding.failure.blamed == ("faulty",)
        assert finding.reproducer is not None
        saved = repro.load(Path(finding.reproducer))
        assert (saved.suite, saved.cls) == (suite, mode)
        assert saved.document["blamed"] == ["faulty"]
        assert saved.input == finding.example.input
    expected_exit = 0 if mode == "encoding_only" else 1  # encoding_only is reported only
    assert summary.exit_code == expected_exit


def test_shrinking_leaves_a_small_example(fakes: Fakes) -> None:
    suite = "extract_json"
    summary = run(fakes.config((suite,), "number_type"), (suite,), shrink=True)

    [finding] = summary.suites[0].findings
    assert finding.failure.cls is DivergenceClass.NUMBER_TYPE
    assert len(finding.example.input) <= 40
    # The shrunk example still shows the divergence: an integral float written as an int.
    difference = finding.example.differences["faulty"][0]
    assert isinstance(difference.expected, float) and difference.expected.is_integer()
    assert isinstance(difference.actual, int) and difference.actual == difference.expected


def test_identical_targets_give_parity(fakes: Fakes) -> None:
    suites = ("extract_json", "session_log")
    summary = run(fakes.config(suites, "identical"), suites)

    assert [s.suite for s in summary.suites] == list(suites)
    for result in summary.suites:
        assert result.cases >= BUDGET
        assert result.findings == []
        assert result.errors == []
    assert summary.exit_code == 0


# --------------------------------------------------------------------------- infrastructure


def _faulty_answers(events: list[Event]) -> list[bool]:
    """For each case checked, in order: did the faulty target answer it?"""
    return [
        event.result.observations["faulty"].infra is None
        for event in events
        if isinstance(event, CaseChecked)
    ]


def _answered_after_failure(events: list[Event]) -> bool:
    answers = _faulty_answers(events)
    first = answers.index(False)
    return any(answers[first + 1 :])


def test_a_crash_is_an_infrastructure_error_and_the_probe_restarts(fakes: Fakes) -> None:
    suite = "extract_json"
    events: list[Event] = []
    config = fakes.config((suite,), "crash", extra=("--trigger", TRIGGER))
    summary = run(config, (suite,), events=events)

    [result] = summary.suites
    assert result.findings == []
    crashes = [f for f in result.errors if f.failure.cls is DivergenceClass.CRASH]
    assert crashes and all(f.failure.blamed == ("faulty",) for f in crashes)
    example = crashes[0].example
    assert TRIGGER in example.input
    observation = example.observations["faulty"]
    assert observation.infra is not None and observation.infra.exit_code == CRASH_STATUS
    assert "crashing on purpose" in observation.stderr
    assert crashes[0].reproducer is not None and Path(crashes[0].reproducer).is_file()
    assert _answered_after_failure(events)
    assert summary.exit_code == 2


def test_a_probe_that_always_crashes_is_given_up(fakes: Fakes) -> None:
    suite = "session_log"
    summary = run(fakes.config((suite,), "crash"), (suite,), budget=64)

    [result] = summary.suites
    assert result.errors
    assert all(f.failure.cls is DivergenceClass.CRASH for f in result.errors)
    assert all(f.failure.blamed in (("faulty",), ()) for f in result.errors)
    assert summary.exit_code == 2


def test_a_hang_is_a_timeout(fakes: Fakes) -> None:
    suite = "session_log"
    once = fakes.tmp / "hung-once"
    events: list[Event] = []
    config = fakes.config((suite,), "hang", timeout_s=1.0, extra=("--once", str(once)))
    started = time.monotonic()
    summary = run(config, (suite,), events=events)

    assert once.exists()
    [result] = summary.suites
    assert result.findings == []
    [timeout] = result.errors
    assert timeout.failure.cls is DivergenceClass.TIMEOUT
    assert timeout.failure.blamed == ("faulty",)
    assert "hanging on purpose" in timeout.example.observations["faulty"].stderr
    assert _answered_after_failure(events)
    assert summary.exit_code == 2
    assert time.monotonic() - started < 15  # one timeout, not one per case of the batch


def test_garbage_is_a_protocol_error(fakes: Fakes) -> None:
    suite = "extract_json"
    config = fakes.config((suite,), "garbage", extra=("--trigger", TRIGGER))
    summary = run(config, (suite,))

    [result] = summary.suites
    assert result.findings == []
    [garbage] = result.errors
    assert garbage.failure.cls is DivergenceClass.PROTOCOL
    assert garbage.failure.blamed == ("faulty",)
    assert TRIGGER in garbage.example.input
    assert summary.exit_code == 2


# --------------------------------------------------------------------------- CLI


def parity(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["COLUMNS"] = "1000"  # rich wraps at 80 columns when it is not a terminal
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def status_reproducer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A reproducer saved by a run against a fake that accepts rejected records."""
    fakes = Fakes.new(tmp_path_factory.mktemp("repro"))
    summary = run(fakes.config(("session_log",), "status"), ("session_log",), budget=48)
    fakes.assert_none_left()
    [finding] = summary.suites[0].findings
    assert finding.reproducer is not None
    yield Path(finding.reproducer)


@pytest.mark.parametrize(("mode", "code", "verdict"), [
    ("status", 1, "still diverges"),
    ("identical", 0, "no longer diverges"),
])  # fmt: skip
def test_repro_replays_a_saved_divergence(
    fakes: Fakes, status_reproducer: Path, mode: str, code: int, verdict: str
) -> None:
    config = fakes.toml(("session_log",), mode)
    done = parity("repro", status_reproducer, "--config", config, cwd=fakes.tmp)

    assert done.returncode == code, done.stderr
    assert verdict in done.stdout


def test_repro_says_an_encoding_difference_does_not_fail_the_gate(fakes: Fakes) -> None:
    summary = run(fakes.config(("extract_json",), "encoding_only"), ("extract_json",), budget=48)
    [finding] = summary.suites[0].findings
    assert finding.reproducer is not None
    config = fakes.toml(("extract_json",), "encoding_only")
    done = parity("repro", finding.reproducer, "--config", config, cwd=fakes.tmp)

    assert done.returncode == 0, done.stderr
    assert "differs in encoding only (does not fail the gate)" in done.stdout


def test_repro_rejects_a_malformed_reproducer(fakes: Fakes) -> None:
    broken = fakes.tmp / "broken.json"
    broken.write_text('{"format": "lakehouse-parity/reproducer", "version": 1', encoding="utf-8")
    config = fakes.toml(("session_log",), "identical")
    done = parity("repro", broken, "--config", config, cwd=fakes.tmp)

    assert done.returncode == 2
    assert "not a reproducer file" in done.stderr
    assert str(broken) in done.stderr


_PROBE = "[targets.rust.probes.extract_json]\n"
BAD_CONFIGS = {
    "unknown key": ('[run]\ncolour = "red"\n' + _PROBE + 'command = ["x"]\n', "colour"),
    "wrong type": (_PROBE + 'command = ["x"]\ntimeout_s = "soon"\n', "timeout_s"),
    "missing command": (_PROBE + 'mode = "jsonl"\n', "command"),
}


@pytest.mark.parametrize("problem", sorted(BAD_CONFIGS))
def test_a_bad_config_names_the_key_and_the_file(tmp_path: Path, problem: str) -> None:
    text, key = BAD_CONFIGS[problem]
    path = tmp_path / "parity.toml"
    path.write_text(text, encoding="utf-8")
    done = parity("run", "--no-build", "--config", path, cwd=tmp_path)

    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert str(path) in message
    assert key in message
    assert "Traceback" not in done.stderr


def _with_regressions(config: Path, folder: str) -> Path:
    with config.open("a", encoding="utf-8") as file:
        file.write(f"[run]\nregressions = {json.dumps(folder)}\n")
    return config


def test_a_configured_regressions_folder_that_is_not_there_is_an_error(fakes: Fakes) -> None:
    """Read as empty, a typo in the folder's path would replay nothing and
    say nothing: like a missing waivers file, it is one line and exit 2."""
    config = _with_regressions(fakes.toml(("extract_json",), "identical"), "regresions")
    args = ("run", "--no-build", "--config", config, "--max-examples", "8")
    done = parity(*args, "--report-dir", fakes.tmp / "report", cwd=fakes.tmp)

    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line == f"error: {config}: run.regressions: no such folder: {fakes.tmp / 'regresions'}"
    assert not (fakes.tmp / "report").exists()  # refused before anything ran


def test_a_configured_regressions_folder_is_read(fakes: Fakes) -> None:
    """The same config with the folder there: its reproducers are the cases
    the run replays first."""
    folder = fakes.tmp / "regressions"
    folder.mkdir()
    committed = sorted((REPO / "fixtures" / "regressions").glob("extract_json-*.json"))
    for path in committed:
        (folder / path.name).write_bytes(path.read_bytes())
    path = _with_regressions(fakes.toml(("extract_json",), "identical"), "regressions")
    options = runner.RunOptions(report_dir=fakes.tmp / "report")
    prepared = runner.prepare(load_config(path), options)

    assert committed and prepared.regressions == {
        "extract_json": [repro.load(p).input for p in committed]
    }


def test_the_default_regressions_folder_may_be_absent(tmp_path: Path) -> None:
    """The embedded default replays the sample's reproducers when they are
    there (a checkout) and nothing, without an error, when they are not."""
    assert runner.default_config().run.regressions == REPO / "fixtures" / "regressions"
    assert runner.default_config(tmp_path).run.regressions is None


def test_schema_check_names_the_bad_line(tmp_path: Path) -> None:
    row = json.loads((REPO / "fixtures" / "session_log" / "accepted_email.json").read_text())
    bad = {**row, "iterations": "one"}
    path = tmp_path / "sessions.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (row, bad, row)) + "\n", encoding="utf-8")
    done = parity("schema", "check", path, cwd=tmp_path)

    assert done.returncode == 1
    assert f"{path}:2:" in done.stdout
    assert f"{path}:1:" not in done.stdout and f"{path}:3:" not in done.stdout
    assert "1 problem(s)" in done.stdout
