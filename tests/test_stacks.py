"""Stack lifecycle over real processes: a fake daemon for every path, then the real two."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import interrupts, stacks
from harness.mock_llm import Reply, ScriptedModelServer, case_marker
from harness.stacks import (
    StackError,
    StackProcess,
    Stacks,
    StackSpec,
    build,
    default_specs,
    down,
    pid_running,
    staleness,
    start,
    status,
    up,
)
from tests.procs import from_a_terminal, processes_mentioning

REPO = Path(__file__).resolve().parents[1]
ROSTER = REPO / "fixtures" / "roster.jsonl"
NOWHERE = "http://127.0.0.1:9"  # the fake daemon never calls its upstream

# A stand-in daemon: the flags of docs/decisions.md §5, GET /health, and a
# FAKE_MODE to misbehave. Its first log line says how it was started.
FAKE_DAEMON = r"""
import argparse, json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True)
parser.add_argument("--roster", required=True)
parser.add_argument("--session-log", default="")
parser.add_argument("--upstream-timeout-ms", type=int, default=120000)
args = parser.parse_args()
mode = os.environ.get("FAKE_MODE", "ok")
lakehouse = {k: v for k, v in os.environ.items() if k.startswith("LAKEHOUSE_")}
print(json.dumps({"pid": os.getpid(), "argv": sys.argv[1:], "env": lakehouse}), flush=True)
if mode == "die":
    print("fake: cannot read roster: no such file", file=sys.stderr, flush=True)
    sys.exit(2)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if mode == "silent":
    time.sleep(3600)

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        code = 503 if mode == "unhealthy" else 200
        body = json.dumps({"status": "ok" if code == 200 else "starting"}).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
"""

# Like `go build`: leaves an identical binary untouched.
FAKE_BUILD = (
    "import filecmp, pathlib, shutil\n"
    "pathlib.Path('bin').mkdir(exist_ok=True)\n"
    "src, dst = 'src/daemon.py', 'bin/daemon.py'\n"
    "if not (pathlib.Path(dst).exists() and filecmp.cmp(src, dst, shallow=False)):\n"
    "    shutil.copy(src, dst)\n"
)


def fake_spec(workdir: Path, name: str = "fake", **changes: Any) -> StackSpec:
    (workdir / "src").mkdir(parents=True, exist_ok=True)
    (workdir / "src" / "daemon.py").write_text(FAKE_DAEMON)
    (workdir / "fake.toml").write_text("[fake]\n")
    spec = StackSpec(
        name=name,
        workdir=workdir,
        build_argv=(sys.executable, "-c", FAKE_BUILD),
        binary=Path("bin/daemon.py"),
        default_port=0,
        daemon="fake",
        sources=("fake.toml", "src/**/*"),
        launcher=(sys.executable,),
    )
    return StackSpec(**{**spec.__dict__, **changes})


@pytest.fixture
def spec(tmp_path: Path) -> StackSpec:
    built = fake_spec(tmp_path / "fake")
    build(built)
    return built


@pytest.fixture(autouse=True)
def nothing_left_behind(tmp_path: Path) -> Iterator[None]:
    """Whatever a test does or fails to do, no process it started survives it."""
    before = set(stacks.process._LIVE)
    yield
    # Only this test's processes: a suite-wide stack started elsewhere stays up.
    for process in set(stacks.process._LIVE) - before:
        process.stop()
    down(tmp_path / ".parity")
    assert processes_mentioning(str(tmp_path)) == []


def first_log_line(process_log: Path) -> dict[str, Any]:
    line: dict[str, Any] = json.loads(process_log.read_text().splitlines()[0])
    return line


def start_fake(spec: StackSpec, tmp_path: Path, **options: Any) -> StackProcess:
    defaults: dict[str, Any] = {"upstream_url": NOWHERE, "roster": ROSTER, "log_dir": tmp_path}
    return start(spec, **{**defaults, **options})


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# -- specs and builds ----------------------------------------------------------------


def makefile_builds(makefile: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The ``target: cd DIR && TOOL build ...`` recipes of a Makefile: {target: (DIR, ARGV)}."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    target = None
    for line in makefile.read_text(encoding="utf-8").splitlines():
        rule = re.match(r"([\w-]+):", line)
        if rule:
            target = rule.group(1)
        elif line.startswith("\t") and target is not None:
            words = shlex.split(line)
            if words[:1] == ["cd"] and words[2:3] == ["&&"] and words[4:5] == ["build"]:
                out[target] = (words[1], tuple(words[3:]))
    return out


def source_value(path: Path, pattern: str) -> str:
    found = re.search(pattern, path.read_text(encoding="utf-8"))
    assert found is not None, f"{pattern!r} not in {path}"
    return found.group(1)


def test_default_specs_build_and_run_what_the_stacks_define() -> None:
    """targets/Makefile's builds (stacks/builds.py shows the build's output: no
    --quiet), and each runtime's binary, default port and daemon name as its
    own sources state them."""
    targets = REPO / "targets"
    made = makefile_builds(targets / "Makefile")
    specs = default_specs()
    assert set(made) == {"rust", "go"} == set(specs)
    for name, spec in specs.items():
        folder, argv = made[name]
        assert spec.workdir == targets / folder
        assert spec.build_argv == tuple(w for w in argv if w != "--quiet")
    rust, go = specs["rust"].workdir, specs["go"].workdir
    assert specs["rust"].binary_path == rust / "target/release/gateway"
    assert (rust / "src/bin/gateway.rs").is_file()
    assert specs["rust"].default_port == int(
        source_value(rust / "src/bin/gateway.rs", r'"LAKEHOUSE_PORT", default_value_t = (\d+)')
    )
    assert specs["rust"].daemon == source_value(rust / "src/lib.rs", r'DAEMON_NAME: &str = "(\w+)"')
    # go build -o bin/ ./cmd/... names each binary after its folder under cmd/
    assert specs["go"].binary_path == go / "bin" / "validatord"
    assert (go / "cmd/validatord").is_dir()
    assert specs["go"].default_port == int(
        source_value(go / "cmd/validatord/config.go", r"defaultPort\s+= (\d+)")
    )
    assert specs["go"].daemon == source_value(
        go / "internal/validator/session_log.go", r'DaemonName = "(\w+)"'
    )
    assert any(p.name == "Cargo.lock" for p in specs["rust"].source_files())
    assert all(p.suffix == ".go" or p.name.startswith("go.") for p in specs["go"].source_files())


def test_build_only_when_missing_or_stale(tmp_path: Path) -> None:
    spec = fake_spec(tmp_path / "fake")
    assert staleness(spec) == f"{spec.binary_path} is missing"
    first = build(spec)
    assert first.built
    assert spec.binary_path.is_file()
    assert build(spec) == stacks.BuildResult("fake", built=False, reason="up to date")

    # A source newer than the binary makes it stale, even with the same content.
    past = time.time() - 100
    os.utime(spec.binary_path, (past, past))
    reason = staleness(spec)
    assert reason is not None
    assert "src/daemon.py" in reason
    assert build(spec).built
    assert staleness(spec) is None  # the untouched binary was marked as built

    assert build(spec, force=True).reason == "forced"


def test_a_failing_build_shows_the_tail_of_its_output(tmp_path: Path) -> None:
    noisy = "for i in range(100): print(f'line {i}')\nraise SystemExit(3)"
    spec = fake_spec(tmp_path / "fake", build_argv=(sys.executable, "-c", noisy))
    with pytest.raises(StackError) as caught:
        build(spec)
    message = str(caught.value)
    assert "exit code 3" in message
    assert "line 99" in message
    assert "line 10\n" not in message


def test_a_build_that_cannot_run_or_makes_nothing(tmp_path: Path) -> None:
    missing_tool = fake_spec(tmp_path / "a", build_argv=("no-such-build-tool-4242",))
    with pytest.raises(StackError, match="cannot run"):
        build(missing_tool)
    no_binary = fake_spec(tmp_path / "b", build_argv=(sys.executable, "-c", "pass"))
    with pytest.raises(StackError, match="is missing"):
        build(no_binary)


# -- attached processes ----------------------------------------------------------------


def test_start_health_stop(
    spec: StackSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_PORT", "1")  # must not leak into the daemon
    process = start_fake(
        spec, tmp_path, port=0, session_log=tmp_path / "s.jsonl", upstream_timeout_ms=1500
    )
    assert process.alive()
    assert httpx.get(process.url + "/health").status_code == 200
    assert process.log_path == tmp_path / "fake.log"
    started = first_log_line(process.log_path)
    assert started["argv"] == [
        f"--port={process.port}",
        f"--upstream={NOWHERE}",
        f"--roster={ROSTER}",
        "--upstream-timeout-ms=1500",
        f"--session-log={tmp_path / 's.jsonl'}",
    ]
    assert started["env"] == {}
    # Its own process group: a terminal's Ctrl-C goes to us, not to it.
    assert os.getpgid(process.pid) == process.pid != os.getpgid(0)

    assert process.stop() == -signal.SIGTERM
    assert not process.alive()
    assert process.stop() == -signal.SIGTERM  # idempotent
    assert port_is_closed(process.port)
    assert process not in stacks.process._LIVE


def test_a_daemon_that_dies_at_start_up(spec: StackSpec, tmp_path: Path) -> None:
    with pytest.raises(StackError) as caught:
        start_fake(spec, tmp_path, env={"FAKE_MODE": "die"})
    message = str(caught.value)
    assert "fake exited with code 2 during start-up" in message
    assert "fake: cannot read roster: no such file" in message
    assert not pid_running(first_log_line(tmp_path / "fake.log")["pid"])


@pytest.mark.parametrize("mode", ["unhealthy", "silent"])
def test_a_daemon_that_never_becomes_healthy(spec: StackSpec, tmp_path: Path, mode: str) -> None:
    started = time.monotonic()
    with pytest.raises(StackError) as caught:
        start_fake(spec, tmp_path, env={"FAKE_MODE": mode}, health_timeout_s=1)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "did not answer GET http://127.0.0.1:" in message
    assert "within 1s" in message
    assert '"pid":' in message  # the log tail
    assert not pid_running(first_log_line(tmp_path / "fake.log")["pid"])


def test_a_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="build it first"):
        start_fake(fake_spec(tmp_path / "fake"), tmp_path)


def test_stop_escalates_to_sigkill(spec: StackSpec, tmp_path: Path) -> None:
    process = start_fake(spec, tmp_path, env={"FAKE_MODE": "ignore-term"})
    started = time.monotonic()
    assert process.stop(grace_s=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_stacks_stop_everything_on_an_exception(spec: StackSpec, tmp_path: Path) -> None:
    other = fake_spec(tmp_path / "other", name="other")
    build(other)
    with pytest.raises(RuntimeError, match="boom"), Stacks(tmp_path) as running:
        first = running.start(spec, upstream_url=NOWHERE, roster=ROSTER)
        second = running.start(other, upstream_url=NOWHERE, roster=ROSTER)
        with pytest.raises(StackError, match="already started"):
            running.start(spec, upstream_url=NOWHERE, roster=ROSTER)
        raise RuntimeError("boom")
    assert not first.alive()
    assert not second.alive()
    assert running.processes == {}


def test_stacks_stop_everything_on_keyboard_interrupt(spec: StackSpec, tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), Stacks(tmp_path) as running:
        process = running.start(spec, upstream_url=NOWHERE, roster=ROSTER)
        raise KeyboardInterrupt
    assert not process.alive()
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is restored


# A separate interpreter gets the signal (or exits), so the test process is never hit.
DRIVER = r"""
import json, sys, time
from pathlib import Path
from harness.stacks import StackSpec, Stacks, start

cfg = json.loads(sys.argv[1])
spec = StackSpec(
    name="fake", workdir=Path(cfg["workdir"]), build_argv=(), binary=Path("bin/daemon.py"),
    default_port=0, daemon="fake", sources=(), launcher=(sys.executable,),
)
options = dict(upstream_url="http://127.0.0.1:9", roster=Path(cfg["roster"]))
if cfg["mode"] == "atexit":
    process = start(spec, log_dir=Path(cfg["log_dir"]), **options)
    print(process.pid, flush=True)
    sys.stdin.readline()  # exit when the test says so, not before it has looked
    sys.exit(0)
with Stacks(Path(cfg["log_dir"])) as running:
    process = running.start(spec, **options)
    print(process.pid, flush=True)
    time.sleep(60)
"""


@contextlib.contextmanager
def daemon_owner(
    spec: StackSpec, tmp_path: Path, mode: str, ignored: Sequence[int] = ()
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """DRIVER in a process of its own, as from a terminal but for ``ignored``,
    and the pid of the daemon it started; killed on the way out if still there."""
    cfg = {"workdir": str(spec.workdir), "roster": str(ROSTER), "log_dir": str(tmp_path)}
    argv = [sys.executable, "-c", DRIVER, json.dumps({**cfg, "mode": mode})]
    owner = subprocess.Popen(
        from_a_terminal(argv, ignored=ignored),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        yield owner, int(owner.stdout.readline())
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.communicate()


@pytest.mark.parametrize(
    ("mode", "signum"),
    [
        ("sigterm", signal.SIGTERM),
        ("sighup", signal.SIGHUP),
        ("ctrl-c", signal.SIGINT),
        ("atexit", None),
    ],
)
def test_the_daemon_dies_with_its_owner(
    spec: StackSpec, tmp_path: Path, mode: str, signum: signal.Signals | None
) -> None:
    with daemon_owner(spec, tmp_path, mode) as (owner, daemon_pid):
        assert pid_running(daemon_pid)
        if signum is None:
            _, stderr = owner.communicate("exit\n", timeout=20)
        else:
            owner.send_signal(signum)
            _, stderr = owner.communicate(timeout=20)
    if signum is signal.SIGTERM:
        assert "Terminated: received SIGTERM" in stderr
    assert not pid_running(daemon_pid)


def test_an_owner_started_with_nohup_outlives_its_terminal(spec: StackSpec, tmp_path: Path) -> None:
    """A hang-up the owner started with ignored (``nohup``) stays ignored; a
    SIGTERM still stops it and its daemon."""
    with daemon_owner(spec, tmp_path, "nohup", ignored=[signal.SIGHUP]) as (owner, daemon_pid):
        owner.send_signal(signal.SIGHUP)
        with pytest.raises(subprocess.TimeoutExpired):
            owner.wait(1)
        assert pid_running(daemon_pid)
        owner.send_signal(signal.SIGTERM)
        _, stderr = owner.communicate(timeout=20)
    assert "Terminated: received SIGTERM" in stderr
    assert not pid_running(daemon_pid)


@pytest.fixture
def dispositions() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP as from a terminal, whatever this run
    inherited (a background job ignores SIGINT, ``nohup`` SIGHUP); restored after."""
    signums = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {signum: signal.getsignal(signum) for signum in signums}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)
    interrupts.clear()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_a_gc_callback_swallowed_is_raised_again(
    tmp_path: Path, signum: signal.Signals, dispositions: None
) -> None:
    """Python ignores an exception raised in a gc callback (Hypothesis has one):
    the stop is recorded, and the engine's next check raises it again."""
    with Stacks(tmp_path):
        try:
            os.kill(os.getpid(), signum)
            time.sleep(1)  # the handler runs here, in the main thread
        except KeyboardInterrupt:
            pass  # what a gc callback's caller does with it
        with pytest.raises(interrupts.Terminated, match=f"received {signum.name}"):
            interrupts.raise_if_requested()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
def test_a_signal_ignored_on_entry_stays_ignored(
    tmp_path: Path, signum: signal.Signals, dispositions: None
) -> None:
    """``nohup`` (SIGHUP) or a background job of a script (SIGINT)."""
    signal.signal(signum, signal.SIG_IGN)
    with Stacks(tmp_path):
        assert signal.getsignal(signum) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    assert signal.getsignal(signum) == signal.SIG_IGN


def test_pid_running_tells_a_reused_pid() -> None:
    ticks = stacks.process.proc_start_ticks(os.getpid())
    assert ticks is not None
    assert pid_running(os.getpid(), ticks)
    assert not pid_running(os.getpid(), ticks + 1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not pid_running(dead.pid)


# -- detached: up / status / down ------------------------------------------------------


def test_up_status_down(spec: StackSpec, tmp_path: Path) -> None:
    state_dir = tmp_path / ".parity"
    state = up([spec], state_dir=state_dir, ports={"fake": 0}, health_timeout_s=20)
    assert state.path == state_dir / "stacks.json"
    assert [p.name for p in state.processes] == ["model-fake", "fake"]
    model, stack = state.processes
    assert (model.role, stack.role) == ("model", "stack")
    assert stack.upstream == model.url
    assert f"--upstream={model.url}" in stack.argv
    assert f"--session-log={state_dir / 'sessions.jsonl'}" in stack.argv
    saved = json.loads(state.path.read_text())
    assert saved["processes"][1]["pid"] == stack.pid
    # Detached: each leads its own session, so it outlives the caller's terminal.
    assert all(os.getsid(p.pid) == p.pid for p in state.processes)

    # The stack's upstream is a scripted model answering a valid artifact.
    body = {"messages": [{"role": "user", "content": "smoke"}]}
    reply = httpx.post(model.url + "/v1/chat/completions", json=body).json()
    assert json.loads(reply["choices"][0]["message"]["content"])["title"]

    assert [(s.running, s.healthy) for s in status(state_dir)] == [(True, True), (True, True)]
    with pytest.raises(StackError, match="already up"):
        up([spec], state_dir=state_dir, ports={"fake": 0})

    # A process that died on its own is reported, and `down` copes with it.
    os.killpg(stack.pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_running(stack.pid, stack.start_ticks))
    assert [s.running for s in status(state_dir)] == [True, False]

    stopped = down(state_dir)
    assert {(s.name, s.outcome) for s in stopped} == {
        ("fake", "not running"),
        ("model-fake", "stopped"),
    }
    assert not state.path.exists()
    assert status(state_dir) == []
    assert down(state_dir) == []
    assert not pid_running(model.pid, model.start_ticks)


def test_up_rolls_back_when_a_stack_fails(spec: StackSpec, tmp_path: Path) -> None:
    broken = StackSpec(
        **{
            **spec.__dict__,
            "launcher": (sys.executable, "-c", "import sys; sys.exit('fake: bad roster')"),
        }
    )
    script = tmp_path / "unique-script.json"
    script.write_text("{}")
    with pytest.raises(StackError, match="fake: bad roster"):
        up([broken], state_dir=tmp_path / ".parity", ports={"fake": 0}, script=script)
    assert not (tmp_path / ".parity" / "stacks.json").exists()
    # The scripted model started for it (its argv names the script) is gone too.
    assert processes_mentioning(str(script)) == []


def wait_for(predicate: Any, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


# -- the real stacks ---------------------------------------------------------------------


def test_the_real_stacks_start_answer_and_stop(
    real_specs: dict[str, StackSpec], tmp_path: Path
) -> None:
    artifact = {"title": "Weld check", "steps": ["inspect", "weld"]}
    pids: list[int] = []
    with ScriptedModelServer() as model, Stacks(tmp_path) as running:
        model.model.register("real-1", [Reply("no json here"), Reply(json.dumps(artifact))])
        for name, spec in real_specs.items():
            model.add_listener(name)
            process = running.start(
                spec,
                upstream_url=model.url(name),
                roster=ROSTER,
                session_log=tmp_path / "sessions.jsonl",
                upstream_timeout_ms=5000,
            )
            pids.append(process.pid)
            check_real_stack(process, artifact)
        assert model.model.calls("real-1", "rust") == model.model.calls("real-1", "go")
        assert len(model.model.calls("real-1", "rust")) == 2
    assert not any(pid_running(pid) for pid in pids)
    # Only this test's daemons: their command lines name this tmp_path. Other
    # tests (another xdist worker) may run the same binaries at the same time.
    assert processes_mentioning(str(tmp_path)) == []
    rows = (tmp_path / "sessions.jsonl").read_text().splitlines()
    daemons = [json.loads(line)["daemon"] for line in rows]
    assert sorted(daemons) == ["gateway", "validatord"]


def check_real_stack(process: StackProcess, artifact: dict[str, Any]) -> None:
    with httpx.Client(base_url=process.url, timeout=30, trust_env=False) as client:
        assert client.get("/health").status_code == 200
        valid = client.post("/v1/validate", json={"kind": "playbook", "artifact": artifact})
        assert valid.status_code == 200
        assert valid.json() == {"kind": "playbook", "valid": True, "checked": 2}
        request = {
            "kind": "playbook",
            "prompt": f"Write a playbook {case_marker('real-1')}",
            "provider": "mock",
            "model": "scripted",
        }
        iterated = client.post("/v1/iterate", json=request)
        assert iterated.status_code == 200, iterated.text
        assert iterated.json()["iterations"] == 2


def test_the_real_stacks_up_and_down(real_specs: dict[str, StackSpec], tmp_path: Path) -> None:
    state_dir = tmp_path / ".parity"
    state = up(
        list(real_specs.values()),
        state_dir=state_dir,
        ports={"rust": 0, "go": 0},
        build_first=False,
    )
    try:
        assert all(s.running and s.healthy for s in status(state_dir))
        assert len(state.processes) == 4
    finally:
        stopped = down(state_dir)
    assert [s.outcome for s in stopped] == ["stopped"] * 4
    assert not any(pid_running(p.pid, p.start_ticks) for p in state.processes)
