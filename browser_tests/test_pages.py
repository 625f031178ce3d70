"""report.html and trend.html in a real Chromium: the filters hide and show
the right causes, the plots draw their points, and under each page's
Content-Security-Policy nothing is blocked and the console shows no error
(nor does any payload of model text run).

Both pages are rendered by the harness: report.html from a report whose
causes span runtimes, suites and classes (their text injection attempts);
trend.html from a sequence of reports in which causes appear, are waived and
are fixed. Pages load from ``file://``, as a person opens a CI artifact.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

from harness import trend
from harness.model import REFERENCE, RunSummary, SuiteSummary
from harness.reports import write_all
from tests.test_reports import IMG, SCRIPT, case, findings_of, make_cause
from tests.test_trend import WAIVE_B, fault_a, fault_b, page_data, report, version_1

# Every violation of the page's policy, recorded from the first byte on.
WATCH_CSP: Final = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@dataclass
class Watched:
    """A page whose errors, CSP violations and dialogs are all recorded."""

    page: Page
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Browser, path: Path) -> Watched:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(5000)  # a local page: anything slower is broken
        watched = cls(page)
        page.add_init_script(WATCH_CSP)
        page.on("console", watched._console)
        page.on("pageerror", lambda exc: watched.console.append(f"page error: {exc}"))
        page.on("dialog", watched._dialog)
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        return watched

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text}")

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__violations")
        return found

    def assert_clean(self) -> None:
        assert self.violations() == []
        assert self.console == []
        assert self.dialogs == []


# --------------------------------------------------------------------------- report.html


def causes_summary() -> RunSummary:
    """Four causes: go (two findings, two classes), rust, go again in another
    suite, and go and rust together; summaries carry payloads."""
    two_classes = case(
        "extract_json",
        f"{SCRIPT}{IMG}",
        {REFERENCE: '{"a":1.0,"s":"x"}', "go": '{"a":1,"s":"y"}'},
    )
    validate = case("validate", "v", {REFERENCE: '{"b":"x"}', "rust": '{"b":"y"}'})
    session = case("session_log", "s", {REFERENCE: '{"c":1}', "go": '{"c":2}'})
    both = case("extract_json", "d", {REFERENCE: '{"d":1.0}', "go": '{"d":1}', "rust": '{"d":1}'})
    first = findings_of(two_classes)
    causes = [
        make_cause("a00000000001", first, summary=f"go: {SCRIPT}{IMG}"),
        make_cause("b00000000002", findings_of(validate)),
        make_cause("c00000000003", findings_of(session)),
        make_cause("d00000000004", findings_of(both)),
    ]
    assert [c.blamed for c in causes] == [("go",), ("rust",), ("go",), ("go", "rust")]
    assert sorted(str(f.failure.cls) for f in first) == ["number_type", "value"]
    suites = ("extract_json", "validate", "session_log")
    return RunSummary(
        harness_version="0.1.0",
        started_at="2026-12-07T10:00:00Z",
        profile="ci",
        seed=1,
        suites=[
            SuiteSummary(
                name,
                ("go", "rust"),
                cases=100,
                findings=[f for c in causes for f in c.findings if f.failure.suite == name],
                elapsed_s=1.0,
            )
            for name in suites
        ],
        exit_code=1,
        causes=causes,
    )


@pytest.fixture(scope="module")
def report_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    paths = write_all(causes_summary(), tmp_path_factory.mktemp("report"))
    watched = Watched.open(browser, paths["html"])
    yield watched
    watched.page.close()


def shown_causes(page: Page) -> list[str]:
    ids = page.eval_on_selector_all("[data-cause]", "causes => causes.map(c => c.id)")
    return [ident.removeprefix("c-") for ident in ids if page.is_visible(f"#{ident} > summary")]


def choose(page: Page, runtime: str = "", suite: str = "", cls: str = "") -> list[str]:
    for name, value in (("runtime", runtime), ("suite", suite), ("cls", cls)):
        page.select_option(f'select[data-filter="{name}"]', value)
    return shown_causes(page)


ALL: Final = ["a00000000001", "c00000000003", "b00000000002", "d00000000004"]


def test_every_cause_is_listed_before_any_filter(report_page: Watched) -> None:
    assert shown_causes(report_page.page) == ALL
    assert report_page.page.text_content("#shown") == "4 shown"


@pytest.mark.parametrize(
    ("runtime", "suite", "cls", "shown"),
    [
        ("go", "", "", ["a00000000001", "c00000000003"]),
        ("rust", "", "", ["b00000000002"]),
        ("go, rust", "", "", ["d00000000004"]),
        ("", "validate", "", ["b00000000002"]),
        ("", "extract_json", "", ["a00000000001", "d00000000004"]),
        ("", "", "number_type", ["a00000000001", "d00000000004"]),
        ("", "", "value", ["a00000000001", "c00000000003", "b00000000002"]),
        ("go", "", "number_type", ["a00000000001"]),
        ("rust", "session_log", "", []),
        ("", "", "", ALL),
    ],
)
def test_filters_show_exactly_the_matching_causes(
    report_page: Watched, runtime: str, suite: str, cls: str, shown: list[str]
) -> None:
    page = report_page.page
    assert choose(page, runtime, suite, cls) == shown
    assert page.text_content("#shown") == f"{len(shown)} shown"
    # A runtime's group heading goes with its last cause.
    groups = page.eval_on_selector_all(
        "[data-group]", "gs => gs.filter(g => !g.hidden).map(g => g.dataset.group)"
    )
    assert set(groups) == {page.get_attribute(f"#c-{c}", "data-runtime") for c in shown}
    report_page.assert_clean()


def test_a_class_filter_hides_the_other_findings_of_a_cause(report_page: Watched) -> None:
    page = report_page.page
    assert choose(page, runtime="go", cls="number_type") == ["a00000000001"]
    page.click("#c-a00000000001 > summary")
    sections = page.eval_on_selector_all(
        "#c-a00000000001 section[data-finding]",
        "ss => ss.map(s => [s.dataset.cls, s.getBoundingClientRect().height > 0])",
    )
    assert sorted(sections) == [["number_type", True], ["value", False]]
    assert choose(page) == ALL
    page.click("#c-a00000000001 > summary")  # closed again
    report_page.assert_clean()


def test_the_copy_button_copies_or_selects_the_waiver(report_page: Watched) -> None:
    page = report_page.page
    page.click("#c-b00000000002 > summary")
    button = page.locator('button[data-copy="w-b00000000002"]')
    button.click()
    page.wait_for_function(
        "b => b.textContent !== 'Copy'", arg=button.element_handle(), timeout=5000
    )
    assert button.text_content() in ("Copied", "Selected: copy it")
    page.click("#c-b00000000002 > summary")
    report_page.assert_clean()


# --------------------------------------------------------------------------- trend.html


@pytest.fixture(scope="module")
def trend_page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    folder = tmp_path_factory.mktemp("trend")
    paths = [
        version_1(report(folder, 1, [fault_a()])),
        report(folder, 2, [fault_a(), fault_b()]),
        report(folder, 3, [fault_b()], waivers=WAIVE_B),
        report(folder, 4, []),
    ]
    # Model text in a summary, as the trend shows it from the last run that has the cause.
    document = json.loads(paths[1].read_text(encoding="utf-8"))
    for cause in document["causes"]:
        cause["summary"] += f" {SCRIPT}{IMG}"
    paths[1].write_text(json.dumps(document), encoding="utf-8")
    written = trend.write(trend.build(paths), folder / "out")
    watched = Watched.open(browser, written["html"])
    yield watched
    watched.page.close()


def points(plot: dict[str, Any]) -> int:
    return sum(value is not None for line in plot["series"] for value in line["values"])


def test_each_plot_draws_every_point(trend_page: Watched) -> None:
    page = trend_page.page
    data = page_data(Path(page.url.removeprefix("file://")))
    for name in ("causes", "rates", "waivers"):
        figure = f'figure[data-plot="{name}"]'
        expected = points(data["plots"][name])
        assert expected > 0
        assert page.get_attribute(figure, "data-points") == str(expected)
        assert page.locator(f"{figure} canvas").count() == 1
        labels = page.eval_on_selector_all(
            f"{figure} .u-legend .u-series .u-label", "ls => ls.map(l => l.textContent)"
        )
        assert labels == ["run", *(line["label"] for line in data["plots"][name]["series"])]
    trend_page.assert_clean()


def test_the_causes_plot_has_its_lines_on_the_canvas(trend_page: Watched) -> None:
    # "open" is drawn in #cf222e: count the canvas's pixels of about that red.
    red = trend_page.page.eval_on_selector(
        'figure[data-plot="causes"] canvas',
        """canvas => {
          const pixels = canvas.getContext("2d")
            .getImageData(0, 0, canvas.width, canvas.height).data;
          let red = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] > 170 && pixels[i + 1] < 90 && pixels[i + 2] < 90
                && pixels[i + 3] > 200) { red += 1; }
          }
          return red;
        }""",
    )
    assert red > 50
    trend_page.assert_clean()


def test_hovering_a_plot_shows_the_run(trend_page: Watched) -> None:
    page = trend_page.page
    over = page.locator('figure[data-plot="causes"] .u-over')
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    value = page.locator('figure[data-plot="causes"] .u-series').first.locator(".u-value")
    assert value.text_content() == "#4 2026-12-04"
    trend_page.assert_clean()


def test_the_tables_show_the_causes_and_the_waiver(trend_page: Watched) -> None:
    page = trend_page.page
    rows = page.locator("table.causes tr[data-cause]")
    assert rows.count() == 2
    text = page.text_content("table.causes") or ""
    assert "fixed in #3 2026-12-03" in text and "fixed in #4 2026-12-04" in text
    assert SCRIPT in text and IMG in text  # model text shown as text, not run
    assert page.text_content("#open-causes") == "0"
    assert "no causes (schema 1)" in (page.text_content("body") or "")
    trend_page.assert_clean()


# --------------------------------------------------------------------------- the watchers


def test_the_watchers_catch_a_blocked_script_and_an_error(browser: Browser, tmp_path: Path) -> None:
    """What the other tests count on: an inline script the policy does not
    list is blocked and reported, and so is a script error."""
    path = tmp_path / "page.html"
    page = report(tmp_path, 5, [])
    html = (trend.write(trend.build([page]), tmp_path / "out")["html"]).read_text(encoding="utf-8")
    path.write_text(
        html.replace("</body>", "<script>window.ran = true;</script></body>"), encoding="utf-8"
    )
    watched = Watched.open(browser, path)
    assert watched.page.evaluate("window.ran === undefined")
    assert [v.split()[0] for v in watched.violations()] == ["script-src-elem"]
    assert any("Content Security Policy" in line for line in watched.console)
    watched.page.evaluate("setTimeout(() => { throw new Error('boom'); })")
    watched.page.wait_for_timeout(100)
    assert any("boom" in line for line in watched.console)
    watched.page.close()
