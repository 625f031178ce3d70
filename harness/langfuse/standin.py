"""``LangfuseStandIn``: the collector on a background event loop, for the
harness's synchronous code (as ``ScriptedModelServer`` is for the model).

``with LangfuseStandIn() as langfuse:
    port = langfuse.add_listener("rust", credentials=Credentials("pk", "sk"))
    ...
    waited = langfuse.wait_for("rust", session_id, count=3, timeout_s=5)``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.http_server import HandlerErrors, Limits
from harness.http_server.served import BackgroundServer
from harness.langfuse.auth import Credentials
from harness.langfuse.collector import Collector
from harness.langfuse.faults import CollectorFault, FaultRule, rule
from harness.langfuse.observation import Tree
from harness.langfuse.store import Delivery, TreeCheck, Waited


class LangfuseStandIn(BackgroundServer):
    def __init__(
        self,
        collector: Collector | None = None,
        *,
        limits: Limits | None = None,
        call_timeout_s: float = 10,
    ) -> None:
        super().__init__("parity-langfuse", call_timeout_s=call_timeout_s)
        self.collector = collector if collector is not None else Collector(limits=limits)

    async def _close(self) -> None:
        await self.collector.close()

    # -- listeners ---------------------------------------------------------------------

    def add_listener(self, name: str, port: int = 0, credentials: Credentials | None = None) -> int:
        """Listen under a new name (one per runtime); returns the bound port.
        With ``credentials``, only those keys pass; without, any request does."""
        return self._call(self.collector.listen, name, port, credentials)

    def url(self, name: str) -> str:
        """The base URL a runtime is given as its Langfuse host."""
        return self.collector.url(name)

    @property
    def handler_errors(self) -> HandlerErrors:
        """Exceptions raised while answering (each answered 500): a harness bug."""
        return self.collector.handler_errors

    # -- what arrived ------------------------------------------------------------------

    def trees(self, name: str) -> dict[str, Tree]:
        return self.collector.store.trees(name)

    def tree(self, name: str, trace_id: str) -> Tree | None:
        """``trace_id``'s tree, or the tree of the id the langfuse SDK seeds from it."""
        return self.collector.store.tree(name, trace_id)

    def wait_for(
        self,
        name: str,
        trace_id: str,
        *,
        count: int | None = None,
        predicate: TreeCheck | None = None,
        timeout_s: float,
    ) -> Waited:
        """At most ``timeout_s`` for the tree to hold ``count`` observations and
        pass ``predicate``; ``Waited.met`` says whether it did."""
        return self.collector.store.wait_for(
            name, trace_id, count=count, predicate=predicate, timeout_s=timeout_s
        )

    def settle(
        self,
        name: str,
        *,
        since: float,
        quiet_s: float,
        timeout_s: float,
        done: Callable[[], bool],
    ) -> float:
        """Wait until ``done()`` or ``name``'s runtime has been quiet for
        ``quiet_s`` since ``since`` (time.monotonic()); at most ``timeout_s``."""
        return self.collector.store.settle(
            name, since=since, quiet_s=quiet_s, timeout_s=timeout_s, done=done
        )

    def deliveries(self, name: str) -> list[Delivery]:
        return self.collector.store.deliveries(name)

    def forget(self, name: str, trace_id: str) -> None:
        self.collector.store.forget(name, trace_id)

    # -- faults ------------------------------------------------------------------------

    def set_fault(
        self,
        name: str,
        mode: CollectorFault | str,
        *,
        sessions: Iterable[str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Add a fault to ``name`` (for ``sessions``' requests, or every one)."""
        added = rule(mode, sessions=sessions, delay_s=delay_s)
        self.set_faults(name, [*self.collector.faults(name), added])

    def set_faults(self, name: str, rules: Iterable[FaultRule]) -> None:
        self._call(self.collector.set_faults, name, list(rules))

    def add_fault(self, name: str, added: FaultRule) -> None:
        """Add one fault to ``name``'s, atomically (several threads may)."""
        self._call(self._change_faults, name, added, True)

    def remove_fault(self, name: str, removed: FaultRule) -> None:
        """Remove that fault (by identity), atomically."""
        self._call(self._change_faults, name, removed, False)

    async def _change_faults(self, name: str, changed: FaultRule, add: bool) -> None:
        rules = [r for r in self.collector.faults(name) if r is not changed]
        await self.collector.set_faults(name, [*rules, changed] if add else rules)

    def was_faulted(self, name: str, trace_id: str | None, key: str | None = None) -> bool:
        return self.collector.store.was_faulted(name, trace_id, key)

    def clear_faults(self, name: str) -> None:
        self.set_faults(name, [])
