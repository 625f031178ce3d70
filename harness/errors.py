"""Errors the harness reports to its user (exit code 2), never as parity."""

from __future__ import annotations


class HarnessError(Exception):
    """An infrastructure or usage problem: the run cannot vouch for parity."""


class ConfigError(HarnessError):
    """A mistake in a configuration file, naming the file and the key."""

    def __init__(self, path: str, key: str | None, message: str) -> None:
        self.path = path
        self.key = key
        self.message = message
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {message}")


class TargetError(HarnessError):
    """A target could not be started or talked to at all."""


def describe_os_error(exc: Exception, path: object = None) -> str:
    """Why reading or writing ``path`` failed, in a few words for a one-line
    message (the file named only when it is another one, e.g. its folder)."""
    if isinstance(exc, UnicodeError):
        if isinstance(exc, UnicodeDecodeError):
            return f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        return "not valid text"
    if isinstance(exc, OSError) and exc.strerror:
        named = exc.filename is not None and str(exc.filename) != str(path)
        return f"{exc.strerror}: {exc.filename}" if named else exc.strerror
    return str(exc) or type(exc).__name__
