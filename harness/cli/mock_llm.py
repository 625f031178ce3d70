"""``parity mock-llm``: the scripted model, standalone (or recording a real one)."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.common import fail, reported_errors


@click.command("mock-llm")
@click.option("--port", type=click.IntRange(0, 65535), required=True)
@click.option(
    "--script",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="replies by case id: a JSON script, or a JSONL cassette made by --record",
)
@click.option(
    "--record",
    type=click.Path(path_type=Path, dir_okay=False),
    help="append every exchange with --upstream to this JSONL cassette",
)
@click.option("--upstream", metavar="URL", help="the real model to forward to when recording")
def mock_llm(port: int, script: Path | None, record: Path | None, upstream: str | None) -> None:
    """Serve the scripted model on 127.0.0.1 until Ctrl-C.

    Both dialects on one port: OpenAI (POST /v1/chat/completions, plain or
    stream, GET /v1/models) and Ollama (POST /api/chat, GET /api/tags,
    /api/version). Without --script every call gets a valid artifact.
    """
    from harness import mock_llm as mock

    if (record is None) != (upstream is None):
        raise click.UsageError("--record and --upstream go together")
    if record is not None and script is not None:
        raise click.UsageError("--record answers from --upstream: drop --script")
    with reported_errors():
        try:
            mock.run_standalone(port, script, record=record, upstream=upstream)
        except (OSError, ValueError) as exc:
            fail(f"mock-llm: {exc}")
