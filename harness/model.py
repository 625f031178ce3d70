"""The harness's core vocabulary, shared by every layer.

Data flows one way: strategies produce case *inputs*; targets turn an input
into an ``Observation``; comparison turns observations into ``Difference``s;
findings group differences into ``Failure``s with a fingerprint; reporters
consume ``Event``s. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from reference_impl.jsonmodel import JsonValue as JsonValue

if TYPE_CHECKING:
    from harness.coverage import SuiteCoverage

REFERENCE: Final = "reference"


@runtime_checkable
class JsonData(Protocol):
    """A typed value (a typed case) that has a JSON form for reports."""

    def to_json(self) -> dict[str, JsonValue]: ...


def as_json(value: JsonValue | JsonData) -> JsonValue:
    """A case as plain JSON: a typed case by its ``to_json``."""
    return value.to_json() if isinstance(value, JsonData) else value


class DivergenceClass(StrEnum):
    """CONTRACT §6 class ids, plus the harness's own ``schema`` and ``protocol``."""

    STATUS = "status"
    MATCHED = "matched"
    MISSING_FIELD = "missing_field"
    EXTRA_FIELD = "extra_field"
    NULL_VS_ABSENT = "null_vs_absent"
    TYPE = "type"
    VALUE = "value"
    NUMBER_PRECISION = "number_precision"
    NUMBER_TYPE = "number_type"
    UNSTABLE = "unstable"  # one runtime answered one case twice, differently (A/A)
    ENCODING_ONLY = "encoding_only"
    SCHEMA = "schema"  # an output that breaks its JSON Schema
    CRASH = "crash"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"  # output that is not the protocol's shape (garbage)

    @property
    def is_infrastructure(self) -> bool:
        return self in INFRASTRUCTURE

    @property
    def fails_gate(self) -> bool:
        return self is not DivergenceClass.ENCODING_ONLY


INFRASTRUCTURE: Final = frozenset(
    {DivergenceClass.CRASH, DivergenceClass.TIMEOUT, DivergenceClass.PROTOCOL}
)

# When one case shows several classes, the first in this order is the one a
# run raises to Hypothesis (so shrinking is deterministic); all are recorded.
SEVERITY: Final = tuple(DivergenceClass)


@dataclass(frozen=True)
class InfraError:
    kind: DivergenceClass  # CRASH, TIMEOUT or PROTOCOL
    message: str
    exit_code: int | None = None


@dataclass(frozen=True)
class Session:
    """A live session as one side saw it: the id it runs under and the calls it
    made to the model. ``minted`` and ``row`` are the reference's: whether the
    runtime mints the trace id (no header sent), and the row it must write."""

    id: str
    model_calls: tuple[JsonValue, ...] | None = None  # None: not recorded
    minted: bool = False
    row: JsonValue = None
    # The ``sessions`` suite's reference: what each runtime answered for this
    # session, by target (the trace id it echoed, the 502 body it sent).
    answers: Mapping[str, Mapping[str, str]] | None = None
    # The reference's live trace tree of the session (``reference_impl.trace``),
    # when the run traces; and the collector fault its delivery ran under.
    tree: JsonValue = None
    collector: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"id": self.id}
        if self.model_calls is not None:
            out["model_calls"] = list(self.model_calls)
        if self.minted:
            out["minted"] = True
        if self.row is not None:
            out["row"] = self.row
        if self.answers is not None:
            out["answers"] = {name: dict(said) for name, said in self.answers.items()}
        if self.tree is not None:
            out["tree"] = self.tree
        if self.collector is not None:
            out["collector"] = self.collector
        return out


@dataclass(frozen=True)
class Observation:
    """What one target produced for one case."""

    target: str
    text: str | None  # the exact output text (probe line, HTTP body); None on infra error
    status: int | None = None  # HTTP status, for live surfaces
    infra: InfraError | None = None
    stderr: str = ""
    elapsed_ms: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)  # the response headers kept
    session: Session | None = None  # a live session: its id and model calls
    log: str | None = None  # the session log the text's rows were read from
    exit_code: int | None = None  # a one-shot probe that answered and exited non-zero

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"target": self.target, "text": self.text}
        if self.status is not None:
            out["status"] = self.status
        if self.infra is not None:
            out["infra"] = {
                "kind": str(self.infra.kind),
                "message": self.infra.message,
                "exit_code": self.infra.exit_code,
            }
        if self.stderr:
            out["stderr"] = self.stderr
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.session is not None:
            out["session"] = self.session.to_json()
        if self.log is not None:
            out["log"] = self.log
        if self.exit_code is not None:
            out["exit_code"] = self.exit_code
        return out


@dataclass(frozen=True)
class Difference:
    """One place where a target's output differs from the reference's."""

    cls: DivergenceClass
    path: str  # "$", "$.value.a[0]", ...
    expected: JsonValue = None  # the reference side (JSON-able summary)
    actual: JsonValue = None  # the target side
    note: str = ""

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "class": str(self.cls),
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "note": self.note,
        }


_INDEX: Final = re.compile(r"\[\d+\]")


def generalise_path(path: str, free_roots: tuple[str, ...] = ()) -> str:
    """``$.fills[3].id`` -> ``$.fills[*].id``: one finding per shape, not per index.

    Below a *free root* (a subtree whose keys are model output, such as an
    extracted value or an artifact) the keys are arbitrary too, so the whole
    subtree is one place: ``$.value.a.b`` -> ``$.value.*``.
    """
    for root in free_roots:
        if path.startswith((root + ".", root + "[")):
            return root + ".*"
    return _INDEX.sub("[*]", path)


@dataclass(frozen=True)
class Failure:
    """A distinct divergence: the unit of shrinking, waiving and reporting."""

    suite: str
    cls: DivergenceClass
    path: str  # generalised
    blamed: tuple[str, ...]  # sorted target names that broke the contract
    message: str = ""

    @property
    def key(self) -> tuple[str, str, str, tuple[str, ...]]:
        return (self.suite, str(self.cls), self.path, self.blamed)

    @property
    def rank(self) -> tuple[int, str, tuple[str, ...]]:
        """The order failures are listed in: most severe first, then by path
        and blame."""
        return (SEVERITY.index(self.cls), self.path, self.blamed)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256("\x1f".join([*self.key[:3], *self.blamed]).encode())
        return digest.hexdigest()[:12]


@dataclass(frozen=True)
class CaseResult:
    """All observations of one case and what comparison made of them."""

    suite: str
    input: JsonValue
    observations: dict[str, Observation]
    differences: dict[str, tuple[Difference, ...]]  # by target (reference excluded)
    failures: tuple[Failure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Finding:
    """A failure with its smallest example and everything to reproduce it."""

    failure: Failure
    example: CaseResult
    occurrences: int = 1
    seed: int | None = None
    reproducer: str | None = None  # path of the saved reproducer file
    waived_by: str | None = None  # waiver reason, when waived
    cause: str | None = None  # the id of the cause it belongs to
    exempt: str | None = None  # why it does not fail the gate (an unstable path, by policy)

    @property
    def fails_gate(self) -> bool:
        return self.failure.cls.fails_gate and self.waived_by is None and self.exempt is None

    @property
    def id(self) -> str:
        return self.failure.fingerprint


@dataclass(frozen=True)
class Trigger:
    """A case that, run through one suite, shows a cause's findings."""

    suite: str  # where ``input`` is a case (a derived suite's trigger is its origin's)
    input: JsonValue

    @property
    def key(self) -> str:
        """The canonical form of the input."""
        return json.dumps(self.input, sort_keys=True, ensure_ascii=False, default=repr)

    @property
    def ident(self) -> str:
        return f"{self.suite}\x1f{self.key}"

    def to_json(self) -> dict[str, JsonValue]:
        return {"suite": self.suite, "input": self.input}


class CauseStatus(StrEnum):
    """What a gated run (a baseline, base runtimes or both) made of a cause."""

    NEW = "new"  # neither the baseline nor the base runtimes show it
    KNOWN = "known"  # every finding of it that fails the gate, the baseline knows
    PRE_EXISTING = "pre_existing"  # the baseline missed it; the base runtimes show it


@dataclass(frozen=True)
class Flakiness:
    """A cause's trigger replayed ``replays`` times showed it ``shown`` times."""

    shown: int
    replays: int

    @property
    def flaky(self) -> bool:
        return self.shown < self.replays

    @property
    def rate(self) -> float:
        return self.shown / self.replays


@dataclass
class Cause:
    """Findings that one minimal case shows together: one fault, as far as
    the harness can tell (``causes.py`` says how they are grouped)."""

    id: str
    blamed: tuple[str, ...]
    summary: str  # who, what, where: "go: number_type at $.value.* — 1.0 comes back as 1"
    trigger: Trigger
    findings: list[Finding]  # most severe first
    status: CauseStatus | None = None  # gated runs only
    new_findings: tuple[str, ...] = ()  # gated: the ids of the findings the baseline lacks
    waived_by: str | None = None  # a waiver naming the cause
    flakiness: Flakiness | None = None  # a new cause's trigger replayed
    first_seen: str | None = None  # when a report first listed it (RFC 3339)
    last_seen: str | None = None

    @property
    def new(self) -> bool | None:
        return None if self.status is None else self.status is CauseStatus.NEW

    @property
    def flaky(self) -> bool:
        return self.flakiness is not None and self.flakiness.flaky

    @property
    def occurrences(self) -> int:
        return sum(finding.occurrences for finding in self.findings)

    @property
    def fails_gate(self) -> bool:
        """Some finding fails the gate and no waiver covers it."""
        return any(f.fails_gate for f in self.findings)


@dataclass(frozen=True)
class KnownCause:
    """A cause as an earlier report listed it (the baseline)."""

    id: str
    blamed: tuple[str, ...]
    summary: str
    findings: tuple[str, ...]  # finding ids
    suites: tuple[str, ...] = ()  # where its findings are (empty: not recorded)
    first_seen: str | None = None
    last_seen: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "id": self.id,
            "blamed": list(self.blamed),
            "summary": self.summary,
            "findings": list(self.findings),
        }
        if self.suites:
            out["suites"] = list(self.suites)
        if self.first_seen is not None:
            out["first_seen"] = self.first_seen
        if self.last_seen is not None:
            out["last_seen"] = self.last_seen
        return out


@dataclass
class BaselineOutcome:
    """What a gated run made of the earlier report and the base runtimes."""

    source: str | None  # the baseline report; None: base runtimes only
    schema_version: str | None
    known: list[str] = field(default_factory=list)  # cause ids seen again
    fixed: list[KnownCause] = field(default_factory=list)  # replayed, not seen any more
    unobserved: list[KnownCause] = field(default_factory=list)  # their suites did not run
    base: str | None = None  # the base runtimes new causes were checked on; None: unverified
    pre_existing: list[str] = field(default_factory=list)  # cause ids the base runtimes show

    @property
    def verified(self) -> bool:
        return self.base is not None


# ------------------------------------------------- what reporters render once a run ends


@dataclass
class SuiteSummary:
    suite: str
    targets: tuple[str, ...]
    cases: int = 0
    findings: list[Finding] = field(default_factory=list)  # divergences (waived ones too)
    errors: list[Finding] = field(default_factory=list)  # infrastructure errors
    elapsed_s: float = 0.0
    traceback: str | None = None  # a harness bug that ended the suite, for the report
    share_s: float | None = None  # with --max-time: the time this suite was given
    out_of_time: bool = False  # it stopped because its share ran out
    replayed: int = 0  # cases run again after the run, to group findings into causes
    explored: int = 0  # of ``cases``, those exploration drew (the rest are replays)
    aa_pairs: int = 0  # cases whose live answers were asked for twice (A/A)
    settled: int = 0  # minimal cases asked again for A/A after shrinking (not in ``cases``)
    steered: int = 0  # cases explored past the budget while a declared rule was rare
    coverage: SuiteCoverage | None = None  # the contract's rules its cases exercised
    stop_reason: str = "completed"  # engine.StopReason: why the suite's run ended

    @property
    def waived(self) -> int:
        return sum(1 for finding in self.findings if finding.waived_by is not None)


@dataclass(frozen=True)
class WaiverUse:
    """One waiver of the run's waivers file, as ``report.json`` records it:
    what it names, until when, and what it waived in this run."""

    names: dict[str, JsonValue]  # {"cause": id}, or suite, class, path and targets
    reason: str
    expires: str  # ISO date: the last day it holds
    expired: bool
    covers: tuple[str, ...]  # ids of the causes and findings it waived in this run

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "names": dict(self.names),
            "reason": self.reason,
            "expires": self.expires,
            "expired": self.expired,
            "covers": list(self.covers),
        }


@dataclass
class RunSummary:
    harness_version: str
    started_at: str  # RFC 3339
    profile: str
    seed: int | None
    suites: list[SuiteSummary] = field(default_factory=list)
    expired_waivers: list[str] = field(default_factory=list)  # descriptions
    waivers: list[WaiverUse] = field(default_factory=list)  # every waiver of the file
    config_path: str | None = None
    config_digest: str | None = None  # runs with one digest are parts of one run
    elapsed_s: float = 0.0
    exit_code: int = 0
    causes: list[Cause] = field(default_factory=list)  # most severe first
    baseline: BaselineOutcome | None = None
    max_time_s: float | None = None
    declared_volatile: list[dict[str, object]] = field(default_factory=list)  # DeclaredUse
    shard: tuple[int, int] | None = None  # (i, n): this run was shard i of n
    fail_on_flaky: bool = False  # a flaky new cause fails the gate too
    min_rule_cases: int | None = None  # --min-rule-cases
    uncovered: list[str] = field(default_factory=list)  # rules below it, one line each

    def findings(self) -> list[Finding]:
        return [finding for suite in self.suites for finding in suite.findings]
