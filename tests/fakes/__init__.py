"""Fake probe programs for the engine's own tests (see ``probe.py``), and the
configurations that put them in front of the harness."""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from harness.config import Config, ProbeConfig, RunConfig, TargetConfig

FAKE_PROBE: Final = Path(__file__).resolve().parent / "probe.py"


@dataclass(frozen=True)
class Fakes:
    """Two targets, ``faulty`` (in some mode) and ``twin`` (identical by default);
    every process they start carries ``tag`` on its command line."""

    tmp: Path
    tag: str

    @classmethod
    def new(cls, tmp: Path) -> Fakes:
        return cls(tmp, f"parity-test-{uuid.uuid4().hex}")

    def probe(
        self, suite: str, mode: str, *, timeout_s: float = 5.0, extra: tuple[str, ...] = ()
    ) -> ProbeConfig:
        command = (sys.executable, str(FAKE_PROBE), "--suite", suite, "--mode", mode)
        return ProbeConfig(
            command=(*command, "--tag", self.tag, *extra), mode="jsonl", timeout_s=timeout_s
        )

    def config(
        self,
        suites: tuple[str, ...],
        mode: str,
        *,
        twin: str = "identical",
        timeout_s: float = 5.0,
        extra: tuple[str, ...] = (),
    ) -> Config:
        def target(name: str, target_mode: str) -> TargetConfig:
            probes = {
                s: self.probe(s, target_mode, timeout_s=timeout_s, extra=extra) for s in suites
            }
            return TargetConfig(name=name, probes=probes)

        run = RunConfig(report_dir=self.tmp / "report", database=self.tmp / "hypothesis")
        targets = {"faulty": target("faulty", mode), "twin": target("twin", twin)}
        return Config(targets=targets, run=run, root=self.tmp)

    def toml(self, suites: tuple[str, ...], mode: str, *, twin: str = "identical") -> Path:
        """The same pair of targets as a ``parity.toml`` (for the CLI and pytest)."""
        lines = []
        for name, target_mode in (("faulty", mode), ("twin", twin)):
            for suite in suites:
                command = list(self.probe(suite, target_mode).command)
                lines += [
                    f"[targets.{name}.probes.{suite}]",
                    f"command = {json.dumps(command)}",
                    'mode = "jsonl"',
                ]
        path = self.tmp / f"parity-{mode}-{twin}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def running(self) -> list[int]:
        """Pids of live processes started with this tag."""
        return pids_with(self.tag)

    def assert_none_left(self) -> None:
        deadline = time.monotonic() + 5
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.running() == [], "a fake probe outlived the run"


def pids_with(tag: str) -> list[int]:
    """Live (not zombie) processes with ``tag`` as one of their arguments."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile
        if tag.encode() in argv and state != "Z":
            pids.append(int(entry.name))
    return pids
