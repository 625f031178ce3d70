"""Suite-level shortcuts agree with what they stand in for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness import schema_store
from harness.strategies import model_outputs, render_segments
from harness.suites.probe import _is_answer

VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.just({}))
ANSWERS = st.one_of(
    st.fixed_dictionaries({"matched": VALUES, "value": VALUES}),
    st.dictionaries(st.sampled_from(["matched", "value", "error", "x"]), VALUES),
    VALUES,
)


@given(ANSWERS)
def test_answer_shortcut_is_the_schema(answer: object) -> None:
    assert _is_answer(answer) == (not schema_store.errors("extract-json-answer", answer))


def test_segments_render_prose_fences_and_objects() -> None:
    assert render_segments("") == ""
    seen = set()

    @given(model_outputs())
    def collect(raw: str) -> None:
        seen.update(kind for kind, mark in (("fence", "```"), ("object", "{")) if mark in raw)

    collect()
    assert seen == {"fence", "object"}
