"""Generated parity.toml documents, each broken in one known way: ``parity
run --config`` refuses every one before anything starts, with one line that
names the file and the key, and changes no file."""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    json_values,
    refused,
    toml_string,
    toml_value,
)

BASE: dict[str, Any] = {
    "run": {"profile": "quick", "report_dir": "reports"},
    "targets": {
        "a": {
            "probes": {
                "extract_json": {
                    "command": REFERENCE_PROBE["extract_json"],
                    "mode": "jsonl",
                    "timeout_s": 5.0,
                }
            },
            "concurrency": 4,
        }
    },
}
TARGET = ("targets", "a")
PROBE = (*TARGET, "probes", "extract_json")


@dataclass(frozen=True)
class Broken:
    """A config broken in one way, and the key its error must name."""

    document: dict[str, Any]
    names: str


def _set(path: tuple[str, ...], value: Any) -> Broken:
    document = copy.deepcopy(BASE)
    node = document
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return Broken(document, ".".join(path))


def _not(kind: type | tuple[type, ...]) -> st.SearchStrategy[Any]:
    """Any JSON value but one of ``kind`` (a bool is never an int here)."""
    return json_values(null=False).filter(
        lambda v: not isinstance(v, kind) or (isinstance(v, bool) and bool not in _tuple(kind))
    )


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _numbers_outside(low: float, high: float, *, integral: bool) -> st.SearchStrategy[Any]:
    outside = st.one_of(
        st.integers(max_value=int(low) - 1) if integral else st.floats(max_value=low),
        st.integers(min_value=int(high) + 1)
        if integral
        else st.floats(min_value=high, exclude_min=True),
        st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    )
    if integral:
        outside = st.one_of(
            outside, st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f))
        )
    return outside


def value_breaks() -> st.SearchStrategy[Broken]:
    """A known key given a value its schema refuses."""
    texts = hostile_text()
    cases = [
        (("run", "profile"), texts.filter(lambda s: s not in ("quick", "ci", "thorough"))),
        (("run", "profile"), _not(str)),
        (("run", "suites"), st.lists(texts.filter(lambda s: s not in registry.ALL), min_size=1)),
        (("run", "suites"), st.sampled_from(registry.ALL).map(lambda s: [s, s])),
        (("run", "report_dir"), st.one_of(st.just(""), _not(str))),
        (("run", "roster"), st.one_of(st.just(""), _not(str))),
        ((*TARGET, "url"), texts.filter(lambda s: not s.startswith(("http://", "https://")))),
        ((*TARGET, "concurrency"), _numbers_outside(1, 256, integral=True)),
        ((*TARGET, "timeout_s"), _numbers_outside(0, 600, integral=False)),
        ((*TARGET, "model_port"), _numbers_outside(1, 65535, integral=True)),
        ((*TARGET, "daemon"), st.one_of(st.just(""), _not(str))),
        ((*PROBE, "command"), st.one_of(st.just([]), st.just([""]), _not(list))),
        ((*PROBE, "command"), st.lists(_not(str), min_size=1, max_size=3)),
        ((*PROBE, "mode"), texts.filter(lambda s: s not in ("jsonl", "oneshot"))),
        ((*PROBE, "timeout_s"), _numbers_outside(0, 600, integral=False)),
        ((*PROBE, "cwd"), st.one_of(st.just(""), _not(str))),
    ]
    return st.one_of(*(values.map(lambda v, p=path: _set(p, v)) for path, values in cases))


def unknown_keys() -> st.SearchStrategy[Broken]:
    """A key no table has, anywhere; the error names the table."""
    known = {"run", "targets", "probes", "url", "command", "mode", "timeout_s", "cwd"}
    known |= {"concurrency", "model_port", "daemon", "session_log", "profile", "suites"}
    known |= {"report_dir", "waivers", "regressions", "database", "roster", *registry.ALL}
    where = st.sampled_from([(), ("run",), TARGET, PROBE, (*TARGET, "probes")])
    key = hostile_text(12).filter(lambda s: s not in known and s)

    def add(table: tuple[str, ...], name: str, value: Any) -> Broken:
        document = copy.deepcopy(BASE)
        node = document
        for part in table:
            node = node[part]
        node[name] = value
        return Broken(document, ".".join(table) or "(top level)")

    return st.builds(add, where, key, json_values(null=False))


def bad_target_names() -> st.SearchStrategy[Broken]:
    bad = st.one_of(
        st.just("reference"),
        hostile_name().filter(lambda s: not _target_name_ok(s)),
        st.text("abc", min_size=33, max_size=40),
    )

    def rename(name: str) -> Broken:
        document = copy.deepcopy(BASE)
        document["targets"] = {name: document["targets"]["a"]}
        return Broken(document, "targets")

    return bad.map(rename)


def _target_name_ok(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", name) is not None and name != "reference"


def missing_keys() -> st.SearchStrategy[Broken]:
    def drop(path: tuple[str, ...]) -> Broken:
        document = copy.deepcopy(BASE)
        node = document
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
        return Broken(document, ".".join(path[:-1]) or "(top level)")

    return st.sampled_from([("targets",), (*PROBE, "command")]).map(drop) | st.just(
        Broken({**copy.deepcopy(BASE), "targets": {}}, "targets")
    )


def render(value: dict[str, Any]) -> str:
    """The document as TOML: every table inline under its dotted key."""
    return "\n".join(f"{toml_string(key)} = {toml_value(item)}" for key, item in value.items())


@HOSTILE
@given(st.one_of(value_breaks(), unknown_keys(), bad_target_names(), missing_keys()))
def test_a_config_broken_in_one_way_is_refused_naming_the_key(broken: Broken) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = root / "parity.toml"
        config.write_text(render(broken.document) + "\n", encoding="utf-8")
        before = Snapshot.of(root)
        line = refused(invoke(["run", "--config", str(config)], root), str(config))
        assert line.startswith(f"error: {config}: {one_line(broken.names)}"), line
        before.assert_unchanged(root)


@HOSTILE
@given(st.binary(max_size=200) | hostile_text(200).map(lambda s: s.encode("utf-8")))
def test_a_config_that_is_no_toml_document_is_refused_naming_the_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = root / "parity.toml"
        config.write_bytes(raw)
        before = Snapshot.of(root)
        refused(invoke(["run", "--config", str(config)], root), f"error: {config}: ")
        before.assert_unchanged(root)
