"""The worker roster that ``/v1/validate`` checks against (CONTRACT §3)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from reference_impl.jsonmodel import JsonError, loads

_STRING_FIELDS = ("candidate_id", "name", "city", "state", "role")


class RosterError(ValueError):
    """A malformed roster: a start-up error that names the file and line."""


@dataclass(frozen=True)
class Worker:
    candidate_id: str
    name: str
    city: str
    state: str
    role: str
    available: bool


class Roster(Mapping[str, Worker]):
    """Workers by id."""

    def __init__(self, workers: Iterable[Worker]) -> None:
        self._by_id: dict[str, Worker] = {}
        for worker in workers:
            if worker.candidate_id in self._by_id:
                raise RosterError(f"duplicate candidate_id {worker.candidate_id!r}")
            self._by_id[worker.candidate_id] = worker

    def __getitem__(self, candidate_id: str) -> Worker:
        return self._by_id[candidate_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


def parse_worker(line: str) -> Worker:
    try:
        value = loads(line)
    except JsonError as exc:
        raise RosterError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RosterError("expected an object")
    for key in _STRING_FIELDS:
        if not isinstance(value.get(key), str):
            raise RosterError(f"{key}: expected a string")
    if not isinstance(value.get("available"), bool):
        raise RosterError("available: expected a boolean")
    return Worker(**{key: value[key] for key in (*_STRING_FIELDS, "available")})


def load_roster(path: str | os.PathLike[str]) -> Roster:
    """Read a JSON Lines roster; blank lines are skipped."""
    workers: list[Worker] = []
    seen: set[str] = set()
    source = Path(path)
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            worker = parse_worker(line)
            if worker.candidate_id in seen:
                raise RosterError(f"duplicate candidate_id {worker.candidate_id!r}")
        except RosterError as exc:
            raise RosterError(f"{source}:{number}: {exc}") from exc
        seen.add(worker.candidate_id)
        workers.append(worker)
    return Roster(workers)
