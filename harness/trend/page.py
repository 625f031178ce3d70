"""``trend.html``: one self-contained page, working offline.

Three plots (causes open, new, fixed and waived per run; cases per second per
suite; waivers in force, expiring soon and expired) drawn by the vendored
uPlot, a table of runs, a table of causes (when each appeared and when it was
fixed) and the waivers of the last report that has their expiry.

Tables are rendered here, every report string through ``html.escape`` (the
summaries quote model output). The plots' data travels as one JSON data block
(``<script type="application/json">``, never executed; ``<``, ``>``, ``&`` and
the line separators escaped so no text can close it) that the page's script
reads with ``JSON.parse``; labels reach the page through ``textContent`` only.
The Content-Security-Policy allows exactly two scripts, uPlot and the page's
own, by their hashes, and one style block by its hash: no inline event
handler, no ``eval`` (uPlot uses none), nothing fetched.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
from importlib import resources
from pathlib import Path
from typing import Any, Final

from harness.reports.common import printable, truncate, write_text
from harness.trend.follow import Thread, Trend
from harness.trend.runs import Run, WaiverSeen

FILENAME: Final = "trend.html"
EXPIRING_DAYS: Final = 30  # a waiver that ends within this many days of a run is "expiring"
SUMMARY_LIMIT: Final = 300


def _vendored(name: str) -> str:
    return (resources.files("harness.trend") / "vendor" / name).read_text(encoding="utf-8")


UPLOT_JS: Final = _vendored("uPlot.iife.min.js")
UPLOT_CSS: Final = _vendored("uPlot.min.css")
UPLOT_LICENSE: Final = _vendored("uPlot.LICENSE")

_CSS: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
table.data{border-collapse:collapse;margin:.5rem 0}
table.data th,table.data td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;
vertical-align:top}
table.data td.n{text-align:right}
.muted{color:#656d76}
code{font-family:ui-monospace,monospace;background:#f6f8fa;padding:0 .2rem}
figure.plot{margin:1rem 0;max-width:960px}
figure.plot figcaption{font-weight:600;margin-bottom:.25rem}
.state-open{color:#cf222e;font-weight:600}
.state-fixed{color:#1a7f37}
.grid{display:flex;flex-wrap:wrap;gap:1rem}
"""
STYLE: Final = UPLOT_CSS + _CSS

# The page's own script: reads the data block, draws each plot with uPlot,
# and records on each figure how many points it drew (data-points).
SCRIPT: Final = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trend-data").textContent);
  var xs = data.runs.map(function (run) { return run.number; });
  var labels = {};
  data.runs.forEach(function (run) { labels[run.number] = run.label; });
  var colors = ["#cf222e", "#bf8700", "#1a7f37", "#8250df", "#0969da", "#57606a",
                "#bc4c00", "#1b7c83", "#a40e26", "#4d2d00"];
  function draw(figure, plot) {
    var series = [{label: "run", value: function (u, v) { return labels[v] || "--"; }}];
    var columns = [xs];
    var points = 0;
    plot.series.forEach(function (line, i) {
      series.push({label: line.label, stroke: line.color || colors[i % colors.length],
                   width: 2, dash: line.dash, points: {show: true, size: 7},
                   spanGaps: false});
      columns.push(line.values);
      line.values.forEach(function (v) { if (v !== null) { points += 1; } });
    });
    var chart = figure.querySelector(".chart");
    var width = Math.max(320, Math.min(960, chart.clientWidth || 800));
    new uPlot({
      width: width,
      height: 240,
      scales: {x: {time: false}},
      axes: [
        {label: "run", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500],
         values: function (u, splits) {
           return splits.map(function (v) { return labels[v] ? "#" + v : ""; });
         }},
        {label: plot.unit}
      ],
      series: series
    }, columns, chart);
    figure.dataset.points = String(points);
  }
  document.querySelectorAll("figure[data-plot]").forEach(function (figure) {
    var plot = data.plots[figure.dataset.plot];
    if (plot && plot.series.length) {
      draw(figure, plot);
    } else {
      figure.dataset.points = "0";
    }
  });
})();
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP: Final = (
    f"default-src 'none'; script-src {_sha256(UPLOT_JS)} {_sha256(SCRIPT)}; "
    f"style-src {_sha256(STYLE)}; base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    return html.escape(printable(str(value)), quote=True)


# --------------------------------------------------------------------------- data


def run_label(run: Run, number: int) -> str:
    day = run.day
    return f"#{number} {day.isoformat()}" if day is not None else f"#{number}"


def _waiver_counts(run: Run) -> tuple[int, int, int] | None:
    """(in force, expiring within EXPIRING_DAYS of the run, expired), if known."""
    if run.waivers is None:
        return None
    day = run.day or dt.date.today()
    live = [w for w in run.waivers if not w.expired]
    soon = [w for w in live if (w.expires - day).days <= EXPIRING_DAYS]
    return len(live), len(soon), len(run.waivers) - len(live)


def data(trend: Trend) -> dict[str, Any]:
    """Everything the page shows, as plain JSON (the plots' data block)."""
    runs = []
    for index, (run, counts) in enumerate(zip(trend.runs, trend.counts, strict=True)):
        runs.append(
            {
                "number": index + 1,
                "label": run_label(run, index + 1),
                "source": run.source,
                "started_at": run.started_at,
                "profile": run.profile,
                "schema_version": run.schema_version,
                "exit_code": run.exit_code,
                "cases": run.cases,
                "present": counts.present,
                "open": counts.open,
                "new": counts.new,
                "fixed": counts.fixed,
                "waived": counts.waived,
                "missing": run.missing(),
            }
        )
    return {
        "runs": runs,
        "plots": _plots(trend, runs),
        "causes": [_thread_json(thread, len(trend.runs)) for thread in trend.threads],
    }


def _plots(trend: Trend, runs: list[dict[str, Any]]) -> dict[str, Any]:
    colors = {"open": "#cf222e", "new": "#bf8700", "fixed": "#1a7f37", "waived": "#8250df"}
    causes = [
        {"label": name, "color": color, "values": [run[name] for run in runs]}
        for name, color in colors.items()
    ]
    suites = sorted({name for run in trend.runs for name in run.suites})
    rates = [
        {
            "label": suite,
            "values": [_rate(run, suite) for run in trend.runs],
        }
        for suite in suites
    ]
    waivers = [_waiver_counts(run) for run in trend.runs]
    expiring = []
    if any(counts is not None for counts in waivers):
        names = ("in force", f"expiring within {EXPIRING_DAYS} days", "expired")
        expiring = [
            {
                "label": name,
                "values": [None if c is None else c[i] for c in waivers],
                **({"dash": [6, 4]} if i == 1 else {}),
            }
            for i, name in enumerate(names)
        ]
    return {
        "causes": {"unit": "causes", "series": causes},
        "rates": {"unit": "cases per second", "series": rates},
        "waivers": {"unit": "waivers", "series": expiring},
    }


def _rate(run: Run, suite: str) -> float | None:
    info = run.suites.get(suite)
    rate = info.rate if info is not None else None
    return round(rate, 3) if rate is not None else None


def _thread_json(thread: Thread, runs: int) -> dict[str, Any]:
    return {
        "key": thread.key,
        "kind": thread.kind,
        "summary": thread.summary,
        "blamed": list(thread.blamed),
        "episodes": [
            {"appeared": e.appeared + 1, "fixed": None if e.fixed is None else e.fixed + 1}
            for e in thread.episodes(runs)
        ],
        "state": thread.last_state(runs),
    }


def data_block(value: Any) -> str:
    """JSON that no string inside can end early or turn into markup."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


# --------------------------------------------------------------------------- markup


def _runs_table(runs: list[dict[str, Any]]) -> str:
    head = "".join(
        f"<th>{name}</th>"
        for name in (
            "run",
            "started",
            "profile",
            "cases",
            "open",
            "new",
            "fixed",
            "waived",
            "exit",
            "report",
        )
    )
    rows = [f"<tr>{head}</tr>"]
    for run in runs:
        cells = [
            f"<td>#{run['number']}</td><td>{_e(run['started_at'])}</td>",
            f"<td>{_e(run['profile'])}</td>",
            *(
                f'<td class="n">{_e(run[k])}</td>'
                for k in ("cases", "open", "new", "fixed", "waived", "exit_code")
            ),
            f"<td><code>{_e(run['source'])}</code></td>",
        ]
        rows.append(f'<tr data-run="{run["number"]}">{"".join(cells)}</tr>')
    return f'<table class="data runs">{"".join(rows)}</table>'


def _episodes(cause: dict[str, Any], runs: list[dict[str, Any]]) -> tuple[str, str]:
    """(when it first appeared, when it was fixed: each time, if it came back)."""

    def at(number: int) -> str:
        return _e(runs[number - 1]["label"])

    parts = []
    for index, episode in enumerate(cause["episodes"]):
        back = f"back in {at(episode['appeared'])}, " if index else ""
        fixed = episode["fixed"]
        parts.append(back + (f"fixed in {at(fixed)}" if fixed is not None else "not fixed"))
    return at(cause["episodes"][0]["appeared"]), "; ".join(parts)


def _causes_table(causes: list[dict[str, Any]], runs: list[dict[str, Any]]) -> str:
    if not causes:
        return '<p class="muted">No run listed a cause.</p>'
    rows = [
        "<tr><th>cause</th><th>blamed</th><th>summary</th><th>first appeared</th>"
        "<th>fixed</th><th>last run</th></tr>"
    ]
    for cause in causes:
        first, fixed = _episodes(cause, runs)
        state = cause["state"]
        kind = "" if cause["kind"] == "cause" else ' <span class="muted">(finding)</span>'
        rows.append(
            f'<tr data-cause="{_e(cause["key"])}"><td><code>{_e(cause["key"])}</code>{kind}</td>'
            f"<td>{_e(', '.join(cause['blamed']) or '-')}</td>"
            f"<td>{_e(truncate(cause['summary'], SUMMARY_LIMIT))}</td>"
            f"<td>{first}</td><td>{fixed}</td>"
            f'<td class="state-{_e(state)}">{_e(state)}</td></tr>'
        )
    return f'<table class="data causes">{"".join(rows)}</table>'


def _waivers_table(trend: Trend) -> str:
    """Every waiver any report recorded: until when, in which runs, and how
    it stood in the last of them."""
    seen: dict[tuple[str, str, dt.date], tuple[int, int, WaiverSeen, dt.date | None]] = {}
    for index, run in enumerate(trend.runs):
        for waiver in run.waivers or ():
            key = (waiver.names, waiver.reason, waiver.expires)
            first = seen[key][0] if key in seen else index
            seen[key] = (first, index, waiver, run.day)
    if not seen:
        known = any(run.waivers is not None for run in trend.runs)
        return f'<p class="muted">{"No waivers." if known else _NO_EXPIRY}</p>'
    rows = [
        "<tr><th>waiver</th><th>reason</th><th>expires</th><th>in runs</th>"
        "<th>at the last of them</th><th>covered</th></tr>"
    ]
    for first, last, waiver, day in sorted(seen.values(), key=lambda item: item[2].expires):
        if waiver.expired:
            standing = "expired"
        elif day is not None:
            standing = f"{(waiver.expires - day).days} day(s) left"
        else:
            standing = "in force"
        span = f"#{first + 1}" if first == last else f"#{first + 1}–#{last + 1}"
        rows.append(
            f"<tr><td><code>{_e(waiver.names)}</code></td><td>{_e(waiver.reason)}</td>"
            f"<td>{_e(waiver.expires.isoformat())}</td><td>{span}</td><td>{_e(standing)}</td>"
            f"<td>{_e(', '.join(waiver.covers) or '-')}</td></tr>"
        )
    return f'<table class="data waivers">{"".join(rows)}</table>'


_NO_EXPIRY: Final = "No report here records its waivers' expiry."


def _figure(name: str, caption: str) -> str:
    return (
        f'<figure class="plot" data-plot="{name}" id="plot-{name}">'
        f'<figcaption>{_e(caption)}</figcaption><div class="chart"></div></figure>'
    )


def _notes(runs: list[dict[str, Any]]) -> str:
    items = [
        f"<li>#{run['number']} <code>{_e(run['source'])}</code>: {_e(note)}</li>"
        for run in runs
        for note in run["missing"]
    ]
    return f"<h2>What some reports lack</h2><ul>{''.join(items)}</ul>" if items else ""


def render(trend: Trend) -> str:
    content = data(trend)
    runs = content["runs"]
    last = runs[-1]
    body = [
        f"<h1>Parity trend: {len(runs)} run(s)</h1>",
        f"<p>Last run (#{last['number']}, {_e(last['started_at'])}): "
        f'<strong id="open-causes">{last["open"]}</strong> open cause(s), '
        f"{last['waived']} waived, exit code {_e(last['exit_code'])}.</p>",
        '<div class="grid">',
        _figure("causes", "Causes per run: open, new, fixed, waived"),
        _figure("rates", "Cases per second, per suite"),
        _figure("waivers", f"Waivers: in force, expiring within {EXPIRING_DAYS} days, expired"),
        "</div>",
        "<h2>Runs</h2>",
        _runs_table(runs),
        "<h2>Causes</h2>",
        _causes_table(content["causes"], runs),
        "<h2>Waivers</h2>",
        _waivers_table(trend),
        _notes(runs),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Parity trend</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + f'\n<script type="application/json" id="trend-data">{data_block(content)}</script>'
        + f"\n<!-- uPlot 1.6.32, inlined:\n{html.escape(UPLOT_LICENSE)}-->"
        + f"\n<script>{UPLOT_JS}</script>\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def write(trend: Trend, folder: Path) -> Path:
    return write_text(folder / FILENAME, render(trend))
