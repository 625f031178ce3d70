"""The pytest plugin, run the way a user runs it: ``pytest --parity-config ...``
in a separate process (with and without pytest-xdist) against fake probes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import Fakes

SUITES = ("extract_json", "session_log")
BUDGET = "48"


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[Fakes]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # no repo settings
    fakes = Fakes.new(tmp_path)
    yield fakes
    fakes.assert_none_left()


def pytest_in(folder: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS"))}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=180,
        check=False,
    )


def parity_args(config: Path, *extra: str) -> tuple[str, ...]:
    return (
        f"--parity-config={config}",
        "--parity-max-examples",
        BUDGET,
        "--parity-seed",
        "7",
        "--parity-no-shrink",
        *extra,
    )


def outcomes(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``{"parity::extract_json": "PASSED", ...}`` from the -rA summary."""
    found = re.findall(r"^(PASSED|FAILED|ERROR) (parity::\w+)", done.stdout, re.MULTILINE)
    return {item: outcome for outcome, item in found}


def test_identical_targets_give_passing_items(fakes: Fakes) -> None:
    config = fakes.toml(SUITES, "identical")
    done = pytest_in(fakes.tmp, *parity_args(config))

    assert done.returncode == 0, done.stdout + done.stderr
    assert outcomes(done) == {f"parity::{s}": "PASSED" for s in SUITES}
    for suite in SUITES:
        assert (fakes.tmp / "parity-report" / "main" / suite / "report.json").is_file()


def test_a_divergence_fails_its_item_and_names_the_class(fakes: Fakes) -> None:
    config = fakes.toml(SUITES, "number_type")
    done = pytest_in(fakes.tmp, *parity_args(config, "--parity-suite", "session_log"))

    assert done.returncode == 1, done.stdout + done.stderr
    assert outcomes(done) == {"parity::session_log": "FAILED"}
    assert "number_type at $.artifact" in done.stdout
    assert "blamed on faulty" in done.stdout
    reproducers = re.findall(r"reproducer: (\S+\.json)", done.stdout)
    assert reproducers and all(Path(path).is_file() for path in reproducers)


def test_an_infrastructure_error_is_an_error(fakes: Fakes) -> None:
    config = fakes.toml(("extract_json",), "garbage")
    done = pytest_in(fakes.tmp, *parity_args(config))

    assert done.returncode == 1, done.stdout + done.stderr
    assert outcomes(done) == {"parity::extract_json": "ERROR"}
    assert "protocol at $ blamed on faulty [infrastructure error" in done.stdout


def test_items_run_under_xdist_with_a_report_folder_per_worker(fakes: Fakes) -> None:
    config = fakes.toml(SUITES, "identical")
    done = pytest_in(fakes.tmp, *parity_args(config, "-n", "2"))

    assert done.returncode == 0, done.stdout + done.stderr
    assert outcomes(done) == {f"parity::{s}": "PASSED" for s in SUITES}
    for suite in SUITES:
        [report] = (fakes.tmp / "parity-report").glob(f"gw*/{suite}/report.json")
        assert report.is_file()


def test_the_plugin_is_idle_without_a_config(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n", encoding="utf-8")
    done = pytest_in(tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "parity::" not in done.stdout
    assert not (tmp_path / "parity-report").exists()
    assert "--parity-config" in pytest_in(tmp_path, "--help").stdout


def test_a_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    config = tmp_path / "parity.toml"
    config.write_text("[targets.rust]\nurl = 5\n", encoding="utf-8")
    done = pytest_in(tmp_path, f"--parity-config={config}")

    assert done.returncode == 4  # pytest's usage error
    assert str(config) in done.stderr and "url" in done.stderr
