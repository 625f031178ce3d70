"""Hypothesis strategies for the live suites: /v1/validate request bodies and
/v1/iterate scenarios (a request, a trace header, the model's scripted replies).

Every choice is a native Hypothesis draw, and every menu lists its plainest
option first: Hypothesis shrinks ``sampled_from`` towards the first element,
integers towards the lower bound, booleans towards ``False`` and lists towards
fewer elements. The engine shrinks live cases with Hypothesis alone, so every
case drawn here is admissible by construction (an iterate request valid
against ``schemas/iterate-request.json``, replies ``Reply.from_json`` reads,
a trace header name that is an HTTP token).

Invalid cases are built from sets of faults named after the validator's
checks (``CHECKS``, in the order they run), often two adjacent ones at once:
an order of checks is only tested by a case that breaks both.
``benchmarks/check_pairs.py`` counts how often each adjacent pair is reached.

Every case is plain JSON (reproducers store it). A scenario carries its model
replies as script entries (``harness.mock_llm.Reply.from_json``) and a case
``id`` derived from its content; the suite gives each *execution* its own
session id and prompt marker, so a case can run any number of times.

``checks`` (the validator's checks in order, the fault sets), ``roster_facts``
(the fixture roster, which worker breaks which check), ``artifacts`` (fills,
emails and playbooks that break a set of checks), ``validate_bodies``
(``validate_requests``), ``scenarios`` (``iterate_scenarios``), ``faults``
(``fault_scenarios``).
"""

from __future__ import annotations

from harness.strategies.live.faults import fault_scenarios
from harness.strategies.live.scenarios import iterate_scenarios
from harness.strategies.live.validate_bodies import validate_requests

__all__ = ["fault_scenarios", "iterate_scenarios", "validate_requests"]
