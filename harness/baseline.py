"""``parity run --baseline PATH``: gate on what is new since an earlier report.

The baseline is an earlier ``report.json`` (typically the main branch's). Its
minimal cases are replayed at the start of the run (each finding they still
show is found again through the same case, whatever the seed), and join the
replays that group findings into causes.

A *finding* is known when the baseline recorded it and its minimal case
there, replayed in this run, shows it again: the evidence that the fault it
recorded is still the one showing (this run may have shrunk it to another
minimal case: shrinking stops in a local minimum). A
*cause* is known only when every finding of it that fails the gate is known:
a new finding that joined a known one makes the cause new, and the cause
says which finding is new. So a known fault never hides a new one.

What the baseline does not know is not yet new: with base runtimes
(``gate.py``) it is replayed there first, and a cause the base runtimes show
too is *pre-existing*. Without them, "new" is unverified and the report says
so.

Baseline causes this run does not see again are *fixed* when their suites
ran, and *unobserved* when they did not. Each cause keeps ``first_seen`` and
``last_seen`` from report to report.

Reports of schema version 1 have no causes: against one, a finding is known
when the baseline lists its id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from harness import causes, schema_store
from harness.causes import Shown
from harness.errors import ConfigError, describe_os_error
from harness.model import (
    BaselineOutcome,
    Cause,
    CauseStatus,
    Finding,
    JsonValue,
    KnownCause,
    Trigger,
)

__all__ = ["Baseline", "gate_relevant", "load_baseline", "read_report"]

VERSIONS: Final = {"1": "report-v1", "2": "report-v2", "3": "report"}


@dataclass(frozen=True)
class Baseline:
    source: str
    schema_version: str
    causes: tuple[KnownCause, ...]
    finding_ids: frozenset[str]  # every divergence of the baseline
    examples: Mapping[str, Trigger]  # finding id -> its minimal case, where it replays
    started_at: str | None = None  # when the baseline's run started

    def cases(self) -> dict[str, list[JsonValue]]:
        """Every minimal case of the baseline, by the suite it replays in."""
        out: dict[str, list[JsonValue]] = {}
        seen: set[str] = set()
        for trigger in self.examples.values():
            if trigger.ident not in seen:
                seen.add(trigger.ident)
                out.setdefault(trigger.suite, []).append(trigger.input)
        return out

    def known_findings(self, findings: Sequence[Finding], shown: Shown) -> set[str]:
        """The ids among ``findings`` the baseline knows: those whose own
        minimal case in the baseline, replayed in this run, shows them again.

        A listed id alone is not enough (a new fault may have the same suite,
        class and path as one fixed since), nor is any baseline case showing
        the finding (a new fault shows in old cases too: a default changed
        shows in every case that leaves it out). A version 1 report has no
        better evidence than the id."""
        ids = {f.id for f in findings}
        if self.schema_version == "1":
            return ids & self.finding_ids
        return {
            fid
            for fid in ids
            if fid in self.examples and fid in shown.get(self.examples[fid].ident, frozenset())
        }

    def judge(
        self, found: Sequence[Cause], shown: Shown, ran: frozenset[str], now: str
    ) -> BaselineOutcome:
        """Mark each cause known or new (``shown``: what each replayed case
        showed in this run; ``ran``: the suites this run ran), carry the
        causes' history, and list the baseline's causes not seen again."""
        outcome = BaselineOutcome(source=self.source, schema_version=self.schema_version)
        known = self.known_findings([f for c in found for f in c.findings], shown)
        for cause in found:
            relevant = gate_relevant(cause)
            cause.new_findings = tuple(f.id for f in relevant if f.id not in known)
            cause.status = CauseStatus.NEW if cause.new_findings else CauseStatus.KNOWN
            if cause.status is CauseStatus.KNOWN:
                outcome.known.append(cause.id)
            self._history(cause, now)
        seen_ids = {cause.id for cause in found}
        seen_findings = {finding.id for cause in found for finding in cause.findings}
        for earlier in self.causes:
            if earlier.id in seen_ids or seen_findings & set(earlier.findings):
                continue  # seen again, perhaps under another id
            if earlier.suites and not set(earlier.suites) <= ran:
                outcome.unobserved.append(earlier)
            else:
                outcome.fixed.append(earlier)
        return outcome

    def _history(self, cause: Cause, now: str) -> None:
        mine = {finding.id for finding in cause.findings}
        earlier = [k for k in self.causes if k.id == cause.id or mine & set(k.findings)]
        firsts = [k.first_seen or self.started_at for k in earlier]
        dated = sorted(f for f in firsts if f)
        cause.first_seen = dated[0] if dated and cause.status is CauseStatus.KNOWN else now
        cause.last_seen = now


def gate_relevant(cause: Cause) -> list[Finding]:
    """The findings that decide whether a cause is new: those whose class
    fails the gate (all of them, for a cause that never fails it)."""
    failing = [f for f in cause.findings if f.failure.cls.fails_gate]
    return failing or list(cause.findings)


def read_report(path: Path, *, missing: str = "no such file") -> dict[str, Any]:
    """A stored ``report.json`` (any schema version this harness reads),
    checked against its schema; any other file is a ``ConfigError`` naming
    it (and the key)."""
    source = str(path)
    document = _read(path, missing)
    version = document.get("schema_version") if isinstance(document, dict) else None
    # isinstance first: the version may be any JSON value, a list too (unhashable).
    if not isinstance(version, str) or version not in VERSIONS:
        raise ConfigError(source, "schema_version", "not a parity report (expected 1, 2 or 3)")
    try:
        problems = schema_store.errors(VERSIONS[version], document)
    except RecursionError as exc:
        raise ConfigError(source, None, "not a valid report (nested too deeply)") from exc
    if problems:
        first = problems[0]
        raise ConfigError(source, first.path, f"not a valid report: {first.message}")
    assert isinstance(document, dict)
    return document


def load_baseline(path: Path) -> Baseline:
    source = str(path)
    document = read_report(path, missing="no such file (the baseline is an earlier report.json)")
    version = document["schema_version"]
    suites = {str(d["id"]): str(d["suite"]) for d in document.get("divergences", [])}
    return Baseline(
        source=source,
        schema_version=str(version),
        causes=tuple(_known(raw, suites) for raw in document.get("causes", [])),
        finding_ids=frozenset(str(d["id"]) for d in document.get("divergences", [])),
        examples=_examples(document.get("divergences", [])),
        started_at=document.get("started_at"),
    )


def _read(path: Path, missing: str) -> Any:
    source = str(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(source, None, missing) from exc
    except IsADirectoryError as exc:
        raise ConfigError(source, None, "a folder, not a report.json") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, f"cannot read: {describe_os_error(exc, path)}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(source, None, f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(source, None, "not a parity report (nested too deeply)") from exc


def _examples(divergences: list[dict[str, Any]]) -> dict[str, Trigger]:
    out = {}
    for raw in divergences:
        trigger = causes.trigger_for(raw["suite"], raw["input"])
        if trigger is not None:
            out[str(raw["id"])] = trigger
    return out


def _known(raw: dict[str, Any], suites: Mapping[str, str]) -> KnownCause:
    """A baseline cause; where its findings are comes from the divergences."""
    where = sorted({suites[f] for f in raw["findings"] if f in suites})
    return KnownCause(
        id=raw["id"],
        blamed=tuple(raw["blamed"]),
        summary=raw["summary"],
        findings=tuple(raw["findings"]),
        suites=tuple(where),
        first_seen=raw.get("first_seen"),
        last_seen=raw.get("last_seen"),
    )
