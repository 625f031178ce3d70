"""From a configuration to a finished run: targets, suites, engine, reproducers
and reports. The CLI and the pytest plugin both go through here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from harness import reports, repro
from harness.config import PROBE_SUITES, Config, ProbeConfig, RunConfig, TargetConfig
from harness.engine import Engine, EngineSettings, Listener
from harness.errors import HarnessError
from harness.model import REFERENCE, CaseResult, Finding, RunSummary
from harness.suites import PROBE_SUITES as PROBE_SUITE_OBJECTS
from harness.suites import Suite
from harness.targets import ProbeTarget, ReferenceTarget
from harness.targets.base import Target
from harness.waivers import load_waivers

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]


def default_config(root: Path = PROJECT_ROOT) -> Config:
    """The embedded default: the sample stacks of ``targets/``, probes in jsonl mode."""
    rust = root / "targets" / "rust-gateway" / "target" / "release"
    go = root / "targets" / "go-validatord" / "bin"

    def probes(folder: Path) -> dict[str, ProbeConfig]:
        return {
            suite: ProbeConfig(command=(str(folder / f"parity_{suite}"), "--jsonl"), mode="jsonl")
            for suite in PROBE_SUITES
        }

    waivers = root / "waivers.toml"
    return Config(
        targets={
            "rust": TargetConfig(name="rust", probes=probes(rust)),
            "go": TargetConfig(name="go", probes=probes(go)),
        },
        run=RunConfig(
            report_dir=root / "parity-report",
            regressions=root / "fixtures" / "regressions",
            database=root / ".parity" / "hypothesis",
            waivers=waivers if waivers.is_file() else None,
            roster=root / "fixtures" / "roster.jsonl",
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
    listeners: Sequence[Listener] = field(default_factory=tuple)


def choose_suites(config: Config, requested: Sequence[str]) -> list[Suite]:
    available = config.suites_available()
    names = list(requested or config.run.suites or available)
    unknown = [n for n in names if n not in PROBE_SUITE_OBJECTS]
    if unknown:
        raise HarnessError(f"unknown or not yet supported suite(s): {', '.join(unknown)}")
    missing = [n for n in names if n not in available]
    if missing:
        raise HarnessError(
            f"suite(s) {', '.join(missing)} need every target to configure them "
            f"(configured: {', '.join(available) or 'none'})"
        )
    return [PROBE_SUITE_OBJECTS[n] for n in names]


def reference_target() -> ReferenceTarget:
    return ReferenceTarget({name: suite.reference for name, suite in PROBE_SUITE_OBJECTS.items()})


def probe_targets(config: Config, suites: Iterable[Suite]) -> list[Target]:
    wanted = {suite.name: suite.encoding for suite in suites}
    out: list[Target] = []
    for name, target in config.targets.items():
        probes = {s: p for s, p in target.probes.items() if s in wanted}
        out.append(ProbeTarget(name, probes, {s: wanted[s] for s in probes}))
    return out


@contextlib.contextmanager
def opened(targets: list[Target]) -> Iterator[list[Target]]:
    """Every target is closed on the way out, whatever happened."""
    try:
        yield targets
    finally:
        for target in targets:
            target.close()


def run(config: Config, options: RunOptions) -> tuple[RunSummary, dict[str, Path]]:
    suites = choose_suites(config, options.suites)
    profile = options.profile or config.run.profile or "quick"
    settings = EngineSettings(
        profile=profile,
        max_examples=options.max_examples,
        seed=options.seed,
        database=config.run.database or config.root / ".parity" / "hypothesis",
        shrink=options.shrink,
    )
    waivers_path = options.waivers or config.run.waivers
    waivers = load_waivers(waivers_path) if waivers_path else None
    regressions = repro.regression_inputs(config.run.regressions)
    report_dir = options.report_dir or config.run.report_dir or Path("parity-report")
    with opened(probe_targets(config, suites)) as targets:
        engine = Engine(
            suites=suites,
            reference=reference_target(),
            targets=targets,
            settings=settings,
            waivers=waivers,
            regressions=regressions,
            listeners=options.listeners,
        )
        summary = engine.run()
    summary.config_path = str(config.path) if config.path else None
    save_reproducers(summary, config, report_dir / "reproducers")
    return summary, reports.write_all(summary, report_dir)


def shell_lines(finding: Finding, config: Config) -> dict[str, str]:
    suite = PROBE_SUITE_OBJECTS.get(finding.failure.suite)
    if suite is None:
        return {}
    lines = {}
    for name, target in config.targets.items():
        probe = target.probes.get(suite.name)
        if probe is not None and finding.example.input is not None:
            lines[name] = suite.shell_line(finding.example.input, probe)
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
    names = sorted({r.suite for r in reproducers})
    suites = choose_suites(config, names)
    by_name: Mapping[str, Suite] = {s.name: s for s in suites}
    results = []
    with opened(probe_targets(config, suites)) as targets:
        engine = Engine(
            suites=suites,
            reference=reference_target(),
            targets=targets,
            settings=EngineSettings(),
        )
        for reproducer in reproducers:
            [result] = engine.check(by_name[reproducer.suite], [reproducer.input])
            replayed = Replayed(reproducer, result)
            if on_result is not None:
                on_result(replayed)
            results.append(replayed)
        engine.close()
    return results


def replay_exit_code(results: Sequence[Replayed]) -> int:
    if any(r.infrastructure_error for r in results):
        return 2
    return 1 if any(r.diverges for r in results) else 0


__all__ = ["REFERENCE", "RunOptions", "default_config", "replay", "run"]
