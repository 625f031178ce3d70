"""What every command shares: the consoles, exit codes, error reporting and
config resolution."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from harness import config, runner
from harness.errors import HarnessError

EXIT_OK, EXIT_DIVERGENCE, EXIT_ERROR = 0, 1, 2

# soft_wrap: in a CI log (not a terminal) a long path must stay on one line.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    sys.exit(EXIT_ERROR)


@contextmanager
def reported_errors() -> Iterator[None]:
    """A ``HarnessError`` (config, target, stack lifecycle) becomes one clear
    line; anything else is a harness bug, shown with its traceback. Both exit
    2: neither can vouch for parity."""
    try:
        yield
    except HarnessError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted: every process the harness started was stopped")
        sys.exit(EXIT_ERROR)
    except click.ClickException:
        raise
    except Exception:
        err.print_exception()
        fail("a harness bug (traceback above); please report it")


def resolve_config(path: Path | None) -> config.Config:
    if path is not None:
        return config.load(path)
    local = Path("parity.toml")
    if local.is_file():
        return config.load(local)
    return runner.default_config()
