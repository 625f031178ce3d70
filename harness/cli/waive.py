"""``parity waive ID``: append a well-formed waiver for a cause or a finding."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import click

from harness import atomic, defaults
from harness.baseline import read_report
from harness.cli.common import is_text, out, reported_errors
from harness.errors import ConfigError, HarnessError, describe_os_error
from harness.waivers import parse_waivers, waiver_table

_ID = re.compile(r"[0-9a-f]{12}")


@click.command()
@click.argument("ident", metavar="ID")
@click.option("--reason", required=True, help="why the divergence is accepted")
@click.option("--expires", required=True, help="last day the waiver holds (YYYY-MM-DD)")
@click.option(
    "--waivers",
    "waivers_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("waivers.toml"),
    show_default=True,
    help="the waivers file (created if missing)",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(defaults.REPORT_DIR) / "report.json",
    show_default=True,
    help="the report whose cause or finding ID names",
)
def waive(ident: str, reason: str, expires: str, waivers_path: Path, report_path: Path) -> None:
    """Waive a cause or a finding of a report, by its id (report.json)."""
    with reported_errors():
        entry = waiver_text(ident, reason, _date(expires), _report(report_path))
        append(waivers_path, entry)
    out.print(f"waived {ident} until {expires} in {waivers_path}", markup=False)


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise HarnessError(f"--expires {text!r}: not a date (YYYY-MM-DD)") from exc
    if day < dt.date.today():
        raise HarnessError(f"--expires {text}: already past (a waiver that expired fails the gate)")
    return day


def _report(path: Path) -> dict[str, Any]:
    document = read_report(path, missing="no such report (run `parity run` or pass --report)")
    document["_path"] = str(path)
    return document


def waiver_text(ident: str, reason: str, expires: dt.date, report: dict[str, Any]) -> str:
    """The ``[[waiver]]`` table for ``ident``, a cause id or a finding id of ``report``."""
    if not _ID.fullmatch(ident):
        raise HarnessError(f"{ident!r}: not a cause or finding id (12 hexadecimal digits)")
    if not reason.strip():
        raise HarnessError("--reason must say why the divergence is accepted")
    if not is_text(reason):
        raise HarnessError("--reason: not valid text (bytes that are not UTF-8)")
    end = {"reason": reason.strip(), "expires": expires.isoformat()}
    cause = next((c for c in report.get("causes", []) if c.get("id") == ident), None)
    if cause is not None:
        return waiver_table({"cause": ident}, **end, comment=str(cause.get("summary", "")))
    finding = next((d for d in report["divergences"] if d.get("id") == ident), None)
    if finding is None:
        causes, findings = len(report.get("causes", [])), len(report["divergences"])
        raise HarnessError(
            f"{ident}: no cause or divergence with this id in {report['_path']} "
            f"({causes} causes, {findings} divergences)"
        )
    names = {key: finding[key] for key in ("suite", "class", "path")}
    names["targets"] = list(finding["blamed"])
    return waiver_table(names, **end, comment=str(finding.get("message", "")))


def append(path: Path, entry: str) -> None:
    """Append ``entry``; the file must still parse as waivers afterwards
    (a duplicate is refused). On any error the file is left as it was: the
    new text replaces it whole (``atomic``) or not at all."""
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read: {describe_os_error(exc, path)}") from exc
    separator = "\n" if before.endswith("\n") else "\n\n" if before else ""
    after = before + separator + entry
    try:
        parse_waivers(after, str(path))
    except ConfigError as exc:
        raise HarnessError(f"not written: {exc}") from exc
    try:
        atomic.write_text(path, after)
    except OSError as exc:
        raise HarnessError(f"{path}: cannot write: {describe_os_error(exc, path)}") from exc
