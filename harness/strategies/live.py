"""Hypothesis strategies for the live suites: /v1/validate request bodies and
/v1/iterate scenarios (a request, a trace header, the model's scripted replies).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

# ---------------------------------------------------------------------------
# Live cases: /v1/validate requests and /v1/iterate scenarios.
#
# They are written against the fixture roster (fixtures/roster.jsonl): the
# workers below are its facts, so that generated fills are often valid, and
# invalid in one named way when not. Against another roster the same cases
# still run; they are simply rejected more often.
#
# Every case is plain JSON (reproducers store it). A scenario carries its
# model replies as script entries (``harness.mock_llm.Reply.from_json``) and a
# case ``id`` derived from its content; the suite gives each *execution* its
# own session id and prompt marker, so a case can run any number of times.

# (city, state, role) -> the available workers that match, in roster order.
FILL_CONTEXTS: Final = (
    (("Toledo", "OH", "Welder"), ("W-2", "W-3", "W-10")),
    (("Columbus", "OH", "Forklift Operator"), ("W-7", "W-8")),
    (("Louisville", "KY", "Welder"), ("W-1",)),
    (("Louisville", "KY", "Forklift Operator"), ("W-12",)),
    (("Louisville", "KY", "Electrician"), ("W-9",)),
    (("Toledo", "OH", "Electrician"), ("W-4",)),
)
ROSTER_IDS: Final = tuple(f"W-{i}" for i in range(1, 13))
AVAILABLE_IDS: Final = ("W-1", "W-2", "W-3", "W-4", "W-6", "W-7", "W-8", "W-9", "W-10", "W-12")
# For each way a fill can be wrong, a worker that is wrong that way for the
# Toledo/OH/Welder context (the others get a phantom or a duplicate instead).
_WRONG_FOR_TOLEDO_WELDER: Final = {
    "city": "W-1",  # Louisville
    "state": "W-6",  # MI
    "role": "W-4",  # Electrician
    "unavailable": "W-5",
}
_MISSING: Final = object()  # a field left out


def _case_id(prefix: str, case: dict[str, Any]) -> str:
    digest = hashlib.blake2b(json.dumps(case, sort_keys=True).encode(), digest_size=5)
    return prefix + digest.hexdigest()


def _put(obj: dict[str, Any], key: str, value: object) -> None:
    if value is not _MISSING:
        obj[key] = value


# -- /v1/validate ------------------------------------------------------------------

_COUNTS: Final = ("n", "n", "n", "n", 1, 2, 3, 0, -1, 2.0, "2", None, _MISSING, True, 2**64)
_CONTEXT_CHANGES: Final = (
    None, None, None, None, "drop:city", "empty:city", "lower:city", "space:city", "int:state",
    "drop:role", "empty:role", "context:null", "context:array", "context:string",
)  # fmt: skip
_FILL_ENTRIES: Final = (
    "m0", "m1", "m2", "m0", "m1", *ROSTER_IDS, "W-99", "w-2", " W-2", "W-2 ", "", "W-1\u0000",
    "int", "null", "not-object", "no-id", "extra-keys", "W-é",
)  # fmt: skip
_ARTIFACT_CHANGES: Final = (
    None, None, None, None, None, "artifact:null", "artifact:array", "artifact:missing",
    "fills:missing", "fills:object", "fills:string", "fills:null",
)  # fmt: skip
_BAD_KINDS: Final = ("Fill", "", None, 5, _MISSING, "fills", "playbook ", ["fill"])
_NOT_JSON_BODIES: Final = (
    "", " ", "not json", "{", '{"kind": "fill"', "[]", "null", '"fill"', "1", "true",
    '{"kind": "fill"}x', "NaN", "\ufeff{}", "{'kind': 'fill'}", '{"kind": "fill",}',
    '{"kind": "playbook", "artifact": {"title": "t", "steps": ["a"]}} {}',
)  # fmt: skip
_SUBJECTS: Final = (
    "Shift offer", "Shift offer", "", "a" * 200, "a" * 201, "é" * 200, "😀" * 201, "<b>&</b>",
    _MISSING, 5, "e\u0301" * 100, "x" * 199 + "😀",
)  # fmt: skip
_EMAIL_IDS: Final = (*ROSTER_IDS, "W-99", "", 5, _MISSING, None, "w-1")
_STEP_COUNTS: Final = (1, 2, 3, 3, 0, 20, 21)
_STEP_ITEMS: Final = ("step", "step", "", 5, None, "😀 weld", "<script>", " ", ["x"])
_TITLES: Final = ("Weld check", "Weld check", "", _MISSING, 5, "<Admin> & Co", "é" * 300)
_LAYOUT_OPTIONS: Final = st.tuples(
    st.booleans(),  # ensure_ascii
    st.sampled_from(((",", ":"), (", ", ": "), (",\n", ":\t"))),
    st.sampled_from((None, None, None, "extra", "dup-kind", "artifact-first")),
)


def _fill_body(draw: st.DrawFn) -> dict[str, Any]:
    ctx_index, count, change, entries, artifact_change = draw(_FILL_PARTS)
    (city, state, role), matching = FILL_CONTEXTS[ctx_index]
    fills: list[Any] = []
    for entry in entries:
        if entry in ("m0", "m1", "m2"):
            index = int(entry[1])
            fills.append({"candidate_id": matching[index] if index < len(matching) else "W-99"})
        elif entry == "int":
            fills.append({"candidate_id": 5})
        elif entry == "null":
            fills.append({"candidate_id": None})
        elif entry == "not-object":
            fills.append(matching[0])
        elif entry == "no-id":
            fills.append({"name": "Ada"})
        elif entry == "extra-keys":
            fills.append({"candidate_id": matching[0], "note": "<&>", "rate": 1.0})
        else:
            fills.append({"candidate_id": entry})
    context: Any = {"city": city, "state": state, "role": role}
    _put(context, "target_count", len(fills) if count == "n" else count)
    if change is not None:
        what, field = change.split(":")
        if what == "drop":
            context.pop(field)
        elif what == "empty":
            context[field] = ""
        elif what == "lower":
            context[field] = context[field].lower()
        elif what == "space":
            context[field] = context[field] + " "
        elif what == "int":
            context[field] = 5
        else:
            context = {"null": None, "array": [context], "string": city}[field]
    artifact: Any = {"fills": fills}
    if artifact_change is not None:
        what, how = artifact_change.split(":")
        if what == "artifact":
            artifact = {"null": None, "array": fills, "missing": _MISSING}[how]
        else:
            value = {"missing": _MISSING, "object": {"0": fills}, "string": "W-2", "null": None}
            artifact = {"fills": value[how]} if how != "missing" else {}
    body: dict[str, Any] = {"kind": "fill"}
    _put(body, "artifact", artifact)
    body["context"] = context
    return body


def _email_body(draw: st.DrawFn) -> dict[str, Any]:
    wanted, same, other, subject, text = draw(_EMAIL_PARTS)
    context: dict[str, Any] = {}
    _put(context, "candidate_id", wanted)
    artifact: dict[str, Any] = {}
    _put(artifact, "candidate_id", wanted if same else other)
    _put(artifact, "subject", subject)
    _put(artifact, "body", text)
    return {"kind": "email", "artifact": artifact, "context": context}


def _playbook_body(draw: st.DrawFn) -> dict[str, Any]:
    title, count, item, position, context = draw(_PLAYBOOK_PARTS)
    steps: list[Any] = [f"Step {i + 1}" for i in range(count)]
    if steps:
        steps[min(position, count - 1)] = item if item != "step" else steps[0]
    artifact: dict[str, Any] = {"steps": steps}
    _put(artifact, "title", title)
    body: dict[str, Any] = {"kind": "playbook", "artifact": artifact}
    _put(body, "context", context)
    return body


_FILL_PARTS: Final = st.tuples(
    st.integers(0, len(FILL_CONTEXTS) - 1),
    st.sampled_from(_COUNTS),
    st.sampled_from(_CONTEXT_CHANGES),
    st.lists(st.sampled_from(_FILL_ENTRIES), max_size=4),
    st.sampled_from(_ARTIFACT_CHANGES),
)
_EMAIL_PARTS: Final = st.tuples(
    st.sampled_from(_EMAIL_IDS),
    st.booleans(),
    st.sampled_from(_EMAIL_IDS),
    st.sampled_from(_SUBJECTS),
    st.sampled_from(("Hello, can you work Monday?", "", _MISSING, ["x"], "Grüße 😀 <b>")),
)
_PLAYBOOK_PARTS: Final = st.tuples(
    st.sampled_from(_TITLES),
    st.sampled_from(_STEP_COUNTS),
    st.sampled_from(_STEP_ITEMS),
    st.integers(0, 20),
    st.sampled_from((_MISSING, None, {"city": "Toledo"}, "ignored")),
)
_VALIDATE_SHAPE: Final = st.sampled_from(
    ("fill", "fill", "fill", "email", "email", "playbook", "playbook", "bad-kind", "not-json")
)


def _render_body(body: dict[str, Any], layout: tuple[bool, tuple[str, str], str | None]) -> str:
    ascii_only, separators, twist = layout
    if twist == "extra":
        body = {**body, "note": "unknown fields are ignored <&>"}
    elif twist == "artifact-first":
        body = dict(reversed(list(body.items())))
    text = json.dumps(body, ensure_ascii=ascii_only, separators=separators)
    if twist == "dup-kind" and text.startswith("{") and len(text) > 2:
        # The last of two equal keys wins (serde_json and encoding/json agree).
        text = '{"kind"' + separators[1] + '"nonsense"' + separators[0] + text[1:]
    return text


@st.composite
def validate_requests(draw: st.DrawFn) -> dict[str, str]:
    """``{"body": text}``: a /v1/validate request body, mostly JSON, against the
    fixture roster: valid fills, emails and playbooks, and each way the contract
    says they fail (phantom ids, wrong city/state/role, duplicates, wrong counts,
    wrong shapes, unknown kinds, non-JSON bodies)."""
    shape = draw(_VALIDATE_SHAPE)
    if shape == "not-json":
        return {"body": draw(st.sampled_from(_NOT_JSON_BODIES))}
    if shape == "fill":
        body = _fill_body(draw)
    elif shape == "email":
        body = _email_body(draw)
    elif shape == "playbook":
        body = _playbook_body(draw)
    else:
        body = _playbook_body(draw)
        del body["kind"]
        _put(body, "kind", draw(st.sampled_from(_BAD_KINDS)))
    return {"body": _render_body(body, draw(_LAYOUT_OPTIONS))}


# -- /v1/iterate ------------------------------------------------------------------

# What one model reply holds, before it is wrapped in prose or fences.
_CONTENTS: Final = (
    "valid", "valid", "valid", "valid_extra", "valid_unicode", "no_json", "no_json_array",
    "broken_json", "invalid", "invalid", "invalid", "invalid_shape", "empty",
)  # fmt: skip
_WRAPPERS: Final = (
    "bare", "bare", "prose", "fenced", "fenced_plain", "fence_then_prose", "long", "two",
    "pretty",
)  # fmt: skip
_NO_JSON_TEXTS: Final = (
    "I am sorry, I cannot find suitable workers.",
    "Voilà — aucun résultat. 你好 😀",
    "<p>No JSON &amp; no luck</p>",
)
# Number literals in an otherwise valid artifact: each is what the contract's
# number model says it is, and a runtime that keeps a different value diverges.
_EXTRA_LITERALS: Final = ("1.0", "12345678901234567890", "1E2", "-0", "0.1", "9007199254740993")
# A model answer longer than the 2000 characters history keeps: the cut falls
# inside this padding, between multi-byte characters.
_LONG_PADDING: Final = "Réflexion 😀 " * 160 + "\n"
_PROMPTS: Final = (
    "Find {n} welders for the Toledo night shift.",
    'Trouve des soudeurs à Toledo — 你好 😀 <b>&amp;</b> "quoted" \\ back',
    "Plain prompt\nwith a newline\tand a tab",
    "x" * 3990 + "é😀" * 20,
    "Long " + "ça 😀 " * 900,
)
_SYSTEMS: Final = (
    _MISSING, _MISSING, "You are a staffing assistant. Answer with JSON only.",
    "Système : réponds en JSON 😀 <&>", "",
)  # fmt: skip
_MAX_ITERATIONS: Final = (_MISSING, _MISSING, 0, 1, 2, 3, 4, 5, None)
_TRACES: Final = (None, None, "", "t-", "trace.", "T_")
_HEADER_NAMES: Final = ("X-Lakehouse-Trace-Id", "x-lakehouse-trace-id")
_SAMPLING: Final = (
    (_MISSING, _MISSING), (_MISSING, _MISSING), (0.7, 256), (0, 1), (1, _MISSING),
    (None, None), (0.25, 4096),
)  # fmt: skip
_MODELS: Final = (("ollama_cloud", "kimi-k2.6"), ("openai", "gpt-4o-mini"), ("mock", "scripted"))


@dataclass(frozen=True)
class _Task:
    """What a scenario asks the model for: the kind, its context and artifacts."""

    kind: str
    context: Any  # _MISSING for none

    def valid(self) -> dict[str, Any]:
        if self.kind == "fill":
            ids = _matching(self.context)
            return {"fills": [{"candidate_id": i} for i in ids[: self.context["target_count"]]]}
        if self.kind == "email":
            return {
                "candidate_id": self.context["candidate_id"],
                "subject": "Shift offer",
                "body": "Hello, can you work Monday?",
            }
        return {"title": "Weld check", "steps": ["Inspect the joint", "Weld", "Grind"]}

    def invalid(self, variant: int) -> dict[str, Any]:
        """A well-formed artifact that fails validation in one way."""
        if self.kind == "fill":
            fills = self.valid()["fills"]
            wrong = ("W-99", "W-1", "W-6", "W-4", "W-5")[variant % 5]
            if variant % 7 == 5:
                return {"fills": [*fills, fills[0]]}  # a duplicate (and a wrong count)
            if variant % 7 == 6:
                return {"fills": fills[:-1]}  # one too few
            return {"fills": [*fills[:-1], {"candidate_id": wrong}]}
        if self.kind == "email":
            other = ("W-99", "W-3", "")[variant % 3]
            return {**self.valid(), "candidate_id": other}
        steps = ([], [f"s{i}" for i in range(21)], ["ok", ""])[variant % 3]
        return {"title": "Weld check", "steps": steps}

    def bad_shape(self, variant: int) -> Any:
        if self.kind == "fill":
            return ({"fills": {"candidate_id": "W-2"}}, {"fills": [{"id": "W-2"}]}, {})[variant % 3]
        if self.kind == "email":
            return ({"candidate_id": "W-2"}, {"subject": 5, "body": "b", "candidate_id": "W-2"})[
                variant % 2
            ]
        return ({"steps": ["a"]}, {"title": "t", "steps": "a"})[variant % 2]


def _matching(context: dict[str, Any]) -> tuple[str, ...]:
    key = (context["city"], context["state"], context["role"])
    return next(ids for ctx, ids in FILL_CONTEXTS if ctx == key)


def _artifact_text(task: _Task, content: str, variant: int) -> str | None:
    """The JSON text of one reply's artifact, or None for a reply without JSON."""
    if content in ("valid", "valid_extra", "valid_unicode"):
        artifact = task.valid()
        if content == "valid_unicode":
            artifact = {**artifact, "note": 'Grüße 😀 <b>&</b> \u2028 "q"'}
        text = json.dumps(artifact, ensure_ascii=variant % 2 == 0)
        if content == "valid_extra":
            literal = _EXTRA_LITERALS[variant % len(_EXTRA_LITERALS)]
            text = text[:-1] + f', "n": {literal}}}'
        return text
    if content == "invalid":
        return json.dumps(task.invalid(variant))
    if content == "invalid_shape":
        return json.dumps(task.bad_shape(variant))
    return None


def _reply_text(task: _Task, content: str, wrapper: str, variant: int) -> str:
    if content == "empty":
        return ""
    if content == "no_json_array":
        return '```json\n[{"candidate_id": "W-2"}]\n```' if variant % 2 else "[1, 2, 3]"
    if content == "broken_json":
        return '{"fills": [{"candidate_id": "W-2"}' if variant % 2 else "{ not json }"
    text = _artifact_text(task, content, variant)
    if text is None:
        return _NO_JSON_TEXTS[variant % len(_NO_JSON_TEXTS)]
    if wrapper == "prose":
        return f"Here is the artifact: {text} Let me know if you need more."
    if wrapper == "fenced":
        return f"```json\n{text}\n```"
    if wrapper == "fenced_plain":
        return f"```\n{text}\n```"
    if wrapper == "fence_then_prose":
        return f"Sure!\n```json\n{text}\n```\nAnything else? {{not json}}"
    if wrapper == "long":
        return _LONG_PADDING[: 1990 + variant % 12] + text
    if wrapper == "two":
        return json.dumps(task.invalid(variant)) + " or rather " + text
    if wrapper == "pretty":
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text


_FILL_TASKS: Final = tuple(
    {"target_count": n, "city": c, "state": s, "role": r}
    for (c, s, r), ids in FILL_CONTEXTS
    for n in range(1, min(len(ids), 3) + 1)
)
_TASKS: Final = (
    tuple(_Task("fill", ctx) for ctx in _FILL_TASKS),
    tuple(_Task("email", {"candidate_id": i}) for i in AVAILABLE_IDS),
    tuple(_Task("playbook", c) for c in (_MISSING, None, {"note": "ignored"})),
)
# A scenario is decoded from one draw of random bytes: Hypothesis pays per
# choice, and a scenario has some thirty of them. (Live cases are reduced by
# the engine's JSON reducer, not by Hypothesis, so nothing is lost.)
_SCENARIO_BYTES: Final = 32
_SCENARIO_DATA: Final = st.binary(min_size=_SCENARIO_BYTES, max_size=_SCENARIO_BYTES)


class _Choices:
    """Choices read one byte at a time from a drawn byte string."""

    def __init__(self, data: bytes) -> None:
        self.data = data or b"\x00"
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos % len(self.data)]
        self.pos += 1
        return value

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.byte() % len(options)]

    def task(self) -> _Task:
        return self.pick(self.pick(_TASKS))  # type: ignore[no-any-return]

    def request_parts(self) -> list[Any]:
        return [
            self.byte() % len(_PROMPTS),
            self.pick(_SYSTEMS),
            self.pick(_MAX_ITERATIONS),
            self.pick(_TRACES),
            self.pick(_HEADER_NAMES),
            self.pick(_SAMPLING),
            self.pick(_MODELS),
        ]


def _scenario(prefix: str, task: _Task, parts: Sequence[Any], replies: list[Any]) -> dict[str, Any]:
    prompt_index, system, max_iterations, trace, header, (temperature, max_tokens), pm = parts
    request: dict[str, Any] = {
        "kind": task.kind,
        "prompt": _PROMPTS[prompt_index].replace("{n}", str(len(replies))),
        "provider": pm[0],
        "model": pm[1],
    }
    _put(request, "system", system)
    _put(request, "context", task.context)
    _put(request, "max_iterations", max_iterations)
    _put(request, "temperature", temperature)
    _put(request, "max_tokens", max_tokens)
    case: dict[str, Any] = {"request": request, "trace": trace, "replies": replies}
    if trace is not None:
        case["header"] = header
    return {"id": _case_id(prefix, case), **case}


@st.composite
def iterate_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """One /v1/iterate session: the request, the trace header, and the model's
    replies in order (no JSON, invalid and valid artifacts, prose around JSON,
    fences, long answers); ``max_iterations`` absent, null, or 0 to 5; with
    and without a system prompt; unicode and over-4000-character prompts."""
    choices = _Choices(draw(_SCENARIO_DATA))
    task = choices.task()
    replies = [
        _reply_text(task, choices.pick(_CONTENTS), choices.pick(_WRAPPERS), choices.byte() % 42)
        for _ in range(1 + choices.byte() % 5)
    ]
    return _scenario("i", task, choices.request_parts(), replies)


# A fault, then what the model says if it is asked again.
_FAULTS: Final = (
    {"fault": "http_500"}, {"fault": "http_500"}, {"fault": "drop"}, {"fault": "drop"},
    {"fault": "not_json"}, {"fault": "not_json"}, {"fault": "hang"}, {"fault": "no_content"},
    {"text": None}, "slow",
)  # fmt: skip
_BEFORE_FAULT: Final = ("no_json", "invalid", "invalid_shape", "empty")


@st.composite
def fault_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A session whose model fails on one call: HTTP 500, a hang past the
    daemon's upstream timeout, a dropped connection, a body that is not JSON
    (each a 502 and an ``infra_error`` row), or a reply without content, a
    null content or a slow answer (each an ordinary attempt)."""
    choices = _Choices(draw(_SCENARIO_DATA))
    task = choices.task()
    before = choices.byte() % 3
    replies: list[Any] = [
        _reply_text(task, choices.pick(_BEFORE_FAULT), "bare", choices.byte() % 42)
        for _ in range(before)
    ]
    fault = choices.pick(_FAULTS)
    valid = _reply_text(task, "valid", "bare", 0)
    if fault == "slow":
        replies.append({"text": valid, "delay_s": 0.05})
    else:
        replies.extend([fault, valid])
    parts = choices.request_parts()
    # Mostly reach the fault: max_iterations past the calls before it.
    parts[2] = choices.pick((_MISSING, before + 1, 5, before + 1, 0, None))
    return _scenario("f", task, parts, replies)
