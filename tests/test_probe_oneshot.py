"""One-shot probes: an answer with a non-zero exit status is still an answer;
no answer at all is a crash."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.config import Config, ProbeConfig, RunConfig, TargetConfig
from harness.runner import RunOptions, run

# Answers like the reference, but exits 1 whenever its answer is an error,
# as a seed-style probe might.
ERROR_EXITS_1 = """
import json, sys
from reference_impl.probes import answer_session_log
answer = answer_session_log(sys.stdin.buffer.read().decode("utf-8", "replace"))
print(answer)
sys.exit(1 if "error" in json.loads(answer) else 0)
"""

# Dies without a word on any record that has an artifact.
DIES_SILENTLY = """
import sys
from reference_impl.probes import answer_session_log
text = sys.stdin.buffer.read().decode("utf-8", "replace")
if '"artifact"' in text:
    sys.exit(3)
print(answer_session_log(text))
"""


def config(tmp_path: Path, repo: Path, script: str) -> Config:
    probe = tmp_path / "probe.py"
    probe.write_text(script)
    command = (sys.executable, str(probe))
    targets = {
        name: TargetConfig(
            name=name,
            probes={"session_log": ProbeConfig(command=command, mode="oneshot", cwd=repo)},
        )
        for name in ("one", "two")
    }
    return Config(targets=targets, run=RunConfig(database=None), root=tmp_path)


def test_an_error_answer_with_exit_status_1_is_an_answer(tmp_path: Path, repo: Path) -> None:
    summary, _ = run(
        config(tmp_path, repo, ERROR_EXITS_1),
        RunOptions(suites=("session_log",), max_examples=48, report_dir=tmp_path / "r", seed=3),
    )
    [suite] = summary.suites
    assert (suite.errors, suite.findings, summary.exit_code) == ([], [], 0)


def test_a_probe_that_dies_silently_is_a_crash(tmp_path: Path, repo: Path) -> None:
    summary, _ = run(
        config(tmp_path, repo, DIES_SILENTLY),
        RunOptions(suites=("session_log",), max_examples=48, report_dir=tmp_path / "r", seed=3),
    )
    [suite] = summary.suites
    assert summary.exit_code == 2
    assert {str(f.failure.cls) for f in suite.errors} == {"crash"}
