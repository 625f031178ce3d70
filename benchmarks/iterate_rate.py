"""Session rate of the iterate suite against a bare asyncio/httpx loop.

Both sample stacks and the scripted model are started once. Then, side by
side on the same stacks with the same concurrency and the same number of
sessions per stack:

(a) bare: pre-built iterate requests (generated up front, scripts
    registered), posted by an asyncio loop with one ``httpx.AsyncClient`` per
    stack, ``concurrency`` in flight per stack; nothing is compared.
(b) harness: the engine runs the iterate suite (generation, the reference
    loop in process, comparison, schema checks, findings) through
    ``HttpTarget``s with the same concurrency; shrinking is off so that both
    sides do the same number of sessions.

The rate is sessions per second per stack. Run from the repository root:

    python benchmarks/iterate_rate.py [--sessions 600] [--concurrency 8] [--rounds 3]

and it writes ``benchmarks/results/iterate_rate.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import defaults, stacks  # noqa: E402
from harness.engine import Engine, EngineSettings  # noqa: E402
from harness.mock_llm import ScriptedModelServer  # noqa: E402
from harness.model import RunSummary  # noqa: E402
from harness.strategies import iterate_scenarios  # noqa: E402
from harness.suites.catalog import LiveSuites  # noqa: E402
from harness.suites.live import Instance  # noqa: E402
from harness.targets.http import HttpTarget  # noqa: E402
from reference_impl.roster import load_roster  # noqa: E402

ROSTER = ROOT / defaults.ROSTER
RESULTS = ROOT / "benchmarks" / "results" / "iterate_rate.md"


def generated_cases(count: int) -> list[Any]:
    """``count`` iterate scenarios from the suite's own strategy."""
    out: list[Any] = []
    batch = 64

    @settings(
        max_examples=-(-count // batch),
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(iterate_scenarios(), min_size=batch, max_size=batch))
    def collect(cases: list[Any]) -> None:
        out.extend(cases)

    collect()
    return out[:count]


async def bare_loop(urls: dict[str, str], requests: dict[str, list[Instance]], c: int) -> float:
    """Post every prepared request, ``c`` at a time per stack; seconds taken."""

    async def drive(url: str, instances: list[Instance]) -> None:
        gate = asyncio.Semaphore(c)
        limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
        async with httpx.AsyncClient(timeout=30, limits=limits, trust_env=False) as client:

            async def one(instance: Instance) -> None:
                async with gate:
                    response = await client.post(
                        url + "/v1/iterate",
                        content=instance.text.encode("utf-8"),
                        headers=dict(instance.headers),
                    )
                    if response.status_code not in (200, 422, 502):
                        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")

            await asyncio.gather(*(one(i) for i in instances))

    started = time.perf_counter()
    await asyncio.gather(*(drive(urls[name], requests[name]) for name in urls))
    return time.perf_counter() - started


def harness_run(
    live: LiveSuites, urls: dict[str, str], sessions: int, concurrency: int
) -> tuple[float, RunSummary]:
    targets = [
        HttpTarget(name, url, live.routes(), concurrency=concurrency) for name, url in urls.items()
    ]
    suite = live.suites["iterate"]
    engine = Engine(
        suites=[suite],
        targets=targets,
        settings=EngineSettings(max_examples=sessions, shrink=False, database=None),
    )
    try:
        summary = engine.run()
    finally:
        for target in targets:
            target.close()
    return summary.suites[0].elapsed_s, summary


def model_calls(model: Any, listeners: dict[str, str]) -> int:
    """Chat calls the listeners received so far (0 for a model that does not count)."""
    if not hasattr(model, "calls_received"):
        return 0
    return sum(model.calls_received(name) for name in listeners)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=640, help="sessions per stack per round")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per stack")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--model-module",
        type=Path,
        default=None,
        help="another version of the scripted model (a mock_llm.py), to compare",
    )
    args = parser.parse_args(argv)
    server_class = ScriptedModelServer
    if args.model_module is not None:
        from mock_llm_rate import load_module

        server_class = load_module(args.model_module).ScriptedModelServer

    stacks.build_all()
    roster = load_roster(ROSTER)
    # rates, Python CPU seconds, the model calls per second the harness side made,
    # and the machine's 1-minute load when the round began
    rows: list[tuple[float, float, float, float, float, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="iterate-rate-") as scratch,
        server_class() as server,
        stacks.Stacks(Path(scratch)) as running,
    ):
        urls: dict[str, str] = {}
        for name, spec in stacks.default_specs().items():
            server.add_listener(name)
            urls[name] = running.start(
                spec,
                upstream_url=server.url(name),
                roster=ROSTER,
                session_log=Path(scratch) / f"{name}.jsonl",
                upstream_timeout_ms=defaults.EMBEDDED_UPSTREAM_TIMEOUT_MS,
            ).url
        live = LiveSuites(
            server.model, roster, upstream_timeout_s=defaults.EMBEDDED_UPSTREAM_TIMEOUT_MS / 1000
        )
        cases = generated_cases(args.sessions)
        for round_number in range(1, args.rounds + 1):
            # (a) the same scenario mix, one fresh session per request and stack.
            prepared = {name: [live.instance(case) for case in cases] for name in urls}
            load = os.getloadavg()[0]
            cpu = time.process_time()
            bare_s = asyncio.run(bare_loop(urls, prepared, args.concurrency))
            bare_cpu = time.process_time() - cpu
            for instances in prepared.values():
                for instance in instances:
                    live.sessions.forget(instance)
            # (b) the harness's iterate suite.
            cpu = time.process_time()
            calls = model_calls(server.model, urls)
            suite_s, summary = harness_run(live, urls, args.sessions, args.concurrency)
            harness_cpu = time.process_time() - cpu
            calls = model_calls(server.model, urls) - calls
            done = summary.suites[0].cases
            errors = len(summary.suites[0].errors)
            if errors or done != args.sessions:
                raise SystemExit(f"round {round_number}: {done} cases, {errors} infra errors")
            bare, harness = args.sessions / bare_s, done / suite_s
            rows.append((bare, harness, bare_cpu, harness_cpu, calls / suite_s, load))
            print(
                f"round {round_number}: bare {bare:.1f} sessions/s per stack "
                f"(Python CPU {bare_cpu:.1f}s), harness {harness:.1f} "
                f"(Python CPU {harness_cpu:.1f}s), ratio {harness / bare:.2f}, "
                f"model calls {calls / suite_s:.0f}/s over HTTP",
                flush=True,
            )
    report(args, rows)
    ratio = statistics.median(h / b for b, h, *_ in rows)
    print(f"median ratio {ratio:.2f} (goal >= 0.70); written to {args.out}")
    return 0 if ratio >= 0.7 else 1


def report(args: argparse.Namespace, rows: list[tuple[float, float, float, float, float]]) -> None:
    ratios = [h / b for b, h, *_ in rows]
    lines = [
        "# iterate suite session rate vs a bare asyncio/httpx loop",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')}",
        f"- machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        "- stacks: rust-gateway and go-validatord (release builds), both behind one in-process "
        f"scripted model, upstream timeout {defaults.EMBEDDED_UPSTREAM_TIMEOUT_MS} ms",
        f"- load: {args.sessions} sessions per stack per side and round, concurrency "
        f"{args.concurrency} per stack, both stacks at once",
        "- bare: pre-generated scenarios, scripts registered up front, posted by asyncio + httpx; "
        "nothing compared",
        "- harness: the iterate suite through the engine (generation, reference loop, "
        "comparison, schema checks), shrinking off",
        "- command: `python benchmarks/iterate_rate.py "
        f"--sessions {args.sessions} --concurrency {args.concurrency} --rounds {args.rounds}"
        + (f" --model-module {args.model_module}`" if args.model_module else "`"),
        "- scripted model: "
        + (
            f"`{args.model_module}` (another version, for comparison)"
            if args.model_module
            else "`harness.mock_llm` (h11)"
        ),
        "",
        "| round | bare sessions/s per stack | harness sessions/s per stack | ratio "
        "| bare Python CPU s | harness Python CPU s | harness model calls/s (HTTP) "
        "| load 1-min at start |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, (bare, harness, bare_cpu, harness_cpu, calls, load) in enumerate(rows, 1):
        lines.append(
            f"| {number} | {bare:.1f} | {harness:.1f} | {harness / bare:.2f} "
            f"| {bare_cpu:.2f} | {harness_cpu:.2f} | {calls:.0f} | {load:.2f} |"
        )
    lines += [
        "",
        f"Median ratio: **{statistics.median(ratios):.2f}** (goal: at least 0.70).",
        "",
        "The scripted model, the bare client and the harness share one Python process, as "
        "in a real `parity run`; the stacks share the same CPUs. Both sides are bound by that "
        "process (the CPU columns count all its threads): httpx costs the same on both, so "
        "the harness's own work per session (generation, the reference loop, comparison) is "
        "what the ratio measures. Other load on the machine moves single rounds by ±0.1.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
