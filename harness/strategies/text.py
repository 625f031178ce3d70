"""Hypothesis strategies for the probe suites: model output and session-record text.

Everything here produces *text*, as a model or a log writer would write it, so
number spellings (``1E2``, ``-0``, ``1e400``), escapes (``\\ud800``), duplicate
keys and nesting depth reach the runtimes exactly as generated.

Speed matters (a run checks thousands of cases a second), and Hypothesis pays
per choice. So a JSON value is drawn as one short *token string*: each
character names an action (open an object, a number at the edge of the
model, a lone-surrogate string, ...), and ``render_tokens`` turns any token
string into JSON text that is well-formed unless a corrupting token says
otherwise. Shrinking a token string removes actions, so a minimal example is
still a small readable JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st

NUMBER_LITERALS: Final = (
    "0", "1", "-1", "100", "1.0", "-0", "-0.0", "0.0", "1E2", "1e2", "1e+2", "1E-2", "2.5",
    "9223372036854775807", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "12345678901234567890",
    "123456789012345678901234567890", "9007199254740993", "1e400", "-1e400", "1e-400",
    "5e-324", "1.7976931348623157e308", "2.2250738585072014e-308", "0.1",
    "0.30000000000000004", "0.1000000000000000055511151231257827", "1e16", "1e21",
    "1e-7", "1.5e-07", "3.141592653589793238462643383279", "4.35", "1e15", "123.456",
    # exactly halfway between two doubles: only a correctly rounding parser
    # (serde_json's float_roundtrip) picks the even one
    "9007199254740993.0", "1.00000000000000011102230246251565404236316680908203125",
    "9007199254740995.0", "2.2250738585072011e-308", "1.7976931348623158e308",
)  # fmt: skip

STRING_LITERALS: Final = (
    '""', '"a"', '"W-1"', '"W-2"', '"Toledo"', '"Café résumé  你好"', '"naïve"', '"😀"',
    '"\\ud83d\\ude00"', '"\\ud800"', '"\\udc00"', '"x\\uD800y"', '"\\u00e9"', '"\\u003c"',
    '"\\u0000"', '"\\u2028"', '"line\\nbreak"', '"tab\\t"', '"q\\"uote"', '"back\\\\slash"',
    '"\\/"', '"<script>alert(1)</script>"', '"a & b"', '"it\'s"', '"{"', '"}"', '"{}"',
    '"```"', '"e\u0301"', '"\u202eevil"', '"\u00a0"', '"\u2028"', '"\\b\\f\\r"',
)  # fmt: skip

KEYS: Final = ('"a"', '"b"', '"fills"', '"candidate_id"', '"é"', '"A"', '"😀"', '"a b"', '"<k>"')

DEPTHS: Final = (124, 125, 126, 127, 128)


@dataclass(frozen=True)
class _Token:
    action: str  # "open_obj", "open_arr", "close", "value", "dup", "raw"
    text: str = ""


def _alphabet(tokens: Sequence[_Token]) -> tuple[dict[str, _Token], str]:
    # Private-use code points name the tokens; lower ones shrink first, so
    # the plainest actions come first in the list.
    table = {chr(0xE000 + i): token for i, token in enumerate(tokens)}
    return table, "".join(table)


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


_JSON_TOKENS: Final = (
    _Token("value", "1"),
    _Token("value", '"a"'),
    _Token("open_obj"),
    _Token("close"),
    _Token("open_arr"),
    _Token("value", "true"),
    _Token("value", "null"),
    _Token("dup"),
    *(_Token("value", n) for n in NUMBER_LITERALS),
    *(_Token("value", s) for s in STRING_LITERALS),
    *(_Token("value", _deep(d - 1)) for d in DEPTHS),  # inside an object: total depth d
    _Token("raw", ","),
    _Token("raw", "NaN"),
    _Token("raw", "}"),
    _Token("raw", "{"),
    _Token("raw", "// c"),
)
_JSON_TABLE, _JSON_ALPHABET = _alphabet(_JSON_TOKENS)


@dataclass
class _Frame:
    is_object: bool
    members: int = 0
    last_key: str = '"a"'


def render_tokens(tokens: str, *, space: str = " ", top_object: bool = True) -> str:
    """JSON text from a token string (see the module docstring)."""
    out: list[str] = []
    stack: list[_Frame] = []
    if top_object:
        out.append("{")
        stack.append(_Frame(is_object=True))
    for char in tokens:
        token = _JSON_TABLE.get(char)
        if token is None:
            continue
        _apply(token, out, stack, space)
    while stack:
        out.append("}" if stack.pop().is_object else "]")
    return "".join(out) or "null"


def _apply(token: _Token, out: list[str], stack: list[_Frame], space: str) -> None:
    if token.action == "raw":
        out.append(token.text)
        return
    if token.action == "close":
        if len(stack) > 1:
            out.append("}" if stack.pop().is_object else "]")
        return
    frame = stack[-1] if stack else None
    if frame is not None:
        if frame.members:
            out.append("," + space)
        if frame.is_object:
            key = frame.last_key if token.action == "dup" else KEYS[frame.members % len(KEYS)]
            frame.last_key = key
            out.append(f"{key}:{space}")
        frame.members += 1
    if token.action == "open_obj":
        out.append("{")
        stack.append(_Frame(is_object=True))
    elif token.action == "open_arr":
        out.append("[")
        stack.append(_Frame(is_object=False))
    elif token.action == "dup":
        out.append("2")
    else:
        out.append(token.text)


_SPACES: Final = ("", " ", "\n  ", "\t")


def json_texts(*, max_tokens: int = 12, top_object: bool = False) -> st.SearchStrategy[str]:
    """JSON values as text, mostly valid, with the contract's edge cases."""
    return st.builds(
        lambda tokens, space: render_tokens(tokens, space=space, top_object=top_object),
        st.text(alphabet=_JSON_ALPHABET, max_size=max_tokens),
        st.sampled_from(_SPACES),
    )


def json_object_texts(*, max_tokens: int = 12) -> st.SearchStrategy[str]:
    """JSON objects as text (duplicate keys, deep nesting, edge numbers...)."""
    return json_texts(max_tokens=max_tokens, top_object=True)


_PROSE_ALPHABET: Final = (
    "abcdefghij klmnopqrstuvwxyz ABCXYZ 0123456789 .,:;!?-_()\n"
    "<>&'\"\\/éñü你好😀\u00a0\u001c\u001f\u0085\u2028\u3000\t\r\ufeff\u202e{}[]`"
)


def prose(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """Free text around the JSON: words, HTML, unicode, odd white space, stray braces."""
    return st.text(alphabet=_PROSE_ALPHABET, max_size=max_size)


_INFOS: Final = ("json", "", "JSON", " json ", "js on", "{", "python")
_AFTER_FENCE: Final = ("\n", "", "\r\n", " ")
_PADS: Final = ("", " ", "\n", "\u00a0", "\u001c", "\u3000", "\t")
_CLOSES: Final = ("\n```", "```", "", "\n``", "\n```\n")

# How the pieces are laid out: each answers a question the contract settles.
_LAYOUTS: Final = (
    "bare",  # prose {obj} prose
    "fenced",  # ```info\n obj ```
    "fenced_then_bare",
    "bare_then_fenced",  # fenced wins even when later
    "two_objects",  # the first balanced one wins
    "stray_close_first",  # } {obj}: the depth never returns to zero
    "fenced_array_then_bare",
    "unclosed_fence",
    "prose_only",
    "value_only",  # a top-level array or scalar
)


# Strategies are built once: constructing (and validating) them on every draw
# costs far more than drawing from them.
_PROSE: Final = prose()
_OBJECT: Final = json_object_texts()
_VALUE: Final = json_texts()
_LAYOUT: Final = st.sampled_from(_LAYOUTS)
_FENCE_PARTS: Final = st.tuples(
    st.sampled_from(_INFOS),
    st.sampled_from(_AFTER_FENCE),
    st.sampled_from(_PADS),
    st.sampled_from(_CLOSES),
)


@st.composite
def _laid_out(draw: st.DrawFn) -> str:
    """One of the layouts above: each settles a question of CONTRACT §1."""
    layout = draw(_LAYOUT)
    before, after = draw(_PROSE), draw(_PROSE)
    first = draw(_OBJECT)
    if layout == "bare":
        return before + first + after
    if layout == "prose_only":
        return before + after
    if layout == "value_only":
        return before + draw(_VALUE) + after
    if layout == "stray_close_first":
        return before + "}" + first + after
    fence = _fence(draw, first)
    second = draw(_OBJECT)
    return {
        "fenced": before + fence + after,
        "fenced_then_bare": before + fence + after + second,
        "bare_then_fenced": before + second + after + fence,
        "two_objects": before + first + after + second,
        "fenced_array_then_bare": before + _fence(draw, draw(_VALUE)) + after + second,
        "unclosed_fence": before + "```json\n" + first + after,
    }[layout]


def _fence(draw: st.DrawFn, body: str) -> str:
    info, newline, pad, close = draw(_FENCE_PARTS)
    return f"```{info}{newline}{pad}{body}{pad}{close}"


# A whole answer as ONE token string: prose fragments, fence pieces and JSON
# tokens share an alphabet, and each run of JSON tokens renders as an object.
# One Hypothesis choice per case instead of a dozen keeps generation several
# times faster; the layouts above keep the well-formed shapes frequent.
_PROSE_FRAGMENTS: Final = (
    *_PROSE_ALPHABET,
    "Here is the JSON:\n", "Sure! ", " Done.", "<b>ok</b>", "&amp; ", "Café résumé  你好",
    *(f"```{info}{newline}" for info in _INFOS for newline in _AFTER_FENCE),
    *(close for close in _CLOSES if close),
    "[1, 2]", "[{}]", "null", '"{"',
)  # fmt: skip
_PROSE_TABLE: Final = {chr(0xE400 + i): text for i, text in enumerate(_PROSE_FRAGMENTS)}
_SEGMENT_BREAK: Final = chr(0xE3FF)  # ends a JSON run: two objects side by side
_SEGMENT_ALPHABET: Final = _JSON_ALPHABET + _SEGMENT_BREAK + "".join(_PROSE_TABLE)


def render_segments(tokens: str) -> str:
    """Model output from a token string of prose, fence and JSON tokens."""
    out: list[str] = []
    run: list[str] = []
    for char in tokens:
        if char in _JSON_TABLE:
            run.append(char)
            continue
        if run:
            out.append(render_tokens("".join(run)))
            run.clear()
        out.append(_PROSE_TABLE.get(char, ""))
    if run:
        out.append(render_tokens("".join(run)))
    return "".join(out)


_SEGMENTED: Final = st.text(alphabet=_SEGMENT_ALPHABET, min_size=1, max_size=40).map(
    render_segments
)
_MODEL_OUTPUTS: Final = st.one_of(_SEGMENTED, _SEGMENTED, _laid_out())


def model_outputs() -> st.SearchStrategy[str]:
    """What a model might answer: prose, objects, fences, stray braces, arrays."""
    return _MODEL_OUTPUTS


# ---------------------------------------------------------------------------
# Session records as text: valid rows, and every way serde's type can reject one.

_FIELD_ORDER: Final = (
    "schema", "session_id", "timestamp", "daemon", "kind", "model", "provider", "prompt",
    "iterations", "max_iterations", "final_verdict", "attempts", "artifact",
    "grounded_in_roster", "duration_ms",
)  # fmt: skip
_INT_FIELDS: Final = ("iterations", "max_iterations", "duration_ms")
_BAD_INTS: Final = (
    "-1", "1.0", "-0", "1e0", "2E1", '"1"', "null", "true", "4294967295", "4294967296",
    "18446744073709551615", "18446744073709551616", "1e400",
)  # fmt: skip
_BAD_VALUES: Final = ("null", "5", "[]", "{}", '"\\ud800"', "true", '"x"')


@dataclass(frozen=True)
class _Mutation:
    kind: str  # "drop", "dup", "set", "extra"
    field: str
    value: str = ""


def _mutations() -> tuple[_Mutation, ...]:
    out = [_Mutation("drop", f) for f in _FIELD_ORDER]
    out += [_Mutation("dup", f) for f in _FIELD_ORDER]
    out += [_Mutation("set", f, v) for f in _INT_FIELDS for v in _BAD_INTS]
    out += [_Mutation("set", f, v) for f in _FIELD_ORDER for v in _BAD_VALUES]
    out += [_Mutation("set", "attempts", v) for v in ('[{"iteration": -1}]', "[1]", '"[]"')]
    out += [_Mutation("set", "artifact", v) for v in ("null", "[1, 2]", '"text"', "1.0", "{}")]
    out += [_Mutation("extra", "unknown", v) for v in ("1e400", '"\\ud800"', _deep(200), "1")]
    out += [_Mutation("extra", "Schema", '"x"')]  # a case-variant of a known field name
    return tuple(out)


_MUTATION_TABLE: Final = {chr(0xE000 + i): m for i, m in enumerate(_mutations())}
_MUTATION_ALPHABET: Final = "".join(_MUTATION_TABLE)

_ATTEMPT_KINDS: Final = ("no_json", "validation_failed", "accepted", "infra_error")


_ERROR_TEXT: Final = json.dumps(
    '{"kind":"count","message":"expected 2 fills, got 1","path":"artifact.fills"}'
)
_ATTEMPT: Final = st.tuples(
    st.sampled_from(_ATTEMPT_KINDS),
    st.sampled_from(("", "null", '"boom"', _ERROR_TEXT, '"\\u003c&>"', '""')),
    st.sampled_from(("", *STRING_LITERALS[:8])),
)
_ATTEMPTS: Final = st.lists(_ATTEMPT, max_size=3)


def _attempts(draw: st.DrawFn) -> str:
    items = []
    for index, (kind, error, span) in enumerate(draw(_ATTEMPTS)):
        parts = [f'"iteration": {index}', f'"verdict_kind": "{kind}"']
        if error:
            parts.append(f'"error": {error}')
        if span:
            parts.append(f'"span_id": {span}')
        items.append("{" + ", ".join(parts) + "}")
    return "[" + ", ".join(items) + "]"


_RECORD_BASICS: Final = st.tuples(
    st.sampled_from(("accepted", "max_iter_exhausted", "infra_error")),
    st.sampled_from(('"trace-1"', '"0001f3a2-9b"', '""', '"ü-id"')),
    st.sampled_from(('"gateway"', '"validatord"')),
    st.sampled_from(('"fill"', '"email"', '"playbook"')),
    prose(max_size=20),
    st.booleans(),
    st.integers(0, 5),
    st.integers(0, 5),
    st.sampled_from((0, 12, 2**53 + 1, 2**64 - 1)),
)
_RECORD_OPTIONS: Final = st.tuples(
    st.booleans(),
    json_object_texts(max_tokens=8),
    st.sampled_from(("", "true", "false", "null")),
    # Half the rows are left whole: a rejected row teaches less than a kept one.
    st.one_of(st.just(""), st.text(alphabet=_MUTATION_ALPHABET, min_size=1, max_size=2)),
    st.booleans(),
)


@st.composite
def session_record_texts(draw: st.DrawFn) -> str:
    """One record as a single line of JSON text: a well-formed row, then up to
    three mutations (a field dropped, given twice, of the wrong type...)."""
    verdict, session, daemon, kind, prompt, ascii_only, n, limit, ms = draw(_RECORD_BASICS)
    fields: dict[str, str] = {
        "schema": '"session.iterate.v1"',
        "session_id": session,
        "timestamp": '"2026-05-02T06:24:41Z"',
        "daemon": daemon,
        "kind": kind,
        "model": '"kimi-k2.6"',
        "provider": '"ollama_cloud"',
        "prompt": json.dumps(prompt, ensure_ascii=ascii_only),
        "iterations": str(n),
        "max_iterations": str(limit),
        "final_verdict": f'"{verdict}"',
        "attempts": _attempts(draw),
        "duration_ms": str(ms),
    }
    with_artifact, artifact, grounded, mutations, shuffle = draw(_RECORD_OPTIONS)
    if verdict == "accepted" or with_artifact:
        fields["artifact"] = artifact
    if grounded:
        fields["grounded_in_roster"] = grounded
    items: list[tuple[str, str]] = [(f, fields[f]) for f in _FIELD_ORDER if f in fields]
    for char in mutations:
        items = _mutate(items, _MUTATION_TABLE[char])
    if shuffle:
        items = items[1::2] + items[0::2]  # a fixed reorder: serde reads any order
    text = "{" + ", ".join(f'"{name}": {value}' for name, value in items) + "}"
    return text.replace("\n", " ")  # one record per line in jsonl mode


def _mutate(items: list[tuple[str, str]], mutation: _Mutation) -> list[tuple[str, str]]:
    if mutation.kind == "drop":
        return [(f, v) for f, v in items if f != mutation.field]
    if mutation.kind == "dup":
        return items + [(f, v) for f, v in items if f == mutation.field][:1]
    if mutation.kind == "set":
        present = any(f == mutation.field for f, _ in items)
        if not present:
            return [*items, (mutation.field, mutation.value)]
        return [(f, mutation.value if f == mutation.field else v) for f, v in items]
    return [*items, (mutation.field, mutation.value)]
