"""``parity doctor``'s trace checks (CONTRACT §7): the harness serves its
Langfuse stand-in on each target's ``langfuse_port`` (as a run does, with
the keys of ``defaults``), and a scripted session's trace tree must reach it;
the check says over which transport (the batch ingestion API, or
OpenTelemetry) and how many observations named the session.

Each check is a ``Said``: what was found, and the fix (None: fine);
``harness.doctor`` turns it into its line.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from harness import defaults
from harness.config import Config, TargetConfig
from harness.langfuse import Collector, Credentials, LangfuseStandIn, Transport
from harness.langfuse.store import TraceStore

# Runtimes flush at least once a second (§7): a few seconds is plenty.
TRACE_WAIT_S: Final = 5.0
# Quiet for longer than a flush interval: what was queued has been sent.
_SETTLE_QUIET_S: Final = 1.2
_POLL_S: Final = 0.05
_OVER: Final = {Transport.INGESTION: "the batch ingestion API", Transport.OTEL: "OpenTelemetry"}
KEYS: Final = Credentials(defaults.LANGFUSE_PUBLIC_KEY, defaults.LANGFUSE_SECRET_KEY)

Said = tuple[str, str | None]


def new_standin() -> LangfuseStandIn:
    """One stand-in for every target, as a run builds it (observations
    indexed by the session their input names); not started yet."""
    from harness.suites.tracing import session_of

    return LangfuseStandIn(Collector(store=TraceStore(index=session_of)))


def untraced() -> Said:
    return "no `langfuse_port`: the traces suite will not run for it", None


def pointing(port: int) -> str:
    """How a deployment is pointed at the stand-in, by flag and by env name."""
    url = f"http://127.0.0.1:{port}"
    return (
        f"point the deployment's Langfuse host at {url} with public key {KEYS.public_key} "
        f"and secret key {KEYS.secret_key} (--langfuse-url, --langfuse-public-key, "
        "--langfuse-secret-key, or LAKEHOUSE_LANGFUSE_URL, LAKEHOUSE_LANGFUSE_PUBLIC_KEY, "
        "LAKEHOUSE_LANGFUSE_SECRET_KEY); `parity init` prints how"
    )


@dataclass
class TraceDoctor:
    """One target's listener on the stand-in, and what reached it."""

    standin: LangfuseStandIn
    name: str
    port: int
    sharing: Sequence[str]  # other targets configured with the same langfuse_port
    wait_s: float = TRACE_WAIT_S

    @classmethod
    def of(
        cls, standin: LangfuseStandIn, config: Config, target: TargetConfig, wait_s: float
    ) -> TraceDoctor | None:
        """The target's, when it has a ``langfuse_port``."""
        port = target.langfuse_port
        if port is None:
            return None
        sharing = [
            other.name
            for other in config.targets.values()
            if other is not target and other.langfuse_port == port
        ]
        return cls(standin, target.name, port, sharing, wait_s)

    @property
    def where(self) -> str:
        return f"the Langfuse stand-in on 127.0.0.1:{self.port}"

    def listen(self) -> Said:
        if self.sharing:
            return (
                f"langfuse_port {self.port} is also the langfuse_port of {', '.join(self.sharing)}",
                "give each target its own langfuse_port (the harness tells runtimes' trees "
                "apart by it) and point each deployment's Langfuse host at its own",
            )
        try:
            self.standin.add_listener(self.name, self.port, credentials=KEYS)
        except OSError as exc:
            return (
                f"cannot serve {self.where}: {exc.strerror or exc}",
                "stop what listens there (a `parity langfuse`, another run) or choose another "
                "langfuse_port and point the deployment's Langfuse host at it",
            )
        return f"serving {self.where}", None

    def arrived(self, sessions: Sequence[str]) -> Said:
        """Whether the trees of ``sessions`` (answered by the target) came."""
        started = time.monotonic()
        counts = self._wait(sessions, started + self.wait_s)
        first = next((s for s in sessions if counts[s]), None)
        if first is None:
            return self._nothing(len(sessions))
        # Let what the runtime still holds arrive, so the count is the whole tree's.
        left = self.wait_s - (time.monotonic() - started)
        self.standin.settle(
            self.name,
            since=time.monotonic(),
            quiet_s=_SETTLE_QUIET_S,
            timeout_s=max(0.0, left),
            done=lambda: False,
        )
        count, traces = self.standin.collector.store.indexed(self.name, first)
        trees = [self.standin.tree(self.name, trace) for trace in sorted(traces)]
        transports = {t for tree in trees if tree is not None for t in tree.transports()}
        over = " and ".join(_OVER[t] for t in Transport if t in transports)
        reached = sum(1 for s in sessions if counts[s])
        some = f"; {reached} of {len(sessions)} sessions' trees" if reached < len(sessions) else ""
        return (
            f"a session's trace tree reached {self.where} over {over} "
            f"({count} observation{'' if count == 1 else 's'}{some})",
            None,
        )

    def _wait(self, sessions: Sequence[str], deadline: float) -> dict[str, int]:
        """Until every session has an observation, a 401 came, or ``deadline``."""
        store = self.standin.collector.store
        while True:
            counts = {s: store.indexed(self.name, s)[0] for s in sessions}
            if all(counts.values()) or self._refused() or time.monotonic() >= deadline:
                return counts
            time.sleep(_POLL_S)

    def _refused(self) -> int:
        return sum(1 for d in self.standin.deliveries(self.name) if d.status == 401)

    def _nothing(self, sent: int) -> Said:
        refused = self._refused()
        if refused:
            return (
                f"{self.where} answered 401 to {refused} request(s) from the deployment: "
                "its Langfuse keys are wrong",
                f"give it public key {KEYS.public_key} and secret key {KEYS.secret_key} "
                "(--langfuse-public-key and --langfuse-secret-key, or "
                "LAKEHOUSE_LANGFUSE_PUBLIC_KEY and LAKEHOUSE_LANGFUSE_SECRET_KEY); "
                "`parity init` prints how",
            )
        statuses = Counter(d.status for d in self.standin.deliveries(self.name))
        came = (
            f"; {statuses.total()} request(s) came, answered "
            + ", ".join(f"{status} ×{n}" for status, n in sorted(statuses.items()))
            + ", none with an observation naming a session"
            if statuses
            else ""
        )
        return (
            f"no trace tree arrived on {self.where} within {self.wait_s:g}s "
            f"(of {sent} sessions){came}",
            pointing(self.port),
        )
