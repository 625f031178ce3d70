"""Every file the harness writes or rewrites is written whole or not at all.

``write_bytes`` (and ``write_text``) write a temporary file in the target's
own folder, flush and fsync it, then ``os.replace`` it over the target: a
process killed at any point leaves the old file or the new one, never a torn
one (at worst a stray ``.NAME.*.tmp`` beside it). ``append_line`` appends one
line to a JSON Lines file the same way, so an interrupted append never leaves
half a line.

A rename would replace a file its owner made read-only, which a plain write
refuses; so a file without any write permission bit, or one this user may not
write, is refused here too (even for root: the bits say what its owner
meant). A symbolic link is written through: the file it points to is
replaced, the link stays. Every refusal is an ``OSError`` with its ``errno``
and file name, for the caller to turn into one line.

The append is a copy of the file per line: meant for files written a line at
a time by one process (cassettes), not for bulk logs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Final

__all__ = ["append_line", "check_writable", "write_bytes", "write_text"]

_WRITE_BITS: Final = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
_NEW_FILE_MODE: Final = 0o666  # less the umask, as for open(path, "w")
_APPENDS = threading.Lock()  # one read-copy-replace at a time in this process


def check_writable(path: Path) -> Path:
    """The file a write to ``path`` would replace (links followed), or the
    ``OSError`` that writing it would meet: a folder that is missing or not a
    folder, a path that is a folder or not a regular file, a read-only file."""
    target = Path(os.path.realpath(path))
    folder = target.parent
    if not folder.exists():
        raise _error(errno.ENOENT, "no such folder", folder)
    if not folder.is_dir():
        raise _error(errno.ENOTDIR, "not a folder", folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _error(errno.EACCES, "the folder is not writable", folder)
    try:
        found = target.stat()
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(found.st_mode):
        raise _error(errno.EISDIR, "is a folder", path)
    if not stat.S_ISREG(found.st_mode):
        raise _error(errno.EINVAL, "not a regular file", path)
    if not found.st_mode & _WRITE_BITS or not os.access(target, os.W_OK):
        raise _error(errno.EACCES, "read-only", path)
    return target


def write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, whole or not at all."""
    target = check_writable(path)
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _NEW_FILE_MODE)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # the rewritten file keeps its permissions
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_folder(target.parent)


def write_text(path: Path, text: str, *, errors: str = "strict") -> None:
    """``write_bytes`` of ``text`` in UTF-8: encoded first, so that text that
    cannot be written (a lone surrogate, with ``errors="strict"``) leaves the
    file untouched."""
    write_bytes(path, text.encode("utf-8", errors))


def append_line(path: Path, line: bytes) -> None:
    """Append ``line`` and a newline to ``path`` (created if missing), whole or
    not at all. A file whose last line lacks its newline (written by someone
    else) gets one first, so that the new line stays a line of its own."""
    if b"\n" in line:
        raise ValueError("append_line appends one line: it must not hold a newline")
    with _APPENDS:
        target = check_writable(path)
        try:
            before = target.read_bytes()
        except FileNotFoundError:
            before = b""
        separator = b"\n" if before and not before.endswith(b"\n") else b""
        write_bytes(target, before + separator + line + b"\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _error(code: int, reason: str, path: Path) -> OSError:
    return OSError(code, reason, str(path))
