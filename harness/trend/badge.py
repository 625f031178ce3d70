"""``badge.json``: a shields.io endpoint badge for the last run of a trend
(``https://img.shields.io/endpoint?url=…/badge.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from harness.reports.common import write_text
from harness.trend.follow import Trend

FILENAME: Final = "badge.json"


def badge(trend: Trend) -> dict[str, Any]:
    """The last run's open causes; the colour also says how the run ended:
    red with open causes, orange for an expired waiver (exit 1 with none
    open), grey when the run could not vouch for parity (exit 2)."""
    run, counts = trend.runs[-1], trend.counts[-1]
    noun = "cause" if counts.open == 1 else "causes"
    if run.exit_code >= 2:
        color = "lightgrey"
    elif counts.open:
        color = "red"
    elif run.exit_code == 1:
        color = "orange"
    else:
        color = "brightgreen"
    return {
        "schemaVersion": 1,
        "label": "parity",
        "message": f"{counts.open} open {noun}",
        "color": color,
    }


def write(trend: Trend, folder: Path) -> Path:
    return write_text(folder / FILENAME, json.dumps(badge(trend), indent=2) + "\n")
