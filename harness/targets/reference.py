"""The reference implementation as a target, in process."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

from harness.model import REFERENCE, JsonValue, Observation

Answer = Callable[[JsonValue], str | Observation]
"""A case -> the reference's output text (probe suites), or a whole
``Observation`` (live suites: an HTTP status, a body, and ``extra`` such as
the session row the reference would write)."""


class ReferenceTarget:
    """Answers each case by calling the suite's reference function."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.name = REFERENCE
        self._answers = dict(answers)

    def add(self, suite: str, answer: Answer) -> None:
        self._answers[suite] = answer

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        answer = self._answers[suite]
        out = []
        for case in cases:
            started = time.perf_counter()
            result = answer(case)
            elapsed = (time.perf_counter() - started) * 1000
            if isinstance(result, Observation):
                out.append(dataclasses.replace(result, target=self.name, elapsed_ms=elapsed))
            else:
                out.append(Observation(target=self.name, text=result, elapsed_ms=elapsed))
        return out

    def close(self) -> None:
        pass
