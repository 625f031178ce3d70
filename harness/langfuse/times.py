"""Timestamps as both transports give them, in one form: ISO 8601 in UTC with
microseconds and ``Z`` (what Python's ``datetime`` can hold; OpenTelemetry's
nanoseconds are cut to it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

# Langfuse validates with zod's ``z.string().datetime({offset: true})``: a date,
# ``T``, a time with optional seconds and fraction, then ``Z`` or an offset.
_ISO: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)", re.ASCII
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _canonical(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> str:
    """``text`` in canonical form; ``ValueError`` when it is not an ISO 8601
    date-time with an offset."""
    if not _ISO.fullmatch(text):
        raise ValueError(f"{text!r} is not an ISO 8601 date-time with an offset")
    # Python 3.11 takes "Z", and fractions beyond microseconds it cuts.
    try:
        return _canonical(datetime.fromisoformat(text))
    except OverflowError:  # in UTC, off Python's calendar (year 1 to 9999)
        raise ValueError(f"{text!r} is out of range") from None


def from_unix_nanos(nanos: int) -> str | None:
    """An OTLP ``*_time_unix_nano``; 0 (unset) is None."""
    if nanos <= 0:
        return None
    return _canonical(_EPOCH + timedelta(microseconds=nanos // 1000))
