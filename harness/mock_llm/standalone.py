"""Running the scripted model: in the background of a run, or on its own.

``ScriptedModelServer`` runs a ``ScriptedModel`` on a background event loop
(``harness.background``) for synchronous callers; ``run_standalone`` serves
it until SIGINT/SIGTERM for a human (``parity mock-llm``, ``python -m
harness.mock_llm``): from a script or a cassette, answering every call with a
valid artifact, or recording a real upstream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.http_server import HOST, HandlerErrors, until_signalled
from harness.http_server.served import BackgroundServer
from harness.mock_llm.model import ScriptedModel
from harness.mock_llm.record import Recorder, load_cassette
from harness.mock_llm.script import SMOKE_ARTIFACT, Reply


class ScriptedModelServer(BackgroundServer):
    """A ``ScriptedModel`` served from a background event loop (``background.Background``).

    ``with ScriptedModelServer() as server: port = server.add_listener("rust")``.
    """

    def __init__(self, model: ScriptedModel | None = None, *, call_timeout_s: float = 10) -> None:
        super().__init__("parity-mock-llm", call_timeout_s=call_timeout_s)
        self.model = model if model is not None else ScriptedModel()

    async def _close(self) -> None:
        await self.model.close()

    def add_listener(self, name: str, port: int = 0) -> int:
        """Listen under a new name (one per runtime); returns the bound port."""
        return self._call(self.model.listen, name, port)

    def url(self, name: str) -> str:
        return self.model.url(name)

    @property
    def handler_errors(self) -> HandlerErrors:
        """Exceptions raised while answering (each answered 500): a harness bug."""
        return self.model.handler_errors


def load_script(path: Path, **options: Any) -> ScriptedModel:
    """A model from a JSON script ``{case_id: [reply, ...]}`` or a JSONL cassette
    (``record``); a ``.jsonl`` file, or one that is not a single JSON value, is a
    cassette."""
    text = path.read_text(encoding="utf-8")
    data: Any = None
    if path.suffix != ".jsonl":
        with contextlib.suppress(ValueError):
            data = json.loads(text)
    model = ScriptedModel(**options)
    if data is None or _looks_like_an_entry(data):
        cassette = load_cassette(path)
        for case_id, replies in cassette.cases.items():
            model.register(case_id, replies)
        if cassette.unmarked:
            model.register_unmarked(cassette.unmarked)
        return model
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a script is an object {{case_id: [reply, ...]}}")
    for case_id, replies in data.items():
        if not isinstance(replies, list):
            raise ValueError(f"{path}: case {case_id!r}: replies must be a list")
        model.register(case_id, [Reply.from_json(reply) for reply in replies])
    return model


def _looks_like_an_entry(data: Any) -> bool:
    # A one-line cassette is one JSON object too: it has a reply and a request.
    return isinstance(data, dict) and "reply" in data and "request" in data


def smoke_model() -> ScriptedModel:
    """Answers every call, whatever its case id, with a valid playbook artifact."""
    return ScriptedModel(fallback=Reply(text=json.dumps(SMOKE_ARTIFACT)))


def standalone_model(
    script_file: Path | None, *, record: Path | None = None, upstream: str | None = None
) -> ScriptedModel:
    """The model ``parity mock-llm`` serves for its options."""
    if (record is None) != (upstream is None):
        raise ValueError("--record and --upstream go together")
    if record is not None and upstream is not None:
        if script_file is not None:
            raise ValueError("--record answers from the upstream: drop --script")
        return ScriptedModel(recorder=Recorder(upstream, record))
    return load_script(script_file) if script_file is not None else smoke_model()


def run_standalone(
    port: int,
    script_file: Path | None,
    *,
    on_ready: Callable[[int], None] | None = None,
    record: Path | None = None,
    upstream: str | None = None,
) -> None:
    """Serve on 127.0.0.1:port until SIGINT/SIGTERM (``parity mock-llm``).

    With a script (or cassette), unknown case ids answer 404; without one,
    every call gets ``SMOKE_ARTIFACT`` so a stack can be smoke-tested by hand;
    with ``record`` and ``upstream``, every call is answered by the upstream and
    appended to the ``record`` cassette. ``on_ready`` gets the bound port
    (``port=0`` picks one); by default a line on stdout says where it listens.
    """
    model = standalone_model(script_file, record=record, upstream=upstream)
    asyncio.run(_serve_until_signalled(model, port, on_ready or _announce))


def _announce(port: int) -> None:
    print(f"mock-llm listening on http://{HOST}:{port} (Ctrl-C to stop)", flush=True)


async def _serve_until_signalled(
    model: ScriptedModel, port: int, on_ready: Callable[[int], None] | None
) -> None:
    async with model:
        bound = await model.listen("standalone", port)
        if on_ready is not None:
            on_ready(bound)
        await until_signalled()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.mock_llm --port N [--script FILE | --record FILE --upstream URL]``."""
    parser = argparse.ArgumentParser(prog="mock-llm", description="The scripted model.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", type=Path, default=None, help="a script or a cassette")
    parser.add_argument("--record", type=Path, default=None, help="the cassette to append to")
    parser.add_argument("--upstream", default=None, help="the real model to record")
    args = parser.parse_args(argv)
    try:
        run_standalone(args.port, args.script, record=args.record, upstream=args.upstream)
    except (OSError, ValueError) as exc:
        parser.exit(2, f"mock-llm: {exc}\n")
    return 0
