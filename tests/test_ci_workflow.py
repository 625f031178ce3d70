"""docs/ci/parity.yml: linted by actionlint, and doing what docs/ci.md says.

actionlint (a Go module) is built once with ``go install`` into a cache
folder and reused; the structure checks read the workflow as YAML; the two
shell steps that decide the outcome (the run and the gate) are run for real
with bash against a stand-in ``parity`` that exits with a chosen code.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

ROOT: Final = Path(__file__).resolve().parent.parent
WORKFLOW: Final = ROOT / "docs" / "ci" / "parity.yml"
ACTIONLINT: Final = "github.com/rhysd/actionlint/cmd/actionlint"
ACTIONLINT_VERSION: Final = "v1.7.12"
_PINNED: Final = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$")


def tools_dir() -> Path:
    """Where built tools are kept between runs (PARITY_TOOLS_DIR, else the user cache)."""
    override = os.environ.get("PARITY_TOOLS_DIR")
    if override:
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "lakehouse-parity" / "tools"


def _version_of(binary: Path) -> str:
    done = subprocess.run([str(binary), "-version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0].strip() if done.returncode == 0 and done.stdout else ""


def install_actionlint() -> Path:
    """actionlint at ACTIONLINT_VERSION: the cached build, or ``go install`` it."""
    folder = tools_dir() / f"actionlint-{ACTIONLINT_VERSION}"
    binary = folder / "actionlint"
    folder.mkdir(parents=True, exist_ok=True)
    # one installer at a time (pytest-xdist workers, parallel tox runs)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.exists() and _version_of(binary).lstrip("v") == ACTIONLINT_VERSION.lstrip("v"):
            return binary
        go = shutil.which("go")
        if go is None:
            pytest.fail(
                "go is not on PATH: it is needed to build actionlint, which lints "
                f"{WORKFLOW.relative_to(ROOT)} (install Go 1.22 or later; the sample stacks "
                "need it too)",
                pytrace=False,
            )
        env = {**os.environ, "GOBIN": str(folder)}
        try:
            done = subprocess.run(
                [go, "install", f"{ACTIONLINT}@{ACTIONLINT_VERSION}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"go install {ACTIONLINT}@{ACTIONLINT_VERSION} took over 10 minutes")
        if done.returncode != 0 or not binary.exists():
            pytest.fail(
                f"go install {ACTIONLINT}@{ACTIONLINT_VERSION} failed "
                f"(exit {done.returncode}; GOPROXY={env.get('GOPROXY', '')!r}):\n{done.stderr}",
                pytrace=False,
            )
    return binary


@pytest.fixture(scope="module")
def actionlint() -> Path:
    return install_actionlint()


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    """The pull request job's steps."""
    return list(workflow["jobs"]["parity"]["steps"])


@pytest.fixture(scope="module")
def merge_steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return list(workflow["jobs"]["merge"]["steps"])


def lint(binary: Path, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "-no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=path.parent,
    )


def step(steps: list[dict[str, Any]], *, uses: str = "", runs: str = "") -> dict[str, Any]:
    """The one step that uses an action (by name, any version) or whose script contains ``runs``."""
    found = [
        s
        for s in steps
        if (uses and str(s.get("uses", "")).split("@")[0] == uses)
        or (runs and runs in str(s.get("run", "")))
    ]
    assert len(found) == 1, f"expected one step for {uses or runs!r}, found {len(found)}"
    return found[0]


# --------------------------------------------------------------------------- actionlint


def test_actionlint_accepts_the_workflow(actionlint: Path) -> None:
    done = lint(actionlint, WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_really_checks(actionlint: Path, tmp_path: Path) -> None:
    # the same workflow with one mistake must fail, so a pass above means something
    broken = WORKFLOW.read_text(encoding="utf-8").replace(
        "steps.parity.outputs.exit_code", "steps.parity_run.outputs.exit_code"
    )
    assert broken != WORKFLOW.read_text(encoding="utf-8")
    path = tmp_path / "parity.yml"
    path.write_text(broken, encoding="utf-8")
    done = lint(actionlint, path)
    assert done.returncode == 1 and "parity_run" in done.stdout


def test_a_cached_actionlint_is_reused(actionlint: Path) -> None:
    before = actionlint.stat().st_mtime_ns
    assert install_actionlint() == actionlint
    assert actionlint.stat().st_mtime_ns == before


# --------------------------------------------------------------------------- structure


def test_triggers_and_minimal_permissions(workflow: dict[Any, Any]) -> None:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["push"]["branches"] == ["main"] and "pull_request" in on
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"parity", "shard", "merge"}
    job = jobs["parity"]
    assert job["if"] == "github.event_name != 'push'"
    assert job["permissions"] == {"contents": "read", "actions": "read", "checks": "write"}
    assert jobs["shard"]["if"] == "github.event_name == 'push'"
    assert jobs["merge"]["needs"] == "shard" and "always()" in jobs["merge"]["if"]
    assert all(j["timeout-minutes"] <= 30 for j in jobs.values())


def test_actions_are_pinned_and_toolchains_set_up(steps: list[dict[str, Any]]) -> None:
    used = [str(s["uses"]) for s in steps if "uses" in s]
    assert used and all(_PINNED.match(u) for u in used), used
    assert step(steps, uses="actions/setup-python")["with"]["python-version"] == "3.11"
    assert "go-version-file" in step(steps, uses="actions/setup-go")["with"]
    rust = step(steps, uses="actions-rust-lang/setup-rust-toolchain")["with"]
    assert rust["toolchain"] == "stable" and rust["cache-workspaces"] == "targets/rust-gateway"
    step(steps, runs="make -C targets build")


def test_pull_requests_run_against_the_main_branch_report(
    steps: list[dict[str, Any]], merge_steps: list[dict[str, Any]]
) -> None:
    download = step(steps, runs="gh run download")
    assert download["if"] == "github.event_name == 'pull_request'"
    assert "--branch main" in download["run"] and "main-report.json" in download["run"]
    assert download["env"]["GH_TOKEN"] == "${{ github.token }}"
    # main's merge job uploads the artifact the pull requests download
    upload = step(merge_steps, uses="actions/upload-artifact")
    assert upload["with"]["name"] == "${{ env.BASELINE_ARTIFACT }}"
    assert "$BASELINE_ARTIFACT" in download["run"]
    run = step(steps, runs="bin/parity run")
    assert run["env"]["BASELINE"] == "${{ steps." + download["id"] + ".outputs.path }}"


def test_reports_are_uploaded_summarised_and_published(steps: list[dict[str, Any]]) -> None:
    upload = step(steps, uses="actions/upload-artifact")
    assert upload["with"]["path"] == "parity-report/" and "always()" in upload["if"]
    summary = step(steps, runs="GITHUB_STEP_SUMMARY")
    assert summary["run"].strip() == 'cat parity-report/report.md >> "$GITHUB_STEP_SUMMARY"'
    assert "always()" in summary["if"]
    junit = step(steps, uses="mikepenz/action-junit-report")
    assert junit["with"]["report_paths"] == "parity-report/junit.xml"
    assert "always()" in junit["if"]
    order = [steps.index(s) for s in (step(steps, runs="bin/parity run"), upload, summary, junit)]
    assert order == sorted(order)
    assert steps.index(step(steps, runs='case "$CODE"')) == len(steps) - 1  # the gate is last


# --------------------------------------------------------------------------- shell steps


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script],  # GitHub runs `run:` with bash -e {0}
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def fake_parity(tmp_path: Path) -> Iterator[Path]:
    """A stand-in .venv/bin/parity that records its arguments and exits with $FAKE_EXIT."""
    binary = tmp_path / ".venv" / "bin" / "parity"
    binary.parent.mkdir(parents=True)
    binary.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > args.txt\nexit "$FAKE_EXIT"\n')
    binary.chmod(0o755)
    yield tmp_path


@pytest.mark.parametrize(
    ("baseline", "base", "code"),
    [("main-report.json", "0123abc", 1), ("", "", 0), ("x.json", "", 2), ("", "0123abc", 0)],
)
def test_the_run_step_passes_the_baseline_and_records_the_exit_code(
    steps: list[dict[str, Any]], fake_parity: Path, baseline: str, base: str, code: int
) -> None:
    run = step(steps, runs="bin/parity run")
    output = fake_parity / "github_output"
    assert run["env"]["PROFILE"] == "ci"
    assert run["env"]["BASE_REF"] == "${{ github.event.pull_request.base.sha }}"
    env = {
        "BASELINE": baseline,
        "BASE_REF": base,
        "PROFILE": "ci",
        "PARITY_MAX_TIME": "600",
        "GITHUB_OUTPUT": str(output),
        "FAKE_EXIT": str(code),
    }
    done = bash(run["run"], fake_parity, env)
    assert done.returncode == 0, done.stderr  # the step records; the gate decides
    args = (fake_parity / "args.txt").read_text().split("\n")[:-1]
    expected = ["run", "--profile", "ci", "--max-time", "600", "--report-dir", "parity-report"]
    expected += ["--baseline", baseline] if baseline else []
    assert args == expected + (["--base-ref", base] if base else [])
    assert output.read_text() == f"exit_code={code}\n"


@pytest.mark.parametrize(
    ("code", "event", "exit"),
    [
        ("0", "pull_request", 0),
        ("1", "pull_request", 1),  # a new cause
        ("1", "push", 0),  # main's known causes: recorded as the baseline
        ("2", "pull_request", 2),
        ("2", "push", 2),
        ("", "pull_request", 2),  # parity never ran
    ],
)
def test_the_gate_follows_the_exit_code(
    steps: list[dict[str, Any]], tmp_path: Path, code: str, event: str, exit: int
) -> None:
    gate = step(steps, runs='case "$CODE"')
    assert gate["env"]["CODE"] == "${{ steps.parity.outputs.exit_code }}"
    done = bash(gate["run"], tmp_path, {"CODE": code, "EVENT": event})
    assert done.returncode == exit, done.stdout + done.stderr


# --------------------------------------------------------------------------- main: shards


def test_main_runs_the_thorough_profile_in_shards_of_one_seed(workflow: dict[Any, Any]) -> None:
    job = workflow["jobs"]["shard"]
    shards = job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(workflow["env"]["SHARDS"]) + 1))
    assert job["strategy"]["fail-fast"] is False  # a failing shard must not cancel the others
    run = step(job["steps"], runs="bin/parity run")
    assert run["env"] == {"SHARD": "${{ matrix.shard }}", "SEED": "${{ github.run_id }}"}
    assert "--profile thorough" in run["run"] and '--shard "$SHARD/$SHARDS"' in run["run"]
    upload = step(job["steps"], uses="actions/upload-artifact")
    assert upload["with"]["name"] == "parity-shard-${{ matrix.shard }}"
    download = step(workflow["jobs"]["merge"]["steps"], uses="actions/download-artifact")
    assert download["with"]["pattern"] == "parity-shard-*"


@pytest.mark.parametrize("code", [0, 1, 2])
def test_the_merge_step_merges_every_shard_and_records_the_exit_code(
    merge_steps: list[dict[str, Any]], fake_parity: Path, code: int
) -> None:
    merge = step(merge_steps, runs="bin/parity merge")
    output = fake_parity / "github_output"
    env = {"SHARDS": "4", "GITHUB_OUTPUT": str(output), "FAKE_EXIT": str(code)}
    done = bash(merge["run"], fake_parity, env)
    assert done.returncode == 0, done.stderr  # the step records; the gate decides
    args = (fake_parity / "args.txt").read_text().split("\n")[:-1]
    folders = [f"shards/parity-shard-{i}" for i in range(1, 5)]
    assert args == ["merge", *folders, "--report-dir", "parity-report"]
    assert output.read_text() == f"exit_code={code}\n"


@pytest.mark.parametrize(("code", "exit"), [("0", 0), ("1", 0), ("2", 2), ("", 2)])
def test_main_s_gate_records_causes_and_fails_on_infrastructure(
    merge_steps: list[dict[str, Any]], tmp_path: Path, code: str, exit: int
) -> None:
    gate = step(merge_steps, runs='case "$CODE"')
    assert gate["env"]["CODE"] == "${{ steps.parity.outputs.exit_code }}"
    assert merge_steps.index(gate) == len(merge_steps) - 1
    done = bash(gate["run"], tmp_path, {"CODE": code})
    assert done.returncode == exit, done.stdout + done.stderr
