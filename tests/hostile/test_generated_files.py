"""Generated reproducer, baseline and waiver files: every one the harness
cannot use is refused with exit 2 and one line naming the file (and, for
waivers, the key), no traceback, no file changed; every one it can use is
used without a traceback."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from harness import schema_store
from harness.baseline import VERSIONS, load_baseline
from harness.errors import ConfigError
from harness.reports.common import one_line
from tests.hostile.support import (
    FIXTURES,
    HOSTILE,
    HOSTILE_SLOW,
    REFERENCE_PROBE,
    Snapshot,
    hostile_text,
    invoke,
    json_values,
    probe_config,
    refused,
    toml_string,
    toml_value,
)
from tests.test_causes import C, finding, report_of


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def config_in(root: Path) -> Path:
    return probe_config(
        root, {"a": {"extract_json": REFERENCE_PROBE["extract_json"]}}, database="db"
    )


# --------------------------------------------------------------------------- documents


def _without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


def mutated(base: dict[str, Any], keys: list[str]) -> st.SearchStrategy[bytes]:
    """``base`` changed in one way, as the bytes of a file: a key given any
    value, a key dropped, a key added, the text cut short, or bytes."""
    text = json.dumps(base, ensure_ascii=False)

    def with_value(key: str, value: Any) -> bytes:
        return json.dumps({**base, key: value}).encode()

    return st.one_of(
        st.builds(with_value, st.sampled_from(keys), json_values()),
        st.sampled_from(sorted(base)).map(lambda k: json.dumps(_without(base, k)).encode()),
        st.builds(with_value, hostile_text(10).filter(lambda k: k not in base), json_values()),
        st.integers(0, len(text) - 1).map(lambda n: text[:n].encode()),
        st.binary(max_size=64),
        st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n),
        json_values().map(lambda v: json.dumps(v).encode()),
    )


def _document(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


# --------------------------------------------------------------------------- reproducers

REPRODUCER = json.loads(
    next((FIXTURES / "regressions").glob("extract_json-*.json")).read_text(encoding="utf-8")
)


def reproducer_usable(document: Any) -> bool:
    if not isinstance(document, dict) or schema_store.errors("reproducer", document):
        return False
    return document["version"] <= 1 and document["suite"] == "extract_json"


@HOSTILE
@given(mutated(REPRODUCER, sorted(REPRODUCER)))
def test_a_reproducer_the_harness_cannot_replay_is_refused_naming_it(raw: bytes) -> None:
    assume(not reproducer_usable(_document(raw)))
    with folder() as root:
        (root / "r.json").write_bytes(raw)
        config = config_in(root)
        before = Snapshot.of(root)
        refused(invoke(["repro", "--config", str(config), "r.json"], root), "error: r.json: ")
        before.assert_unchanged(root)


@HOSTILE_SLOW
@given(
    st.one_of(
        json_values(),
        st.integers(2, 900).map(lambda n: "[" * n + "]" * n),  # text that nests deep
        st.integers(2, 900).map(lambda n: json.loads("[" * n + "]" * n)),
    )
)
def test_a_reproducer_of_any_input_replays_without_a_traceback(case: Any) -> None:
    with folder() as root:
        (root / "r.json").write_text(json.dumps({**REPRODUCER, "input": case}), encoding="utf-8")
        config = config_in(root)
        done = invoke(["repro", "--config", str(config), "r.json"], root)
        assert done.exit_code in (0, 1), done.output
        assert done.stdout.startswith("r.json: ") and "Traceback" not in done.output


# --------------------------------------------------------------------------- baselines


def _report() -> dict[str, Any]:
    with folder() as root:
        path = report_of([finding("extract_json", C.MATCHED, "x")], root, "main.json")
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


REPORT = _report()


def baseline_usable(document: Any) -> bool:
    version = document.get("schema_version") if isinstance(document, dict) else None
    if not isinstance(version, str) or version not in VERSIONS:
        return False
    return not schema_store.errors(VERSIONS[version], document)


def report_changes() -> st.SearchStrategy[bytes]:
    """The report changed at its top, or inside its first cause or divergence."""

    def inside(key: str, field: str, value: Any) -> bytes:
        document = copy.deepcopy(REPORT)
        document[key][0][field] = value
        return json.dumps(document).encode()

    cause, divergence = REPORT["causes"][0], REPORT["divergences"][0]
    return st.one_of(
        mutated(REPORT, sorted(REPORT)),
        st.builds(inside, st.just("causes"), st.sampled_from(sorted(cause)), json_values()),
        st.builds(
            inside, st.just("divergences"), st.sampled_from(sorted(divergence)), json_values()
        ),
    )


@HOSTILE
@given(report_changes())
def test_a_baseline_is_refused_naming_it_or_read_without_a_traceback(raw: bytes) -> None:
    with folder() as root:
        path = root / "main.json"
        path.write_bytes(raw)
        if baseline_usable(_document(raw)):
            try:
                load_baseline(path)
            except ConfigError as exc:
                assert str(exc).startswith(f"{path}: ")
            return
        config = config_in(root)
        before = Snapshot.of(root)
        args = ["run", "--config", str(config), "--baseline", "main.json"]
        refused(invoke(args, root), "error: main.json: ")
        before.assert_unchanged(root)


# --------------------------------------------------------------------------- waivers

FINDING_WAIVER: dict[str, Any] = {
    "suite": "extract_json",
    "class": "matched",
    "path": "$.matched",
    "targets": ["go"],
    "reason": "known",
    "expires": dt.date(2099, 1, 1),
}
CAUSE_WAIVER: dict[str, Any] = {
    "cause": "0123456789ab",
    "reason": "known",
    "expires": dt.date(2099, 1, 1),
}
CLASSES = {str(c) for c in C}


@dataclass(frozen=True)
class BrokenWaivers:
    waivers: list[dict[str, Any]]
    key: str  # what the error names: waiver[i].key


def _one(base: dict[str, Any], key: str, value: Any) -> BrokenWaivers:
    return BrokenWaivers([{**base, key: value}], f"waiver[0].{key}")


def waiver_breaks() -> st.SearchStrategy[BrokenWaivers]:
    texts = hostile_text()
    not_str = json_values(null=False).filter(lambda v: not isinstance(v, str))
    finding_values = [
        ("class", texts.filter(lambda s: s not in CLASSES)),
        ("path", texts.filter(lambda s: not s.startswith("$"))),
        ("path", st.integers(0, 99).map(lambda i: f"$.fills[{i}].id")),
        ("targets", st.one_of(st.just([]), st.just([""]), st.just(["go", "go"]))),
        ("targets", st.just(["reference"])),
        ("targets", not_str.filter(lambda v: not isinstance(v, list))),
        ("suite", st.one_of(st.just(""), not_str)),
        ("reason", st.text(" \t\n", max_size=3)),
        ("reason", not_str),
        ("expires", st.dates().map(lambda d: d.isoformat())),  # quoted: not a TOML date
        ("expires", st.just(dt.datetime(2099, 1, 1, 12, 0))),
        ("expires", not_str.filter(lambda v: not isinstance(v, dt.date))),
    ]
    cause_values = [
        ("cause", texts.filter(lambda s: re.fullmatch(r"[0-9a-f]{12}", s) is None)),
        ("suite", st.just("extract_json")),  # a cause or a finding, not both
    ]
    known = {"suite", "class", "path", "targets", "reason", "expires", "cause"}
    unknown = hostile_text(10).filter(lambda k: k not in known)
    return st.one_of(
        *(v.map(lambda x, k=k: _one(FINDING_WAIVER, k, x)) for k, v in finding_values),
        *(v.map(lambda x, k=k: _one(CAUSE_WAIVER, k, x)) for k, v in cause_values),
        st.builds(lambda k, v: _one(FINDING_WAIVER, k, v), unknown, json_values(null=False)),
        st.sampled_from(["reason", "expires", "suite", "class", "path", "targets"]).map(
            lambda k: BrokenWaivers([_without(FINDING_WAIVER, k)], f"waiver[0].{k}")
        ),
        st.just(BrokenWaivers([CAUSE_WAIVER, CAUSE_WAIVER], "waiver[1]")),
    )


def render_waivers(waivers: list[dict[str, Any]]) -> str:
    lines = []
    for waiver in waivers:
        lines.append("[[waiver]]")
        for key, value in waiver.items():
            shown = value.isoformat() if isinstance(value, dt.date) else toml_value(value)
            lines.append(f"{toml_string(key)} = {shown}")
    return "\n".join(lines) + "\n"


@HOSTILE
@given(waiver_breaks(), st.sampled_from(["waive", "run"]))
def test_a_broken_waivers_file_is_refused_naming_the_key_and_kept(
    broken: BrokenWaivers, command: str
) -> None:
    with folder() as root:
        waivers = root / "waivers.toml"
        waivers.write_text(render_waivers(broken.waivers), encoding="utf-8")
        report = report_of([finding("extract_json", C.MATCHED, "x")], root, "report.json")
        if command == "waive":
            cause = json.loads(report.read_text())["causes"][0]["id"]
            args = ["waive", cause, "--reason", "r", "--expires", "2099-12-31"]
            args += ["--report", "report.json"]
        else:
            args = ["run", "--config", str(config_in(root))]
        before = Snapshot.of(root)
        line = refused(invoke([*args, "--waivers", "waivers.toml"], root), "waivers.toml: ")
        assert f"waivers.toml: {one_line(broken.key)}" in line
        before.assert_unchanged(root)


@HOSTILE
@given(st.binary(max_size=64) | hostile_text(64).map(str.encode))
def test_a_waivers_file_of_bytes_is_refused_or_read(raw: bytes) -> None:
    with folder() as root:
        (root / "waivers.toml").write_bytes(raw)
        report = report_of([finding("extract_json", C.MATCHED, "x")], root, "report.json")
        cause = json.loads(report.read_text())["causes"][0]["id"]
        args = [
            "waive",
            cause,
            "--reason",
            "r",
            "--expires",
            "2099-12-31",
            "--report",
            "report.json",
        ]
        before = Snapshot.of(root)
        done = invoke(args, root)
        if done.exit_code == 0:  # it was a waivers file (empty, a comment): the waiver joined it
            text = (root / "waivers.toml").read_text(encoding="utf-8")
            assert text.startswith(raw.decode("utf-8")) and cause in text
            return
        refused(done, "waivers.toml: ")
        before.assert_unchanged(root)
