"""The live suites: each runtime's HTTP service against the reference, in process.

* ``validate``: generated ``/v1/validate`` bodies (``strategies.validate_requests``)
  against the roster; status and body compared, each body schema-checked.
* ``iterate``: generated sessions (``strategies.iterate_scenarios``): the
  scripted model plays the same replies to every runtime and to the reference
  loop; status, body (the ``trace_id`` echo included) and the calls each made
  to the model are compared.
* ``faults``: sessions whose model fails on one call (``strategies.fault_scenarios``):
  both runtimes must answer alike.
* ``sessions``: after those two, the session log of each runtime holds exactly
  one row per session it answered, schema-valid and equal to the reference's
  row once the volatile fields are stripped (CONTRACT §4, §5).

Every execution of a case is a fresh session: ``prepare`` gives it its own id
(the prompt's ``[parity-case:...]`` marker, and the trace header when the case
sends one) and registers its script with the model. A case can therefore run
any number of times (shrinking, replays) and still join to exactly one row.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from harness import compare, schema_store
from harness.mock_llm import CASE_MARKER_RE, Reply, ScriptedModel, case_marker
from harness.model import (
    REFERENCE,
    CaseChecked,
    Difference,
    DivergenceClass,
    Event,
    JsonValue,
    Observation,
)
from harness.strategies import fault_scenarios, iterate_scenarios, validate_requests
from harness.suites import (
    Cases,
    Suite,
    infra_differences,
    parsed_or_difference,
    schema_differences,
)
from harness.targets.http import HttpRequest, LogLookup, Route
from reference_impl.iterate import IterateRequest, RequestError, iterate
from reference_impl.jsonmodel import JsonError, dumps, loads
from reference_impl.roster import Roster
from reference_impl.text import cut
from reference_impl.validate import validate, validate_text

LIVE_SUITES: Final = ("validate", "iterate", "faults", "sessions")
SESSION_ORIGINS: Final = ("iterate", "faults")
JSON_TYPE: Final = "application/json"
PLAIN_TYPE: Final = "text/plain"
# docs/decisions.md §3: the 502 body; what follows the prefix is implementation-defined.
HOP_FAILED: Final = re.compile(r"/v1/chat hop failed at iter (\d+): ")
INFRA_ERROR_LIMIT: Final = 800
_SAFE_ID: Final = re.compile(r"[^A-Za-z0-9_-]")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# CONTRACT §5, for rows read from a live log.
_ROW_DROP: Final = ("$.timestamp", "$.daemon", "$.duration_ms")
_SPAN: Final = {"$.attempts[*].span_id": r"(?s).+"}


# --------------------------------------------------------------------------- helpers


def _schema(name: str, value: JsonValue) -> list[Difference]:
    return list(schema_differences(name, value))


def _parsed(text: str | None) -> JsonValue | Difference:
    return parsed_or_difference(text, cls=DivergenceClass.SCHEMA, note="the body is not JSON")


def _content_type(observation: Observation, wanted: str) -> list[Difference]:
    headers = observation.extra.get("headers") or {}
    got = headers.get("content-type", "") if isinstance(headers, dict) else ""
    if got.split(";")[0].strip().lower() == wanted:
        return []
    return [
        Difference(
            DivergenceClass.VALUE,
            "$<content-type>",
            expected=wanted,
            actual=got or None,
            note="Content-Type of the response",
        )
    ]


def _status(reference: Observation, target: Observation) -> list[Difference]:
    if reference.status == target.status or reference.status is None or target.status is None:
        return []
    return [compare.status_difference(reference.status, target.status)]


def _session_key(line: str) -> str | None:
    """The session a log line belongs to: the marker at the start of its prompt."""
    match = CASE_MARKER_RE.search(line)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- validate

_NO_PROJECTION: Final = compare.Projection()
_VALIDATE_SCHEMAS: Final = {200: "validate-report", 422: "validate-error"}


def compare_validate(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    infra = infra_differences(target)
    if infra is not None:
        return infra
    found = _status(reference, target)
    actual = _parsed(target.text)
    if isinstance(actual, Difference):
        return (*found, actual)
    body: tuple[Difference, ...] = ()
    if not found:
        same = _same_bytes(reference, target, minted=False)
        if isinstance(same, Difference):
            body = (same,)
        elif same is False:
            body = compare.compare(
                compare.parse_output(reference.text or ""),
                actual,
                expected_text=reference.text or "",
                actual_text=target.text or "",
                projection=_NO_PROJECTION,
            )
    schema = _VALIDATE_SCHEMAS.get(target.status or 0)
    if schema is not None and (found or _diverges(body)):
        found += _schema(schema, actual)
    found += _content_type(target, JSON_TYPE)
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
    shape_only={"$.trace_id": compare.ID_SHAPE}, json_strings=_HISTORY_ERRORS
)
# decisions §3: a 400 is {"error": "<message>"}, the message text is free.
BAD_REQUEST_PROJECTION: Final = compare.Projection(shape_only={"$.error": r"(?s).*"})
_NO_JSON_RETRY: Final = (
    "\n\nYour previous attempt did not contain a JSON object. "
    "Reply with ONLY a valid JSON object matching the requested artifact shape."
)
_FAILED_RETRY: Final = "\n\nPrior attempt failed validation:\n"
_FAILED_RETRY_END: Final = (
    "\n\nFix the specific issue above and respond with a corrected JSON object."
)
CALLS_PROJECTION: Final = compare.Projection(
    json_strings=("$.model_calls[*].messages[*].content.validation_error",)
)


def _retry_parts(content: JsonValue) -> JsonValue:
    """A user message split into the original prompt and the retry feedback, so
    that the validation error inside it is compared as JSON (CONTRACT §6)."""
    if not isinstance(content, str):
        return content
    if content.endswith(_NO_JSON_RETRY):
        return {"prompt": content[: -len(_NO_JSON_RETRY)], "retry": "no_json"}
    head, sep, rest = content.partition(_FAILED_RETRY)
    if sep and rest.endswith(_FAILED_RETRY_END):
        return {"prompt": head, "validation_error": rest[: -len(_FAILED_RETRY_END)]}
    return content


def _model_calls(observation: Observation) -> list[JsonValue]:
    calls = observation.extra.get("upstream") or []
    out = []
    for call in calls if isinstance(calls, list) else []:
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
    if "upstream" not in reference.extra or "upstream" not in target.extra:
        return ()
    if _strictly_equal(reference.extra["upstream"], target.extra["upstream"]):
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


def _under(prefix: str, differences: tuple[Difference, ...]) -> list[Difference]:
    return [dataclasses.replace(d, path=prefix + d.path[1:]) for d in differences]


_TRACE_FIELD: Final = re.compile(r'"trace_id":"(' + compare.ID_SHAPE + r')"')


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
    found = _content_type(target, PLAIN_TYPE)
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
    found = _status(reference, target)
    calls = _compare_calls(reference, target)
    if target.status == 502:
        if reference.status == 502:
            found += _hop_failed(reference, target)
        return (*found, *calls)
    minted = bool(reference.extra.get("minted"))
    same = _same_bytes(reference, target, minted) if not found else False
    if same is not False:
        shortcut = (same,) if isinstance(same, Difference) else ()
        return (*found, *_content_type(target, JSON_TYPE), *shortcut, *calls)
    actual = _parsed(target.text)
    if isinstance(actual, Difference):
        return (*found, actual, *calls)
    body: tuple[Difference, ...] = ()
    if not found:
        projection = ITERATE_PROJECTION
        if target.status == 400:
            projection = BAD_REQUEST_PROJECTION
        elif minted:
            projection = ITERATE_MINTED_PROJECTION
        body = compare.compare(
            compare.parse_output(reference.text or ""),
            actual,
            expected_text=reference.text or "",
            actual_text=target.text or "",
            projection=projection,
        )
    found += _schema_where_it_differs(target.status, actual, found, body)
    found += _content_type(target, JSON_TYPE)
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
    return _schema(schema, actual) + _iterate_consistency(status, actual)


# --------------------------------------------------------------------------- sessions


@functools.lru_cache(maxsize=256)
def row_projection(minted: bool, infra_prefix: str | None) -> compare.Projection:
    shape = dict(_SPAN)
    if minted:
        shape["$.session_id"] = compare.ID_SHAPE
    if infra_prefix is not None:
        shape["$.attempts[0].error"] = re.escape(infra_prefix) + r"(?s:.*)"
    return compare.Projection(
        drop=_ROW_DROP, shape_only=shape, json_strings=("$.attempts[*].error",)
    )


def _infra_prefix(row: JsonValue) -> str | None:
    if not isinstance(row, dict) or row.get("final_verdict") != "infra_error":
        return None
    attempts = row.get("attempts")
    first = attempts[0] if isinstance(attempts, list) and attempts else None
    error = first.get("error") if isinstance(first, dict) else None
    match = HOP_FAILED.match(error) if isinstance(error, str) else None
    return match.group(0) if match else None


def compare_sessions(reference: Observation, target: Observation) -> tuple[Difference, ...]:
    answered = reference.extra.get("answered") or {}
    if target.target not in answered:
        return ()  # that runtime never answered this session: nothing to join
    infra = infra_differences(target)
    if infra is not None:
        return infra
    session = reference.extra.get("session")
    lines = (target.text or "").split("\n") if target.text else []
    where = target.extra.get("log", "its session log")
    if not lines:
        return (
            Difference(
                DivergenceClass.MISSING_FIELD,
                "$",
                expected="one row",
                actual="no row",
                note=f"no row for session {session} in {where}",
            ),
        )
    found: list[Difference] = []
    if len(lines) > 1:
        found.append(
            Difference(
                DivergenceClass.EXTRA_FIELD,
                "$",
                expected=1,
                actual=len(lines),
                note=f"{len(lines)} rows for session {session} in {where}: one per session",
            )
        )
    actual = _parsed(lines[0])
    if isinstance(actual, Difference):
        return (*found, actual)
    found += _schema("session-record", actual)
    seen = answered[target.target] or {}
    found += _row_matches_answer(actual, seen)
    expected = compare.parse_output(reference.text or "")
    minted = bool(reference.extra.get("minted"))
    projection = row_projection(minted, _infra_prefix(expected))
    found += compare.compare(
        expected,
        actual,
        expected_text=reference.text or "",
        actual_text=lines[0],
        projection=projection,
    )
    return tuple(found)


def _row_matches_answer(row: JsonValue, seen: Mapping[str, Any]) -> list[Difference]:
    """The row agrees with the runtime's own answer: the minted trace id it
    echoed, and the 502 body it sent (cut to 800 characters, decisions §3)."""
    if not isinstance(row, dict):
        return []
    found = []
    echoed = seen.get("trace_id")
    if isinstance(echoed, str) and row.get("session_id") != echoed:
        found.append(
            Difference(
                DivergenceClass.VALUE,
                "$.session_id",
                expected=echoed,
                actual=row.get("session_id"),
                note="the row's session_id is not the trace_id the response echoed",
            )
        )
    body = seen.get("body502")
    attempts = row.get("attempts")
    if isinstance(body, str) and isinstance(attempts, list) and attempts:
        error = attempts[0].get("error") if isinstance(attempts[0], dict) else None
        if error != cut(body, INFRA_ERROR_LIMIT):
            found.append(
                Difference(
                    DivergenceClass.VALUE,
                    "$.attempts[0].error",
                    expected=cut(body, INFRA_ERROR_LIMIT)[:400],
                    actual=error[:400] if isinstance(error, str) else error,
                    note="the infra_error row's error is not the 502 body it answered",
                )
            )
    return found


class SessionLedger:
    """Every session the iterate and faults suites sent, for the sessions suite.

    A listener: it reads ``CaseChecked`` events, so shrinking and replays are
    recorded too (each execution wrote its own row).
    """

    def __init__(self) -> None:
        self._entries: list[dict[str, JsonValue]] = []

    def __call__(self, event: Event) -> None:
        if not isinstance(event, CaseChecked) or event.suite not in SESSION_ORIGINS:
            return
        result = event.result
        reference = result.observations.get(REFERENCE)
        if reference is None or "row" not in reference.extra:
            return
        answered: dict[str, JsonValue] = {}
        for name, observation in result.observations.items():
            if name != REFERENCE and observation.infra is None:
                answered[name] = _what_it_said(observation)
        self._entries.append(
            {
                "origin": event.suite,
                "case": result.input,
                "session": reference.extra["session"],
                "minted": reference.extra.get("minted", False),
                "row": reference.extra["row"],
                "answered": answered,
            }
        )

    def collect(self) -> Cases:
        entries, self._entries = self._entries, []
        return list(entries)

    def __len__(self) -> int:
        return len(self._entries)


def _what_it_said(observation: Observation) -> dict[str, JsonValue]:
    if observation.status == 502:
        return {"body502": observation.text or ""}
    try:
        body = compare.parse_output(observation.text or "")
    except ValueError:
        return {}
    trace = body.get("trace_id") if isinstance(body, dict) else None
    return {"trace_id": trace} if isinstance(trace, str) else {}


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Instance:
    """One execution of an iterate or faults case."""

    session: str
    text: str  # the request body
    headers: Mapping[str, str]
    trace: str | None  # the trace id sent; None when the runtime mints one


class LiveSuites:
    """The live suites of one run, bound to its scripted model and roster.

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
        upstream_timeout_s: float = 120.0,
        tag: str | None = None,
    ) -> None:
        self.model = model
        self.roster = roster
        self.upstream_timeout_s = upstream_timeout_s
        self.tag = tag or secrets.token_hex(3)
        self.ledger = SessionLedger()
        self._counter = itertools.count(1)
        self._generate = model.generator(REFERENCE, timeout_s=upstream_timeout_s)
        self.suites: dict[str, Suite] = {
            "validate": Suite(
                name="validate",
                description="/v1/validate bodies against the roster (CONTRACT §3)",
                strategy=validate_requests(),
                reference=self._reference_validate,
                encoding=None,
                compare=compare_validate,
                batch_size=64,
                free_roots=(),
                shrink_batches=False,
            ),
            "iterate": Suite(
                name="iterate",
                description="/v1/iterate sessions over a scripted model (CONTRACT §2)",
                strategy=iterate_scenarios(),
                reference=self._reference_iterate,
                encoding=None,
                compare=compare_iterate,
                batch_size=128,
                free_roots=("$.artifact",),
                prepare=self._prepare,
                release=self._release,
                shrink_batches=False,
                admissible=admissible_scenario,
            ),
            "faults": Suite(
                name="faults",
                description="/v1/iterate when the model fails (502 and an infra_error row)",
                strategy=fault_scenarios(),
                reference=self._reference_iterate,
                encoding=None,
                compare=compare_iterate,
                batch_size=100,
                free_roots=("$.artifact",),
                prepare=self._prepare,
                release=self._release,
                shrink_batches=False,
                admissible=admissible_scenario,
            ),
            "sessions": Suite(
                name="sessions",
                description="one schema-valid log row per session and runtime (CONTRACT §4)",
                strategy=validate_requests(),  # unused: the cases are collected
                reference=self._reference_session,
                encoding=None,
                compare=compare_sessions,
                batch_size=128,
                free_roots=("$.artifact",),
                collect=self.ledger.collect,
                shrink_batches=False,
            ),
        }

    # -- what targets send -----------------------------------------------------

    def routes(self) -> dict[str, Route]:
        return {
            "validate": self._validate_request,
            "iterate": self._iterate_request,
            "faults": self._iterate_request,
            "sessions": LogLookup(key=lambda case: str(case["session"]), row_key=_session_key),
        }

    @staticmethod
    def _validate_request(target: str, case: JsonValue) -> HttpRequest:
        body = case.get("body", "") if isinstance(case, dict) else ""
        return HttpRequest(
            "POST",
            "/v1/validate",
            content=str(body).encode("utf-8", "surrogatepass"),
            headers={"content-type": JSON_TYPE},
        )

    def _iterate_request(self, target: str, instance: JsonValue) -> HttpRequest:
        assert isinstance(instance, Instance)
        session, model = instance.session, self.model
        return HttpRequest(
            "POST",
            "/v1/iterate",
            content=instance.text.encode("utf-8", "surrogatepass"),
            headers=instance.headers,
            extra={"session": session},
            after=lambda: {"upstream": model.calls(session, target)},
        )

    # -- sessions: one per execution -----------------------------------------------

    def _prepare(self, cases: Cases) -> Cases:
        return [self.instance(case) for case in cases]

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

    def _release(self, instances: Cases) -> None:
        for instance in instances:
            if isinstance(instance, Instance):
                self.model.forget(instance.session)

    # -- the reference ---------------------------------------------------------------

    def _reference_validate(self, case: JsonValue) -> Observation:
        body = case.get("body", "") if isinstance(case, dict) else ""
        outcome = validate_text(str(body), self.roster)
        return Observation(REFERENCE, dumps(outcome.body), status=outcome.status)

    def _validate_hop(self, body: dict[str, JsonValue]) -> tuple[int, JsonValue]:
        outcome = validate(body, self.roster)
        return outcome.status, outcome.body

    def _reference_iterate(self, instance: JsonValue) -> Observation:
        assert isinstance(instance, Instance)
        extra: dict[str, JsonValue] = {"session": instance.session}
        try:
            request = IterateRequest.from_json(loads(instance.text))
        except (RequestError, JsonError) as exc:
            # A malformed request is a 400 and no session (decisions §3).
            return Observation(REFERENCE, dumps({"error": str(exc)}), status=400, extra=extra)
        trace = instance.trace or f"ref-{instance.session}"
        outcome = iterate(
            request,
            trace_id=trace,
            generate=self._generate,
            validate=self._validate_hop,
            roster=self.roster,
            daemon="gateway",
        )
        text = outcome.body if isinstance(outcome.body, str) else dumps(outcome.body)
        extra["minted"] = instance.trace is None
        extra["row"] = outcome.record.to_dict()
        extra["upstream"] = self.model.calls(instance.session, REFERENCE)
        return Observation(REFERENCE, text, status=outcome.status, extra=extra)

    @staticmethod
    def _reference_session(case: JsonValue) -> Observation:
        assert isinstance(case, dict)
        return Observation(
            REFERENCE,
            dumps(case["row"]),
            extra={
                "session": case["session"],
                "minted": case.get("minted", False),
                "answered": case.get("answered", {}),
            },
        )


def admissible_scenario(case: JsonValue) -> bool:
    """A well-formed iterate request (the suites send no others, decisions §3)
    and a script of valid replies."""
    if not isinstance(case, dict):
        return False
    replies, trace, header = case.get("replies"), case.get("trace"), case.get("header", "x")
    if not isinstance(replies, list) or not replies:
        return False
    if not isinstance(header, str) or not _HEADER_NAME.fullmatch(header):
        return False
    if trace is not None and not isinstance(trace, str):
        return False
    try:
        [Reply.from_json(reply) for reply in replies]
    except (ValueError, TypeError):
        return False
    return not schema_store.errors("iterate-request", case.get("request"))


def _replies(script: JsonValue) -> list[Reply]:
    """The case's script; entries a reduced case broke become empty answers."""
    replies = []
    for entry in script if isinstance(script, list) else []:
        try:
            replies.append(Reply.from_json(entry))
        except (ValueError, TypeError):
            replies.append(Reply(text=""))
    return replies or [Reply(text="")]


__all__ = [
    "LIVE_SUITES",
    "Instance",
    "LiveSuites",
    "SessionLedger",
    "compare_iterate",
    "compare_sessions",
    "compare_validate",
]
