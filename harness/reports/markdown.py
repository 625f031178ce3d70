"""``report.md``: a summary that fits a CI step summary (GitHub's is 1 MiB).

Causes come first, grouped by the runtime they blame: the ones that fail the
gate in full (summary, trigger, a table of their findings), the known, waived
and non-gating ones folded away; then the causes the baseline had that this
run no longer shows; then the suites and, folded, each divergence.

Model-produced text only ever appears inside code: inline spans and fenced
blocks whose fence is longer than any backtick run in the content, so no
model string can close the fence and inject Markdown or HTML (the only raw
HTML is our own ``<details>``). Invisible and bidi characters are shown as
escapes; long strings are cut.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from harness import volatile
from harness.reports import coverage_view, trace_view
from harness.reports.common import (
    by_runtime,
    cause_findings,
    cause_state,
    compact,
    fails,
    one_line,
    ordered_targets,
    orphans,
    trigger_text,
    truncate,
    write_text,
)
from harness.suites.registry import TRACES

FILENAME: Final = "report.md"
MAX_ITEMS: Final = 40  # findings listed in full; the rest are counted
MAX_CAUSES: Final = 40  # causes listed in full; the rest are counted
VALUE_LIMIT: Final = 300
TRIGGER_LIMIT: Final = 600
TRIGGER_LINES: Final = 12
_BACKTICKS: Final = re.compile(r"`+")
_COUNTED: Final = {
    "new": "new",
    "failing": "failing",
    "flaky": "flaky",
    "pre_existing": "pre-existing",
    "known": "known",
    "waived": "waived",
    "passing": "not gating",
}
_BADGES: Final = {
    "new": "🆕 **NEW**",
    "failing": "❌ fails the gate",
    "flaky": "flaky (passes unless --fail-on-flaky)",
    "pre_existing": "pre-existing (the base runtimes show it)",
    "known": "known",
    "waived": "waived",
    "passing": "does not fail the gate",
}


def _longest_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as an inline code span that nothing inside can end early."""
    body = one_line(text)
    if in_table:  # GFM splits table cells on | even inside code spans
        body = body.replace("|", "\\|")
    fence = "`" * (_longest_run(body) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def fenced(lines: list[str], info: str = "text") -> str:
    body = "\n".join(lines)
    fence = "`" * max(3, _longest_run(body) + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _headline(report: dict[str, Any]) -> str:
    passed = report["exit_code"] == 0
    mark = "✅ passed" if passed else f"❌ failed (exit code {report['exit_code']})"
    return f"## Parity report: {mark}"


# --------------------------------------------------------------------------- causes


def _trigger_block(trigger: dict[str, Any]) -> str:
    """The minimal case, lines kept (a trigger is often multi-line text), cut short."""
    lines = truncate(trigger_text(trigger), TRIGGER_LIMIT).split("\n")
    if len(lines) > TRIGGER_LINES:
        lines = [*lines[:TRIGGER_LINES], f"… ({len(lines) - TRIGGER_LINES} more lines)"]
    # one_line per line: tabs and the other escapes, no line can be a fence
    return fenced([one_line(line) for line in lines])


def _findings_table(cause: dict[str, Any], report: dict[str, Any]) -> list[str]:
    rows = ["| suite | class | path | seen | finding |", "|---|---|---|---:|---|"]
    for item in cause_findings(cause, report):
        waived = " (waived)" if item["waived"] is not None else ""
        rows.append(
            f"| {code(item['suite'], in_table=True)} | {code(item['class'], in_table=True)} "
            f"| {code(item['path'], in_table=True)} | {item['occurrences']} "
            f"| {code(item['id'], in_table=True)}{waived} |"
        )
    return rows


def _cause(cause: dict[str, Any], report: dict[str, Any]) -> list[str]:
    state = cause_state(cause, report)
    facts = [_BADGES[state], f"seen {cause['occurrences']}×"]
    if state == "waived":
        facts.append(f"reason: {code(truncate(cause['waived'], VALUE_LIMIT))}")
    flaky = cause.get("flaky")
    if flaky is not None:
        facts.append(f"replayed: showed {flaky['shown']}/{flaky['replays']}")
    if cause.get("new_findings") and state in ("new", "flaky"):
        facts.append("new: " + ", ".join(code(f) for f in cause["new_findings"]))
    if cause.get("first_seen"):
        facts.append(f"first seen {code(cause['first_seen'])}")
    suite = code(cause["trigger"]["suite"])
    return [
        f"#### {code(cause['id'])} {code(truncate(cause['summary'], VALUE_LIMIT))}",
        "",
        " · ".join(facts) + f" · trigger ({suite}):",
        "",
        _trigger_block(cause["trigger"]),
        "",
        *_findings_table(cause, report),
        "",
    ]


def _runtime(label: str, causes: list[dict[str, Any]], report: dict[str, Any]) -> list[str]:
    failing = [c for c in causes if fails(c, report)]
    rest = [c for c in causes if not fails(c, report)]
    states = [_COUNTED[cause_state(c, report)] for c in causes]
    counts = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
    out = [f"### {code(label)}: {len(causes)} cause(s) ({counts})", ""]
    for cause in failing:
        out += _cause(cause, report)
    if rest:
        out += [f"<details><summary>{len(rest)} that do not fail the gate</summary>", ""]
        for cause in rest:
            out += _cause(cause, report)
        out += ["</details>", ""]
    return out


def _causes(report: dict[str, Any]) -> list[str]:
    causes = report.get("causes", [])
    if not causes:
        return []
    failing = sum(fails(c, report) for c in causes)
    shown = causes[:MAX_CAUSES]
    out = [f"### Causes: {len(causes)}, {failing} failing the gate", ""]
    for label, group in by_runtime(shown):
        out += _runtime(label, group, report)
    if len(causes) > MAX_CAUSES:
        out += [f"… and {len(causes) - MAX_CAUSES} more causes in `report.json`.", ""]
    return out


def _baseline(report: dict[str, Any]) -> list[str]:
    baseline = report.get("baseline")
    if baseline is None:
        return []
    source = baseline["source"]
    head = f"Baseline {code(truncate(source, VALUE_LIMIT))}" if source else "No baseline report"
    verified = (
        f"new causes verified on the base runtimes {code(truncate(baseline['base'], VALUE_LIMIT))}"
        if baseline.get("base")
        else "**new is unverified** (no base runtimes: `--base-ref` or `--base-config`)"
    )
    out = [
        f"{head}: {len(baseline['known'])} known cause(s) seen again, "
        f"{len(baseline.get('pre_existing', []))} pre-existing, {len(baseline['fixed'])} fixed, "
        f"{len(baseline.get('unobserved', []))} unobserved (their suites did not run); "
        f"{verified}.",
        "",
    ]
    if baseline["fixed"]:
        out += [f"### Fixed since the baseline ({len(baseline['fixed'])})", ""]
        out += [
            f"- {code(c['id'])} {code(truncate(c['summary'], VALUE_LIMIT))} "
            f"({len(c['findings'])} finding(s))"
            for c in baseline["fixed"][:MAX_CAUSES]
        ]
        if len(baseline["fixed"]) > MAX_CAUSES:
            out.append(f"- … and {len(baseline['fixed']) - MAX_CAUSES} more")
        out.append("")
    return out


# --------------------------------------------------------------------------- suites, findings


def _suites_table(report: dict[str, Any]) -> list[str]:
    bounded = report.get("max_time_s") is not None
    extra = (" share |", "---:|") if bounded else ("", "")
    rows = [
        f"| suite | cases | divergences | waived | errors | time |{extra[0]}",
        f"|---|---:|---:|---:|---:|---:|{extra[1]}",
    ]
    for name, info in report["suites"].items():
        share = ""
        if bounded:
            given = f"{info['share_s']:.1f} s" if info.get("share_s") is not None else "-"
            share = f" {given}{' (ran out)' if info.get('out_of_time') else ''} |"
        rows.append(
            f"| {code(name, in_table=True)} | {info['cases']} | {info['divergences']} "
            f"| {info['waived']} | {info['errors']} | {info['elapsed_s']:.1f} s |{share}"
        )
    return rows


def _output_line(name: str, width: int, output: dict[str, Any]) -> str:
    status = f"{output['status']} " if "status" in output else ""
    if output["text"] is not None:
        shown = output["text"]
    elif "infra" in output:
        shown = f"<{output['infra']['kind']}: {output['infra']['message']}>"
    else:
        shown = "<no output>"
    return f"{name.ljust(width)}  {status}{one_line(truncate(shown, VALUE_LIMIT))}"


def _item(number: int, item: dict[str, Any]) -> list[str]:
    blamed = ", ".join(item["blamed"]) or "-"
    head = f"### {number}. {code(item['class'])} at {code(item['path'])}, blamed: {code(blamed)}"
    facts = [f"suite {code(item['suite'])}", f"id {code(item['id'])}"]
    if item.get("cause"):
        facts.append(f"cause {code(item['cause'])}")
    facts.append(f"seen {item['occurrences']}×")
    if item["waived"] is not None:
        facts.append(f"waived: {code(truncate(item['waived'], VALUE_LIMIT))}")
    names = ordered_targets(item["outputs"])
    with_stderr = [n for n in names if item["outputs"][n].get("stderr")]
    width = max([len("input"), *(len(n) for n in names), *(len(n) + 7 for n in with_stderr)])
    block = [
        one_line(truncate(item["message"], VALUE_LIMIT)),
        "",
        f"{'input'.ljust(width)}  {one_line(truncate(compact(item['input']), VALUE_LIMIT))}",
        *(_output_line(n, width, item["outputs"][n]) for n in names),
    ]
    for name in with_stderr:
        stderr = one_line(truncate(item["outputs"][name]["stderr"], VALUE_LIMIT))
        block.append(f"{(name + ' stderr').ljust(width)}  {stderr}")
    out = [head, "", " · ".join(facts), "", fenced(block)]
    if item["suite"] == TRACES:  # each side's tree, the reference's first
        for name in names:
            tree = trace_view.to_markdown(item["outputs"][name]["text"])
            out += ["", f"{name}'s tree:", "", fenced((tree or "(none)").split("\n"))]
    if item["replay"] or item["reproducer"]:
        out += ["", f"reproduce: {code(item['replay'] or item['reproducer'])}"]
    return [*out, ""]


def _section(title: str, items: list[dict[str, Any]], *, folded: bool = False) -> list[str]:
    if not items:
        return []
    out = [f"<details><summary>{title} ({len(items)})</summary>", ""] if folded else []
    out += [f"### {title} ({len(items)})", ""]
    for number, item in enumerate(items[:MAX_ITEMS], start=1):
        out += _item(number, item)
    if len(items) > MAX_ITEMS:
        out += [f"… and {len(items) - MAX_ITEMS} more in `report.json`.", ""]
    return [*out, "</details>", ""] if folded else out


def render(report: dict[str, Any]) -> str:
    meta = [
        f"profile {code(report['profile'])}",
        f"seed {code(str(report['seed']))}",
        f"started {code(report['started_at'])}",
        f"{report['elapsed_s']:.1f} s",
        f"harness {code(report['harness_version'])}",
    ]
    if report.get("max_time_s") is not None:
        meta.append(f"max time {report['max_time_s']:g} s")
    lines = [_headline(report), "", " · ".join(meta), ""]
    if report["expired_waivers"]:
        lines += ["**Expired waivers** (these fail the gate):", ""]
        lines += [f"- {code(truncate(text, VALUE_LIMIT))}" for text in report["expired_waivers"]]
        lines.append("")
    lines += _section("Infrastructure errors", report["errors"])
    lines += _causes(report)
    lines += _baseline(report)
    lines += ["### Suites", "", *_suites_table(report), ""]
    lines += _coverage(report)
    held = orphans(report)
    lines += _section("Divergences without a cause", held)
    details = [item for item in report["divergences"] if item not in held]
    lines += _section("Divergences", details, folded=True)
    lines += _declared(report)
    lines += _ignored()
    return "\n".join(lines).rstrip() + "\n"


def _coverage(report: dict[str, Any]) -> list[str]:
    """Rule coverage: a line, the rules never exercised, then every count folded."""
    tallies = coverage_view.suites(report)
    if not tallies:
        return []
    out = [f"### Rule coverage: {coverage_view.headline(report)}", ""]
    for tally in tallies:
        if tally.never:
            never = ", ".join(code(rule) for rule in tally.never)
            out.append(f"- {code(tally.suite)}: never exercised: {never}")
    for line in report.get("uncovered", []):
        out.append(f"- ❌ {code(truncate(line, VALUE_LIMIT))}")
    out += ["", "<details><summary>Cases per rule</summary>", ""]
    out += ["| suite | rule | cases |", "|---|---|---:|"]
    for tally in tallies:
        for rule, cases, _ in tally.rules:
            out.append(
                f"| {code(tally.suite, in_table=True)} | {code(rule, in_table=True)} | {cases} |"
            )
    return [*out, "", "</details>", ""]


def _declared(report: dict[str, Any]) -> list[str]:
    """The deployment's own volatile paths (parity.toml [volatile])."""
    declared = report.get("declared_volatile") or []
    if not declared:
        return []
    out = [f"### Declared volatile ({len(declared)}, parity.toml `[volatile]`)", ""]
    for item in declared:
        use = "**unused**: never varied" if item["unused"] else f"varied {item['varied']}×"
        out.append(
            f"- {code(item['suite'])} {code(item['path'])}: {use}, hid {item['masked']} "
            f"difference(s) from the reference — {code(truncate(item['reason'], VALUE_LIMIT))}"
        )
    return [*out, ""]


def _ignored() -> list[str]:
    """What every comparison left out or compared by shape (CONTRACT §5)."""
    out = ["<details><summary>What the comparison ignores (CONTRACT §5)</summary>", ""]
    for shape, rule in volatile.TABLE.items():
        fields = [*rule.drop, *(f"{p} (shape only)" for p in rule.shape_only)]
        out.append(f"- {shape}: {', '.join(code(f) for f in fields)} — {rule.why}")
    return [*out, "", "</details>", ""]


def write(report: dict[str, Any], report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
