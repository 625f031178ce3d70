"""Model output for the extract_json suite: one byte string per case, laid
out by ``render_output``.

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

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from hypothesis import strategies as st

from harness.strategies.text.tokens import (
    JSON_ALPHABET,
    NOT_RFC_8259,
    PROSE_ALPHABET,
    SPACES,
    TWIN_TRANSLATION,
    UNCORRUPTED,
    deep,
    json_token,
    render_tokens,
)

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
_SPACE_CHOICES: Final = (*SPACES, " ")
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
    elif corner in CORNER_TOKENS and _ANSWER_RUN[layout] is None:
        layout = "bare"  # a corner of the value needs a layout with an answer
    if corner in _FENCE_CORNERS:
        # A well-formed fence around the corner: opened on its own line, closed.
        info, after, close = _CORNER_FENCES.get(corner, (info, "\n", "\n```"))
    pad = _CORNER_PADS.get(corner) or pad
    return _Style(layout, space, info, after, pad, close, corner)


# Prose tokens; fences and their closers can also sit anywhere in the prose.
_PROSE_FRAGMENTS: Final = (
    *dict.fromkeys(PROSE_ALPHABET),
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
    **{ord(char): "" for char in JSON_ALPHABET},
    ord(_NOTHING): "",
}
_JSON_ONLY: Final[dict[int, None]] = {ord(char): None for char in (*_PROSE_TABLE, _NOTHING)}
_FIRST_JSON: Final = re.compile(f"[{JSON_ALPHABET[0]}-{JSON_ALPHABET[-1]}]")


def _prose_token(text: str) -> str:
    return next(c for c, t in _PROSE_TABLE.items() if t == text)


def _byte_tokens() -> str:
    """Token byte -> token: every token once, plainest first, then repeats
    that make structure (objects, arrays, breaks, fences) more frequent."""
    plain = _NOTHING + JSON_ALPHABET + _SEGMENT_BREAK + "".join(_PROSE_TABLE)
    weights: Iterable[tuple[str, int]] = (
        (json_token("open_obj"), 7), (json_token("close"), 7), (json_token("open_arr"), 4),
        (json_token("value", "1"), 3), (json_token("value", '"a"'), 3),
        (json_token("dup"), 2), (json_token("value", "true"), 1),
        (json_token("value", "null"), 1), (_SEGMENT_BREAK, 8),
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
CORNER_TOKENS: Final = {
    "depth_127": json_token("value", deep(126)),
    "depth_128": json_token("value", deep(127)),
    "nan": json_token("bad", "NaN"),
    "control_char": json_token("bad", NOT_RFC_8259[2]),
    "surrogate_pair": json_token("value", '"\\ud83d\\ude00"'),
    "negative_zero": json_token("value", "-0"),
    "underflow": json_token("value", "1e-400"),
    "beyond_i64": json_token("value", "18446744073709551615"),
    "duplicate_key": json_token("value", "1") + json_token("dup"),
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
_CORNERS: Final = tuple(
    dict.fromkeys((*CORNER_TOKENS, *_CORNER_FENCES, *_CORNER_PADS, *_CORNER_LEADS))
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
    return CORNER_TOKENS[style.corner] + run.translate(UNCORRUPTED)


def _twin(run: str) -> str:
    """The run with plain values for its literals and no raw tokens: the same
    keys in the same places, each string ``"a"`` and each number ``1``."""
    return run.translate(TWIN_TRANSLATION)


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
