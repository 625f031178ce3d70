"""JSON tokens: each a private-use character naming one action (open an
object, a value at the edge of the number model, a duplicate key, a
corruption...); ``render_tokens`` writes a string of them as JSON text,
well-formed unless a corrupting token says otherwise. Also the strategies
of JSON texts and prose built on them."""

from __future__ import annotations

from collections.abc import Sequence
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


def deep(levels: int) -> str:
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
    *(_Token("value", deep(d - 1)) for d in DEPTHS),  # inside an object: total depth d
    *(_Token("bad", text) for text in NOT_RFC_8259),
    _Token("raw", ","),
    _Token("raw", "NaN"),
    _Token("raw", "}"),
    _Token("raw", "{"),
    _Token("raw", "// c"),
)
_JSON_TABLE, JSON_ALPHABET = _alphabet(_JSON_TOKENS)

# The first two tokens are the plainest values, ``1`` and ``"a"``.
_PLAIN_NUMBER, _PLAIN_STRING = JSON_ALPHABET[0], JSON_ALPHABET[1]
TWIN_TRANSLATION: Final = {
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


SPACES: Final = (" ", "", "\n  ", "\t")


def json_texts(*, max_tokens: int = 12, top_object: bool = False) -> st.SearchStrategy[str]:
    """JSON values as text, mostly valid, with the contract's edge cases."""
    top: Top = "object" if top_object else "value"
    return st.builds(
        lambda tokens, space: render_tokens(tokens, space=space, top=top),
        st.text(alphabet=JSON_ALPHABET, max_size=max_tokens),
        st.sampled_from(SPACES),
    )


def json_object_texts(*, max_tokens: int = 12) -> st.SearchStrategy[str]:
    """JSON objects as text (duplicate keys, deep nesting, edge numbers...)."""
    return json_texts(max_tokens=max_tokens, top_object=True)


PROSE_ALPHABET: Final = (
    "abcdefghij klmnopqrstuvwxyz ABCXYZ 0123456789 .,:;!?-_()\n"
    "<>&'\"\\/éñü你好😀\u00a0\u001c\u001f\u0085\u2028\u3000\t\r\ufeff\u202e{}[]`"
)


def prose(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """Free text around the JSON: words, HTML, unicode, odd white space, stray braces."""
    return st.text(alphabet=PROSE_ALPHABET, max_size=max_size)


def json_token(action: str, text: str = "") -> str:
    return next(c for c, t in _JSON_TABLE.items() if t == _Token(action, text))


# A run without its corrupting tokens (raw text, values JSON has no place for).
UNCORRUPTED: Final = {
    ord(char): None for char, token in _JSON_TABLE.items() if token.action in ("raw", "bad")
}
