"""``parity init``: the config it writes, what it prints, and the README's walk
from ``init`` to ``doctor`` with the sample stacks started by hand as printed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import config, stacks

REPO = Path(__file__).resolve().parents[1]


def parity(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_init_writes_a_commented_config_that_loads(tmp_path: Path) -> None:
    done = parity("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "parity.toml"
    text = path.read_text()
    assert text.count("\n# ") > 10  # commented for a reader
    cfg = config.load(path)
    rust, go = cfg.targets["rust"], cfg.targets["go"]
    assert (rust.url, rust.model_port, rust.daemon) == ("http://127.0.0.1:3100", 18101, "gateway")
    assert (go.url, go.model_port, go.daemon) == ("http://127.0.0.1:4110", 18102, "validatord")
    assert (rust.langfuse_port, go.langfuse_port) == (18111, 18112)
    assert rust.session_log == tmp_path / "sessions" / "gateway.jsonl"
    assert (tmp_path / "sessions").is_dir()
    live = {"validate", "iterate", "faults", "collector_faults", "sessions", "traces"}
    assert set(cfg.suites_available()) == live
    assert "the harness serves its Langfuse stand-in on 127.0.0.1:18111" in text
    # Every key written is one the schema knows; the probes are left commented out.
    assert "probes" not in tomllib.loads(text)["targets"]["rust"]


def test_init_prints_each_dialect_for_each_runtime(tmp_path: Path) -> None:
    done = parity(
        "init",
        "--rust-model-port", "19001",
        "--go-model-port", "19002",
        "--rust-langfuse-port", "19011",
        "--go-langfuse-port", "19012",
        cwd=tmp_path,
    )  # fmt: skip
    out = done.stdout
    for port in (19001, 19002):
        assert f"OpenAI-compatible provider: base URL http://127.0.0.1:{port}/v1" in out
        assert f"Ollama provider (e.g. ollama_cloud): host http://127.0.0.1:{port}" in out
        assert f"--upstream=http://127.0.0.1:{port}" in out
    keys = "public key pk-lf-parity, secret key sk-lf-parity"
    for port in (19011, 19012):
        url = f"http://127.0.0.1:{port}"
        assert f"  Langfuse host: {url}, {keys} (the traces suite" in out
        assert (
            f"    flags: --langfuse-url {url} --langfuse-public-key pk-lf-parity "
            "--langfuse-secret-key sk-lf-parity\n" in out
        )
        assert (
            f"    or env: LAKEHOUSE_LANGFUSE_URL={url} LAKEHOUSE_LANGFUSE_PUBLIC_KEY=pk-lf-parity "
            "LAKEHOUSE_LANGFUSE_SECRET_KEY=sk-lf-parity\n" in out
        )
        # The sample stacks' command lines point them there too.
        assert f"--langfuse-url={url} --langfuse-public-key=pk-lf-parity" in out
    assert "the sample gateway, by hand: " in out
    assert "the sample validatord, by hand: " in out
    assert "parity doctor --config parity.toml" in out


def test_init_refuses_to_overwrite_and_checks_what_it_writes(tmp_path: Path) -> None:
    assert parity("init", cwd=tmp_path).returncode == 0
    again = parity("init", cwd=tmp_path)
    assert again.returncode == 2
    assert "parity.toml exists; pass --force" in again.stderr
    forced = parity("init", "--force", "--go-url", "http://127.0.0.1:5000", cwd=tmp_path)
    assert forced.returncode == 0
    assert config.load(tmp_path / "parity.toml").targets["go"].url == "http://127.0.0.1:5000"
    bad = parity("init", "--out", "other.toml", "--rust-url", "localhost:3100", cwd=tmp_path)
    assert bad.returncode == 2
    assert "targets.rust.url" in bad.stderr
    assert not (tmp_path / "other.toml").exists()
    same = parity("init", "--out", "x.toml", "--go-model-port", "18101", cwd=tmp_path)
    assert same.returncode == 2
    assert "each runtime needs its own model port" in same.stderr
    twice = parity("init", "--out", "x.toml", "--go-langfuse-port", "18111", cwd=tmp_path)
    assert twice.returncode == 2
    assert "Invalid value for --go-langfuse-port: each runtime needs its own Langfuse port" in (
        twice.stderr
    )
    clash = parity("init", "--out", "x.toml", "--rust-langfuse-port", "18102", cwd=tmp_path)
    assert clash.returncode == 2
    assert "--rust-langfuse-port: 18102 is also a model port" in clash.stderr
    assert not (tmp_path / "x.toml").exists()


@pytest.fixture
def by_hand() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_from_init_to_doctor_with_the_stacks_started_by_hand(
    tmp_path: Path, by_hand: list[subprocess.Popen[bytes]]
) -> None:
    """The README's walk: init, start each stack with the printed command, doctor."""
    stacks.build_all()
    ports = [str(stacks.free_port()) for _ in range(6)]
    done = parity(
        "init",
        "--rust-url", f"http://127.0.0.1:{ports[0]}",
        "--go-url", f"http://127.0.0.1:{ports[1]}",
        "--rust-model-port", ports[2],
        "--go-model-port", ports[3],
        "--rust-langfuse-port", ports[4],
        "--go-langfuse-port", ports[5],
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    commands = [
        line.split(", by hand: ", 1)[1]
        for line in done.stdout.splitlines()
        if ", by hand: " in line
    ]
    assert len(commands) == 2
    for command in commands:
        proc = subprocess.Popen(
            shlex.split(command),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=stacks.child_env(),
        )
        by_hand.append(proc)
        port = int(command.split("--port=", 1)[1].split()[0])
        process = stacks.StackProcess("by-hand", port, tmp_path / "none.log", (), proc)
        stacks.wait_healthy(process, 30)
    doctor = parity("doctor", cwd=tmp_path)  # ./parity.toml, as the README says
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    # Per runtime: health, the model's port, the stand-in's port, three sessions,
    # the log, the trace tree (the printed command points the stack at the stand-in).
    assert doctor.stdout.count(": ok: ") == 16
    assert doctor.stdout.count("trace tree reached the Langfuse stand-in") == 2
    assert doctor.stdout.splitlines()[-1] == "all is well"
