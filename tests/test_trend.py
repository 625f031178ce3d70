"""``parity trend``: reading reports of every schema version, following causes
across them (by id; by finding id for version 1), counting open, new, fixed
and waived per run, the badge, the page's data and its safety, and bad input
(one clear line, exit 2)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness import causes, schema_store, trend
from harness.cli import main
from harness.model import DivergenceClass, Failure, Finding, RunSummary, SuiteSummary
from harness.reports import json_report
from harness.trend import badge, page
from harness.waivers import parse_waivers
from tests.test_causes import as_version_1
from tests.test_causes import finding as causes_finding

C = DivergenceClass
SCRIPT = "</script><script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


# --------------------------------------------------------------------------- building reports


def finding(cls: C, case: str, suite: str = "extract_json", blamed: str = "go") -> Finding:
    return causes_finding(suite, cls, case, (blamed,))


def report(
    folder: Path,
    day: int,
    found: list[Finding],
    *,
    waivers: str = "",
    suites: tuple[str, ...] = ("extract_json", "session_log"),
) -> Path:
    """A report.json as a run writes it: findings grouped into causes by the
    real grouping (each finding its own cause here), waivers applied."""
    today = dt.date(2026, 12, day)
    rules = parse_waivers(waivers, "waivers.toml")
    rules.apply(found, today)
    grouped, _ = causes.attribute(found, lambda trigger: frozenset())
    summary = RunSummary("0.1.0", f"2026-12-{day:02d}T09:00:00+00:00", "ci", 1, causes=grouped)
    for name in suites:
        mine = [f for f in found if f.failure.suite == name]
        summary.suites.append(SuiteSummary(name, ("go",), 100 * day, mine, elapsed_s=2.0))
    summary.waivers = rules.uses(grouped, found, today)
    summary.expired_waivers = [w.describe() for w in rules.expired(today)]
    summary.exit_code = 1 if any(c.fails_gate for c in grouped) else 0
    document = json_report.build(summary)
    assert schema_store.errors("report", document) == []
    path = folder / f"run-{day}" / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json_report.render(document), encoding="utf-8")
    return path


def version_1(path: Path) -> Path:
    """``as_version_1``, checked against the version-1 schema."""
    as_version_1(path)
    assert schema_store.errors("report-v1", json.loads(path.read_text(encoding="utf-8"))) == []
    return path


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.csp: str | None = None
        self.links: list[str] = []  # src= and href= of any element
        self._open: str | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("http-equiv") == "Content-Security-Policy":
            self.csp = found.get("content")
        if tag in ("script", "style"):
            self._open, self._attrs = tag, found
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler attribute {name} on <{tag}>"
            if name in ("src", "href"):
                self.links.append(f"<{tag} {name}={value}>")

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            self.scripts.append((self._attrs, data))
        elif self._open == "style":
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def parsed(path: Path) -> _Scripts:
    parser = _Scripts()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def page_data(path: Path) -> dict[str, Any]:
    """The data block of a trend.html, as its script reads it."""
    (block,) = [text for attrs, text in parsed(path).scripts if attrs.get("id") == "trend-data"]
    data: dict[str, Any] = json.loads(block)
    return data


def run_trend(*args: str) -> Any:
    return CliRunner().invoke(main, ["trend", *args])


# --------------------------------------------------------------------------- following


def counts(history: trend.Trend) -> list[tuple[int, int, int, int]]:
    return [(c.open, c.new, c.fixed, c.waived) for c in history.counts]


def fault_a() -> Finding:
    return finding(C.NUMBER_TYPE, "1.0")


def fault_b() -> Finding:
    return finding(C.MISSING_FIELD, "{}", suite="session_log", blamed="rust")


# A waiver for fault_b, until the 20th.
WAIVE_B = (
    '[[waiver]]\nsuite = "session_log"\nclass = "missing_field"\npath = "$.value.*"\n'
    'targets = ["rust"]\nreason = "LH-9"\nexpires = 2026-12-20\n'
)


def test_causes_appear_are_waived_fixed_and_come_back(tmp_path: Path) -> None:
    a, b, waive_b = fault_a, fault_b, WAIVE_B
    paths = [
        report(tmp_path, 1, [a()]),
        report(tmp_path, 2, [a(), b()]),
        report(tmp_path, 3, [b()], waivers=waive_b),
        report(tmp_path, 4, []),
        report(tmp_path, 5, [a()]),
    ]
    history = trend.build(paths)
    assert counts(history) == [(1, 1, 0, 0), (2, 1, 0, 0), (0, 0, 1, 1), (0, 0, 1, 0), (1, 1, 0, 0)]
    by_key = {t.key: t for t in history.threads}
    first = json.loads(paths[0].read_text(encoding="utf-8"))["causes"][0]["id"]
    assert [(e.appeared, e.fixed) for e in by_key[first].episodes(5)] == [(0, 2), (4, None)]
    assert by_key[first].last_state(5) == "open"
    (other,) = set(by_key) - {first}
    assert [(e.appeared, e.fixed) for e in by_key[other].episodes(5)] == [(1, 3)]
    assert by_key[other].seen == {1: "open", 2: "waived"}

    data = page.data(history)
    assert [run["open"] for run in data["runs"]] == [1, 2, 0, 0, 1]
    waivers = {s["label"]: s["values"] for s in data["plots"]["waivers"]["series"]}
    # The waiver ends on the 20th: within 30 days of run 3 (the 3rd).
    assert waivers == {
        "in force": [0, 0, 1, 0, 0],
        "expiring within 30 days": [0, 0, 1, 0, 0],
        "expired": [0, 0, 0, 0, 0],
    }
    rates = {s["label"]: s["values"] for s in data["plots"]["rates"]["series"]}
    # 100 cases a day's number, in 2 s; session_log ran as many.
    assert rates["extract_json"] == rates["session_log"] == [50.0, 100.0, 150.0, 200.0, 250.0]
    assert badge.badge(history)["message"] == "1 open cause"
    # The waivers table: the waiver, the run that recorded it, its days left there.
    table = page.render(history).split('<table class="data waivers">')[1].split("</table>")[0]
    assert "LH-9" in table and "<td>#3</td>" in table and "17 day(s) left" in table


def test_a_run_that_did_not_run_a_suite_did_not_fix_its_causes(tmp_path: Path) -> None:
    a = lambda: finding(C.NUMBER_TYPE, "1.0")  # noqa: E731
    paths = [
        report(tmp_path, 1, [a()]),
        report(tmp_path, 2, [], suites=("session_log",)),
        report(tmp_path, 3, [a()]),
        report(tmp_path, 4, []),
    ]
    history = trend.build(paths)
    # Unchecked in run 2: neither fixed there nor new again in run 3.
    assert counts(history) == [(1, 1, 0, 0), (0, 0, 0, 0), (1, 0, 0, 0), (0, 0, 1, 0)]
    (thread,) = history.threads
    assert thread.seen == {0: "open", 1: "unchecked", 2: "open"}


def test_version_1_reports_are_followed_by_finding_ids(tmp_path: Path) -> None:
    one, two = finding(C.NUMBER_TYPE, "1.0"), finding(C.VALUE, "1.0")
    # In version 2, one case shows both findings: one cause of two findings.
    shows = {causes.trigger_of(f).ident: frozenset({one.id, two.id}) for f in (one, two)}  # type: ignore[union-attr]
    v1 = version_1(report(tmp_path, 1, [finding(C.NUMBER_TYPE, "1.0"), finding(C.VALUE, "1.0")]))
    v2 = report(tmp_path, 2, [one, two])
    grouped, _ = causes.attribute([one, two], lambda t: shows.get(t.ident, frozenset()))
    document = json.loads(v2.read_text(encoding="utf-8"))
    document["causes"] = [json_report.cause_json(c) for c in grouped]
    assert len(document["causes"]) == 1
    v2.write_text(json.dumps(document), encoding="utf-8")

    history = trend.build([v1, v2])
    (thread,) = history.threads
    assert thread.kind == "cause" and thread.key == document["causes"][0]["id"]
    # Counted once in run 1 too, and not new in run 2.
    assert counts(history) == [(1, 1, 0, 0), (1, 0, 0, 0)]
    assert history.runs[0].missing() == [
        "no causes (schema 1): its divergences are followed one by one",
        "no waiver expiry data",
    ]
    done = run_trend(str(v1), str(v2), "--out", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert "no causes (schema 1)" in done.output and "no waiver expiry data" in done.output


def test_two_version_2_reports_never_join_causes_by_finding(tmp_path: Path) -> None:
    """Same finding, another minimal case: another cause id, one fixed and one new."""
    first = report(tmp_path, 1, [finding(C.NUMBER_TYPE, "1.0")])
    second = report(tmp_path, 2, [finding(C.NUMBER_TYPE, "2.0")])
    assert counts(trend.build([first, second])) == [(1, 1, 0, 0), (1, 1, 1, 0)]


def test_a_newer_schema_version_is_read_for_what_it_shares(tmp_path: Path) -> None:
    path = report(tmp_path, 1, [finding(C.NUMBER_TYPE, "1.0")])
    document = json.loads(path.read_text(encoding="utf-8"))
    document["schema_version"] = "3"
    document["shard"] = {"index": 1, "of": 4}
    document["causes"][0]["something_new"] = True
    path.write_text(json.dumps(document), encoding="utf-8")
    history = trend.build([path])
    assert counts(history) == [(1, 1, 0, 0)] and history.runs[0].schema_version == "3"


def test_folders_of_reports_are_read_oldest_first(tmp_path: Path) -> None:
    # Written newest first, in folders whose names sort the other way.
    report(tmp_path / "all", 9, [])
    report(tmp_path / "all", 3, [finding(C.NUMBER_TYPE, "1.0")])
    history = trend.build([tmp_path / "all"])
    assert [run.started_at[:10] for run in history.runs] == ["2026-12-03", "2026-12-09"]
    assert counts(history) == [(1, 1, 0, 0), (0, 0, 1, 0)]
    # A report folder is its report.json.
    assert len(trend.build([tmp_path / "all" / "run-3"]).runs) == 1


def test_a_folder_orders_its_reports_by_instant_not_by_text(tmp_path: Path) -> None:
    starts = {4: "2026-12-08T21:00:00Z", 5: "2026-12-09T01:00:00+05:00"}  # 20:00Z
    for day, start in starts.items():
        path = report(tmp_path, day, [])
        document = json.loads(path.read_text(encoding="utf-8"))
        document["started_at"] = start
        path.write_text(json.dumps(document), encoding="utf-8")
    assert [run.started_at for run in trend.build([tmp_path]).runs] == [starts[5], starts[4]]


def test_reports_out_of_time_order_are_taken_as_given_with_a_note(tmp_path: Path) -> None:
    late, early = report(tmp_path, 5, []), report(tmp_path, 2, [])
    done = run_trend(str(late), str(early), "--out", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert "run #2 started before run #1" in done.output


# --------------------------------------------------------------------------- outputs


def test_badge_colours(tmp_path: Path) -> None:
    clean = report(tmp_path, 1, [])
    assert badge.badge(trend.build([clean])) == {
        "schemaVersion": 1,
        "label": "parity",
        "message": "0 open causes",
        "color": "brightgreen",
    }
    broken = report(tmp_path, 2, [finding(C.NUMBER_TYPE, "1.0"), finding(C.VALUE, "x")])
    assert badge.badge(trend.build([broken]))["message"] == "2 open causes"
    document = json.loads(broken.read_text(encoding="utf-8"))
    document["exit_code"] = 2
    broken.write_text(json.dumps(document), encoding="utf-8")
    assert badge.badge(trend.build([broken]))["color"] == "lightgrey"


def test_the_page_is_self_contained_and_escapes_report_text(tmp_path: Path) -> None:
    hostile = finding(C.VALUE, "x")
    hostile.failure = Failure("extract_json", C.VALUE, "$.value.*", ("go",), message=SCRIPT)
    path = report(tmp_path, 1, [hostile])
    document = json.loads(path.read_text(encoding="utf-8"))
    document["causes"][0]["summary"] = f"{SCRIPT}{IMG}\u2028-->"
    document["profile"] = IMG
    document["suites"][f"s{SCRIPT}"] = {"cases": 1, "elapsed_s": 1.0}
    path.write_text(json.dumps(document), encoding="utf-8")

    out = tmp_path / "out"
    assert run_trend(str(path), "--out", str(out)).exit_code == 0
    text = (out / "trend.html").read_text(encoding="utf-8")
    assert SCRIPT not in text and IMG not in text and "\u2028" not in text
    found = parsed(out / "trend.html")
    # Exactly three scripts: the data block, uPlot, the page's own.
    assert [attrs.get("type") for attrs, _ in found.scripts] == ["application/json", None, None]
    data = page_data(out / "trend.html")
    assert data["causes"][0]["summary"] == f"{SCRIPT}{IMG}\u2028-->"
    assert data["runs"][0]["profile"] == IMG
    assert f"s{SCRIPT}" in [s["label"] for s in data["plots"]["rates"]["series"]]
    # Every script and the style are allowed by hash; nothing else is.
    assert found.csp is not None
    policy = dict(part.strip().split(" ", 1) for part in found.csp.split(";"))
    assert policy["default-src"] == "'none'"
    hashes = lambda texts: {  # noqa: E731
        "'sha256-" + base64.b64encode(hashlib.sha256(t.encode()).digest()).decode() + "'"
        for t in texts
    }
    assert set(policy["script-src"].split()) == hashes(t for a, t in found.scripts if not a)
    assert set(policy["style-src"].split()) == hashes(found.styles)
    assert found.links == []  # nothing loaded from anywhere


def test_the_page_carries_uplot_and_its_license() -> None:
    assert "Permission is hereby granted" in page.UPLOT_LICENSE
    assert page.UPLOT_JS.startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    digest = hashlib.sha256(page.UPLOT_JS.encode()).hexdigest()
    readme = Path(page.__file__).with_name("vendor") / "README.md"
    assert digest in readme.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a parity report.json (no schema_version)"),
        ('{"schema_version": "x"}', "schema_version: unknown version 'x'"),
        ('{"schema_version": "2", "suites": {}}', "divergences: missing"),
        (
            '{"schema_version": "2", "suites": {"a": {"cases": -1, "elapsed_s": 1}}}',
            "suites.a.cases: expected a whole number, 0 or more",
        ),
    ],
)
def test_a_bad_report_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    good = report(tmp_path, 1, [])
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    done = run_trend(str(good), str(bad), "--out", str(tmp_path / "out"))
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: ") and message in lines[0]
    assert not (tmp_path / "out").exists()


def test_missing_paths_and_empty_folders_are_errors(tmp_path: Path) -> None:
    done = run_trend(str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert done.exit_code == 2 and "no such file or folder" in done.output
    (tmp_path / "empty").mkdir()
    done = run_trend(str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert done.exit_code == 2 and "no report.json in this folder or below it" in done.output
    assert re.search(r"Missing argument", run_trend("--out", "x").output)
