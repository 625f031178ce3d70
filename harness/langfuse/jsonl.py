"""The stand-in's JSON Lines output: every stored observation a row, appended
as whole lines.

The file is opened once, for appending (``O_APPEND``): each request's rows go
out in one ``write``, so a reader, or another process appending to the same
file, never sees half a line of ours.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from harness.http_server import encode_json
from harness.langfuse.observation import TreeObservation


class JsonlSink:
    def __init__(self, path: Path) -> None:
        """Open ``path`` for appending (created if absent); ``OSError`` when it
        cannot be written: a missing folder, a directory, no permission."""
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.rows = 0

    def __call__(self, observations: Sequence[TreeObservation]) -> None:
        if self._fd is None or not observations:
            return
        data = b"".join(encode_json(o.to_json()) + b"\n" for o in observations)
        written = os.write(self._fd, data)
        while written < len(data):  # a regular file writes whole; never lose the rest
            written += os.write(self._fd, data[written:])
        self.rows += len(observations)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
