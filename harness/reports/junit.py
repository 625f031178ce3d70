"""``junit.xml``: one testsuite per parity suite, one testcase per finding.

Divergences that fail the gate are ``<failure>``s, infrastructure errors are
``<error>``s, waived findings are ``<skipped>`` (with the reason) and findings
that never fail the gate (``encoding_only``) pass with their details in
``<system-out>``. A suite without findings gets one passing testcase, so CI
shows that it ran. ElementTree escapes markup; characters XML 1.0 cannot hold
at all are written as escapes first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

from harness.model import DivergenceClass
from harness.reports.common import compact, ordered_targets, printable, truncate, write_text

FILENAME: Final = "junit.xml"
_DETAIL_LIMIT: Final = 2000
# Everything outside XML 1.0's Char production (and lone surrogates).
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _details(item: dict[str, Any]) -> str:
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
    return xml_safe(printable("\n".join(lines)))


def _testcase(parent: ET.Element, item: dict[str, Any], *, error: bool) -> str:
    """Add one finding's testcase; returns its outcome (failure/error/skipped/passed)."""
    name = f"{item['class']} at {item['path']} [{', '.join(item['blamed'])}] #{item['id']}"
    case = ET.SubElement(
        parent,
        "testcase",
        classname=xml_safe(f"parity.{item['suite']}"),
        name=xml_safe(name),
        time="0",
    )
    message = xml_safe(item["message"])
    if error:
        ET.SubElement(case, "error", message=message, type=item["class"]).text = _details(item)
        return "error"
    if item["waived"] is not None:
        ET.SubElement(case, "skipped", message=xml_safe(f"waived: {item['waived']}"))
        ET.SubElement(case, "system-out").text = _details(item)
        return "skipped"
    if not DivergenceClass(item["class"]).fails_gate:
        ET.SubElement(case, "system-out").text = _details(item)
        return "passed"
    ET.SubElement(case, "failure", message=message, type=item["class"]).text = _details(item)
    return "failure"


def _suite(
    root: ET.Element, name: str, info: dict[str, Any], report: dict[str, Any]
) -> dict[str, int]:
    suite = ET.SubElement(root, "testsuite", name=xml_safe(name), time=f"{info['elapsed_s']:.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="targets", value=xml_safe(",".join(info["targets"])))
    ET.SubElement(props, "property", name="cases", value=str(info["cases"]))
    outcomes = [
        _testcase(suite, d, error=False) for d in report["divergences"] if d["suite"] == name
    ]
    outcomes += [_testcase(suite, e, error=True) for e in report["errors"] if e["suite"] == name]
    if not outcomes:
        ET.SubElement(
            suite,
            "testcase",
            classname=xml_safe(f"parity.{name}"),
            name=xml_safe(f"parity ({info['cases']} cases)"),
            time=f"{info['elapsed_s']:.3f}",
        )
        outcomes.append("passed")
    counts = {kind: outcomes.count(kind) for kind in ("failure", "error", "skipped")}
    counts["tests"] = len(outcomes)
    for key, attr in (
        ("tests", "tests"),
        ("failure", "failures"),
        ("error", "errors"),
        ("skipped", "skipped"),
    ):
        suite.set(attr, str(counts[key]))
    return counts


def render(report: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name="lakehouse-parity", time=f"{report['elapsed_s']:.3f}")
    totals = {"tests": 0, "failure": 0, "error": 0, "skipped": 0}
    for name, info in report["suites"].items():
        for key, value in _suite(root, name, info, report).items():
            totals[key] += value
    if report["expired_waivers"]:
        _expired(root, report["expired_waivers"])
        totals["tests"] += 1
        totals["failure"] += 1
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failure"]))
    root.set("errors", str(totals["error"]))
    root.set("skipped", str(totals["skipped"]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _expired(root: ET.Element, expired: list[str]) -> None:
    # An expired waiver fails the gate by itself, so CI must show it as a failure.
    suite = ET.SubElement(root, "testsuite", name="waivers", tests="1", failures="1", errors="0")
    case = ET.SubElement(suite, "testcase", classname="parity.waivers", name="expired waivers")
    text = xml_safe("\n".join(expired))
    ET.SubElement(
        case, "failure", message=f"{len(expired)} expired waiver(s)", type="expired"
    ).text = text


def write(report: dict[str, Any], report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
