"""What ``harness.compare.compare`` costs a pair of outputs, on a fixed corpus.

4,000 extract_json-shaped answers (a seeded generator: nested objects and
arrays, the number model's corners), each compared with itself (60 %) or
with a respelled copy (indented, one ``1.0`` written ``1``): the common case
where most answers agree and a few differ. Two projections: none, and the
session_log suite's. The figure is the best of five passes, in µs a pair.

Run from the repository root (or any checkout, with its PYTHONPATH):

    python benchmarks/compare_cost.py
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.compare import Projection, compare, parse_output  # noqa: E402
from harness.suites.probe import SESSION_PROJECTION  # noqa: E402

PAIRS = 4000
PASSES = 5
CORNERS = (None, True, 1, 1.0, -0.0, "s", "x" * 20, 123456789012345678901, 0.1)


def value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return {f"k{i}": value(rng, depth + 1) for i in range(rng.randint(0, 5))}
    if depth < 3 and roll < 0.45:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return rng.choice(CORNERS)


def corpus(seed: int = 7) -> list[tuple[Any, Any, str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(PAIRS):
        text = json.dumps({"matched": True, "value": value(rng)})
        other = text
        if rng.random() >= 0.6:
            indent = rng.choice([None, 1])
            other = json.dumps(json.loads(text), indent=indent).replace("1.0", "1", 1)
        out.append((parse_output(text), parse_output(other), text, other))
    return out


def cost_us(pairs: list[tuple[Any, Any, str, str]], projection: Projection) -> float:
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        for expected, actual, a, b in pairs:
            compare(expected, actual, expected_text=a, actual_text=b, projection=projection)
        best = min(best, time.perf_counter() - started)
    return best / len(pairs) * 1e6


def main() -> int:
    pairs = corpus()
    plain, session = cost_us(pairs, Projection()), cost_us(pairs, SESSION_PROJECTION)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"no projection {plain:.1f} µs/pair; session_log projection {session:.1f} µs/pair")
    print(f"load average (1/5/15 min): {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
