"""What the stand-in received, per listener: trees by trace id, the envelope ids
seen (Langfuse deduplicates by them), the requests as they came, and a bounded
wait for a tree to arrive.

Written on the event loop, read from any thread: one lock, and a condition
that ``wait_for`` sleeps on until an addition or its deadline.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.langfuse.faults import CollectorFault
from harness.langfuse.observation import Transport, Tree, TreeObservation, trace_id_candidates

Sink = Callable[[Sequence[TreeObservation]], None]
TreeCheck = Callable[[Tree], bool]
MAX_DELIVERIES = 1000


@dataclass(frozen=True)
class Delivery:
    """One request as received and answered (the last ``MAX_DELIVERIES`` are kept)."""

    path: str
    status: int
    transport: Transport | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    ingestion_version: str | None = None  # x-langfuse-ingestion-version
    sdk: str | None = None  # x-langfuse-sdk-name/-version, or the User-Agent
    events: int = 0  # events (or spans) it carried
    stored: int = 0  # new observations it added
    fault: str | None = None  # the collector fault that answered it, if one did
    # The trace ids a faulted request carried (empty when no fault answered).
    trace_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Waited:
    """What ``wait_for`` found: the tree (None if none arrived), whether it met
    the condition, and how long the wait took."""

    tree: Tree | None
    met: bool
    waited_s: float


@dataclass
class _Listener:
    envelopes: set[str] = field(default_factory=set)
    where: dict[tuple[bool, str], tuple[str, int]] = field(default_factory=dict)
    trees: dict[str, list[TreeObservation]] = field(default_factory=dict)
    deliveries: deque[Delivery] = field(default_factory=lambda: deque(maxlen=MAX_DELIVERIES))
    faulted: set[str] = field(default_factory=set)  # trace ids a lost request carried
    last_delivery: float = 0.0  # time.monotonic() of the last request
    in_flight: int = 0  # requests arrived and not answered yet (a slow one sleeps)
    # By the store's ``index`` key: how many observations, under which trace ids.
    indexed: dict[str, tuple[int, set[str]]] = field(default_factory=dict)


class TraceStore:
    """``index``: a key for an observation (the harness's: the session its
    input names), by which ``indexed`` finds observations whatever tree
    they went to."""

    def __init__(self, index: Callable[[TreeObservation], str | None] | None = None) -> None:
        self._changed = threading.Condition()
        self._listeners: dict[str, _Listener] = {}
        self._sinks: list[Sink] = []
        self._index = index

    def open(self, listener: str) -> None:
        with self._changed:
            self._listeners.setdefault(listener, _Listener())

    def add_sink(self, sink: Sink) -> None:
        """``sink`` gets every newly stored event's observation, as it came
        (before merging), in arrival order."""
        with self._changed:
            self._sinks.append(sink)

    def add(self, listener: str, observations: Sequence[TreeObservation]) -> int:
        """Store a request's observations; an envelope id seen before is
        skipped. Returns how many were new."""
        with self._changed:
            state = self._listeners[listener]
            new: list[TreeObservation] = []
            for observation in observations:
                envelope = observation.envelope_id
                if envelope is not None:
                    if envelope in state.envelopes:
                        continue
                    state.envelopes.add(envelope)
                _merge(state, observation)
                new.append(observation)
                self._note(state, observation)
            if new:
                for sink in self._sinks:
                    sink(new)
                self._changed.notify_all()
            return len(new)

    def _note(self, state: _Listener, observation: TreeObservation) -> None:
        key = self._index(observation) if self._index is not None else None
        if key is not None:
            count, traces = state.indexed.get(key, (0, set()))
            traces.add(observation.trace_id or "")
            state.indexed[key] = (count + 1, traces)

    def keys_of(self, observations: Sequence[TreeObservation]) -> frozenset[str]:
        """The ``index`` keys of ``observations`` (none without an index)."""
        if self._index is None:
            return frozenset()
        return frozenset(k for k in map(self._index, observations) if k is not None)

    def indexed(self, listener: str, key: str) -> tuple[int, frozenset[str]]:
        """How many observations ``index`` gave ``key``, and their trace ids."""
        with self._changed:
            count, traces = self._listeners[listener].indexed.get(key, (0, set()))
            return count, frozenset(traces)

    def arrived(self, listener: str) -> None:
        """A request came in; ``record`` says it was answered."""
        with self._changed:
            state = self._listeners[listener]
            state.in_flight += 1
            state.last_delivery = time.monotonic()

    def record(self, listener: str, delivery: Delivery) -> None:
        with self._changed:
            state = self._listeners[listener]
            state.deliveries.append(delivery)
            state.in_flight = max(0, state.in_flight - 1)
            state.last_delivery = time.monotonic()
            if delivery.fault is not None and delivery.fault != CollectorFault.SLOW:  # stored late
                state.faulted.update(delivery.trace_ids)
            self._changed.notify_all()

    def was_faulted(self, listener: str, trace_id: str | None, key: str | None = None) -> bool:
        """Whether a request carrying ``trace_id``'s events (or observations
        of index ``key``) was lost to a collector fault (down, 500, 401):
        its tree may lack them."""
        with self._changed:
            faulted = self._listeners[listener].faulted
            if key is not None and key in faulted:
                return True
            return trace_id is not None and any(c in faulted for c in trace_id_candidates(trace_id))

    def settle(
        self,
        listener: str,
        *,
        since: float,
        quiet_s: float,
        timeout_s: float,
        done: Callable[[], bool],
    ) -> float:
        """Wait until ``done()``, or until no request is in flight and none
        has come for ``quiet_s`` since ``since`` (time.monotonic()) and the
        last one, or at most ``timeout_s``. Returns the time waited."""
        started = time.monotonic()
        deadline = started + timeout_s
        with self._changed:
            while not done():
                now = time.monotonic()
                state = self._listeners[listener]
                quiet_until = max(since, state.last_delivery) + quiet_s
                if now >= deadline or (now >= quiet_until and state.in_flight == 0):
                    break
                self._changed.wait(max(0.01, min(quiet_until, deadline) - now))
        return time.monotonic() - started

    def deliveries(self, listener: str) -> list[Delivery]:
        with self._changed:
            return list(self._listeners[listener].deliveries)

    def trees(self, listener: str) -> dict[str, Tree]:
        with self._changed:
            return {
                key: Tree(key, tuple(items))
                for key, items in self._listeners[listener].trees.items()
            }

    def tree(self, listener: str, trace_id: str) -> Tree | None:
        """The tree of ``trace_id``, or of the id the langfuse SDK seeds from it."""
        with self._changed:
            return self._find(listener, trace_id)

    def _find(self, listener: str, trace_id: str) -> Tree | None:
        trees = self._listeners[listener].trees
        for candidate in trace_id_candidates(trace_id):
            if candidate in trees:
                return Tree(candidate, tuple(trees[candidate]))
        return None

    def wait_for(
        self,
        listener: str,
        trace_id: str,
        *,
        count: int | None = None,
        predicate: TreeCheck | None = None,
        timeout_s: float,
    ) -> Waited:
        """Wait at most ``timeout_s`` for ``trace_id``'s tree to hold ``count``
        observations and pass ``predicate`` (by default: to exist)."""
        started = time.monotonic()
        deadline = started + timeout_s

        def met(tree: Tree | None) -> bool:
            if tree is None:
                return False
            return (count is None or len(tree) >= count) and (predicate is None or predicate(tree))

        with self._changed:
            while True:
                tree = self._find(listener, trace_id)
                left = deadline - time.monotonic()
                if met(tree) or left <= 0:
                    return Waited(tree, met(tree), time.monotonic() - started)
                self._changed.wait(left)

    def forget(self, listener: str, trace_id: str) -> None:
        """Drop a tree once compared (a long run would keep every one)."""
        with self._changed:
            state = self._listeners[listener]
            for candidate in trace_id_candidates(trace_id):
                for observation in state.trees.pop(candidate, []):
                    state.where.pop(observation.key, None)


def _merge(state: _Listener, observation: TreeObservation) -> None:
    place = state.where.get(observation.key)
    if place is None:
        tree_key = observation.trace_id or ""  # an observation naming no trace
        items = state.trees.setdefault(tree_key, [])
        state.where[observation.key] = (tree_key, len(items))
        items.append(observation)
        return
    tree_key, index = place
    items = state.trees[tree_key]
    items[index] = items[index].merged(observation)
