"""What every command shares: the consoles, exit codes, error reporting and
config resolution."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.text import Text

from harness import config, runner
from harness.errors import HarnessError
from harness.reports.common import one_line

EXIT_OK, EXIT_DIVERGENCE, EXIT_ERROR = 0, 1, 2

# Printed text is never markup and never emoji codes: paths, keys and
# messages are the user's text, and `[/x]` or `:smile:` in a file name is
# shown as it is (styles come from rich.Text, never from the string).
# soft_wrap: in a CI log (not a terminal) a long path must stay on one line.
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def is_text(value: str) -> bool:
    """Whether a command-line value can be written to a file as text: one
    that is not UTF-8 arrives with lone surrogates standing for its bytes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_streams() -> None:
    """A file name that is not UTF-8 (its bytes arrive as lone surrogates)
    is printed with those bytes as escapes, as stderr already does, instead
    of failing the write where stdout is strict (any locale but C). In JSON
    output such an escape is a valid ``\\udcxx``."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def fail(message: str) -> NoReturn:
    """One line on stderr, whatever the message holds (a newline or a
    terminal escape in a file name is shown escaped), and exit 2."""
    err.print(Text("error:", style="bold red") + Text(" " + one_line(message)))
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


class FiniteFloatRange(click.FloatRange):
    """A float in a range, and a number: ``nan`` passes every comparison and
    ``inf`` every lower bound, so both are refused here by name."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def resolve_config(path: Path | None) -> config.Config:
    if path is not None:
        return config.load(path)
    local = Path("parity.toml")
    if local.is_file():
        return config.load(local)
    return runner.default_config()
