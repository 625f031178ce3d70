"""``parity mock-llm``: the scripted model, standalone."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.common import reported_errors


@click.command("mock-llm")
@click.option("--port", type=click.IntRange(0, 65535), required=True)
@click.option("--script", type=click.Path(path_type=Path, exists=True), help="replies by case id")
def mock_llm(port: int, script: Path | None) -> None:
    """Serve the scripted OpenAI-compatible model on 127.0.0.1 until Ctrl-C."""
    from harness import mock_llm as mock

    with reported_errors():
        mock.run_standalone(port, script)
