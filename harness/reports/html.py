"""``report.html``: one self-contained page (inline CSS and one inline script, no assets).

Causes come first, grouped by the runtime they blame; each expands into its
trigger, a table of its findings, a copy-ready waiver and each finding in
full: the outputs side by side (reference | each target), pretty-printed,
with the lines at the differing paths marked, and the list of differences.
Selects filter the causes by runtime, suite and class.

Every string that came from a model, a target or a waivers file goes through
``html.escape`` (quote=True) via ``_e``. The page carries a
Content-Security-Policy that allows no script but the page's own (``SCRIPT``,
by its hash) and no event-handler attribute, as a second line of defence:
an injected ``<script>`` would not run even if it got past the escaping. The
script reads ``data-`` attributes only; without it every cause is listed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from harness.compare import JSON_SEGMENT, format_path, parse_output
from harness.model import REFERENCE, DivergenceClass
from harness.reports import coverage_view, trace_view
from harness.reports.common import (
    by_runtime,
    cause_findings,
    cause_state,
    compact,
    fails,
    ordered_targets,
    orphans,
    printable,
    runtime_label,
    state_label,
    trigger_text,
    truncate,
    waiver_expiry,
    waiver_toml,
    write_text,
)
from harness.suites.registry import TRACES

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
.tree span{display:block}.tree-d1{padding-left:1.5em}.tree-d2{padding-left:3em;color:#57606a}
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
[hidden]{display:none!important}
form.filters{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #d0d7de}
form.filters label{margin-right:1rem}
details.cause{border:1px solid #d0d7de;border-radius:6px;padding:.4rem .8rem;margin:.5rem 0}
details.cause>summary{cursor:pointer}
.badge{font-size:12px;border-radius:10px;padding:0 .5rem;border:1px solid #d0d7de}
.badge.new,.badge.failing{background:#ffebe9;border-color:#cf222e;color:#cf222e}
.badge.known,.badge.waived,.badge.passing,.badge.pre_existing,.badge.flaky{background:#f6f8fa;color:#656d76}
.waiver{display:flex;gap:.5rem;align-items:flex-start;margin:.5rem 0}
.waiver pre{border:1px solid #d0d7de;border-radius:4px;background:#f6f8fa}
"""

# The page's one script: filters and copy buttons. It reads data- attributes
# and never model text as markup; the CSP allows it by its hash only.
SCRIPT: Final = """
(function () {
  "use strict";
  var selects = document.querySelectorAll("select[data-filter]");
  function want(name) {
    var s = document.querySelector('select[data-filter="' + name + '"]');
    return s ? s.value : "";
  }
  function apply() {
    var runtime = want("runtime"), suite = want("suite"), cls = want("cls"), shown = 0;
    document.querySelectorAll("[data-cause]").forEach(function (cause) {
      var any = false;
      cause.querySelectorAll("[data-finding]").forEach(function (f) {
        var hit = (!suite || f.dataset.suite === suite) && (!cls || f.dataset.cls === cls);
        f.hidden = !hit;
        any = any || hit;
      });
      cause.hidden = !(any && (!runtime || cause.dataset.runtime === runtime));
      if (!cause.hidden) { shown += 1; }
    });
    document.querySelectorAll("[data-group]").forEach(function (group) {
      group.hidden = !group.querySelector("[data-cause]:not([hidden])");
    });
    var counter = document.getElementById("shown");
    if (counter) { counter.textContent = shown + " shown"; }
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var pre = document.getElementById(button.dataset.copy);
      function done() { button.textContent = "Copied"; }
      function select() {
        var range = document.createRange(), selection = window.getSelection();
        range.selectNodeContents(pre);
        selection.removeAllRanges();
        selection.addRange(range);
        try {
          document.execCommand("copy");
          done();
        } catch (e) {
          button.textContent = "Selected: copy it";
        }
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(pre.textContent).then(done, select);
      } else {
        select();
      }
    });
  });
})();
"""
_SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP: Final = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'"


def _e(value: object) -> str:
    """Escape for HTML text and attribute values; invisible characters shown."""
    return html.escape(printable(str(value)), quote=True)


# --------------------------------------------------------------------------- output lines


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
            yield from _lines(item, (*path, key), depth + 1, label, comma)
        yield here, f"{pad}}}{suffix}"
    elif isinstance(value, list) and value:
        yield here, f"{pad}{prefix}["
        for index, item in enumerate(value):
            comma = "," if index < len(value) - 1 else ""
            yield from _lines(item, (*path, index), depth + 1, "", comma)
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
    tree = trace_view.to_html(output["text"]) if item["suite"] == TRACES else None
    parts = [f'<div class="col"><h4>{_e(name)}{status}</h4>', tree or _body(output, own, other)]
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
    if item.get("cause"):
        facts = facts.replace("</p>", f" · cause {_e(item['cause'])}</p>")
    replay = item["replay"] or item["reproducer"]
    parts = [
        f'<section class="finding{" waived" if waived else ""}" id="f-{_e(item["id"])}"'
        f' data-finding data-suite="{_e(item["suite"])}" data-cls="{_e(item["class"])}">',
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
    bounded = report.get("max_time_s") is not None
    rows = [
        "<tr><th>suite</th><th>targets</th><th>cases</th><th>divergences</th><th>waived</th>"
        f"<th>errors</th><th>time</th>{'<th>share</th>' if bounded else ''}</tr>"
    ]
    for name, info in report["suites"].items():
        share = ""
        if bounded:
            given = f"{info['share_s']:.1f} s" if info.get("share_s") is not None else "-"
            share = f'<td class="n">{given}{" (ran out)" if info.get("out_of_time") else ""}</td>'
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{_e(', '.join(info['targets']))}</td>"
            f'<td class="n">{_e(info["cases"])}</td><td class="n">{_e(info["divergences"])}</td>'
            f'<td class="n">{_e(info["waived"])}</td><td class="n">{_e(info["errors"])}</td>'
            f'<td class="n">{info["elapsed_s"]:.1f} s</td>{share}</tr>'
        )
    return f'<table class="suites">{"".join(rows)}</table>'


def _list(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    return f"<h2>{_e(title)} ({len(items)})</h2>\n" + "\n".join(_finding(i) for i in items)


# --------------------------------------------------------------------------- causes


def _select(name: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
    return (
        f'<label>{_e(label)} <select data-filter="{_e(name)}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def _filters(report: dict[str, Any]) -> str:
    causes = report["causes"]
    items = [i for c in causes for i in cause_findings(c, report)]
    return (
        '<form class="filters">'
        + _select("runtime", "runtime", [label for label, _ in by_runtime(causes)])
        + _select("suite", "suite", sorted({i["suite"] for i in items}))
        + _select("cls", "class", sorted({i["class"] for i in items}))
        + f'<span class="muted" id="shown">{len(causes)} shown</span></form>'
    )


def _findings_table(items: list[dict[str, Any]]) -> str:
    rows = ["<tr><th>suite</th><th>class</th><th>path</th><th>seen</th><th>finding</th></tr>"]
    for i in items:
        waived = ' <span class="muted">waived</span>' if i["waived"] is not None else ""
        rows.append(
            f'<tr data-finding data-suite="{_e(i["suite"])}" data-cls="{_e(i["class"])}">'
            f"<td>{_e(i['suite'])}</td><td><code>{_e(i['class'])}</code></td>"
            f'<td><code>{_e(i["path"])}</code></td><td class="n">{_e(i["occurrences"])}</td>'
            f'<td><a href="#f-{_e(i["id"])}"><code>{_e(i["id"])}</code></a>{waived}</td></tr>'
        )
    return f'<table class="findings">{"".join(rows)}</table>'


def _waiver(cause: dict[str, Any], started_at: str) -> str:
    """A ``[[waiver]]`` naming the cause, ready to paste into waivers.toml."""
    ident = _e(f"w-{cause['id']}")
    command = f"parity waive {cause['id']} --reason '...' --expires {waiver_expiry(started_at)}"
    return (
        f'<div class="waiver"><pre id="{ident}">{_e(waiver_toml(cause["id"], started_at))}</pre>'
        f'<button type="button" data-copy="{ident}">Copy</button></div>'
        f'<p class="muted">or: <code>{_e(command)}</code></p>'
    )


def _cause(cause: dict[str, Any], report: dict[str, Any]) -> str:
    state = cause_state(cause, report)
    items = cause_findings(cause, report)
    trigger = cause["trigger"]
    waived = f" · waived: {_e(cause['waived'])}" if cause["waived"] is not None else ""
    flaky = cause.get("flaky")
    if flaky is not None:
        waived += f" · replayed: showed {_e(flaky['shown'])}/{_e(flaky['replays'])}"
    if cause.get("new_findings") and state in ("new", "flaky"):
        waived += " · new: " + ", ".join(f"<code>{_e(f)}</code>" for f in cause["new_findings"])
    summary = (
        f'<summary><span class="badge {state}">{_e(state_label(state))}</span> '
        f"<code>{_e(cause['id'])}</code> {_e(cause['summary'])} "
        f'<span class="muted">· {len(items)} finding(s) · seen {_e(cause["occurrences"])}×'
        f"{waived}</span></summary>"
    )
    parts = [
        f'<details class="cause" id="c-{_e(cause["id"])}" data-cause'
        f' data-runtime="{_e(runtime_label(cause["blamed"]))}">',
        summary,
        f"<h4>trigger ({_e(trigger['suite'])})</h4>",
        f"<pre>{_e(truncate(trigger_text(trigger), STRING_LIMIT * 4))}</pre>",
        _findings_table(items),
        _waiver(cause, report["started_at"]),
        *(_finding(item) for item in items),
        "</details>",
    ]
    return "\n".join(parts)


def _causes(report: dict[str, Any]) -> str:
    causes = report.get("causes", [])
    if not causes:
        return ""
    failing = sum(fails(c, report) for c in causes)
    parts = [f"<h2>Causes ({len(causes)}, {failing} failing the gate)</h2>", _filters(report)]
    for label, group in by_runtime(causes):
        parts.append(f'<section class="runtime" data-group="{_e(label)}">')
        parts.append(f"<h3>{_e(label)}: {len(group)} cause(s)</h3>")
        parts += [_cause(cause, report) for cause in group]
        parts.append("</section>")
    return "\n".join(parts)


def _known_list(causes: list[dict[str, Any]]) -> str:
    return "".join(
        f"<li><code>{_e(c['id'])}</code> {_e(c['summary'])} "
        f'<span class="muted">({len(c["findings"])} finding(s))</span></li>'
        for c in causes
    )


def _baseline(report: dict[str, Any]) -> str:
    baseline = report.get("baseline")
    if baseline is None:
        return ""
    fixed, unobserved = baseline["fixed"], baseline.get("unobserved", [])
    source = f"baseline {_e(baseline['source'])}" if baseline["source"] else "no baseline report"
    verified = (
        f"new causes verified on {_e(baseline['base'])}"
        if baseline.get("base")
        else "<strong>new is unverified</strong> (no base runtimes)"
    )
    parts = [
        f'<p class="muted">{source}: {len(baseline["known"])} known cause(s) seen again, '
        f"{len(baseline.get('pre_existing', []))} pre-existing, {len(fixed)} fixed, "
        f"{len(unobserved)} unobserved; {verified}</p>"
    ]
    if fixed:
        parts.append(
            f"<h2>Fixed since the baseline ({len(fixed)})</h2><ul>{_known_list(fixed)}</ul>"
        )
    if unobserved:
        parts.append(
            f"<h2>Unobserved: their suites did not run ({len(unobserved)})</h2>"
            f"<ul>{_known_list(unobserved)}</ul>"
        )
    return "\n".join(parts)


def _coverage(report: dict[str, Any]) -> str:
    """Rule coverage: a headline, the rules never exercised, every count folded."""
    tallies = coverage_view.suites(report)
    if not tallies:
        return ""
    parts = [f"<h2>Rule coverage: {_e(coverage_view.headline(report))}</h2>"]
    never = "".join(
        f"<li><code>{_e(t.suite)}</code>: never exercised: "
        + ", ".join(f"<code>{_e(rule)}</code>" for rule in t.never)
        + "</li>"
        for t in tallies
        if t.never
    )
    failing = "".join(f"<li>{_e(line)}</li>" for line in report.get("uncovered", []))
    if never or failing:
        parts.append(f"<ul>{never}{failing}</ul>")
    rows = "".join(
        f'<tr><td>{_e(t.suite)}</td><td><code>{_e(rule)}</code></td><td class="n">{cases}</td>'
        f'<td class="muted">{_e(text)}</td></tr>'
        for t in tallies
        for rule, cases, text in t.rules
    )
    parts.append(
        "<details><summary>Cases per rule</summary><table>"
        "<tr><th>suite</th><th>rule</th><th>cases</th><th>contract</th></tr>"
        f"{rows}</table></details>"
    )
    return "\n".join(parts)


def _declared(report: dict[str, Any]) -> str:
    """The deployment's own volatile paths (parity.toml [volatile])."""
    declared = report.get("declared_volatile") or []
    if not declared:
        return ""
    rows = "".join(
        f"<li><code>{_e(d['suite'])}</code> <code>{_e(d['path'])}</code>: {_use(d)}, "
        f"hid {_e(d['masked'])} difference(s) — {_e(d['reason'])}</li>"
        for d in declared
    )
    return f"<h2>Declared volatile ({len(declared)})</h2><ul>{rows}</ul>"


def _use(declared: dict[str, Any]) -> str:
    if declared["unused"]:
        return "<strong>unused</strong> (never varied)"
    return f"varied {_e(declared['varied'])}×"


def render(report: dict[str, Any]) -> str:
    passed = report["exit_code"] == 0
    verdict = (
        '<span class="pass">passed</span>'
        if passed
        else f'<span class="fail">failed (exit code {_e(report["exit_code"])})</span>'
    )
    expired = "".join(f"<li><code>{_e(text)}</code></li>" for text in report["expired_waivers"])
    bound = report.get("max_time_s")
    body = [
        f"<h1>Parity report: {verdict}</h1>",
        f'<p class="muted">profile {_e(report["profile"])} · seed {_e(report["seed"])} · '
        f"started {_e(report['started_at'])} · {report['elapsed_s']:.1f} s · "
        f"harness {_e(report['harness_version'])}"
        + (f" · max time {_e(f'{bound:g}')} s" if bound is not None else "")
        + "</p>",
        f"<h2>Expired waivers</h2><ul>{expired}</ul>" if expired else "",
        _list("Infrastructure errors", report["errors"]),
        _causes(report),
        _baseline(report),
        _coverage(report),
        _declared(report),
        "<h2>Suites</h2>",
        _suites_table(report),
        _list("Divergences without a cause", orphans(report)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Parity report</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def write(report: dict[str, Any], report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
