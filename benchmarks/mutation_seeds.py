"""Is each rare-corner mutation found, seed by seed, before and after the
strategies drew the corners as first-class choices?

    python benchmarks/mutation_seeds.py [--seeds 1,2,3,4,5] [--before 47f7197]
        [--mutations NAME,...] [--json OUT]

For each mutation of ``tests/test_mutations.py`` listed (default: the rare
corners'), the sample stack is copied, patched and built once; then, for each
seed and each harness (``before``: the repository as of a git revision,
unpacked with ``git archive``; ``after``: this working tree), ``parity run
--profile quick --seed S --suite ...`` runs twice, as the test does: against
the unmutated stacks (the baseline report), and against the mutated copy with
``--baseline``. Found: a new cause blamed on the mutated runtime alone (exit
1). Each ``parity`` is the harness's own CLI, run from its tree
(``PYTHONPATH``); the stacks and configs are made here, the same for both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.stacks import default_specs  # noqa: E402
from tests.test_mutations import MUTATIONS, Mutation, deployment, mutated_stack  # noqa: E402

RARE: Final = (
    "rust-first-fence-only",
    "rust-trim-controls",
    "rust-absent-context-is-the-artifact",
    "rust-fractional-target-count",
    "rust-consistency-last-fill-first",
    "go-steps-not-an-array-unchecked",
    "go-availability-unchecked",
)


def unpack(revision: str, into: Path) -> Path:
    """The repository as of ``revision`` (its harness and reference)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir(parents=True)
    with tempfile.TemporaryFile() as tar:
        tar.write(archive)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as opened:
            opened.extractall(into, filter="data")
    return into


def parity(root: Path, config: Path, suites: tuple[str, ...], seed: int, report: Path,
           baseline: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """``parity run`` of the harness in ``root``; its report.json."""
    argv = [sys.executable, "-c", "from harness.cli import main; main()", "run"]
    argv += ["--config", str(config), "--profile", "quick", "--seed", str(seed)]
    argv += ["--report-dir", str(report), "--no-build"]
    argv += [arg for suite in suites for arg in ("--suite", suite)]
    if baseline is not None:
        argv += ["--baseline", str(baseline)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run(argv, cwd=config.parent, env=env, check=False, capture_output=True)
    loaded: dict[str, Any] = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return loaded


def found(report: dict[str, Any], stack: str) -> tuple[bool, int]:
    """(found, new causes): new causes, all blamed on ``stack`` alone."""
    new = [cause for cause in report["causes"] if cause.get("new")]
    ok = bool(new) and all(cause["blamed"] == [stack] for cause in new)
    return ok and report["exit_code"] == 1, len(new)


def measure(mutation: Mutation, roots: dict[str, Path], seeds: Sequence[int], work: Path,
            baselines: dict[tuple[str, tuple[str, ...], int], Path]) -> dict[str, Any]:  # fmt: skip
    real = default_specs()
    out: dict[str, Any] = {}
    copy = mutated_stack(mutation, work / "copy")
    specs = {**real, mutation.stack: copy}
    for version, root in roots.items():
        for seed in seeds:
            key = (version, mutation.suites, seed)
            if key not in baselines:
                folder = work / "base" / f"{version}-{'-'.join(mutation.suites)}-{seed}"
                with deployment(folder, real, mutation.suites) as config:
                    parity(root, config, mutation.suites, seed, folder / "report")
                baselines[key] = folder / "report" / "report.json"
            folder = work / "runs" / f"{version}-{seed}"
            with deployment(folder, specs, mutation.suites) as config:
                report = parity(
                    root, config, mutation.suites, seed, folder / "report", baselines[key]
                )
            out[f"{version},{seed}"] = found(report, mutation.stack)
            print(f"{version} seed {seed}: {out[f'{version},{seed}']}", file=sys.stderr)
    return out


def table(results: dict[str, dict[str, Any]], seeds: Sequence[int]) -> str:
    head = " | ".join(f"seed {s}" for s in seeds)
    lines = [f"| mutation | harness | {head} | found |", "|---|---|" + "---|" * (len(seeds) + 1)]
    for name, per in results.items():
        for version in ("before", "after"):
            cells = []
            for seed in seeds:
                hit, new = per[f"{version},{seed}"]
                cells.append(f"found ({new})" if hit else f"missed ({new})")
            count = sum(per[f"{version},{seed}"][0] for seed in seeds)
            lines.append(f"| `{name}` | {version} | {' | '.join(cells)} | {count}/{len(seeds)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--before", default="47f7197")
    parser.add_argument("--mutations", default=",".join(RARE))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="parity-mut-")))
        roots = {"before": unpack(args.before, work / "before"), "after": ROOT}
        baselines: dict[tuple[str, tuple[str, ...], int], Path] = {}
        for name in args.mutations.split(","):
            print(f"{name}:", file=sys.stderr)
            results[name] = measure(MUTATIONS[name], roots, seeds, work / name, baselines)
    text = table(results, seeds)
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
