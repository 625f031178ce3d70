"""The harness's own servers, watched during a run.

An exception in a handler of the scripted model (or of the Langfuse
stand-in, when a run starts one) is answered 500 and counted
(``http_server.HandlerErrors``). A runtime answers that 500 as it would a
broken upstream, with a 502, and so would the other runtime: a harness bug
would look like parity, or like a runtime divergence. So the engine checks
every watched server after each suite and after the causes pass, and the
first counted error ends the run with exit 2 and that error's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.http_server import HandlerErrors


@dataclass(frozen=True)
class Watched:
    """A server of the harness whose handlers' errors a run reports."""

    name: str  # how a message names it: "the scripted model"
    errors: HandlerErrors


class HandlerFailed(HarnessError):
    """A watched server's handler raised: a harness bug, with its traceback."""

    def __init__(self, message: str, traceback: str | None) -> None:
        super().__init__(message)
        self.traceback = traceback


def check(watched: Sequence[Watched]) -> None:
    """Raise ``HandlerFailed`` for the first watched server that counted an error."""
    for server in watched:
        count, first, traceback = server.errors.seen()
        if count:
            raise HandlerFailed(
                f"{server.name} failed to answer {count} request(s) (each answered 500: "
                f"a harness bug, not a divergence); the first: {first}",
                traceback,
            )
