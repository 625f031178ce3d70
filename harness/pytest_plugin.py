"""pytest plugin: parity suites as test items.

Registered as the ``pytest11`` entry point ``parity``, so pytest loads it in
every session of every project that installs lakehouse-parity. It does nothing
at all unless ``--parity-config`` is given; then it adds one item per suite::

    pytest --parity-config parity.toml [--parity-suite extract_json] [-n 2]

Each item (``parity::extract_json``) runs its suite through
``harness.runner.run``. The run happens in the item's setup, so an
infrastructure error (a probe that crashed, hung or wrote garbage; a target
that cannot start) is reported as an *error*, and a divergence that fails the
gate as a *failure* with one readable line per finding. Items are independent
and write their reports under ``<report dir>/<worker id>/<suite>``, so they run
under pytest-xdist as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from harness.config import Config
    from harness.model import Finding, RunSummary

OPTION_CONFIG: Final = "parity_config"
DEFAULT_REPORT_DIR: Final = Path("parity-report")
_STATE_KEY: Final = pytest.StashKey["ParityState"]()


@dataclass(frozen=True)
class ParityState:
    """What the command line asked for, read once per session."""

    config: Config
    suites: tuple[str, ...]
    max_examples: int | None
    profile: str | None
    report_dir: Path
    seed: int | None = None
    shrink: bool = True


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "cross-runtime parity suites (lakehouse-parity)")
    group.addoption(
        "--parity-config",
        dest=OPTION_CONFIG,
        metavar="PATH",
        help="parity.toml: run its suites as test items (the plugin is idle without it)",
    )
    group.addoption(
        "--parity-suite",
        dest="parity_suites",
        action="append",
        default=[],
        metavar="NAME",
        help="a suite to run (repeatable; default: every probe suite the config supports)",
    )
    group.addoption(
        "--parity-max-examples",
        dest="parity_max_examples",
        type=int,
        metavar="N",
        help="cases per suite",
    )
    group.addoption(
        "--parity-profile",
        dest="parity_profile",
        choices=("quick", "ci", "thorough"),
        help="budget profile (default: the config's, else quick)",
    )
    group.addoption(
        "--parity-seed",
        dest="parity_seed",
        type=int,
        metavar="N",
        help="Hypothesis seed, for a reproducible run",
    )
    group.addoption(
        "--parity-no-shrink",
        dest="parity_shrink",
        action="store_false",
        default=True,
        help="report divergences without shrinking their examples (faster)",
    )
    group.addoption(
        "--parity-report-dir",
        dest="parity_report_dir",
        metavar="DIR",
        help="where reports go (default: the config's report_dir, else parity-report)",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption(OPTION_CONFIG)
    if not path:
        return
    config.stash[_STATE_KEY] = _state(config, Path(path))


def _state(config: pytest.Config, path: Path) -> ParityState:
    from harness import config as parity_config
    from harness.errors import HarnessError

    base = config.invocation_params.dir
    try:
        loaded = parity_config.load(path if path.is_absolute() else base / path)
    except HarnessError as exc:
        raise pytest.UsageError(f"--parity-config: {exc}") from exc
    max_examples = config.getoption("parity_max_examples")
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError("--parity-max-examples must be at least 1")
    report_dir = config.getoption("parity_report_dir")
    return ParityState(
        config=loaded,
        suites=_suites(loaded, config.getoption("parity_suites")),
        max_examples=max_examples,
        profile=config.getoption("parity_profile"),
        seed=config.getoption("parity_seed"),
        shrink=config.getoption("parity_shrink"),
        report_dir=(
            base / report_dir if report_dir else loaded.run.report_dir or base / DEFAULT_REPORT_DIR
        ),
    )


def _suites(config: Config, requested: Sequence[str]) -> tuple[str, ...]:
    """The suites to run, in the harness's order (``suites.registry``)."""
    from harness.suites import registry

    available = config.suites_available()
    if requested:
        bad = [n for n in dict.fromkeys(requested) if n not in available]
        if bad:
            raise pytest.UsageError(
                f"--parity-suite: cannot run {', '.join(bad)} with this config "
                f"(runnable: {', '.join(available) or 'none'})"
            )
        wanted: Sequence[str] = requested
    else:
        wanted = config.run.suites or available
    return tuple(registry.ordered(s for s in wanted if s in available))


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection sees the items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(_STATE_KEY, None)
    if state is None:
        return
    collector = ParityCollector.from_parent(session, name="parity", nodeid="parity")
    collected = list(collector.collect())
    # Reported like any collector's result, so "collected N items" counts them.
    report = pytest.CollectReport(collector.nodeid, "passed", None, collected)
    config.hook.pytest_collectreport(report=report)
    items.extend(item for item in collected if isinstance(item, pytest.Item))


class ParityCollector(pytest.Collector):
    """The parent of the suite items (never collected from disk)."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        state = self.config.stash[_STATE_KEY]
        return [
            ParitySuiteItem.from_parent(self, name=suite, nodeid=f"parity::{suite}")
            for suite in state.suites
        ]


class ParityInfrastructureError(Exception):
    """The suite could not vouch for parity: a target crashed, hung or spoke garbage."""


class ParityDivergence(AssertionError):
    """The suite found divergences that fail the gate."""


class ParitySuiteItem(pytest.Item):
    """One parity suite, run through the engine."""

    summary: RunSummary | None = None

    @property
    def state(self) -> ParityState:
        return self.config.stash[_STATE_KEY]

    def report_dir(self) -> Path:
        return self.state.report_dir / _worker_id(self.config) / self.name

    def setup(self) -> None:
        from harness import runner
        from harness.errors import HarnessError

        options = runner.RunOptions(
            suites=(self.name,),
            profile=self.state.profile,
            max_examples=self.state.max_examples,
            seed=self.state.seed,
            shrink=self.state.shrink,
            report_dir=self.report_dir(),
        )
        try:
            self.summary, _ = runner.run(self.state.config, options)
        except HarnessError as exc:
            raise ParityInfrastructureError(f"parity suite {self.name}: {exc}") from exc
        if self.summary.exit_code == 2:
            raise ParityInfrastructureError(self._describe(self.summary))

    def runtest(self) -> None:
        summary = self.summary
        if summary is not None and summary.exit_code != 0:
            raise ParityDivergence(self._describe(summary))

    def _describe(self, summary: RunSummary) -> str:
        verdict = {1: "divergence", 2: "infrastructure error"}.get(summary.exit_code, "parity")
        lines = [f"parity suite {self.name}: {verdict} (reports in {self.report_dir()})"]
        for suite in summary.suites:
            lines.append(f"{suite.cases} cases against {', '.join(suite.targets)}")
            lines.extend(_finding_line(f, error=True) for f in suite.errors)
            lines.extend(_finding_line(f, error=False) for f in suite.findings)
        lines.extend(f"expired waiver: {waiver}" for waiver in summary.expired_waivers)
        return "\n".join(lines)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, ParityInfrastructureError | ParityDivergence):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"parity::{self.name}"


def _worker_id(config: pytest.Config) -> str:
    """``gw0``, ``gw1``... under pytest-xdist, else ``main``.

    Read from xdist's ``workerinput`` rather than the environment: a pytest
    started from inside an xdist worker inherits ``PYTEST_XDIST_WORKER``.
    """
    workerinput = getattr(config, "workerinput", None)
    if isinstance(workerinput, dict):
        return str(workerinput.get("workerid", "main"))
    return "main"


def _finding_line(finding: Finding, *, error: bool) -> str:
    failure = finding.failure
    blamed = ", ".join(failure.blamed) or "-"
    if error:
        tag = "infrastructure error"
    elif finding.waived_by is not None:
        tag = f"waived: {finding.waived_by}"
    elif not failure.cls.fails_gate:
        tag = "reported, not failing"
    else:
        tag = "failing"
    lines = [
        f"  {failure.cls} at {failure.path} blamed on {blamed} "
        f"[{tag}; {finding.occurrences} case(s)]",
        f"    {failure.message}" if failure.message else "",
        f"    reproducer: {finding.reproducer or '-'}",
    ]
    return "\n".join(line for line in lines if line)
