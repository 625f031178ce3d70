"""What every hostile-input test asserts, and how it runs the CLI.

``invoke`` runs ``parity`` in process through click's ``CliRunner`` (the
commands read their files and exit as they would in a shell; stdout and
stderr are kept apart). ``refused`` checks the verdict on a mistake: exit 2,
one line on stderr that names the input, no traceback. ``Snapshot`` proves
that no file of the user's changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from harness.cli import main

REPO: Final = Path(__file__).resolve().parents[2]
PYTHON: Final = sys.executable
FIXTURES: Final = REPO / "fixtures"
# A probe that answers as the reference does (its own process, jsonl mode).
REFERENCE_PROBE: Final = {
    "extract_json": [PYTHON, "-m", "reference_impl.probes", "extract-json", "--jsonl"],
    "session_log": [PYTHON, "-m", "reference_impl.probes", "session-log", "--jsonl"],
}


def session_rows() -> list[str]:
    """The session records of the fixtures, one JSON text each."""
    lines = (FIXTURES / "session_log" / "roundtrips.jsonl").read_text(encoding="utf-8")
    return [json.loads(line)["record_text"] for line in lines.splitlines() if line.strip()]


def invoke(args: Sequence[str], cwd: Path) -> Result:
    """``parity ARGS`` run in ``cwd``, in this process."""
    with contextlib.chdir(cwd):
        return CliRunner().invoke(main, list(args), catch_exceptions=True)


def refused(result: Result, *names: str) -> str:
    """The one error line of a command refused as a usage or infrastructure
    error: exit 2 (never 0 or 1), no traceback, and the line names ``names``."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return refused_with(result.exit_code, result.stdout, result.stderr, *names)


def refused_process(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """``refused`` for a command run as its own process."""
    return refused_with(done.returncode, done.stdout, done.stderr, *names)


def refused_with(code: int, stdout: str, stderr: str, *names: str) -> str:
    shown = f"exit {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert code == 2, shown
    assert "Traceback" not in stdout + stderr, shown
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("error: ", "Error: "))]
    assert len(errors) == 1, shown
    [line] = errors
    if line.startswith("error: "):
        assert lines == [line], shown  # the harness's own: that one line only
    else:  # click's usage error: its usage line, its hint, and the one error line
        assert all(x.startswith(("Usage: ", "Try ", "Error: ")) for x in lines), shown
    for name in names:
        assert name in line, f"{name!r} is not named in: {line}"
    return line


@dataclass(frozen=True)
class Snapshot:
    """Every entry under a folder: a file by its bytes' hash, anything else by kind."""

    entries: dict[str, str]

    @classmethod
    def of(cls, root: Path) -> Snapshot:
        entries: dict[str, str] = {}
        for folder, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = Path(folder) / name
                entries[str(path.relative_to(root))] = _fingerprint(path)
        return cls(entries)

    def assert_unchanged(self, root: Path) -> None:
        after = Snapshot.of(root).entries
        changed = sorted(
            name
            for name in self.entries.keys() | after.keys()
            if self.entries.get(name) != after.get(name)
        )
        assert not changed, f"changed under {root}: {changed}"


def _fingerprint(path: Path) -> str:
    found = path.lstat()
    mode = f"{stat.S_IMODE(found.st_mode):o}"
    if stat.S_ISLNK(found.st_mode):
        return f"link {os.readlink(path)}"
    if stat.S_ISREG(found.st_mode):
        return f"file {mode} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    if stat.S_ISDIR(found.st_mode):
        return f"folder {mode}"
    return f"other {stat.S_IFMT(found.st_mode)}"


def toml_value(value: Any) -> str:
    """A TOML value for plain data (a JSON string is a TOML basic string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"no TOML for {value!r}")


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, and DEL escaped too (TOML forbids it raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def probe_config(folder: Path, probes: dict[str, dict[str, list[str]]], **run: str) -> Path:
    """A parity.toml of probe-only targets: {target: {suite: command}}."""
    lines = []
    if run:
        lines.append("[run]")
        lines += [f"{key} = {toml_value(value)}" for key, value in run.items()]
    for target, suites in probes.items():
        for suite, command in suites.items():
            lines += [
                f"[targets.{target}.probes.{suite}]",
                f"command = {toml_value(command)}",
                'mode = "jsonl"',
                f"cwd = {toml_value(str(REPO))}",
            ]
    path = folder / "parity.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- strategies

# Examples per generated test: few enough that the whole suite runs in about
# a minute; HOSTILE_EXAMPLES=2000 searches deeper.
HOSTILE: Final = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# For the tests whose every example starts DuckDB or a probe.
HOSTILE_SLOW: Final = settings(HOSTILE, max_examples=max(10, HOSTILE.max_examples * 5 // 8))

# Text a hostile user types: markup, emoji codes, control and bidi
# characters, the empty string, and anything else (never a lone surrogate:
# that is no text a TOML or JSON file can hold; the CLI tests send those).
TRICKY: Final = (
    "[red]", "[/x]", "[bold]x[/bold]", ":smile:", "a\nb", "\x1b[31m", "\x7f", "\x00",
    "", " ", "\t", "🙂", "\u202e", "\ufeff", "%s", "{0}", "'", '"', "\\", "$", "*", "?",
)  # fmt: skip


def hostile_text(max_size: int = 24) -> st.SearchStrategy[str]:
    plain = st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)
    return st.one_of(st.sampled_from(TRICKY), plain, st.lists(st.sampled_from(TRICKY)).map("".join))


def hostile_name() -> st.SearchStrategy[str]:
    """A file name: anything but a slash or a NUL, never . or .., at most 100 bytes."""
    return (
        hostile_text(30)
        .map(lambda s: s.replace("/", "_").replace("\0", "_"))
        .filter(lambda s: s not in ("", ".", "..") and len(s.encode("utf-8")) <= 100)
    )


def json_values(*, null: bool = True) -> st.SearchStrategy[Any]:
    """Plain data (``null=False``: what TOML can hold too)."""
    scalars = st.one_of(
        st.none() if null else st.nothing(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(hostile_text(8), inner, max_size=4)
        ),
        max_leaves=8,
    )
