"""Generated command lines, each with one mistake in it (a value an option
refuses, a file that is missing, a folder, garbage where a file should be),
in hostile text (markup, control characters, bytes that are not UTF-8):
every one exits 2 with one error line naming the option or the input, no
traceback, and no file changed."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.reports.common import one_line
from harness.suites import registry
from tests.hostile.support import (
    HOSTILE,
    REFERENCE_PROBE,
    Snapshot,
    hostile_name,
    hostile_text,
    invoke,
    probe_config,
    refused,
)
from tests.test_causes import C, finding, report_of

# What the command line may hold that a file cannot: bytes that are not UTF-8.
ARGV_TEXT = st.one_of(hostile_text(), st.sampled_from(["caf\udce9", "\udcff", "[red]\udc80"]))


@dataclass(frozen=True)
class Mistake:
    """A command line (``{root}`` stands for the folder of its files) and what
    its error line must name."""

    args: tuple[str, ...]
    names: str
    also: str | None = None  # another way to name it


def _missing(name: str) -> str:
    return f"missing-{name}"


def _not_a(kind: type[float] | type[int]) -> Callable[[str], bool]:
    def refuses(text: str) -> bool:
        try:
            kind(text)
        except ValueError:
            return True
        return False

    return refuses


_not_a_number, _not_an_int = _not_a(float), _not_a(int)


def mistakes() -> st.SearchStrategy[Mistake]:
    numbers_bad = st.one_of(
        st.sampled_from(["nan", "inf", "-inf", "1e400", "-1", "0", "0.5", ""]),
        ARGV_TEXT.filter(_not_a_number),
    )
    ints_bad = st.one_of(
        st.sampled_from(["0", "-3", "1.5", "nan", "", "0x10"]), ARGV_TEXT.filter(_not_an_int)
    )
    # Port 0 is a port to mock-llm (any free one): it would serve until stopped.
    ports_bad = st.one_of(
        st.sampled_from(["-1", "65536", "99999999999", "1.5", ""]), ARGV_TEXT.filter(_not_an_int)
    )
    missing = hostile_name().map(_missing)
    config = ("--config", "{root}/parity.toml")
    waive = ("--reason", "r", "--expires", "2099-12-31", "--report", "{root}/report.json")
    m = Mistake
    cases: list[st.SearchStrategy[Mistake]] = [
        numbers_bad.map(lambda v: m(("run", "--max-time", v), "--max-time")),
        ints_bad.map(lambda v: m(("run", "--max-examples", v), "--max-examples")),
        ARGV_TEXT.filter(_not_an_int).map(lambda v: m(("run", "--seed", v), "--seed")),
        ARGV_TEXT.filter(lambda v: v not in ("quick", "ci", "thorough")).map(
            lambda v: m(("run", "--profile", v), "--profile")
        ),
        ARGV_TEXT.filter(lambda v: v not in registry.ALL).map(
            lambda v: m(("run", "--suite", v), "--suite")
        ),
        missing.map(lambda p: m(("run", "--config", p), p)),
        missing.map(lambda p: m(("run", *config, "--baseline", p), p)),
        missing.map(lambda p: m(("run", *config, "--waivers", p), p)),
        st.just(m(("run", "--config", "{root}/folder"), "folder")),
        st.just(m(("run", "--config", "{root}/garbage"), "garbage")),
        st.just(m(("run", *config, "--report-dir", "{root}/garbage"), "garbage")),
        missing.map(lambda p: m(("repro", *config, p), p)),
        missing.map(lambda p: m(("repro", "--config", p, "{root}/garbage"), p)),
        st.just(m(("repro", *config, "{root}/garbage"), "garbage")),
        missing.map(lambda p: m(("schema", "check", p), p)),
        ARGV_TEXT.map(lambda v: m(("schema", "check", "--schema", "x" + v, "{root}/a.json"), "x")),
        ARGV_TEXT.map(
            lambda v: m(("schema", "check", "--memory-limit", v, "{root}/a.json"), "--memory-limit")
        ),
        ints_bad.map(
            lambda v: m(("schema", "check", "--threads", v, "{root}/a.json"), "--threads")
        ),
        missing.map(lambda p: m(("sessions", "audit", p), p)),
        st.just(m(("sessions", "audit", "{root}/folder"), "folder")),
        ARGV_TEXT.map(
            lambda v: m(("sessions", "audit", "--since", "x" + v, "{root}/a.json"), "--since")
        ),
        st.just(m(("sessions", "audit", "--json", "--markdown", "{root}/a.json"), "--json")),
        ARGV_TEXT.map(lambda v: m(("waive", "x" + v, *waive), "not a cause or finding id")),
        ARGV_TEXT.map(
            lambda v: m(("waive", "0123456789ab", *waive, "--expires", "x" + v), "--expires")
        ),
        st.text(" \t\n", max_size=3).map(
            lambda v: m(("waive", "0123456789ab", *waive, "--reason", v), "--reason")
        ),
        missing.map(lambda p: m(("waive", "0123456789ab", *waive, "--report", p), p)),
        st.just(m(("waive", "0123456789ab", *waive, "--waivers", "{root}/folder"), "folder")),
        st.just(m(("init", "--out", "{root}/garbage"), "garbage")),
        ints_bad.map(lambda v: m(("init", "--rust-model-port", v), "--rust-model-port")),
        missing.map(lambda p: m(("init", "--roster", p), "--roster")),
        ARGV_TEXT.filter(lambda v: not v.startswith(("http://", "https://"))).map(
            lambda v: m(
                ("init", "--out", "{root}/new.toml", "--rust-url", v),
                "targets.rust.url",
                "--rust-url",
            )
        ),
        missing.map(lambda p: m(("doctor", "--config", p), p)),
        missing.map(lambda p: m(("merge", p), p)),
        st.just(m(("merge", "{root}/folder"), "folder")),
        missing.map(lambda p: m(("trend", p, "--out", "{root}/trend"), p)),
        st.just(m(("trend", "{root}/garbage", "--out", "{root}/trend"), "garbage")),
        st.just(m(("trend", "{root}/report.json", "--out", "{root}/garbage"), "--out")),
        st.sampled_from(["status", "down"]).map(
            lambda c: m(("stacks", c, "--state-dir", "{root}/state"), "stacks.json")
        ),
        ports_bad.map(lambda v: m(("mock-llm", "--port", v), "--port")),
        st.just(m(("mock-llm", "--port", "0", "--record", "{root}/c.jsonl"), "--record")),
        missing.map(lambda p: m(("mock-llm", "--port", "0", "--script", p), "--script")),
    ]
    return st.one_of(*cases)


def files(root: Path) -> None:
    """What the command lines name: a config, a report, garbage, a folder, a broken state."""
    probe_config(root, {"a": {"extract_json": REFERENCE_PROBE["extract_json"]}}, database="db")
    report_of([finding("extract_json", C.MATCHED, "x")], root, "report.json")
    (root / "garbage").write_bytes(b"\xff\xfe[[[ not a thing \x00")
    (root / "folder").mkdir()
    (root / "a.json").write_text("{}", encoding="utf-8")
    (root / "state").mkdir()
    (root / "state" / "stacks.json").write_text("{torn", encoding="utf-8")


def _shown(name: str) -> str:
    """A name as an error line shows it: escaped, bytes that are not UTF-8 too."""
    return one_line(name)


def check(mistake: Mistake, run: Callable[[list[str], Path], str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files(root)
        args = [arg.replace("{root}", str(root)) for arg in mistake.args]
        before = Snapshot.of(root)
        line = run(args, root)
        named = [mistake.names] if mistake.also is None else [mistake.names, mistake.also]
        assert any(n in line or _shown(n) in line or repr(n)[1:-1] in line for n in named), line
        before.assert_unchanged(root)


@HOSTILE
@given(mistakes())
def test_a_command_line_with_one_mistake_is_refused_naming_it(mistake: Mistake) -> None:
    check(mistake, lambda args, root: refused(invoke(args, root)))
