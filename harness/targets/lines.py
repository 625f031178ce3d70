"""One persistent jsonl probe process (``LineProcess``), the line protocol's
exchange with it, and what every probe process needs: its stderr kept
(``StderrTail``), its process group killed. ``targets/probe.py`` drives them.
"""

from __future__ import annotations

import contextlib
import operator
import os
import select
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Final

from harness.config import ProbeConfig
from harness.errors import TargetError
from harness.model import JsonValue

STDERR_KEEP = 16 * 1024

Encode = Callable[[JsonValue], str]
"""A case -> the text the probe reads: a line (jsonl) or the whole stdin (oneshot)."""


class StderrTail:
    """Keeps the last bytes a process wrote to stderr (read by a thread, so a
    chatty probe can never block on a full pipe)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        # read1 returns what is there; read(4096) would wait for 4096 bytes.
        read = getattr(stream, "read1", stream.read)
        while chunk := read(4096):
            with self._lock:
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size > STDERR_KEEP and len(self._chunks) > 1:
                    self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        with self._lock:
            data = b"".join(self._chunks)
        return data[-STDERR_KEEP:].decode("utf-8", errors="replace")

    def join(self) -> None:
        self._thread.join(timeout=2)


def signal_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's group, without waiting (its own thread reaps it)."""
    if proc.returncode is not None:
        return  # reaped: its pid may be someone else's by now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


# After a batch's last answer, how long to watch for a line more: until the
# probe is seen waiting (for its next input), at most this long.
SETTLE_MAX_S: Final = 0.05
_SETTLE_STEP_S: Final = 0.0002
_NO_PROC_GRACE_S: Final = 0.002  # where /proc cannot say whether it waits


def _running(pid: int) -> bool | None:
    """Whether the process is running or runnable (Linux /proc; None: cannot tell).

    A jsonl probe that has answered every line it was sent blocks reading its
    next one; one still running may still print."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat.rsplit(b")", 1)[-1].split()
    return bool(fields) and fields[0] == b"R"


class LineProcess:
    """One persistent jsonl probe process."""

    def __init__(self, config: ProbeConfig) -> None:
        try:
            self.proc = subprocess.Popen(
                list(config.command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=config.cwd,
                start_new_session=True,  # its own group: we can kill all it starts
            )
        except OSError as exc:
            raise TargetError(f"cannot start {config.command[0]}: {exc}") from exc
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self.stderr = StderrTail(self.proc.stderr)
        self._buffer = b""
        # What broke the protocol, for the report: when, and the output.
        self.unread = b""
        self.unread_when = ""
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stdin.fileno(), False)

    def exchange(
        self, payload: bytes, lines: int, timeout_s: float
    ) -> tuple[list[bytes], str | None]:
        """Write ``payload`` (``lines`` lines), read as many answers; (answers,
        failure kind or None). The kinds: ``timeout``, ``crash`` (gone before
        answering every line) and ``protocol`` (output beyond one answer per
        line, read before the batch or after its answers).

        Reading and writing interleave so that neither pipe can fill up and
        deadlock the pair of us. ``timeout_s`` is per answer: the clock
        restarts with every answer, so a hang is seen ``timeout_s`` after the
        last answer, not after the time the whole batch may take.
        """
        assert self.proc.stdin and self.proc.stdout
        self.unread = b""
        if self._unasked():
            return [], "protocol"
        pending: bytes | None = payload
        answers: list[bytes] = []
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if pending:
                selector.register(self.proc.stdin, selectors.EVENT_WRITE)
            while len(answers) < lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    return answers, "timeout"
                for key, _ in selector.select(timeout=left):
                    if key.fileobj is self.proc.stdin and pending is not None:
                        # A closed stdin: what it answered is still to be read.
                        pending = self._write(pending, selector)
                    else:
                        before = len(answers)
                        if not self._read(answers):
                            return answers, "crash"
                        if len(answers) > before:
                            deadline = time.monotonic() + timeout_s
            # One answer per line: a line more is a broken protocol, and every
            # answer of this batch may belong to another case.
            if self._more_after(answers, lines):
                return answers[:lines], "protocol"
        return answers, None

    def _unasked(self) -> bool:
        """Whether the process printed something after the last batch's answers."""
        assert self.proc.stdout
        stale: list[bytes] = []
        ready, _, _ = select.select([self.proc.stdout], [], [], 0)
        if ready:
            self._read(stale)  # at EOF nothing: the process ended, which is no protocol error
        if not stale and not self._buffer:
            return False
        self.unread = b"\n".join([*stale, self._buffer])
        self.unread_when = "output before a batch was sent"
        return True

    def _more_after(self, answers: list[bytes], lines: int) -> bool:
        """Whether output follows the ``lines`` answers: read already, or
        printed before the probe settles (a line more per case comes right
        after its answer, while the probe still runs; anything later is seen
        before the next batch). A probe seen waiting costs no wait at all."""
        assert self.proc.stdout
        settled = time.monotonic() + SETTLE_MAX_S
        while len(answers) == lines and not self._buffer:
            running = _running(self.proc.pid)
            if running is False:
                step = 0.0  # one last look: what it printed before it waited
            elif running is None:
                step = _NO_PROC_GRACE_S
            else:
                step = min(_SETTLE_STEP_S, max(0.0, settled - time.monotonic()))
            ready, _, _ = select.select([self.proc.stdout], [], [], step)
            if ready and not self._read(answers):
                return False  # gone after answering: no protocol error
            if not ready and (running is not True or time.monotonic() >= settled):
                return False
        self.unread = b"\n".join([*answers[lines:], self._buffer])
        self.unread_when = f"more than the {lines} answer line(s) its batch asked for"
        return True

    def _write(self, pending: bytes, selector: selectors.BaseSelector) -> bytes | None:
        assert self.proc.stdin
        try:
            written = os.write(self.proc.stdin.fileno(), pending)
        except BrokenPipeError:
            selector.unregister(self.proc.stdin)
            return None
        rest = pending[written:]
        if not rest:
            selector.unregister(self.proc.stdin)
        return rest

    def _read(self, answers: list[bytes]) -> bool:
        assert self.proc.stdout
        try:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        if not chunk:
            return False  # EOF: the process is gone
        self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\n")
        answers.extend(complete)
        return True

    def close(self) -> None:
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
        self.stderr.join()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class SharedLines:
    """The encoded lines of the last few batches, shared by every target.

    Each target is sent the same batch; encoding it once, not once per
    target, is what counts: the encoders hold the interpreter lock the
    engine's thread is waiting for. A batch is the same only with the same
    encoder and the very same case objects (``1 == True``, but their lines
    differ).
    """

    def __init__(self, keep: int = 8) -> None:
        self._lock = threading.Lock()
        self._recent: deque[tuple[Encode, tuple[JsonValue, ...], bytes]] = deque(maxlen=keep)

    def payload(self, encode: Encode, cases: Sequence[JsonValue]) -> bytes:
        batch = tuple(cases)
        with self._lock:
            for known_encode, known, payload in self._recent:
                if known_encode is encode and _same_objects(known, batch):
                    return payload
            payload = "".join([encode(case) + "\n" for case in batch]).encode("utf-8")
            self._recent.append((encode, batch, payload))
            return payload


def _same_objects(a: tuple[JsonValue, ...], b: tuple[JsonValue, ...]) -> bool:
    return len(a) == len(b) and all(map(operator.is_, a, b))


SHARED_LINES = SharedLines()
