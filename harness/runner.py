"""From a configuration to a finished run: targets, suites, engine, reproducers
and reports. The CLI and the pytest plugin both go through here.

What a run needs is started by ``environment`` (with the embedded default,
both sample stacks, which the CLI builds, not this module) and stopped when
the run ends, whatever ends it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import atomic, base_ref, defaults, reports, repro
from harness.baseline import Baseline, load_baseline
from harness.causes import trigger_for
from harness.config import Config, ProbeConfig, RunConfig, TargetConfig
from harness.config import load as load_config
from harness.engine import BaseRuntimes, Engine, EngineSettings, Listener, health
from harness.environment import Environment, environment
from harness.errors import HarnessError, describe_os_error
from harness.model import REFERENCE, CaseResult, Finding, JsonValue, RunSummary, Trigger
from harness.suites import registry
from harness.suites.base import DerivedSuite
from harness.suites.catalog import PROBE_SUITES
from harness.suites.probe import shell_line
from harness.waivers import Waivers, load_waivers


def default_config(root: Path = defaults.PROJECT_ROOT) -> Config:
    """The embedded default: the sample stacks of ``targets/``, probes in jsonl mode."""
    rust = root / "targets" / "rust-gateway" / "target" / "release"
    go = root / "targets" / "go-validatord" / "bin"

    def probes(folder: Path) -> dict[str, ProbeConfig]:
        return {
            suite: ProbeConfig(command=(str(folder / f"parity_{suite}"), "--jsonl"), mode="jsonl")
            for suite in registry.PROBE
        }

    waivers = root / "waivers.toml"
    regressions = root / "fixtures" / "regressions"
    return Config(
        targets={
            "rust": TargetConfig(name="rust", probes=probes(rust), stack="rust"),
            "go": TargetConfig(name="go", probes=probes(go), stack="go"),
        },
        run=RunConfig(
            report_dir=root / defaults.REPORT_DIR,
            # The sample's reproducers when they are there (a checkout); an
            # installed harness has none, and that is no error.
            regressions=regressions if regressions.is_dir() else None,
            database=root / defaults.DATABASE_DIR,
            waivers=waivers if waivers.is_file() else None,
            roster=root / defaults.ROSTER,
        ),
        path=None,
        root=root,
    )


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    suites: tuple[str, ...] = ()
    profile: str | None = None
    max_examples: int | None = None
    seed: int | None = None
    report_dir: Path | None = None
    waivers: Path | None = None
    shrink: bool = True
    baseline: Path | None = None  # an earlier report.json: gate on new causes only
    base_ref: str | None = None  # a git revision of targets/: its stacks verify "new"
    base_config: Path | None = None  # a parity.toml of the base revision's runtimes
    max_time_s: float | None = None  # bounds the whole run
    aa_rate: float | None = None  # these four: [gate] in parity.toml when None
    flaky_replays: int | None = None
    fail_on_flaky: bool | None = None
    fail_on_unstable: bool | None = None
    shard: tuple[int, int] | None = None
    min_rule_cases: int | None = None  # [run] min_rule_cases when None
    listeners: Sequence[Listener] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.base_ref is not None and self.base_config is not None:
            raise HarnessError("give --base-ref or --base-config, not both")


def choose_suite_names(config: Config, requested: Sequence[str]) -> list[str]:
    """The suites to run, with what they depend on, in run order."""
    available = config.suites_available()
    names = set(requested or config.run.suites or available)
    unknown = sorted(n for n in names if n not in registry.BY_NAME)
    if unknown:
        raise HarnessError(f"unknown suite(s): {', '.join(unknown)}")
    names = registry.with_dependencies(names, available)
    missing = sorted(n for n in names if n not in available)
    if missing:
        raise HarnessError(
            f"suite(s) {', '.join(missing)} need every target to configure them "
            f"(configured: {', '.join(available) or 'none'}; live suites need `url`, iterate and "
            "faults `model_port`, sessions `session_log` too, traces also `langfuse_port`)"
        )
    return registry.ordered(names)


def engine_settings(config: Config, options: RunOptions) -> EngineSettings:
    """The engine's settings: the options, then ``parity.toml``, then defaults."""
    gate = config.gate
    return EngineSettings(
        profile=options.profile or config.run.profile or defaults.PROFILE,
        max_examples=options.max_examples,
        seed=options.seed,
        database=config.run.database or config.root / defaults.DATABASE_DIR,
        shrink=options.shrink,
        max_time_s=options.max_time_s,
        aa_rate=gate.aa_rate if options.aa_rate is None else options.aa_rate,
        flaky_replays=gate.flaky_replays
        if options.flaky_replays is None
        else options.flaky_replays,
        fail_on_flaky=gate.fail_on_flaky
        if options.fail_on_flaky is None
        else options.fail_on_flaky,
        fail_on_unstable=(
            gate.fail_on_unstable if options.fail_on_unstable is None else options.fail_on_unstable
        ),
        shard=options.shard,
        min_rule_cases=(
            config.run.min_rule_cases if options.min_rule_cases is None else options.min_rule_cases
        ),
    )


@dataclass
class Prepared:
    """A run's inputs, read and checked before anything starts."""

    names: list[str]
    settings: EngineSettings
    waivers: Waivers | None
    regressions: dict[str, list[JsonValue]]
    baseline: Baseline | None
    report_dir: Path
    base: tuple[Config, str] | None
    digest: str


def prepare(config: Config, options: RunOptions) -> Prepared:
    names = choose_suite_names(config, options.suites)
    settings = engine_settings(config, options)
    source = str(config.path) if config.path else "the default config"
    waivers_path = options.waivers or config.run.waivers
    waivers = load_waivers(waivers_path) if waivers_path else None
    regressions = _regressions(repro.regression_inputs(config.run.regressions, source=source))
    baseline = load_baseline(options.baseline) if options.baseline else None
    if baseline is not None:
        # The known minimal cases first: a known fault is found again through
        # the same case, and so keeps its cause id, whatever the seed.
        for suite, cases in baseline.cases().items():
            if suite in names:
                regressions[suite] = [*cases, *regressions.get(suite, ())]
    report_dir = options.report_dir or config.run.report_dir or Path(defaults.REPORT_DIR)
    prepare_report_dir(report_dir)
    base = _base_config(config, options)
    digest = config_digest(config, settings, names, options)
    return Prepared(names, settings, waivers, regressions, baseline, report_dir, base, digest)


def config_digest(
    config: Config, settings: EngineSettings, names: Sequence[str], options: RunOptions
) -> str:
    """What makes runs parts of one run (``parity merge``): the config, the
    suites, the budget, the seed and the gate's inputs; not the shard, nor
    where the reports go."""
    parts = {
        "config": config.path.read_text(encoding="utf-8") if config.path else "(embedded)",
        "suites": list(names),
        "profile": settings.profile,
        "max_examples": settings.max_examples,
        "seed": settings.seed,
        "aa_rate": settings.aa_rate,
        "flaky_replays": settings.flaky_replays,
        "baseline": options.baseline.read_text(encoding="utf-8") if options.baseline else None,
        "base": options.base_ref or (str(options.base_config) if options.base_config else None),
    }
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@contextlib.contextmanager
def started(
    config: Config, prepared: Prepared, listeners: Sequence[Listener] = ()
) -> Iterator[Engine]:
    """The run's targets (and the base runtimes) started, and an engine over
    them; everything stopped on the way out."""
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(environment(config, prepared.names, prepared.report_dir))
        runtimes = None
        servers = list(env.servers)
        if prepared.base is not None:
            base_config, base_name = prepared.base
            folder = prepared.report_dir / "base"
            base_env = stack.enter_context(environment(base_config, prepared.names, folder))
            runtimes = BaseRuntimes(base_env.suites, base_env.targets, base_name)
            servers += base_env.servers
        engine = Engine(
            suites=env.suites,
            targets=env.targets,
            settings=prepared.settings,
            waivers=prepared.waivers,
            regressions=prepared.regressions,
            listeners=listeners,
            baseline=prepared.baseline,
            base=runtimes,
            declared=config.volatile,
            servers=servers,
        )
        try:
            yield engine
        finally:
            engine.close()


def run(config: Config, options: RunOptions) -> tuple[RunSummary, dict[str, Path]]:
    prepared = prepare(config, options)
    with started(config, prepared, options.listeners) as engine:
        summary = engine.run()
    return finish(summary, config, prepared)


def merge(
    config: Config, folders: Sequence[Path], options: RunOptions
) -> tuple[RunSummary, dict[str, Path]]:
    """The shards' reports as one run (``merge.py``): their findings united,
    replayed here into causes, waived and gated as a single run's."""
    from harness import merge as merging

    shards = merging.load_shards(folders)
    summary = merging.summary_of(shards)
    names = tuple(suite.suite for suite in summary.suites)
    prepared = prepare(config, dataclasses.replace(options, suites=names))
    prepared.digest = summary.config_digest or prepared.digest
    with started(config, prepared, options.listeners) as engine:
        engine.judge(summary)
    return finish(summary, config, prepared)


def finish(
    summary: RunSummary, config: Config, prepared: Prepared
) -> tuple[RunSummary, dict[str, Path]]:
    """Reproducers and every report format."""
    summary.config_path = str(config.path) if config.path else None
    summary.config_digest = prepared.digest
    try:
        save_reproducers(summary, config, prepared.report_dir / "reproducers")
        return summary, reports.write_all(summary, prepared.report_dir)
    except OSError as exc:
        why = describe_os_error(exc, prepared.report_dir)
        raise HarnessError(f"{prepared.report_dir}: cannot write the reports: {why}") from exc


def prepare_report_dir(folder: Path) -> None:
    """Create the report folder, or say now why it cannot be one: a run
    that could not write its reports would be lost at its very end."""
    if folder.exists() and not folder.is_dir():
        raise HarnessError(f"the report folder {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(
            f"the report folder {folder}: cannot create it: {describe_os_error(exc, folder)}"
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HarnessError(f"the report folder {folder}: not writable")
    for path in reports.paths(folder):
        try:
            atomic.check_writable(path)
        except OSError as exc:
            why = describe_os_error(exc, path)
            raise HarnessError(f"{path}: cannot write the report: {why}") from exc


def _base_config(config: Config, options: RunOptions) -> tuple[Config, str] | None:
    """The base revision's runtimes, as a config, and how reports name them."""
    if options.base_config is not None:
        base = load_config(options.base_config)
        missing = sorted(set(config.targets) ^ set(base.targets))
        if missing:
            raise HarnessError(
                f"{options.base_config}: the base runtimes must be the targets under test "
                f"(same names); differs in: {', '.join(missing)}"
            )
        return base, f"--base-config {options.base_config}"
    if options.base_ref is not None:
        if config.path is not None:
            raise HarnessError(
                "--base-ref builds the sample stacks of a revision: it goes with the embedded "
                "default; for your own deployment give --base-config"
            )
        revision = base_ref.resolve(config.root, options.base_ref)
        return base_ref.config_for(revision, config), revision.name
    return None


def _regressions(by_suite: Mapping[str, list[JsonValue]]) -> dict[str, list[JsonValue]]:
    """A committed sessions reproducer replays the session it came from."""
    derived = {info.name for info in registry.REGISTRY if info.kind == "derived"}
    out = {suite: list(cases) for suite, cases in by_suite.items() if suite not in derived}
    for suite in derived:
        for case in by_suite.get(suite, ()):
            trigger = trigger_for(suite, case)
            if trigger is not None:
                out.setdefault(trigger.suite, []).append(trigger.input)
    return out


def shell_lines(finding: Finding, config: Config) -> dict[str, str]:
    suite = PROBE_SUITES.get(finding.failure.suite)
    if suite is None:
        return {}
    lines = {}
    for name, target in config.targets.items():
        probe = target.probes.get(suite.name)
        if probe is not None and finding.example.input is not None:
            lines[name] = shell_line(suite, finding.example.input, probe)
    return lines


def save_reproducers(summary: RunSummary, config: Config, folder: Path) -> None:
    for suite in summary.suites:
        for finding in [*suite.findings, *suite.errors]:
            if finding.example.input is None:
                continue  # a target that never started: nothing to replay
            path = repro.save(
                finding, folder, shell=shell_lines(finding, config), seed=summary.seed
            )
            finding.reproducer = str(path)


# ---------------------------------------------------------------------------
# Replay


@dataclass(frozen=True)
class Replayed:
    reproducer: repro.Reproducer
    result: CaseResult

    @property
    def diverges(self) -> bool:
        return any(f.cls.fails_gate for f in self.result.failures)

    @property
    def infrastructure_error(self) -> bool:
        return any(f.cls.is_infrastructure for f in self.result.failures)


def replay(
    config: Config, paths: Sequence[Path], *, on_result: Callable[[Replayed], None] | None = None
) -> list[Replayed]:
    reproducers = [repro.load(path) for path in repro.collect(paths)]
    if not reproducers:
        raise HarnessError("no reproducer files found")
    wanted: set[str] = set()
    for reproducer in reproducers:
        needed = _suites_needed(reproducer)
        _check_configured(config, reproducer, needed)
        wanted.update(needed)
    names = choose_suite_names(config, sorted(wanted))
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="parity-repro-") as scratch,
        environment(config, names, Path(scratch)) as env,
    ):
        engine = Engine(suites=env.suites, targets=env.targets, settings=EngineSettings())
        try:
            for reproducer in reproducers:
                result = _replay_one(engine, env, reproducer)
                health.check(env.servers)  # a harness bug is not a verdict
                replayed = Replayed(reproducer, result)
                if on_result is not None:
                    on_result(replayed)
                results.append(replayed)
        finally:
            engine.close()
    return results


def _suites_needed(reproducer: repro.Reproducer) -> list[str]:
    """A reproducer's suite, and for a derived one the suite its case came from."""
    if registry.BY_NAME[reproducer.suite].depends_on:
        return [reproducer.suite, _origin(reproducer).suite]
    return [reproducer.suite]


def _check_configured(config: Config, reproducer: repro.Reproducer, needed: list[str]) -> None:
    available = config.suites_available()
    missing = [name for name in needed if name not in available]
    if missing:
        source = config.path if config.path is not None else "the embedded default"
        raise HarnessError(
            f"{reproducer.path}: a {reproducer.suite} reproducer, but {source} does not "
            f"configure {', '.join(missing)} for every target "
            f"(configured: {', '.join(available) or 'none'})"
        )


def _origin(reproducer: repro.Reproducer) -> Trigger:
    """The case a derived suite's reproducer replays first, and its suite."""
    trigger = trigger_for(reproducer.suite, reproducer.input)
    if trigger is None:
        raise HarnessError(
            f"{reproducer.path}: a {reproducer.suite} reproducer names the suite "
            "its case came from (origin)"
        )
    return trigger


def _replay_one(engine: Engine, env: Environment, reproducer: repro.Reproducer) -> CaseResult:
    suite = env.suite(reproducer.suite)
    if not isinstance(suite, DerivedSuite):
        [result] = engine.check(suite, [reproducer.input])
        return result
    # A session-log finding: run its session again, then check the row it wrote.
    trigger = _origin(reproducer)
    rows = engine.check_with_derived(env.suite(trigger.suite), trigger.input, [suite])[suite.name]
    if not rows:
        raise HarnessError(f"{reproducer.path}: the session did not run (a 400 writes no row)")
    return rows[-1]


def replay_exit_code(results: Sequence[Replayed]) -> int:
    if any(r.infrastructure_error for r in results):
        return 2
    return 1 if any(r.diverges for r in results) else 0


__all__ = [
    "REFERENCE",
    "RunOptions",
    "default_config",
    "replay",
    "run",
]
