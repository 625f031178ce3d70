"""``report.json``: the machine-readable report (``schemas/report.json``).

The other formats render this document, so everything a reader sees is here.
Inputs and outputs are model-produced text: they are stored as JSON strings
(escaped by the encoder) and never interpreted.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Final

from harness.model import (
    BaselineOutcome,
    Cause,
    Finding,
    JsonValue,
    RunSummary,
    SuiteSummary,
    generalise_path,
)
from harness.reports.common import jsonable, ordered_targets, write_text

SCHEMA_VERSION: Final = "3"
FILENAME: Final = "report.json"

Report = dict[str, Any]


def replay_command(finding: Finding) -> str | None:
    """The command line that replays a finding's saved reproducer, if there is one."""
    if finding.reproducer is None:
        return None
    return f"parity repro {shlex.quote(finding.reproducer)}"


def _differences(finding: Finding) -> list[dict[str, JsonValue]]:
    out: list[dict[str, JsonValue]] = []
    failure = finding.failure
    for target in ordered_targets(finding.example.differences):
        for diff in finding.example.differences[target]:
            this = (
                target in failure.blamed
                and diff.cls == failure.cls
                and generalise_path(diff.path) == failure.path
            )
            out.append({"target": target, **jsonable(diff.to_json()), "this_finding": this})
    return out


def finding_json(finding: Finding, suite: SuiteSummary) -> Report:
    failure, example = finding.failure, finding.example
    outputs = {
        name: jsonable(example.observations[name].to_json())
        for name in ordered_targets(example.observations)
    }
    return {
        "id": finding.id,
        "suite": failure.suite,
        "class": str(failure.cls),
        "path": failure.path,
        "targets": list(suite.targets),
        "blamed": list(failure.blamed),
        "message": failure.message,
        "waived": finding.waived_by,
        "exempt": finding.exempt,
        "occurrences": finding.occurrences,
        "seed": finding.seed,
        "input": jsonable(example.input),
        "outputs": outputs,
        "differences": _differences(finding),
        "reproducer": finding.reproducer,
        "replay": replay_command(finding),
        "cause": finding.cause,
    }


def cause_json(cause: Cause) -> Report:
    out: Report = {
        "id": cause.id,
        "blamed": list(cause.blamed),
        "summary": cause.summary,
        "trigger": jsonable(cause.trigger.to_json()),
        "findings": [finding.id for finding in cause.findings],
        "occurrences": cause.occurrences,
        "fails_gate": cause.fails_gate,
        "waived": cause.waived_by,
        "suites": sorted({finding.failure.suite for finding in cause.findings}),
        "first_seen": cause.first_seen,
        "last_seen": cause.last_seen,
    }
    if cause.status is not None:
        out["new"] = cause.new
        out["status"] = str(cause.status)
        out["new_findings"] = list(cause.new_findings)
    if cause.flakiness is not None:
        flaky = cause.flakiness
        out["flaky"] = {"shown": flaky.shown, "replays": flaky.replays, "flaky": flaky.flaky}
    return out


def _baseline_json(outcome: BaselineOutcome | None) -> Report | None:
    if outcome is None:
        return None
    return {
        "source": outcome.source,
        "schema_version": outcome.schema_version,
        "known": list(outcome.known),
        "fixed": [cause.to_json() for cause in outcome.fixed],
        "unobserved": [cause.to_json() for cause in outcome.unobserved],
        "base": outcome.base,
        "verified": outcome.verified,
        "pre_existing": list(outcome.pre_existing),
    }


def _suite_json(suite: SuiteSummary) -> Report:
    return {
        "cases": suite.cases,
        "divergences": len(suite.findings),
        "waived": suite.waived,
        "errors": len(suite.errors),
        "elapsed_s": float(suite.elapsed_s),
        "targets": list(suite.targets),
        **({"traceback": suite.traceback} if suite.traceback is not None else {}),
        **({"share_s": suite.share_s} if suite.share_s is not None else {}),
        **({"out_of_time": True} if suite.out_of_time else {}),
        **({"replayed": suite.replayed} if suite.replayed else {}),
        "explored": suite.explored,
        "aa_pairs": suite.aa_pairs,
        "settled": suite.settled,
        "steered": suite.steered,
        "coverage": suite.coverage.to_json() if suite.coverage is not None else None,
        "stop_reason": suite.stop_reason,
    }


def build(summary: RunSummary) -> Report:
    """The report document (valid against ``schemas/report.json``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "harness_version": summary.harness_version,
        "started_at": summary.started_at,
        "profile": summary.profile,
        "seed": summary.seed,
        "config_path": summary.config_path,
        "config_digest": summary.config_digest,
        "exit_code": summary.exit_code,
        "elapsed_s": float(summary.elapsed_s),
        "suites": {suite.suite: _suite_json(suite) for suite in summary.suites},
        "causes": [cause_json(cause) for cause in summary.causes],
        "baseline": _baseline_json(summary.baseline),
        "max_time_s": summary.max_time_s,
        "shard": list(summary.shard) if summary.shard is not None else None,
        "fail_on_flaky": summary.fail_on_flaky,
        "min_rule_cases": summary.min_rule_cases,
        "uncovered": list(summary.uncovered),
        "declared_volatile": list(summary.declared_volatile),
        "divergences": [finding_json(f, s) for s in summary.suites for f in s.findings],
        "errors": [finding_json(f, s) for s in summary.suites for f in s.errors],
        "expired_waivers": list(summary.expired_waivers),
        "waivers": [use.to_json() for use in summary.waivers],
    }


def render(report: Report) -> str:
    # ensure_ascii=False keeps model text readable; allow_nan=False because
    # NaN is not JSON (jsonable() already turned non-finite floats into text).
    return json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def write(report: Report, report_dir: Path) -> Path:
    return write_text(report_dir / FILENAME, render(report))
