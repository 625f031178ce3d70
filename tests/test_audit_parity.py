"""Parity between the daemons at scale: a clearly higher infra-error rate on one
side is flagged, a difference of noise is not; and the chi-square p-values
match known quantiles."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness.audit.auditor import audit
from harness.audit.parity import ALPHA, MIN_EFFECT
from harness.audit.stats import chi2_sf, compare
from tests.test_audit_generated import DAEMONS, valid_row


def _log(path: Path, sessions: int, infra_rate: dict[str, float], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as stream:
        for n in range(sessions * 2):
            daemon = DAEMONS[n % 2]
            verdict = (
                "infra_error"
                if rng.random() < infra_rate[daemon]
                else rng.choice(["accepted", "max_iter_exhausted"])
            )
            row = valid_row(n, daemon, verdict, "playbook")
            stream.write(json.dumps(row, separators=(",", ":")) + "\n")


def _metric(path: Path, name: str) -> dict[str, object]:
    result = audit([str(path)])
    found = [m for m in result.to_json()["parity"]["metrics"] if m["name"] == name]
    assert len(found) == 1
    return dict(found[0])


def test_a_clearly_higher_infra_error_rate_is_flagged(tmp_path: Path) -> None:
    log = tmp_path / "sessions.jsonl"
    _log(log, 5000, {"gateway": 0.02, "validatord": 0.08}, seed=3)
    metric = _metric(log, "infra_error_rate")
    assert metric["flagged"] is True
    assert isinstance(metric["p_value"], float) and metric["p_value"] < ALPHA
    assert isinstance(metric["effect"], float) and metric["effect"] >= MIN_EFFECT
    assert audit([str(log)]).exit_code == 1


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_rates_that_differ_only_by_noise_are_not_flagged(tmp_path: Path, seed: int) -> None:
    log = tmp_path / "sessions.jsonl"
    _log(log, 5000, {"gateway": 0.05, "validatord": 0.05}, seed=seed)
    result = audit([str(log)])
    assert not any(m.flagged for m in result.parity.metrics), result.parity.metrics
    assert result.exit_code == 0


def test_a_significant_but_tiny_difference_is_not_flagged() -> None:
    # 200,000 sessions a side: 5.0% against 5.6% is significant, and below the floor.
    first = {"infra_error": 10_000, "other": 190_000}
    second = {"infra_error": 11_200, "other": 188_800}
    result = compare(first, second)
    assert result is not None and result.p_value < ALPHA and result.effect < MIN_EFFECT


def test_one_daemon_alone_is_not_compared(tmp_path: Path) -> None:
    log = tmp_path / "gateway.jsonl"
    log.write_text(
        "".join(json.dumps(valid_row(2 * n, "gateway", "accepted")) + "\n" for n in range(50)),
        encoding="utf-8",
    )
    parity = audit([str(log)]).parity
    assert parity.compared is False and parity.reason == "no rows from validatord"


@pytest.mark.parametrize(
    ("statistic", "df", "p"),
    [
        (3.841458820694124, 1, 0.05),
        (10.827566170662733, 1, 0.001),
        (5.991464547107979, 2, 0.05),
        (16.26623619623813, 3, 0.001),
        (0.1148318, 3, 0.99),
        (124.342, 100, 0.05),
    ],
)
def test_chi_square_p_values_match_known_quantiles(statistic: float, df: int, p: float) -> None:
    assert chi2_sf(statistic, df) == pytest.approx(p, rel=1e-4)
