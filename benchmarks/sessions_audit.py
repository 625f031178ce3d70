"""``parity sessions audit`` and ``parity schema check`` on large generated session logs.

The log mixes both daemons and holds a known number of each violation, torn
and non-UTF-8 line, other schema version and invariant breach
(``tests/test_audit_generated.write_log``); its healthy rows are the default
run's own session rows (``--templates``, e.g. ``parity-report/sessions/*.jsonl``
after ``parity run``) with fresh session ids, daemons and timestamps. The audit
must report exactly the planted counts. Wall time and the peak resident memory
of the ``parity`` process are measured. Run from the repository root:

    python benchmarks/sessions_audit.py --templates 'parity-report/sessions/*.jsonl' \\
        [--rows 1000000] [--check-rows 100000] [--memory-limit 512MB]

and it prints the table rows of ``benchmarks/results/sessions_audit.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_audit_generated import found, write_log  # noqa: E402


def _templates(pattern: str | None) -> list[dict[str, Any]] | None:
    if not pattern:
        return None
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as stream:
            rows += [json.loads(line) for line in stream if line.strip()]
    if not rows:
        raise SystemExit(f"no template rows in {pattern}")
    return rows


def _timed(*args: str) -> tuple[float, int, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak RSS (bytes) and CPU seconds (user + system, all
    threads) of one ``parity`` process, by GNU time."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M %U %S", sys.executable, "-m", "harness.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    elapsed, peak_kb, user, system = done.stderr.strip().splitlines()[-1].split()
    return float(elapsed), int(peak_kb) * 1024, float(user) + float(system), done


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--check-rows", type=int, default=100_000)
    parser.add_argument("--templates", default=None)
    parser.add_argument("--memory-limit", default="512MB")
    parser.add_argument("--per-fault", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2, help="audits of the same log")
    args = parser.parse_args()
    templates = _templates(args.templates)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        big = Path(tmp) / "sessions.jsonl"
        started = time.monotonic()
        expected = write_log(
            big,
            args.rows,
            per_fault=args.per_fault,
            duplicates=args.per_fault,
            seed=7,
            templates=templates,
        )
        generated = time.monotonic() - started
        size = big.stat().st_size
        exact = True
        for _ in range(args.runs):
            load_before = _load()
            elapsed, peak, cpu, done = _timed(
                "sessions", "audit", "--json", "--memory-limit", args.memory_limit, str(big)
            )
            load_after = _load()
            if done.returncode != 1:
                raise SystemExit(f"audit exited {done.returncode}: {done.stderr[-2000:]}")
            got = found(json.loads(done.stdout))
            exact = exact and (
                got.lines == expected.lines
                and got.violations == expected.violations
                and got.breaches == expected.breaches
                and got.rows == expected.rows
                and got.invalid_rows == expected.invalid_rows
            )
            print(
                f"audit: {args.rows} rows, {size / 1e9:.2f} GB, {elapsed:.1f} s, "
                f"peak {peak / 1e6:.0f} MB, CPU {cpu:.0f} s, counts exact: {exact}"
            )
            lines.append(
                f"| `parity sessions audit` | {args.rows:,} | {size / 1e9:.2f} GB | "
                f"{elapsed:.1f} s | {args.rows / elapsed:,.0f} | {peak / 1e6:.0f} MB | "
                f"{cpu:.0f} s | {load_before} → {load_after} |"
            )
        small = Path(tmp) / "check.jsonl"
        # healthy rows only: the old schema check could not read a file with one non-UTF-8 line
        write_log(small, args.check_rows, per_fault=0, duplicates=0, seed=9, templates=templates)
        load_before = _load()
        elapsed, peak, cpu, done = _timed("schema", "check", str(small))
        load_after = _load()
        print(f"schema check: {args.check_rows} rows, {elapsed:.1f} s, peak {peak / 1e6:.0f} MB")
        lines.append(
            f"| `parity schema check` | {args.check_rows:,} | "
            f"{small.stat().st_size / 1e9:.2f} GB | "
            f"{elapsed:.1f} s | {args.check_rows / elapsed:,.0f} | {peak / 1e6:.0f} MB | "
            f"{cpu:.0f} s | {load_before} → {load_after} |"
        )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print("\n".join(lines))
    print(f"{stamp}; {machine}; generation {generated:.0f} s; counts exact: {exact}")


if __name__ == "__main__":
    main()
