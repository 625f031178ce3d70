"""What a suite strips or relaxes before comparing (CONTRACT §5), applied to
a parsed output: volatile fields dropped, shape-only values reduced to a
token, strings that hold JSON text parsed (``JsonText``) where both sides
parse."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.compare.parsing import parse_output
from harness.compare.paths import JSON_KEY, Path, Pattern, matches, parse_pattern, token_name
from harness.model import JsonValue


@dataclass(frozen=True)
class Projection:
    """What a suite strips or relaxes before comparing (CONTRACT §5).

    ``drop``: paths removed from both sides. ``shape_only``: path -> regex; a
    string that fully matches becomes ``"<shape:NAME>"`` so only presence and
    shape are compared. ``json_strings``: paths whose string values hold JSON
    text, compared as JSON. Paths may use ``[*]`` for any array index.
    """

    drop: tuple[str, ...] = ()
    shape_only: Mapping[str, str] = field(default_factory=dict)
    json_strings: tuple[str, ...] = ()

    @functools.cached_property
    def compiled(self) -> Rules:
        return Rules(
            drop=tuple(parse_pattern(p) for p in self.drop),
            shape=tuple(
                (parse_pattern(p), re.compile(rx), token_name(p))
                for p, rx in self.shape_only.items()
            ),
            json_strings=tuple(parse_pattern(p) for p in self.json_strings),
        )


@dataclass(frozen=True)
class Rules:
    """A ``Projection`` with its paths parsed and its regexes compiled."""

    drop: tuple[Pattern, ...]
    shape: tuple[tuple[Pattern, re.Pattern[str], str], ...]
    json_strings: tuple[Pattern, ...]

    @functools.cached_property
    def longest(self) -> int:
        """The length of the longest path a rule names (0: no rules)."""
        patterns = [*self.drop, *(p for p, _, _ in self.shape), *self.json_strings]
        return max(map(len, patterns), default=0)

    @functools.cached_property
    def empty(self) -> bool:
        """No rule at all (a rule may name the root: ``longest`` is 0 then too)."""
        return not (self.drop or self.shape or self.json_strings)

    def dropped(self, path: Path) -> bool:
        return any(matches(p, path) for p in self.drop)

    def shape_token(self, path: Path, value: object) -> str | None:
        for pattern, regex, token in self.shape:
            if isinstance(value, str) and matches(pattern, path) and regex.fullmatch(value):
                return token
        return None

    def holds_json(self, path: Path) -> bool:
        return any(matches(p, path) for p in self.json_strings)


class JsonText(dict[str, Any]):
    """A string that held JSON text: ``{JSON_KEY: parsed}``, remembering the text."""

    text: str

    @classmethod
    def wrap(cls, text: str, parsed: JsonValue) -> JsonText:
        out = cls({JSON_KEY: parsed})
        out.text = text
        return out


def project(value: JsonValue, path: Path, rules: Rules) -> JsonValue:
    """``value`` (at ``path``) with the rules applied; shares what no rule touches."""
    if len(path) > rules.longest:
        # No rule names a path this long (a pattern matches paths of its own
        # length only), which deep values would otherwise pay for at every level.
        return value
    if isinstance(value, dict):
        return {
            key: project(item, (*path, key), rules)
            for key, item in value.items()
            if not rules.dropped((*path, key))
        }
    if isinstance(value, list):
        return [
            project(item, (*path, index), rules)
            for index, item in enumerate(value)
            if not rules.dropped((*path, index))
        ]
    token = rules.shape_token(path, value)
    if token is not None:
        return token
    if isinstance(value, str) and rules.holds_json(path):
        return _maybe_json(value, path, rules)
    return value


def _maybe_json(text: str, path: Path, rules: Rules) -> JsonValue:
    try:
        parsed = parse_output(text)
    except ValueError:
        return text
    return JsonText.wrap(text, project(parsed, (*path, JSON_KEY), rules))


def reconcile(a: JsonValue, b: JsonValue) -> tuple[JsonValue, JsonValue]:
    """Compare as JSON only where *both* sides parsed; elsewhere fall back to the strings."""
    if isinstance(a, JsonText) and isinstance(b, JsonText):
        inner_a, inner_b = reconcile(a[JSON_KEY], b[JSON_KEY])
        return JsonText.wrap(a.text, inner_a), JsonText.wrap(b.text, inner_b)
    if isinstance(a, JsonText) or isinstance(b, JsonText):
        return plain_text(a), plain_text(b)
    if isinstance(a, dict) and isinstance(b, dict):
        out_a, out_b = dict(a), dict(b)
        for key in a.keys() & b.keys():
            out_a[key], out_b[key] = reconcile(a[key], b[key])
        return out_a, out_b
    if isinstance(a, list) and isinstance(b, list):
        pairs = [reconcile(x, y) for x, y in zip(a, b, strict=False)]
        n = len(pairs)
        return [p[0] for p in pairs] + a[n:], [p[1] for p in pairs] + b[n:]
    return a, b


def plain_text(value: JsonValue) -> JsonValue:
    """A parsed JSON string back to its text; any other value as it is."""
    return value.text if isinstance(value, JsonText) else value


def plain(value: JsonValue) -> JsonValue:
    """Undo the comparison wrappers so a ``Difference`` carries ordinary JSON values."""
    if isinstance(value, JsonText):
        return value.text
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
