"""Facts said once (``harness.defaults``) and the places that must agree with
them: what the live suites send and what ``parity doctor`` tries, the roster
every default reads and the facts the strategies are written against; the
JSON value type, defined once."""

from __future__ import annotations

import ast
from pathlib import Path

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


def test_the_json_value_type_is_defined_once_in_the_reference() -> None:
    """Every module of the harness and the reference that binds ``JsonValue``
    (an assignment, or an import under that name): one defines it, in the
    reference (which the harness may import, never the reverse), and the
    others import it from there."""
    root = Path(__file__).resolve().parents[1]
    defined: list[str] = []
    imported_from: set[str] = set()
    for path in sorted(
        [*(root / "harness").rglob("*.py"), *(root / "reference_impl").rglob("*.py")]
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (
                [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
            )
            if isinstance(node, ast.Assign | ast.AnnAssign) and any(
                isinstance(t, ast.Name) and t.id == "JsonValue" for t in targets
            ):
                defined.append(str(path.relative_to(root)))
            if isinstance(node, ast.ImportFrom) and any(a.name == "JsonValue" for a in node.names):
                imported_from.add(node.module or "")
    assert defined == ["reference_impl/jsonmodel.py"]
    assert imported_from == {"reference_impl.jsonmodel", "harness.model", "harness.mock_llm.script"}
