"""A trace tree as the reports show it (CONTRACT §7): the trace, and each
observation indented under it, in the order it was sent: its type, name and
level, then what it was given and what it answered. ``report.html`` puts the
reference's tree and each runtime's side by side; ``report.md`` lists them.

Everything in a tree came from a model or a runtime: the HTML is built with
``html.escape`` on every string, as the rest of the report is.
"""

from __future__ import annotations

import html
import json
from typing import Any, Final

from harness.reports.common import printable, truncate

LIMIT: Final = 160  # characters of an input or output shown per line


def outline(text: str | None) -> list[tuple[int, str]] | None:
    """The tree held in a ``traces`` output as (depth, line) pairs: the
    trace, its observations under it, their input and output under them;
    None when the text is not a tree."""
    try:
        tree = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(tree, dict) or not isinstance(tree.get("events"), list):
        return None
    events = [e for e in tree["events"] if isinstance(e, dict)]
    created = next((e for e in events if e.get("type") == "trace"), None)
    root = f"trace {tree.get('trace_id')}"
    root += f" {created.get('name')}" if created else " (no trace-create)"
    lines = [(0, root + _others(tree))]
    if created is not None and "input" in created:
        lines.append((1, f"input: {truncate(_flat(created['input']), LIMIT)}"))
    for event in events:
        if event is created:
            continue
        lines.append((1, _head(event)))
        for key in ("input", "output"):
            if key in event:
                lines.append((2, f"{key}: {truncate(_flat(event[key]), LIMIT)}"))
    if not events:
        waited = tree.get("waited_s")
        lines.append((1, "(no tree arrived" + (f"; waited {waited} s)" if waited else ")")))
    return lines


def to_html(text: str | None) -> str | None:
    lines = outline(text)
    if lines is None:
        return None
    items = "".join(
        f'<span class="tree-d{depth}">{html.escape(printable(line), quote=True)}</span>'
        for depth, line in lines
    )
    return f'<pre class="tree">{items}</pre>'


def to_markdown(text: str | None) -> str | None:
    lines = outline(text)
    if lines is None:
        return None
    return "\n".join("    " * depth + line for depth, line in lines)


def _head(event: dict[str, Any]) -> str:
    parts = [str(event.get("type")), str(event.get("name"))]
    parts.append(f"[{event.get('level') or 'DEFAULT'}]")  # Langfuse's default
    if event.get("model"):
        parts.append(f"model={event['model']}")
    if event.get("status_message"):
        parts.append("(status message)")
    return " ".join(parts)


def _others(tree: dict[str, Any]) -> str:
    others = tree.get("others") or []
    return f"  (and {len(others)} more trees for this session)" if others else ""


def _flat(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
