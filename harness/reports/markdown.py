"""``report.md``: a summary that fits a CI step summary (GitHub's is 1 MiB).

Model-produced text only ever appears inside code: inline spans and fenced
blocks whose fence is longer than any backtick run in the content, so no
model string can close the fence and inject Markdown or HTML. Invisible and
bidi characters are shown as escapes; long strings are cut.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from harness import volatile
from harness.reports.common import compact, one_line, ordered_targets, truncate, write_text

FILENAME: Final = "report.md"
MAX_ITEMS: Final = 40  # findings listed in full; the rest are counted
VALUE_LIMIT: Final = 300
_BACKTICKS: Final = re.compile(r"`+")


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


def _suites_table(report: dict[str, Any]) -> list[str]:
    rows = [
        "| suite | cases | divergences | waived | errors | time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, info in report["suites"].items():
        rows.append(
            f"| {code(name, in_table=True)} | {info['cases']} | {info['divergences']} "
            f"| {info['waived']} | {info['errors']} | {info['elapsed_s']:.1f} s |"
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
    if item["replay"] or item["reproducer"]:
        out += ["", f"reproduce: {code(item['replay'] or item['reproducer'])}"]
    return [*out, ""]


def _section(title: str, items: list[dict[str, Any]]) -> list[str]:
    if not items:
        return []
    out = [f"### {title} ({len(items)})", ""]
    for number, item in enumerate(items[:MAX_ITEMS], start=1):
        out += _item(number, item)
    if len(items) > MAX_ITEMS:
        out += [f"… and {len(items) - MAX_ITEMS} more in `report.json`.", ""]
    return out


def render(report: dict[str, Any]) -> str:
    meta = [
        f"profile {code(report['profile'])}",
        f"seed {code(str(report['seed']))}",
        f"started {code(report['started_at'])}",
        f"{report['elapsed_s']:.1f} s",
        f"harness {code(report['harness_version'])}",
    ]
    lines = [_headline(report), "", " · ".join(meta), "", *_suites_table(report), ""]
    if report["expired_waivers"]:
        lines += ["**Expired waivers** (these fail the gate):", ""]
        lines += [f"- {code(truncate(text, VALUE_LIMIT))}" for text in report["expired_waivers"]]
        lines.append("")
    lines += _section("Divergences", report["divergences"])
    lines += _section("Infrastructure errors", report["errors"])
    lines += _ignored()
    return "\n".join(lines).rstrip() + "\n"


def _ignored() -> list[str]:
    """What every comparison left out or compared by shape (CONTRACT §5)."""
    out = ["<details><summary>What the comparison ignores (CONTRACT §5)</summary>", ""]
    for shape, rule in volatile.TABLE.items():
        fields = [*rule.drop, *(f"{p} (shape only)" for p in rule.shape_only)]
        out.append(f"- {shape}: {', '.join(code(f) for f in fields)} — {rule.why}")
    return [*out, "", "</details>", ""]


def write(report: dict[str, Any], report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
