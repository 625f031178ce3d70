"""An audit's result as a terminal summary and as Markdown (a CI step summary).

Session ids, field names and file paths come from the log: untrusted text. In
Markdown they only appear inside code spans whose backtick fence is longer than
any run in the text, with control and invisible characters escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from harness.audit.result import AuditResult, Example, LineCount, Metric

__all__ = ["markdown", "terminal"]

_LIMIT: Final = 80
_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _clean(text: str) -> str:
    text = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "…"


def _code(text: str) -> str:
    text = _clean(text)
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _where(example: Example, *, code: bool) -> str:
    place = f"{example.file}:{example.line}"
    shown = _code(place) if code else _clean(place)
    if example.session_id is not None:
        session = _code(example.session_id) if code else _clean(example.session_id)
        return f"{shown} ({session})"
    return shown


def _examples(examples: Iterable[Example], *, code: bool) -> str:
    return ", ".join(_where(e, code=code) for e in examples)


def _metric_line(metric: Metric) -> str:
    scope = f" [{_clean(metric.scope)}]" if metric.scope is not None else ""
    if metric.p_value is None or metric.effect is None:
        return f"{metric.name}{scope}: {metric.note}"
    verdict = "FLAGGED" if metric.flagged else "ok"
    return (
        f"{metric.name}{scope}: chi2 {metric.statistic:.1f} (df {metric.df}), "
        f"p {metric.p_value:.2g}, effect {metric.effect:.3f} — {verdict}"
    )


def _verdict(result: AuditResult) -> str:
    if result.clean:
        return "clean"
    parts = [
        f"{result.invalid_rows} invalid row(s)" if result.invalid_rows else "",
        f"{result.torn.count} torn or non-JSON line(s)" if result.torn.count else "",
        f"{result.not_utf8.count} non-UTF-8 line(s)" if result.not_utf8.count else "",
        f"{result.breaches} invariant breach(es)" if result.breaches else "",
        f"{result.parity.flagged} flagged difference(s)" if result.parity.flagged else "",
    ]
    return "NOT CLEAN: " + ", ".join(p for p in parts if p)


def _lines(label: str, counted: LineCount, *, code: bool) -> str:
    if not counted.count:
        return f"{label}: 0"
    return f"{label}: {counted.count} — first at {_examples(counted.examples, code=code)}"


def terminal(result: AuditResult) -> str:
    """A plain-text summary (print it with markup off)."""
    daemons = ", ".join(f"{_clean(d)} {n}" for d, n in result.rows_by_daemon.items())
    lines = [
        f"sessions audit: {len(result.files)} file(s), "
        f"{sum(f.lines for f in result.files)} line(s), {result.rows} row(s) ({daemons or 'none'})",
    ]
    if result.since or result.until:
        lines.append(f"window: {result.since or '…'} to {result.until or '…'} (on timestamp)")
    lines.append(f"conformance to session.iterate.v1: {result.invalid_rows} invalid row(s)")
    lines += [
        f"  {_clean(v.field)} {v.rule} ({v.message}): {v.rows} row(s) — "
        f"first at {_examples(v.examples, code=False)}"
        for v in result.violations
    ]
    lines += [
        _lines("torn or not JSON", result.torn, code=False),
        _lines("not UTF-8", result.not_utf8, code=False),
        _lines("another schema version (not audited)", result.other_version, code=False),
        "invariants:",
    ]
    for check in result.invariants:
        mark = "ok" if not check.breaches else f"{check.breaches} BREACH(ES)"
        first = f" — {_examples(check.examples, code=False)}" if check.examples else ""
        lines.append(f"  {check.name}: {mark}{first}")
    lines += _parity_lines(result)
    lines.append(_verdict(result))
    return "\n".join(lines)


def _parity_lines(result: AuditResult) -> list[str]:
    parity = result.parity
    if not parity.compared:
        return [f"parity between daemons: not compared ({parity.reason})"]
    test = parity.test
    return [
        f"parity between {' and '.join(parity.daemons)} "
        f"({parity.period_from} to {parity.period_to}): flagged when {test.name} "
        f"p < {test.alpha} and {test.effect} >= {test.min_effect}",
        *(f"  {_metric_line(m)}" for m in parity.metrics),
    ]


def markdown(result: AuditResult) -> str:
    """A Markdown summary for ``$GITHUB_STEP_SUMMARY``."""
    icon = "✅" if result.clean else "❌"
    out = [
        f"## {icon} Session log audit: {_verdict(result)}",
        "",
        f"{len(result.files)} file(s), {sum(f.lines for f in result.files)} line(s), "
        f"{result.rows} row(s): "
        + (", ".join(f"{_code(d)} {n}" for d, n in result.rows_by_daemon.items()) or "none"),
        "",
        "| what | count | first |",
        "|---|---:|---|",
        f"| invalid rows (session.iterate.v1) | {result.invalid_rows} | |",
    ]
    for label, counted in (
        ("torn or not JSON", result.torn),
        ("not UTF-8", result.not_utf8),
        ("another schema version", result.other_version),
    ):
        out.append(f"| {label} | {counted.count} | {_examples(counted.examples, code=True)} |")
    if result.violations:
        out += ["", "### Violations", "", "| field | rule | rows | first |", "|---|---|---:|---|"]
        out += [
            f"| {_code(v.field)} | {v.rule}: {v.message} | {v.rows} | "
            f"{_examples(v.examples, code=True)} |"
            for v in result.violations
        ]
    out += ["", "### Invariants", "", "| check | breaches | first |", "|---|---:|---|"]
    out += [
        f"| {'✅' if not c.breaches else '❌'} `{c.name}` | {c.breaches} | "
        f"{_examples(c.examples, code=True)} |"
        for c in result.invariants
    ]
    out += ["", "### Parity between daemons", ""]
    out += _parity_markdown(result)
    return "\n".join(out) + "\n"


def _parity_markdown(result: AuditResult) -> list[str]:
    parity = result.parity
    if not parity.compared:
        return [f"Not compared: {parity.reason}."]
    test = parity.test
    out = [
        f"{' vs '.join(parity.daemons)}, {parity.period_from} to {parity.period_to}. "
        f"Flagged when {test.name} gives p < {test.alpha} **and** the {test.effect} "
        f"is at least {test.min_effect}.",
        "",
        "| metric | chi² (df) | p | effect | |",
        "|---|---:|---:|---:|---|",
    ]
    for m in parity.metrics:
        name = m.name + (f" {_code(m.scope)}" if m.scope is not None else "")
        if m.p_value is None or m.effect is None:
            out.append(f"| {name} | | | | {m.note} |")
        else:
            flag = "❌ flagged" if m.flagged else "✅"
            out.append(
                f"| {name} | {m.statistic:.1f} ({m.df}) | {m.p_value:.2g} | "
                f"{m.effect:.3f} | {flag} |"
            )
    return out
