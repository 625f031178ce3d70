"""/v1/iterate scenarios: a request, a trace header and the model's scripted
replies (no JSON, invalid and valid artifacts, prose and fences around them)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

from harness import defaults
from harness.strategies.live.artifacts import (
    EMAIL_TEXT,
    MISSING,
    PLAYBOOK_STEPS,
    email_case,
    fill_case,
    playbook_case,
    put,
)
from harness.strategies.live.checks import ARTIFACT_CHECKS, SEMANTIC, WORKER_SET, with_later
from harness.strategies.live.roster_facts import AVAILABLE_IDS, FILL_CONTEXTS, first_wrong


def case_id(prefix: str, case: dict[str, Any]) -> str:
    digest = hashlib.blake2b(json.dumps(case, sort_keys=True).encode(), digest_size=5)
    return prefix + digest.hexdigest()


# -- /v1/iterate ------------------------------------------------------------------

# What one model reply holds, before it is wrapped in prose or fences.
_CONTENTS: Final = st.sampled_from(
    (
        "valid", "valid", "valid", "invalid", "invalid", "invalid", "invalid", "invalid_shape",
        "invalid_shape", "valid_extra", "valid_unicode", "no_json", "no_json_array",
        "broken_json", "empty",
    )
)  # fmt: skip
_WRAPPERS: Final = st.sampled_from(
    ("bare", "bare", "prose", "fenced", "fenced_plain", "fence_then_prose", "long", "two", "pretty")
)  # fmt: skip
_NO_JSON_TEXTS: Final = st.sampled_from(
    ("I cannot help.", "Voilà — aucun résultat. 你好 😀", "<p>No JSON &amp; no luck</p>")
)
# Number literals in an otherwise valid artifact (one to three): each is what
# the contract's number model says it is, and a runtime that keeps a different
# value diverges.
_EXTRA_LITERALS: Final = st.lists(
    st.sampled_from(("1.0", "12345678901234567890", "1E2", "-0", "0.1", "9007199254740993")),
    min_size=1,
    max_size=3,
    unique=True,
)
# A model answer longer than the 2000 characters history keeps: the cut falls
# in the artifact after the padding, or inside the padding, whose characters
# around the cut are all multi-byte (a cut in bytes would split one).
_LONG_PADDING: Final = ("Réflexion 😀 " * 166)[:1980] + "😀é" * 20 + "\n"
_PROMPTS: Final = (
    "Reply in JSON.",
    'Trouve des soudeurs à Toledo — 你好 😀 <b>&amp;</b> "quoted" \\ back',
    "Plain prompt\nwith a newline\tand a tab",
    "x" * 3990 + "é😀" * 20,
    "Long " + "ça 😀 " * 900,
)
_PROMPT_INDEX: Final = st.integers(0, len(_PROMPTS) - 1)
_SYSTEMS: Final = st.sampled_from(
    (
        MISSING, MISSING, "You are a staffing assistant. Answer with JSON only.",
        "Système : réponds en JSON 😀 <&>", "",
    )
)  # fmt: skip
_MAX_ITERATIONS: Final = st.sampled_from((MISSING, MISSING, 0, 1, 2, 3, 4, 5, None))
_TRACES: Final = st.sampled_from((None, None, "", "t-", "trace.", "T_"))
_HEADER_NAMES: Final = st.sampled_from(("X-Lakehouse-Trace-Id", "x-lakehouse-trace-id"))
_SAMPLING: Final = st.sampled_from(
    (
        (MISSING, MISSING), (MISSING, MISSING), (0.7, 256), (0, 1), (1, MISSING),
        (None, None), (0.25, 4096),
    )
)  # fmt: skip
_MODELS: Final = st.sampled_from(defaults.PROVIDERS)


@dataclass(frozen=True)
class _Task:
    """What a scenario asks the model for: the kind, its context and artifacts."""

    kind: str
    context: Any  # MISSING for none

    def valid(self) -> dict[str, Any]:
        if self.kind == "fill":
            ids = _matching(self.context)
            return {"fills": [{"candidate_id": i} for i in ids[: self.context["target_count"]]]}
        if self.kind == "email":
            return {
                "candidate_id": self.context["candidate_id"],
                "subject": "Shift offer",
                "body": EMAIL_TEXT,
            }
        return {"title": "Weld check", "steps": list(PLAYBOOK_STEPS)}

    def first_faults(self, semantic: bool) -> st.SearchStrategy[str]:
        """The checks an invalid artifact of this task may break first: of its
        shape, or past it; each one the task's context can have as the answer
        (a worker wrong first in that field exists for its place; an email
        names a worker of the roster, so a phantom is always also a mismatch)."""
        every = ARTIFACT_CHECKS[self.kind]
        checks = [c for c in every if (c in SEMANTIC) == semantic]
        if self.kind == "fill":
            place = _place_index(self.context)
            checks = [c for c in checks if c not in WORKER_SET or first_wrong(place, c)]
        if self.kind == "email":
            # Past its shape an email has one check that can answer: any check
            # then, else every invalid email would be the same mismatch.
            checks = [c for c in (every if semantic else checks) if c != "phantom"]
        # A playbook's checks are all of its shape.
        return st.sampled_from(checks or every)

    def invalid(self, draw: st.DrawFn, first: st.SearchStrategy[str]) -> Any:
        """An artifact that breaks a check ``first`` draws, and maybe later ones."""
        faults = frozenset(with_later(draw, self.kind, draw(first)))
        if self.kind == "fill":
            place = _place_index(self.context)
            target = self.context["target_count"]
            return fill_case(draw, place, target, faults, free=False)[1]
        if self.kind == "email":
            return email_case(draw, self.context["candidate_id"], faults, free=False)[1]
        return playbook_case(draw, faults, free=False)


def _place_index(context: dict[str, Any]) -> int:
    key = (context["city"], context["state"], context["role"])
    return next(i for i, (place, _) in enumerate(FILL_CONTEXTS) if place == key)


def _matching(context: dict[str, Any]) -> tuple[str, ...]:
    return FILL_CONTEXTS[_place_index(context)][1]


def _artifact_text(draw: st.DrawFn, task: _Faulty, content: str) -> str:
    """The JSON text of one reply's artifact."""
    if content == "invalid":
        return json.dumps(task.task.invalid(draw, task.semantic))
    if content == "invalid_shape":
        return json.dumps(task.task.invalid(draw, task.shape))
    artifact = task.task.valid()
    if content == "valid_unicode":
        artifact = {**artifact, "note": 'Grüße 😀 <b>&</b> \u2028 "q"'}
        return json.dumps(artifact, ensure_ascii=draw(st.booleans()))
    text = json.dumps(artifact)
    if content == "valid_extra":
        extra = draw(_EXTRA_LITERALS)
        pairs = zip("nmk", extra, strict=False)
        text = text[:-1] + "".join(f', "{key}": {literal}' for key, literal in pairs) + "}"
    return text


@dataclass(frozen=True)
class _Faulty:
    """A task and the checks its invalid artifacts break first (built once)."""

    task: _Task
    semantic: st.SearchStrategy[str]
    shape: st.SearchStrategy[str]

    @classmethod
    def of(cls, task: _Task) -> _Faulty:
        return cls(task, task.first_faults(semantic=True), task.first_faults(semantic=False))


def _wrapped(draw: st.DrawFn, task: _Faulty, text: str) -> str:
    """``text`` as the model might frame it (the wrapper is drawn after the
    content: shrinking settles the content first)."""
    wrapper = draw(_WRAPPERS)
    if wrapper == "prose":
        return f"Here is the artifact: {text} Let me know if you need more."
    if wrapper == "fenced":
        return f"```json\n{text}\n```"
    if wrapper == "fenced_plain":
        return f"```\n{text}\n```"
    if wrapper == "fence_then_prose":
        return f"Sure!\n```json\n{text}\n```\nAnything else? {{not json}}"
    if wrapper == "long":
        return _LONG_PADDING[: 1990 + draw(st.integers(0, 23))] + text
    if wrapper == "two":
        return json.dumps(task.task.invalid(draw, task.semantic)) + " or rather " + text
    if wrapper == "pretty":
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return text


def _reply_text(draw: st.DrawFn, task: _Faulty, content: str, *, wrap: bool) -> str:
    if content == "empty":
        return ""
    if content == "no_json":
        return draw(_NO_JSON_TEXTS)
    if content == "no_json_array":
        return '```json\n[{"candidate_id": "W-2"}]\n```' if draw(st.booleans()) else "[1, 2, 3]"
    if content == "broken_json":
        return '{"fills": [{"candidate_id": "W-2"}' if draw(st.booleans()) else "{ not json }"
    text = _artifact_text(draw, task, content)
    return _wrapped(draw, task, text) if wrap else text


_FILL_TASKS: Final = tuple(
    {"target_count": n, "city": c, "state": s, "role": r}
    for (c, s, r), ids in FILL_CONTEXTS
    for n in range(1, min(len(ids), 3) + 1)
)
# Fills of two or three workers count twice: a duplicate, or two wrong
# workers, only leave the count right when the target leaves room for them.
_FILL_WEIGHTS: Final = tuple(1 if ctx["target_count"] == 1 else 2 for ctx in _FILL_TASKS)
_TASKS: Final = (
    tuple(
        _Task("fill", ctx)
        for ctx, w in zip(_FILL_TASKS, _FILL_WEIGHTS, strict=True)
        for _ in range(w)
    ),
    tuple(_Task("email", {"candidate_id": i}) for i in AVAILABLE_IDS),
    tuple(_Task("playbook", c) for c in (MISSING, None, {"note": "ignored"})),
)


@dataclass(frozen=True)
class _TaskDraws:
    """A task and the strategies of its replies, built once (cheap draws)."""

    task: _Task
    replies: st.SearchStrategy[list[Any]]
    before_fault: st.SearchStrategy[list[Any]]


def _task_draws(task: _Task) -> _TaskDraws:
    faulty = _Faulty.of(task)

    @st.composite
    def reply(draw: st.DrawFn, contents: st.SearchStrategy[str], wrap: bool) -> str:
        return _reply_text(draw, faulty, draw(contents), wrap=wrap)

    return _TaskDraws(
        task,
        st.lists(reply(_CONTENTS, True), min_size=1, max_size=5),
        st.lists(reply(_BEFORE_FAULT, False), max_size=2),
    )


_BEFORE_FAULT: Final = st.sampled_from(("no_json", "invalid", "invalid_shape", "empty"))


_GROUPS: Final = tuple(
    st.sampled_from(tuple(_task_draws(task) for task in group)) for group in _TASKS
)
# Fills have the longest chain of checks, playbooks the shortest: 5 : 3 : 2.
# Two draws (the kind, then the task) so that shrinking can settle the kind
# first. A playbook first (it has no context: the smallest scenario), and
# again last to keep the shares.
TASK_GROUPS: Final = st.sampled_from(
    (_GROUPS[2],) + (_GROUPS[0],) * 5 + (_GROUPS[1],) * 3 + (_GROUPS[2],)
)


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda context: {k: v for k, v in context.items() if k != key}


def _with(key: str, value: object) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda context: {**context, key: value}


# Contexts /v1/validate rejects before it reads the artifact, one field broken
# at a time: every attempt that yields an object then fails with the same
# context error. Only these make the validator say "integer >= 1" in an
# iterate session, whose ">" a runtime may escape (Go writes \u003e) inside
# the error history keeps. The scenario's replies are still written for the
# well-formed context; it is only the request that carries the broken one.
_BROKEN_CONTEXTS: Final = {
    "fill": st.sampled_from(
        (
            _without("target_count"),
            _with("target_count", 0),
            _with("target_count", "2"),
            _without("city"),
        )
    ),
    "email": st.sampled_from((_without("candidate_id"),)),
}
# About one fill or email scenario in thirteen, after the well-formed context
# (shrinking keeps that).
_CONTEXT_BROKEN: Final = st.sampled_from((False,) * 12 + (True,))


def _sent_context(draw: st.DrawFn, task: _Task) -> Any:
    """The context the request carries: the task's, or now and then a
    broken copy of it."""
    breaks = _BROKEN_CONTEXTS.get(task.kind)
    if breaks is None or not draw(_CONTEXT_BROKEN):
        return task.context
    return draw(breaks)(task.context)


def scenario(
    draw: st.DrawFn,
    prefix: str,
    task: _Task,
    replies: list[Any],
    max_iterations: object,
    context: Any,
) -> dict[str, Any]:
    """The request around ``replies``, drawn plainest first, and the case's id."""
    prompt = _PROMPTS[draw(_PROMPT_INDEX)]
    system, trace = draw(_SYSTEMS), draw(_TRACES)
    header = draw(_HEADER_NAMES) if trace is not None else None
    (temperature, max_tokens), (provider, model) = draw(_SAMPLING), draw(_MODELS)
    request: dict[str, Any] = {
        "kind": task.kind,
        "prompt": prompt,
        "provider": provider,
        "model": model,
    }
    put(request, "system", system)
    put(request, "context", context)
    put(request, "max_iterations", max_iterations)
    put(request, "temperature", temperature)
    put(request, "max_tokens", max_tokens)
    case: dict[str, Any] = {"request": request, "trace": trace, "replies": replies}
    if header is not None:
        case["header"] = header
    return {"id": case_id(prefix, case), **case}


@st.composite
def iterate_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """One /v1/iterate session: the request, the trace header, and the model's
    replies in order (no JSON, invalid and valid artifacts, prose around JSON,
    fences, long answers); ``max_iterations`` absent, null, or 0 to 5; with
    and without a system prompt; unicode and over-4000-character prompts;
    now and then a fill or email context the validator rejects (no
    ``target_count``, 0 or "2", no city; no ``candidate_id``), so that every
    attempt fails with the same context error."""
    drawn = draw(draw(TASK_GROUPS))
    context = _sent_context(draw, drawn.task)
    replies = draw(drawn.replies)
    return scenario(draw, "i", drawn.task, replies, draw(_MAX_ITERATIONS), context)
