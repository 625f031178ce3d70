"""Per-case budget of the extract_json suite, part by part, outside the engine.

    python benchmarks/extract_json_budget.py [--cases 20000] [--seed 1] [--sizes 16,64,256]
        [--only generation|parts]

1. Generation: cases per CPU second that Hypothesis draws ``model_outputs()``
   with the engine's settings (no database, no deadline, generate phase only,
   every health check suppressed, quiet), a batch per example, two ways:
   ``st.lists(strategy, min_size=n, max_size=n)`` (the engine of today), and
   ``n`` times ``data.draw(strategy)`` on ``st.data()``, slicing each case's
   choice nodes out of the build context as the rewritten engine does. The
   test body does nothing else, so this is Hypothesis's cost alone.
2. The other parts, per case, on one fixed sample of drawn cases: the
   reference (``answer_extract_json``) and the suite's comparison for each
   target (CPU time), each jsonl probe alone and both concurrently, as the
   engine's workers run them batch by batch (wall time, and the harness's
   own CPU time for the exchange).

Needs the probes built (``make -C targets build``). Prints a markdown report;
nothing is written.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from harness.config import ProbeConfig
from harness.model import JsonValue, Observation
from harness.strategies import model_outputs
from harness.suites.probe import compare_extract_json
from harness.targets.base import Target
from harness.targets.probe import ProbeEncoding, ProbeTarget
from reference_impl.probes import answer_extract_json

SUITE: Final = "extract_json"
ROOT: Final = Path(__file__).resolve().parents[1]
# The sample stacks' probes, as runner.default_config names them (built here
# without the runner: other parts of the harness may be mid-change).
PROBES: Final = {
    "rust": ROOT / "targets" / "rust-gateway" / "target" / "release" / "parity_extract_json",
    "go": ROOT / "targets" / "go-validatord" / "bin" / "parity_extract_json",
}


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )


# --------------------------------------------------------------------------- generation


def generate_lists(strategy: st.SearchStrategy[Any], n: int, total: int, seed_: int) -> list[Any]:
    out: list[Any] = []

    @_settings(math.ceil(total / n))
    @seed(seed_)
    @given(st.lists(strategy, min_size=n, max_size=n))
    def test(cases: list[Any]) -> None:
        out.extend(cases)

    test()
    return out


def _slices(conjecture: Any, start: int) -> tuple[Any, ...]:
    """One case's choices, sliced as the engine does (``ConjectureData.nodes``
    is a property: a tuple rebuilt whenever a choice was added)."""
    return tuple(node.value for node in conjecture.nodes[start:])


def generate_draws(strategy: st.SearchStrategy[Any], n: int, total: int, seed_: int) -> list[Any]:
    out: list[Any] = []

    @_settings(math.ceil(total / n))
    @seed(seed_)
    @given(st.data())
    def test(data: st.DataObject) -> None:
        conjecture = current_build_context().data
        for _ in range(n):
            start = len(conjecture.nodes)
            out.append(data.draw(strategy))
            _slices(conjecture, start)

    test()
    return out


def generate_composite(
    strategy: st.SearchStrategy[Any], n: int, total: int, seed_: int
) -> list[Any]:
    """As ``generate_draws``, but the batch is one ``st.composite``: its ``draw``
    is ConjectureData's own, without ``data.draw``'s per-call checks (two
    copies of the global random state, a note for the failure report)."""
    out: list[Any] = []

    @st.composite
    def batch(draw: st.DrawFn) -> None:
        conjecture = current_build_context().data
        for _ in range(n):
            start = len(conjecture.nodes)
            out.append(draw(strategy))
            _slices(conjecture, start)

    @_settings(math.ceil(total / n))
    @seed(seed_)
    @given(batch())
    def test(_: None) -> None:
        pass

    test()
    return out


def rate(run: Callable[[], list[Any]], repeats: int = 3) -> tuple[float, int]:
    """Best cases per CPU second of ``repeats`` runs, and the cases one run drew.

    CPU time of this process, not wall time: generation is single-threaded,
    and on a shared machine the wall clock also counts other programs' turns.
    """
    best, count = 0.0, 0
    for _ in range(repeats):
        started = time.process_time()
        count = len(run())
        best = max(best, count / (time.process_time() - started))
    return best, count


def generation_table(sizes: Sequence[int], total: int, seed_: int) -> list[str]:
    strategy = model_outputs()
    ways = {
        "st.lists": generate_lists,
        "n × data.draw": generate_draws,
        "n × draw in st.composite": generate_composite,
    }
    lines = [
        "| batch n | " + " | ".join(f"{way} (cases/s, µs/case)" for way in ways) + " |",
        "|---:|" + "---:|" * len(ways),
    ]
    for n in sizes:
        cells = []
        for generate in ways.values():
            per_second, _ = rate(functools.partial(generate, strategy, n, total, seed_))
            cells.append(f"{per_second:,.0f} ({1e6 / per_second:.0f})")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr)
    return lines


# --------------------------------------------------------------------------- the other parts


def per_case_us(
    run: Callable[[], object], cases: int, clock: Callable[[], float], repeats: int = 3
) -> float:
    best = math.inf
    for _ in range(repeats):
        started = clock()
        run()
        best = min(best, clock() - started)
    return 1e6 * best / cases


def cpu_us(run: Callable[[], object], cases: int) -> float:
    """This process's CPU time per case (all its threads)."""
    return per_case_us(run, cases, time.process_time)


def wall_us(run: Callable[[], object], cases: int) -> float:
    return per_case_us(run, cases, time.perf_counter)


def _batches(cases: Sequence[str], n: int) -> list[Sequence[str]]:
    return [cases[i : i + n] for i in range(0, len(cases), n)]


def probe_rows(targets: Sequence[Target], cases: Sequence[str], n: int) -> list[str]:
    """Per probe alone, then all concurrently (as the engine's workers run
    them): wall time, and the harness's own CPU time for the exchange
    (encoding, pipes, decoding: it competes with the engine's thread)."""
    batches = _batches(cases, n)
    rows = []
    for target in targets:

        def alone(target: Target = target) -> None:
            for batch in batches:
                target.run_batch(SUITE, batch)

        wall, cpu = wall_us(alone, len(cases)), cpu_us(alone, len(cases))
        rows.append(f"| probe {target.name} alone, batch {n} | {wall:.1f} | {cpu:.1f} |")
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:

        def together() -> None:
            for batch in batches:
                futures = [pool.submit(t.run_batch, SUITE, batch) for t in targets]
                for future in futures:
                    future.result()

        wall, cpu = wall_us(together, len(cases)), cpu_us(together, len(cases))
    rows.append(f"| probes concurrently, batch {n} | {wall:.1f} | {cpu:.1f} |")
    return rows


def parts_table(cases: Sequence[str], sizes: Sequence[int]) -> list[str]:
    targets = probe_targets()
    try:
        answers = {t.name: _observe(t, cases) for t in targets}
        references = [Observation("reference", answer_extract_json(c)) for c in cases]
        reference = cpu_us(lambda: [answer_extract_json(c) for c in cases], len(cases))
        rows = [
            "| part | wall µs/case | harness CPU µs/case |",
            "|---|---:|---:|",
            f"| reference `answer_extract_json` | | {reference:.1f} |",
        ]
        for name, observed in answers.items():
            pairs = list(zip(references, observed, strict=True))
            cost = cpu_us(functools.partial(_compare_all, pairs), len(cases))
            same = sum(r.text == o.text for r, o in pairs) / len(pairs)
            rows.append(
                f"| compare, {name} ({same:.0%} of texts equal to the reference) | | {cost:.1f} |"
            )
        for n in sizes:
            rows += probe_rows(targets, cases, n)
        return rows
    finally:
        for target in targets:
            target.close()


def _compare_all(pairs: Sequence[tuple[Observation, Observation]]) -> None:
    for reference, observed in pairs:
        compare_extract_json(reference, observed)


def probe_targets() -> list[Target]:
    encoding = ProbeEncoding(oneshot=str, jsonl=lambda case: json.dumps({"raw": case}))
    return [
        ProbeTarget(name, {SUITE: ProbeConfig(command=(str(path), "--jsonl"), mode="jsonl")},
                    {SUITE: encoding})
        for name, path in PROBES.items()
    ]  # fmt: skip


def _observe(target: Target, cases: Sequence[str]) -> list[Observation]:
    return [o for batch in _batches(cases, 256) for o in target.run_batch(SUITE, batch)]


def describe(cases: Sequence[str]) -> str:
    lengths = [len(c) for c in cases]
    return (
        f"{len(cases)} cases, length median {statistics.median(lengths):.0f}, "
        f"mean {statistics.fmean(lengths):.0f}, max {max(lengths)} characters"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", default="16,64,256")
    parser.add_argument("--only", choices=("generation", "parts"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    out = ["# extract_json: per-case budget", ""]
    if args.only != "parts":
        out += ["## Generation (model_outputs, engine settings)", ""]
        out += generation_table(sizes, args.cases, args.seed)
        out.append("")
    if args.only != "generation":
        sample: list[JsonValue] = generate_lists(model_outputs(), 64, args.cases, args.seed)
        cases = [str(c) for c in sample]
        out += ["## The other parts", "", describe(cases), ""]
        out += parts_table(cases, sizes)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
