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

from harness.cli import main

REPO: Final = Path(__file__).resolve().parents[2]
PYTHON: Final = sys.executable
FIXTURES: Final = REPO / "fixtures"
# A probe that answers as the reference does (its own process, jsonl mode).
REFERENCE_PROBE: Final = {
    "extract_json": [PYTHON, "-m", "reference_impl.probes", "extract-json", "--jsonl"],
    "session_log": [PYTHON, "-m", "reference_impl.probes", "session-log", "--jsonl"],
}


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
        return json.dumps(value)  # ensure_ascii: DEL and non-ASCII as escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"no TOML for {value!r}")


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
