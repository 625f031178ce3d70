"""Hypothesis strategies for the probe suites: model output and session-record text.

Everything here produces *text*, as a model or a log writer would write it, so
number spellings (``1E2``, ``-0``, ``1e400``), escapes (``\\ud800``), duplicate
keys and nesting depth reach the runtimes exactly as generated.

Speed matters (a run checks thousands of cases a second), and Hypothesis pays
per choice: a model output is ONE choice, a short byte string, which
``render_output`` lays out deterministically:

* four header bytes: the layout (bare, fenced, fenced then bare, bare then
  fenced, two objects, a stray ``}`` first, a fenced array then a bare
  object, an unclosed fence, prose only, a top-level value), its styling
  (the fence's info string, with or without a newline after it, padding and
  closing; white space inside the JSON), and a corner of the contract the
  output holds, if any (a value 127 or 128 levels deep, NaN, a raw control
  character, a surrogate pair, ``-0``, ``1e-400``, a u64, a duplicate key,
  a fence without info string or newline, padding Rust's trim keeps or
  strips, a fenced array first): each corner is one byte value, so
  Hypothesis draws each in about one output in 26 and shrinks it away;
* then one token per byte: a JSON action (open an object, a number at the
  edge of the number model, a lone-surrogate string, nesting to 124–128
  levels, a duplicate key, a corruption), a prose fragment (words, HTML,
  unicode, odd white space, stray braces and brackets, fence openers and
  closers anywhere), or a break between two objects. Each run of JSON tokens
  renders (``render_tokens``) as a JSON text that is well-formed unless a
  corrupting token says otherwise; the layout decides which runs are fenced.

Shrinking a byte string deletes tokens and lowers bytes towards zero: the
plainest layout, styling and tokens have the lowest bytes (zero is a token
that writes nothing), so a shrunk output is still small readable text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

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

# Values JSON has no place for: non-finite constants, a raw control character
# inside a string.
NOT_RFC_8259: Final = ("NaN", "-Infinity", '"tab\there"')

KEYS: Final = ('"a"', '"b"', '"fills"', '"candidate_id"', '"é"', '"A"', '"😀"', '"a b"', '"<k>"')

DEPTHS: Final = (124, 125, 126, 127, 128)


@dataclass(frozen=True)
class _Token:
    action: str  # "open_obj", "open_arr", "close", "value", "bad", "dup", "raw"
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
    *(_Token("bad", text) for text in NOT_RFC_8259),
    _Token("raw", ","),
    _Token("raw", "NaN"),
    _Token("raw", "}"),
    _Token("raw", "{"),
    _Token("raw", "// c"),
)
_JSON_TABLE, _JSON_ALPHABET = _alphabet(_JSON_TOKENS)

# The first two tokens are the plainest values, ``1`` and ``"a"``.
_PLAIN_NUMBER, _PLAIN_STRING = _JSON_ALPHABET[0], _JSON_ALPHABET[1]
_TWIN_TRANSLATION: Final = {
    ord(char): None
    if token.action == "raw"
    else _PLAIN_STRING
    if token.text.startswith('"')
    else _PLAIN_NUMBER
    if token.text in NUMBER_LITERALS or token.action == "bad"
    else char
    for char, token in _JSON_TABLE.items()
}

Top = Literal["object", "array", "value"]


# Each JSON token as (what it does, its text), for the renderer's loop.
_OPEN_OBJ, _OPEN_ARR, _CLOSE, _VALUE, _DUP, _RAW = range(6)
_ACTIONS: Final = {
    "open_obj": _OPEN_OBJ, "open_arr": _OPEN_ARR, "close": _CLOSE, "value": _VALUE,
    "bad": _VALUE, "dup": _DUP, "raw": _RAW,
}  # fmt: skip
_STEPS: Final = {char: (_ACTIONS[t.action], t.text) for char, t in _JSON_TABLE.items()}


def render_tokens(tokens: str, *, space: str = " ", top: Top = "object") -> str:
    """JSON text from a token string (see the module docstring): inside an
    object, an array, or (``top="value"``) as a bare top-level value.

    Inside an object each value gets the next key of ``KEYS``; a ``dup`` token
    repeats the last key (with the value 2); ``close`` never closes the top
    level; a raw token is written as it is; whatever is open at the end is
    closed. Other characters are ignored.
    """
    out: list[str] = []
    # The open containers: whether each is an object, its member count and
    # last key (one loop, no per-token calls: this runs for every case).
    objects: list[bool] = []
    members: list[int] = []
    keys: list[str] = []
    if top != "value":
        out.append("{" if top == "object" else "[")
        objects.append(top == "object")
        members.append(0)
        keys.append(KEYS[0])
    comma, colon = "," + space, ":" + space
    steps = _STEPS
    for char in tokens:
        step = steps.get(char)
        if step is None:
            continue
        action, text = step
        if action == _RAW:
            out.append(text)
            continue
        if action == _CLOSE:
            if len(objects) > 1:
                out.append("}" if objects.pop() else "]")
                members.pop()
                keys.pop()
            continue
        if objects:
            count = members[-1]
            if count:
                out.append(comma)
            if objects[-1]:
                if action != _DUP:
                    keys[-1] = KEYS[count % len(KEYS)]
                out.append(keys[-1])
                out.append(colon)
            members[-1] = count + 1
        if action in (_OPEN_OBJ, _OPEN_ARR):
            out.append("{" if action == _OPEN_OBJ else "[")
            objects.append(action == _OPEN_OBJ)
            members.append(0)
            keys.append(KEYS[0])
        else:
            out.append("2" if action == _DUP else text)
    out.extend("}" if is_object else "]" for is_object in reversed(objects))
    return "".join(out) or "null"


_SPACES: Final = (" ", "", "\n  ", "\t")


def json_texts(*, max_tokens: int = 12, top_object: bool = False) -> st.SearchStrategy[str]:
    """JSON values as text, mostly valid, with the contract's edge cases."""
    top: Top = "object" if top_object else "value"
    return st.builds(
        lambda tokens, space: render_tokens(tokens, space=space, top=top),
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


# ---------------------------------------------------------------------------
# Model output: one byte string per case, laid out by ``render_output``.

# What the layouts do with the runs of JSON tokens, in order; each answers a
# question CONTRACT §1 settles. A layout needs as many runs as it names
# treatments (a missing run is an empty object, written at the end); runs
# beyond those are bare.
Treatment = Literal[
    "bare", "fenced", "fenced_array", "stray_close", "unclosed", "value", "left_out", "twin"
]
_LAYOUTS: Final[dict[str, tuple[tuple[Treatment, ...], Treatment]]] = {
    "bare": ((), "bare"),  # prose {obj} prose
    "fenced": (("fenced",), "bare"),  # ```info\n obj ```
    "two_objects": (("bare", "bare"), "bare"),  # the first balanced one wins
    "fenced_then_bare": (("fenced", "bare"), "bare"),
    "bare_then_fenced": (("bare", "fenced"), "bare"),  # fenced wins even when later
    "value_only": (("value",), "bare"),  # a top-level array or scalar
    "prose_only": ((), "left_out"),
    "stray_close_first": (("stray_close",), "bare"),  # } {obj}: depth never returns to 0
    "unclosed_fence": (("unclosed",), "bare"),
    "fenced_array_then_bare": (("fenced_array", "bare"), "bare"),
    # The same object again, corrected: plain values where the first had edge
    # literals. A runtime that accepts (or rejects) the first object where the
    # contract does not extracts a different value of the same keys.
    "object_then_twin": (("bare", "twin"), "bare"),
}

# Header byte -> choice: index ``byte % len``, then ``byte // len`` for the
# next choice of the same byte. Repeats weight a choice; the first entry is
# the plainest, where shrinking goes.
_LAYOUT_CHOICES: Final = (*_LAYOUTS, "bare", "fenced", "bare", "object_then_twin", "two_objects")
_SPACE_CHOICES: Final = (*_SPACES, " ")
_INFO_CHOICES: Final = ("json", "", "JSON", " json ", "js on", "{", "python", "json", "")
_AFTER_FENCE: Final = ("\n", "", "\r\n", " ", "\n", "\n")
_PADS: Final = ("", " ", "\n", "\u00a0", "\u001c", "\u3000", "\t", "", "")
_CLOSES: Final = ("\n```", "```", "", "\n``", "\n```\n", "\n```", "\n```")
HEADER_BYTES: Final = 4


@dataclass(frozen=True)
class _Style:
    """A layout, how its fences and JSON are written, and the corner it holds."""

    layout: str = "bare"
    space: str = " "
    info: str = "json"
    after: str = "\n"
    pad: str = ""
    close: str = "\n```"
    corner: str = "none"

    @property
    def opener(self) -> str:
        return f"```{self.info}{self.after}"

    def fence(self, body: str) -> str:
        return f"{self.opener}{self.pad}{body}{self.pad}{self.close}"


def _digits(byte: int, *choices: Sequence[str]) -> tuple[str, ...]:
    out = []
    for options in choices:
        byte, index = divmod(byte, len(options))
        out.append(options[index])
    return tuple(out)


# Each header byte's meaning, worked out once for all 256 values.
_BYTE0: Final = tuple(_digits(b, _LAYOUT_CHOICES, _SPACE_CHOICES) for b in range(256))
_BYTE1: Final = tuple(_digits(b, _INFO_CHOICES, _AFTER_FENCE) for b in range(256))
_BYTE2: Final = tuple(_digits(b, _PADS, _CLOSES) for b in range(256))


def _style(header: bytes) -> _Style:
    b0, b1, b2, b3 = (*header, 0, 0, 0, 0)[:HEADER_BYTES]
    (layout, space), (info, after), (pad, close) = _BYTE0[b0], _BYTE1[b1], _BYTE2[b2]
    corner = _CORNER_CHOICES[b3 % len(_CORNER_CHOICES)]
    if corner in _FENCE_CORNERS and "fenced" not in _LAYOUTS[layout][0]:
        layout = "fenced"  # a corner of how fences are written needs one
    elif corner in _CORNER_TOKENS and _ANSWER_RUN[layout] is None:
        layout = "bare"  # a corner of the value needs a layout with an answer
    if corner in _FENCE_CORNERS:
        # A well-formed fence around the corner: opened on its own line, closed.
        info, after, close = _CORNER_FENCES.get(corner, (info, "\n", "\n```"))
    pad = _CORNER_PADS.get(corner) or pad
    return _Style(layout, space, info, after, pad, close, corner)


# Prose tokens; fences and their closers can also sit anywhere in the prose.
_PROSE_FRAGMENTS: Final = (
    *dict.fromkeys(_PROSE_ALPHABET),
    "Here is the JSON:\n", "Sure! ", " Done.", "<b>ok</b>", "&amp; ", "Café résumé  你好",
    *(f"```{info}\n" for info in dict.fromkeys(_INFO_CHOICES)),
    "```json", "```json\r\n", "```json ", "```",
    "\n```", "\n``", "\n```\n",
    "[1, 2]", "[{}]", "null", '"{"',
)  # fmt: skip
_PROSE_TABLE: Final = {chr(0xE400 + i): text for i, text in enumerate(_PROSE_FRAGMENTS)}
_NOTHING: Final = chr(0xE3FE)  # writes nothing: where shrinking takes a token
_SEGMENT_BREAK: Final = chr(0xE3FF)  # ends a JSON run: two objects side by side
# What the prose tokens of a segment write; JSON tokens write nothing here
# (str.translate: in C, as are the two tables below).
_PROSE_TRANSLATION: Final[dict[int, str]] = {
    **{ord(char): text for char, text in _PROSE_TABLE.items()},
    **{ord(char): "" for char in _JSON_ALPHABET},
    ord(_NOTHING): "",
}
_JSON_ONLY: Final[dict[int, None]] = {ord(char): None for char in (*_PROSE_TABLE, _NOTHING)}
_FIRST_JSON: Final = re.compile(f"[{_JSON_ALPHABET[0]}-{_JSON_ALPHABET[-1]}]")


def _json_token(action: str, text: str = "") -> str:
    return next(c for c, t in _JSON_TABLE.items() if t == _Token(action, text))


def _prose_token(text: str) -> str:
    return next(c for c, t in _PROSE_TABLE.items() if t == text)


def _byte_tokens() -> str:
    """Token byte -> token: every token once, plainest first, then repeats
    that make structure (objects, arrays, breaks, fences) more frequent."""
    plain = _NOTHING + _JSON_ALPHABET + _SEGMENT_BREAK + "".join(_PROSE_TABLE)
    weights: Iterable[tuple[str, int]] = (
        (_json_token("open_obj"), 7), (_json_token("close"), 7), (_json_token("open_arr"), 4),
        (_json_token("value", "1"), 3), (_json_token("value", '"a"'), 3),
        (_json_token("dup"), 2), (_json_token("value", "true"), 1),
        (_json_token("value", "null"), 1), (_SEGMENT_BREAK, 8),
        (_prose_token("```json\n"), 4), (_prose_token("\n```"), 4), (_prose_token(" "), 3),
        (_prose_token("Here is the JSON:\n"), 2), (_prose_token("\n"), 1),
        (_prose_token("Sure! "), 1),
    )  # fmt: skip
    table = plain + "".join(char * count for char, count in weights)
    if len(table) != 256:
        raise RuntimeError(f"a token per byte value: {len(table)} tokens, not 256")
    return table


_BYTE_TOKENS: Final = _byte_tokens()

# The fourth header byte: a corner of CONTRACT §1 the output holds, each a
# first-class choice (one byte value of its own; "none" for half of them, and
# first, where shrinking goes). Most are JSON tokens put first in the first
# JSON run (an object holding a value 127 or 128 levels deep...), a few change
# how the fences are written, or put a fenced array before everything.
_CORNER_TOKENS: Final = {
    "depth_127": _json_token("value", _deep(126)),
    "depth_128": _json_token("value", _deep(127)),
    "nan": _json_token("bad", "NaN"),
    "control_char": _json_token("bad", NOT_RFC_8259[2]),
    "surrogate_pair": _json_token("value", '"\\ud83d\\ude00"'),
    "negative_zero": _json_token("value", "-0"),
    "underflow": _json_token("value", "1e-400"),
    "beyond_i64": _json_token("value", "18446744073709551615"),
    "duplicate_key": _json_token("value", "1") + _json_token("dup"),
}
# ```{...}```: no info string and, the output on one line, no newline.
_CORNER_FENCES: Final[dict[str, tuple[str, str, str]]] = {"bare_fence": ("", "", "```")}
_CORNER_PADS: Final[dict[str, str]] = {"separator_pad": "\u001c", "unicode_pad": "\u3000"}
_BARE: Final = '{"bare": 1} '  # a bare object a fenced one wins over
# Whether a fenced object is the answer only shows when the scan would answer
# something else: each of these corners puts a bare object first.
_CORNER_LEADS: Final = {
    "later_fence": _BARE + "```\n[1]\n```\n",  # a fenced candidate passed over
    "bare_first": _BARE,
    "separator_pad": _BARE,  # padding decides whether the fence is a candidate
    "unicode_pad": _BARE,
}
_FENCE_CORNERS: Final = frozenset({*_CORNER_FENCES, *_CORNER_PADS, *_CORNER_LEADS})
# Which JSON run of each layout is the answer when it is an object (None: none).
_ANSWER_RUN: Final[dict[str, int | None]] = {
    "bare": 0, "fenced": 0, "two_objects": 0, "fenced_then_bare": 0, "bare_then_fenced": 1,
    "value_only": None, "prose_only": None, "stray_close_first": None, "unclosed_fence": 0,
    "fenced_array_then_bare": None, "object_then_twin": 0,
}  # fmt: skip
# A run without its corrupting tokens (raw text, values JSON has no place for).
_UNCORRUPTED: Final = {
    ord(char): None for char, token in _JSON_TABLE.items() if token.action in ("raw", "bad")
}
_CORNERS: Final = tuple(
    dict.fromkeys((*_CORNER_TOKENS, *_CORNER_FENCES, *_CORNER_PADS, *_CORNER_LEADS))
)
_CORNER_CHOICES: Final = ("none",) * len(_CORNERS) + _CORNERS


def render_output(program: bytes) -> str:
    """Model output from a byte string (see the module docstring)."""
    tokens = program[HEADER_BYTES:].decode("latin-1").translate(_BYTE_TOKENS)
    return _laid_out(tokens, _style(program[:HEADER_BYTES]))


def render_segments(tokens: str) -> str:
    """Model output from a token string of prose, fence and JSON tokens, bare."""
    return _laid_out(tokens, _Style())


def _laid_out(tokens: str, style: _Style) -> str:
    treatments, rest = _LAYOUTS[style.layout]
    out = [_CORNER_LEADS.get(style.corner, "")]
    runs = 0
    first = ""
    for lead, run, tail in _segments(tokens):
        out.append(lead.translate(_PROSE_TRANSLATION))
        if run is not None:
            treatment = treatments[runs] if runs < len(treatments) else rest
            run = _cornered(run, runs, style)
            first = first or run
            out.append(_treated(_twin(first) if treatment == "twin" else run, treatment, style))
            runs += 1
        out.append(tail.translate(_PROSE_TRANSLATION))
    for missing in treatments[runs:]:
        run = _cornered("", runs, style)
        first = first or run
        out.append(_treated(_twin(first) if missing == "twin" else run, missing, style))
        runs += 1
    if style.corner == "bare_fence":
        return "".join(out).replace("\n", " ")  # one line: no newline ends an info string
    return "".join(out)


def _cornered(run: str, index: int, style: _Style) -> str:
    """The ``index``-th JSON run with the style's corner, if it goes there: a
    fence's corner in the first run, made plain so that the fenced body parses;
    a value's corner first in the run that is the answer, whose corrupting
    tokens are dropped so that nothing else makes it invalid."""
    if style.corner == "none":
        return run
    if style.corner in _FENCE_CORNERS:
        return _twin(run) if index == 0 else run
    if index != _ANSWER_RUN[style.layout]:
        return run
    return _CORNER_TOKENS[style.corner] + run.translate(_UNCORRUPTED)


def _twin(run: str) -> str:
    """The run with plain values for its literals and no raw tokens: the same
    keys in the same places, each string ``"a"`` and each number ``1``."""
    return run.translate(_TWIN_TRANSLATION)


def _segments(tokens: str) -> list[tuple[str, str | None, str]]:
    """Per segment (tokens between two breaks): the prose before its first
    JSON token, its JSON tokens (None: it has none), and the tokens after the
    first JSON token, whose prose is written after the JSON. Only a break
    ends a JSON run, so prose between JSON tokens does not cut an object
    into pieces."""
    out: list[tuple[str, str | None, str]] = []
    for segment in tokens.split(_SEGMENT_BREAK):
        first = _FIRST_JSON.search(segment)
        if first is None:
            out.append((segment, None, ""))
            continue
        after = segment[first.start() :]
        out.append((segment[: first.start()], after.translate(_JSON_ONLY), after))
    return out


def _treated(run: str, treatment: Treatment, style: _Style) -> str:
    if treatment == "left_out":
        return ""
    if treatment == "value":
        return render_tokens(run, space=style.space, top="value")
    if treatment == "fenced_array":
        return style.fence(render_tokens(run, space=style.space, top="array"))
    body = render_tokens(run, space=style.space)
    if treatment == "fenced":
        return style.fence(body)
    if treatment == "stray_close":
        return "}" + body
    if treatment == "unclosed":
        return style.opener + body
    return body


# Sizes of the byte string: ~13 tokens on average (Hypothesis's average for
# a minimum of 8), rarely up to 61.
_PROGRAM: Final = st.binary(min_size=HEADER_BYTES + 5, max_size=HEADER_BYTES + 61)
_MODEL_OUTPUTS: Final = _PROGRAM.map(render_output)


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
    kind: str  # "drop", "dup", "set", "extra", "sequence"
    field: str
    value: str = ""


# Attempts the record type rejects, and one it reads as a sequence.
_BAD_ATTEMPTS: Final = (
    '[{"iteration": -1}]', "[1]", '"[]"', "{}", '[[0, "no_json", null, null]]',
    '[[0, "accepted"]]',
)  # fmt: skip
# Artifacts that are not objects (any JSON value is one), or empty.
_ARTIFACT_VALUES: Final = ("null", "[1, 2]", '"text"', "1.0", "{}")


def _mutation_groups() -> dict[str, tuple[_Mutation, ...]]:
    """The ways a row is broken or bent, by kind of rule: a kind is one choice
    (so each gets its share however many variants it has), its variant another."""
    return {
        "drop": tuple(_Mutation("drop", f) for f in _FIELD_ORDER),
        "dup": tuple(_Mutation("dup", f) for f in _FIELD_ORDER),
        "bad_int": tuple(_Mutation("set", f, v) for f in _INT_FIELDS for v in _BAD_INTS),
        "bad_value": tuple(_Mutation("set", f, v) for f in _FIELD_ORDER for v in _BAD_VALUES),
        "attempts": tuple(_Mutation("set", "attempts", v) for v in _BAD_ATTEMPTS),
        "artifact": tuple(_Mutation("set", "artifact", v) for v in _ARTIFACT_VALUES),
        "extra": (
            *(_Mutation("extra", "unknown", v) for v in ("1e400", '"\\ud800"', _deep(200), "1")),
            _Mutation("extra", "Schema", '"x"'),  # a case-variant of a known field name
        ),
        # The whole record as an array of its fields in declaration order
        # (absent ones null), or one field short.
        "sequence": (_Mutation("sequence", "all"), _Mutation("sequence", "short")),
    }


_MUTATION_GROUPS: Final = _mutation_groups()
# Kinds first (a kind is one draw), then the variant; plainest first.
_MUTATION: Final = st.sampled_from(tuple(_MUTATION_GROUPS)).flatmap(
    lambda kind: st.sampled_from(_MUTATION_GROUPS[kind])
)

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


def _artifact(corner: str, tokens: str, space: str) -> str:
    if corner:
        tokens = corner + tokens.translate(_UNCORRUPTED)
    return render_tokens(tokens, space=space)


# A row's artifact: JSON tokens as json_object_texts draws them, and in half
# the rows a corner of the number model or of the JSON text first (alone:
# the run's corrupting tokens dropped), each a first-class choice.
_ARTIFACT_CORNER_TOKENS: Final = (
    _CORNER_TOKENS["negative_zero"],
    _CORNER_TOKENS["beyond_i64"],
    _json_token("value", "18446744073709551616"),
    _json_token("value", "1e400"),
    _CORNER_TOKENS["duplicate_key"],
    _CORNER_TOKENS["depth_127"],  # with the record around it, 128 levels
)
_ARTIFACTS: Final = st.builds(
    _artifact,
    st.sampled_from(("",) * len(_ARTIFACT_CORNER_TOKENS) + _ARTIFACT_CORNER_TOKENS),
    st.text(alphabet=_JSON_ALPHABET, max_size=8),
    st.sampled_from(_SPACES),
)
_RECORD_OPTIONS: Final = st.tuples(
    st.booleans(),
    _ARTIFACTS,
    st.sampled_from(("", "true", "false", "null")),
    # Half the rows are left whole: a rejected row teaches less than a kept one.
    st.one_of(st.just(()), st.lists(_MUTATION, min_size=1, max_size=2)),
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
    sequence = ""
    for mutation in mutations:
        if mutation.kind == "sequence":
            sequence = mutation.field
        else:
            items = _mutate(items, mutation)
    if sequence:
        text = _as_sequence(items, short=sequence == "short")
    else:
        if shuffle:
            items = items[1::2] + items[0::2]  # a fixed reorder: serde reads any order
        text = "{" + ", ".join(f'"{name}": {value}' for name, value in items) + "}"
    return text.replace("\n", " ")  # one record per line in jsonl mode


def _as_sequence(items: list[tuple[str, str]], *, short: bool) -> str:
    """The record as serde's derived visit_seq reads a struct: every field in
    declaration order, absent ones null (the first value of a field given
    twice; unknown fields have no place), or one field short."""
    values = dict(reversed(items))
    fields = [values.get(name, "null") for name in _FIELD_ORDER]
    return "[" + ", ".join(fields[:-1] if short else fields) + "]"


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
