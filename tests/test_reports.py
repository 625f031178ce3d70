"""harness.reports: report.json against its schema, JUnit, Markdown and HTML escaping."""

from __future__ import annotations

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
    DivergenceClass,
    Failure,
    Finding,
    InfraError,
    Observation,
    RunSummary,
    SuiteSummary,
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
    assert document["schema_version"] == "1" and document["exit_code"] == 1
    assert document["suites"]["extract_json"] == {
        "cases": 50,
        "divergences": 4,
        "waived": 1,
        "errors": 0,
        "elapsed_s": 1.5,
        "targets": ["go", "rust"],
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


def test_junit_is_parseable_with_the_right_counts(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"extract_json", "iterate", "validate", "waivers"}
    extract = suites["extract_json"]
    assert (extract.get("tests"), extract.get("failures"), extract.get("skipped")) == (
        "4",
        "2",
        "1",
    )
    assert len(extract.findall("testcase/failure")) == 2
    (skipped,) = extract.findall("testcase/skipped")
    assert skipped.get("message") == f"waived: known: {SCRIPT}"
    (error,) = suites["iterate"].findall("testcase/error")
    assert error.get("type") == "crash" and IMG in (error.get("message") or "")
    (passing,) = suites["validate"].findall("testcase")
    assert list(passing) == [] and "20 cases" in (passing.get("name") or "")
    assert suites["waivers"].find("testcase/failure") is not None
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "3", "1")


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
    assert len(blocks) == 5  # 4 divergences and 1 error
    fence, body = blocks[0]
    assert len(fence) > 4  # longer than the ```` run inside
    assert any(line.startswith("input") for line in body)
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


def test_html_never_contains_a_payload_unescaped(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert payload not in page
        assert html.escape(payload, quote=True) in page
    assert "<script" not in page.lower() and "<img" not in page.lower()
    parser = TagCollector()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not {name for name in parser.attributes if name.startswith("on")}


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
