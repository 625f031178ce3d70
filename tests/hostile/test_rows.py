"""Issue 18, row by row: each bad input of its table gives what its last
column asks for (rows 9 and 14, the scripted model's server, are tested in
tests/test_http_server.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli.schema import schema_check
from harness.config import ProbeConfig
from harness.defaults import DEAD_AFTER
from harness.model import DivergenceClass
from harness.suites.probe import EXTRACT_JSON
from harness.targets import ProbeTarget
from tests.fakes import pids_with
from tests.hostile.support import (
    FIXTURES,
    PYTHON,
    REFERENCE_PROBE,
    REPO,
    Snapshot,
    invoke,
    probe_config,
    refused,
    refused_process,
    session_rows,
)
from tests.test_causes import C, finding, report_of

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A report.json with one cause of one divergence."""
    return report_of([finding("extract_json", C.MATCHED, "x")], tmp_path, "report.json")


def cause_of(report: Path) -> str:
    return str(json.loads(report.read_text(encoding="utf-8"))["causes"][0]["id"])


WAIVERS = '[[waiver]]\ncause = "0123456789ab"\nreason = "an old one"\nexpires = 2099-01-01\n'


def waive(cwd: Path, ident: str, reason: str, *extra: str) -> list[str]:
    return ["waive", ident, "--reason", reason, "--expires", "2099-12-31", *extra]


def write_probe(folder: Path, name: str, body: str) -> list[str]:
    """A jsonl probe program: the reference's answer per line, bent by ``body``
    (a Python statement run per input line, with ``line`` and ``answer``)."""
    script = folder / name
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from reference_impl.probes import answer_extract_json_line\n"
        "for line in sys.stdin:\n"
        "    if not line.strip():\n"
        "        continue\n"
        "    answer = answer_extract_json_line(line.rstrip('\\n'))\n"
        "    print(answer, flush=True)\n"
        f"    {body}\n",
        encoding="utf-8",
    )
    return [PYTHON, str(script)]


# --------------------------------------------------------------------------- row 1


def test_row1_a_reason_that_is_not_text_leaves_the_waivers_file_as_it_was(
    tmp_path: Path, report: Path
) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    before = Snapshot.of(tmp_path)
    # `--reason "$(printf 'caf\xe9')"`: bytes that are not UTF-8 reach click as surrogates.
    args = waive(tmp_path, cause_of(report), "caf\udce9", "--report", str(report))
    refused(invoke(args, tmp_path), "--reason", "not valid text")
    before.assert_unchanged(tmp_path)


def test_row1_a_reason_with_a_control_character_is_written_and_reads_back(
    tmp_path: Path, report: Path
) -> None:
    """TOML allows no raw DEL in a string: written as an escape, it reads back."""
    from harness.waivers import load_waivers

    waivers = tmp_path / "waivers.toml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    reason = "del \x7f, bell \x07, tab \t: still a reason"
    done = invoke(waive(tmp_path, cause_of(report), reason, "--report", str(report)), tmp_path)
    assert done.exit_code == 0, done.output
    assert [w.reason for w in load_waivers(waivers).items] == ["an old one", reason]


# --------------------------------------------------------------------------- row 2


def run_probes(tmp_path: Path, bad: list[str]) -> tuple[int, dict[str, object], str]:
    config = probe_config(
        tmp_path,
        {"bad": {"extract_json": bad}, "good": {"extract_json": REFERENCE_PROBE["extract_json"]}},
        database=str(tmp_path / "db"),
    )
    args = ["run", "--config", str(config), "--report-dir", str(tmp_path / "report")]
    done = invoke([*args, "--max-examples", "200", "--seed", "1", "--no-shrink"], tmp_path)
    document = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    return done.exit_code, document, done.stderr


def test_row2_a_probe_printing_a_line_more_per_input_is_a_protocol_error_of_its_target(
    tmp_path: Path,
) -> None:
    bad = write_probe(tmp_path, "chatty.py", 'print(\'{"debug": "one line more"}\', flush=True)')
    code, document, stderr = run_probes(tmp_path, bad)
    assert code == 2, stderr
    assert document["divergences"] == []  # never a divergence: no answer was compared
    errors = document["errors"]
    assert isinstance(errors, list) and errors
    assert all(error["blamed"] == ["bad"] for error in errors)
    assert any(error["class"] == "protocol" for error in errors)
    assert "bad" in stderr and "printed more than the" in stderr


def probe_target(command: list[str]) -> ProbeTarget:
    config = ProbeConfig(command=tuple(command), mode="jsonl", timeout_s=5.0, cwd=REPO)
    return ProbeTarget("bad", {"extract_json": config}, {"extract_json": EXTRACT_JSON.encoding})


def test_row2_one_line_too_many_after_one_case_is_caught_by_the_next_batch_at_the_latest(
    tmp_path: Path,
) -> None:
    """A line more after one case shifts every later answer by one: that
    batch, or the next one, is a protocol error, never answers."""
    bad = write_probe(
        tmp_path, "once.py", "print('{\"oops\": 1}', flush=True) if 'TRIGGER' in line else None"
    )
    target = probe_target(bad)
    try:
        first = target.run_batch("extract_json", ["a", "TRIGGER", "c", "d"])
        second = target.run_batch("extract_json", ["e", "f"])
    finally:
        target.close()
    assert (len(first), len(second)) == (4, 2)
    kinds = [o.infra.kind if o.infra else None for o in [*first, *second]]
    assert DivergenceClass.PROTOCOL in kinds, kinds
    if first[0].infra is None:  # not caught in the first batch: none of it was shifted yet
        assert kinds[:2] == [None, None]


def test_row2_a_probe_that_answers_then_exits_gives_one_answer_per_case(tmp_path: Path) -> None:
    """Exiting after the last answer is no error, and never an observation
    more than there were cases (the closed stdin was counted as a crash)."""
    target = probe_target(write_probe(tmp_path, "exits.py", "break"))
    try:
        observed = target.run_batch("extract_json", ["only"])
    finally:
        target.close()
    assert [(o.infra, o.text) for o in observed] == [(None, '{"matched":false,"value":null}')]


# --------------------------------------------------------------------------- row 3


@pytest.mark.parametrize(
    "name",
    ["[/x].toml", "[red]x.toml", "a:smile:b.toml", "[bold]{}[/].toml", "[link=x]y.toml"],
)
def test_row3_a_config_path_is_printed_as_it_is(tmp_path: Path, name: str) -> None:
    line = refused(invoke(["run", "--config", name], tmp_path), name, "no such file")
    assert line == f"error: {name}: no such file"


def test_row3_a_log_path_with_brackets_is_that_file_not_markup_nor_a_glob(tmp_path: Path) -> None:
    folder = tmp_path / "["
    folder.mkdir()
    (folder / "oops].jsonl").write_text("\n".join(session_rows()) + "\n", encoding="utf-8")
    done = invoke(["sessions", "audit", "--json", "[/oops].jsonl"], tmp_path)
    assert done.exit_code in (0, 1), done.output
    assert json.loads(done.stdout)["files"][0]["path"].endswith("[/oops].jsonl")
    line = refused(invoke(["sessions", "audit", "[/nope].jsonl"], tmp_path), "[/nope].jsonl")
    assert "Traceback" not in line


def test_row3_a_newline_or_an_escape_in_a_name_stays_on_one_escaped_line(tmp_path: Path) -> None:
    name = "a\nb\x1b[31mred.toml"
    line = refused(invoke(["run", "--config", name], tmp_path))
    assert line == "error: a\\nb\\x1b[31mred.toml: no such file"


def test_row3_what_a_command_prints_about_a_file_keeps_its_brackets(tmp_path: Path) -> None:
    (tmp_path / "[red]doc.json").write_text('{"kind": 1}', encoding="utf-8")
    done = invoke(["schema", "check", "--schema", "validate-request", "[red]doc.json"], tmp_path)
    assert done.exit_code == 1, done.output
    assert done.stdout.startswith("[red]doc.json: ")


@pytest.mark.parametrize("name", ["\udcff.json", "[red]caf\udce9.json"])
def test_row3_a_name_that_is_not_utf8_is_printed_escaped_where_stdout_is_strict(
    tmp_path: Path, name: str
) -> None:
    """Most locales but C make stdout strict UTF-8: a file name whose bytes
    are not UTF-8 was a UnicodeEncodeError traceback there."""
    (tmp_path / name).write_text('{"kind": 1}', encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    command = [PYTHON, "-m", "harness.cli", "schema", "check", "--schema", "validate-request"]
    done = subprocess.run(
        [*command, name, "missing-" + name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    shown = name.encode("utf-8", "backslashreplace").decode("ascii")
    assert done.stdout.startswith(f"{shown}: $.kind: "), done
    refused_process(done, f"missing-{shown}: ")


# --------------------------------------------------------------------------- rows 4 and 10


def stalling_probe(
    folder: Path, *, answers: int = 0, hang_on: str = "", delay: float = 0.0
) -> list[str]:
    """A probe that writes a line to ``starts`` each time it starts, answers
    (as the reference does, ``delay`` seconds a line) at most ``answers``
    lines per process, and then, or on a line holding ``hang_on`` (every
    line: ""), hangs without a word.
    Its command line names ``folder``: what it leaves running can be found."""
    script = folder / "stalling.py"
    script.write_text(
        "import sys, time\n"
        f"with open({str(folder / 'starts')!r}, 'a') as starts:\n"
        "    starts.write('started\\n')\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from reference_impl.probes import answer_extract_json_line\n"
        "count = 0\n"
        "for line in sys.stdin:\n"
        "    count += 1\n"
        f"    if count > {answers} and {hang_on!r} in line:\n"
        "        time.sleep(3600)\n"
        f"    time.sleep({delay})\n"
        "    print(answer_extract_json_line(line.rstrip('\\n')), flush=True)\n",
        encoding="utf-8",
    )
    return [PYTHON, str(script)]


def starts(folder: Path) -> int:
    path = folder / "starts"
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def stalling_target(folder: Path, mode: str, timeout_s: float, **probe: Any) -> ProbeTarget:
    command = tuple(stalling_probe(folder, **probe))
    config = ProbeConfig(command=command, mode=mode, timeout_s=timeout_s, cwd=REPO)
    encodings = {"extract_json": EXTRACT_JSON.encoding}
    return ProbeTarget("stalling", {"extract_json": config}, encodings)


def stalling_run(
    folder: Path, timeout_s: float, *args: str, **probe: Any
) -> tuple[int, dict[str, Any], str]:
    """``parity run`` of the stalling probe beside one that answers: (exit
    code, report.json, stdout and stderr)."""
    config = folder / "parity.toml"
    config.write_text(
        f"[run]\ndatabase = {json.dumps(str(folder / 'db'))}\n"
        "[targets.stalling.probes.extract_json]\n"
        f"command = {json.dumps(stalling_probe(folder, **probe))}\n"
        f'timeout_s = {timeout_s}\nmode = "jsonl"\n'
        "[targets.good.probes.extract_json]\n"
        f'command = {json.dumps(REFERENCE_PROBE["extract_json"])}\nmode = "jsonl"\n'
        f"cwd = {json.dumps(str(REPO))}\n",
        encoding="utf-8",
    )
    report = folder / "report"
    args = ("run", "--config", str(config), "--report-dir", str(report), "--seed", "1", *args)
    done = invoke([*args, "--suite", "extract_json", "--no-shrink"], folder)
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return done.exit_code, document, done.stdout + done.stderr


def none_left(folder: Path) -> bool:
    deadline = time.monotonic() + 5
    while pids_with(str(folder / "stalling.py")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pids_with(str(folder / "stalling.py"))


def test_row4_max_time_holds_against_a_probe_that_hangs(tmp_path: Path) -> None:
    """Its own timeout (60 s a case) would hold the run for an hour: the
    --max-time bound interrupts it, and a suite that checked nothing is
    never a pass."""
    started = time.monotonic()
    code, document, stdout = stalling_run(tmp_path, 60.0, "--max-time", "2")
    assert time.monotonic() - started < 30, "the bound did not hold"  # a hang guard only
    assert code == 2, stdout
    suite = document["suites"]["extract_json"]
    assert suite["stop_reason"] == "out_of_time" and suite["out_of_time"] is True
    assert suite["cases"] == 0
    assert "share of --max-time ran out before the targets answered" in stdout
    assert starts(tmp_path) == 1 and none_left(tmp_path)


def test_row4_a_suite_cut_short_by_max_time_says_so(tmp_path: Path) -> None:
    """The first 64 cases are answered, then the probe hangs: the cases
    checked pass, the suite says it was cut short, and so does the verdict."""
    started = time.monotonic()
    code, document, stdout = stalling_run(tmp_path, 60.0, "--max-time", "2", answers=64)
    assert time.monotonic() - started < 30, "the bound did not hold"  # a hang guard only
    assert code == 0, stdout
    suite = document["suites"]["extract_json"]
    assert suite["stop_reason"] == "out_of_time" and suite["out_of_time"] is True
    assert 0 < suite["cases"] <= 64  # the batches answered in full
    assert "result: parity in the cases checked, extract_json cut short by --max-time" in stdout
    assert none_left(tmp_path)


def test_row4_max_time_holds_against_a_slow_probe(tmp_path: Path) -> None:
    """Half a second a case, 64 cases a batch: the bound holds, and the
    suite says it ran out, whether it checked a case or none."""
    started = time.monotonic()
    code, document, stdout = stalling_run(
        tmp_path, 60.0, "--max-time", "1", delay=0.5, hang_on="\N{SNOWMAN}"
    )
    assert time.monotonic() - started < 30, "the bound did not hold"  # a hang guard only
    suite = document["suites"]["extract_json"]
    assert suite["stop_reason"] == "out_of_time" and suite["out_of_time"] is True
    if code == 0:
        assert suite["cases"] > 0
        assert "result: parity in the cases checked, extract_json cut short by --max-time" in stdout
    else:
        assert code == 2 and suite["cases"] == 0, stdout
        assert "share of --max-time ran out before the targets answered" in stdout
    assert none_left(tmp_path)


@pytest.mark.parametrize("mode", ["jsonl", "oneshot"])
def test_row10_a_probe_that_never_answers_is_down_within_its_batch(
    tmp_path: Path, mode: str
) -> None:
    """30 cases: DEAD_AFTER timeouts, then the rest is not sent (it was one
    timeout each, a minute in all with a 2 s timeout)."""
    target = stalling_target(tmp_path, mode, 0.5)
    try:
        observed = target.run_batch("extract_json", [f"case {n}" for n in range(30)])
    finally:
        target.close()
    kinds = [o.infra.kind if o.infra else None for o in observed]
    assert kinds == [DivergenceClass.TIMEOUT] * DEAD_AFTER + [DivergenceClass.CRASH] * (
        30 - DEAD_AFTER
    )
    rest = observed[DEAD_AFTER:]
    assert all(o.infra and o.infra.message.startswith("stalling: not sent") for o in rest)
    # None started after (a start slowed by load may be killed before it says so).
    assert starts(tmp_path) <= DEAD_AFTER and none_left(tmp_path)


def test_row10_the_count_of_failures_goes_on_from_batch_to_batch(tmp_path: Path) -> None:
    """Small batches: down after DEAD_AFTER failures across them; then each
    batch tries its first case only."""
    target = stalling_target(tmp_path, "jsonl", 0.5)
    try:
        batches = [target.run_batch("extract_json", [f"{b}.{n}" for n in range(4)]) for b in "abcd"]
    finally:
        target.close()
    timeouts = [
        [o.infra.kind for o in b if o.infra and "not sent" not in o.infra.message] for b in batches
    ]
    assert [len(t) for t in timeouts] == [4, 4, DEAD_AFTER - 8, 1]
    assert {kind for t in timeouts for kind in t} == {DivergenceClass.TIMEOUT}
    assert starts(tmp_path) <= DEAD_AFTER + 1 and none_left(tmp_path)


def test_row10_a_run_against_a_silent_probe_declares_it_down_in_its_first_batch(
    tmp_path: Path,
) -> None:
    code, document, stdout = stalling_run(tmp_path, 0.5, "--max-examples", "200")
    assert code == 2, stdout
    assert document["suites"]["extract_json"]["stop_reason"] == "target_down"
    assert "target stalling is down" in stdout
    timeouts = [e for e in document["errors"] if e["class"] == "timeout"]
    assert [e["blamed"] for e in timeouts] == [["stalling"]]
    assert DEAD_AFTER <= timeouts[0]["occurrences"] <= DEAD_AFTER + 1
    # One process per timeout until it is down, then the first case of the
    # batch already sent when the engine saw it (the next is drawn meanwhile).
    assert starts(tmp_path) <= DEAD_AFTER + 1 and none_left(tmp_path)


@pytest.mark.parametrize("mode", ["jsonl", "oneshot"])
def test_row4_an_interrupt_ends_the_batch_in_flight_only(tmp_path: Path, mode: str) -> None:
    target = stalling_target(tmp_path, mode, 60.0, hang_on="HANG")
    batch: list[Any] = []
    worker = threading.Thread(
        target=lambda: batch.extend(target.run_batch("extract_json", ["a", "HANG", "c", "d"]))
    )
    try:
        worker.start()
        deadline = time.monotonic() + 20
        while starts(tmp_path) < (1 if mode == "jsonl" else 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the process is (most likely) on the HANG case by now
        target.interrupt()
        worker.join(timeout=20)
        assert not worker.is_alive(), "the interrupted batch went on"
        later = target.run_batch("extract_json", ["e"])
    finally:
        target.close()
    assert batch[0].infra is None
    assert all(o.infra and o.infra.kind is DivergenceClass.CRASH for o in batch[1:])
    assert all(o.infra and o.infra.message.startswith("stalling: ") for o in batch[1:])
    assert [o.infra for o in later] == [None]
    assert none_left(tmp_path)


# --------------------------------------------------------------------------- row 5


@pytest.mark.parametrize(
    "schema", [[], ["--schema", "session-record"], ["--schema", "roster-worker"]]
)
def test_row5_checking_nothing_is_exit_2(tmp_path: Path, schema: list[str]) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n  \n\t\n")
    before = Snapshot.of(tmp_path)
    line = refused(
        invoke(["schema", "check", *schema, "empty.jsonl", "blank.jsonl"], tmp_path),
        "empty.jsonl",
        "blank.jsonl",
    )
    assert "nothing to check" in line
    before.assert_unchanged(tmp_path)


def test_row5_one_document_is_something_checked(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "one.jsonl").write_text(session_rows()[0] + "\n", encoding="utf-8")
    done = invoke(["schema", "check", "empty.jsonl", "one.jsonl"], tmp_path)
    assert done.exit_code == 0, done.output
    assert done.stdout == "0 problem(s) in 2 file(s)\n"


# --------------------------------------------------------------------------- row 6


def mock_llm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [PYTHON, "-m", "harness.cli", "mock-llm", "--port", "0", *args]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("no/such/dir/r.jsonl", "no such folder"),
        ("file/r.jsonl", "not a folder"),
        ("folder", "is a directory"),  # click's own check
        ("read-only.jsonl", "read-only"),
    ],
)
def test_row6_recording_where_nothing_can_be_written_is_refused_at_start(
    tmp_path: Path, where: str, says: str
) -> None:
    (tmp_path / "file").write_text("a file", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "read-only.jsonl").write_text('{"reply": "kept"}\n', encoding="utf-8")
    (tmp_path / "read-only.jsonl").chmod(0o444)
    before = Snapshot.of(tmp_path)
    done = mock_llm("--record", where, "--upstream", "http://127.0.0.1:9", cwd=tmp_path)
    assert "listening" not in done.stdout
    refused_process(done, where, says)
    before.assert_unchanged(tmp_path)


# --------------------------------------------------------------------------- row 7


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1", "0"])
def test_row7_max_time_must_be_a_finite_number_of_seconds(tmp_path: Path, value: str) -> None:
    refused(invoke(["run", f"--max-time={value}"], tmp_path), "--max-time")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
def test_row7_a_timeout_in_the_config_must_be_finite_too(tmp_path: Path, value: str) -> None:
    config = probe_config(tmp_path, {"a": {"extract_json": REFERENCE_PROBE["extract_json"]}})
    config.write_text(config.read_text() + f"timeout_s = {value}\n", encoding="utf-8")
    refused(
        invoke(["run", "--config", str(config)], tmp_path),
        str(config),
        "targets.a.probes.extract_json.timeout_s",
        "finite",
    )


# --------------------------------------------------------------------------- row 8


def test_row8_schema_check_has_the_memory_limit_its_message_names(tmp_path: Path) -> None:
    assert "--memory-limit" in {opt for p in schema_check.params for opt in p.opts}
    row = json.loads(session_rows()[0])
    row["prompt"] = "x" * (24 << 20)
    (tmp_path / "huge.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    args = ["schema", "check", "--threads", "1", "huge.jsonl"]
    line = refused(invoke([*args, "--memory-limit", "32MB"], tmp_path), "huge.jsonl")
    assert "--memory-limit" in line and "longest line is 24 MB" in line
    done = invoke([*args, "--memory-limit", "1GB"], tmp_path)
    assert done.exit_code == 1, done.output  # read: the prompt is too long for the contract
    assert "huge.jsonl:1: $.prompt" in done.stdout


def test_row8_a_memory_limit_that_is_not_a_size_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "one.jsonl").write_text(session_rows()[0] + "\n", encoding="utf-8")
    for command in (["schema", "check"], ["sessions", "audit"]):
        args = [*command, "--memory-limit", "lots", "one.jsonl"]
        refused(invoke(args, tmp_path), "--memory-limit", "'lots'")


# --------------------------------------------------------------------------- row 11


def test_row11_a_read_only_waivers_file_is_refused_and_kept(tmp_path: Path, report: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    waivers.chmod(0o444)
    before = Snapshot.of(tmp_path)
    args = waive(tmp_path, cause_of(report), "fine", "--report", str(report))
    refused(invoke(args, tmp_path), "waivers.toml", "read-only")
    before.assert_unchanged(tmp_path)


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "cannot read: not UTF-8"),
        (b"[]", "schema_version"),
        (b'{"schema_version": "2", "divergences": [1], "causes": 3}', "not a valid report"),
        (b'{"schema_version": "2", "divergences": 5}', "not a valid report"),
        (b'{"schema_version": "9"}', "schema_version"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_row11_a_malformed_report_given_to_waive_is_one_line(
    tmp_path: Path, document: bytes, says: str
) -> None:
    (tmp_path / "bad.json").write_bytes(document)
    (tmp_path / "waivers.toml").write_text(WAIVERS, encoding="utf-8")
    before = Snapshot.of(tmp_path)
    args = waive(tmp_path, "0123456789ab", "r", "--report", "bad.json")
    refused(invoke(args, tmp_path), "bad.json", says)
    before.assert_unchanged(tmp_path)


@pytest.mark.parametrize("kind", ["file", "under a file", "a read-only report"])
def test_row11_a_report_dir_that_cannot_be_one_is_refused_before_the_run(
    tmp_path: Path, kind: str
) -> None:
    marker = tmp_path / "probe-started"
    starts = [PYTHON, "-c", f"open({str(marker)!r}, 'w')"]  # then exits: a crash
    config = probe_config(tmp_path, {"a": {"extract_json": starts}})
    (tmp_path / "taken").write_text("not a folder", encoding="utf-8")
    report_dir = {"file": "taken", "under a file": "taken/reports"}.get(kind, "reports")
    if kind == "a read-only report":
        (tmp_path / "reports").mkdir()
        (tmp_path / "reports" / "junit.xml").write_text("<kept/>", encoding="utf-8")
        (tmp_path / "reports" / "junit.xml").chmod(0o444)
    before = Snapshot.of(tmp_path)
    args = ["run", "--config", str(config), "--report-dir", report_dir]
    refused(invoke(args, tmp_path), "taken" if kind != "a read-only report" else "junit.xml")
    assert not marker.exists()  # refused before any probe started
    before.assert_unchanged(tmp_path)


def reproducer(tmp_path: Path, suite: str, name: str) -> Path:
    regression = next((FIXTURES / "regressions").glob("extract_json-*.json"))
    document = json.loads(regression.read_text(encoding="utf-8"))
    document["suite"] = suite
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("suite", "says"),
    [
        ("session_log", "a session_log reproducer, but"),
        ("validate", "does not configure validate"),
        ("nope", "'nope' is not a suite of this harness"),
        ("sessions", "names the suite its case came from"),
    ],
)
def test_row11_a_reproducer_for_a_suite_the_config_lacks_is_one_line(
    tmp_path: Path, suite: str, says: str
) -> None:
    config = probe_config(tmp_path, {"a": {"extract_json": REFERENCE_PROBE["extract_json"]}})
    path = reproducer(tmp_path, suite, "r.json")
    refused(invoke(["repro", "--config", str(config), str(path)], tmp_path), "r.json", says)


# --------------------------------------------------------------------------- row 12


@pytest.fixture
def probes(tmp_path: Path) -> dict[str, list[str]]:
    not_executable = tmp_path / "not-executable"
    not_executable.write_text("#!/bin/sh\necho '{}'\n", encoding="utf-8")
    garbage = tmp_path / "garbage.sh"
    garbage.write_text("#!/bin/sh\nwhile read -r line; do echo 'not json'; done\n")
    garbage.chmod(0o755)
    (tmp_path / "a-folder").mkdir()
    return {
        "missing": [str(tmp_path / "no-such-probe"), "--jsonl"],
        "not executable": [str(not_executable)],
        "a folder": [str(tmp_path / "a-folder")],
        "not on PATH": ["no-such-program-on-path-18"],
        "garbage": [str(garbage)],
    }


@pytest.mark.parametrize(
    ("which", "says"),
    [
        ("missing", "no-such-probe: no such file"),
        ("not executable", "not-executable: not executable"),
        ("a folder", "a-folder: is a folder"),
        ("not on PATH", "not found on PATH"),
        ("garbage", "not one JSON line"),
    ],
)
def test_row12_doctor_checks_probe_programs(
    tmp_path: Path, probes: dict[str, list[str]], which: str, says: str
) -> None:
    config = probe_config(tmp_path, {"a": {"extract_json": probes[which]}})
    done = invoke(["doctor", "--config", str(config)], tmp_path)
    assert done.exit_code == 2, done.output
    problems = [line for line in done.stderr.splitlines() if ": problem: " in line]
    assert len(problems) == 1 and says in problems[0], done.stderr
    assert "probes.extract_json" in problems[0]
    assert "all is well" not in done.output


def test_row12_doctor_passes_a_probe_that_answers(tmp_path: Path) -> None:
    config = probe_config(
        tmp_path,
        {"a": {s: REFERENCE_PROBE[s] for s in ("extract_json", "session_log")}},
    )
    done = invoke(["doctor", "--config", str(config)], tmp_path)
    assert done.exit_code == 0, done.output
    assert done.stdout.count("answered a case with one JSON line") == 2


# --------------------------------------------------------------------------- row 13


@pytest.fixture
def odd_files(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "socket"))
    yield tmp_path
    server.close()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("folder", "is a folder"),
        ("fifo", "not a regular file (a pipe (FIFO)): a log is read twice"),
        ("socket", "not a regular file (a socket)"),
        ("dangling", "a broken symbolic link"),
        ("missing", "no such file"),
    ],
)
def test_row13_a_log_that_is_not_a_file_says_what_it_is(
    odd_files: Path, name: str, says: str
) -> None:
    before = Snapshot.of(odd_files)
    refused(invoke(["sessions", "audit", name], odd_files), f"error: {name}: ", says)
    before.assert_unchanged(odd_files)


@pytest.mark.parametrize(
    ("name", "says"), [("folder", "is a folder"), ("missing.jsonl", "no such file")]
)
def test_row13_schema_check_says_what_a_path_is_too(odd_files: Path, name: str, says: str) -> None:
    refused(invoke(["schema", "check", name], odd_files), f"error: {name}: ", says)


def test_row13_a_glob_names_the_pattern(tmp_path: Path) -> None:
    refused(invoke(["sessions", "audit", "logs/*.jsonl"], tmp_path), "logs/*.jsonl", "no file")
