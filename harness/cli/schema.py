"""``parity schema check``: documents against the contract's JSON Schemas."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from harness import schema_store
from harness.cli.common import EXIT_DIVERGENCE, EXIT_OK, out, reported_errors
from harness.errors import HarnessError


@click.group()
def schema() -> None:
    """Check documents against the contract's JSON Schemas."""


@schema.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--schema", "name", help="schema name (default: inferred per document)")
def schema_check(files: tuple[Path, ...], name: str | None) -> None:
    """Validate JSON or JSON Lines files; errors name the line: 0 valid, 1 invalid, 2 error."""
    with reported_errors():
        if name is not None and name not in schema_store.names():
            raise HarnessError(f"unknown schema {name!r}; known: {', '.join(schema_store.names())}")
        problems = sum(_check_file(path, name) for path in files)
    out.print(f"{problems} problem(s) in {len(files)} file(s)")
    sys.exit(EXIT_DIVERGENCE if problems else EXIT_OK)


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    """(location, parsed document) for a JSON file or each line of a JSON Lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read: {exc}") from exc
    if path.suffix in {".jsonl", ".ndjson"}:
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                yield f"{path}:{number}", _parse(line, f"{path}:{number}")
        return
    yield str(path), _parse(text, str(path))


class _Unparsed:
    def __init__(self, message: str) -> None:
        self.message = message


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return _Unparsed(f"not JSON: {exc}")


def _check_file(path: Path, name: str | None) -> int:
    if path.suffix in _JSON_LINES:
        return _check_lines(path, name)
    problems = 0
    for where, document in _documents(path):
        for message in _document_problems(document, name):
            out.print(f"{where}: {message}", markup=False)
            problems += 1
    return problems


_JSON_LINES = {".jsonl", ".ndjson"}
_SESSION = "session-record"


def _check_lines(path: Path, name: str | None) -> int:
    """JSON Lines through the session audit's scan (DuckDB, bounded memory):
    session rows are judged by its SQL rules, any other line by jsonschema."""
    if name not in (None, _SESSION):
        return _check_lines_slowly(path, name)
    from harness.audit.auditor import verdicts
    from harness.audit.conformance import describe

    if not path.is_file():
        raise HarnessError(f"{path}: cannot read: no such file")
    problems = 0
    for verdict in verdicts(str(path), keep_text=True, problems_only=True):
        where = f"{path}:{verdict.line}"
        if verdict.state == "torn":
            messages = ["not JSON (a torn or malformed line)"]
        elif verdict.state == "not_utf8":
            messages = ["not valid UTF-8"]
        elif verdict.text is not None and name is None:
            messages = _document_problems(json.loads(verdict.text), None)
        elif verdict.state == "other_version":
            messages = [f"$.schema: another schema version {verdict.version!r} [{_SESSION}]"]
        else:
            messages = [f"{f}: {describe(f, r)} ({r}) [{_SESSION}]" for f, r in verdict.violations]
        for message in messages:
            out.print(f"{where}: {message}", markup=False)
            problems += 1
    return problems


def _check_lines_slowly(path: Path, name: str) -> int:
    """Any other schema: line by line in Python, one line in memory at a time."""
    problems = 0
    try:
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    messages = ["not valid UTF-8"]
                else:
                    if not line.strip():
                        continue
                    messages = _document_problems(_parse(line, f"{path}:{number}"), name)
                for message in messages:
                    out.print(f"{path}:{number}: {message}", markup=False)
                    problems += 1
    except OSError as exc:
        raise HarnessError(f"{path}: cannot read: {exc}") from exc
    return problems


def _document_problems(document: Any, name: str | None) -> list[str]:
    if isinstance(document, _Unparsed):
        return [document.message]
    chosen = name or schema_store.infer(document)
    if chosen is None:
        return ["cannot infer a schema for this document (use --schema)"]
    return [f"{e.path}: {e.message} [{chosen}]" for e in schema_store.errors(chosen, document)]
