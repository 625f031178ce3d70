"""``junit.xml``: one testcase per cause, grouped by the runtime it blames.

A cause that fails the gate (with a baseline: a *new* one) is a ``<failure>``
whose text lists its trigger and its findings; a known, waived or non-gating
cause passes with a note in ``<system-out>``. Infrastructure errors are
``<error>`` testcases in their suite's testsuite, and every parity suite has
a testsuite with one passing testcase that says how many cases it checked, so
CI shows what ran even when nothing diverged. ElementTree escapes markup;
characters XML 1.0 cannot hold at all are written as escapes first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

from harness.model import DivergenceClass
from harness.reports.common import (
    by_runtime,
    cause_findings,
    cause_state,
    compact,
    fails,
    ordered_targets,
    orphans,
    printable,
    state_label,
    trigger_text,
    truncate,
    write_text,
)

FILENAME: Final = "junit.xml"
_DETAIL_LIMIT: Final = 2000
# Everything outside XML 1.0's Char production (and lone surrogates).
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Counts = dict[str, int]


def xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _text(lines: list[str]) -> str:
    return xml_safe(printable("\n".join(lines)))


def _details(item: dict[str, Any]) -> str:
    """One finding in full: its input, every target's output, its differences."""
    lines = [item["message"], "", f"input: {truncate(compact(item['input']), _DETAIL_LIMIT)}"]
    for name in ordered_targets(item["outputs"]):
        output = item["outputs"][name]
        status = f" ({output['status']})" if "status" in output else ""
        text = output["text"] if output["text"] is not None else "<no output>"
        lines.append(f"{name}{status}: {truncate(text, _DETAIL_LIMIT)}")
        if "infra" in output:
            lines.append(f"{name} infra: {output['infra']['kind']}: {output['infra']['message']}")
        if output.get("stderr"):
            lines.append(f"{name} stderr: {truncate(output['stderr'], _DETAIL_LIMIT)}")
    for diff in item["differences"]:
        expected, actual = (truncate(compact(diff[side]), 200) for side in ("expected", "actual"))
        note = f" ({diff['note']})" if diff["note"] else ""
        lines.append(
            f"- {diff['target']}: {diff['class']} at {diff['path']}: {expected} vs {actual}{note}"
        )
    if item["reproducer"]:
        lines.append(f"reproducer: {item['reproducer']}")
    if item["replay"]:
        lines.append(f"replay: {item['replay']}")
    return "\n".join(lines)


def _cause_details(cause: dict[str, Any], report: dict[str, Any]) -> str:
    """A cause's trigger and findings (suite, class, path, seen), then each finding in full."""
    trigger = cause["trigger"]
    items = cause_findings(cause, report)
    lines = [
        cause["summary"],
        "",
        f"trigger ({trigger['suite']}): {truncate(trigger_text(trigger), _DETAIL_LIMIT)}",
        "",
        f"findings ({len(cause['findings'])}, seen {cause['occurrences']}x):",
        *(
            f"- {i['suite']} {i['class']} at {i['path']}, seen {i['occurrences']}x [{i['id']}]"
            + (f" waived: {i['waived']}" if i["waived"] is not None else "")
            for i in items
        ),
    ]
    for item in items:
        lines += ["", f"--- finding {item['id']} ({item['suite']})", _details(item)]
    return _text(lines)


def _cause_case(parent: ET.Element, cause: dict[str, Any], report: dict[str, Any]) -> str:
    """Add one cause's testcase; returns its outcome (failure or passed)."""
    blamed = "+".join(cause["blamed"]) or "unblamed"
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(f"parity.{blamed}"),
        name=_text([f"{cause['id']}: {cause['summary']}"]).replace("\n", "\\n"),
        time="0",
    )
    details = _cause_details(cause, report)
    state = cause_state(cause, report)
    if fails(cause, report):
        items = cause_findings(cause, report)
        kind = items[0]["class"] if items else "divergence"
        message = _text([f"{state_label(state)}: {cause['summary']}"]).replace("\n", "\\n")
        ET.SubElement(case, "failure", message=message, type=kind).text = details
        return "failure"
    if state == "known":
        note = f"known: the baseline ({report['baseline']['source']}) lists this cause"
    elif state == "pre_existing":
        note = f"pre-existing: the base runtimes ({report['baseline']['base']}) show it too"
    elif state == "flaky":
        flaky = cause.get("flaky") or {}
        note = (
            f"flaky: its replays showed it {flaky.get('shown')}/{flaky.get('replays')} times "
            "(fails only with --fail-on-flaky)"
        )
    elif state == "waived":
        note = f"waived: {cause['waived']}"
    else:
        note = "no finding of this cause fails the gate"
    ET.SubElement(case, "system-out").text = _text([note, ""]) + details
    return "passed"


def _finding_case(parent: ET.Element, item: dict[str, Any], *, error: bool) -> str:
    """A finding as its own testcase: an infrastructure error, or a divergence
    no cause holds (a malformed report; shown rather than lost)."""
    name = f"{item['class']} at {item['path']} [{', '.join(item['blamed'])}] #{item['id']}"
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(f"parity.{item['suite']}"),
        name=xml_safe(name),
        time="0",
    )
    message = xml_safe(item["message"])
    details = _text([_details(item)])
    if error:
        ET.SubElement(case, "error", message=message, type=item["class"]).text = details
        return "error"
    if item["waived"] is None and DivergenceClass(item["class"]).fails_gate:
        ET.SubElement(case, "failure", message=message, type=item["class"]).text = details
        return "failure"
    ET.SubElement(case, "system-out").text = details
    return "passed"


def _count(suite: ET.Element, outcomes: list[str]) -> Counts:
    counts = {kind: outcomes.count(kind) for kind in ("failure", "error")}
    counts["tests"] = len(outcomes)
    for key, attr in (("tests", "tests"), ("failure", "failures"), ("error", "errors")):
        suite.set(attr, str(counts[key]))
    suite.set("skipped", "0")
    return counts


def _causes_suite(
    root: ET.Element, label: str, causes: list[dict[str, Any]], report: dict[str, Any]
) -> Counts:
    suite = ET.SubElement(root, "testsuite", name=xml_safe(f"causes: {label}"), time="0")
    return _count(suite, [_cause_case(suite, cause, report) for cause in causes])


def _checked_case(parent: ET.Element, name: str, info: dict[str, Any]) -> str:
    """The suite ran: how many cases it checked (and whether its time share ran out)."""
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(f"parity.{name}"),
        name=xml_safe(f"checked {info['cases']} cases"),
        time=f"{info['elapsed_s']:.3f}",
    )
    if info.get("out_of_time"):
        share = info.get("share_s")
        given = f" of {share:.1f} s" if share is not None else ""
        ET.SubElement(case, "system-out").text = xml_safe(
            f"stopped when its time share{given} ran out (--max-time)"
        )
    return "passed"


def _suite(root: ET.Element, name: str, info: dict[str, Any], report: dict[str, Any]) -> Counts:
    suite = ET.SubElement(root, "testsuite", name=xml_safe(name), time=f"{info['elapsed_s']:.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="targets", value=xml_safe(",".join(info["targets"])))
    ET.SubElement(props, "property", name="cases", value=str(info["cases"]))
    if info.get("share_s") is not None:
        ET.SubElement(props, "property", name="share_s", value=f"{info['share_s']:.3f}")
    outcomes = [_checked_case(suite, name, info)]
    outcomes += [
        _finding_case(suite, item, error=False) for item in orphans(report) if item["suite"] == name
    ]
    outcomes += [
        _finding_case(suite, item, error=True) for item in report["errors"] if item["suite"] == name
    ]
    return _count(suite, outcomes)


def render(report: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name="lakehouse-parity", time=f"{report['elapsed_s']:.3f}")
    totals = {"tests": 0, "failure": 0, "error": 0}
    parts = [
        _causes_suite(root, label, causes, report)
        for label, causes in by_runtime(report.get("causes", []))
    ]
    parts += [_suite(root, name, info, report) for name, info in report["suites"].items()]
    if report["expired_waivers"]:
        parts.append(_expired(root, report["expired_waivers"]))
    for counts in parts:
        for key in totals:
            totals[key] += counts[key]
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failure"]))
    root.set("errors", str(totals["error"]))
    root.set("skipped", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _expired(root: ET.Element, expired: list[str]) -> Counts:
    # An expired waiver fails the gate by itself, so CI must show it as a failure.
    suite = ET.SubElement(root, "testsuite", name="waivers", time="0")
    case = ET.SubElement(suite, "testcase", classname="parity.waivers", name="expired waivers")
    ET.SubElement(
        case, "failure", message=f"{len(expired)} expired waiver(s)", type="expired"
    ).text = _text(expired)
    return _count(suite, ["failure"])


def write(report: dict[str, Any], report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
