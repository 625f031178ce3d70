"""Which pairs of adjacent /v1/validate checks the live strategies break together.

The contract's checks run in a fixed order and the first failure answers
(docs/decisions.md §1, reference_impl/validate.py). An order is only tested by
a case that breaks two checks at once, so this draws, with a fixed seed, N
``validate_requests`` bodies and N ``iterate_scenarios`` (the artifacts their
replies hand to the validator, attempt by attempt, as a daemon would), and
counts for each pair of adjacent checks the cases that break both.

Each check's predicate is evaluated on its own, by this file's instrumentation
over the reference's rules (``reference_impl`` is only called, never changed):
a value at a missing path reads as absent (so a type check on it fails), a
rule about array elements or lengths needs an array, and a comparison needs
operands of the type the earlier checks guarantee. As a cross-check, the first
broken check must be the reference validator's own answer for every case.

Two counts per pair: "both" (the case breaks both checks) and "decides" (it
breaks both and nothing earlier in the chain, so the order of the two is what
the answer shows).

Run from the repository root:

    python benchmarks/check_pairs.py [--cases 300] [--seed 20261121] [--seeds N]
        [--before REV] [--rate] [--write]

``--seeds N`` adds the minimum and median over N seeds; ``--before REV``
measures ``harness/strategies/live.py`` as of a git revision (or a file) as
well; ``--rate`` measures cases drawn per second under ``@given``; ``--write``
writes ``benchmarks/results/check_pairs.md``. (``--module PATH`` draws from
another copy of live.py instead of the current one.) Both read the one-file
``live.py`` of revisions before it became the package
``harness/strategies/live/``; to measure a later revision, run this script
in a checkout of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness import defaults  # noqa: E402
from harness.strategies.live.checks import CHECKS  # noqa: E402
from reference_impl.extract import extract_json  # noqa: E402
from reference_impl.jsonmodel import JsonError, loads  # noqa: E402
from reference_impl.roster import Roster, load_roster  # noqa: E402
from reference_impl.validate import validate  # noqa: E402

ROSTER = load_roster(ROOT / defaults.ROSTER)
RESULTS = ROOT / "benchmarks" / "results" / "check_pairs.md"
SEED = 20261121
KINDS = ("fill", "email", "playbook")

# The checks in the order they run: the strategies' definition (one place).
# A wrong order there shows up here as a case whose first broken check is not
# the reference validator's answer (``agrees``).
ORDER: Final = CHECKS
# The second check is about the elements or the length of an array the first
# says is not there: no body breaks both.
MEANINGLESS = {
    ("artifact.fills", "fills[i]"): "no elements when `fills` is not an array",
    ("artifact.steps", "steps.count"): "no length when `steps` is not an array",
}
# What /v1/iterate does not send to the validator broken together with another
# check: its context is the scenario's (well-formed, or in a few scenarios broken
# in one field only), its kind one of the three, and extract_json yields objects.
NOT_IN_ITERATE = {
    "$", "kind", "context", "context.target_count", "context.city", "context.state",
    "context.role", "context.candidate_id", "artifact",
}  # fmt: skip


# -- the instrumentation: each check's predicate on its own ---------------------------


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _integer(value: Any) -> bool:
    return type(value) is int and value >= 1  # bool and float are not integers


def _field(value: Any, key: str) -> Any:
    """``value[key]``, absent (None) when ``value`` is not an object."""
    return value.get(key) if isinstance(value, dict) else None


def _fill_checks(body: Any, roster: Roster) -> set[str]:
    context, artifact = _field(body, "context"), _field(body, "artifact")
    target, fills = _field(context, "target_count"), _field(artifact, "fills")
    items = fills if isinstance(fills, list) else []
    broken = {
        "context": not isinstance(context, dict),
        "context.target_count": not _integer(target),
        "artifact": not isinstance(artifact, dict),
        "artifact.fills": not isinstance(fills, list),
        "fills[i]": any(not isinstance(f, dict) for f in items),
        "fills[i].candidate_id": any(
            isinstance(f, dict) and not _text(f.get("candidate_id")) for f in items
        ),
        "count": isinstance(fills, list) and _integer(target) and len(fills) != target,
    }
    for key in ("city", "state", "role"):
        broken[f"context.{key}"] = not _text(_field(context, key))
    ids = [f["candidate_id"] for f in items if isinstance(f, dict) and _text(f.get("candidate_id"))]
    workers = [roster[i] for i in ids if i in roster]
    broken["duplicate"] = len(set(ids)) < len(ids)
    broken["phantom"] = any(i not in roster for i in ids)
    for key in ("city", "state", "role"):
        wanted = _field(context, key)
        broken[f"consistency.{key}"] = _text(wanted) and any(
            getattr(w, key) != wanted for w in workers
        )
    broken["unavailable"] = any(not w.available for w in workers)
    return {name for name, failed in broken.items() if failed}


def _email_checks(body: Any, roster: Roster) -> set[str]:
    context, artifact = _field(body, "context"), _field(body, "artifact")
    wanted, candidate = _field(context, "candidate_id"), _field(artifact, "candidate_id")
    subject = _field(artifact, "subject")
    broken = {
        "context": not isinstance(context, dict),
        "context.candidate_id": not _text(wanted),
        "artifact": not isinstance(artifact, dict),
        "artifact.candidate_id": not _text(candidate),
        "artifact.subject": not _text(subject),
        "artifact.body": not _text(_field(artifact, "body")),
        "subject.length": _text(subject) and len(subject) > 200,  # code points
        "consistency.candidate_id": _text(wanted) and _text(candidate) and candidate != wanted,
        "phantom": _text(candidate) and candidate not in roster,
    }
    return {name for name, failed in broken.items() if failed}


def _playbook_checks(body: Any, roster: Roster) -> set[str]:
    artifact = _field(body, "artifact")
    steps = _field(artifact, "steps")
    broken = {
        "artifact": not isinstance(artifact, dict),
        "artifact.title": not _text(_field(artifact, "title")),
        "artifact.steps": not isinstance(steps, list),
        "steps.count": isinstance(steps, list) and not 1 <= len(steps) <= 20,
        "steps[i]": isinstance(steps, list) and any(not _text(s) for s in steps),
    }
    return {name for name, failed in broken.items() if failed}


_KIND_CHECKS: dict[str, Callable[[Any, Roster], set[str]]] = {
    "fill": _fill_checks,
    "email": _email_checks,
    "playbook": _playbook_checks,
}


def broken_checks(body: Any, roster: Roster = ROSTER) -> dict[str, set[str]]:
    """Per chain the body is judged by, the checks it breaks. A body without a
    known kind is judged by every chain (its kind is what is wrong)."""
    envelope = set()
    if not isinstance(body, dict):
        envelope.add("$")
    kind = _field(body, "kind")
    if not (isinstance(kind, str) and kind in KINDS):
        envelope.add("kind")
    kinds = (kind,) if not envelope else KINDS
    return {k: envelope | _KIND_CHECKS[k](body, roster) for k in kinds}


def reference_check(body: Any, roster: Roster = ROSTER) -> str | None:
    """The check the reference validator's answer names (None for a 200)."""
    outcome = validate(body, roster)
    if outcome.status == 200:
        return None
    error, path, message = (outcome.body[k] for k in ("kind", "path", "message"))
    assert isinstance(path, str) and isinstance(message, str)
    if error in ("duplicate", "phantom", "unavailable", "count"):
        return str(error)
    if error == "consistency":
        return "consistency." + message.split(" ", 1)[0]
    if message.endswith("at most 200 characters"):
        return "subject.length"
    if message.endswith("1 to 20 items"):
        return "steps.count"
    # artifact.fills[3].candidate_id -> fills[i].candidate_id, artifact.steps[0] -> steps[i]
    path = re.sub(r"\[\d+\]", "[i]", path)
    return path.removeprefix("artifact.") if "[i]" in path else path


def first_broken(chains: dict[str, set[str]]) -> str | None:
    """The first broken check in chain order (the same in every chain a body
    is judged by)."""
    firsts = {next((c for c in ORDER[k] if c in found), None) for k, found in chains.items()}
    assert len(firsts) == 1, firsts
    return firsts.pop()


# Checks the validator runs element by element: for each fill, its shape (then
# its worker's city, state and role); the first element that breaks any of them
# answers, so the reference may name a later check of the group.
INTERLEAVED = (
    ("fills[i]", "fills[i].candidate_id"),
    ("consistency.city", "consistency.state", "consistency.role"),
)


def agrees(chains: dict[str, set[str]], answer: str | None) -> bool:
    """Whether the reference's answer is the first broken check."""
    first = first_broken(chains)
    if first == answer:
        return True
    group = next((g for g in INTERLEAVED if first in g), ())
    return answer in group and all(answer in found for found in chains.values())


# -- counting pairs ------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One pair of adjacent checks broken together."""

    pair: tuple[str, str]
    decides: bool  # nothing earlier in the chain is broken


def pair_hits(chains: dict[str, set[str]]) -> set[Hit]:
    hits = set()
    for kind, found in chains.items():
        order = ORDER[kind]
        for index, pair in enumerate(pairwise(order)):
            if pair[0] in found and pair[1] in found:
                decides = not any(c in found for c in order[:index])
                hits.add(Hit(pair, decides))
    return hits


def all_pairs() -> list[tuple[tuple[str, str], list[str]]]:
    """Every adjacent pair once, in chain order, with the kinds it belongs to."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for kind in KINDS:
        order = ORDER[kind]
        for pair in pairwise(order):
            pairs.setdefault(pair, []).append(kind)
    return list(pairs.items())


def count_hits(per_case: Iterable[set[Hit]]) -> tuple[Counter[tuple[str, str]], Counter[Any]]:
    """Per pair: the cases that break both, and those where the order decides."""
    both: Counter[tuple[str, str]] = Counter()
    decides: Counter[tuple[str, str]] = Counter()
    for hits in per_case:
        pairs = {h.pair for h in hits}
        both.update(pairs)
        decides.update({h.pair for h in hits if h.decides})
    return both, decides


def validate_case_hits(case: dict[str, str]) -> tuple[set[Hit], bool]:
    """The pairs a /v1/validate case breaks, and whether the instrumentation
    agrees with the reference's answer."""
    try:
        body = loads(case["body"])
    except JsonError:
        body = None
    chains = broken_checks(body)
    return pair_hits(chains), agrees(chains, reference_check(body))


def iterate_artifacts(case: dict[str, Any]) -> Iterator[Any]:
    """The validator bodies of a scenario's attempts, up to acceptance or the
    attempt cap (the scripted model repeats its last reply)."""
    request, replies = case["request"], case["replies"]
    cap = request.get("max_iterations")
    attempts = max(1, 3 if cap is None else cap)
    for index in range(attempts):
        reply = replies[min(index, len(replies) - 1)]
        artifact = extract_json(reply) if isinstance(reply, str) else None
        if artifact is None:
            continue
        body = {"kind": request["kind"], "artifact": artifact, "context": request.get("context")}
        yield body
        if validate(body, ROSTER).status == 200:
            return


def iterate_case_hits(case: dict[str, Any]) -> tuple[set[Hit], bool]:
    hits: set[Hit] = set()
    agree = True
    for body in iterate_artifacts(case):
        chains = broken_checks(body)
        hits |= pair_hits(chains)
        agree = agree and agrees(chains, reference_check(body))
    return hits, agree


# -- drawing ------------------------------------------------------------------------


def draw_cases(strategy: st.SearchStrategy[Any], count: int, at: int = SEED) -> list[Any]:
    """``count`` cases as the engine draws them (``@given``), from a fixed seed."""
    cases: list[Any] = []

    @seed(at)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Any) -> None:
        cases.append(case)

    collect()
    return cases


def draw_rate(strategy: st.SearchStrategy[Any], count: int = 2000, rounds: int = 3) -> float:
    """Cases drawn per second under ``@given`` (best of ``rounds``)."""
    best = 0.0
    for round_ in range(rounds):
        start = time.perf_counter()
        drawn = len(draw_cases(strategy, count, at=SEED + round_))
        best = max(best, drawn / (time.perf_counter() - start))
    return best


def older_strategies(revision: str) -> Path:
    """A file, or live.py as of a git revision (read with ``git show``)."""
    if Path(revision).is_file():
        return Path(revision)
    text = subprocess.run(
        ["git", "show", f"{revision}:harness/strategies/live.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "live_before.py"
    path.write_text(text, encoding="utf-8")
    return path


def load_strategies(path: Path | None, name: str = "live_under_test") -> ModuleType:
    """harness.strategies.live, or another copy of it (e.g. an older one)."""
    if path is None:
        from harness.strategies import live

        return live
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# -- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    cases: int
    both: Counter[tuple[str, str]]
    decides: Counter[tuple[str, str]]
    agree: int  # cases whose first broken check is the reference's answer


def tally(cases: list[Any], hits_of: Callable[[Any], tuple[set[Hit], bool]]) -> Tally:
    results = [hits_of(case) for case in cases]
    both, decides = count_hits(hits for hits, _ in results)
    return Tally(len(cases), both, decides, sum(agree for _, agree in results))


def faults(chains: dict[str, set[str]]) -> set[str]:
    """The broken checks, less those a broken container implies (a body that
    is not an object has no kind, a missing context no city, ...): roughly,
    the faults a case was built with."""
    broken = set().union(*chains.values())
    if "$" in broken:
        return {"$"}
    for container in ("context", "artifact"):
        if container in broken:
            broken = {c for c in broken if not c.startswith(container + ".")}
    return broken


def validate_breadth(cases: list[dict[str, str]]) -> Counter[str]:
    """How many faults each /v1/validate body carries: none, one, two or more."""
    breadth: Counter[str] = Counter()
    for case in cases:
        try:
            body = loads(case["body"])
        except JsonError:
            body = None
        breadth[_breadth(len(faults(broken_checks(body))))] += 1
    return breadth


def iterate_breadth(cases: list[dict[str, Any]]) -> Counter[str]:
    """The same for every artifact a scenario hands to the validator."""
    breadth: Counter[str] = Counter()
    for case in cases:
        for body in iterate_artifacts(case):
            breadth[_breadth(len(faults(broken_checks(body))))] += 1
    return breadth


def _breadth(count: int) -> str:
    return ("none", "one")[count] if count < 2 else "two or more"


def reachable(pair: tuple[str, str], suite: str) -> bool:
    return pair not in MEANINGLESS and (suite == "validate" or pair[0] not in NOT_IN_ITERATE)


def _cell(pair: tuple[str, str], suite: str, value: str) -> str:
    if pair in MEANINGLESS:
        return "unreachable"
    return value if reachable(pair, suite) else "n/a"


def table(validate_tally: Tally, iterate_tally: Tally) -> str:
    lines = [
        "| # | earlier check → later check | kinds | validate: both | validate: decides "
        "| iterate: both | iterate: decides |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for number, (pair, kinds) in enumerate(all_pairs(), start=1):
        cells = [f"{number}", f"`{pair[0]}` → `{pair[1]}`", ", ".join(kinds)]
        for suite, counts in (("validate", validate_tally), ("iterate", iterate_tally)):
            cells += [
                _cell(pair, suite, str(counts.both[pair])),
                _cell(pair, suite, str(counts.decides[pair])),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spread_table(runs: dict[str, list[Tally]]) -> str:
    """Per pair, the minimum and median count over several seeds."""
    lines = [
        "| # | earlier check → later check | validate: both | validate: decides "
        "| iterate: both | iterate: decides |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for number, (pair, _) in enumerate(all_pairs(), start=1):
        cells = [f"{number}", f"`{pair[0]}` → `{pair[1]}`"]
        for suite in ("validate", "iterate"):
            for field in ("both", "decides"):
                counts = [getattr(t, field)[pair] for t in runs[suite]]
                cells.append(_cell(pair, suite, _min_median(counts)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _min_median(counts: list[int]) -> str:
    return f"{min(counts)} / {statistics.median(counts):g}"


@dataclass
class Report:
    """Everything one run measures, for the terminal and the results file."""

    seed: int
    cases: int
    validate: Tally
    iterate: Tally
    validate_breadth: Counter[str]
    iterate_breadth: Counter[str]
    spread: dict[str, list[Tally]] | None = None
    before: Report | None = None
    rates: dict[str, float] | None = None


def measure(live: ModuleType, cases: int, at: int, seeds: int, rate: bool) -> Report:
    validate_cases = draw_cases(live.validate_requests(), cases, at)
    iterate_cases = draw_cases(live.iterate_scenarios(), cases, at)
    report = Report(
        at,
        cases,
        tally(validate_cases, validate_case_hits),
        tally(iterate_cases, iterate_case_hits),
        validate_breadth(validate_cases),
        iterate_breadth(iterate_cases),
    )
    if seeds > 1:
        report.spread = {
            "validate": [
                tally(draw_cases(live.validate_requests(), cases, n), validate_case_hits)
                for n in range(at, at + seeds)
            ],
            "iterate": [
                tally(draw_cases(live.iterate_scenarios(), cases, n), iterate_case_hits)
                for n in range(at, at + seeds)
            ],
        }
    if rate:
        report.rates = {
            name: draw_rate(getattr(live, name)())
            for name in ("validate_requests", "iterate_scenarios", "fault_scenarios")
        }
    return report


def render(report: Report, seeds: int) -> str:
    out = [
        f"### {report.cases} validate cases and {report.cases} iterate scenarios, "
        f"seed {report.seed}",
        "",
        table(report.validate, report.iterate),
        "",
        f"The first broken check is the reference validator's answer in "
        f"{report.validate.agree}/{report.validate.cases} validate cases and "
        f"{report.iterate.agree}/{report.iterate.cases} iterate scenarios (every artifact).",
        "",
        "Faults per case (broken checks less those a broken container implies): "
        "validate bodies "
        + _breadth_text(report.validate_breadth)
        + "; artifacts the iterate scenarios hand to the validator "
        + _breadth_text(report.iterate_breadth)
        + ".",
    ]
    if report.spread is not None:
        out += [
            "",
            f"### Minimum / median over {seeds} seeds ({report.seed} to "
            f"{report.seed + seeds - 1}), {report.cases} cases each",
            "",
            spread_table(report.spread),
        ]
    if report.rates is not None:
        out += ["", "### Draw rate (`@given`, 2000 examples, `database=None`, best of 3)", ""]
        out += [f"- {name}: {rate:,.0f} cases/s" for name, rate in report.rates.items()]
    return "\n".join(out)


def _breadth_text(breadth: Counter[str]) -> str:
    total = sum(breadth.values()) or 1
    return ", ".join(
        f"{breadth[k]} {k} ({100 * breadth[k] / total:.0f}%)"
        for k in ("none", "one", "two or more")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--seeds", type=int, default=1, help="also the spread over N seeds")
    parser.add_argument("--module", type=Path, help="another copy of harness/strategies/live.py")
    parser.add_argument(
        "--before", help="a git revision (or a file) whose live.py to measure alongside"
    )
    parser.add_argument("--rate", action="store_true", help="also measure draws per second")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    report = measure(load_strategies(args.module), args.cases, args.seed, args.seeds, args.rate)
    text = render(report, args.seeds)
    if args.before is not None:
        old = load_strategies(older_strategies(args.before), "live_before")
        text += f"\n\n## Before: `harness/strategies/live.py` at {args.before}\n\n"
        text += render(measure(old, args.cases, args.seed, 1, args.rate), 1)
    print(text)
    if args.write:
        write_results(text, argv if argv is not None else sys.argv[1:])
    return 0


NOTES = """\
What is counted. For each pair of adjacent checks of the validation order
(docs/decisions.md §1), the number of cases whose body breaks both ("both"),
and the number where nothing earlier in the chain is broken as well
("decides": the case's answer then depends on the order of exactly these two
checks). Each check is evaluated on its own by `benchmarks/check_pairs.py`
(instrumentation over the reference's rules; `reference_impl/` is unchanged):
a value at a missing path reads as absent, so a type check on it fails; a
rule about array elements or lengths needs an array; a comparison (count,
duplicate, phantom, consistency, availability, subject length) needs operands
of the type the earlier checks guarantee. A body without a known kind is
judged by all three chains. For iterate, every artifact the scenario hands to
the validator counts (attempt by attempt, up to acceptance or
`max_iterations`; the scripted model repeats its last reply), and a scenario
counts once per pair.

Pairs that cannot be reached by construction:

- `artifact.fills` → `fills[i]`: when `fills` is not an array there are no
  elements to be objects or not.
- `artifact.steps` → `steps.count`: when `steps` is not an array it has no
  length to be out of 1..20.
- in iterate (`n/a`): everything up to `artifact` — `/v1/iterate` sends the
  scenario's context, one of the three kinds, and extract_json only ever
  yields an object. The context is well-formed but in about one fill or
  email scenario in thirteen, where exactly one of its fields is broken
  (no `target_count`, 0 or "2"; no city; no `candidate_id`): every attempt
  then fails on that field (its "integer >= 1" is the one validation message
  an iterate session can hold with a character a runtime may HTML-escape),
  but no pair up to `artifact` is broken together. Those scenarios still
  count for "both" in the pairs their artifacts break, never for "decides".

`fills[i]` / `fills[i].candidate_id` and `consistency.city` / `.state` /
`.role` are checked element by element (the first failing fill answers), so
for those pairs "decides" means both orders are exercised, depending on which
fill comes first.

Container pairs (`context` → `context.target_count`, `artifact` →
`artifact.fills`, `context` → `context.candidate_id`, `artifact` →
`artifact.candidate_id`, `artifact` → `artifact.title`) are broken together
by a single fault (the fields of a missing object are missing); the
strategies leave them to single faults, hence their high "both" and low
"decides".

In iterate the target count is the scenario's: a one-worker fill has no
room for a duplicate, or for two wrong workers, without a wrong count as well
(`count` comes earlier), which is why some worker-side pairs are broken
together ("both") more often than they decide the answer there.

Hypothesis does not draw 300 independent cases: the first tenth are
minimal extensions of short prefixes and every case is followed by up to five
mutations of it, so counts come in lumps; the spread over seeds shows how
much they vary.

Draw rate: Hypothesis pays per choice (about 45 µs each under `@given` here,
its bookkeeping and mutations included). The iterate and fault scenarios of
e42d831 were one choice each (32 random bytes decoded by modulo, which its
shrinker cannot reduce); now a scenario is about 26 native choices (a fault
scenario about 15, a validate body about 11, as before).
"""


def write_results(text: str, argv: list[str]) -> None:
    import hypothesis

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = " ".join(["python benchmarks/check_pairs.py", *argv])
    header = [
        "# Pairs of adjacent /v1/validate checks broken together",
        "",
        f"- date: {now}",
        f"- command: `{command}`",
        f"- machine: nproc {os.cpu_count()}, {platform.platform()}, python "
        f"{platform.python_version()}, hypothesis {hypothesis.__version__}",
        "- load average when done (1/5/15 min): "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (the machine is shared: draw rates vary by about a fifth between runs)",
        "",
        NOTES,
        "## Results",
        "",
    ]
    RESULTS.write_text("\n".join([*header, text, ""]), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
