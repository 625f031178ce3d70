"""``Collector``: the stand-in's state and listeners, on the event loop that
serves them (``standin.LangfuseStandIn`` drives it from synchronous code).

One listener per runtime, each with its own keys (or none: any request
passes), its own trees and its own faults.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.http_server import HttpListeners, Limits, ServesListeners
from harness.langfuse.auth import Credentials
from harness.langfuse.faults import CollectorFault, FaultRule
from harness.langfuse.store import TraceStore


class Collector(ServesListeners):
    def __init__(self, *, limits: Limits | None = None, store: TraceStore | None = None) -> None:
        self.store = store if store is not None else TraceStore()
        self._http = HttpListeners("parity-langfuse", limits or Limits())
        self._credentials: dict[str, Credentials | None] = {}
        self._faults: dict[str, tuple[FaultRule, ...]] = {}

    @property
    def limits(self) -> Limits:
        return self._http.limits

    async def listen(self, name: str, port: int = 0, credentials: Credentials | None = None) -> int:
        """Serve on 127.0.0.1 under a listener name; returns the bound port."""
        from harness.langfuse.routes import Router

        self.store.open(name)
        self._credentials[name] = credentials
        self._faults[name] = ()
        return await self._http.listen(name, port, Router(self, name))

    def credentials(self, name: str) -> Credentials | None:
        return self._credentials[name]

    def faults(self, name: str) -> tuple[FaultRule, ...]:
        return self._faults[name]

    async def set_faults(self, name: str, rules: Sequence[FaultRule]) -> None:
        """Replace ``name``'s faults (the first that applies answers); down for
        every request closes the listening socket until it is lifted."""
        if name not in self._faults:
            raise KeyError(f"no listener {name!r}")
        self._faults[name] = tuple(rules)
        if any(r.mode is CollectorFault.DOWN and r.everywhere for r in rules):
            await self._http.pause(name)
        else:
            await self._http.resume(name)
