"""Probe programs behind the line protocol (CONTRACT §1/§4, docs/decisions.md §6).

``jsonl`` mode keeps one process per (target, suite) and pipelines a batch of
lines through it; ``oneshot`` mode starts one process per case. A crash or a
hang is an observation with ``infra`` set; the process is restarted for the
next case, and its stderr is kept for the report. A batch stops early, its
cases left not sent, when it is interrupted (``interrupt``: the engine is out
of time) or after ``DEAD_AFTER`` failures in a row: a probe that hangs on
every case is down after that many timeouts, not after one per case. The
count goes on from batch to batch of a suite; once it is reached, a batch
tries its first case only (a probe that has come back resets it).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.config import ProbeConfig
from harness.defaults import DEAD_AFTER
from harness.errors import TargetError
from harness.model import DivergenceClass, InfraError, JsonValue, Observation
from harness.targets.lines import (
    SHARED_LINES,
    STDERR_KEEP,
    Encode,
    LineProcess,
    kill_group,
    signal_group,
)


@dataclass(frozen=True)
class ProbeEncoding:
    oneshot: Encode
    jsonl: Encode


def _one_json_value(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _failing_streak(observations: Sequence[Observation], before: int) -> int:
    """How many infrastructure failures in a row end ``observations``, with
    the ``before`` that ended the batches before if all of them are."""
    streak = 0
    for observation in reversed(observations):
        if observation.infra is None:
            return streak
        streak += 1
    return before + streak


class ProbeTarget:
    """A runtime's probe programs, one per suite."""

    def __init__(
        self,
        name: str,
        probes: Mapping[str, ProbeConfig],
        encodings: Mapping[str, ProbeEncoding],
    ) -> None:
        self.name = name
        self._probes = dict(probes)
        self._encodings = dict(encodings)
        self._lines: dict[str, LineProcess] = {}
        # Batches are numbered as they start; ``interrupt`` ends every batch
        # up to the one in flight, and kills the processes working on it.
        self._lock = threading.Lock()
        self._started = 0
        self._interrupted = 0
        self._working: set[subprocess.Popen[bytes]] = set()
        self._streaks: dict[str, int] = {}  # per suite: failures in a row so far

    def run_batch(self, suite: str, cases: Sequence[JsonValue]) -> list[Observation]:
        config = self._probes[suite]
        with self._lock:
            self._started += 1
            batch = self._started
        if config.mode == "jsonl":
            out = self._run_jsonl(suite, config, cases, batch)
        else:
            out = self._run_oneshots(suite, config, cases, batch)
        if not self._was_interrupted(batch):  # an interrupt is no failure of the probe's
            self._streaks[suite] = _failing_streak(out, self._streaks.get(suite, 0))
        return out

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = self._started
            for proc in self._working:
                signal_group(proc)

    # -- one batch's progress ---------------------------------------------

    def _was_interrupted(self, batch: int) -> bool:
        with self._lock:
            return batch <= self._interrupted

    def _begin(self, batch: int, proc: subprocess.Popen[bytes]) -> bool:
        """``proc`` works on ``batch`` from now on (False: the batch was interrupted)."""
        with self._lock:
            if batch <= self._interrupted:
                return False
            self._working.add(proc)
            return True

    def _end(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._working.discard(proc)

    def _stop_reason(self, batch: int, suite: str, out: Sequence[Observation]) -> str | None:
        """Why the rest of the batch is not sent, if it is not."""
        if self._was_interrupted(batch):
            return "the batch was interrupted"
        streak = _failing_streak(out, self._streaks.get(suite, 0))
        if out and streak >= DEAD_AFTER:
            return f"the {streak} cases before it failed in a row: the target is down"
        return None

    def _not_sent(self, suite: str, why: str, count: int) -> list[Observation]:
        message = f"{self.name}: not sent to its {suite} probe ({why})"
        infra = InfraError(DivergenceClass.CRASH, message)
        return [Observation(self.name, None, infra=infra) for _ in range(count)]

    def _interrupted_answer(self, suite: str, stderr: str) -> Observation:
        message = f"{self.name}: its {suite} probe was interrupted before it answered"
        infra = InfraError(DivergenceClass.CRASH, message)
        return Observation(self.name, None, infra=infra, stderr=stderr)

    # -- jsonl -------------------------------------------------------------

    def _process(self, suite: str, config: ProbeConfig) -> LineProcess:
        process = self._lines.get(suite)
        if process is None or process.proc.poll() is not None:
            process = self._lines[suite] = LineProcess(config)
        return process

    def _run_jsonl(
        self, suite: str, config: ProbeConfig, cases: Sequence[JsonValue], batch: int
    ) -> list[Observation]:
        encode = self._encodings[suite].jsonl
        out: list[Observation] = []
        remaining = list(cases)
        while remaining:
            if stop := self._stop_reason(batch, suite, out):
                out.extend(self._not_sent(suite, stop, len(remaining)))
                break
            process = self._process(suite, config)
            payload = SHARED_LINES.payload(encode, remaining)
            started = time.perf_counter()
            if not self._begin(batch, process.proc):
                continue  # interrupted meanwhile: not sent
            try:
                answers, failure = process.exchange(payload, len(remaining), config.timeout_s)
            finally:
                self._end(process.proc)
            if failure == "protocol":
                out.extend(self._out_of_protocol(suite, process, len(remaining)))
                break
            each_ms = (time.perf_counter() - started) * 1000 / max(1, len(answers) or 1)
            out.extend(
                Observation(self.name, answer.decode("utf-8", errors="replace"), elapsed_ms=each_ms)
                for answer in answers
            )
            if failure is None:
                break
            # The case after the last answer is the one the process died or hung on.
            failed = self._failed(process, failure)
            if self._was_interrupted(batch):  # killed by ``interrupt``: no crash of its own
                failed = self._interrupted_answer(suite, failed.stderr)
            out.append(failed)
            del self._lines[suite]
            remaining = remaining[len(answers) + 1 :]
        return out

    def _out_of_protocol(self, suite: str, process: LineProcess, cases: int) -> list[Observation]:
        """Every case of the batch, as the protocol error it is: with a line
        too many, no answer can be told to belong to its case."""
        kill_group(process.proc)
        process.close()
        del self._lines[suite]
        preview = process.unread[:200].decode("utf-8", errors="replace")
        message = (
            f"{self.name}: the {suite} probe printed {process.unread_when} (the jsonl "
            f"protocol is one answer per input line, nothing else); unread: {preview!r}"
        )
        infra = InfraError(DivergenceClass.PROTOCOL, message, exit_code=process.proc.returncode)
        stderr = process.stderr.text()
        return [Observation(self.name, None, infra=infra, stderr=stderr) for _ in range(cases)]

    def _failed(self, process: LineProcess, failure: str) -> Observation:
        if failure == "timeout":
            kill_group(process.proc)
        else:
            try:
                process.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                kill_group(process.proc)
        process.close()
        code = process.proc.returncode
        kind = DivergenceClass.TIMEOUT if failure == "timeout" else DivergenceClass.CRASH
        message = "no answer in time" if failure == "timeout" else f"exited with status {code}"
        return Observation(
            self.name,
            None,
            infra=InfraError(kind, message, exit_code=code),
            stderr=process.stderr.text(),
        )

    # -- oneshot -----------------------------------------------------------

    def _run_oneshots(
        self, suite: str, config: ProbeConfig, cases: Sequence[JsonValue], batch: int
    ) -> list[Observation]:
        out: list[Observation] = []
        for index, case in enumerate(cases):
            if stop := self._stop_reason(batch, suite, out):
                out.extend(self._not_sent(suite, stop, len(cases) - index))
                break
            out.append(self._run_oneshot(suite, config, case, batch))
        return out

    def _run_oneshot(
        self, suite: str, config: ProbeConfig, case: JsonValue, batch: int
    ) -> Observation:
        data = self._encodings[suite].oneshot(case).encode("utf-8")
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                list(config.command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=config.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise TargetError(f"cannot start {config.command[0]}: {exc}") from exc
        if not self._begin(batch, proc):
            kill_group(proc)
            proc.communicate()
            return self._interrupted_answer(suite, "")
        try:
            stdout, stderr = proc.communicate(data, timeout=config.timeout_s)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            stdout, stderr = proc.communicate()
            if self._was_interrupted(batch):
                return self._interrupted_answer(suite, stderr.decode("utf-8", errors="replace"))
            return Observation(
                self.name,
                None,
                infra=InfraError(DivergenceClass.TIMEOUT, "no answer in time"),
                stderr=stderr.decode("utf-8", errors="replace")[-STDERR_KEEP:],
            )
        finally:
            self._end(proc)
        elapsed = (time.perf_counter() - started) * 1000
        err = stderr.decode("utf-8", errors="replace")[-STDERR_KEEP:]
        if proc.returncode != 0 and self._was_interrupted(batch):
            return self._interrupted_answer(suite, err)
        text = stdout.decode("utf-8", errors="replace").removesuffix("\n").removesuffix("\r")
        if proc.returncode == 0:
            return Observation(self.name, text, stderr=err, elapsed_ms=elapsed)
        if _one_json_value(text):
            # The protocol has no exit status: a probe may print its
            # {"error": ...} answer and exit 1. It answered; keep the status.
            return Observation(
                self.name, text, stderr=err, elapsed_ms=elapsed, exit_code=proc.returncode
            )
        return Observation(
            self.name,
            None,
            infra=InfraError(
                DivergenceClass.CRASH,
                f"exited with status {proc.returncode}",
                exit_code=proc.returncode,
            ),
            stderr=err,
        )

    def close(self) -> None:
        for process in self._lines.values():
            process.close()
        self._lines.clear()
