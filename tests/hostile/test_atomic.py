"""harness.atomic, and every writer of the harness killed in the middle of
its write: the file is the old one or the new one, never a torn one.

The kill is real (SIGKILL, from inside the write: ``killer.py``); a control
shows the same kill tears a file written the plain way."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from harness import atomic
from harness.mock_llm import Reply, ScriptedModel, ScriptedModelServer, case_marker, load_cassette
from harness.repro import load as load_reproducer
from harness.stacks import read_state
from harness.waivers import load_waivers
from tests.fakes import FAKE_PROBE
from tests.hostile.killer import write_state
from tests.hostile.support import PYTHON, REFERENCE_PROBE, REPO, Snapshot, invoke, probe_config
from tests.test_causes import C, finding, report_of

_LEFTOVER = re.compile(r"(^|/)\.[^/]+\.[0-9a-f]{8}\.tmp$")

# --------------------------------------------------------------------------- the helper


def test_a_new_file_gets_the_umask_mode_and_a_rewritten_one_keeps_its_own(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.txt"
    atomic.write_text(fresh, "new")
    umask = os.umask(0)
    os.umask(umask)
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~umask
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    atomic.write_text(kept, "newer")
    assert (kept.read_text(), kept.stat().st_mode & 0o777) == ("newer", 0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.txt", "kept.txt"]


def test_a_link_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "waivers.toml"
    target.write_text("old")
    link = tmp_path / "waivers.toml"
    link.symlink_to(target)
    atomic.write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("read-only", errno.EACCES),
        ("no/such/folder/f", errno.ENOENT),
        ("file/f", errno.ENOTDIR),
        ("folder", errno.EISDIR),
        ("fifo", errno.EINVAL),
    ],
)
def test_what_cannot_be_written_is_refused_and_left_alone(
    tmp_path: Path, name: str, code: int
) -> None:
    (tmp_path / "read-only").write_text("kept")
    (tmp_path / "read-only").chmod(0o444)  # refused even to root: the bits say what was meant
    (tmp_path / "file").write_text("kept")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    before = Snapshot.of(tmp_path)
    with pytest.raises(OSError) as raised:
        atomic.write_text(tmp_path / name, "new")
    assert raised.value.errno == code
    with pytest.raises(OSError):
        atomic.append_line(tmp_path / name, b"new")
    before.assert_unchanged(tmp_path)


def test_text_that_cannot_be_utf8_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic.write_text(path, "caf\udce9")
    assert path.read_text() == "old"
    atomic.write_text(path, "caf\udce9", errors="backslashreplace")
    assert path.read_text() == "caf\\udce9"


def test_an_appended_line_is_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    atomic.append_line(path, b'{"a":1}')
    path.write_bytes(path.read_bytes() + b'{"torn"')  # someone else's half line
    atomic.append_line(path, b'{"b":2}')
    assert path.read_bytes() == b'{"a":1}\n{"torn"\n{"b":2}\n'
    with pytest.raises(ValueError):
        atomic.append_line(path, b"two\nlines")


# --------------------------------------------------------------------------- killed writers


def killed(marker: str, point: str, *command: str) -> subprocess.CompletedProcess[str]:
    """``command`` run by killer.py, which must have killed it at ``point``."""
    done = subprocess.run(
        [PYTHON, "-m", "tests.hostile.killer", marker, point, *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)
    return done


def unchanged_but_leftovers(before: Snapshot, root: Path) -> None:
    """As before, give or take a temporary file of the killed write."""
    after = Snapshot.of(root).entries
    stray = [name for name in after if _LEFTOVER.search(name)]
    assert len(stray) <= 1, stray
    assert {k: v for k, v in after.items() if k not in stray} == before.entries


def test_the_kill_tears_a_file_written_the_plain_way(tmp_path: Path) -> None:
    """The control: the same kill, on a plain truncate-and-write, leaves
    half a file. So the tests below would see a torn file if there were one."""
    path = tmp_path / "waivers.toml"
    path.write_text("old contents\n")
    new = "new contents, long enough to be cut in half\n"
    killed("waivers.toml", "write", "naive", str(path), new)
    assert path.read_text() == new[: len(new) // 2]


@pytest.fixture
def waivers_and_report(tmp_path: Path) -> tuple[Path, Path, str]:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\ncause = "0123456789ab"\nreason = "old"\nexpires = 2099-01-01\n')
    report = report_of([finding("extract_json", C.MATCHED, "x")], tmp_path, "report.json")
    cause = json.loads(report.read_text())["causes"][0]["id"]
    return waivers, report, cause


@pytest.mark.parametrize("point", ["write", "replace"])
def test_parity_waive_killed_leaves_the_old_file_or_the_new_one(
    tmp_path: Path, waivers_and_report: tuple[Path, Path, str], point: str
) -> None:
    waivers, report, cause = waivers_and_report
    before = Snapshot.of(tmp_path)
    args = ["waive", cause, "--reason", "r", "--expires", "2099-12-31"]
    killed("waivers.toml", point, "cli", *args, "--waivers", str(waivers), "--report", str(report))
    if point == "write":
        unchanged_but_leftovers(before, tmp_path)
    else:
        assert [w.cause for w in load_waivers(waivers).items] == ["0123456789ab", cause]


def test_parity_init_killed_leaves_the_old_config(tmp_path: Path) -> None:
    config = tmp_path / "parity.toml"
    config.write_text("# the config the user had\n")
    before = Snapshot.of(tmp_path)
    killed("parity.toml", "write", "cli", "init", "--out", str(config), "--force")
    unchanged_but_leftovers(before, tmp_path)


def run_args(config: Path, report_dir: Path, seed: int) -> list[str]:
    return [
        "run",
        *("--config", str(config), "--report-dir", str(report_dir)),
        *("--max-examples", "30", "--seed", str(seed), "--no-shrink"),
    ]


@pytest.mark.parametrize("marker", ["report.json", "report.html"])
def test_a_run_killed_while_writing_a_report_leaves_the_last_one(
    tmp_path: Path, marker: str
) -> None:
    config = probe_config(
        tmp_path, {"a": {"extract_json": REFERENCE_PROBE["extract_json"]}}, database="db"
    )
    report_dir = tmp_path / "report"
    assert invoke(run_args(config, report_dir, 1), tmp_path).exit_code == 0
    old = {path.name: path.read_bytes() for path in report_dir.iterdir() if path.is_file()}
    killed(marker, "write", "cli", *run_args(config, report_dir, 2))
    # The report being written is the last run's; those written before it
    # are this run's, whole (each file is old or new, never torn).
    assert (report_dir / marker).read_bytes() == old[marker]
    seeds = {"report.json": 1, "report.html": 2}
    assert json.loads((report_dir / "report.json").read_text())["seed"] == seeds[marker]
    ElementTree.parse(report_dir / "junit.xml")
    assert (report_dir / "report.html").read_text().rstrip().endswith("</html>")


def test_a_run_killed_while_writing_a_reproducer_leaves_the_last_one(tmp_path: Path) -> None:
    matched = [PYTHON, str(FAKE_PROBE), "--suite", "extract_json", "--mode", "matched"]
    config = probe_config(
        tmp_path,
        {
            "faulty": {"extract_json": matched},
            "twin": {"extract_json": REFERENCE_PROBE["extract_json"]},
        },
        database="db",
    )
    report_dir = tmp_path / "report"
    assert invoke(run_args(config, report_dir, 1), tmp_path).exit_code == 1
    folder = report_dir / "reproducers"
    assert list(folder.iterdir())
    before = Snapshot.of(folder)
    killed("extract_json-matched-", "write", "cli", *run_args(config, report_dir, 1))
    unchanged_but_leftovers(before, folder)
    for path in folder.glob("*.json"):
        load_reproducer(path)


def test_the_stacks_state_killed_mid_write_is_the_old_one(tmp_path: Path) -> None:
    state = tmp_path / "stacks.json"
    write_state(state, 3)
    old = read_state(tmp_path)
    assert old is not None and len(old.processes) == 3
    before = Snapshot.of(tmp_path)
    killed("stacks.json", "write", "state", str(state), "200")
    unchanged_but_leftovers(before, tmp_path)


@pytest.fixture
def upstream() -> Iterator[ScriptedModelServer]:
    model = ScriptedModel(fallback=Reply("the upstream's answer"))
    with ScriptedModelServer(model) as server:
        server.add_listener("real")
        yield server


def test_a_recording_killed_mid_line_keeps_every_earlier_line(
    tmp_path: Path, upstream: ScriptedModelServer
) -> None:
    cassette = tmp_path / "cassette.jsonl"
    cassette.write_text('{"version": 1, "case": "c0", "reply": "recorded before"}\n')
    before = Snapshot.of(tmp_path)
    args = [
        "mock-llm",
        "--port",
        "0",
        "--record",
        str(cassette),
        "--upstream",
        upstream.url("real"),
    ]
    recorder = subprocess.Popen(
        [PYTHON, "-m", "tests.hostile.killer", "cassette.jsonl", "write", "cli", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert recorder.stdout is not None
        line = recorder.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        body = {"model": "m", "messages": [{"role": "user", "content": case_marker("c1")}]}
        with pytest.raises(httpx.HTTPError):  # the recorder died before answering
            httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body, timeout=30)
        deadline = time.monotonic() + 30
        while recorder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorder.returncode == -signal.SIGKILL
    finally:
        if recorder.poll() is None:
            recorder.kill()
        recorder.wait()
        for stream in (recorder.stdout, recorder.stderr):
            if stream is not None:
                stream.close()
    unchanged_but_leftovers(before, tmp_path)
    assert [r.text for r in load_cassette(cassette).cases["c0"]] == ["recorded before"]
