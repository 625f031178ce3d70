"""Schema errors read well: a forbidden field is named, a document is not quoted whole."""

from __future__ import annotations

import json
from pathlib import Path

from harness import schema_store


def test_forbidden_fields_are_named_and_documents_not_quoted(repo: Path) -> None:
    row = json.loads((repo / "fixtures" / "session_log" / "accepted_fill.json").read_text())
    row["final_verdict"] = "max_iter_exhausted"  # an exhausted row carries no artifact
    messages = {e.message for e in schema_store.errors("session-record", row)}
    assert "must not have `artifact` here" in messages
    assert all(len(m) < 200 for m in messages)


def test_short_instances_stay_in_the_message() -> None:
    [error] = schema_store.errors("validate-report", {"kind": "fill", "valid": True, "checked": 0})
    assert error.path == "$.checked" and error.message.startswith("0 ")
