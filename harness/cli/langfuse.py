"""``parity langfuse``: the Langfuse stand-in, standalone, writing what it
receives to a JSON Lines file."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.common import err, reported_errors


@click.command("langfuse")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="0 picks a free one")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="the JSON Lines file every received observation is appended to",
)
@click.option("--public-key", metavar="KEY", help="accept only this public key (with --secret-key)")
@click.option("--secret-key", metavar="KEY", help="accept only this secret key (with --public-key)")
def langfuse(port: int, out: Path, public_key: str | None, secret_key: str | None) -> None:
    """Stand in for Langfuse on 127.0.0.1 until Ctrl-C.

    Point a runtime's Langfuse host at the URL it prints. It takes Langfuse's
    batch ingestion API (POST /api/public/ingestion) and OpenTelemetry
    (POST /api/public/otel/v1/traces, protobuf or JSON, gzip or not), and
    appends one row per observation to --out: trace_id, type, id, parent_id,
    name, input, output, level, model, model_parameters, status_message,
    start_time, end_time, transport, envelope_id, event.
    """
    from harness.langfuse import Credentials, run_standalone

    if (public_key is None) != (secret_key is None):
        raise click.UsageError("--public-key and --secret-key go together")
    try:
        keys = None if public_key is None else Credentials(public_key, secret_key or "")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with reported_errors():
        rows = run_standalone(port, out, credentials=keys)
    err.print(f"langfuse stand-in stopped: {rows} row(s) appended to {out}", markup=False)
