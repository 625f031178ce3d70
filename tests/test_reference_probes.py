"""The reference's probe programs, run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def probe(repo: Path, *args: str, data: bytes) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "reference_impl.probes", *args],
        input=data,
        capture_output=True,
        cwd=repo,
        check=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8").splitlines()


def test_extract_json_oneshot_reads_all_of_stdin(repo: Path) -> None:
    assert probe(repo, "extract-json", data=b'x\n```json\n{"a": 1}\n```\n') == [
        '{"matched":true,"value":{"a":1}}'
    ]


def test_extract_json_oneshot_replaces_invalid_utf8(repo: Path) -> None:
    assert probe(repo, "extract-json", data=b'{"a": "\xff"}') == [
        '{"matched":true,"value":{"a":"\ufffd"}}'
    ]


def test_extract_json_jsonl_answers_each_line_and_survives_bad_ones(repo: Path) -> None:
    lines = [json.dumps({"raw": 'a {"b": 2} c'}), "", "garbage", json.dumps({"raw": "none"})]
    answers = probe(repo, "extract-json", "--jsonl", data=("\n".join(lines) + "\n").encode())
    assert answers[0] == '{"matched":true,"value":{"b":2}}'
    assert json.loads(answers[1]).keys() == {"error"}
    assert answers[2] == '{"matched":false,"value":null}'
    assert len(answers) == 3


def test_session_log_probe_round_trips_fixtures(repo: Path) -> None:
    for path in sorted((repo / "fixtures" / "session_log").glob("*.json")):
        text = path.read_text(encoding="utf-8")
        [answer] = probe(repo, "session-log", data=text.encode())
        assert json.loads(answer) == json.loads(text), path.name


def test_session_log_jsonl(repo: Path) -> None:
    data = b'{"schema": 1}\n[]\n'
    answers = probe(repo, "session-log", "--jsonl", data=data)
    assert [set(json.loads(a)) for a in answers] == [{"error"}, {"error"}]
