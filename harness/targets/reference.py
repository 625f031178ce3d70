"""The reference implementation as a target, in process."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from harness.model import REFERENCE, JsonValue, Observation

Answer = Callable[[JsonValue], str]


class ReferenceTarget:
    """Answers each case by calling the suite's reference function."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.name = REFERENCE
        self._answers = dict(answers)

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        answer = self._answers[suite]
        out = []
        for case in cases:
            started = time.perf_counter()
            text = answer(case)
            elapsed = (time.perf_counter() - started) * 1000
            out.append(Observation(target=self.name, text=text, elapsed_ms=elapsed))
        return out

    def close(self) -> None:
        pass
