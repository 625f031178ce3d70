"""The ceiling of the ASGI alternative for the scripted model's server.

Serves a bare ASGI app with uvicorn (``--http httptools`` or ``--http h11``)
that answers every POST with a fixed chat completion of the same size as the
scripted model's, no scripting, no faults, and drives it with
``benchmarks/loadgen`` exactly as ``mock_llm_rate.py`` does. What it measures
is the best an ASGI server could give the scripted model, to set beside
``harness.mock_llm`` (h11 on asyncio). uvicorn is not a dependency of the
harness: run this from any environment that has it.

    pip install uvicorn httptools
    python benchmarks/asgi_ceiling.py --http httptools --label uvicorn-httptools
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from mock_llm_rate import RESULTS_JSON, build_loadgen, record  # noqa: E402

SMOKE = json.dumps(
    {
        "title": "Smoke test playbook",
        "steps": ["Check /health", "Send one /v1/iterate", "Read the session log"],
    }
)
ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench-bench-0",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": SMOKE},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
    }
).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the whole body, as the scripted model does
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": ANSWER})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    parser.add_argument("--label", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "asgi_ceiling:app", "--host", "127.0.0.1",
            "--port", str(port), "--http", args.http, "--loop", "asyncio",
            "--no-access-log", "--log-level", "warning",
        ],
        cwd=ROOT / "benchmarks",
    )  # fmt: skip
    try:
        time.sleep(2)
        with tempfile.TemporaryDirectory(prefix="asgi-ceiling-") as scratch:
            work = Path(scratch)
            loadgen = build_loadgen(work)
            body = work / "body.json"
            body.write_text(
                json.dumps({"model": "bench", "messages": [{"role": "user", "content": "x"}]})
            )
            rounds = []
            for number in range(1, args.rounds + 1):
                load = os.getloadavg()[0]
                cpu_before = _cpu_s(server.pid)
                done = subprocess.run(
                    [
                        str(loadgen), "-url", f"http://127.0.0.1:{port}/v1/chat/completions",
                        "-body", str(body), "-c", str(args.concurrency), "-d", f"{args.duration}s",
                    ],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                result: dict[str, Any] = json.loads(done.stdout)
                result["server_cpu_s"] = _cpu_s(server.pid) - cpu_before
                result["load_before"] = load
                rounds.append(result)
                print(f"{args.label} round {number}: {result['rps']:.0f}/s (load {load:.2f})")
    finally:
        server.terminate()
        server.wait(10)
    args.stream, args.append = False, True
    args.module = Path(f"uvicorn --http {args.http}, bare ASGI app")
    record(args, rounds)
    print(f"recorded in {RESULTS_JSON}")
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
