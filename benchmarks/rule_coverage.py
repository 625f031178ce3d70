"""How often the default run exercises each rule of the contract, per suite.

Draws each generated suite's cases as the engine's exploration does (under
``@given(st.data())`` with the run's seed, a batch of distinct cases per
Hypothesis example, until the budget is spent), in registry order in one
fresh interpreter per seed (what Hypothesis draws depends on the process's
history, not only on the seed), and runs only the reference, with a
recorder (``harness.coverage.exercised``). The ``iterate`` and ``faults``
sessions run the reference loop over the scripted model, as
``tests/test_live_suites.py`` does; ``sessions`` counts the rows they
produced. No target is needed.

    python benchmarks/rule_coverage.py [--seeds 1,2,3,4,5] [--budget 400]
        [--suites extract_json,...] [--strategies-at REV] [--batch-sizes NAME=N,...]
        [--save NAME] [--compare BEFORE AFTER]

``--strategies-at REV`` draws with ``harness/strategies`` as of a git
revision (the rules and the reference stay the working tree's);
``--save NAME`` writes ``benchmarks/results/rule_coverage_NAME.json``;
``--compare BEFORE AFTER`` prints a Markdown table of two saved measurements
(the one in ``benchmarks/results/rule_coverage.md`` was made so).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings, target
from hypothesis import strategies as st
from hypothesis.control import current_build_context

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
STRATEGIES_AT: Final = "RULE_COVERAGE_STRATEGIES_AT"  # environment: a git revision


def _strategies_from(revision: str) -> None:
    """Import ``harness/strategies`` as of ``revision`` instead of the working
    tree's (before anything imports it): the rules and the reference stay
    today's, so that two strategies are measured by the same instrument."""
    package = ROOT / "harness" / "strategies"
    sources = {
        name: subprocess.run(
            ["git", "show", f"{revision}:harness/strategies/{name}.py"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        for name in ("text", "live", "__init__")
    }  # fmt: skip
    for name in ("text", "live", "__init__"):
        qualified = "harness.strategies" + ("" if name == "__init__" else f".{name}")
        module = types.ModuleType(qualified)
        module.__file__ = str(package / f"{name}.py")
        if name == "__init__":
            module.__path__ = [str(package)]
        module.__package__ = "harness.strategies"
        sys.modules[qualified] = module
        exec(compile(sources[name], module.__file__, "exec"), module.__dict__)


if os.environ.get(STRATEGIES_AT):
    _strategies_from(os.environ[STRATEGIES_AT])

from harness import coverage, defaults, steering  # noqa: E402
from harness.mock_llm import ScriptedModel  # noqa: E402
from harness.suites import registry  # noqa: E402
from harness.suites.base import (  # noqa: E402
    DerivedSuite,
    GeneratedSuite,
    Suite,
)
from harness.suites.catalog import PROBE_SUITES, LiveSuites  # noqa: E402
from harness.suites.live import SessionSuite  # noqa: E402
from harness.suites.produced import ProducedSession  # noqa: E402
from reference_impl.roster import load_roster  # noqa: E402

RESULTS: Final = ROOT / "benchmarks" / "results"
SEEDS: Final = (1, 2, 3, 4, 5)
MINIMUM: Final = 5  # cases per rule, per suite, per seed: the goal
_GIVE_UP_AFTER: Final = 3  # as the engine: a batch stops after 3 repeats in a row


class _Enough(BaseException):
    pass


def draw_like_the_engine(
    strategy: st.SearchStrategy[Any],
    budget: int,
    batch: int,
    at: int,
    each_batch: Callable[[list[Any]], float | None] | None = None,
    *,
    steer: bool = False,
    across: bool = False,
) -> list[Any]:
    """``budget`` distinct cases as the engine's exploration draws them with
    seed ``at``: one Hypothesis example per batch of up to ``batch`` distinct
    cases, phases generate only, no database. ``each_batch`` is called inside
    the example with its cases (where the engine checks them).

    Two variants for ``benchmarks/steering.py``: ``steer`` hands the score
    ``each_batch`` returns to ``hypothesis.target()`` (and adds the target
    phase); ``across`` keeps a case out of a batch when an earlier batch had
    it (the engine dedupes within a batch only)."""
    cases: list[Any] = []
    seen: set[str] = set()

    def test(data: st.DataObject) -> None:
        conjecture = current_build_context().data
        distinct: dict[str, Any] = {}
        repeats, left = 0, batch
        while left > 0 and repeats < _GIVE_UP_AFTER:
            left -= 1
            case = conjecture.draw(strategy)
            key = case if isinstance(case, str) else json.dumps(case, sort_keys=True)
            repeats = repeats + 1 if key in distinct else 0
            distinct.setdefault(key, case)
        # What is drawn depends on the choices alone (else Hypothesis calls
        # the test flaky); which of them are checked may depend on the run.
        fresh = [case for key, case in distinct.items() if not (across and key in seen)]
        seen.update(distinct)
        drawn = fresh[: budget - len(cases)]
        if not drawn and len(cases) >= budget:
            raise _Enough
        cases.extend(drawn)
        score = each_batch(drawn) if each_batch is not None and drawn else None
        if steer and score is not None:
            target(score, label=steering.LABEL)

    test.__name__ = "rule_coverage"
    phases = (Phase.generate, Phase.target) if steer else (Phase.generate,)
    wrapped = settings(
        max_examples=2 * max(1, math.ceil(budget / batch)) + 4,
        database=None,
        deadline=None,
        derandomize=False,
        phases=phases,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
    )(seed(at)(given(st.data())(test)))
    with contextlib.suppress(_Enough):
        wrapped()
    return cases


@dataclass
class Measured:
    """One seed: per suite, the rule counts, the cases and the seconds."""

    seed: int
    coverage: coverage.Coverage = field(default_factory=coverage.Coverage)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "coverage": self.coverage.to_json(), "seconds": self.seconds}


def suites_of_a_run() -> dict[str, Suite]:
    roster = load_roster(ROOT / defaults.ROSTER)
    upstream = defaults.EMBEDDED_UPSTREAM_TIMEOUT_MS / 1000
    live = LiveSuites(ScriptedModel(), roster, upstream_timeout_s=upstream)
    return {**PROBE_SUITES, **live.suites}


def measure(
    at: int, budget: int, names: Sequence[str], batches: Mapping[str, int] | None = None
) -> Measured:
    """The rules each suite of ``names`` exercises with seed ``at`` (``batches``:
    a suite's batch size instead of its own)."""
    suites = suites_of_a_run()
    result = Measured(at)
    produced: list[Any] = []
    for name in registry.ordered(names):
        suite = suites[name]
        start = time.perf_counter()
        if isinstance(suite, DerivedSuite):
            for entry in produced:
                result.coverage.add(name, coverage.exercised(suite, entry)[1])
        else:
            batch = (batches or {}).get(name, suite.batch_size)
            produced += _explore(suite, budget, at, result.coverage, batch)
        result.seconds[name] = time.perf_counter() - start
    return result


def _explore(suite: Suite, budget: int, at: int, tally: coverage.Coverage, batch: int) -> list[Any]:
    assert not isinstance(suite, DerivedSuite)
    generated: GeneratedSuite = suite  # type: ignore[assignment]
    produced: list[Any] = []

    def check(cases: list[Any]) -> None:
        with generated.executions(cases) as sent:
            for case, execution in zip(cases, sent, strict=True):
                observation, rules = coverage.exercised(generated, execution)
                tally.add(generated.name, rules)
                session = observation.session
                if isinstance(generated, SessionSuite) and session and session.row:
                    produced.append(
                        ProducedSession(
                            generated.name, case, session.id, minted=session.minted,
                            row=session.row, tree=session.tree,
                        )
                    )  # fmt: skip

    draw_like_the_engine(generated.strategy, budget, batch, at, check)
    return produced


# -- running each seed in a fresh interpreter, and reporting ------------------------------


def measure_in_fresh_interpreters(
    seeds: Sequence[int],
    budget: int,
    names: Sequence[str],
    strategies_at: str | None = None,
    batches: str = "",
) -> list[dict[str, Any]]:
    out = []
    env = {**os.environ, STRATEGIES_AT: strategies_at or ""}
    for at in seeds:
        argv = [sys.executable, __file__, "--one", str(at), "--budget", str(budget)]
        argv += ["--suites", ",".join(names), "--batch-sizes", batches]
        done = subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        out.append(json.loads(done.stdout))
        print(f"seed {at}: done", file=sys.stderr)
    return out


def table(runs: Sequence[dict[str, Any]], minimum: int = MINIMUM) -> str:
    """Markdown: per suite, each declared rule's count per seed and the least."""
    lines: list[str] = []
    seeds = [run["seed"] for run in runs]
    for name in registry.ALL:
        per_seed = [coverage.SuiteCoverage.from_json(r["coverage"][name]) for r in runs
                    if name in r["coverage"]]  # fmt: skip
        if not per_seed:
            continue
        cases = ", ".join(str(s.cases) for s in per_seed)
        lines += [f"\n### {name} (cases per seed: {cases})\n",
                  "| rule | " + " | ".join(f"seed {s}" for s in seeds) + " | least |",
                  "|---|" + "---:|" * (len(seeds) + 1)]  # fmt: skip
        for rule in per_seed[0].declared:
            counts = [s.count(rule) for s in per_seed]
            mark = " **below**" if min(counts) < minimum else ""
            lines.append(
                f"| `{rule}` | " + " | ".join(map(str, counts)) + f" | {min(counts)}{mark} |"
            )
    return "\n".join(lines)


def compare(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> str:
    """Markdown: per suite and rule, the least count over the seeds, before and after."""
    lines = ["| suite | rule | least before | least after |", "|---|---|---:|---:|"]
    for name in registry.ALL:
        old = [coverage.SuiteCoverage.from_json(r["coverage"][name]) for r in before
               if name in r["coverage"]]  # fmt: skip
        new = [coverage.SuiteCoverage.from_json(r["coverage"][name]) for r in after
               if name in r["coverage"]]  # fmt: skip
        if not old or not new:
            continue
        for rule in new[0].declared:
            least_old = min(s.count(rule) for s in old)
            least_new = min(s.count(rule) for s in new)
            if least_old < MINIMUM or least_new < MINIMUM:
                lines.append(f"| {name} | `{rule}` | {least_old} | {least_new} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--budget", type=int, default=defaults.PROFILES["quick"])
    parser.add_argument("--suites", default=",".join(registry.ALL))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--save", help="write benchmarks/results/rule_coverage_NAME.json")
    parser.add_argument("--strategies-at", help="harness/strategies as of this git revision")
    parser.add_argument(
        "--batch-sizes", default="", help="NAME=N,...: a suite's batch size instead of its own"
    )
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    names = args.suites.split(",")
    batches = {
        name: int(size)
        for name, _, size in (item.partition("=") for item in args.batch_sizes.split(",") if item)
    }
    if args.one is not None:
        print(json.dumps(measure(args.one, args.budget, names, batches).to_json()))
        return 0
    if args.compare:
        before, after = (_load(name) for name in args.compare)
        print(compare(before["runs"], after["runs"]))
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = measure_in_fresh_interpreters(
        seeds, args.budget, names, args.strategies_at, args.batch_sizes
    )
    print(table(runs))
    if args.save:
        saved = {
            "budget": args.budget,
            "strategies_at": args.strategies_at or "working tree",
            "batch_sizes": batches,
            "load": os.getloadavg(),
            "runs": runs,
        }
        path = RESULTS / f"rule_coverage_{args.save}.json"
        path.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    return 0


def _load(name: str) -> dict[str, Any]:
    path = RESULTS / f"rule_coverage_{name}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


if __name__ == "__main__":
    raise SystemExit(main())
