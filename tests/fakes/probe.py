"""A fake probe program that breaks the contract in exactly one known way.

    python tests/fakes/probe.py --suite extract_json|session_log --mode MODE
        [--trigger TEXT] [--once PATH] [--tag TAG] [--oneshot]

It speaks the persistent jsonl protocol of both probe suites (docs/decisions.md
§6): one answer line per non-blank input line, flushed per line. Each answer is
the reference's (``reference_impl.probes``) except where the mode says
otherwise, and every divergence depends on the case, so that the harness has to
*find* it:

=================  ============  ==========================================================
mode               suite         diverges when ...
=================  ============  ==========================================================
identical          both          never: the reference's bytes
status             session_log   the reference rejects the record: answers a made-up record
matched            extract_json  the found object has a non-null ``b``: says not matched
missing_field      both          extract: drops a non-null ``b``; session: drops
                                 ``provider`` of an ``email`` row
extra_field        both          extract: adds ``zz_extra`` next to ``a``; session: adds
                                 ``reviewer`` to an accepted row
null_vs_absent     both          extract: adds ``zz_null: null`` next to ``a``; session:
                                 writes ``artifact: null`` when there is no artifact
type               both          extract: the first number in the value becomes a string;
                                 session: ``iterations`` >= 3 becomes a string
value              both          extract: the first non-empty string in the value gets a
                                 ``~``; session: ``model`` of a ``playbook`` row
number_precision   both          the first normal non-zero float of the value (artifact)
                                 moves one ulp towards zero
number_type        both          the first integral float of the value (artifact), e.g.
                                 1.0, is written as an integer (1)
encoding_only      both          the answer holds a ``<``: written as ``\\u003c``
crash              both          the case holds the trigger (any case without one): exits 3
hang               both          the case holds the trigger (any case without one): sleeps
garbage            both          the case holds the trigger (any case without one): prints
                                 a line that is not JSON
=================  ============  ==========================================================

"Value" is the extracted object (extract_json) and "artifact" the session row's
``artifact``. The trigger is looked for in the case as generated (the ``raw``
text of an extract_json line, the record text of a session_log line).
``--once PATH`` makes crash/hang/garbage happen at most once across restarts:
the first misbehaving process creates PATH. ``--tag`` is ignored; tests use it
to find their own processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reference_impl.jsonmodel import dumps
from reference_impl.probes import (
    answer_extract_json_line,
    answer_session_log,
)

COMMON = (
    "identical", "missing_field", "extra_field", "null_vs_absent", "type", "value",
    "number_precision", "number_type", "encoding_only", "crash", "hang", "garbage",
)  # fmt: skip
MODES = {
    "extract_json": ("matched", *COMMON),
    "session_log": ("status", *COMMON),
}
CRASH_STATUS = 3
GARBAGE = "this is not JSON {"
# What a session_log probe answers instead of rejecting (status mode).
MADE_UP_RECORD = (
    '{"schema":"session.iterate.v1","session_id":"made-up","timestamp":"2026-01-01T00:00:00Z",'
    '"daemon":"fake","kind":"fill","model":"m","provider":"p","prompt":"","iterations":0,'
    '"max_iterations":1,"final_verdict":"infra_error","attempts":[],"duration_ms":0}'
)
MIN_NORMAL = 2.2250738585072014e-308

Json = Any
Mutate = Callable[[dict[str, Json]], bool]  # changes the answer in place; False: unchanged


# --------------------------------------------------------------------------- leaves


def _first(value: Json, wanted: Callable[[Json], bool]) -> tuple[Json, Json] | None:
    """(container, key) of the first leaf, depth first in written order, that is wanted."""
    items: list[tuple[Json, Json]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        if isinstance(item, dict | list):
            found = _first(item, wanted)
            if found is not None:
                return found
        elif wanted(item):
            return value, key
    return None


def _replace_first(
    value: Json, wanted: Callable[[Json], bool], new: Callable[[Json], Json]
) -> bool:
    found = _first(value, wanted)
    if found is None:
        return False
    container, key = found
    container[key] = new(container[key])
    return True


def _is_number(item: Json) -> bool:
    return isinstance(item, int | float) and not isinstance(item, bool)


def _nudgeable(item: Json) -> bool:
    return isinstance(item, float) and abs(item) >= MIN_NORMAL


def _integral_float(item: Json) -> bool:
    return isinstance(item, float) and item.is_integer() and abs(item) < 2**53


def _nonempty_string(item: Json) -> bool:
    return isinstance(item, str) and item != ""


def _one_ulp(item: float) -> float:
    return math.nextafter(item, 0.0)


# --------------------------------------------------------------------------- extract_json


def _value_of(answer: dict[str, Json]) -> dict[str, Json] | None:
    value = answer.get("value")
    return value if answer.get("matched") is True and isinstance(value, dict) else None


def _extract_mutation(mode: str) -> Mutate:
    def mutate(answer: dict[str, Json]) -> bool:
        value = _value_of(answer)
        if value is None:
            return False
        return _EXTRACT[mode](answer, value)

    return mutate


def _ex_matched(answer: dict[str, Json], value: dict[str, Json]) -> bool:
    if value.get("b") is None:
        return False
    answer["matched"], answer["value"] = False, None
    return True


def _ex_missing(answer: dict[str, Json], value: dict[str, Json]) -> bool:
    if value.get("b") is None:
        return False
    del value["b"]
    return True


def _ex_added(key: str, item: Json) -> Callable[[dict[str, Json], dict[str, Json]], bool]:
    def add(answer: dict[str, Json], value: dict[str, Json]) -> bool:
        if "a" not in value or key in value:
            return False
        value[key] = item
        return True

    return add


_EXTRACT: dict[str, Callable[[dict[str, Json], dict[str, Json]], bool]] = {
    "matched": _ex_matched,
    "missing_field": _ex_missing,
    "extra_field": _ex_added("zz_extra", 1),
    "null_vs_absent": _ex_added("zz_null", None),
    "type": lambda _, v: _replace_first(v, _is_number, lambda x: dumps(x)),
    "value": lambda _, v: _replace_first(v, _nonempty_string, lambda s: s + "~"),
    "number_precision": lambda _, v: _replace_first(v, _nudgeable, _one_ulp),
    "number_type": lambda _, v: _replace_first(v, _integral_float, int),
}


# --------------------------------------------------------------------------- session_log


def _session_mutation(mode: str) -> Mutate:
    def mutate(record: dict[str, Json]) -> bool:
        if set(record) == {"error"}:
            return False
        return _SESSION[mode](record)

    return mutate


def _se_missing(record: dict[str, Json]) -> bool:
    if record.get("kind") != "email" or "provider" not in record:
        return False
    del record["provider"]
    return True


def _se_extra(record: dict[str, Json]) -> bool:
    if record.get("final_verdict") != "accepted":
        return False
    record["reviewer"] = "fake"
    return True


def _se_null(record: dict[str, Json]) -> bool:
    if "artifact" in record:
        return False
    record["artifact"] = None
    return True


def _se_type(record: dict[str, Json]) -> bool:
    iterations = record.get("iterations")
    if not isinstance(iterations, int) or iterations < 3:
        return False
    record["iterations"] = str(iterations)
    return True


def _se_value(record: dict[str, Json]) -> bool:
    if record.get("kind") != "playbook":
        return False
    record["model"] = f"{record.get('model')}-fake"
    return True


def _in_artifact(wanted: Callable[[Json], bool], new: Callable[[Json], Json]) -> Mutate:
    def mutate(record: dict[str, Json]) -> bool:
        if "artifact" not in record:
            return False
        if wanted(record["artifact"]):  # the artifact itself is a leaf
            record["artifact"] = new(record["artifact"])
            return True
        return _replace_first(record["artifact"], wanted, new)

    return mutate


_SESSION: dict[str, Mutate] = {
    "missing_field": _se_missing,
    "extra_field": _se_extra,
    "null_vs_absent": _se_null,
    "type": _se_type,
    "value": _se_value,
    "number_precision": _in_artifact(_nudgeable, _one_ulp),
    "number_type": _in_artifact(_integral_float, int),
}


# --------------------------------------------------------------------------- answering


def _case_text(suite: str, line: str) -> str:
    """The case as generated: the raw text of an extract_json line, else the line."""
    if suite == "extract_json":
        try:
            request = json.loads(line)
        except ValueError:
            return line
        if isinstance(request, dict) and isinstance(request.get("raw"), str):
            return str(request["raw"])
    return line


def reference_answer(suite: str, line: str) -> str:
    if suite == "extract_json":
        return answer_extract_json_line(line)
    return answer_session_log(line)


def diverge(suite: str, mode: str, line: str, answer: str) -> str:
    """The answer after this mode's one divergence (the reference's bytes when none applies)."""
    if mode == "identical":
        return answer
    if mode == "encoding_only":
        return answer.replace("<", "\\u003c")
    if mode == "status":
        return MADE_UP_RECORD if answer.startswith('{"error":') else answer
    parsed = json.loads(answer)  # no depth limit: an answer wraps a 127-level value
    if not isinstance(parsed, dict):
        return answer
    mutate = _extract_mutation(mode) if suite == "extract_json" else _session_mutation(mode)
    return dumps(parsed) if mutate(parsed) else answer


class Misbehaviour:
    """crash / hang / garbage: when the case holds the trigger, at most once with --once."""

    def __init__(self, mode: str, trigger: str | None, once: Path | None) -> None:
        self.mode = mode
        self.trigger = trigger
        self.once = once

    def applies(self, case: str) -> bool:
        if self.mode not in ("crash", "hang", "garbage"):
            return False
        if self.trigger is not None and self.trigger not in case:
            return False
        if self.once is None:
            return True
        try:
            os.close(os.open(self.once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def act(self) -> str:
        """Crash or hang (never returns), or the garbage line to print."""
        if self.mode == "crash":
            sys.stderr.write("fake probe: crashing on purpose\n")
            sys.stderr.flush()
            os._exit(CRASH_STATUS)
        if self.mode == "hang":
            sys.stderr.write("fake probe: hanging on purpose\n")
            sys.stderr.flush()
            while True:
                time.sleep(3600)
        return GARBAGE


def answer_line(suite: str, mode: str, line: str, misbehaviour: Misbehaviour) -> str:
    if misbehaviour.applies(_case_text(suite, line)):
        return misbehaviour.act()
    if mode in ("crash", "hang", "garbage"):
        return reference_answer(suite, line)
    return diverge(suite, mode, line, reference_answer(suite, line))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=sorted(MODES), required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--trigger", help="misbehave only on cases holding this text")
    parser.add_argument("--once", type=Path, help="misbehave at most once (marker file)")
    parser.add_argument("--tag", help="ignored: lets a test find its processes")
    parser.add_argument("--oneshot", action="store_true", help="read all of stdin as one case")
    args = parser.parse_args(argv)
    if args.mode not in MODES[args.suite]:
        parser.error(f"mode {args.mode!r} does not apply to {args.suite}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    misbehaviour = Misbehaviour(args.mode, args.trigger, args.once)
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    try:
        if args.oneshot:
            raw = sys.stdin.buffer.read().decode("utf-8", errors="replace")
            line = json.dumps({"raw": raw}) if args.suite == "extract_json" else raw
            out.write(answer_line(args.suite, args.mode, line, misbehaviour) + "\n")
            out.flush()
            return 0
        for data in sys.stdin.buffer:
            line = data.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip():
                continue
            out.write(answer_line(args.suite, args.mode, line, misbehaviour) + "\n")
            out.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
