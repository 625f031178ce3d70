"""Hypothesis strategies for the reference's own tests: JSON values with the
number model's edges, and model-output-like text around them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from reference_impl.jsonmodel import dumps

NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(min_value=2**64, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**63) - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e16, 1e15, 1e-5, 1e-6, 1e21, 5e-324, 1.7976931348623157e308]),
)


TEXT = st.text()


def json_values(strings: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), NUMBERS, strings)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=4)
        ),
        max_leaves=12,
    )


def json_objects(strings: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(strings, json_values(strings), max_size=5)


def literal(value: Any) -> str:
    """JSON text whose number literals are written as the number model reads them."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)  # a big integer literal (the model reads it as a double)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(dumps(k) + ": " + literal(v) for k, v in value.items()) + "}"
    return dumps(value)


FRAGMENTS = st.sampled_from(
    [
        "{",
        "}",
        "```",
        "```json\n",
        "\n```",
        "\n",
        " ",
        '"',
        "\\",
        "\\u",
        "\\ud800",
        "\\udc00",
        "\\ud83d\\ude00",
        "1e400",
        "-0",
        "1E2",
        "NaN",
        "[",
        "]",
        ",",
        ":",
        "\u00a0",
        "\u001c",
        "\u2028",
        "é",
        "你",
        "😀",
        "<script>",
        "&amp;",
        "null",
        "18446744073709551616",
        "0.1",
        '{"a":1}',
        '{"a":',
        '"}"',
        "{}",
        "[{}]",
    ]
)

MODEL_OUTPUT = st.lists(
    st.one_of(FRAGMENTS, st.text(max_size=8), json_objects(st.text(max_size=4)).map(literal)),
    max_size=12,
).map("".join)
