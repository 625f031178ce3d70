"""``parity schema check``: documents against the contract's JSON Schemas."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness import schema_store
from harness.cli.common import EXIT_DIVERGENCE, EXIT_OK, out, reported_errors
from harness.cli.sessions import duckdb_options, duckdb_settings
from harness.errors import HarnessError, describe_os_error

if TYPE_CHECKING:
    from harness.audit.load import Settings


@click.group()
def schema() -> None:
    """Check documents against the contract's JSON Schemas."""


@schema.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--schema", "name", help="schema name (default: inferred per document)")
@duckdb_options
def schema_check(
    files: tuple[Path, ...], name: str | None, memory_limit: str, threads: int | None
) -> None:
    """Validate JSON or JSON Lines files; errors name the line: 0 valid, 1 invalid, 2 error.

    JSON Lines files (.jsonl, .ndjson) of session records are scanned by the
    session audit's embedded DuckDB, within --memory-limit. A run that finds
    no document to check (empty files, blank lines only) is an error."""
    with reported_errors():
        if name is not None and name not in schema_store.names():
            raise HarnessError(f"unknown schema {name!r}; known: {', '.join(schema_store.names())}")
        checked = _Checked()
        settings = duckdb_settings(memory_limit, threads)
        for path in files:
            checked.add(_check_file(path, name, settings))
        if checked.documents == 0:
            shown = ", ".join(str(path) for path in files)
            raise HarnessError(
                f"nothing to check: no document in {shown} (empty or blank lines only)"
            )
    out.print(f"{checked.problems} problem(s) in {len(files)} file(s)")
    sys.exit(EXIT_DIVERGENCE if checked.problems else EXIT_OK)


@dataclass
class _Checked:
    """How many documents (JSON files, non-blank lines) were checked, and the problems found."""

    documents: int = 0
    problems: int = 0

    def add(self, other: _Checked) -> None:
        self.documents += other.documents
        self.problems += other.problems


def _read(path: Path) -> Any:
    """A JSON file's document (read whole: a pipe will do)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read: {describe_os_error(exc, path)}") from exc
    return _parse(text)


class _Unparsed:
    def __init__(self, message: str) -> None:
        self.message = message


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return _Unparsed(f"not JSON: {exc}")
    except RecursionError:
        return _Unparsed("nested too deeply to check")


def _check_file(path: Path, name: str | None, settings: Settings) -> _Checked:
    if path.is_dir():
        raise HarnessError(f"{path}: is a folder (name the files to check)")
    if path.suffix in _JSON_LINES:
        return _check_lines(path, name, settings)
    messages = _document_problems(_read(path), name)
    for message in messages:
        out.print(f"{path}: {message}")
    return _Checked(documents=1, problems=len(messages))


_JSON_LINES = {".jsonl", ".ndjson"}
_SESSION = "session-record"


def _check_lines(path: Path, name: str | None, settings: Settings) -> _Checked:
    """JSON Lines through the session audit's scan (DuckDB, bounded memory):
    session rows are judged by its SQL rules, any other line by jsonschema."""
    if name not in (None, _SESSION):
        return _check_lines_slowly(path, name)
    from harness.audit.auditor import verdicts
    from harness.audit.conformance import describe

    checked = _Checked()

    def counted(records: int) -> None:
        checked.documents = records

    for verdict in verdicts(
        str(path), settings=settings, keep_text=True, problems_only=True, on_count=counted
    ):
        where = f"{path}:{verdict.line}"
        if verdict.state == "torn":
            messages = ["not JSON (a torn or malformed line)"]
        elif verdict.state == "not_utf8":
            messages = ["not valid UTF-8"]
        elif verdict.text is not None and name is None:
            messages = _document_problems(_parse(verdict.text), None)
        elif verdict.state == "other_version":
            messages = [f"$.schema: another schema version {verdict.version!r} [{_SESSION}]"]
        else:
            messages = [f"{f}: {describe(f, r)} ({r}) [{_SESSION}]" for f, r in verdict.violations]
        for message in messages:
            out.print(f"{where}: {message}")
            checked.problems += 1
    return checked


def _check_lines_slowly(path: Path, name: str) -> _Checked:
    """Any other schema: line by line in Python, one line in memory at a time."""
    checked = _Checked()
    try:
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, start=1):
                try:
                    # A byte order mark may open the file, as DuckDB's scan allows.
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    messages = ["not valid UTF-8"]
                else:
                    if not line.strip():
                        continue
                    messages = _document_problems(_parse(line), name)
                checked.documents += 1
                for message in messages:
                    out.print(f"{path}:{number}: {message}")
                    checked.problems += 1
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read: {describe_os_error(exc, path)}") from exc
    return checked


def _document_problems(document: Any, name: str | None) -> list[str]:
    if isinstance(document, _Unparsed):
        return [document.message]
    try:
        chosen = name or schema_store.infer(document)
        if chosen is None:
            return ["cannot infer a schema for this document (use --schema)"]
        found = schema_store.errors(chosen, document)
    except RecursionError:
        return ["nested too deeply to check"]
    return [f"{e.path}: {e.message} [{chosen}]" for e in found]
