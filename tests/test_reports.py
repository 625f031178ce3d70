"""harness.reports: report.json against its schema, JUnit, Markdown and HTML escaping."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from harness import schema_store
from harness.compare import Projection, blame, compare, parse_output
from harness.model import (
    REFERENCE,
    CaseResult,
    Cause,
    DivergenceClass,
    Failure,
    Finding,
    InfraError,
    Observation,
    RunSummary,
    SuiteSummary,
    Trigger,
)
from harness.reports import html as html_report
from harness.reports import json_report, junit, markdown, write_all

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FENCE = "```\n# injected heading\n````"
PAYLOADS = (SCRIPT, IMG)


def case(suite: str, raw: str, outputs: dict[str, str], stderr: str = "") -> CaseResult:
    observations = {
        name: Observation(target=name, text=text, status=200, stderr=stderr)
        for name, text in outputs.items()
    }
    reference = outputs[REFERENCE]
    differences = {
        name: compare(
            parse_output(reference),
            parse_output(text),
            expected_text=reference,
            actual_text=text,
            projection=Projection(),
        )
        for name, text in outputs.items()
        if name != REFERENCE
    }
    return CaseResult(
        suite=suite,
        input={"raw": raw},
        observations=observations,
        differences=differences,
        failures=blame(suite, differences),
    )


def findings_of(example: CaseResult, **extra: Any) -> list[Finding]:
    return [Finding(failure=f, example=example, **extra) for f in example.failures]


def make_cause(ident: str, findings: list[Finding], *, summary: str | None = None) -> Cause:
    """A cause over ``findings`` as the engine makes one (the grouping is
    ``harness.causes``' business; reports only render what it decided)."""
    lead = findings[0]
    for finding in findings:
        finding.cause = ident
    return Cause(
        id=ident,
        blamed=lead.failure.blamed,
        summary=summary or lead.failure.message,
        trigger=Trigger(lead.failure.suite, lead.example.input),
        findings=findings,
    )


def hostile_summary() -> RunSummary:
    """A run whose every model-controlled string is an injection attempt."""
    evil_key = f"k{IMG}"
    reference = json.dumps({"matched": True, "value": {"a": 1.0, evil_key: SCRIPT}})
    go = json.dumps({"matched": True, "value": {"a": 1, evil_key: SCRIPT + FENCE}})
    rust = json.dumps({"matched": True, "value": {"a": 1, evil_key: SCRIPT}})
    example = case(
        "extract_json",
        f"```json\n{SCRIPT}{IMG}\u202e\x1b[31m\ud800",
        {REFERENCE: reference, "go": go, "rust": rust},
        stderr=f"panic: {SCRIPT} {IMG}\x00\x1b",
    )
    # Reports render what blame() decided: here a value finding of go's, and
    # the number_type difference both runtimes share, blamed together.
    by_class = {
        cls: {
            name: tuple(d for d in diffs if d.cls is cls)
            for name, diffs in example.differences.items()
        }
        for cls in (DivergenceClass.VALUE, DivergenceClass.NUMBER_TYPE)
    }
    by_class[DivergenceClass.VALUE].pop("rust")
    failures = tuple(f for diffs in by_class.values() for f in blame("extract_json", diffs))
    example = dataclasses.replace(example, failures=failures)
    findings = findings_of(example, occurrences=3, seed=7, reproducer=f"repro/{IMG}.json")
    spacing = case("extract_json", "x", {REFERENCE: '{"a":"<"}', "go": '{"a":"\\u003c"}'})
    encoding = findings_of(spacing)
    waived_case = case("extract_json", "y", {REFERENCE: '{"b":1}', "go": '{"b":2}'})
    waived = findings_of(waived_case)
    waived[0].waived_by = f"known: {SCRIPT}"
    crash = CaseResult(
        suite="iterate",
        input={"prompt": IMG},
        observations={
            REFERENCE: Observation(target=REFERENCE, text='{"ok":true}', status=200),
            "go": Observation(
                target="go",
                text=None,
                infra=InfraError(DivergenceClass.CRASH, f"died: {SCRIPT}", exit_code=2),
                stderr=IMG,
            ),
        },
        differences={},
        failures=(Failure("iterate", DivergenceClass.CRASH, "$", ("go",), f"go crashed {IMG}"),),
    )
    value, number_type = findings
    causes = [
        # go's value finding and its encoding_only one: one cause of two findings
        make_cause("a00000000001", [value, *encoding], summary=f"go: value — {SCRIPT}{FENCE}"),
        make_cause("b00000000002", [number_type]),
        make_cause("c00000000003", waived),
    ]
    causes[2].waived_by = f"known: {SCRIPT}"  # a waiver naming the cause
    return RunSummary(
        harness_version="0.1.0",
        started_at="2025-06-01T12:00:00Z",
        profile="ci",
        seed=7,
        suites=[
            SuiteSummary(
                suite="extract_json",
                targets=("go", "rust"),
                cases=50,
                findings=[*findings, *encoding, *waived],
                elapsed_s=1.5,
            ),
            SuiteSummary(
                suite="iterate",
                targets=("go",),
                cases=5,
                errors=[Finding(failure=crash.failures[0], example=crash)],
                elapsed_s=2.0,
            ),
            SuiteSummary(suite="validate", targets=("go", "rust"), cases=20, elapsed_s=0.5),
        ],
        expired_waivers=[f"waiver[0] iterate value $ [go] expired 2025-01-01: {SCRIPT}"],
        config_path="parity.toml",
        elapsed_s=4.0,
        exit_code=1,
        causes=causes,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_all(hostile_summary(), tmp_path_factory.mktemp("reports") / "nested")


# --------------------------------------------------------------------------- report.json


def test_write_all_writes_every_format(written: dict[str, Path]) -> None:
    assert {k: p.name for k, p in written.items()} == {
        "json": "report.json",
        "junit": "junit.xml",
        "markdown": "report.md",
        "html": "report.html",
    }
    for path in written.values():
        path.read_bytes().decode("utf-8")  # valid UTF-8 despite the lone surrogate


def test_report_json_is_valid_against_its_schema(written: dict[str, Path]) -> None:
    schema_store.check_metaschema()
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    assert schema_store.errors("report", document) == []


def test_report_json_content(written: dict[str, Path]) -> None:
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    assert document["schema_version"] == "3" and document["exit_code"] == 1
    assert document["suites"]["extract_json"] == {
        "cases": 50,
        "divergences": 4,
        "waived": 1,
        "errors": 0,
        "elapsed_s": 1.5,
        "targets": ["go", "rust"],
        "explored": 0,
        "aa_pairs": 0,
        "settled": 0,
        "steered": 0,
        "coverage": None,
        "stop_reason": "completed",
    }
    assert document["suites"]["iterate"]["errors"] == 1
    first = document["divergences"][1]  # blame() orders value before number_type
    assert (first["class"], first["path"], first["blamed"]) == (
        "number_type",
        "$.value.a",
        ["go", "rust"],
    )
    assert first["targets"] == ["go", "rust"] and first["occurrences"] == 3 and first["seed"] == 7
    assert list(first["outputs"]) == [REFERENCE, "go", "rust"]
    assert first["input"]["raw"].startswith("```json\n" + SCRIPT)
    assert first["reproducer"] == f"repro/{IMG}.json"
    assert first["replay"].startswith("parity repro ")
    own = [d for d in first["differences"] if d["this_finding"]]
    assert {(d["target"], d["class"]) for d in own} == {
        ("go", "number_type"),
        ("rust", "number_type"),
    }
    assert document["divergences"][-1]["waived"] == f"known: {SCRIPT}"
    (error,) = document["errors"]
    assert error["class"] == "crash" and error["outputs"]["go"]["infra"]["exit_code"] == 2
    assert document["expired_waivers"][0].startswith("waiver[0]")
    assert [c["id"] for c in document["causes"]] == ["a00000000001", "b00000000002", "c00000000003"]
    assert document["causes"][0]["findings"] == [
        document["divergences"][0]["id"],
        document["divergences"][2]["id"],
    ]
    assert [d["cause"] for d in document["divergences"]] == [
        "a00000000001",
        "b00000000002",
        "a00000000001",
        "c00000000003",
    ]


def test_report_json_rejects_unknown_fields() -> None:
    document = json_report.build(hostile_summary())
    document["surprise"] = 1
    assert schema_store.errors("report", document) != []


def test_the_report_can_be_rendered_from_a_stored_document(written: dict[str, Path]) -> None:
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    assert "number_type" in html_report.render(document)
    assert "number_type" in markdown.render(document)
    ET.fromstring(junit.render(document).encode("utf-8"))


# --------------------------------------------------------------------------- junit.xml


def test_junit_has_one_testcase_per_cause_and_per_suite(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [
        "causes: go",
        "causes: go, rust",
        "extract_json",
        "iterate",
        "validate",
        "waivers",
    ]
    go = suites["causes: go"]
    assert (go.get("tests"), go.get("failures"), go.get("errors")) == ("2", "1", "0")
    failing, waived = go.findall("testcase")
    assert {failing.get("classname"), waived.get("classname")} == {"parity.go"}
    assert (failing.get("name") or "").startswith("a00000000001: go: value — " + SCRIPT)
    failure = failing.find("failure")
    assert failure is not None and failure.get("type") == "value"
    body = failure.text or ""
    # its trigger and each finding with suite, class, path and how often it was seen
    assert 'trigger (extract_json): {"raw":"```json\\n' + SCRIPT in body
    assert "- extract_json encoding_only at $, seen 1x [" in body
    assert '- extract_json value at $.value["k\\' + IMG + '"], seen 3x [' in body
    # a waived cause passes, saying why
    assert waived.find("failure") is None and waived.find("skipped") is None
    assert (waived.findtext("system-out") or "").startswith(f"waived: known: {SCRIPT}")
    (both,) = suites["causes: go, rust"].findall("testcase")
    assert both.get("classname") == "parity.go+rust" and both.find("failure") is not None
    # every suite shows what it checked; errors stay <error> testcases
    (extract,) = suites["extract_json"].findall("testcase")
    assert list(extract) == [] and extract.get("name") == "checked 50 cases"
    checked, crashed = suites["iterate"].findall("testcase")
    assert checked.get("name") == "checked 5 cases"
    error = crashed.find("error")
    assert (
        error is not None and error.get("type") == "crash" and IMG in (error.get("message") or "")
    )
    assert suites["iterate"].get("errors") == "1"
    (passing,) = suites["validate"].findall("testcase")
    assert list(passing) == [] and "20 cases" in (passing.get("name") or "")
    assert suites["waivers"].find("testcase/failure") is not None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "3", "1")


def test_junit_keeps_payloads_as_text_and_drops_illegal_characters(
    written: dict[str, Path],
) -> None:
    raw = written["junit"].read_text(encoding="utf-8")
    assert SCRIPT not in raw and "<img" not in raw
    assert "\x00" not in raw and "\x1b" not in raw
    root = ET.parse(written["junit"]).getroot()
    texts = "".join(root.itertext())
    assert SCRIPT in texts and "panic: " in texts
    assert "\\x1b" in texts and "\\u202e" in texts and "\u202e" not in texts


# --------------------------------------------------------------------------- report.md


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(fence, lines) of each fenced block, by CommonMark's backtick-fence rule."""
    blocks: list[tuple[str, list[str]]] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
            body: list[str] = []
            index += 1
            while not (lines[index].startswith(fence) and not lines[index].strip("`")):
                body.append(lines[index])
                index += 1
            blocks.append((fence, body))
        index += 1
    return blocks


def test_markdown_has_the_suite_table_and_each_divergence(written: dict[str, Path]) -> None:
    text = written["markdown"].read_text(encoding="utf-8")
    assert text.startswith("## Parity report: ❌ failed (exit code 1)")
    assert "| `extract_json` | 50 | 4 | 1 | 0 |" in text
    assert "| `validate` | 20 | 0 | 0 | 0 |" in text
    assert "### 2. `number_type` at `$.value.a`, blamed: `go, rust`" in text
    assert "Infrastructure errors (1)" in text and "Expired waivers" in text


def test_markdown_fences_cannot_be_broken_by_model_text(written: dict[str, Path]) -> None:
    text = written["markdown"].read_text(encoding="utf-8")
    blocks = fenced_blocks(text)
    assert len(blocks) == 8  # 3 triggers, 4 divergences and 1 error
    with_payload = [(f, b) for f, b in blocks if any(line.startswith("input") for line in b)]
    assert len(with_payload) == 5
    fence, body = next((f, b) for f, b in with_payload if any("````" in line for line in b))
    assert len(fence) > 4  # longer than the ```` run inside
    assert [line.split()[0] for line in body if line.startswith(("reference", "go ", "rust"))][
        :3
    ] == ["reference", "go", "rust"]
    assert "\n# injected heading" not in text  # the newline stayed escaped, inside the block
    assert "\u202e" not in text and "\x1b" not in text


def test_markdown_truncates_long_outputs() -> None:
    long = json.dumps({"a": "x" * 5000})
    example = case("s", "r", {REFERENCE: long, "go": long.replace("x", "y", 1)})
    summary = RunSummary("0", "2025-01-01T00:00:00Z", "dev", None)
    summary.suites.append(SuiteSummary("s", ("go",), cases=1, findings=findings_of(example)))
    text = markdown.render(json_report.build(summary))
    assert "more characters)" in text and len(text) < 3000


def test_markdown_inline_code_handles_backticks() -> None:
    assert markdown.code("a`b") == "``a`b``"
    assert markdown.code("`x`") == "`` `x` ``"
    assert markdown.code("a|b", in_table=True) == "`a\\|b`"


# --------------------------------------------------------------------------- report.html


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


class ScriptCollector(TagCollector):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if tag == "script":
            self.scripts.append("")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def test_html_never_contains_a_payload_unescaped(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert payload not in page
        assert html.escape(payload, quote=True) in page
    assert "<img" not in page.lower()
    parser = ScriptCollector()
    parser.feed(page)
    assert "img" not in parser.tags
    assert not {name for name in parser.attributes if name.startswith("on")}
    # the one script is the page's own, and the only one the CSP lets run
    assert parser.scripts == [html_report.SCRIPT] and page.lower().count("<script") == 1
    digest = base64.b64encode(hashlib.sha256(parser.scripts[0].encode()).digest()).decode()
    csp = page.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == [f"'sha256-{digest}'"]
    assert directives["default-src"] == ["'none'"]


def test_html_is_self_contained(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    assert "<style>" in page and "default-src 'none'" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_html_shows_outputs_side_by_side_with_marked_paths(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    document = json.loads(written["json"].read_text(encoding="utf-8"))
    start = page.index(f'id="f-{document["divergences"][1]["id"]}"')
    section = page[start : page.index("</section>", start)]
    columns = section.count('<div class="col">')
    assert columns == 3 and "repeat(3," in section
    assert section.index("<h4>reference") < section.index("<h4>go") < section.index("<h4>rust")
    marked = [line for line in section.split('<span class="mark-this">')[1:]]
    assert any(line.startswith("    &quot;a&quot;: 1") for line in marked)
    assert any(line.startswith("    &quot;a&quot;: 1.0") for line in marked)
    assert 'class="mark-other"' in section  # go's other difference (the evil key's value)
    assert "\u202e" not in page and "\\u202e" in page


def test_html_passing_run() -> None:
    summary = RunSummary("0", "2025-01-01T00:00:00Z", "dev", 1)
    summary.suites.append(SuiteSummary("validate", ("go", "rust"), cases=3))
    page = html_report.render(json_report.build(summary))
    assert '<span class="pass">passed</span>' in page and "Divergences" not in page
