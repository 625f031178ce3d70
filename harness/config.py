"""``parity.toml``: which targets to compare with the reference, and how.

The file is checked against ``schemas/config.json``; every mistake is reported
as a ``ConfigError`` naming the file and the key, never as a stack trace.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from harness import defaults, schema_store
from harness.errors import ConfigError, describe_os_error
from harness.suites import registry
from harness.volatile import Declared

ALL_SUITES: Final = registry.ALL

ProbeMode = Literal["oneshot", "jsonl"]


@dataclass(frozen=True)
class ProbeConfig:
    command: tuple[str, ...]
    mode: ProbeMode = "oneshot"
    timeout_s: float = defaults.PROBE_TIMEOUT_S
    cwd: Path | None = None


@dataclass(frozen=True)
class TargetConfig:
    name: str
    probes: Mapping[str, ProbeConfig] = field(default_factory=dict)
    url: str | None = None
    session_log: Path | None = None
    concurrency: int = defaults.HTTP_CONCURRENCY
    timeout_s: float = defaults.HTTP_TIMEOUT_S
    # The port on 127.0.0.1 where the harness serves the scripted model for this
    # target (its deployment's provider points there): iterate, faults, sessions.
    model_port: int | None = None
    # The port on 127.0.0.1 where the harness serves its Langfuse stand-in for
    # this target (its deployment's Langfuse host points there): traces.
    langfuse_port: int | None = None
    # The ``daemon`` value of this target's rows: needed when targets share one
    # session log, to tell whose row is whose.
    daemon: str | None = None
    # A sample stack of targets/ the harness starts itself (the embedded default).
    stack: str | None = None

    def live(self, suite: str) -> bool:
        """Whether this target can run a live suite."""
        if self.stack is not None:
            return True
        if suite == registry.VALIDATE:
            return self.url is not None
        if suite == registry.SESSIONS:
            return self.url is not None and self.model_port is not None and bool(self.session_log)
        if suite in (registry.TRACES, registry.COLLECTOR):
            return self.url is not None and self.model_port is not None and bool(self.langfuse_port)
        return self.url is not None and self.model_port is not None


@dataclass(frozen=True)
class RunConfig:
    suites: tuple[str, ...] = ()
    profile: str | None = None
    report_dir: Path | None = None
    waivers: Path | None = None
    regressions: Path | None = None
    database: Path | None = None
    roster: Path | None = None
    min_rule_cases: int | None = None  # a declared rule fewer cases exercised fails the run


@dataclass(frozen=True)
class GateConfig:
    """``[gate]``: how a run's causes are judged (the CLI may override)."""

    aa_rate: float = defaults.AA_RATE
    flaky_replays: int = defaults.FLAKY_REPLAYS
    fail_on_flaky: bool = False
    fail_on_unstable: bool = True


@dataclass(frozen=True)
class Config:
    targets: Mapping[str, TargetConfig]
    run: RunConfig = RunConfig()
    gate: GateConfig = GateConfig()
    volatile: tuple[Declared, ...] = ()  # ``[volatile]``: declared per suite
    path: Path | None = None  # None: the embedded default
    root: Path = field(default_factory=Path.cwd)  # relative paths resolve here

    def suites_available(self) -> tuple[str, ...]:
        """The suites every configured target can run."""
        out = []
        for suite in ALL_SUITES:
            if suite in registry.PROBE:
                ok = all(suite in t.probes for t in self.targets.values())
            else:
                ok = all(t.live(suite) for t in self.targets.values())
            if ok:
                out.append(suite)
        return tuple(out)


def _pointer(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def check(document: dict[str, Any], source: str) -> None:
    """Raise ConfigError for the first schema violation, naming the key."""
    _check_finite(document, source, [])
    validator = schema_store.validator("config")
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    if errors:
        first = errors[0]
        raise ConfigError(source, _pointer(first.absolute_path), first.message)


def _check_finite(value: Any, source: str, path: list[str]) -> None:
    # TOML has nan and inf; JSON Schema's bounds cannot refuse nan (every
    # comparison with it is false), so a timeout_s = nan would pass them.
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(source, _pointer(path), f"expected a finite number, got {value}")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, source, [*path, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, source, [*path, str(index)])


def parse(document: dict[str, Any], *, source: str, root: Path, path: Path | None) -> Config:
    check(document, source)
    targets = {name: _target(name, raw, root) for name, raw in sorted(document["targets"].items())}
    raw_run = document.get("run", {})
    run = RunConfig(
        suites=tuple(raw_run.get("suites", ())),
        profile=raw_run.get("profile"),
        min_rule_cases=raw_run.get("min_rule_cases"),
        **{
            key: root / raw_run[key]
            for key in ("report_dir", "waivers", "regressions", "database", "roster")
            if key in raw_run
        },
    )
    raw_gate = document.get("gate", {})
    gate = GateConfig(
        aa_rate=float(raw_gate.get("aa_rate", defaults.AA_RATE)),
        flaky_replays=int(raw_gate.get("flaky_replays", defaults.FLAKY_REPLAYS)),
        fail_on_flaky=bool(raw_gate.get("fail_on_flaky", False)),
        fail_on_unstable=bool(raw_gate.get("fail_on_unstable", True)),
    )
    volatile = tuple(
        Declared(suite, entry["path"], entry["reason"])
        for suite, entries in sorted(document.get("volatile", {}).items())
        for entry in entries
    )
    return Config(targets=targets, run=run, gate=gate, volatile=volatile, path=path, root=root)


def _target(name: str, raw: dict[str, Any], root: Path) -> TargetConfig:
    probes = {
        suite: ProbeConfig(
            command=_command(spec["command"], root),
            mode=spec.get("mode", "oneshot"),
            timeout_s=float(spec.get("timeout_s", defaults.PROBE_TIMEOUT_S)),
            cwd=root / spec["cwd"] if "cwd" in spec else None,
        )
        for suite, spec in raw.get("probes", {}).items()
    }
    return TargetConfig(
        name=name,
        probes=probes,
        url=raw.get("url"),
        session_log=root / raw["session_log"] if "session_log" in raw else None,
        concurrency=int(raw.get("concurrency", defaults.HTTP_CONCURRENCY)),
        timeout_s=float(raw.get("timeout_s", defaults.HTTP_TIMEOUT_S)),
        model_port=int(raw["model_port"]) if "model_port" in raw else None,
        langfuse_port=int(raw["langfuse_port"]) if "langfuse_port" in raw else None,
        daemon=raw.get("daemon"),
    )


def _command(argv: list[str], root: Path) -> tuple[str, ...]:
    # A program given as a relative path is relative to the config's folder;
    # a bare name ("python3") is looked up on PATH as usual.
    program = argv[0]
    if "/" in program and not Path(program).is_absolute():
        program = str(root / program)
    return (program, *argv[1:])


def load(path: Path) -> Config:
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(source, None, "no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, f"cannot read: {describe_os_error(exc, path)}") from exc
    return parse(document, source=source, root=path.resolve().parent, path=path)
