"""From findings to causes: the findings one minimal case shows together.

A run reports a *finding* per (suite, class, path, blamed); one fault in a
runtime usually shows as several (the same float64 in an extracted value, the
artifact of a session and the row it logs). After shrinking, the engine
replays each finding's minimal case once through the reference and every
target, in every suite that takes that case and every suite derived from
those (``registry.family``, ``registry.derived_from``), and records which
findings it shows. This module turns those observations into causes.

**The grouping rule.** Finding F *shows* G when F's minimal case shows G.
Findings blamed on the same targets are one cause when one shows the other,
directly or through others of the same blame (connected components). The
reason: a shrunk case holds nothing its finding does not need, so when F's
minimal case also shows G, what triggers G is part of what triggers F (a
number Rust rejects makes it pick the next object: ``missing_field`` shows
``type`` when that object has one key more and one of another type).
Three exceptions, each a way one case shows two faults:

- findings blamed on different targets are never one cause: they are faults
  in different code, fixed apart;
- an ``encoding_only`` finding joins only others of its kind: it never fails
  the gate, and would otherwise make a cause that does look harmless, or the
  reverse;
- a *plain* finding, one the suite's simplest case already shows (Go's
  ``1.0`` temperature, where the plainest request asks for 1.0), joins a
  finding only when each shows the other: a minimal case shows it because
  nothing simpler exists, not because it needs it.

A finding whose minimal case was not shrunk to the end (the shrinking budget
ran out) may still carry an unrelated trigger of the same runtime; that is
the one way this rule can merge two faults. It never merges what only a
further simplification would relate (Go's lone surrogate is ``matched`` on
its own and ``type`` once a second object follows: two causes), because
simplifying across findings slips from one fault to another (tried and
measured: it joined Go's lone surrogate with its ``float64`` numbers).

**The identity.** A cause's id hashes its trigger (the smallest of its
findings' minimal cases, canonical JSON), the blamed targets and its leading
(most severe) finding's class and path: never run order, never a seed. The
trigger decides, not the key: a new way to reach a known (suite, class, path)
has another minimal case, hence another id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from harness import compare
from harness.model import (
    Cause,
    Failure,
    Finding,
    JsonValue,
    Trigger,
    generalise_path,
)
from harness.suites import registry
from harness.suites.base import case_size
from harness.suites.produced import ProducedSession

Shown = Mapping[str, frozenset[str]]  # Trigger.ident -> fingerprints it shows


def trigger_of(finding: Finding) -> Trigger | None:
    return trigger_for(finding.failure.suite, finding.example.input)


def trigger_for(suite: str, case: JsonValue) -> Trigger | None:
    """Where a finding's minimal case replays: a derived suite's case carries
    the case of the suite it came from (its ``origin``)."""
    if case is None or suite not in registry.BY_NAME:
        return None
    if registry.BY_NAME[suite].kind != "derived":
        return Trigger(suite, case)
    if not isinstance(case, ProducedSession):
        try:
            case = ProducedSession.from_json(case)  # from a report or a reproducer
        except ValueError:
            return None
    if case.origin in registry.BY_NAME[suite].depends_on:
        return Trigger(case.origin, case.case)
    return None


def group(
    findings: Sequence[Finding],
    shown: Shown,
    known: Mapping[str, Trigger] | None = None,
    plain: frozenset[str] = frozenset(),
) -> list[Cause]:
    """The causes of ``findings``, given what each trigger showed when
    replayed (``Trigger.ident`` -> fingerprints). ``known`` adds, per finding
    id, a minimal case an earlier run kept (a baseline's): its links count
    too. A finding whose trigger did not show it again (a flaky one) still
    belongs to its own cause. ``plain``: what the suites' simplest cases show."""
    by_id = {finding.id: finding for finding in findings}
    triggers = {finding.id: trigger_of(finding) for finding in findings}
    shows: dict[str, set[str]] = {fid: set() for fid in by_id}
    for fid, trigger in _all_triggers(triggers, known or {}):
        seen = shown.get(trigger.ident, frozenset())
        shows[fid].update(o for o in seen if o in by_id and _may_join(by_id[fid], by_id[o]))
    links: dict[str, set[str]] = {fid: set() for fid in by_id}
    for fid, others in shows.items():
        for other in others - {fid}:
            one_way = fid not in shows[other]
            if one_way and (fid in plain or other in plain):
                continue
            links[fid].add(other)
            links[other].add(fid)
    causes = [_cause([by_id[f] for f in part], triggers) for part in _components(links)]
    return sorted(causes, key=lambda c: (_rank(c.findings[0].failure), c.id))


def _may_join(a: Finding, b: Finding) -> bool:
    same_gate = a.failure.cls.fails_gate == b.failure.cls.fails_gate
    return a.failure.blamed == b.failure.blamed and same_gate


def _all_triggers(
    triggers: Mapping[str, Trigger | None], known: Mapping[str, Trigger]
) -> list[tuple[str, Trigger]]:
    pairs = [(fid, t) for fid, t in triggers.items() if t is not None]
    return pairs + [(fid, known[fid]) for fid in triggers if fid in known]


def _cause(members: list[Finding], triggers: Mapping[str, Trigger | None]) -> Cause:
    members.sort(key=lambda f: _rank(f.failure))
    lead = members[0]
    candidates = [t for f in members if (t := triggers[f.id]) is not None]
    trigger = min(candidates, key=lambda t: (case_size(t.input), t.suite, t.key), default=None)
    if trigger is None:  # no case to replay: the finding itself is the identity
        trigger = Trigger(lead.failure.suite, None)
    blamed = lead.failure.blamed  # one blame per cause
    cause = Cause(
        id=cause_id(trigger, blamed, lead.failure),
        blamed=blamed,
        summary=summary(lead),
        trigger=trigger,
        findings=members,
    )
    for finding in members:
        finding.cause = cause.id
    return cause


def cause_id(trigger: Trigger, blamed: Iterable[str], lead: Failure) -> str:
    parts = [trigger.suite, trigger.key, ",".join(sorted(blamed)), str(lead.cls), lead.path]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def summary(finding: Finding) -> str:
    """Who, what, where: ``go: number_type at $.value.* — 1.0 comes back as 1``."""
    failure = finding.failure
    head = f"{', '.join(failure.blamed)}: {failure.cls} at {failure.path}"
    for name in failure.blamed:
        for diff in finding.example.differences.get(name, ()):
            if diff.cls is failure.cls and _under(diff.path, failure.path):
                return f"{head} — {compare.what_changed(diff)}"
    return head


def _under(path: str, general: str) -> bool:
    if general.endswith(".*"):
        return path.startswith((general[:-2] + ".", general[:-2] + "["))
    return generalise_path(path) == general


def _rank(failure: Failure) -> tuple[int, str, int, tuple[str, ...]]:
    """``Failure.rank``, with the suites in run order between path and blame."""
    severity, path, blamed = failure.rank
    known = failure.suite in registry.ALL
    order = registry.ALL.index(failure.suite) if known else len(registry.ALL)
    return (severity, path, order, blamed)


def _components(links: Mapping[str, set[str]]) -> list[list[str]]:
    """Connected components, each sorted (deterministic whatever the order
    findings were recorded in)."""
    done: set[str] = set()
    parts = []
    for node in sorted(links):
        if node in done:
            continue
        part, todo = {node}, [node]
        while todo:
            for nxt in links[todo.pop()]:
                if nxt not in part:
                    part.add(nxt)
                    todo.append(nxt)
        done.update(part)
        parts.append(sorted(part))
    return parts


Replay = Callable[[Trigger], frozenset[str]]


def attribute(
    findings: Sequence[Finding],
    replay: Replay,
    known: Mapping[str, Trigger] | None = None,
    plain: frozenset[str] = frozenset(),
) -> tuple[list[Cause], Shown]:
    """Replay each distinct trigger once (the findings' minimal cases, and
    the ``known`` ones of the findings an earlier run kept), then group.
    Returns the causes and what each trigger showed."""
    known = {fid: t for fid, t in (known or {}).items() if fid in {f.id for f in findings}}
    shown: dict[str, frozenset[str]] = {}
    for _, trigger in _all_triggers({f.id: trigger_of(f) for f in findings}, known):
        if trigger.ident not in shown:
            shown[trigger.ident] = replay(trigger)
    return group(findings, shown, known, plain), shown
