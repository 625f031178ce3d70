"""The live suites: each runtime's HTTP service against the reference, in process.

* ``validate``: generated ``/v1/validate`` bodies (``strategies.validate_requests``)
  against the roster; status and body compared, each body schema-checked.
* ``iterate``: generated sessions (``strategies.iterate_scenarios``): the
  scripted model plays the same replies to every runtime and to the reference
  loop; status, body (the ``trace_id`` echo included) and the calls each made
  to the model are compared.
* ``faults``: sessions whose model fails on one call (``strategies.fault_scenarios``):
  both runtimes must answer alike.

Every execution of an ``iterate`` or ``faults`` case is a fresh session:
``executions`` gives it its own id (the prompt's ``[parity-case:...]`` marker,
and the trace header when the case sends one) and registers its script with
the model. A case can therefore run any number of times (shrinking, replays)
and still join to exactly one row; each checked session is ``produced`` for
the derived ``sessions`` suite (``suites/derived.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st

from harness import compare, volatile
from harness.errors import HarnessError
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
from harness.suites.base import LiveSuite
from harness.suites.common import (
    HOP_FAILED,
    JSON_TYPE,
    PLAIN_TYPE,
    compare_answers,
    content_type_differences,
    infra_differences,
    parsed_body,
    schema_list,
    status_differences,
)
from harness.suites.produced import ProducedSession
from harness.targets.http import HttpRequest
from reference_impl.iterate import (
    FAILED_PREFIX,
    FAILED_SUFFIX,
    NO_JSON_SUFFIX,
    TRACE_HEADER,
    IterateRequest,
    RequestError,
    iterate,
)
from reference_impl.jsonmodel import JsonError, dumps, loads
from reference_impl.roster import Roster
from reference_impl.rules import Hit, Rule, ignore
from reference_impl.validate import validate, validate_text

_SAFE_ID: Final = re.compile(r"[^A-Za-z0-9_-]")


# --------------------------------------------------------------------------- validate

_NO_PROJECTION: Final = compare.Projection()
_VALIDATE_SCHEMAS: Final = {200: "validate-report", 422: "validate-error"}


def compare_validate(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    infra = infra_differences(target)
    if infra is not None:
        return infra
    found = status_differences(reference, target)
    actual = parsed_body(target.text)
    if isinstance(actual, Difference):
        return (*found, actual)
    body: tuple[Difference, ...] = ()
    if not found:
        same = _same_bytes(reference, target, minted=False)
        if isinstance(same, Difference):
            body = (same,)
        elif same is False:
            expected = compare.parse_output(reference.text or "")
            body = compare_answers(reference, target, expected, actual, _NO_PROJECTION)
    schema = _VALIDATE_SCHEMAS.get(target.status or 0)
    if schema is not None and (found or _diverges(body)):
        found += schema_list(schema, actual)
    found += content_type_differences(target, JSON_TYPE)
    return (*found, *body)


# --------------------------------------------------------------------------- iterate

_ITERATE_SCHEMAS: Final = {
    200: "iterate-success",
    422: "iterate-failure",
    400: "iterate-bad-request",
}
_HISTORY_ERRORS: Final = ("$.history[*].status.error",)
ITERATE_PROJECTION: Final = compare.Projection(json_strings=_HISTORY_ERRORS)
ITERATE_MINTED_PROJECTION: Final = compare.Projection(
    shape_only=volatile.MINTED_TRACE.shape_only, json_strings=_HISTORY_ERRORS
)
# decisions §3: a 400 is {"error": "<message>"}, the message text is free.
BAD_REQUEST_PROJECTION: Final = compare.Projection(shape_only={"$.error": r"(?s).*"})
CALLS_PROJECTION: Final = compare.Projection(
    json_strings=("$.model_calls[*].messages[*].content.validation_error",)
)


def _retry_parts(content: JsonValue) -> JsonValue:
    """A user message split into the original prompt and the retry feedback, so
    that the validation error inside it is compared as JSON (CONTRACT §6)."""
    if not isinstance(content, str):
        return content
    if content.endswith(NO_JSON_SUFFIX):
        return {"prompt": content[: -len(NO_JSON_SUFFIX)], "retry": "no_json"}
    head, sep, rest = content.partition(FAILED_PREFIX)
    if sep and rest.endswith(FAILED_SUFFIX):
        return {"prompt": head, "validation_error": rest[: -len(FAILED_SUFFIX)]}
    return content


def _model_calls(observation: Observation) -> list[JsonValue]:
    session = observation.session
    calls = session.model_calls if session is not None and session.model_calls else ()
    out = []
    for call in calls:
        if not isinstance(call, dict):
            out.append(call)
            continue
        call = dict(call)
        messages = call.get("messages")
        if isinstance(messages, list):
            call["messages"] = [
                {**m, "content": _retry_parts(m.get("content"))} if isinstance(m, dict) else m
                for m in messages
            ]
        out.append(call)
    return out


def _compare_calls(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    """What each asked the model, call by call (retry prompts included).

    Calls and their fields are compared one by one, so that a difference in
    one number does not make the whole list (long prompts and all) go through
    the structural diff.
    """
    ours, theirs = _recorded_calls(reference), _recorded_calls(target)
    if ours is None or theirs is None:
        return ()
    if _strictly_equal(ours, theirs):
        return ()  # the same calls, value for value and type for type
    expected, actual = _model_calls(reference), _model_calls(target)
    if len(expected) != len(actual) or not all(isinstance(c, dict) for c in (*expected, *actual)):
        return compare.compare(
            {"model_calls": expected},
            {"model_calls": actual},
            expected_text="",
            actual_text="",
            projection=CALLS_PROJECTION,
        )
    found: list[Difference] = []
    for index, (ours, theirs) in enumerate(zip(expected, actual, strict=True)):
        if _strictly_equal(ours, theirs):
            continue
        prefix = f"$.model_calls[{index}]"
        if ours.keys() != theirs.keys():
            whole = compare.compare(
                ours, theirs, expected_text="", actual_text="", projection=_ONE_CALL
            )
            found += _under(prefix, whole)
            continue
        for key in ours:
            if not _strictly_equal(ours[key], theirs[key]):
                projection = _MESSAGES if key == "messages" else _NO_PROJECTION
                differences = compare.compare(
                    ours[key], theirs[key], expected_text="", actual_text="", projection=projection
                )
                found += _under(f"{prefix}{compare.format_path([key])[1:]}", differences)
    return tuple(found)


_ONE_CALL: Final = compare.Projection(json_strings=("$.messages[*].content.validation_error",))
_MESSAGES: Final = compare.Projection(json_strings=("$[*].content.validation_error",))


def _recorded_calls(observation: Observation) -> list[JsonValue] | None:
    session = observation.session
    if session is None or session.model_calls is None:
        return None
    return list(session.model_calls)


def _under(prefix: str, differences: tuple[Difference, ...]) -> list[Difference]:
    return [dataclasses.replace(d, path=prefix + d.path[1:]) for d in differences]


_TRACE_FIELD: Final = re.compile(r'"trace_id":"(' + volatile.ID_SHAPE + r')"')


def _same_bytes(reference: Observation, target: Observation, minted: bool) -> Difference | bool:
    """A shortcut for the common case, before any parsing: ``True`` when the
    body is byte for byte the reference's (so no difference of any kind),
    an ``encoding_only`` difference when only a trailing newline differs, and
    ``False`` when the full comparison must decide.

    A minted trace id is swapped for the reference's first, when both have
    the id shape and appear once, as the comparison's projection would
    reduce both to the same shape token anyway.
    """
    expected, actual = reference.text or "", target.text or ""
    if minted:
        ours, theirs = _TRACE_FIELD.findall(expected), _TRACE_FIELD.findall(actual)
        if len(ours) != 1 or len(theirs) != 1 or actual.count(theirs[0]) != 1:
            return False
        actual = actual.replace(f'"trace_id":"{theirs[0]}"', f'"trace_id":"{ours[0]}"')
    if actual == expected:
        return True
    if actual.endswith("\n") and actual.rstrip("\n\r\t ") == expected:
        return Difference(
            DivergenceClass.ENCODING_ONLY,
            "$",
            expected=expected[-24:],
            actual=actual[-24:],
            note="same value, different bytes: white space after the body",
        )
    return False


def _strictly_equal(a: JsonValue, b: JsonValue) -> bool:
    """Equal as JSON values of the contract's number model: unlike ``==``,
    ``1`` is not ``1.0``, ``True`` is not ``1`` and ``-0.0`` is not ``0.0``
    (key order does not matter)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_strictly_equal, a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def _diverges(differences: tuple[Difference, ...]) -> bool:
    return any(d.cls is not DivergenceClass.ENCODING_ONLY for d in differences)


def _iterate_consistency(status: int | None, body: JsonValue) -> list[Difference]:
    """What the schemas cannot say: ``iterations`` agrees with the history."""
    if not isinstance(body, dict) or not isinstance(body.get("history"), list):
        return []
    history, iterations = body["history"], body.get("iterations")
    found = []
    if status == 200 and iterations != len(history):
        found.append("iterations is not the number of history entries")
    if status == 200 and history and (history[-1] or {}).get("status") != {"kind": "accepted"}:
        found.append("the last history entry is not the accepted one")
    if status == 422 and iterations != len(history):
        found.append("iterations is not the number of history entries")
    return [Difference(DivergenceClass.SCHEMA, "$.iterations", note=n) for n in found]


def _hop_failed(reference: Observation, target: Observation) -> list[Difference]:
    """The 502 body: the prefix exactly; the detail after it is free (decisions §3)."""
    text = target.text or ""
    found = content_type_differences(target, PLAIN_TYPE)
    match = HOP_FAILED.match(reference.text or "")
    if match is not None and not text.startswith(match.group(0)):
        found.append(
            Difference(
                DivergenceClass.VALUE,
                "$",
                expected=match.group(0) + "…",
                actual=text[:400],
                note="the 502 body starts with this prefix; the detail after it is free",
            )
        )
    return found


def compare_iterate(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    infra = infra_differences(target)
    if infra is not None:
        return infra
    found = status_differences(reference, target)
    calls = _compare_calls(reference, target)
    if target.status == 502:
        if reference.status == 502:
            found += _hop_failed(reference, target)
        return (*found, *calls)
    minted = reference.session is not None and reference.session.minted
    same = _same_bytes(reference, target, minted) if not found else False
    if same is not False:
        shortcut = (same,) if isinstance(same, Difference) else ()
        return (*found, *content_type_differences(target, JSON_TYPE), *shortcut, *calls)
    actual = parsed_body(target.text)
    if isinstance(actual, Difference):
        return (*found, actual, *calls)
    body: tuple[Difference, ...] = ()
    if not found:
        projection = ITERATE_PROJECTION
        if target.status == 400:
            projection = BAD_REQUEST_PROJECTION
        elif minted:
            projection = ITERATE_MINTED_PROJECTION
        expected = compare.parse_output(reference.text or "")
        body = compare_answers(reference, target, expected, actual, projection)
    found += _schema_where_it_differs(target.status, actual, found, body)
    found += content_type_differences(target, JSON_TYPE)
    return (*found, *body, *calls)


def _schema_where_it_differs(
    status: int | None, actual: JsonValue, found: list[Difference], body: tuple[Difference, ...]
) -> list[Difference]:
    """Schema violations of a body that differs from the reference's.

    A body equal to the reference's after projection (trace ids reduced to
    their shape, JSON strings compared as JSON) is schema-valid exactly when
    the reference's is, and the reference's bodies are (tests/test_live_suites.py
    checks that over generated scenarios); so only a divergent body is
    checked, which keeps the jsonschema walk off the common path.
    """
    schema = _ITERATE_SCHEMAS.get(status or 0)
    if schema is None or not (found or _diverges(body)):
        return []
    return schema_list(schema, actual) + _iterate_consistency(status, actual)


# --------------------------------------------------------------------------- the suites


class ValidateSuite(LiveSuite):
    """``/v1/validate`` bodies, answered by the reference's validator."""

    def __init__(self, roster: Roster) -> None:
        self.name = "validate"
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
        return Instance(session, text, headers, sent, tuple(replies))

    def forget(self, instance: Instance) -> None:
        self.model.forget(instance.session)

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
        session = Session(
            instance.session,
            model_calls=calls,
            minted=instance.trace is None,
            row=outcome.record.to_dict(),
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
        return compare_iterate(reference, target)

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
