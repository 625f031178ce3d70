"""``parity doctor`` against the sample stacks started by hand (as a deployment
would be), then against each misconfiguration."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import ollama
import pytest
from langfuse import Langfuse
from opentelemetry.sdk.trace import TracerProvider

from harness import config, defaults, doctor, environment, stacks
from harness.mock_llm import ScriptedModelServer, smoke_model

REPO = Path(__file__).resolve().parents[1]
ROSTER = REPO / "fixtures" / "roster.jsonl"


@dataclass(frozen=True)
class Deployment:
    """The two sample stacks, each pointed at its own model port and at its
    own port for the harness's Langfuse stand-in."""

    urls: dict[str, str]
    model_ports: dict[str, int]
    logs: dict[str, Path]
    folder: Path
    langfuse_ports: dict[str, int]


def langfuse_env(port: int, secret_key: str = defaults.LANGFUSE_SECRET_KEY) -> dict[str, str]:
    return environment.langfuse_env(f"http://127.0.0.1:{port}", secret_key)


@contextmanager
def started(folder: Path, env: Callable[[int], dict[str, str] | None]) -> Iterator[Deployment]:
    """Both sample stacks, started by hand as a deployment would be; ``env``:
    a stack's environment for its Langfuse port."""
    stacks.build_all()
    specs = stacks.default_specs()
    ports = {name: stacks.free_port() for name in specs}
    langfuse = {name: stacks.free_port() for name in specs}
    logs = {name: folder / f"{specs[name].daemon}.jsonl" for name in specs}
    with stacks.Stacks(folder / "logs") as running:
        urls = {
            name: running.start(
                spec,
                upstream_url=f"http://127.0.0.1:{ports[name]}",
                roster=ROSTER,
                session_log=logs[name],
                upstream_timeout_ms=2000,
                env=env(langfuse[name]),
            ).url
            for name, spec in specs.items()
        }
        yield Deployment(urls, ports, logs, folder, langfuse)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with started(tmp_path_factory.mktemp("deployment"), langfuse_env) as running:
        yield running


def write_config(path: Path, targets: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for name, keys in targets.items():
        lines.append(f"[targets.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def good_targets(deployment: Deployment) -> dict[str, dict[str, Any]]:
    daemons = {"rust": "gateway", "go": "validatord"}
    return {
        name: {
            "url": deployment.urls[name],
            "model_port": deployment.model_ports[name],
            "session_log": str(deployment.logs[name]),
            "daemon": daemons[name],
            "langfuse_port": deployment.langfuse_ports[name],
        }
        for name in deployment.urls
    }


def diagnose(
    tmp_path: Path, targets: dict[str, dict[str, Any]], trace_wait_s: float = 5.0
) -> list[doctor.Check]:
    cfg = config.load(write_config(tmp_path / "parity.toml", targets))
    return doctor.diagnose(cfg, log_wait_s=1.0, trace_wait_s=trace_wait_s)


def problems(checks: list[doctor.Check]) -> list[str]:
    return [check.line() for check in checks if not check.ok]


def run_doctor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "doctor", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_deployment_wired_correctly(deployment: Deployment, tmp_path: Path) -> None:
    path = write_config(tmp_path / "parity.toml", good_targets(deployment))
    done = run_doctor("--config", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    for name in ("rust", "go"):
        mine = [line for line in lines if line.startswith(f"{name}: ok: ")]
        # health, the model's port, the stand-in's port, three sessions, the log, the tree
        assert len(mine) == 8, lines
        reached = [line for line in mine if "reached the model" in line]
        assert len(reached) == 3
        assert all("openai dialect (POST /v1/chat/completions)" in line for line in reached)
        port = deployment.langfuse_ports[name]
        assert f"{name}: ok: serving the Langfuse stand-in on 127.0.0.1:{port}" in mine
        assert "received the row of each of 3 sessions" in mine[-2]
        # The session's tree: no trace-create (the doctor gives the trace id), the
        # chat hop's generation and the attempt's span (CONTRACT §7), as a batch.
        assert mine[-1] == (
            f"{name}: ok: a session's trace tree reached the Langfuse stand-in on "
            f"127.0.0.1:{port} over the batch ingestion API (2 observations)"
        )
    assert lines[-1] == "all is well"


def test_a_wrong_url(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    nobody = f"http://127.0.0.1:{stacks.free_port()}"
    targets["rust"]["url"] = nobody
    path = write_config(tmp_path / "parity.toml", targets)
    done = run_doctor("--config", str(path), cwd=tmp_path)
    assert done.returncode == 2
    [line] = [line for line in done.stderr.splitlines() if line.startswith("rust: problem")]
    assert f"GET {nobody}/health failed: ConnectError" in line
    assert "fix: start the deployment, or correct `url` in [targets.rust]" in line
    assert "1 problem(s)" in done.stderr
    assert "go: problem" not in done.stderr


def test_a_provider_pointed_elsewhere(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    targets["go"]["model_port"] = stacks.free_port()  # the stack points at another port
    found = problems(diagnose(tmp_path, targets))
    assert len(found) == 3  # one per provider; the log check needs no session
    for line in found:
        assert line.startswith("go: problem: a session (provider ")
        assert "did not reach the harness's model" in line
        assert "/v1/iterate answered 502" in line
        assert (
            f"fix: point the deployment's provider at http://127.0.0.1:{targets['go']['model_port']}"
            in line
        )


def test_a_provider_answered_by_another_model(deployment: Deployment, tmp_path: Path) -> None:
    """The insidious case: a model does answer, but not the harness's."""
    targets = good_targets(deployment)
    targets["rust"]["model_port"] = stacks.free_port()
    with ScriptedModelServer(smoke_model()) as decoy:
        decoy.add_listener("decoy", deployment.model_ports["rust"])
        found = problems(diagnose(tmp_path, targets))
    assert len(found) == 3
    assert all("did not reach the harness's model" in line for line in found)
    assert all("/v1/iterate answered 200" in line for line in found)


def test_an_unreadable_session_log(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    targets["rust"]["session_log"] = str(deployment.folder)  # the folder, not the file
    found = problems(diagnose(tmp_path, targets))
    assert found == [
        f"rust: problem: cannot read the session log {deployment.folder}: Is a directory; "
        "fix: point session_log at the log file itself and make it readable by this user"
    ]


def test_a_silent_session_log(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    silent = tmp_path / "nobody-writes-here.jsonl"
    silent.write_text("")
    targets["go"]["session_log"] = str(silent)
    found = problems(diagnose(tmp_path, targets))
    [line] = found
    assert line.startswith(
        f"go: problem: the session log {silent} received no row for session doctor-go-"
    )
    assert "(3 of 3 missing)" in line
    assert "fix: start the deployment with --session-log set to that file" in line
    # A log that does not exist at all says so.
    targets["go"]["session_log"] = str(tmp_path / "missing.jsonl")
    [line] = problems(diagnose(tmp_path, targets))
    assert "(the file does not exist)" in line


def test_a_wrong_daemon(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    targets["rust"]["daemon"] = "validatord"
    [line] = problems(diagnose(tmp_path, targets))
    assert "rows of its sessions carry daemon 'gateway', not 'validatord'" in line


def test_missing_keys_and_a_busy_model_port(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    del targets["rust"]["model_port"]
    del targets["rust"]["session_log"]
    with socket.socket() as busy:
        # SO_REUSEADDR: the port may be in TIME_WAIT from an earlier test; Linux
        # still refuses a second listener on it.
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", deployment.model_ports["go"]))
        busy.listen()
        found = problems(diagnose(tmp_path, targets))
    assert found[0].startswith("go: problem: cannot serve the model on 127.0.0.1:")
    assert "address already in use" in found[0].lower()
    assert found[1].startswith("rust: problem: no `model_port`")
    assert found[2].startswith("rust: problem: no `session_log`")
    assert len(found) == 3


def test_targets_sharing_a_model_port(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    targets["go"]["model_port"] = targets["rust"]["model_port"]
    found = problems(diagnose(tmp_path, targets))
    port = targets["rust"]["model_port"]
    assert found == [
        f"go: problem: model_port {port} is also the model_port of rust; fix: give each target "
        "its own model_port (the harness tells runtimes apart by it) and point each "
        "deployment's provider at its own",
        f"rust: problem: model_port {port} is also the model_port of go; fix: give each target "
        "its own model_port (the harness tells runtimes apart by it) and point each "
        "deployment's provider at its own",
    ]


def test_a_busy_langfuse_port_and_a_target_without_one(
    deployment: Deployment, tmp_path: Path
) -> None:
    targets = good_targets(deployment)
    del targets["rust"]["langfuse_port"]
    port = deployment.langfuse_ports["go"]
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        checks = diagnose(tmp_path, targets)
    [line] = problems(checks)
    assert line.startswith(f"go: problem: cannot serve the Langfuse stand-in on 127.0.0.1:{port}: ")
    assert "address already in use" in line.lower()
    assert "fix: stop what listens there (a `parity langfuse`, another run) or choose another " in (
        line
    )
    # Not a problem: the traces suite just does not run for it.
    untraced = doctor.Check("rust", "no `langfuse_port`: the traces suite will not run for it")
    assert untraced in checks
    assert not any("trace tree" in check.what for check in checks)


def test_targets_sharing_a_langfuse_port(deployment: Deployment, tmp_path: Path) -> None:
    targets = good_targets(deployment)
    port = targets["go"]["langfuse_port"] = targets["rust"]["langfuse_port"]
    found = problems(diagnose(tmp_path, targets))
    fix = (
        "fix: give each target its own langfuse_port (the harness tells runtimes' trees apart "
        "by it) and point each deployment's Langfuse host at its own"
    )
    assert sorted(found) == [
        f"go: problem: langfuse_port {port} is also the langfuse_port of rust; {fix}",
        f"rust: problem: langfuse_port {port} is also the langfuse_port of go; {fix}",
    ]


POINTING = (
    "with public key pk-lf-parity and secret key sk-lf-parity (--langfuse-url, "
    "--langfuse-public-key, --langfuse-secret-key, or LAKEHOUSE_LANGFUSE_URL, "
    "LAKEHOUSE_LANGFUSE_PUBLIC_KEY, LAKEHOUSE_LANGFUSE_SECRET_KEY); `parity init` prints how"
)


def test_a_deployment_that_sends_no_trace(tmp_path: Path) -> None:
    """Stacks started without a Langfuse URL: tracing off (CONTRACT §7)."""
    with started(tmp_path, lambda port: None) as untraced:
        found = problems(diagnose(tmp_path, good_targets(untraced), trace_wait_s=2.0))
    assert sorted(found) == [
        f"{name}: problem: no trace tree arrived on the Langfuse stand-in on 127.0.0.1:{port} "
        f"within 2s (of 3 sessions); fix: point the deployment's Langfuse host at "
        f"http://127.0.0.1:{port} {POINTING}"
        for name, port in sorted(untraced.langfuse_ports.items())
    ]


def test_a_deployment_with_a_wrong_secret_key(tmp_path: Path) -> None:
    with started(tmp_path, lambda port: langfuse_env(port, "sk-lf-wrong")) as wrong:
        found = problems(diagnose(tmp_path, good_targets(wrong)))
    assert len(found) == 2, found
    for name, port in wrong.langfuse_ports.items():
        [line] = [line for line in found if line.startswith(f"{name}: ")]
        assert line.startswith(
            f"{name}: problem: the Langfuse stand-in on 127.0.0.1:{port} answered 401 to "
        )
        assert "request(s) from the deployment: its Langfuse keys are wrong; fix: give it " in line
        assert "public key pk-lf-parity and secret key sk-lf-parity (" in line


def test_the_embedded_default_needs_nothing(tmp_path: Path) -> None:
    done = run_doctor(cwd=tmp_path)
    assert done.returncode == 0
    assert "checking the embedded default (sample stacks)" in done.stdout
    assert "rust: ok: the sample stack 'rust', started by `parity run` itself" in done.stdout


def test_a_bad_config_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "parity.toml"
    path.write_text('[targets.rust]\nurl = "localhost:3100"\n')
    done = run_doctor("--config", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert "targets.rust.url" in done.stderr


# -- a deployment whose provider speaks Ollama -------------------------------------------


class _OllamaSpeaking(BaseHTTPRequestHandler):
    """A stand-in runtime whose provider is Ollama (no sample stack speaks it):
    /v1/iterate asks its upstream through the official ``ollama`` client,
    appends a row to its session log and sends its attempt's span with the
    published ``langfuse`` SDK (OpenTelemetry), under the trace id the SDK
    seeds from the session's."""

    upstream = ""
    log = Path()
    langfuse: Langfuse | None = None

    def do_GET(self) -> None:
        self._answer(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        client = ollama.Client(host=self.upstream)
        parts = client.chat(
            model=request["model"],
            messages=[{"role": "user", "content": request["prompt"]}],
            options={"temperature": 0.2},
            stream=True,
        )
        text = "".join(part.message.content or "" for part in parts)
        row = {"daemon": "ollamad", "prompt": request["prompt"], "reply": text}
        with self.log.open("a") as out:
            out.write(json.dumps(row) + "\n")
        if self.langfuse is not None:
            trace = Langfuse.create_trace_id(seed=self.headers["X-Lakehouse-Trace-Id"])
            with self.langfuse.start_as_current_observation(
                name="iterate.attempt[0]",
                as_type="span",
                input={"iteration": 0, "prompt": request["prompt"]},
                trace_context={"trace_id": trace},
            ) as attempt:
                attempt.update(output={"verdict": "accepted", "raw": text})
            self.langfuse.flush()
        self._answer(200, {"accepted": True})

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_dialect_and_the_transport_are_reported(tmp_path: Path) -> None:
    model_port, langfuse_port = stacks.free_port(), stacks.free_port()
    log = tmp_path / "ollamad.jsonl"
    sdk = Langfuse(
        public_key=defaults.LANGFUSE_PUBLIC_KEY,
        secret_key=defaults.LANGFUSE_SECRET_KEY,
        host=f"http://127.0.0.1:{langfuse_port}",
        tracer_provider=TracerProvider(),  # not the global one
    )
    handler = type(
        "Handler",
        (_OllamaSpeaking,),
        {"upstream": f"http://127.0.0.1:{model_port}", "log": log, "langfuse": sdk},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        checks = diagnose(
            tmp_path,
            {
                "o": {
                    "url": url,
                    "model_port": model_port,
                    "session_log": str(log),
                    "daemon": "ollamad",
                    "langfuse_port": langfuse_port,
                }
            },
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        sdk.shutdown()
    assert problems(checks) == []
    reached = [c.what for c in checks if "reached the model" in c.what]
    assert len(reached) == 3
    assert all("in the ollama dialect (POST /api/chat, streamed)" in what for what in reached)
    # One root span: the trace it describes, and the span (docs/langfuse.md).
    assert checks[-1].what == (
        f"a session's trace tree reached the Langfuse stand-in on 127.0.0.1:{langfuse_port} "
        "over OpenTelemetry (2 observations)"
    )
