"""``report.html``: one self-contained page (inline CSS, no scripts, no assets).

For each finding the outputs stand side by side (reference | each target),
pretty-printed, with the lines at the differing paths marked, and the list of
differences next to them. Every string that came from a model, a target or a
waivers file goes through ``html.escape`` (quote=True) via ``_e``; the page also
carries a Content-Security-Policy that forbids scripts, as a second line of
defence.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from harness.compare import JSON_SEGMENT, format_path, parse_output
from harness.model import REFERENCE, DivergenceClass
from harness.reports.common import compact, ordered_targets, printable, truncate, write_text

FILENAME: Final = "report.html"
MAX_LINES: Final = 400  # per output column
STRING_LIMIT: Final = 2000
# Differences at these classes are about the whole output, not a line in it.
_UNMARKED: Final = frozenset({DivergenceClass.STATUS, DivergenceClass.ENCODING_ONLY})

_CSS: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
h1 .pass{color:#1a7f37}h1 .fail{color:#cf222e}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right}
section.finding{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
section.waived{opacity:.75}
.cls{font-family:monospace;background:#ffebe9;padding:0 .3rem;border-radius:4px}
.grid{display:grid;gap:.5rem;overflow-x:auto}
.col{min-width:0;border:1px solid #d0d7de;border-radius:4px}
.col h4{margin:0;padding:.25rem .5rem;background:#f6f8fa;border-bottom:1px solid #d0d7de}
pre{margin:0;padding:.4rem .5rem;font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;
word-break:break-all}
.line{display:block}
span.mark-this{background:#ffd8b5;display:block}
span.mark-other{background:#fff8c5;display:block}
tr.mark-this td{background:#ffd8b5}
.muted{color:#656d76}
code{font-family:ui-monospace,monospace;background:#f6f8fa;padding:0 .2rem}
"""


def _e(value: object) -> str:
    """Escape for HTML text and attribute values; invisible characters shown."""
    return html.escape(printable(str(value)), quote=True)


# --------------------------------------------------------------------------- output lines


def _child(path: tuple[str | int, ...], key: str | int) -> tuple[str | int, ...]:
    return (*path, key)


def _lines(
    value: Any, path: tuple[str | int, ...], depth: int, prefix: str, suffix: str
) -> Iterator[tuple[str, str]]:
    """Pretty-printed JSON as (path, line) pairs, so lines can be marked by path."""
    pad = "  " * depth
    here = format_path(path)
    if isinstance(value, dict) and value:
        yield here, f"{pad}{prefix}{{"
        items = list(value.items())
        for index, (key, item) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            label = json.dumps(key, ensure_ascii=False) + ": "
            yield from _lines(item, _child(path, key), depth + 1, label, comma)
        yield here, f"{pad}}}{suffix}"
    elif isinstance(value, list) and value:
        yield here, f"{pad}{prefix}["
        for index, item in enumerate(value):
            comma = "," if index < len(value) - 1 else ""
            yield from _lines(item, _child(path, index), depth + 1, "", comma)
        yield here, f"{pad}]{suffix}"
    else:
        if isinstance(value, str):
            value = truncate(value, STRING_LIMIT)
        yield here, f"{pad}{prefix}{json.dumps(value, ensure_ascii=False)}{suffix}"


def _touches(line_path: str, diff_path: str) -> bool:
    """A line is marked when it is at, inside, or holds (as JSON text) a differing path."""
    if line_path == diff_path:
        return True
    if line_path.startswith(diff_path) and line_path[len(diff_path)] in ".[":
        return True
    return diff_path.startswith(line_path + JSON_SEGMENT)


def _mark_class(line_path: str, own: list[str], other: list[str]) -> str:
    if any(_touches(line_path, p) for p in own):
        return "mark-this"
    if any(_touches(line_path, p) for p in other):
        return "mark-other"
    return "line"


def _body(output: dict[str, Any], own: list[str], other: list[str]) -> str:
    text = output["text"]
    if text is None:
        return '<pre class="muted">(no output)</pre>'
    try:
        parsed = parse_output(text)
    except ValueError:
        return f"<pre>{_e(truncate(text, STRING_LIMIT * 4))}</pre>"
    rows = list(_lines(parsed, (), 0, "", ""))
    shown = [
        f'<span class="{_mark_class(p, own, other)}">{_e(line)}</span>'
        for p, line in rows[:MAX_LINES]
    ]
    if len(rows) > MAX_LINES:
        shown.append(f'<span class="muted">… {len(rows) - MAX_LINES} more lines</span>')
    return f"<pre>{''.join(shown)}</pre>"


def _column(name: str, item: dict[str, Any]) -> str:
    output = item["outputs"][name]
    diffs = [d for d in item["differences"] if DivergenceClass(d["class"]) not in _UNMARKED]
    if name != REFERENCE:
        diffs = [d for d in diffs if d["target"] == name]
    own = [d["path"] for d in diffs if d["this_finding"]]
    other = [d["path"] for d in diffs if not d["this_finding"]]
    status = (
        f' <span class="muted">HTTP {_e(output["status"])}</span>' if "status" in output else ""
    )
    parts = [f'<div class="col"><h4>{_e(name)}{status}</h4>', _body(output, own, other)]
    if "infra" in output:
        infra = output["infra"]
        parts.append(f"<pre>{_e(infra['kind'])}: {_e(infra['message'])}</pre>")
    if output.get("stderr"):
        parts.append(_details("stderr", truncate(output["stderr"], STRING_LIMIT)))
    if output["text"] is not None:
        parts.append(_details("raw output", truncate(output["text"], STRING_LIMIT * 4)))
    return "".join(parts) + "</div>"


def _details(title: str, text: str, *, opened: bool = False) -> str:
    state = " open" if opened else ""
    return f"<details{state}><summary>{_e(title)}</summary><pre>{_e(text)}</pre></details>"


# --------------------------------------------------------------------------- sections


def _differences_table(item: dict[str, Any]) -> str:
    rows = [
        "<tr><th>target</th><th>class</th><th>path</th><th>reference</th><th>target</th>"
        "<th>note</th></tr>"
    ]
    for d in item["differences"]:
        mark = ' class="mark-this"' if d["this_finding"] else ""
        cells = [
            d["target"],
            d["class"],
            d["path"],
            truncate(compact(d["expected"]), 300),
            truncate(compact(d["actual"]), 300),
            d["note"],
        ]
        rows.append(
            f"<tr{mark}>" + "".join(f"<td><code>{_e(c)}</code></td>" for c in cells) + "</tr>"
        )
    return f'<table class="diffs">{"".join(rows)}</table>'


def _finding(item: dict[str, Any]) -> str:
    names = ordered_targets(item["outputs"])
    waived = item["waived"] is not None
    head = (
        f'<h3><span class="cls">{_e(item["class"])}</span> at <code>{_e(item["path"])}</code>'
        f" — blamed: {_e(', '.join(item['blamed']) or '-')}</h3>"
    )
    facts = (
        f'<p class="muted">suite {_e(item["suite"])} · id {_e(item["id"])} · '
        f"seen {_e(item['occurrences'])}×"
        + (f" · <strong>waived</strong>: {_e(item['waived'])}" if waived else "")
        + "</p>"
    )
    replay = item["replay"] or item["reproducer"]
    parts = [
        f'<section class="finding{" waived" if waived else ""}" id="f-{_e(item["id"])}">',
        head,
        facts,
        f"<p><code>{_e(item['message'])}</code></p>",
        _details("input", _pretty_input(item["input"]), opened=True),
        f'<div class="grid" style="grid-template-columns:repeat({len(names)},minmax(0,1fr))">',
        *(_column(name, item) for name in names),
        "</div>",
        _differences_table(item),
        f"<p>reproduce: <code>{_e(replay)}</code></p>" if replay else "",
        "</section>",
    ]
    return "\n".join(parts)


def _pretty_input(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return truncate(text, STRING_LIMIT * 4)


def _suites_table(report: dict[str, Any]) -> str:
    rows = [
        "<tr><th>suite</th><th>targets</th><th>cases</th><th>divergences</th><th>waived</th>"
        "<th>errors</th><th>time</th></tr>"
    ]
    for name, info in report["suites"].items():
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{_e(', '.join(info['targets']))}</td>"
            f'<td class="n">{_e(info["cases"])}</td><td class="n">{_e(info["divergences"])}</td>'
            f'<td class="n">{_e(info["waived"])}</td><td class="n">{_e(info["errors"])}</td>'
            f'<td class="n">{info["elapsed_s"]:.1f} s</td></tr>'
        )
    return f'<table class="suites">{"".join(rows)}</table>'


def _list(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    return f"<h2>{_e(title)} ({len(items)})</h2>\n" + "\n".join(_finding(i) for i in items)


def render(report: dict[str, Any]) -> str:
    passed = report["exit_code"] == 0
    verdict = (
        '<span class="pass">passed</span>'
        if passed
        else f'<span class="fail">failed (exit code {_e(report["exit_code"])})</span>'
    )
    expired = "".join(f"<li><code>{_e(text)}</code></li>" for text in report["expired_waivers"])
    body = [
        f"<h1>Parity report: {verdict}</h1>",
        f'<p class="muted">profile {_e(report["profile"])} · seed {_e(report["seed"])} · '
        f"started {_e(report['started_at'])} · {report['elapsed_s']:.1f} s · "
        f"harness {_e(report['harness_version'])}</p>",
        _suites_table(report),
        f"<h2>Expired waivers</h2><ul>{expired}</ul>" if expired else "",
        _list("Divergences", report["divergences"]),
        _list("Infrastructure errors", report["errors"]),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Parity report</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )


def write(report: dict[str, Any], report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
