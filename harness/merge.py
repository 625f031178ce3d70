"""``parity merge SHARD_DIR...``: the reports of ``parity run --shard i/n``
as one run.

The shards must be one run's parts: the same config digest (config, suites,
budget, seed, gate inputs), the same ``n``, every ``i`` once; anything else
is a ``HarnessError`` saying what is missing, given twice or foreign. Their
findings are united (one per fingerprint: the smallest example, the
occurrences summed); the causes are then recomputed on the merging machine
by the engine's causes pass, which replays every minimal case once, so that
one fault found through two minimal cases in two shards is one cause, as in
a single run. Waivers and the baseline apply as they would to a single run
(``Engine.judge``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import schema_store
from harness.coverage import SuiteCoverage
from harness.errors import HarnessError
from harness.model import Finding, RunSummary, SuiteSummary
from harness.reports import read
from harness.suites.base import case_size


@dataclass(frozen=True)
class Shard:
    path: Path
    index: int
    count: int
    document: dict[str, Any]


def load_shards(folders: Sequence[Path]) -> list[Shard]:
    """Every shard's report, checked to be one run's parts, in shard order."""
    if not folders:
        raise HarnessError("parity merge: give the report folders of a run's shards")
    shards = [_load(folder) for folder in folders]
    problems = _problems(shards)
    if problems:
        raise HarnessError("parity merge: " + "; ".join(problems))
    return sorted(shards, key=lambda shard: shard.index)


def _load(folder: Path) -> Shard:
    path = folder / "report.json" if folder.is_dir() else folder
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HarnessError(f"{path}: no report.json (give a shard's report folder)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HarnessError(f"{path}: not a readable report: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema_version") != "3":
        raise HarnessError(f"{path}: not a report of schema version 3 (a shard's report.json)")
    problems = schema_store.errors("report", document)
    if problems:
        raise HarnessError(f"{path}: {problems[0].path}: not a valid report: {problems[0].message}")
    shard = document.get("shard")
    if shard is None:
        raise HarnessError(f"{path}: a whole run, not a shard (run with --shard i/n)")
    return Shard(path, int(shard[0]), int(shard[1]), document)


def _problems(shards: list[Shard]) -> list[str]:
    problems = []
    digests = {shard.document.get("config_digest") for shard in shards}
    if len(digests) > 1:
        by = ", ".join(f"{s.path} ({s.document.get('config_digest')})" for s in shards)
        problems.append(f"the shards are of different runs (config digests differ: {by})")
    counts = {shard.count for shard in shards}
    if len(counts) > 1:
        problems.append(f"the shards split the run differently (n = {sorted(counts)})")
    count = max(counts)
    seen: dict[int, list[Path]] = {}
    for shard in shards:
        seen.setdefault(shard.index, []).append(shard.path)
    for index in range(1, count + 1):
        if index not in seen:
            problems.append(f"shard {index}/{count} is missing")
        elif len(seen[index]) > 1:
            paths = ", ".join(str(p) for p in seen[index])
            problems.append(f"shard {index}/{count} is given {len(seen[index])} times ({paths})")
    return problems


def summary_of(shards: Sequence[Shard]) -> RunSummary:
    """One run's summary from its shards' reports: suites added up,
    findings united (causes are left to the engine)."""
    first = shards[0].document
    summary = RunSummary(
        harness_version=first["harness_version"],
        started_at=min(shard.document["started_at"] for shard in shards),
        profile=first["profile"],
        seed=first["seed"],
        max_time_s=first["max_time_s"],
        fail_on_flaky=bool(first.get("fail_on_flaky")),
        elapsed_s=max(float(shard.document["elapsed_s"]) for shard in shards),
    )
    summary.config_digest = first.get("config_digest")
    summary.min_rule_cases = first.get("min_rule_cases")
    for name in first["suites"]:
        summary.suites.append(_suite(name, shards))
    return summary


def _suite(name: str, shards: Sequence[Shard]) -> SuiteSummary:
    parts = [shard.document["suites"][name] for shard in shards if name in shard.document["suites"]]
    reasons = [p["stop_reason"] for p in parts if p["stop_reason"] != "completed"]
    suite = SuiteSummary(
        suite=name,
        targets=tuple(parts[0]["targets"]),
        cases=sum(p["cases"] for p in parts),
        explored=sum(p["explored"] for p in parts),
        aa_pairs=sum(p["aa_pairs"] for p in parts),
        settled=sum(p["settled"] for p in parts),
        steered=sum(p["steered"] for p in parts),
        coverage=_coverage(name, parts),
        elapsed_s=max(float(p["elapsed_s"]) for p in parts),
        out_of_time=any(p.get("out_of_time") for p in parts),
        stop_reason=reasons[0] if reasons else "completed",
    )
    suite.traceback = next((p["traceback"] for p in parts if p.get("traceback")), None)
    suite.findings = _united(_items(shards, "divergences", name))
    suite.errors = _united(_items(shards, "errors", name))
    return suite


def _items(shards: Sequence[Shard], key: str, suite: str) -> list[dict[str, Any]]:
    return [item for shard in shards for item in shard.document[key] if item["suite"] == suite]


def _coverage(name: str, parts: Sequence[dict[str, Any]]) -> SuiteCoverage | None:
    """The shards' rule counts added up."""
    tallies = [SuiteCoverage.from_json(p["coverage"]) for p in parts if p.get("coverage")]
    if not tallies:
        return None
    merged = SuiteCoverage(name, tallies[0].declared)
    for tally in tallies:
        merged.cases += tally.cases
        merged.counts.update(tally.counts)
    return merged


def _united(items: list[dict[str, Any]]) -> list[Finding]:
    """One finding per fingerprint: the smallest example, occurrences added."""
    by_id: dict[str, Finding] = {}
    for item in items:
        finding = read.finding(item)
        known = by_id.get(finding.id)
        if known is None:
            by_id[finding.id] = finding
            continue
        occurrences = known.occurrences + finding.occurrences
        if case_size(finding.example.input) < case_size(known.example.input):
            known.failure, known.example = finding.failure, finding.example
            known.reproducer = finding.reproducer
        known.occurrences = occurrences
    return sorted(by_id.values(), key=lambda f: f.failure.rank)
