"""Sessions whose trace tree meets a faulty Langfuse collector (CONTRACT §7:
delivery is best effort and never in the way): an ordinary ``/v1/iterate``
session, its trace id given (so that the stand-in can single out its
requests), and the collector down, slow, or answering 500 or 401 for every
request that carries its events. The response and the row must be what they
would be with a healthy collector, and answered without waiting on it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from hypothesis import strategies as st

from harness.langfuse.faults import CollectorFault
from harness.strategies.live import iterate_scenarios

# Slow first, and twice as often: the one fault a runtime can get wrong
# without losing anything (it waits), seen only in the answer's timing.
_MODES: Final = st.sampled_from(
    (
        CollectorFault.SLOW,
        CollectorFault.HTTP_500,
        CollectorFault.SLOW,
        CollectorFault.DOWN,
        CollectorFault.HTTP_401,
    )
)
# A case of the collector suite that meets a healthy collector.
HEALTHY: Final = "none"
_TRACES: Final = st.sampled_from(("t-", "trace."))


@st.composite
def collector_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """An iterate session, its trace id given; three in four meet a collector
    fault, the others a healthy collector (the runtime must have recovered)."""
    scenario = dict(draw(iterate_scenarios()))
    scenario.pop("id", None)
    scenario["trace"] = draw(_TRACES)
    scenario.setdefault("header", "X-Lakehouse-Trace-Id")
    mode = draw(st.one_of(_MODES, _MODES, _MODES, st.just(HEALTHY)))
    scenario["collector"] = str(mode)
    digest = hashlib.blake2b(json.dumps(scenario, sort_keys=True).encode(), digest_size=5)
    return {"id": "c" + digest.hexdigest(), **scenario}
