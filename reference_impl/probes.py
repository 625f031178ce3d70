"""The reference's probe programs (CONTRACT §1 and §4, docs/decisions.md §6).

    python -m reference_impl.probes extract-json [--jsonl]
    python -m reference_impl.probes session-log [--jsonl]

One-shot mode reads all of stdin as one input; ``--jsonl`` answers one line
per input line, flushed per line, and never stops on a bad line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import BinaryIO, TextIO

from reference_impl.extract import extract_json
from reference_impl.jsonmodel import JsonError, dumps, loads
from reference_impl.rules import Hit, ignore
from reference_impl.session import roundtrip


def answer_extract_json(raw: str, hit: Hit = ignore) -> str:
    value = extract_json(raw, hit)
    return dumps({"matched": value is not None, "value": value}, hit)


def answer_extract_json_line(line: str) -> str:
    """One ``{"raw": ...}`` line of the persistent protocol."""
    try:
        request = loads(line)
    except JsonError as exc:
        return dumps({"error": f"invalid input line: {exc}"})
    if not isinstance(request, dict) or not isinstance(request.get("raw"), str):
        return dumps({"error": 'expected an object {"raw": string}'})
    return answer_extract_json(request["raw"])


def answer_session_log(text: str, hit: Hit = ignore) -> str:
    return roundtrip(text, hit)


def _decode(data: bytes) -> str:
    # Python's "replace" substitutes maximal subparts, as from_utf8_lossy does.
    return data.decode("utf-8", errors="replace")


def serve_lines(answer: Callable[[str], str], lines: Iterable[bytes], out: TextIO) -> int:
    """Answer each non-blank line; returns the number of answers written."""
    count = 0
    for data in lines:
        line = _decode(data).rstrip("\r\n")
        if not line.strip():
            continue
        out.write(answer(line) + "\n")
        out.flush()
        count += 1
    return count


def serve_oneshot(answer: Callable[[str], str], source: BinaryIO, out: TextIO) -> None:
    out.write(answer(_decode(source.read())) + "\n")
    out.flush()


_PROBES: dict[str, tuple[Callable[[str], str], Callable[[str], str]]] = {
    "extract-json": (answer_extract_json, answer_extract_json_line),
    "session-log": (answer_session_log, answer_session_log),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_impl.probes", description=__doc__)
    parser.add_argument("probe", choices=sorted(_PROBES))
    parser.add_argument("--jsonl", action="store_true", help="persistent mode: one line per case")
    args = parser.parse_args(argv)
    oneshot, per_line = _PROBES[args.probe]
    # Model output is arbitrary text: write UTF-8 whatever the locale says.
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    try:
        if args.jsonl:
            serve_lines(per_line, sys.stdin.buffer, out)
        else:
            serve_oneshot(oneshot, sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
