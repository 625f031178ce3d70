"""``parity trend``: many runs' reports read as one history.

Data flows one way: report files → ``runs`` (each report read tolerantly,
schema 1, 2 or later) → ``follow`` (causes followed across runs, counted per
run: open, new, fixed, waived; the definitions are in ``follow.py``) →
``page`` (``trend.html``) and ``badge`` (``badge.json``); the CLI
(``harness/cli/trend.py``) prints the table of runs.

**The plot library: uPlot** (``vendor/``, 1.6.32, MIT), vendored as package
data and inlined into the page, so it works offline and from ``file://``.

- *size*: 51 KB of JavaScript and 2 KB of CSS, against 208 KB for Chart.js
  4.5 (``chart.umd.min.js``) and 832 KB for Vega 6 with Vega-Lite and
  vega-embed (their minified builds); every copy of the page carries it.
- *CSP*: uPlot draws on a canvas, evaluates no strings (no ``eval``, no
  ``new Function``), writes labels with ``textContent`` and styles through
  the CSSOM, so the page keeps a strict policy: scripts and the one style
  block allowed by their hashes only. Vega compiles its expressions with
  ``new Function`` and needs ``'unsafe-eval'`` (or its slower interpreter
  build); Chart.js would also do, at four times the size.
- *maintenance*: one maintainer (Leon Sorokin) but steady releases since
  2019, no dependencies, used by Grafana among others; a time-series plot
  (numbers over runs) is exactly what it is made for, where Chart.js's
  breadth (pies, radars, animations) is weight this page does not use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.trend import badge, page
from harness.trend.follow import RunCounts, Thread, Trend, follow
from harness.trend.runs import Run, load_runs

__all__ = ["Run", "RunCounts", "Thread", "Trend", "build", "follow", "load_runs", "write"]


def build(paths: Sequence[Path]) -> Trend:
    """The trend of the reports ``paths`` name (files or folders, oldest first)."""
    return follow(load_runs(paths))


def write(trend: Trend, folder: Path) -> dict[str, Path]:
    """``trend.html`` and ``badge.json`` in ``folder`` (created if needed)."""
    return {"html": page.write(trend, folder), "badge": badge.write(trend, folder)}
