"""Facts said once (``harness.defaults``) and the places that must agree with
them: what the live suites send and what ``parity doctor`` tries, the roster
every default reads and the facts the strategies are written against."""

from __future__ import annotations

from benchmarks import check_pairs
from harness import defaults, runner
from harness.strategies import fault_scenarios, iterate_scenarios
from harness.strategies.live.roster_facts import AVAILABLE_IDS, ROSTER_IDS
from reference_impl.roster import load_roster


def test_the_suites_send_every_provider_the_doctor_tries_and_no_other() -> None:
    """`parity doctor` tells a deployment routing by provider to send each of
    ``defaults.PROVIDERS`` to the harness's model: the suites send those."""
    sent = {
        (case["request"]["provider"], case["request"]["model"])
        for strategy in (iterate_scenarios(), fault_scenarios())
        for case in check_pairs.draw_cases(strategy, 300)
    }
    assert set(sent) == set(defaults.PROVIDERS)


def test_the_default_roster_holds_the_workers_the_strategies_are_written_for() -> None:
    path = runner.default_config().run.roster
    assert path == defaults.PROJECT_ROOT / defaults.ROSTER
    roster = load_roster(path)
    assert tuple(roster) == ROSTER_IDS
    assert tuple(i for i in roster if roster[i].available) == AVAILABLE_IDS
