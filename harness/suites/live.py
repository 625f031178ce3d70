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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st

from harness import compare
from harness.mock_llm import Reply, ScriptedModel, case_marker
from harness.model import REFERENCE, CaseResult, Difference, JsonValue, Observation, Session
from harness.strategies import validate_requests
from harness.suites import registry
from harness.suites.base import LiveSuite
from harness.suites.common import JSON_TYPE
from harness.suites.live_compare import compare_iterate, compare_validate
from harness.targets.http import HttpRequest
from reference_impl.iterate import IterateRequest, RequestError, iterate
from reference_impl.jsonmodel import JsonError, dumps, loads
from reference_impl.roster import Roster
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

    def reference(self, execution: JsonValue) -> Observation:
        outcome = validate_text(_body(execution), self.roster)
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


class Sessions:
    """Fresh sessions on the scripted model, and the reference loop over them.

    ``model`` is the one every runtime's provider points at (one listener per
    target, named after it); the reference reads the same scripts through
    ``ScriptedModel.generator``. ``upstream_timeout_s`` is the daemons' upstream
    timeout, which decides when a slow reply is a failed hop.
    """

    def __init__(
        self, model: ScriptedModel, roster: Roster, *, upstream_timeout_s: float, tag: str | None
    ) -> None:
        self.model = model
        self.roster = roster
        self.tag = tag or secrets.token_hex(3)
        self._counter = itertools.count(1)
        self._generate = model.generator(REFERENCE, timeout_s=upstream_timeout_s)

    def instance(self, case: JsonValue) -> Instance:
        """A fresh session for one execution of ``case``; its script is registered."""
        case = case if isinstance(case, dict) else {}
        raw_id = _SAFE_ID.sub("", str(case.get("id", "")))[:24] or "case"
        session = f"{raw_id}-{self.tag}{next(self._counter):x}"
        self.model.register(session, _replies(case.get("replies")))
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
        return Instance(session, text, headers, sent)

    def forget(self, instance: Instance) -> None:
        self.model.forget(instance.session)

    def reference(self, instance: Instance) -> Observation:
        """The reference loop over the instance's script."""
        try:
            request = IterateRequest.from_json(loads(instance.text))
        except (RequestError, JsonError) as exc:
            # A malformed request is a 400 and no session (decisions §3).
            body = dumps({"error": str(exc)})
            return Observation(REFERENCE, body, status=400, session=Session(instance.session))
        outcome = iterate(
            request,
            trace_id=instance.trace or f"ref-{instance.session}",
            generate=self._generate,
            validate=self._validate_hop,
            roster=self.roster,
            daemon="gateway",
        )
        session = Session(
            instance.session,
            model_calls=tuple(self.model.calls(instance.session, REFERENCE)),
            minted=instance.trace is None,
            row=outcome.record.to_dict(),
        )
        text = outcome.body if isinstance(outcome.body, str) else dumps(outcome.body)
        return Observation(REFERENCE, text, status=outcome.status, session=session)

    def _validate_hop(self, body: dict[str, JsonValue]) -> tuple[int, JsonValue]:
        outcome = validate(body, self.roster)
        return outcome.status, outcome.body

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

    def reference(self, execution: JsonValue) -> Observation:
        assert isinstance(execution, Instance)
        return self.sessions.reference(execution)

    def compare(self, reference: Observation, target: Observation) -> tuple[Difference, ...]:
        return compare_iterate(reference, target)

    def produced(self, result: CaseResult) -> JsonValue | None:
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
        return {
            "origin": self.name,
            "case": result.input,
            "session": session.id,
            "minted": session.minted,
            "row": session.row,
            "answered": answered,
        }


def _replies(script: JsonValue) -> list[Reply]:
    """The case's script (a reproducer edited by hand may break an entry: it
    becomes an empty answer rather than stopping the replay)."""
    replies = []
    for entry in script if isinstance(script, list) else []:
        try:
            replies.append(Reply.from_json(entry))
        except (ValueError, TypeError):
            replies.append(Reply(text=""))
    return replies or [Reply(text="")]


def _what_it_said(observation: Observation) -> dict[str, JsonValue]:
    if observation.status == 502:
        return {"body502": observation.text or ""}
    try:
        body = compare.parse_output(observation.text or "")
    except ValueError:
        return {}
    trace = body.get("trace_id") if isinstance(body, dict) else None
    return {"trace_id": trace} if isinstance(trace, str) else {}
