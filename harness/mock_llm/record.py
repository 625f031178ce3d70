"""Record a real model once, replay it in every run: JSONL cassettes.

``Recorder`` forwards each chat call to a real upstream (in the dialect it was
asked in, unstreamed), answers the caller with the upstream's text (streamed
if the caller asked for a stream) and appends the exchange to a cassette:

    {"version": 1, "case": "c-1" | null, "dialect": "openai", "request": {...},
     "reply": "the text" | {"text": null}, "recorded_at": "...Z"}

``request`` is the call as the scripted model records it (``calls.Call``). An
upstream failure is passed on to the caller (502 when unreachable) and not
recorded. ``load_cassette`` reads the replies back, per case id in file order;
``parity mock-llm --script FILE`` accepts a cassette as well as a script.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx

from harness import atomic
from harness.errors import describe_os_error
from harness.http_server import Answer, encode_json
from harness.mock_llm.calls import Dialect
from harness.mock_llm.dialect import ChatApi
from harness.mock_llm.script import JsonValue, Reply, find_case_id

CASSETTE_VERSION: Final = 1
DEFAULT_UPSTREAM_TIMEOUT_S: Final = 120.0
_DETAIL_CHARS: Final = 300


@dataclass
class Recorder:
    """Answers from ``upstream`` and appends every exchange to ``cassette``."""

    upstream: str
    cassette: Path
    timeout_s: float = DEFAULT_UPSTREAM_TIMEOUT_S
    recorded: int = 0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.upstream.startswith(("http://", "https://")):
            raise ValueError(f"the upstream must be an http(s) URL, got {self.upstream!r}")
        self.upstream = self.upstream.rstrip("/")
        # Refused now, not at the first call: a recording that cannot be
        # written would answer every call and keep none of them.
        try:
            atomic.check_writable(self.cassette)
        except OSError as exc:
            raise ValueError(
                f"cannot record to {self.cassette}: {describe_os_error(exc, self.cassette)}"
            ) from exc

    async def forward(self, api: ChatApi, body: dict[str, JsonValue]) -> Reply | Answer:
        """The upstream's reply to one call (recorded), or the error to pass on."""
        url = self.upstream + api.chat_path
        try:
            response = await self._http().post(url, json=_unstreamed(api.dialect, body))
        except httpx.HTTPError as exc:
            return _failed(api, 502, f"upstream {url} failed: {exc!r}")
        if response.status_code >= 300:
            detail = response.text[:_DETAIL_CHARS]
            status = response.status_code
            return _failed(api, status, f"upstream {url} returned {status}: {detail}")
        try:
            text = reply_text(api.dialect, response.json())
        except ValueError as exc:
            return _failed(api, 502, f"upstream {url}: {exc}")
        reply = Reply(text=text)
        try:
            self._append(api, body, reply)
        except OSError as exc:
            # The caller still gets its answer; the person recording is told.
            why = describe_os_error(exc, self.cassette)
            print(f"mock-llm: not recorded: {self.cassette}: {why}", file=sys.stderr, flush=True)
        return reply

    def _append(self, api: ChatApi, body: dict[str, JsonValue], reply: Reply) -> None:
        entry = {
            "version": CASSETTE_VERSION,
            "case": find_case_id(body),
            "dialect": api.dialect.value,
            "request": api.parse(body).call.body,
            "reply": reply.to_json(),
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        # Whole lines only: an interrupted recording loses at most the
        # exchange in flight, never an earlier one, and never leaves half a line.
        atomic.append_line(self.cassette, encode_json(entry))
        self.recorded += 1

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: a proxy from the environment must not see the calls.
            self._client = httpx.AsyncClient(timeout=self.timeout_s, trust_env=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _unstreamed(dialect: Dialect, body: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if dialect is Dialect.OLLAMA:
        return {**body, "stream": False}
    return {key: value for key, value in body.items() if key not in ("stream", "stream_options")}


def reply_text(dialect: Dialect, answer: JsonValue) -> str | None:
    """The message text of an unstreamed answer in ``dialect`` (ValueError if none)."""
    try:
        if dialect is Dialect.OLLAMA:
            message = answer["message"]
        else:
            message = answer["choices"][0]["message"]
        text = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"the answer has no message: {str(answer)[:_DETAIL_CHARS]}") from exc
    if text is not None and not isinstance(text, str):
        raise ValueError(f"the message content is not text: {text!r}")
    return text


@dataclass(frozen=True)
class Cassette:
    """A cassette's replies: per case id, and for calls without a marker."""

    cases: dict[str, list[Reply]]
    unmarked: list[Reply]


def load_cassette(path: Path) -> Cassette:
    """Read a cassette; a bad line is a ValueError naming the file and the line."""
    cases: dict[str, list[Reply]] = {}
    unmarked: list[Reply] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                case, reply = _entry(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
            if case is None:
                unmarked.append(reply)
            else:
                cases.setdefault(case, []).append(reply)
    return Cassette(cases, unmarked)


def _entry(entry: JsonValue) -> tuple[str | None, Reply]:
    if not isinstance(entry, dict) or "reply" not in entry:
        raise ValueError("a cassette entry is an object with a `reply`")
    version = entry.get("version", CASSETTE_VERSION)
    if version != CASSETTE_VERSION:
        raise ValueError(f"cassette version {version!r}; this harness reads {CASSETTE_VERSION}")
    case = entry.get("case")
    if case is not None and not isinstance(case, str):
        raise ValueError(f"`case` must be a string or null, got {case!r}")
    return case, Reply.from_json(entry["reply"])


def _failed(api: ChatApi, status: int, message: str) -> Answer:
    """Passed on to the caller, and said where the person recording sees it."""
    print(f"mock-llm: not recorded: {message}", file=sys.stderr, flush=True)
    return api.error(status, message)
