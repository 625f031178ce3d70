"""Reproducer files: each finding saved as versioned JSON, replayed by
``parity repro``, and committed ones (``fixtures/regressions/``) replayed first
on every run."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from harness import __version__, atomic, schema_store
from harness.errors import ConfigError, HarnessError, describe_os_error
from harness.model import Finding, JsonValue, as_json
from harness.suites import registry

FORMAT: Final = "lakehouse-parity/reproducer"
VERSION: Final = 1


@dataclass(frozen=True)
class Reproducer:
    path: Path
    suite: str
    cls: str
    fingerprint: str
    input: JsonValue
    document: Mapping[str, Any]


def document(finding: Finding, *, shell: Mapping[str, str], seed: int | None) -> dict[str, Any]:
    failure = finding.failure
    example = finding.example
    return {
        "format": FORMAT,
        "version": VERSION,
        "harness_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "suite": failure.suite,
        "class": str(failure.cls),
        "path": failure.path,
        "blamed": list(failure.blamed),
        "fingerprint": failure.fingerprint,
        "message": failure.message,
        "seed": seed,
        "input": as_json(example.input),
        "outputs": {name: obs.to_json() for name, obs in example.observations.items()},
        "differences": [
            {"target": name, **difference.to_json()}
            for name, differences in sorted(example.differences.items())
            for difference in differences
        ],
        "shell": dict(shell),
    }


def file_name(finding: Finding) -> str:
    # Only our own identifiers reach the file name, never model output.
    failure = finding.failure
    return f"{failure.suite}-{failure.cls}-{failure.fingerprint}.json"


def save(finding: Finding, directory: Path, *, shell: Mapping[str, str], seed: int | None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(finding)
    text = json.dumps(document(finding, shell=shell, seed=seed), indent=2, ensure_ascii=False)
    # backslashreplace: a lone surrogate of model output stays a JSON escape.
    atomic.write_text(path, text + "\n", errors="backslashreplace")
    return path


def load(path: Path) -> Reproducer:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read: {describe_os_error(exc, path)}") from exc
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: not a reproducer file: not JSON: {exc}") from exc
    except RecursionError as exc:
        raise HarnessError(f"{path}: not a reproducer file: nested too deeply") from exc
    if (
        isinstance(data, dict)
        and isinstance(data.get("version"), int)
        and data["version"] > VERSION
    ):
        raise HarnessError(
            f"{path}: reproducer version {data['version']} is newer than this harness "
            f"reads ({VERSION}); upgrade lakehouse-parity"
        )
    try:
        problems = schema_store.errors("reproducer", data)
    except RecursionError as exc:
        raise HarnessError(f"{path}: not a reproducer file: nested too deeply") from exc
    if problems:
        raise HarnessError(f"{path}: {problems[0].path}: {problems[0].message}")
    if data["suite"] not in registry.BY_NAME:
        raise HarnessError(
            f"{path}: suite: {data['suite']!r} is not a suite of this harness "
            f"(known: {', '.join(registry.ALL)})"
        )
    return Reproducer(
        path=path,
        suite=data["suite"],
        cls=data["class"],
        fingerprint=data["fingerprint"],
        input=data["input"],
        document=data,
    )


def collect(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders searched for ``*.json`` (sorted, for stable output)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*.json")))
        elif path.exists():
            found.append(path)
        else:
            raise HarnessError(f"{path}: no such file or folder")
    return found


def regression_inputs(folder: Path | None, *, source: str) -> dict[str, list[JsonValue]]:
    """Inputs of the committed reproducers, by suite: replayed before generating.
    A folder that was configured (``source``: the config naming it) and is not
    there is an error, as a missing waivers file is: read as empty, a typo in
    its path would silently replay nothing."""
    if folder is None:
        return {}
    if not folder.is_dir():
        problem = "not a folder" if folder.exists() else "no such folder"
        raise ConfigError(source, "run.regressions", f"{problem}: {folder}")
    by_suite: dict[str, list[JsonValue]] = {}
    for path in collect([folder]):
        reproducer = load(path)
        by_suite.setdefault(reproducer.suite, []).append(reproducer.input)
    return by_suite
