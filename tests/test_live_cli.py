"""``parity run`` with no config, end to end: the whole default job, a finding
replayed with ``parity repro``, and a run that loses a stack or is interrupted
(exit 2, the report names the target, no process left behind)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.stacks import build, default_specs, pid_running
from tests.procs import command_line, from_a_terminal, processes_mentioning

REPO = Path(__file__).resolve().parents[1]
LIVE = ("validate", "iterate", "faults", "collector_faults", "sessions", "traces")
GATEWAY = str(default_specs()["rust"].binary_path)
VALIDATORD = str(default_specs()["go"].binary_path)


@pytest.fixture(scope="module")
def built() -> None:
    for spec in default_specs().values():
        build(spec)


def parity(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``parity ...`` in ``cwd`` (no parity.toml there: the embedded default)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.Popen(
        from_a_terminal([sys.executable, "-m", "harness.cli", *args]),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def wait_for_rows(log: Path, process: subprocess.Popen[str], rows: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0][-3000:]
        if log.is_file() and log.read_bytes().count(b"\n") >= rows:
            return
        time.sleep(0.05)
    raise AssertionError(f"{log} did not reach {rows} rows")


def stacks_of(pid: int) -> dict[str, int]:
    """The sample stacks a parity process started, by name."""
    out = {}
    for child in children(pid):
        line = command_line(child)
        if line.startswith(GATEWAY):
            out["rust"] = child
        elif line.startswith(VALIDATORD):
            out["go"] = child
    return out


KNOWN = {
    (f["suite"], f["class"], f["path"], tuple(f["blamed"]))
    for f in json.loads((REPO / "tests" / "data" / "sample_stack_findings.json").read_text())[
        "findings"
    ]
}


def test_the_default_job_runs_unattended_and_a_finding_replays(built: None, tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = parity("run", "--max-examples", "200", "--seed", "20261126", "--report-dir", str(report),
                 cwd=tmp_path)  # fmt: skip
    output, _ = run.communicate(timeout=600)
    assert run.returncode in (0, 1), output[-4000:]
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["errors"] == []
    assert set(document["suites"]) == {"extract_json", "session_log", *LIVE}
    for name, suite in document["suites"].items():
        assert suite["cases"] >= 200, (name, suite)
        assert sorted(suite["targets"]) == ["go", "reference", "rust"]
    # Each trace finding's minimal case shows both trees in the report.
    traced = [d for d in document["divergences"] if d["suite"] == "traces"]
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count('<pre class="tree">') >= 3 * len(traced)
    # Both stacks' logs and session logs are kept with the report.
    for name in ("rust", "go"):
        assert (report / "stacks" / f"{name}.log").is_file()
        assert (report / "sessions" / f"{name}.jsonl").is_file()
    assert processes_mentioning(str(report)) == []
    # Every live divergence the engine found before its redesign is found again.
    divergences = document["divergences"]
    found = {(f["suite"], f["class"], f["path"], tuple(f["blamed"])) for f in divergences}
    assert {k for k in KNOWN if k[0] in LIVE} - found == set()
    # A finding from a live suite replays (the sample Go stack writes 1.0 as 1).
    live = [
        f
        for f in document["divergences"]
        if f["suite"] in LIVE and f["class"] != "encoding_only" and not f["waived"]
    ]
    assert live, "expected the sample stacks' known divergences"
    replay = parity("repro", live[0]["reproducer"], cwd=tmp_path)
    replayed, _ = replay.communicate(timeout=120)
    assert replay.returncode == 1, replayed
    assert "still diverges" in replayed
    assert f"{live[0]['class']} at {live[0]['path']}" in replayed
    # A session-log finding replays its session, then checks the row it wrote.
    rows = [f for f in live if f["suite"] == "sessions"]
    assert rows, "expected Go's float64 in the session rows"
    replay = parity("repro", rows[0]["reproducer"], cwd=tmp_path)
    replayed, _ = replay.communicate(timeout=120)
    assert replay.returncode == 1, replayed
    assert f"{rows[0]['class']} at {rows[0]['path']}" in replayed


_REACH = """
import dataclasses, json, sys
from pathlib import Path
from harness import runner
folder = Path(sys.argv[1])
options = runner.RunOptions(
    suites=("extract_json", "session_log"), max_examples=10_000, seed=20261126,
    shrink=False, report_dir=folder / "report",
)
default = runner.default_config()
fresh = dataclasses.replace(default.run, database=folder / "hypothesis")
summary, _ = runner.run(dataclasses.replace(default, run=fresh), options)
print(json.dumps({
    "found": [list(f.failure.key[:3]) + [list(f.failure.blamed)]
              for s in summary.suites for f in s.findings],
    "cases": {s.suite: s.cases for s in summary.suites},
    "errors": [f.failure.message for s in summary.suites for f in s.errors],
}))
"""


def test_the_probe_suites_find_what_they_found_before_the_redesign(
    built: None, tmp_path: Path
) -> None:
    """Some manifestations of a known fault are rare (a lone surrogate in a
    first object and a second object with the same keys): a larger budget,
    on a fixed seed, reaches each one. In a fresh interpreter, as a user runs
    it: what Hypothesis generates depends on the process's history (what a
    test before it in the same worker drew), not only on the seed."""
    done = subprocess.run(
        [sys.executable, "-c", _REACH, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    found = {(suite, cls, path, tuple(blamed)) for suite, cls, path, blamed in result["found"]}
    missing = {k for k in KNOWN if k[0] not in LIVE} - found
    assert missing == set(), (result["cases"], result["errors"])


def test_a_stack_killed_mid_run_is_exit_2_and_named(built: None, tmp_path: Path) -> None:
    report = tmp_path / "report"
    args = ["run", "--report-dir", str(report), "--max-examples", "400", "--no-shrink"]
    run = parity(*args, *(f"--suite={s}" for s in ("iterate", "faults", "sessions")),
                 cwd=tmp_path)  # fmt: skip
    try:
        wait_for_rows(report / "sessions" / "rust.jsonl", run, 40)
        started = stacks_of(run.pid)
        assert set(started) == {"rust", "go"}
        os.kill(started["rust"], signal.SIGKILL)
        output, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 2, output[-4000:]
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["exit_code"] == 2
    messages = [error["message"] for error in document["errors"]]
    down = [m for m in messages if m.startswith("target rust is down")]
    assert down, messages
    assert f"its process (pid {started['rust']}) exited with code -9" in down[0]
    assert all(error["blamed"] == ["rust"] for error in document["errors"])
    assert document["suites"]["iterate"]["explored"] == 400
    assert not any(pid_running(pid) for pid in started.values())
    assert processes_mentioning(str(report)) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_stops_everything(
    built: None, tmp_path: Path, signum: signal.Signals
) -> None:
    report = tmp_path / "report"
    run = parity("run", "--report-dir", str(report), "--suite=iterate", "--max-examples",
                 "5000", cwd=tmp_path)  # fmt: skip
    try:
        wait_for_rows(report / "sessions" / "go.jsonl", run, 40)
        started = stacks_of(run.pid)
        assert set(started) == {"rust", "go"}
        run.send_signal(signum)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 2, output[-3000:]
    assert "every process the harness started was stopped" in output
    assert not any(pid_running(pid) for pid in started.values())
    assert processes_mentioning(str(report)) == []
