"""The live suites: each runtime's HTTP service against the reference, in process.

* ``validate``: generated ``/v1/validate`` bodies (``strategies.validate_requests``)
  against the roster; status and body compared, each body schema-checked.
* ``iterate``: generated sessions (``strategies.iterate_scenarios``): the
  scripted model plays the same replies to every runtime and to the reference
  loop; status, body (the ``trace_id`` echo included) and the calls each made
  to the model are compared.
* ``faults``: sessions whose model fails on one call (``strategies.fault_scenarios``):
  both runtimes must answer alike.

How an answer is compared is ``suites/live_compare.py``.

Every execution of an ``iterate`` or ``faults`` case is a fresh session:
``executions`` gives it its own id (the prompt's ``[parity-case:...]`` marker,
and the trace header when the case sends one) and registers its script with
the model. A case can therefore run any number of times (shrinking, replays)
and still join to exactly one row; each checked session is ``produced`` for
the derived ``sessions`` suite (``suites/derived.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st

from harness import compare, defaults
from harness.errors import HarnessError
from harness.langfuse.faults import CollectorFault
from harness.mock_llm import Reply, ScriptedModel, case_marker
from harness.mock_llm.model import HOP_FAULTS
from harness.model import (
    REFERENCE,
    CaseResult,
    Difference,
    DivergenceClass,
    JsonValue,
    Observation,
    Session,
)
from harness.strategies import validate_requests
from harness.strategies.collector import HEALTHY
from harness.suites import registry
from harness.suites.base import LiveSuite
from harness.suites.common import JSON_TYPE
from harness.suites.live_compare import compare_iterate, compare_validate
from harness.suites.produced import ProducedSession
from harness.suites.tracing import COLLECTOR_FAULTS, COLLECTOR_RULES, Armed, Tracing
from harness.targets.http import HttpRequest
from reference_impl.iterate import TRACE_HEADER, IterateRequest, RequestError, iterate
from reference_impl.jsonmodel import JsonError, dumps, loads
from reference_impl.roster import Roster
from reference_impl.rules import Hit, Rule, ignore
from reference_impl.trace import expected_tree, stamp_spans
from reference_impl.validate import validate, validate_text

_SAFE_ID: Final = re.compile(r"[^A-Za-z0-9_-]")


# --------------------------------------------------------------------------- the suites


class ValidateSuite(LiveSuite):
    """``/v1/validate`` bodies, answered by the reference's validator."""

    def __init__(self, roster: Roster) -> None:
        self.name = registry.VALIDATE
        self.description = "/v1/validate bodies against the roster (CONTRACT §3)"
        self.strategy = validate_requests()
        self.batch_size = 64
        self.roster = roster

    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        outcome = validate_text(_body(execution), self.roster, hit)
        return Observation(REFERENCE, dumps(outcome.body), status=outcome.status)

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        return compare_validate(reference, target)

    @staticmethod
    def request(target: str, case: JsonValue) -> HttpRequest:
        return HttpRequest(
            "POST",
            "/v1/validate",
            content=_body(case).encode("utf-8", "surrogatepass"),
            headers={"content-type": JSON_TYPE},
        )


def _body(case: JsonValue) -> str:
    return str(case.get("body", "")) if isinstance(case, dict) else ""


@dataclass(frozen=True)
class Instance:
    """One execution of an iterate or faults case."""

    session: str
    text: str  # the request body
    headers: Mapping[str, str]
    trace: str | None  # the trace id sent; None when the runtime mints one
    replies: tuple[Reply, ...] = ()  # the model's script for it
    collector: str | None = None  # the collector fault its tree's delivery meets
    armed: Armed | None = None  # that fault, switched on
    asked: str | None = None  # what the case asked of the collector (a fault or none)


class Sessions:
    """Fresh sessions on the scripted model, and the reference loop over them.

    ``model`` is the one every runtime's provider points at (one listener per
    target, named after it); the reference reads the same scripts through
    ``ScriptedModel.generator``. ``upstream_timeout_s`` is the daemons' upstream
    timeout, which decides when a slow reply is a failed hop.
    """

    def __init__(
        self,
        model: ScriptedModel,
        roster: Roster,
        *,
        upstream_timeout_s: float,
        tag: str | None,
        tracing: Tracing | None = None,
    ) -> None:
        self.model = model
        self.roster = roster
        self.tracing = tracing
        self.tag = tag or secrets.token_hex(3)
        self._counter = itertools.count(1)
        self._timeout_s = upstream_timeout_s

    def instance(self, case: JsonValue) -> Instance:
        """A fresh session for one execution of ``case``; its script is registered."""
        case = case if isinstance(case, dict) else {}
        raw_id = _SAFE_ID.sub("", str(case.get("id", "")))[:24] or "case"
        session = f"{raw_id}-{self.tag}{next(self._counter):x}"
        replies = _replies(case.get("replies"))
        self.model.register(session, replies)
        request = case.get("request")
        if isinstance(request, dict) and isinstance(request.get("prompt"), str):
            request = {**request, "prompt": f"{case_marker(session)} {request['prompt']}"}
        text = json.dumps(request, ensure_ascii=False)
        headers = {"content-type": JSON_TYPE}
        trace = case.get("trace")
        sent: str | None = None
        if isinstance(trace, str):
            name = case.get("header")
            name = name if isinstance(name, str) and name else "X-Lakehouse-Trace-Id"
            sent = trace + session if trace else None
            headers[name] = sent or ""
        asked = case.get("collector")
        collector, armed = self._collector_fault(asked, sent)
        return Instance(
            session, text, headers, sent, tuple(replies), collector, armed,
            asked=str(asked) if asked is not None else None,
        )  # fmt: skip

    def _collector_fault(
        self, mode: JsonValue, trace: str | None
    ) -> tuple[str | None, Armed | None]:
        """The collector fault a case asks for, switched on for its trace id
        (a session whose trace id is minted cannot be singled out)."""
        if mode is None:
            return None, None
        if mode not in COLLECTOR_FAULTS:
            raise HarnessError(
                f"a case's collector fault is one of {COLLECTOR_FAULTS}, not {mode!r:.40}"
            )
        if self.tracing is None or trace is None or mode == HEALTHY:
            return None, None
        return str(mode), self.tracing.arm(trace, str(mode))

    def forget(self, instance: Instance) -> None:
        self.model.forget(instance.session)
        if instance.armed is not None and self.tracing is not None:
            self.tracing.disarm(instance.armed)

    def reference(self, instance: Instance, hit: Hit = ignore) -> Observation:
        """The reference loop over the instance's script; ``hit`` hears the
        rules it went through, the validator's and the model's faults included."""
        try:
            request = IterateRequest.from_json(loads(instance.text))
        except (RequestError, JsonError) as exc:
            # A malformed request is a 400 and no session (decisions §3).
            body = dumps({"error": str(exc)})
            return Observation(REFERENCE, body, status=400, session=Session(instance.session))
        _note_trace(instance, hit)
        if instance.asked is not None:
            hit(COLLECTOR_RULES[instance.asked])

        def validate_hop(body: dict[str, JsonValue]) -> tuple[int, JsonValue]:
            outcome = validate(body, self.roster, hit)
            return outcome.status, outcome.body

        outcome = iterate(
            request,
            trace_id=instance.trace or f"ref-{instance.session}",
            generate=self.model.generator(REFERENCE, timeout_s=self._timeout_s, hit=hit),
            validate=validate_hop,
            roster=self.roster,
            daemon="gateway",
            hit=hit,
        )
        calls = tuple(self.model.calls(instance.session, REFERENCE))
        if hit is not ignore and self._fault_after(instance.replies, len(calls)):
            hit(Rule.FAULT_NOT_REACHED)
        row = outcome.record.to_dict()
        trace_id = instance.trace or f"ref-{instance.session}"
        minted = instance.trace is None
        tree = expected_tree(request, outcome, trace_id=trace_id, minted=minted).to_json()
        if self.tracing is not None:
            row = stamp_spans(row)  # a runtime that traces stamps its spans on the row
        session = Session(
            instance.session,
            model_calls=calls,
            minted=instance.trace is None,
            row=row,
            tree=tree,
            collector=instance.collector,
        )
        text = outcome.body if isinstance(outcome.body, str) else dumps(outcome.body, hit)
        return Observation(REFERENCE, text, status=outcome.status, session=session)

    def _fault_after(self, script: Sequence[Reply], calls: int) -> bool:
        """Whether the session ended before a call the model would have failed."""
        return any(
            reply.fault in HOP_FAULTS
            for reply in (self.model.reply_at(script, i) for i in range(calls, len(script)))
            if reply is not None
        )

    def request(self, target: str, instance: JsonValue) -> HttpRequest:
        assert isinstance(instance, Instance)
        session, model = instance.session, self.model
        return HttpRequest(
            "POST",
            "/v1/iterate",
            content=instance.text.encode("utf-8", "surrogatepass"),
            headers=instance.headers,
            session=session,
            model_calls=lambda: model.calls(session, target),
        )


def _note_trace(instance: Instance, hit: Hit) -> None:
    """How the trace id of a session was chosen (CONTRACT §2)."""
    names = [name for name in instance.headers if name.lower() == "x-lakehouse-trace-id"]
    if instance.trace is None:
        hit(Rule.TRACE_MINTED)
        if names:
            hit(Rule.TRACE_EMPTY_HEADER)
        return
    hit(Rule.TRACE_GIVEN)
    if any(name != TRACE_HEADER for name in names):
        hit(Rule.TRACE_HEADER_CASE)


class SessionSuite(LiveSuite):
    """``/v1/iterate`` sessions (``iterate``, ``faults``): one fresh session per
    execution; each checked session is produced for ``sessions``."""

    def __init__(
        self,
        name: str,
        description: str,
        strategy: st.SearchStrategy[JsonValue],
        sessions: Sessions,
        *,
        batch_size: int,
    ) -> None:
        self.name = name
        self.description = description
        self.strategy = strategy
        self.sessions = sessions
        self.batch_size = batch_size
        self.free_roots = ("$.artifact",)

    @contextlib.contextmanager
    def executions(self, cases: Sequence[JsonValue]) -> Iterator[Sequence[JsonValue]]:
        instances = [self.sessions.instance(case) for case in cases]
        try:
            yield instances
        finally:
            for instance in instances:
                self.sessions.forget(instance)

    def reference(self, execution: JsonValue, hit: Hit = ignore) -> Observation:
        assert isinstance(execution, Instance)
        return self.sessions.reference(execution, hit)

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        return compare_iterate(reference, target) + _waited_on_collector(reference, target)

    def produced(self, result: CaseResult) -> ProducedSession | None:
        """The session this case ran, for the ``sessions`` suite: the row the
        reference writes and what each runtime that answered said."""
        session = result.observations[REFERENCE].session
        if session is None or session.row is None:
            return None  # a 400: no session, no row
        answered = {
            name: _what_it_said(observation)
            for name, observation in result.observations.items()
            if name != REFERENCE and observation.infra is None
        }
        return ProducedSession(
            origin=self.name,
            case=result.input,
            session=session.id,
            minted=session.minted,
            row=session.row,
            answered=answered,
            tree=session.tree,
            collector=session.collector,
            ended_at=time.monotonic(),
        )


def _waited_on_collector(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    """A session whose collector answered late must not be answered late
    (CONTRACT §7: delivery never delays a response)."""
    session = reference.session
    if session is None or session.collector != CollectorFault.SLOW or target.infra is not None:
        return ()
    slow_ms = defaults.COLLECTOR_SLOW_S * 1000
    if target.elapsed_ms is None or target.elapsed_ms < slow_ms:
        return ()
    return (
        Difference(
            DivergenceClass.VALUE,
            "$.elapsed_ms",
            expected=f"< {slow_ms:.0f}",
            actual=round(target.elapsed_ms),
            note=f"answered after {target.elapsed_ms / 1000:.1f} s, waiting on its Langfuse "
            f"collector (which answered after {defaults.COLLECTOR_SLOW_S} s)",
        ),
    )


def _replies(script: JsonValue) -> list[Reply]:
    """The case's script. An entry that does not parse (a reproducer edited
    by hand) is an error naming it: replaying another session instead would
    let ``parity repro`` say "fixed" of a case it never ran."""
    if script is None:
        return [Reply(text="")]
    if not isinstance(script, list):
        raise HarnessError(f"a case's replies are a list of script entries, not {script!r:.80}")
    replies = []
    for index, entry in enumerate(script):
        try:
            replies.append(Reply.from_json(entry))
        except (ValueError, TypeError) as exc:
            raise HarnessError(f"a case's replies[{index}] is not a script entry: {exc}") from exc
    return replies or [Reply(text="")]


def _what_it_said(observation: Observation) -> dict[str, str]:
    if observation.status == 502:
        return {"body502": observation.text or ""}
    try:
        body = compare.parse_output(observation.text or "")
    except ValueError:
        return {}
    trace = body.get("trace_id") if isinstance(body, dict) else None
    return {"trace_id": trace} if isinstance(trace, str) else {}
