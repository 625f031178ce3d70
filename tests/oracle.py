"""A client for the serde oracle (tests/oracles/serde-oracle): serde_json with
``float_roundtrip``, the contract's own definition of what parses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Final

ORACLE_DIR: Final = Path(__file__).parent / "oracles" / "serde-oracle"
ORACLE_BIN: Final = ORACLE_DIR / "target" / "release" / "serde-oracle"


def build_oracle() -> Path:
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "--quiet"], cwd=ORACLE_DIR, check=True
    )
    return ORACLE_BIN


class SerdeOracle:
    """One persistent oracle process answering one line per request."""

    def __init__(self, binary: Path) -> None:
        self._proc = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def ask(self, op: str, text: str) -> str:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        # ensure_ascii keeps the request line valid UTF-8 whatever the text holds.
        self._proc.stdin.write(json.dumps({"op": op, "text": text}) + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"serde oracle exited with {self._proc.wait()}")
        return answer.rstrip("\n")

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
