"""``parity sessions audit``: conformance, invariants and daemon parity of session logs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from harness.cli.common import EXIT_ERROR, out, reported_errors

if TYPE_CHECKING:
    from harness.audit.load import Settings


class _Timestamp(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 / RFC 3339 instant; one without an offset is UTC."""

    name = "timestamp"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 timestamp (e.g. 2026-11-26T15:00:00Z)", param, ctx
            )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.group("sessions")
def sessions() -> None:
    """Audit session logs (session.iterate.v1) with embedded DuckDB."""


F = TypeVar("F", bound=Callable[..., Any])


def duckdb_options(command: F) -> F:
    """--memory-limit and --threads: the embedded DuckDB's resources."""
    command = click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        help="DuckDB threads (default: the machine's cores)",
    )(command)
    return click.option(
        "--memory-limit",
        default="512MB",
        show_default=True,
        help="DuckDB's memory cap; beyond it, it spills to a temporary folder",
    )(command)


def duckdb_settings(memory_limit: str, threads: int | None) -> Settings:
    from harness.audit.load import Settings

    try:
        return Settings(memory_limit=memory_limit, threads=threads or os.cpu_count() or 1)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--memory-limit") from exc


@sessions.command("audit")
@click.argument("logs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="print the whole result as one JSON document")
@click.option("--markdown", "as_markdown", is_flag=True, help="print a Markdown summary (CI)")
@click.option("--since", type=_Timestamp(), help="only rows with timestamp >= this")
@click.option("--until", type=_Timestamp(), help="only rows with timestamp < this")
@duckdb_options
def audit_command(
    logs: tuple[str, ...],
    as_json: bool,
    as_markdown: bool,
    since: datetime | None,
    until: datetime | None,
    memory_limit: str,
    threads: int | None,
) -> None:
    """Audit LOGS (files, globs, .gz; one shared log or one per daemon).

    Every row against schemas/session-record.json, the contract's invariants,
    and the two daemons' distributions compared. Exit 0 clean, 1 violations,
    unreadable lines, breaches or flagged differences, 2 unreadable input."""
    from harness.audit import render
    from harness.audit.auditor import audit

    if as_json and as_markdown:
        raise click.UsageError("--json and --markdown are exclusive")
    settings = duckdb_settings(memory_limit, threads)
    with reported_errors():
        result = audit(logs, since=since, until=until, settings=settings)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    elif as_markdown:
        sys.stdout.write(render.markdown(result))
    else:
        out.print(render.terminal(result), markup=False)
    sys.exit(result.exit_code if result.exit_code != EXIT_ERROR else EXIT_ERROR)
