"""Parity between the two daemons at scale: their distributions compared over
the period both logged.

A difference is flagged only when it is both statistically significant and
large enough to matter: Pearson's chi-square test of homogeneity (categories
expected fewer than 5 times pooled) rejects at ``ALPHA``, *and* the total
variation distance between the two distributions (half the summed absolute
differences of their proportions; for a rate, the difference of the two rates)
is at least ``MIN_EFFECT``. Thousands of sessions make tiny differences
significant; the effect floor keeps those from failing a gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import duckdb

from harness.audit.result import Metric, ParityResult, ParityTest
from harness.audit.stats import compare

__all__ = ["ALPHA", "DAEMONS", "MIN_EFFECT", "TEST", "compare_daemons"]

ALPHA: Final = 0.001
MIN_EFFECT: Final = 0.02
DAEMONS: Final = ("gateway", "validatord")
TEST: Final = ParityTest(
    name="Pearson chi-square test of homogeneity",
    alpha=ALPHA,
    effect="total variation distance",
    min_effect=MIN_EFFECT,
)
MIN_SESSIONS: Final = 20  # per daemon; fewer cannot show a distribution

# Each metric: a query over the period's rows giving (daemon, category, count).
_SESSION_METRICS: Final[dict[str, str]] = {
    "verdict_mix": "final_verdict",
    "iterations_per_session": "CAST(iterations AS VARCHAR)",
    "infra_error_rate": (
        "CASE WHEN final_verdict = 'infra_error' THEN 'infra_error' ELSE 'other' END"
    ),
}
_FIRST_SHOT: Final = (
    "CASE WHEN final_verdict = 'accepted' AND iterations = 1 THEN 'first_shot' ELSE 'other' END"
)


def _counts(
    con: duckdb.DuckDBPyConnection, query: str, params: list[object]
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {d: {} for d in DAEMONS}
    for daemon, category, count in con.execute(query, params).fetchall():
        if category is not None:
            counts[daemon][str(category)] = int(count)
    return counts


def _metric(name: str, scope: str | None, counts: Mapping[str, dict[str, int]]) -> Metric:
    first, second = (counts[d] for d in DAEMONS)

    def untested(note: str, effect: float | None) -> Metric:
        return Metric(name, scope, dict(counts), None, None, None, effect, False, note=note)

    if min(sum(first.values()), sum(second.values())) < MIN_SESSIONS:
        return untested(f"fewer than {MIN_SESSIONS} on one side: not tested", None)
    result = compare(first, second)
    if result is None:
        return untested("a single category on both sides: nothing to test", 0.0)
    flagged = result.p_value < ALPHA and result.effect >= MIN_EFFECT
    return Metric(
        name,
        scope,
        dict(counts),
        result.statistic,
        result.df,
        result.p_value,
        result.effect,
        flagged,
    )


def compare_daemons(con: duckdb.DuckDBPyConnection, table: str) -> ParityResult:
    """Compare the daemons' rows in ``table`` (the audited rows, as the audit keeps them)."""
    rows = f"{table} WHERE state = 'row' AND daemon IN {DAEMONS!r}"
    spans = con.execute(
        f"SELECT daemon, min(ts), max(ts), count(*) FROM {rows} GROUP BY daemon"
    ).fetchall()
    present = {daemon: (start, end, n) for daemon, start, end, n in spans}
    missing = [d for d in DAEMONS if d not in present]
    if missing:
        return ParityResult(
            False, f"no rows from {', '.join(missing)}", tuple(sorted(present)), None, None, TEST
        )
    if any(present[d][0] is None for d in DAEMONS):
        return ParityResult(
            False, "a daemon has no row with a valid timestamp", DAEMONS, None, None, TEST
        )
    start = max(present[d][0] for d in DAEMONS)
    end = min(present[d][1] for d in DAEMONS)
    if start > end:
        return ParityResult(
            False, "the daemons' rows do not overlap in time", DAEMONS, None, None, TEST
        )
    period = f"{rows} AND ts BETWEEN ? AND ?"
    params: list[object] = [start, end]
    metrics = [
        _metric(
            name,
            None,
            _counts(con, f"SELECT daemon, {expr}, count(*) FROM {period} GROUP BY ALL", params),
        )
        for name, expr in _SESSION_METRICS.items()
    ]
    by_model: dict[str, dict[str, dict[str, int]]] = {}
    for model, daemon, category, count in con.execute(
        f"SELECT model, daemon, {_FIRST_SHOT}, count(*) FROM {period} GROUP BY ALL ORDER BY 1",
        params,
    ).fetchall():
        by_model.setdefault(str(model), {d: {} for d in DAEMONS})[daemon][category] = int(count)
    metrics += [_metric("first_shot_success_rate", m, c) for m, c in sorted(by_model.items())]
    kinds = _counts(
        con,
        f"SELECT daemon, kind, count(*) FROM (SELECT daemon, unnest(attempt_kinds) AS kind "
        f"FROM {period}) GROUP BY ALL",
        params,
    )
    metrics.append(_metric("attempt_verdict_kinds", None, kinds))
    return ParityResult(
        True, None, DAEMONS, start.isoformat(), end.isoformat(), TEST, tuple(metrics)
    )
