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
