"""The fixture roster's facts (fixtures/roster.jsonl, which a test ties them
to), and which of its workers break a worker-side check in a fill for a
place."""

from __future__ import annotations

from functools import cache
from typing import Final

from hypothesis import strategies as st

from harness.strategies.live.checks import WORKER_FAULTS, Faults

# The live cases are written against the fixture roster: the workers below
# are its facts, so that generated fills are often valid, and invalid in named
# ways when not. Against another roster the same cases still run; they are
# simply rejected more often.

# (city, state, role) -> the available workers that match, in roster order.
FILL_CONTEXTS: Final = (
    (("Toledo", "OH", "Welder"), ("W-2", "W-3", "W-10")),
    (("Columbus", "OH", "Forklift Operator"), ("W-7", "W-8")),
    (("Louisville", "KY", "Welder"), ("W-1",)),
    (("Louisville", "KY", "Forklift Operator"), ("W-12",)),
    (("Louisville", "KY", "Electrician"), ("W-9",)),
    (("Toledo", "OH", "Electrician"), ("W-4",)),
)
ROSTER_IDS: Final = tuple(f"W-{i}" for i in range(1, 13))
AVAILABLE_IDS: Final = ("W-1", "W-2", "W-3", "W-4", "W-6", "W-7", "W-8", "W-9", "W-10", "W-12")
# id -> (city, state, role, available), as in the fixture roster.
WORKERS: Final = {
    "W-1": ("Louisville", "KY", "Welder", True),
    "W-2": ("Toledo", "OH", "Welder", True),
    "W-3": ("Toledo", "OH", "Welder", True),
    "W-4": ("Toledo", "OH", "Electrician", True),
    "W-5": ("Toledo", "OH", "Welder", False),
    "W-6": ("Toledo", "MI", "Welder", True),
    "W-7": ("Columbus", "OH", "Forklift Operator", True),
    "W-8": ("Columbus", "OH", "Forklift Operator", True),
    "W-9": ("Louisville", "KY", "Electrician", True),
    "W-10": ("Toledo", "OH", "Welder", True),
    "W-11": ("Columbus", "OH", "Welder", False),
    "W-12": ("Louisville", "KY", "Forklift Operator", True),
}


def wrong_for(worker: str, place: tuple[str, str, str]) -> frozenset[str]:
    """The worker-side checks ``worker`` breaks in a fill for ``place``."""
    *mine, available = WORKERS[worker]
    fields = ("city", "state", "role")
    wrong = {f"consistency.{f}" for f, a, b in zip(fields, mine, place, strict=True) if a != b}
    return frozenset(wrong if available else wrong | {"unavailable"})


@cache
def workers(
    place_index: int, fault: str, wanted: Faults, tight: bool = False
) -> tuple[tuple[str, ...], bool]:
    """The workers that break ``fault`` in a fill for the place, and whether
    they are clean: wrong in no worker-side check before the first one
    ``wanted``, so that the order of the wanted checks decides the answer.
    Clean ones only when there are some; those wrong in the fewest other ways
    first (a single fault stays as single as the roster allows, and
    shrinking lands there). ``tight`` (no room for more fills): only those
    that show the most of the ``wanted`` faults at once, e.g. an unavailable
    worker that is also of the wrong role."""
    place = FILL_CONTEXTS[place_index][0]
    found = [w for w in ROSTER_IDS if fault in wrong_for(w, place)]
    found.sort(key=lambda w: len(wrong_for(w, place)))
    first = min(WORKER_FAULTS.index(f) for f in wanted)
    clean = [w for w in found if min(map(WORKER_FAULTS.index, wrong_for(w, place))) >= first]
    chosen = clean or found
    if tight:
        most = max(len(wrong_for(w, place) & wanted) for w in chosen)
        chosen = [w for w in chosen if len(wrong_for(w, place) & wanted) == most]
    return tuple(chosen), bool(clean)


@cache
def worker_choice(
    place_index: int, fault: str, wanted: Faults, tight: bool
) -> st.SearchStrategy[str]:
    return st.sampled_from(workers(place_index, fault, wanted, tight)[0])


@cache
def first_wrong(place_index: int, fault: str) -> tuple[str, ...]:
    """The workers whose first wrong worker-side check for the place is ``fault``."""
    place = FILL_CONTEXTS[place_index][0]
    return tuple(
        w
        for w in ROSTER_IDS
        if (wrong := wrong_for(w, place)) and min(wrong, key=WORKER_FAULTS.index) == fault
    )


@cache
def places(wanted: Faults, reversed_: bool = False) -> st.SearchStrategy[int]:
    """Fill contexts for a /v1/validate body breaking the ``wanted`` worker-side
    checks: where the roster has a clean unavailable worker, when one is
    wanted (a consistency fault can go to the context's side instead); in
    ``reversed_`` order, where each has a worker wrong first in it."""
    every = range(len(FILL_CONTEXTS))
    if reversed_:
        return st.sampled_from([i for i in every if all(first_wrong(i, f) for f in wanted)])
    if "unavailable" in wanted:
        clean = [i for i in every if workers(i, "unavailable", wanted)[1]]
        return st.sampled_from(clean or every)
    return st.sampled_from(every)


OTHER_IDS: Final = {i: st.sampled_from([o for o in ROSTER_IDS if o != i]) for i in ROSTER_IDS}
