"""Prints, one JSON line each, the cases a seeded run of the Echo suite sends
to its targets (``tests/test_aa.py``: what a seed draws, whatever the example
database holds). Usage: python -m tests.draws DATABASE"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.engine import Engine, EngineSettings
from tests.test_aa import Answering, Echo


def main(database: Path) -> None:
    go = Answering("go", lambda case: 8 if case["n"] % 7 == 0 else 7)
    settings = EngineSettings(max_examples=100, seed=11, database=database, shrink=False, aa_rate=0)
    Engine(suites=[Echo()], targets=[go, Answering("rust", 7)], settings=settings).run()
    for case in go.seen:
        print(json.dumps(case, sort_keys=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
