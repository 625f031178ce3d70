"""Reduce a failing case to a small one that still shows the same failure.

Hypothesis shrinks what it finds itself; this reduces what exploration found
but Hypothesis did not shrink (a rare failure seen once). Strings are reduced
by delta debugging (chunks, then characters); JSON objects and arrays lose
members, and their values are reduced in turn. Every candidate is checked by
running it through the reference and the targets again, so the result is a
real reproducer, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Any], bool]


@dataclass
class _Budget:
    calls: int

    def spend(self) -> bool:
        self.calls -= 1
        return self.calls >= 0


def shrink(case: Any, still_fails: Predicate, *, max_calls: int = 400) -> Any:
    """A smaller case for which ``still_fails`` holds (``case`` itself at worst)."""
    budget = _Budget(max_calls)

    def check(candidate: Any) -> bool:
        return budget.spend() and still_fails(candidate)

    return _shrink(case, check, budget)


def _shrink(case: Any, check: Predicate, budget: _Budget) -> Any:
    if isinstance(case, str):
        return _ddmin(case, check, budget)
    if isinstance(case, list):
        return _shrink_list(case, check, budget)
    if isinstance(case, dict):
        return _shrink_dict(case, check, budget)
    return case


def _ddmin(text: str, check: Predicate, budget: _Budget) -> str:
    parts = 2
    while len(text) >= 2 and budget.calls > 0:
        size = -(-len(text) // parts)
        for start in range(0, len(text), size):
            candidate = text[:start] + text[start + size :]
            if check(candidate):
                text = candidate
                parts = max(parts - 1, 2)
                break
        else:
            if size == 1:
                break
            parts = min(len(text), parts * 2)
    return text


def _shrink_list(items: list[Any], check: Predicate, budget: _Budget) -> list[Any]:
    index = 0
    while index < len(items) and budget.calls > 0:
        candidate = items[:index] + items[index + 1 :]
        if check(candidate):
            items = candidate
        else:
            index += 1
    for i in range(len(items)):
        items = _replace(items, i, check, budget)
    return items


def _replace(items: list[Any], i: int, check: Predicate, budget: _Budget) -> list[Any]:
    def with_value(value: Any) -> bool:
        return check([*items[:i], value, *items[i + 1 :]])

    return [*items[:i], _shrink(items[i], with_value, budget), *items[i + 1 :]]


def _shrink_dict(obj: dict[str, Any], check: Predicate, budget: _Budget) -> dict[str, Any]:
    for key in list(obj):
        if budget.calls <= 0:
            break
        candidate = {k: v for k, v in obj.items() if k != key}
        if check(candidate):
            obj = candidate
    for key in list(obj):
        obj = {**obj, key: _shrink(obj[key], _with_key(obj, key, check), budget)}
    return obj


def _with_key(obj: dict[str, Any], key: str, check: Predicate) -> Predicate:
    return lambda value: check({**obj, key: value})
