"""Mutation tests: the suites catch a one-line fault, and blame the right runtime.

Each test copies one sample stack to ``tmp_path``, applies a one-line patch
to the copy (never to ``targets/``), builds the copy, and drives it and the
real other stack as a configured deployment (``parity.toml`` with ``url``,
``model_port`` and ``session_log``). The sample stacks already diverge from
the reference in known ways (Go's ``float64`` numbers, HTML escaping, ...),
so every run is compared with a baseline: the same suites, the same seed and
budget against both unmutated stacks. The mutation must add at least one
finding key (suite, class, path, blamed), and every added key must blame the
mutated runtime alone.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from harness import config, runner
from harness.model import RunSummary
from harness.stacks import Stacks, StackSpec, build, default_specs, free_port

REPO: Final = Path(__file__).resolve().parents[1]
ROSTER: Final = REPO / "fixtures" / "roster.jsonl"
SEED: Final = 20240611
UPSTREAM_TIMEOUT_MS: Final = 2000  # a scripted hang costs two seconds
FOLDERS: Final = {"rust": "rust-gateway", "go": "go-validatord"}
LIVE: Final = ("iterate", "faults", "sessions")

Key = tuple[str, str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Mutation:
    """Replace the one line ``before`` of ``stack``'s ``file`` with ``after``."""

    stack: str  # "rust" or "go"
    file: str  # relative to the stack's folder
    before: str
    after: str
    suites: tuple[str, ...]
    max_examples: int


MUTATIONS: Final = {
    # docs/decisions.md §1, email step 5: a 200-character subject is valid.
    "go-subject-limit-off-by-one": Mutation(
        stack="go",
        file="internal/validator/validate.go",
        before='\tif utf8.RuneCountInString(fields["subject"]) > maxSubjectChars {\n',
        after='\tif utf8.RuneCountInString(fields["subject"]) >= maxSubjectChars {\n',
        suites=("validate",),
        max_examples=200,
    ),
    # The default max_iterations is 3 (CONTRACT, docs/decisions.md).
    "go-default-max-iterations": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before="\tdefaultMaxIterations = 3\n",
        after="\tdefaultMaxIterations = 4\n",
        suites=LIVE,
        max_examples=100,
    ),
    # The session row of an accepted session counts its attempts, off by one;
    # the HTTP answer is untouched, so only the session log shows it.
    "rust-row-iterations-off-by-one": Mutation(
        stack="rust",
        file="src/iterate.rs",
        before="                history.len() as u32,\n",
        after="                history.len() as u32 + 1,\n",
        suites=LIVE,
        max_examples=100,
    ),
}


# -- copies of a stack, patched and built ----------------------------------------------


def copy_stack(name: str, into: Path) -> StackSpec:
    """A copy of the sample stack ``name`` under ``into``, and its spec.

    Go's binaries are left behind (the copy is built from scratch, in seconds
    with a warm build cache); Rust's ``target/`` is copied whole, so only the
    gateway's own crate is rebuilt. The Rust build names its target directory
    on the command line: a ``CARGO_TARGET_DIR`` in the environment must not
    send it to the real stack's.
    """
    source = REPO / "targets" / FOLDERS[name]
    ignore = shutil.ignore_patterns("bin") if name == "go" else None
    shutil.copytree(source, into / FOLDERS[name], symlinks=True, ignore=ignore)
    spec = default_specs(into)[name]
    if name == "rust":
        target_dir = f"--target-dir={spec.workdir / 'target'}"
        spec = dataclasses.replace(spec, build_argv=(*spec.build_argv, target_dir))
    return spec


def apply(mutation: Mutation, spec: StackSpec) -> None:
    path = spec.workdir / mutation.file
    text = path.read_text(encoding="utf-8")
    # The line must be there exactly once: a drift in the sample stack must
    # fail here, not turn the test into a check of nothing.
    assert text.count(mutation.before) == 1, f"{mutation.before!r} is not one line of {path}"
    path.write_text(text.replace(mutation.before, mutation.after), encoding="utf-8")


def mutated_stack(mutation: Mutation, into: Path, *, patch: bool = True) -> StackSpec:
    spec = copy_stack(mutation.stack, into)
    if patch:
        apply(mutation, spec)
    build(spec, force=True)
    return spec


# -- a run against a deployment the harness did not start ------------------------------


def write_config(folder: Path, urls: dict[str, str], ports: dict[str, int]) -> Path:
    lines = [f'[run]\nreport_dir = "report"\nroster = "{ROSTER}"\n']
    for name, spec in default_specs().items():
        lines.append(
            f'[targets.{name}]\nurl = "{urls[name]}"\nmodel_port = {ports[name]}\n'
            f'session_log = "sessions/{name}.jsonl"\ndaemon = "{spec.daemon}"\n'
            "concurrency = 8\ntimeout_s = 20\n"
        )
    path = folder / "parity.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_suites(
    folder: Path, specs: dict[str, StackSpec], suites: tuple[str, ...], max_examples: int
) -> RunSummary:
    """Start ``specs`` behind the harness's scripted model, run ``suites``, stop them."""
    (folder / "sessions").mkdir(parents=True)
    ports = {name: free_port() for name in specs}
    with Stacks(folder / "stacks") as running:
        urls = {
            name: running.start(
                spec,
                upstream_url=f"http://127.0.0.1:{ports[name]}",
                roster=ROSTER,
                session_log=folder / "sessions" / f"{name}.jsonl",
                upstream_timeout_ms=UPSTREAM_TIMEOUT_MS,
            ).url
            for name, spec in specs.items()
        }
        options = runner.RunOptions(
            suites=suites,
            max_examples=max_examples,
            seed=SEED,
            shrink=False,
            report_dir=folder / "report",
        )
        # No regressions folder and a fresh example database: the baseline and
        # the mutant run draw exactly the same cases.
        summary, _ = runner.run(config.load(write_config(folder, urls, ports)), options)
    return summary


def finding_keys(summary: RunSummary) -> set[Key]:
    return {finding.failure.key for suite in summary.suites for finding in suite.findings}


def infrastructure_errors(summary: RunSummary) -> list[str]:
    errors = [f.failure.message for suite in summary.suites for f in suite.errors]
    errors += [
        f"{f.failure.key}: {f.failure.message}"
        for suite in summary.suites
        for f in suite.findings
        if f.failure.cls.is_infrastructure
    ]
    return errors


def checked(summary: RunSummary, suites: tuple[str, ...], max_examples: int) -> None:
    assert infrastructure_errors(summary) == []
    cases = {suite.suite: suite.cases for suite in summary.suites}
    for name in suites:
        if name != "sessions":  # derived: one case per session each runtime answered
            assert cases[name] == max_examples, cases


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(
    real_specs: dict[str, StackSpec], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[tuple[str, ...], int], set[Key]]]:
    """The finding keys of the unmutated stacks, per (suites, budget), run once."""
    runs: dict[tuple[tuple[str, ...], int], set[Key]] = {}

    def keys(suites: tuple[str, ...], max_examples: int) -> set[Key]:
        if (suites, max_examples) not in runs:
            folder = tmp_path_factory.mktemp("baseline")
            summary = run_suites(folder / "run", real_specs, suites, max_examples)
            checked(summary, suites, max_examples)
            runs[suites, max_examples] = finding_keys(summary)
        return runs[suites, max_examples]

    yield keys


def new_keys(
    mutation: Mutation,
    baseline: Callable[[tuple[str, ...], int], set[Key]],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
    *,
    patch: bool = True,
) -> set[Key]:
    """The finding keys a run against the (patched) copy adds to the baseline's."""
    expected = baseline(mutation.suites, mutation.max_examples)
    copy = mutated_stack(mutation, tmp_path / "copy", patch=patch)
    try:
        summary = run_suites(
            tmp_path / "run",
            {**real_specs, mutation.stack: copy},
            mutation.suites,
            mutation.max_examples,
        )
    finally:
        # A Rust copy's target/ is some 200 MB: keep the patched sources only.
        shutil.rmtree(copy.workdir / "target", ignore_errors=True)
    checked(summary, mutation.suites, mutation.max_examples)
    return finding_keys(summary) - expected


# -- the mutations -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_one_line_fault_is_found_and_blamed_on_its_runtime(
    name: str,
    baseline: Callable[[tuple[str, ...], int], set[Key]],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
) -> None:
    mutation = MUTATIONS[name]
    added = new_keys(mutation, baseline, real_specs, tmp_path)
    assert added, f"{name}: the suites {mutation.suites} found nothing new"
    wrongly_blamed = sorted(key for key in added if key[3] != (mutation.stack,))
    assert wrongly_blamed == [], f"{name}: new findings not blamed on {mutation.stack} alone"
    assert {key[0] for key in added} <= set(mutation.suites)
