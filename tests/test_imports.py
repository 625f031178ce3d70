"""The shape of the code: no import cycle in harness/ (module-level imports)
or among the Rust gateway's modules, no harness/ module past a size one can
read at once, and the suite names spelled only in the registry."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import pytest

from harness.suites import registry

ROOT: Final = Path(__file__).resolve().parents[1]
HARNESS: Final = ROOT / "harness"
GATEWAY_SRC: Final = ROOT / "targets" / "rust-gateway" / "src"
MAX_LINES: Final = 450
# Modules still above MAX_LINES, each at most this long: a module may only
# shrink off this list (issue 17 splits the rest).
OVER: Final = {
    "harness/reports/html.py": 543,
}


# --------------------------------------------------------------------------- graphs


def cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its nodes, the first repeated last), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node)
        if found:
            return found
    return None


def test_cycle_finds_a_cycle_and_only_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None  # a diamond
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


# --------------------------------------------------------------------------- Python


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def harness_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(HARNESS.rglob("*.py"))}


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def module_imports(name: str, modules: Mapping[str, Path]) -> set[str]:
    """The harness modules ``name`` imports when it is imported (statements at
    module level; imports for type checking only, or inside functions, are not
    run then). ``from a import b`` is an import of ``a.b`` when that is a module."""
    path = modules[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    pending = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while pending:
        node = pending.pop()
        if _type_checking(node):
            continue
        if isinstance(node, ast.If | ast.Try):
            pending.extend(ast.iter_child_nodes(node))  # guarded imports still run
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                out.add(submodule if submodule in modules else base)
    return {found for found in out if found in modules and found != name}


def test_no_import_cycle_in_the_harness() -> None:
    modules = harness_modules()
    graph = {name: module_imports(name, modules) for name in modules}
    assert sum(map(len, graph.values())) > 100  # the walk does see the imports
    found = cycle(graph)
    assert found is None, " -> ".join(found)


def test_the_import_walk_sees_a_cycle(tmp_path: Path) -> None:
    """What the test above would say of two modules importing each other."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from harness import b\n", encoding="utf-8")
    b.write_text("import harness.a\nfrom typing import TYPE_CHECKING\n", encoding="utf-8")
    fake = {"harness.a": a, "harness.b": b}
    graph = {name: module_imports(name, fake) for name in fake}
    assert cycle(graph) == ["harness.a", "harness.b", "harness.a"]


def test_no_harness_module_is_longer_than_a_reader_can_hold() -> None:
    lengths = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in HARNESS.rglob("*.py")
    }
    too_long = {path: n for path, n in sorted(lengths.items()) if n > OVER.get(path, MAX_LINES)}
    assert not too_long, f"above {MAX_LINES} lines (or above their cap in OVER): {too_long}"
    shrunk = {path for path, cap in OVER.items() if lengths.get(path, 0) <= MAX_LINES}
    assert not shrunk, f"now at most {MAX_LINES} lines: take them off OVER: {sorted(shrunk)}"


# --------------------------------------------------------------------------- suite names


# Literals equal to a suite's name that are not suite names, and how often.
NOT_SUITE_NAMES: Final = {
    ("harness/audit/auditor.py", "sessions"): 1,  # the DuckDB view
    ("harness/audit/sql.py", "sessions"): 1,  # the DuckDB view
    ("harness/cli/sessions.py", "sessions"): 1,  # the command group
    ("harness/config.py", "session_log"): 2,  # a target's key
    ("harness/environment.py", "sessions"): 1,  # the session logs' folder
}


def suite_name_literals() -> Iterator[tuple[str, str]]:
    for path in sorted(HARNESS.rglob("*.py")):
        if path == HARNESS / "suites" / "registry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in registry.ALL:
                yield str(path.relative_to(ROOT)), str(node.value)


def test_suite_names_are_spelled_only_in_the_registry() -> None:
    found: dict[tuple[str, str], int] = {}
    for key in suite_name_literals():
        found[key] = found.get(key, 0) + 1
    assert found == NOT_SUITE_NAMES


# --------------------------------------------------------------------------- Rust


def _without_tests_and_comments(text: str) -> str:
    head = text.split("#[cfg(test)]", 1)[0]  # each module's tests come last
    return re.sub(r"//[^\n]*", "", head)


def _used_modules(text: str) -> set[str]:
    """The crate modules named after ``crate::``, braces included
    (``use crate::{a, b::{c}}`` names a and b)."""
    out: set[str] = set()
    for match in re.finditer(r"crate::", text):
        pos = match.end()
        if text.startswith("{", pos):
            depth, start = 0, pos + 1
            for end in range(pos, len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == 0:
                    break
            inner = re.sub(r"\{[^{}]*\}", "", text[start:end])
            out.update(m.group(1) for m in re.finditer(r"(?:^|,)\s*(\w+)", inner))
        else:
            name = re.match(r"\w+", text[pos:])
            if name:
                out.add(name.group(0))
    return out


def rust_graph(src: Path) -> dict[str, set[str]]:
    files = {p.stem: p for p in src.glob("*.rs") if p.stem != "lib"}
    return {
        name: _used_modules(_without_tests_and_comments(path.read_text(encoding="utf-8")))
        & set(files)
        for name, path in files.items()
    }


def test_no_module_cycle_in_the_rust_gateway() -> None:
    graph = rust_graph(GATEWAY_SRC)
    assert graph["iterate"] >= {"state", "wire"}  # the parser does see `use crate::{...}`
    found = cycle(graph)
    assert found is None, " -> ".join(found)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("use crate::server::{AppState, x};", {"server"}),
        (
            "use crate::{DAEMON_NAME, iterate, text::{a, b}, validate};",
            {"DAEMON_NAME", "iterate", "text", "validate"},
        ),
        ("let t = crate::text::cut(x); // crate::nope\n", {"text"}),
    ],
)  # fmt: skip
def test_the_rust_walk_reads_use_declarations(text: str, names: set[str]) -> None:
    assert _used_modules(_without_tests_and_comments(text)) == names
