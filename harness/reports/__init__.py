"""Run reports: ``report.json``, ``junit.xml``, ``report.md`` and ``report.html``.

``json_report.build`` turns a ``RunSummary`` into one document (valid against
``schemas/report.json``); the other formats render that document, so they can
also be regenerated from a stored ``report.json``.
"""

from __future__ import annotations

from pathlib import Path

from harness.model import RunSummary
from harness.reports import html, json_report, junit, markdown

__all__ = ["paths", "write_all"]


def paths(report_dir: Path) -> list[Path]:
    """Every file ``write_all`` writes into ``report_dir``."""
    return [report_dir / module.FILENAME for module in (json_report, junit, markdown, html)]


def write_all(summary: RunSummary, report_dir: Path) -> dict[str, Path]:
    """Write every report into ``report_dir`` (created if needed); returns paths by format."""
    report = json_report.build(summary)
    return {
        "json": json_report.write(report, report_dir),
        "junit": junit.write(report, report_dir),
        "markdown": markdown.write(report, report_dir),
        "html": html.write(report, report_dir),
    }
