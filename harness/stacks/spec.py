"""What a sample stack is (``StackSpec``: how to build and run it), the two
of ``targets/``, and the error every stack operation raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from harness.errors import HarnessError

PACKAGE_ROOT: Final = Path(__file__).resolve().parents[2]
REPO_ROOT: Final = PACKAGE_ROOT
HOST: Final = "127.0.0.1"

LOG_TAIL_LINES: Final = 40


class StackError(HarnessError):
    """A stack could not be built, started or stopped; the message says why."""


@dataclass(frozen=True)
class StackSpec:
    """How to build and run one stack. Relative paths are relative to ``workdir``."""

    name: str
    workdir: Path
    build_argv: tuple[str, ...]
    binary: Path
    default_port: int
    daemon: str  # the session log's ``daemon`` value
    sources: tuple[str, ...]  # glob patterns; a newer match makes the binary stale
    launcher: tuple[str, ...] = ()  # prefix for the binary's argv (an interpreter)

    @property
    def binary_path(self) -> Path:
        return self.workdir / self.binary

    def source_files(self) -> list[Path]:
        found = {path for pattern in self.sources for path in self.workdir.glob(pattern)}
        return sorted(path for path in found if path.is_file())


def default_specs(targets: Path = REPO_ROOT / "targets") -> dict[str, StackSpec]:
    """The two sample stacks of ``targets/`` (see ``targets/Makefile``)."""
    rust = StackSpec(
        name="rust",
        workdir=targets / "rust-gateway",
        build_argv=("cargo", "build", "--release", "--locked"),
        binary=Path("target/release/gateway"),
        default_port=3100,
        daemon="gateway",
        sources=("Cargo.toml", "Cargo.lock", "build.rs", "src/**/*"),
    )
    go = StackSpec(
        name="go",
        workdir=targets / "go-validatord",
        build_argv=("go", "build", "-trimpath", "-o", "bin/", "./cmd/..."),
        binary=Path("bin/validatord"),
        default_port=4110,
        daemon="validatord",
        sources=("go.mod", "go.sum", "**/*.go"),
    )
    return {rust.name: rust, go.name: go}


def tail_text(data: bytes, lines: int = LOG_TAIL_LINES) -> str:
    text = data[-64 * 1024 :].decode("utf-8", errors="replace")
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
