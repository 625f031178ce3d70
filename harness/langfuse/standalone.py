"""``parity langfuse``: the stand-in on its own, for a person pointing a real
deployment at it and reading what it sent (one JSON Lines row per stored
observation), until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from harness.errors import HarnessError
from harness.http_server import HOST, until_signalled
from harness.langfuse.auth import Credentials
from harness.langfuse.collector import Collector
from harness.langfuse.jsonl import JsonlSink

LISTENER = "standalone"


def run_standalone(
    port: int,
    out: Path,
    *,
    credentials: Credentials | None = None,
    on_ready: Callable[[int], None] | None = None,
) -> int:
    """Serve on 127.0.0.1:port, appending to ``out``, until signalled; returns
    the rows written. ``HarnessError`` before serving when ``out`` cannot be
    written or the port cannot be bound."""
    try:
        sink = JsonlSink(out)
    except OSError as exc:
        raise HarnessError(f"langfuse: cannot write {out}: {exc.strerror or exc}") from None
    try:
        asyncio.run(_serve(port, sink, credentials, on_ready))
    finally:
        sink.close()
    return sink.rows


async def _serve(
    port: int,
    sink: JsonlSink,
    credentials: Credentials | None,
    on_ready: Callable[[int], None] | None,
) -> None:
    async with Collector() as collector:
        collector.store.add_sink(sink)
        try:
            bound = await collector.listen(LISTENER, port, credentials)
        except OSError as exc:
            raise HarnessError(
                f"langfuse: cannot listen on {HOST}:{port}: {exc.strerror or exc}"
            ) from None
        (on_ready or _announcer(sink.path, credentials))(bound)
        await until_signalled()


def _announcer(out: Path, credentials: Credentials | None) -> Callable[[int], None]:
    keys = (
        f"only public key {credentials.public_key!r} with its secret key"
        if credentials is not None
        else "any keys (none were given)"
    )

    def announce(port: int) -> None:
        print(
            f"langfuse stand-in listening on http://{HOST}:{port} "
            f"(accepting {keys}; appending to {out}; Ctrl-C to stop)",
            flush=True,
        )

    return announce
