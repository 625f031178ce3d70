"""Record and replay: a second scripted model stands in for the real upstream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest

from harness.mock_llm import (
    Fault,
    Recorder,
    Reply,
    ScriptedModel,
    ScriptedModelServer,
    case_marker,
    load_cassette,
    load_script,
)
from tests.test_mock_llm import REPO, standalone_procs, start_standalone

__all__ = ["standalone_procs"]  # the fixture, shared with test_mock_llm


def messages(case_id: str | None) -> list[dict[str, str]]:
    marker = case_marker(case_id) if case_id else "no marker"
    return [{"role": "user", "content": f"Write a playbook. {marker}"}]


@pytest.fixture
def upstream() -> Iterator[ScriptedModelServer]:
    model = ScriptedModel(fallback=Reply("unmarked answer"))
    model.register("c1", [Reply("one"), Reply("two"), Reply("three")])
    model.register("bad", [Reply(fault=Fault.HTTP_500)])
    with ScriptedModelServer(model) as srv:
        srv.add_listener("real")
        yield srv


@pytest.fixture
def recording(
    upstream: ScriptedModelServer, tmp_path: Path
) -> Iterator[tuple[ScriptedModelServer, Path]]:
    cassette = tmp_path / "cassette.jsonl"
    model = ScriptedModel(recorder=Recorder(upstream.url("real"), cassette))
    with ScriptedModelServer(model) as srv:
        srv.add_listener("rec")
        yield srv, cassette


def exchanges(url: str) -> list[str | None]:
    """The same calls, in both dialects, streamed and not, by the official clients."""
    with openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as client:
        plain = client.chat.completions.create(
            model="m", messages=messages("c1"), temperature=0.2, max_tokens=64
        )
        streamed = client.chat.completions.create(model="m", messages=messages("c1"), stream=True)
        streamed_text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    native = ollama.Client(host=url)
    parts = native.chat(
        model="m", messages=messages("c1"), options={"num_predict": 64}, stream=True
    )
    ollama_text = "".join(p.message.content or "" for p in parts)
    unmarked = native.chat(model="m", messages=messages(None), stream=False).message.content
    return [plain.choices[0].message.content, streamed_text, ollama_text, unmarked]


def test_record_then_replay(
    upstream: ScriptedModelServer, recording: tuple[ScriptedModelServer, Path]
) -> None:
    recorder, cassette = recording
    answers = exchanges(recorder.url("rec"))
    assert answers == ["one", "two", "three", "unmarked answer"]
    entries = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert [(e["case"], e["dialect"], e["reply"]) for e in entries] == [
        ("c1", "openai", "one"),
        ("c1", "openai", "two"),
        ("c1", "ollama", "three"),
        (None, "ollama", "unmarked answer"),
    ]
    # The request is the call as recorded, and what the upstream was sent.
    assert entries[0]["request"] == {
        "model": "m",
        "messages": messages("c1"),
        "temperature": 0.2,
        "max_tokens": 64,
    }
    assert entries[2]["request"] == {"model": "m", "messages": messages("c1"), "max_tokens": 64}
    assert [e["request"] for e in entries[:3]] == upstream.model.calls("c1", "real")
    # The recorder's own calls are recorded as a scripted model's are.
    assert recorder.model.call_count("c1", "rec") == 3

    replayed = load_script(cassette)
    with ScriptedModelServer(replayed) as again:
        again.add_listener("replay")
        assert exchanges(again.url("replay")) == answers


def test_an_upstream_error_is_passed_on_and_not_recorded(
    recording: tuple[ScriptedModelServer, Path],
) -> None:
    recorder, cassette = recording
    response = httpx.post(
        recorder.url("rec") + "/v1/chat/completions",
        json={"model": "m", "messages": messages("bad")},
        timeout=5,
    )
    assert response.status_code == 500
    assert "scripted fault" in response.json()["error"]["message"]
    assert not cassette.exists()


def test_an_unreachable_upstream_is_a_502(tmp_path: Path) -> None:
    cassette = tmp_path / "c.jsonl"
    with ScriptedModelServer() as dead:
        dead.add_listener("gone")
        gone = dead.url("gone")
    model = ScriptedModel(recorder=Recorder(gone, cassette, timeout_s=2))
    with ScriptedModelServer(model) as srv:
        srv.add_listener("rec")
        response = httpx.post(
            srv.url("rec") + "/api/chat",
            json={"model": "m", "messages": messages("c1"), "stream": False},
            timeout=5,
        )
    assert response.status_code == 502
    assert gone in response.json()["error"]
    assert not cassette.exists()


def test_bad_cassettes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = json.dumps({"version": 1, "case": "a", "request": {}, "reply": "x"})
    for bad in [
        "[1]",
        '{"request": {}}',
        '{"version": 9, "reply": "x"}',
        '{"case": 3, "reply": "x"}',
    ]:
        path.write_text(good + "\n\n" + bad + "\n")
        with pytest.raises(ValueError, match=r"c\.jsonl:3: "):
            load_cassette(path)
    path.write_text(good + "\n")
    assert load_script(path).calls("a", "x") == []  # one entry, read as a cassette


def test_recorder_rejects_a_bad_upstream(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        Recorder("127.0.0.1:11434", tmp_path / "c.jsonl")


# -- the command line --------------------------------------------------------------------


def ask(url: str, case_id: str) -> Any:
    body = {"model": "m", "messages": messages(case_id)}
    response = httpx.post(url + "/v1/chat/completions", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def test_parity_mock_llm_records_and_replays(
    tmp_path: Path, standalone_procs: list[subprocess.Popen[str]]
) -> None:
    script = tmp_path / "real.json"
    script.write_text(json.dumps({"s1": ["first", "second"]}))
    real, real_url = start_standalone("--script", str(script))
    standalone_procs.append(real)
    cassette = tmp_path / "cassette.jsonl"
    recorder, recorder_url = start_standalone(
        "--record", str(cassette), "--upstream", real_url, cli=True
    )
    standalone_procs.append(recorder)
    assert [ask(recorder_url, "s1"), ask(recorder_url, "s1")] == ["first", "second"]
    recorder.send_signal(signal.SIGTERM)
    assert recorder.wait(10) == 0
    assert len(cassette.read_text().splitlines()) == 2

    replay, replay_url = start_standalone("--script", str(cassette), cli=True)
    standalone_procs.append(replay)
    assert [ask(replay_url, "s1"), ask(replay_url, "s1")] == ["first", "second"]


def test_record_needs_an_upstream(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "mock-llm", "--port", "0", "--record", "x.jsonl"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--record and --upstream go together" in done.stderr


def test_a_lone_surrogate_is_recorded_and_replayed(tmp_path: Path) -> None:
    """Model output is any text, lone surrogates included: the cassette stays UTF-8."""
    cassette = tmp_path / "c.jsonl"
    upstream = ScriptedModel()
    upstream.register("s", [Reply("half a pair: \ud800!")])
    body = json.dumps({"model": "m", "messages": messages("s")}).encode("ascii")
    with ScriptedModelServer(upstream) as real:
        real.add_listener("real")
        with ScriptedModelServer(
            ScriptedModel(recorder=Recorder(real.url("real"), cassette))
        ) as rec:
            rec.add_listener("rec")
            answer = httpx.post(rec.url("rec") + "/v1/chat/completions", content=body, timeout=5)
    assert answer.json()["choices"][0]["message"]["content"] == "half a pair: \ud800!"
    cassette.read_text(encoding="utf-8")  # valid UTF-8
    assert load_cassette(cassette).cases["s"] == [Reply("half a pair: \ud800!")]
