"""The public strategies produce what they promise."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from benchmarks import check_pairs
from harness.strategies import model_outputs, session_record_texts
from harness.strategies.text import tokens as S
from reference_impl.extract import extract_json
from reference_impl.jsonmodel import JsonError, loads
from reference_impl.session import RecordError, record_from_json

# Corrupting tokens: raw text, and values JSON has no place for.
CLEAN_TOKENS = "".join(
    char for char, token in S._JSON_TABLE.items() if token.action not in ("raw", "bad")
)


@given(st.text(alphabet=CLEAN_TOKENS, max_size=30), st.sampled_from(S.SPACES))
def test_tokens_without_corruption_render_valid_json(tokens: str, space: str) -> None:
    text = S.render_tokens(tokens, space=space)
    json.loads(text)  # Python's parser: always well-formed JSON text
    assert text.startswith("{")


def test_depth_tokens_land_at_the_contract_limit() -> None:
    deep = {
        d: char for char, t in S._JSON_TABLE.items() for d in S.DEPTHS if t.text == S.deep(d - 1)
    }
    assert loads(S.render_tokens(deep[127])) is not None
    try:
        loads(S.render_tokens(deep[128]))
    except JsonError:
        pass
    else:
        raise AssertionError("128 levels must be rejected")


def test_model_outputs_reach_what_the_docstring_promises() -> None:
    """Over 1000 outputs (a fixed seed): objects the reference extracts and
    outputs where it finds none, fences, a stray ``}`` before any ``{``, and the
    edges of the JSON model (lone surrogates, nesting to the limit, numbers
    beyond the double range)."""
    outputs = check_pairs.draw_cases(model_outputs(), 1000)
    features = {
        "an object extracted": lambda o: extract_json(o) is not None,
        "no object extracted": lambda o: extract_json(o) is None,
        "a fence": lambda o: "```" in o,
        "a stray close first": lambda o: "}" in o.split("{", 1)[0],
        "a lone surrogate": lambda o: re.search(r"\\u[dD][89abcdefABCDEF]", o) is not None,
        "nesting near the limit": lambda o: "[" * 123 in o,
        "a number beyond a double": lambda o: "1e400" in o,
    }
    seen = {name: sum(map(has, outputs)) for name, has in features.items()}
    at_least = {name: 150 if name.endswith("extracted") else 20 for name in features}
    assert {n: c for n, c in seen.items() if c < at_least[n]} == {}, seen


def test_record_texts_are_single_lines_and_mostly_json() -> None:
    # Corrupting tokens in an artifact may break the JSON on purpose (the
    # record type must reject it), but most rows must parse.
    parsed = []

    @given(session_record_texts())
    def collect(text: str) -> None:
        assert "\n" not in text
        try:
            json.loads(text)
            parsed.append(True)
        except json.JSONDecodeError:
            parsed.append(False)

    collect()
    assert sum(parsed) > len(parsed) * 0.7


def test_record_texts_include_accepted_and_rejected_rows() -> None:
    seen = set()

    @given(session_record_texts())
    def collect(text: str) -> None:
        try:
            record_from_json(text)
            seen.add("accepted")
        except RecordError:
            seen.add("rejected")

    collect()
    assert seen == {"accepted", "rejected"}
