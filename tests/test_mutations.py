"""Mutation tests: the suites catch a one-line fault, and blame the right runtime.

Each test copies one sample stack to ``tmp_path``, applies a one-line patch
to the copy (never to ``targets/``), builds the copy, and drives it and the
real other stack as a configured deployment (``parity.toml`` with ``url``,
``model_port`` and ``session_log``). The sample stacks already diverge from
the reference in known ways (Go's ``float64`` numbers, HTML escaping, ...),
so every run is gated as CI gates it: ``--baseline`` with the report of the
same suites and budget against both unmutated stacks. The mutation must be
exactly one new cause, blamed on the mutated runtime alone (exit 1); the
unpatched copy, run with another seed, must be nothing new (exit 0).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from harness import config, environment, runner
from harness.model import Cause, DivergenceClass, RunSummary
from harness.stacks import Stacks, StackSpec, build, default_specs, free_port
from harness.suites import registry

REPO: Final = Path(__file__).resolve().parents[1]
ROSTER: Final = REPO / "fixtures" / "roster.jsonl"
SEED: Final = 20240611
UPSTREAM_TIMEOUT_MS: Final = 2000  # a scripted hang costs two seconds
FOLDERS: Final = {"rust": "rust-gateway", "go": "go-validatord"}
PROBE_FOLDERS: Final = {"rust": "target/release", "go": "bin"}  # in each stack's folder
LIVE: Final = ("iterate", "faults", "sessions")
QUICK: Final = 400  # the quick profile's budget
# The trace tree's mutations: the sessions whose trees are checked, and a
# budget that draws a few slow-collector sessions among the faults.
TRACED: Final = ("collector_faults", "traces")
TRACED_BUDGET: Final = 20

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
    causes: tuple[int, ...] = (1,)  # how many new causes it may show as
    shrink: bool = True  # off: the first example of each finding is its case


MUTATIONS: Final = {
    # docs/decisions.md §1, email step 5: a 200-character subject is valid.
    "go-subject-limit-off-by-one": Mutation(
        stack="go",
        file="internal/validator/validate.go",
        before='\tif utf8.RuneCountInString(fields["subject"]) > maxSubjectChars {\n',
        after='\tif utf8.RuneCountInString(fields["subject"]) >= maxSubjectChars {\n',
        suites=("validate",),
        max_examples=200,
        # Two causes, not one: a valid request with a 200-character subject
        # (status: 200 becomes 422) and an invalid one whose first error
        # comes later (value at $.kind: consistency becomes schema). Neither
        # minimal case shows the other's finding, so co-occurrence cannot
        # join them (see harness/causes.py).
        causes=(2,),
    ),
    # The default max_iterations is 3 (CONTRACT, docs/decisions.md). The
    # row's max_iterations and the sessions that now end otherwise are two
    # causes when no minimal case shows both.
    "go-default-max-iterations": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before="\tdefaultMaxIterations = 3\n",
        after="\tdefaultMaxIterations = 4\n",
        suites=LIVE,
        max_examples=100,
        causes=(1, 2),
    ),
    # The same default lowered: the change issue 15 measured hiding behind a
    # known cause (its findings joined one the baseline knew).
    "go-default-max-iterations-2": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before="\tdefaultMaxIterations = 3\n",
        after="\tdefaultMaxIterations = 2\n",
        suites=LIVE,
        max_examples=100,
        causes=(1, 2),
    ),
    # An exhausted session's row misspells its final verdict: only the
    # session log shows it (the other change issue 15 saw pass as known).
    "go-final-verdict-misspelled": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before=(
            "\ts.cfg.SessionLog.Append(sess.sessionRecord("
            "validator.VerdictMaxIterExhausted, uint32(maxIter)))\n"
        ),
        after=(
            '\ts.cfg.SessionLog.Append(sess.sessionRecord("max_iter_exhaustd", uint32(maxIter)))\n'
        ),
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
    # The rarest corners before the strategies drew them as first-class
    # choices (benchmarks/results/rule_coverage.md, at the quick profile):
    # each was exercised by 0 to 2 cases in 400 on some seed.
    # CONTRACT §1.2: a fenced candidate after one that is not an object
    # (extract.fence.later_candidate).
    "rust-first-fence-only": Mutation(
        stack="rust",
        file="src/extract.rs",
        before="        .find_map(parse_object)\n",
        after="        .take(1).find_map(parse_object)\n",
        suites=("extract_json",),
        max_examples=QUICK,
    ),
    # CONTRACT §1.1: Rust's str::trim keeps U+001C-U+001F
    # (extract.fence.separator_kept).
    "rust-trim-controls": Mutation(
        stack="rust",
        file="src/extract.rs",
        before="        candidates.push(body[..close].trim());\n",
        after="        candidates.push(body[..close].trim_matches(|c: char| c.is_whitespace() "
        "|| c.is_control()));\n",
        suites=("extract_json",),
        max_examples=QUICK,
        # The fenced object against the bare one before it: a key missing, and
        # one null against absent (their minimal cases do not show each other).
        causes=(2,),
    ),
    # docs/decisions.md §1 request envelope 3: a context absent is null
    # (validate.body.absent_as_null).
    "rust-absent-context-is-the-artifact": Mutation(
        stack="rust",
        file="src/validate.rs",
        before='    let context = request.get("context").unwrap_or(&Value::Null);\n',
        after='    let context = request.get("context").or(request.get("artifact"))'
        ".unwrap_or(&Value::Null);\n",
        suites=("validate",),
        max_examples=QUICK,
        # An email whose artifact passes for its context is accepted (status);
        # a fill's context then lacks its target_count (value of the message).
        causes=(2,),
    ),
    # docs/decisions.md §1: 2.0 is not an integer (validate.fill.target_count_float).
    "rust-fractional-target-count": Mutation(
        stack="rust",
        file="src/validate.rs",
        before="        .and_then(Value::as_u64)\n",
        after="        .and_then(|v| v.as_u64().or(v.as_f64().filter(|f| f.fract() == 0.0 "
        "&& *f < 1e9).map(|f| f as u64)))\n",
        suites=("validate",),
        max_examples=QUICK,
    ),
    # docs/decisions.md §1 fill step 10: fills in order, then each one's city,
    # state, role (validate.order.fill_before_field).
    "rust-consistency-last-fill-first": Mutation(
        stack="rust",
        file="src/validate.rs",
        before="    for (i, worker) in workers.iter().enumerate() {\n",
        after="    for (i, worker) in workers.iter().enumerate().rev() {\n",
        suites=("validate",),
        max_examples=QUICK,
    ),
    # docs/decisions.md §1 playbook step 3: steps must be an array
    # (validate.playbook.steps_not_array).
    "go-steps-not-an-array-unchecked": Mutation(
        stack="go",
        file="internal/validator/validate.go",
        before='\tsteps, ok := art["steps"].([]any)\n',
        after='\tsteps, _ := art["steps"].([]any)\n',
        suites=("validate",),
        max_examples=QUICK,
    ),
    # docs/decisions.md §1 fill step 11: each worker is available
    # (validate.fill.unavailable).
    "go-availability-unchecked": Mutation(
        stack="go",
        file="internal/validator/validate.go",
        before="\t\tif !w.Available {\n",
        after="\t\tif false && !w.Available {\n",
        suites=("validate",),
        max_examples=QUICK,
    ),
    # -- CONTRACT §7, the live trace tree: one per part, in each runtime --------------
    # The tree's shape: the chat hop's generation in a trace of its own (the
    # seeds' N+1 disconnected traces).
    "rust-chat-hop-own-trace": Mutation(
        stack="rust",
        file="src/server.rs",
        before="        (tracer, trace.id)\n",
        after="        (tracer, new_id())\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    "go-chat-hop-own-trace": Mutation(
        stack="go",
        file="internal/server/chat.go",
        before="\t\ttrace, minted = traceID(r)\n",
        after="\t\ttrace, minted = langfuse.NewObservationID(), true\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    # A level: a failed attempt's span at DEFAULT instead of WARNING.
    "rust-failed-attempt-default-level": Mutation(
        stack="rust",
        file="src/iterate.rs",
        before="            AttemptStatus::NoJson | AttemptStatus::ValidationFailed { .. } => "
        "Level::Warning,\n",
        after="            AttemptStatus::NoJson | AttemptStatus::ValidationFailed { .. } => "
        "Level::Default,\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    "go-failed-attempt-default-level": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before="\tlevel := langfuse.LevelWarning\n",
        after="\tlevel := langfuse.LevelDefault\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    # The linkage between a row and its tree: the row's span_id names no span.
    "rust-row-span-id-names-no-span": Mutation(
        stack="rust",
        file="src/iterate.rs",
        before="            let id = span.id.clone();\n",
        after="            let id = new_id();\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    "go-row-span-id-names-no-span": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before="\treturn id\n",
        after="\treturn langfuse.NewObservationID()\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    # An observation's input or output.
    "rust-span-iteration-off-by-one": Mutation(
        stack="rust",
        file="src/iterate.rs",
        before='            "iteration": iteration,\n',
        after='            "iteration": iteration + 1,\n',
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    "go-span-raw-is-the-prompt": Mutation(
        stack="go",
        file="internal/server/iterate.go",
        before="\t\tOutput:    attemptOutput{Verdict: verdict, Raw: raw, Error: errText},\n",
        after="\t\tOutput:    attemptOutput{Verdict: verdict, Raw: prompt, Error: errText},\n",
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    # Delivery: the handler waits on its collector before it answers (seen
    # when the collector is slow; what it sends there changes no tree).
    "rust-waits-on-collector": Mutation(
        stack="rust",
        file="src/iterate.rs",
        before="    state.session_log.append(&record).await;\n",
        after="    state.session_log.append(&record).await; let _ = state.http.post(format!("
        '"{}/api/public/ingestion", std::env::var("LAKEHOUSE_LANGFUSE_URL").unwrap_or_default()))'
        '.json(&serde_json::json!({"batch": [{"id": new_id(), "type": "trace-create", '
        '"timestamp": rfc3339(Utc::now()), "body": {"id": trace.id}}]})).send().await;\n',
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
    ),
    "go-waits-on-collector": Mutation(
        stack="go",
        file="internal/langfuse/langfuse.go",
        before="\tcase e.queue <- data:\n",
        after='\tcase e.queue <- data: _ = e.send([]byte(`{"batch":[` + string(data) + `]}`))\n',
        suites=TRACED,
        max_examples=TRACED_BUDGET,
        shrink=False,
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


def write_config(
    folder: Path,
    urls: dict[str, str] | None,
    ports: dict[str, int] | None,
    probes: dict[str, dict[str, Path]],
    extra: str = "",
    langfuse: dict[str, int] | None = None,
) -> Path:
    """A deployment's parity.toml: each runtime's service (``urls``, when it
    runs) and its probe programs (``probes``: suite -> program); ``extra``:
    more of parity.toml ([volatile], [gate])."""
    lines = [f'[run]\nreport_dir = "report"\nroster = "{ROSTER}"\n{extra}']
    for name, spec in default_specs().items():
        lines.append(f"[targets.{name}]")
        if urls is not None and ports is not None:
            lines.append(
                f'url = "{urls[name]}"\nmodel_port = {ports[name]}\n'
                f'session_log = "sessions/{name}.jsonl"\ndaemon = "{spec.daemon}"\n'
                "concurrency = 8\ntimeout_s = 20\n"
            )
            if langfuse is not None:
                lines.append(f"langfuse_port = {langfuse[name]}\n")
        for suite, program in probes[name].items():
            lines.append(
                f'[targets.{name}.probes.{suite}]\ncommand = ["{program}", "--jsonl"]\n'
                'mode = "jsonl"\n'
            )
    path = folder / "parity.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def probe_programs(spec: StackSpec, suites: tuple[str, ...]) -> dict[str, Path]:
    """The stack's probe program of each probe suite in ``suites``."""
    return {
        suite: spec.workdir / PROBE_FOLDERS[spec.name] / f"parity_{suite}"
        for suite in suites
        if suite in registry.PROBE
    }


@contextmanager
def deployment(
    folder: Path, specs: dict[str, StackSpec], suites: tuple[str, ...], extra: str = ""
) -> Iterator[Path]:
    """A parity.toml for ``specs``: their probe programs, and, when a suite
    needs them, their services started behind ports for the harness's
    scripted model (stopped on exit). No regressions folder and no example
    database: what a gated run knows comes from its baseline report alone."""
    (folder / "sessions").mkdir(parents=True, exist_ok=True)
    probes = {name: probe_programs(spec, suites) for name, spec in specs.items()}
    if not set(suites) & set(registry.SERVICE):
        yield write_config(folder, None, None, probes, extra)
        return
    ports = {name: free_port() for name in specs}
    # A run of the traces suite: each runtime pointed at a port where the
    # harness will serve its Langfuse stand-in, by the contract's env names.
    langfuse = {name: free_port() for name in specs} if registry.TRACES in suites else None
    with Stacks(folder / "stacks") as running:
        urls = {
            name: running.start(
                spec,
                upstream_url=f"http://127.0.0.1:{ports[name]}",
                roster=ROSTER,
                session_log=folder / "sessions" / f"{name}.jsonl",
                upstream_timeout_ms=UPSTREAM_TIMEOUT_MS,
                env=langfuse_env(langfuse[name]) if langfuse else None,
            ).url
            for name, spec in specs.items()
        }
        yield write_config(folder, urls, ports, probes, extra, langfuse)


def langfuse_env(port: int) -> dict[str, str]:
    return environment.langfuse_env(f"http://127.0.0.1:{port}")


def run_suites(
    folder: Path,
    specs: dict[str, StackSpec],
    suites: tuple[str, ...],
    max_examples: int,
    *,
    baseline: Path | None = None,
    base: dict[str, StackSpec] | None = None,
    seed: int = SEED,
    extra_config: str = "",
    shrink: bool = True,
) -> RunSummary:
    """Run ``suites`` against ``specs`` (their services started and stopped).
    ``base``: stacks started beside them as the base revision's runtimes
    (``--base-config``), which verify each new cause."""
    with ExitStack() as stack:
        path = stack.enter_context(deployment(folder, specs, suites, extra_config))
        base_config = None
        if base is not None:
            base_config = stack.enter_context(deployment(folder / "base", base, suites))
        options = runner.RunOptions(
            suites=suites,
            max_examples=max_examples,
            seed=seed,
            report_dir=folder / "report",
            baseline=baseline,
            base_config=base_config,
            shrink=shrink,
        )
        summary, _ = runner.run(config.load(path), options)
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
        # The whole budget, plus the baseline's replays and shrinking's tries;
        # sessions is derived: one case per session each runtime answered.
        if name not in ("sessions", "traces"):
            assert cases[name] >= max_examples, cases


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(
    real_specs: dict[str, StackSpec], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Path]]:
    """The report of the unmutated stacks, per (suites, budget, shrink), run once."""
    runs: dict[tuple[tuple[str, ...], int, bool], Path] = {}

    def report(suites: tuple[str, ...], max_examples: int, shrink: bool = True) -> Path:
        if (suites, max_examples, shrink) not in runs:
            folder = tmp_path_factory.mktemp("baseline") / "run"
            summary = run_suites(folder, real_specs, suites, max_examples, shrink=shrink)
            checked(summary, suites, max_examples)
            runs[suites, max_examples, shrink] = folder / "report" / "report.json"
        return runs[suites, max_examples, shrink]

    yield report


def gated_run(
    mutation: Mutation,
    baseline: Callable[..., Path],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
    *,
    patch: bool = True,
    seed: int = SEED,
    extra_config: str = "",
) -> RunSummary:
    """A run against the (patched) copy, gated by the unmutated stacks' report
    and verified on the unmutated stacks (the base revision's runtimes)."""
    report = baseline(mutation.suites, mutation.max_examples, mutation.shrink)
    copy = mutated_stack(mutation, tmp_path / "copy", patch=patch)
    try:
        summary = run_suites(
            tmp_path / "run",
            {**real_specs, mutation.stack: copy},
            mutation.suites,
            mutation.max_examples,
            baseline=report,
            base=real_specs,
            seed=seed,
            extra_config=extra_config,
            shrink=mutation.shrink,
        )
    finally:
        # A Rust copy's target/ is some 200 MB: keep the patched sources only.
        shutil.rmtree(copy.workdir / "target", ignore_errors=True)
    checked(summary, mutation.suites, mutation.max_examples)
    return summary


def failing_new(summary: RunSummary) -> list[Cause]:
    """The causes that fail the gate: new, failing, not flaky."""
    return [c for c in summary.causes if c.new and c.fails_gate and not c.flaky]


def new_causes(summary: RunSummary) -> list[str]:
    return [f"{c.id} {c.summary}" for c in failing_new(summary)]


# -- the mutations -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_one_line_fault_is_a_new_cause_blamed_on_its_runtime(
    name: str,
    baseline: Callable[..., Path],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
) -> None:
    mutation = MUTATIONS[name]
    summary = gated_run(mutation, baseline, real_specs, tmp_path)
    new = failing_new(summary)
    assert len(new) in mutation.causes, f"{name}: new causes {new_causes(summary)}"
    assert all(cause.blamed == (mutation.stack,) for cause in new), new_causes(summary)
    assert {f.failure.suite for c in new for f in c.findings} <= set(mutation.suites)
    assert summary.baseline is not None and summary.baseline.verified
    assert summary.exit_code == 1


def test_the_unchanged_stack_is_nothing_new_under_another_seed(
    baseline: Callable[..., Path],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
) -> None:
    """The gate's other half: the same stacks, another seed, no new cause."""
    mutation = MUTATIONS["go-default-max-iterations"]
    summary = gated_run(mutation, baseline, real_specs, tmp_path, patch=False, seed=SEED + 1)
    assert new_causes(summary) == []
    assert summary.baseline is not None and summary.baseline.known
    assert summary.exit_code == 0


# -- nondeterminism: A/A replay, flakiness and declared volatile paths --------------------

# A random value in a response field: Go's 422 message carries the time.
RANDOM_ERROR: Final = Mutation(
    stack="go",
    file="internal/server/iterate.go",
    before=(
        '\t\tError:      fmt.Sprintf("max iterations reached (%d) without passing validation",'
        " maxIter),\n"
    ),
    after=(
        '\t\tError:      fmt.Sprintf("max iterations reached (%d) without passing validation'
        ' %d", maxIter, time.Now().UnixNano()),\n'
    ),
    suites=("iterate",),
    max_examples=100,
)
# A coin flip: Go's map iteration order (random by design) decides a
# playbook's count; eight entries so that either answer is as likely.
COIN_FLIP: Final = Mutation(
    stack="go",
    file="internal/validator/validate.go",
    before="\treturn &Report{Kind: KindPlaybook, Valid: true, Checked: len(steps)}, nil\n",
    after=(
        "\treturn &Report{Kind: KindPlaybook, Valid: true, Checked: len(steps) + func() int "
        "{ for _, v := range map[int]int{0: 0, 1: 1, 2: 0, 3: 1, 4: 0, 5: 1, 6: 0, 7: 1} "
        "{ return v }; return 0 }()}, nil\n"
    ),
    suites=("validate",),
    max_examples=200,
)


def test_a_random_value_is_one_unstable_finding_and_a_declared_path_passes(
    baseline: Callable[..., Path],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
) -> None:
    summary = gated_run(RANDOM_ERROR, baseline, real_specs, tmp_path / "plain")
    [cause] = failing_new(summary)
    assert cause.blamed == ("go",), new_causes(summary)
    # Its one new finding is the unstable path; the cause may also hold a
    # known finding its minimal case shows (Go's 1.0 temperature written 1).
    by_id = {f.id: f for f in cause.findings}
    new = [(by_id[f].failure.cls, by_id[f].failure.path) for f in cause.new_findings]
    assert new == [(DivergenceClass.UNSTABLE, "$.error")], new_causes(summary)
    assert summary.exit_code == 1
    declared = '\n[volatile]\niterate = [{ path = "$.error", reason = "a request time" }]\n'
    summary = gated_run(
        RANDOM_ERROR, baseline, real_specs, tmp_path / "declared", extra_config=declared
    )
    assert new_causes(summary) == [] and summary.exit_code == 0
    [use] = summary.declared_volatile
    assert use["path"] == "$.error" and use["varied"] > 0 and not use["unused"]


# Six A/A pairs per minimal case and six replays of a new cause: a coin flip
# is missed by both with odds of 2**-12.
SURE: Final = "\n[gate]\nflaky_replays = 6\n"


def test_a_coin_flip_is_unstable_or_flaky_never_a_value_that_comes_and_goes(
    baseline: Callable[..., Path],
    real_specs: dict[str, StackSpec],
    tmp_path: Path,
) -> None:
    summary = gated_run(COIN_FLIP, baseline, real_specs, tmp_path, extra_config=SURE)
    at_checked = [
        (finding, cause)
        for cause in summary.causes
        for finding in cause.findings
        if finding.failure.path == "$.checked" and cause.blamed == ("go",)
    ]
    assert at_checked, "the coin flip was found"
    for finding, cause in at_checked:
        unstable = finding.failure.cls is DivergenceClass.UNSTABLE
        assert unstable or cause.flaky, (
            f"{finding.failure.key} in {cause.id}: {cause.status} {cause.flakiness}; "
            f"A/A pairs {[s.aa_pairs for s in summary.suites]}"
        )
