"""Reading run reports for ``parity trend``: what each run saw, whatever its
schema version.

Reports are read tolerantly, not validated against ``schemas/report.json``:
a trend spans months of reports, written by several harness versions, so a
field this reader does not know is ignored and a newer ``schema_version`` is
read for the fields it shares with version 2. What a report lacks is said
(``Run.missing``), never guessed: version 1 has no causes (its divergences
are followed one by one), and reports before the ``waivers`` field have no
waiver expiry. A file that is not a report at all, or lacks a field the
trend needs, is a ``ConfigError`` naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from harness.errors import ConfigError
from harness.model import DivergenceClass
from harness.waivers import describe_names

__all__ = [
    "CauseSeen",
    "Run",
    "SuiteSeen",
    "WaiverSeen",
    "load_runs",
    "out_of_order",
    "parse_run",
]

FILENAME: Final = "report.json"

State = Literal["open", "waived", "passing"]


@dataclass(frozen=True)
class CauseSeen:
    """One cause of one report (for schema 1, one divergence)."""

    key: str  # the cause id; for schema 1, the finding id
    summary: str
    blamed: tuple[str, ...]
    findings: frozenset[str]  # finding ids
    suites: frozenset[str]  # where its findings show
    state: State


@dataclass(frozen=True)
class SuiteSeen:
    cases: int
    elapsed_s: float

    @property
    def rate(self) -> float | None:
        """Cases per second, when the suite took measurable time."""
        return self.cases / self.elapsed_s if self.elapsed_s > 0 else None


@dataclass(frozen=True)
class WaiverSeen:
    names: str  # what it names, as a person reads it
    reason: str
    expires: dt.date
    expired: bool
    covers: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    source: str
    schema_version: str
    started_at: str
    profile: str
    exit_code: int
    suites: Mapping[str, SuiteSeen]
    causes: tuple[CauseSeen, ...]
    waivers: tuple[WaiverSeen, ...] | None  # None: the report has no expiry data

    @property
    def has_causes(self) -> bool:
        return self.schema_version != "1"

    @property
    def cases(self) -> int:
        return sum(suite.cases for suite in self.suites.values())

    @property
    def day(self) -> dt.date | None:
        try:
            return dt.datetime.fromisoformat(self.started_at).date()
        except ValueError:
            return None

    def missing(self) -> list[str]:
        """What this report does not say, for the reader of the trend."""
        out = []
        if not self.has_causes:
            out.append("no causes (schema 1): its divergences are followed one by one")
        if self.waivers is None:
            out.append("no waiver expiry data")
        if self.day is None:
            out.append(f"started_at {self.started_at!r} is not a date")
        return out


# --------------------------------------------------------------------------- files


def report_files(paths: Iterable[Path]) -> list[Path]:
    """The report files ``paths`` name, in the order given: a file as it is;
    a report folder (one holding ``report.json``) as that file; any other
    folder as every ``report.json`` below it, oldest run first."""
    out: list[Path] = []
    for path in paths:
        if path.is_file():
            out.append(path)
        elif (path / FILENAME).is_file():
            out.append(path / FILENAME)
        elif path.is_dir():
            found = sorted(path.rglob(FILENAME))
            if not found:
                raise ConfigError(str(path), None, f"no {FILENAME} in this folder or below it")
            out += sorted(found, key=_started_at)
        else:
            raise ConfigError(str(path), None, "no such file or folder")
    return out


def _started_at(path: Path) -> tuple[dt.datetime, str]:
    # Only for ordering (an unreadable start sorts first); a bad file is
    # reported when it is read.
    earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("started_at")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return earliest, str(path)
    moment = _moment(value) if isinstance(value, str) else None
    return (moment or earliest), str(path)


def load_runs(paths: Iterable[Path]) -> list[Run]:
    return [load_run(path) for path in report_files(paths)]


def out_of_order(runs: Sequence[Run]) -> list[str]:
    """A line for each run that started before the one given before it (the
    runs are taken in the order given, which the caller says is time order)."""
    out = []
    for index in range(1, len(runs)):
        before, after = _instant(runs[index - 1]), _instant(runs[index])
        if before is not None and after is not None and after < before:
            out.append(
                f"run #{index + 1} started before run #{index} "
                "(reports are taken in the order given)"
            )
    return out


def _instant(run: Run) -> dt.datetime | None:
    return _moment(run.started_at)


def _moment(text: str) -> dt.datetime | None:
    """An RFC 3339 instant (one without an offset is UTC), or None."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def load_run(path: Path) -> Run:
    source = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, f"cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(source, None, f"not JSON: {exc}") from exc
    return parse_run(document, source)


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class _Fields:
    """Typed access to one report's fields; a wrong or missing one names its key."""

    source: str

    def _get(self, holder: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in holder:
            raise ConfigError(self.source, f"{where}{key}", "missing")
        return holder[key]

    def _wrong(self, where: str, expected: str) -> ConfigError:
        return ConfigError(self.source, where, f"expected {expected}")

    def text(self, holder: Mapping[str, Any], key: str, where: str = "") -> str:
        value = self._get(holder, key, where)
        if not isinstance(value, str):
            raise self._wrong(f"{where}{key}", "a string")
        return value

    def optional_text(self, holder: Mapping[str, Any], key: str, where: str = "") -> str | None:
        value = holder.get(key)
        if value is not None and not isinstance(value, str):
            raise self._wrong(f"{where}{key}", "a string or null")
        return value

    def integer(self, holder: Mapping[str, Any], key: str, where: str = "") -> int:
        value = self._get(holder, key, where)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self._wrong(f"{where}{key}", "a whole number, 0 or more")
        return value

    def number(self, holder: Mapping[str, Any], key: str, where: str = "") -> float:
        value = self._get(holder, key, where)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise self._wrong(f"{where}{key}", "a number, 0 or more")
        return float(value)

    def table(self, holder: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
        value = self._get(holder, key, where)
        if not isinstance(value, dict):
            raise self._wrong(f"{where}{key}", "an object")
        return value

    def items(self, holder: Mapping[str, Any], key: str, where: str = "") -> list[dict[str, Any]]:
        value = self._get(holder, key, where)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self._wrong(f"{where}{key}", "a list of objects")
        return value

    def names(self, holder: Mapping[str, Any], key: str, where: str = "") -> tuple[str, ...]:
        value = self._get(holder, key, where)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._wrong(f"{where}{key}", "a list of strings")
        return tuple(value)


def parse_run(document: Any, source: str) -> Run:
    """One report document as the trend reads it (any schema version from 1)."""
    if not isinstance(document, dict) or "schema_version" not in document:
        raise ConfigError(source, None, "not a parity report.json (no schema_version)")
    version = document["schema_version"]
    if not isinstance(version, str) or not version.isdigit() or int(version) < 1:
        raise ConfigError(source, "schema_version", f"unknown version {version!r}")
    read = _Fields(source)
    suites = {
        name: SuiteSeen(
            cases=read.integer(info, "cases", f"suites.{name}."),
            elapsed_s=read.number(info, "elapsed_s", f"suites.{name}."),
        )
        for name, info in _suites(read, document).items()
    }
    divergences = read.items(document, "divergences")
    if version == "1":
        causes = tuple(
            _divergence(read, raw, f"divergences[{i}].") for i, raw in enumerate(divergences)
        )
    else:
        by_id = {
            read.text(raw, "id", f"divergences[{i}]."): raw for i, raw in enumerate(divergences)
        }
        causes = tuple(
            _cause(read, raw, by_id, f"causes[{i}].")
            for i, raw in enumerate(read.items(document, "causes"))
        )
    return Run(
        source=source,
        schema_version=version,
        started_at=read.text(document, "started_at"),
        profile=read.text(document, "profile"),
        exit_code=read.integer(document, "exit_code"),
        suites=suites,
        causes=causes,
        waivers=_waivers(read, document) if "waivers" in document else None,
    )


def _suites(read: _Fields, document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    suites = read.table(document, "suites")
    for name, info in suites.items():
        if not isinstance(info, dict):
            raise ConfigError(read.source, f"suites.{name}", "expected an object")
    return suites


def _fails_gate(cls: str) -> bool:
    try:
        return DivergenceClass(cls).fails_gate
    except ValueError:
        return True  # a class this harness does not know: assume the worst


def _divergence(read: _Fields, raw: dict[str, Any], where: str) -> CauseSeen:
    ident = read.text(raw, "id", where)
    cls = read.text(raw, "class", where)
    waived = read.optional_text(raw, "waived", where) is not None
    state: State = "waived" if waived else "open" if _fails_gate(cls) else "passing"
    return CauseSeen(
        key=ident,
        summary=f"{cls} at {read.text(raw, 'path', where)}: {read.text(raw, 'message', where)}",
        blamed=read.names(raw, "blamed", where),
        findings=frozenset({ident}),
        suites=frozenset({read.text(raw, "suite", where)}),
        state=state,
    )


def _cause(
    read: _Fields, raw: dict[str, Any], divergences: Mapping[str, dict[str, Any]], where: str
) -> CauseSeen:
    findings = read.names(raw, "findings", where)
    held = [divergences[f] for f in findings if f in divergences]
    suites = {str(d.get("suite")) for d in held}
    trigger = raw.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("suite"), str):
        suites.add(trigger["suite"])
    fails = raw.get("fails_gate")
    if not isinstance(fails, bool):
        raise ConfigError(read.source, f"{where}fails_gate", "expected true or false")
    own_waiver = read.optional_text(raw, "waived", where) is not None
    state: State = "open" if fails and not own_waiver else "passing"
    if state == "passing" and (own_waiver or any(d.get("waived") is not None for d in held)):
        state = "waived"
    return CauseSeen(
        key=read.text(raw, "id", where),
        summary=read.text(raw, "summary", where),
        blamed=read.names(raw, "blamed", where),
        findings=frozenset(findings),
        suites=frozenset(suites),
        state=state,
    )


def _waivers(read: _Fields, document: dict[str, Any]) -> tuple[WaiverSeen, ...]:
    out = []
    for index, raw in enumerate(read.items(document, "waivers")):
        where = f"waivers[{index}]."
        expires = read.text(raw, "expires", where)
        try:
            day = dt.date.fromisoformat(expires)
        except ValueError as exc:
            raise ConfigError(read.source, f"{where}expires", "expected a date") from exc
        expired = raw.get("expired")
        if not isinstance(expired, bool):
            raise ConfigError(read.source, f"{where}expired", "expected true or false")
        out.append(
            WaiverSeen(
                names=describe_names(read.table(raw, "names", where)),
                reason=read.text(raw, "reason", where),
                expires=day,
                expired=expired,
                covers=read.names(raw, "covers", where),
            )
        )
    return tuple(out)
