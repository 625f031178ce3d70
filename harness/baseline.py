"""``parity run --baseline PATH``: gate on what is new since an earlier report.

The baseline is an earlier ``report.json`` (typically the main branch's). A
cause whose id it lists is *known* and does not fail the gate; a cause it does
not list is *new* and does (exit 1); a cause it lists that this run did not
see is *fixed*.

Ids only work as a gate if a known fault keeps its id whatever the seed. So
the minimal case of every divergence in the baseline is replayed at the start
of the run (each finding it still shows is found again through the same case),
and those cases join the replays that group findings into causes (the links
the baseline saw are seen again).

A cause whose id is not in the baseline is still *known* when one of the
baseline's own minimal cases, replayed in this run, shows one of its
findings again. Shrinking stops in a local minimum, so one fault can have
several minimal cases, and a run that found another one than the baseline's
must not call the fault new; nor is a known fault new because this run also
found a rarer finding of it (grouped with it by ``causes.py``: their minimal
cases show each other). The price: while the known fault is still there, a
second fault whose minimal case shows one of its findings hides behind it
(once the known one is fixed, it shows as new).

Reports of schema version 1 have no causes: against one, a cause is known
when every one of its findings is among the baseline's divergences.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import causes, schema_store
from harness.causes import Shown
from harness.errors import ConfigError, describe_os_error
from harness.model import BaselineOutcome, Cause, JsonValue, KnownCause, Trigger

__all__ = ["Baseline", "load_baseline", "read_report"]


@dataclass(frozen=True)
class Baseline:
    source: str
    schema_version: str
    causes: tuple[KnownCause, ...]
    finding_ids: frozenset[str]  # every divergence of the baseline
    examples: Mapping[str, Trigger]  # finding id -> its minimal case, where it replays

    def cases(self) -> dict[str, list[JsonValue]]:
        """Every minimal case of the baseline, by the suite it replays in."""
        out: dict[str, list[JsonValue]] = {}
        seen: set[str] = set()
        for trigger in self.examples.values():
            if trigger.ident not in seen:
                seen.add(trigger.ident)
                out.setdefault(trigger.suite, []).append(trigger.input)
        return out

    def judge(self, causes: Sequence[Cause], shown: Shown) -> BaselineOutcome:
        """Mark each cause new or known (``shown``: what each replayed case
        showed in this run); list the baseline's causes not seen again."""
        outcome = BaselineOutcome(source=self.source, schema_version=self.schema_version)
        ids = {cause.id for cause in self.causes}
        for cause in causes:
            if self.schema_version == "1":
                cause.new = not all(f.id in self.finding_ids for f in cause.findings)
            else:
                cause.new = cause.id not in ids and not self._shows_again(cause, shown)
            if not cause.new:
                outcome.known.append(cause.id)
        if self.schema_version != "1":
            # Fixed: none of its findings shows any more (a known cause that
            # only changed its id is not fixed).
            ids_seen = {cause.id for cause in causes}
            found = {finding.id for cause in causes for finding in cause.findings}
            outcome.fixed = [
                known
                for known in self.causes
                if known.id not in ids_seen and not found & set(known.findings)
            ]
        return outcome

    def _shows_again(self, cause: Cause, shown: Shown) -> bool:
        mine = {finding.id for finding in cause.findings}
        for finding in cause.findings:
            example = self.examples.get(finding.id)
            if example is not None and mine & shown.get(example.ident, frozenset()):
                return True
        return False


def read_report(path: Path, *, missing: str = "no such file") -> dict[str, Any]:
    """A stored ``report.json`` (schema version 1 or 2), checked against its
    schema; any other file is a ``ConfigError`` naming it (and the key)."""
    source = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(source, None, missing) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, f"cannot read: {describe_os_error(exc, path)}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(source, None, f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(source, None, "not a parity report (nested too deeply)") from exc
    version = document.get("schema_version") if isinstance(document, dict) else None
    if version not in ("1", "2"):  # a tuple: the version may be any JSON value, a list too
        raise ConfigError(source, "schema_version", "not a parity report (expected 1 or 2)")
    try:
        problems = schema_store.errors("report-v1" if version == "1" else "report", document)
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
    return Baseline(
        source=source,
        schema_version=str(version),
        causes=tuple(_known(raw) for raw in document.get("causes", [])),
        finding_ids=frozenset(str(d["id"]) for d in document.get("divergences", [])),
        examples=_examples(document.get("divergences", [])),
    )


def _examples(divergences: list[dict[str, Any]]) -> dict[str, Trigger]:
    out = {}
    for raw in divergences:
        trigger = causes.trigger_for(raw["suite"], raw["input"])
        if trigger is not None:
            out[str(raw["id"])] = trigger
    return out


def _known(raw: dict[str, Any]) -> KnownCause:
    return KnownCause(
        id=raw["id"],
        blamed=tuple(raw["blamed"]),
        summary=raw["summary"],
        findings=tuple(raw["findings"]),
    )
