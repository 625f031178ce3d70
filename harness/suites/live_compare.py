"""How a runtime's answer to a live case is compared with the reference's
(CONTRACT §3, §2): ``compare_validate`` for ``/v1/validate``,
``compare_iterate`` for ``/v1/iterate`` (the body, then the calls each made to
the model). Byte-equal bodies take a shortcut before any parsing; only a body
that differs is schema-checked.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from harness import compare, volatile
from harness.model import Difference, DivergenceClass, JsonValue, Observation
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
from reference_impl.iterate import FAILED_PREFIX, FAILED_SUFFIX, NO_JSON_SUFFIX

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


def retry_parts(content: JsonValue) -> JsonValue:
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
                {**m, "content": retry_parts(m.get("content"))} if isinstance(m, dict) else m
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
    if compare.strictly_equal(ours, theirs):
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
        if compare.strictly_equal(ours, theirs):
            continue
        prefix = f"$.model_calls[{index}]"
        if ours.keys() != theirs.keys():
            whole = compare.compare(
                ours, theirs, expected_text="", actual_text="", projection=_ONE_CALL
            )
            found += _under(prefix, whole)
            continue
        for key in ours:
            if not compare.strictly_equal(ours[key], theirs[key]):
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
