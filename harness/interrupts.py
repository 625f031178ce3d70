"""A stop the user asked for (SIGTERM, SIGHUP, Ctrl-C), raised where it is safe.

A signal handler raises ``Terminated`` in the main thread; but Python ignores
an exception raised while it runs a finaliser or a gc callback (Hypothesis
installs one), and the run would go on as if nothing had been asked. So the
handler also records the request, and the engine checks it between batches:
whatever swallowed the first raise, the next check raises again.
"""

from __future__ import annotations

import signal


class Terminated(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGINT, raised in the main thread so ``with`` blocks unwind."""


_requested: str | None = None


def request(signum: int) -> Terminated:
    """Record a stop; the exception to raise for it."""
    global _requested
    _requested = f"received {signal.Signals(signum).name}"
    return Terminated(_requested)


def raise_if_requested() -> None:
    if _requested is not None:
        raise Terminated(_requested)


def clear() -> None:
    """Forget a stop once the run it ended has unwound (tests, the CLI)."""
    global _requested
    _requested = None
