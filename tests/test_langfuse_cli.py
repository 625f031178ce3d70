"""``parity langfuse`` end to end: started as a user would, fed a batch and a
trace over OpenTelemetry, its JSON Lines read back, stopped by a signal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.langfuse import Credentials
from tests.langfuse_data import basic, envelope, otlp_session, post_batch, session_batch

REPO = Path(__file__).resolve().parents[1]
ROW_FIELDS = {
    "trace_id",
    "type",
    "id",
    "parent_id",
    "name",
    "input",
    "output",
    "level",
    "model",
    "model_parameters",
    "status_message",
    "start_time",
    "end_time",
    "transport",
    "envelope_id",
    "event",
}


def parity(*args: str, **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,  # type: ignore[call-overload]
    )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def start(procs: list[subprocess.Popen[str]], *args: str) -> tuple[subprocess.Popen[str], str, str]:
    proc = parity("langfuse", "--port", "0", *args)
    procs.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    assert found is not None, (line, proc.poll())
    return proc, found.group(0), line


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_stand_in_alone_writes_what_it_received(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    out = tmp_path / "received.jsonl"
    proc, url, line = start(
        procs, "--out", str(out), "--public-key", "pk-1", "--secret-key", "sk-1"
    )
    assert "only public key 'pk-1'" in line and str(out) in line
    keys = Credentials("pk-1", "sk-1")
    with httpx.Client(timeout=10) as client:
        events = session_batch("cli")
        assert post_batch(client, url, events, credentials=keys).status_code == 207
        wrong = Credentials("pk-1", "sk-2")
        assert post_batch(client, url, session_batch("nope"), credentials=wrong).status_code == 401
        again = post_batch(client, url, events[:1], credentials=keys)  # deduplicated
        assert again.status_code == 207
        otel = client.post(
            url + "/api/public/otel/v1/traces",
            content=otlp_session("0af7651916cd43dd8448eb211c80319c").SerializeToString(),
            headers={"Content-Type": "application/x-protobuf", "Authorization": basic(keys)},
        )
        assert otel.status_code == 200
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "10 row(s) appended" in stderr
    written = rows(out)
    assert len(written) == 10
    assert all(set(row) == ROW_FIELDS for row in written)
    batch, otel_rows = written[:5], written[5:]
    assert [r["type"] for r in batch] == ["trace", "span", "generation", "generation", "span"]
    assert {r["trace_id"] for r in batch} == {"cli"} and {r["transport"] for r in batch} == {
        "ingestion"
    }
    assert {r["transport"] for r in otel_rows} == {"otel"}
    assert batch[2]["model_parameters"] == {"temperature": 0.2, "max_tokens": 4096}


def test_without_keys_it_accepts_any_and_says_so(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    out = tmp_path / "any.jsonl"
    out.write_text('{"earlier": "row"}\n')  # appended to, never truncated
    proc, url, line = start(procs, "--out", str(out))
    assert "accepting any keys (none were given)" in line
    with httpx.Client(timeout=10) as client:
        event = envelope("trace-create", {"id": "t", "name": "n"})
        assert post_batch(client, url, [event], credentials=None).status_code == 207
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert [r.get("name") for r in rows(out)] == [None, "n"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--out", "{tmp}/no/such/folder/x.jsonl"], "cannot write {tmp}/no/such/folder/x.jsonl"),
        (["--out", "{tmp}"], "is a directory"),
        (["--out", "{tmp}/x.jsonl", "--public-key", "pk"], "go together"),
        (
            ["--out", "{tmp}/x.jsonl", "--public-key", "p:k", "--secret-key", "s"],
            "cannot contain ':'",
        ),
    ],
)
def test_bad_options_are_refused_at_start_in_one_line(
    tmp_path: Path, args: list[str], words: str
) -> None:
    filled = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = parity("langfuse", "--port", "0", *filled)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert stdout == ""
    expected = words.replace("{tmp}", str(tmp_path))
    assert "Traceback" not in stderr
    # One line says what is wrong (click adds its usage hint around a usage error).
    assert len([line for line in stderr.splitlines() if expected in line]) == 1, stderr
    assert len([line for line in stderr.splitlines() if "rror" in line]) == 1, stderr


def test_a_port_in_use_is_refused_in_one_line(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    _, url, _ = start(procs, "--out", str(tmp_path / "a.jsonl"))
    port = url.rsplit(":", 1)[1]
    proc = parity("langfuse", "--port", port, "--out", str(tmp_path / "b.jsonl"))
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in stderr
    assert len(stderr.strip().splitlines()) == 1
