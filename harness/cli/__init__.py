"""``parity``: the command line. Exit codes: 0 parity, 1 divergence, 2 error.

One module per command (group); this one only assembles them."""

from __future__ import annotations

import click

from harness import __version__
from harness.cli.common import printable_streams, reported_errors
from harness.cli.langfuse import langfuse
from harness.cli.merge import merge
from harness.cli.mock_llm import mock_llm
from harness.cli.onboarding import doctor, init
from harness.cli.repro import repro
from harness.cli.run import run
from harness.cli.schema import schema
from harness.cli.sessions import sessions
from harness.cli.stacks import stacks_group
from harness.cli.trend import trend
from harness.cli.waive import waive

__all__ = ["main", "reported_errors"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="parity")
def main() -> None:
    """Cross-runtime parity harness for the lakehouse iterate stack."""
    printable_streams()


for _command in (
    run,
    merge,
    repro,
    schema,
    sessions,
    stacks_group,
    mock_llm,
    langfuse,
    waive,
    trend,
    init,
    doctor,
):
    main.add_command(_command)
