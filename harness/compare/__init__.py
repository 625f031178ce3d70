"""Compare a target's output with the reference's and classify every difference.

CONTRACT §5 and §6 are the rules. The pipeline for one pair of outputs, one
module a step:

1. ``parsing``: each side read with a number-preserving parser, so ``1`` and
   ``1.0`` remain distinguishable.
2. ``projection``: a per-suite ``Projection`` strips the volatile fields (§5),
   reduces shape-only fields to a token, and parses strings that hold JSON
   text (its patterns are ``paths``).
3. ``walk``: an exact walk over both projected values maps each change to one
   §6 class (``classify``: the number model). tests/oracle_deepdiff.py holds
   it to deepdiff's differences; deepdiff costs about a hundred times more a
   pair, so the walk is what runs.
4. ``encoding``: only when nothing differs structurally are the bytes
   compared (with the same projection applied to the text as written): a
   difference there is ``encoding_only``.

``blame`` turns the per-target differences of one case into ``Failure``s that
name the target(s) which broke the contract.
"""

from __future__ import annotations

from harness.compare.blame import blame, what_changed
from harness.compare.classify import classify, strictly_equal
from harness.compare.encoding import encoding
from harness.compare.parsing import canonical, parse_output
from harness.compare.paths import JSON_SEGMENT, format_path
from harness.compare.projection import Projection, project, reconcile
from harness.compare.walk import exact
from harness.model import SEVERITY, Difference, DivergenceClass, JsonValue

__all__ = [
    "JSON_SEGMENT",
    "Projection",
    "blame",
    "classify",
    "compare",
    "format_path",
    "matched_difference",
    "parse_output",
    "status_difference",
    "strictly_equal",
    "what_changed",
]


def compare(
    expected: JsonValue,
    actual: JsonValue,
    *,
    expected_text: str,
    actual_text: str,
    projection: Projection,
) -> tuple[Difference, ...]:
    """Every difference of ``actual`` (a target) from ``expected`` (the reference).

    ``expected``/``actual`` are the parsed outputs (``parse_output``) and the
    texts are what was written, for the byte-level ``encoding_only`` check.
    Differences are sorted by path, then class.
    """
    rules = projection.compiled  # first: a bad projection is refused whatever the values
    # Fast paths (most answers agree to the byte, many more in value): values
    # the same in type and spelling project to the same, so only the bytes
    # can differ, and equal texts cannot. What the full path would find.
    if canonical(expected) == canonical(actual):
        if expected_text == actual_text:
            return ()
        if not rules.json_strings:  # encoding then reads the texts only
            return _sorted(encoding(expected, actual, expected_text, actual_text, rules))
    if rules.empty:  # no rule to apply, and the canonical forms differ
        a, b = expected, actual
        found = list(exact(a, b))
    else:
        a, b = project(expected, (), rules), project(actual, (), rules)
        if rules.json_strings:  # otherwise there is no JSON string to reconcile
            a, b = reconcile(a, b)
        found = [] if canonical(a) == canonical(b) else list(exact(a, b))
    if not found:
        found = encoding(a, b, expected_text, actual_text, rules)
    return _sorted(found)


def _sorted(found: list[Difference]) -> tuple[Difference, ...]:
    return tuple(sorted(found, key=lambda d: (d.path, SEVERITY.index(d.cls))))


def status_difference(expected: int, actual: int) -> Difference:
    """The ``status`` difference for two HTTP statuses (call it when they differ)."""
    return Difference(
        cls=DivergenceClass.STATUS,
        path="$",
        expected=expected,
        actual=actual,
        note=f"HTTP status {expected} vs {actual}",
    )


def matched_difference(expected: JsonValue, actual: JsonValue) -> Difference | None:
    """The ``matched`` difference of two extract_json answers, or ``None``.

    When it is not ``None`` it is the only difference to report for the pair:
    the values of a found and a not-found answer are not comparable.
    """
    if not isinstance(expected, dict) or not isinstance(actual, dict):
        return None
    found_e, found_a = expected.get("matched"), actual.get("matched")
    if not isinstance(found_e, bool) or not isinstance(found_a, bool) or found_e == found_a:
        return None
    return Difference(
        cls=DivergenceClass.MATCHED,
        path="$.matched",
        expected=found_e,
        actual=found_a,
        note="one probe found an object, the other did not",
    )
