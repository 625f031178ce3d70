"""Both real stacks write one schema-valid session row per /v1/iterate session,
for each verdict, into one shared log (CONTRACT §4)."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from harness import schema_store
from harness.mock_llm import Fault, Reply, ScriptedModelServer, case_marker
from harness.stacks import Stacks, StackSpec, pid_running

REPO = Path(__file__).resolve().parents[1]
ROSTER = REPO / "fixtures" / "roster.jsonl"
PLAYBOOK = {"title": "Weld check", "steps": ["inspect", "weld"]}

# verdict -> (the model's replies, the request's max_iterations, the HTTP status)
SESSIONS: dict[str, tuple[list[Reply], int | None, int]] = {
    "accepted": ([Reply("no json yet"), Reply(json.dumps(PLAYBOOK))], None, 200),
    "max_iter_exhausted": ([Reply("still no json"), Reply('{"title": ""}')], 2, 422),
    "infra_error": ([Reply("no json"), Reply(fault=Fault.HTTP_500)], None, 502),
}
DAEMONS = {"rust": "gateway", "go": "validatord"}
REPEATS = 8  # sessions per verdict and stack, all in flight at once


def case_id(verdict: str, number: int) -> str:
    return f"{verdict.replace('_', '-')}-{number}"


def iterate(url: str, verdict: str, number: int, trace: str) -> httpx.Response:
    _, max_iterations, _ = SESSIONS[verdict]
    request: dict[str, Any] = {
        "kind": "playbook",
        "prompt": f"{case_marker(case_id(verdict, number))} write a weld playbook",
        "provider": "mock",
        "model": "scripted",
    }
    if max_iterations is not None:
        request["max_iterations"] = max_iterations
    with httpx.Client(timeout=30, trust_env=False) as client:
        return client.post(
            url + "/v1/iterate", json=request, headers={"X-Lakehouse-Trace-Id": trace}
        )


def test_each_stack_writes_one_valid_row_per_session_to_a_shared_log(
    real_specs: dict[str, StackSpec], tmp_path: Path
) -> None:
    shared = tmp_path / "logs" / "sessions.jsonl"
    pids: list[int] = []
    urls: dict[str, str] = {}
    with ScriptedModelServer() as model, Stacks(tmp_path / "stacks") as running:
        for verdict, (replies, _, _) in SESSIONS.items():
            for number in range(REPEATS):
                model.model.register(case_id(verdict, number), replies)
        for name, spec in real_specs.items():
            model.add_listener(name)
            process = running.start(
                spec,
                upstream_url=model.url(name),
                roster=ROSTER,
                session_log=shared,
                upstream_timeout_ms=5000,
            )
            pids.append(process.pid)
            urls[name] = process.url
        jobs = [(n, v, i) for n in urls for v in SESSIONS for i in range(REPEATS)]
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = pool.map(lambda job: iterate(urls[job[0]], job[1], job[2], trace(*job)), jobs)
            for (name, verdict, _), response in zip(jobs, answers, strict=True):
                assert response.status_code == SESSIONS[verdict][2], (name, response.text)
    assert not any(pid_running(pid) for pid in pids)

    lines = shared.read_text(encoding="utf-8").rstrip("\n").split("\n")
    rows = [json.loads(line) for line in lines]
    by_session = Counter(row["session_id"] for row in rows)
    assert set(by_session) == {trace(*job) for job in jobs}
    assert all(count == 1 for count in by_session.values()), by_session
    for row in rows:
        name, verdict, _ = row["session_id"].split("/")
        assert schema_store.errors("session-record", row) == [], row
        assert row["daemon"] == DAEMONS[name]
        assert row["final_verdict"] == verdict
        assert "[parity-case:" in row["prompt"]
        if verdict == "accepted":
            assert row["iterations"] == 2
            assert row["artifact"] == PLAYBOOK
        elif verdict == "max_iter_exhausted":
            assert (row["iterations"], row["max_iterations"]) == (2, 2)
        else:
            [attempt] = row["attempts"]
            assert row["iterations"] == 0
            assert attempt["error"].startswith("/v1/chat hop failed at iter 1: ")


def trace(name: str, verdict: str, number: int) -> str:
    return f"{name}/{verdict}/{number}"
