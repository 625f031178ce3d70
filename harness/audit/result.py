"""What an audit found, as plain data: the JSON document (``schemas/sessions-audit.json``),
the terminal summary and the Markdown summary are all rendered from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = [
    "AUDIT_VERSION",
    "AuditResult",
    "Example",
    "FileSummary",
    "InvariantResult",
    "LineCount",
    "Metric",
    "ParityResult",
    "ParityTest",
    "Violation",
]

AUDIT_VERSION: Final = 1
EXAMPLES: Final = 5  # line numbers / session ids kept per group


@dataclass(frozen=True)
class Example:
    file: str
    line: int
    session_id: str | None = None


@dataclass(frozen=True)
class FileSummary:
    path: str
    lines: int
    blank_lines: int


@dataclass(frozen=True)
class LineCount:
    """Lines that are not a session.iterate.v1 row (torn, not UTF-8, another version)."""

    count: int = 0
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Violation:
    field: str
    rule: str
    message: str
    rows: int
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class InvariantResult:
    name: str
    description: str
    breaches: int
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class Metric:
    """One distribution compared between the two daemons."""

    name: str
    scope: str | None  # a model name for the per-model metrics
    counts: dict[str, dict[str, int]]  # daemon -> category -> count
    statistic: float | None
    df: int | None
    p_value: float | None
    effect: float | None
    flagged: bool
    note: str | None = None


@dataclass(frozen=True)
class ParityTest:
    name: str
    alpha: float
    effect: str
    min_effect: float


@dataclass(frozen=True)
class ParityResult:
    compared: bool
    reason: str | None
    daemons: tuple[str, ...]
    period_from: str | None
    period_to: str | None
    test: ParityTest
    metrics: tuple[Metric, ...] = ()

    @property
    def flagged(self) -> int:
        return sum(m.flagged for m in self.metrics)


@dataclass(frozen=True)
class AuditResult:
    files: tuple[FileSummary, ...]
    since: str | None
    until: str | None
    rows: int  # session.iterate.v1 rows (and other JSON lines) audited
    rows_by_daemon: dict[str, int]
    invalid_rows: int
    torn: LineCount
    not_utf8: LineCount
    other_version: LineCount
    violations: tuple[Violation, ...]
    invariants: tuple[InvariantResult, ...]
    parity: ParityResult
    other_versions: dict[str, int] = field(default_factory=dict)

    @property
    def breaches(self) -> int:
        return sum(i.breaches for i in self.invariants)

    @property
    def clean(self) -> bool:
        """Nothing that fails the audit: no violation, unreadable line, breach or flag."""
        return not (
            self.invalid_rows
            or self.torn.count
            or self.not_utf8.count
            or self.breaches
            or self.parity.flagged
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.clean else 1

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document = {"version": AUDIT_VERSION, **document}
        document["clean"] = self.clean
        document["exit_code"] = self.exit_code
        document["parity"]["flagged"] = self.parity.flagged
        return document
