"""``parity doctor``: is a deployment wired up for a run? Target by target:

0. each probe program exists, can be run, and answers one case with one
   JSON line;
1. ``GET /health`` answers 200;
2. the harness can serve its scripted model on the target's ``model_port``;
3. one scripted ``/v1/iterate`` session per (provider, model) the live suites
   send reaches that model through the target (so its provider really points
   there), and in which dialect (``mock_llm.Dialect``);
4. the session log is readable and receives each session's row (with the
   target's ``daemon`` when it has one);
5. with a ``langfuse_port``, the harness can serve its Langfuse stand-in
   there, and a session's trace tree reaches it, over which transport
   (``harness.doctor_traces``).

Every check gives one line; a problem says what is wrong and how to fix it.
Targets the harness starts itself (``stack = ...``) need no check.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx

from harness import defaults, doctor_traces
from harness.config import Config, ProbeConfig, TargetConfig
from harness.errors import TargetError
from harness.mock_llm import (
    CASE_MARKER_RE,
    SMOKE_ARTIFACT,
    Call,
    Dialect,
    Reply,
    ScriptedModel,
    ScriptedModelServer,
    case_marker,
)
from harness.suites import registry
from harness.targets.http import SessionLog

LOG_WAIT_S: Final = 5.0
HEALTH_TIMEOUT_S: Final = 5.0
_SHOWN_CHARS: Final = 200
# One case per probe suite: any answer that is one JSON line shows the probe runs.
_SMOKE_CASES: Final = {registry.EXTRACT_JSON: 'parity doctor: {"a": 1}', registry.SESSION_LOG: "{}"}
DIALECT_PATHS: Final = {
    Dialect.OPENAI: "POST /v1/chat/completions",
    Dialect.OLLAMA: "POST /api/chat",
}


@dataclass(frozen=True)
class Check:
    """One line of the diagnosis: what is fine, or what is wrong and the fix."""

    target: str
    what: str
    fix: str | None = None  # None: fine

    @property
    def ok(self) -> bool:
        return self.fix is None

    def line(self) -> str:
        if self.fix is None:
            return f"{self.target}: ok: {self.what}"
        return f"{self.target}: problem: {self.what}; fix: {self.fix}"


def diagnose(
    config: Config,
    *,
    log_wait_s: float = LOG_WAIT_S,
    trace_wait_s: float = doctor_traces.TRACE_WAIT_S,
    on_check: Callable[[Check], None] | None = None,
) -> list[Check]:
    """Every check of every target, in order (``on_check`` sees each as it is made)."""
    found: list[Check] = []

    def report(check: Check) -> None:
        found.append(check)
        if on_check is not None:
            on_check(check)

    model = ScriptedModel(max_hang_s=1.0)
    with (
        ScriptedModelServer(model) as server,
        doctor_traces.new_standin() as standin,
        httpx.Client(trust_env=False) as client,
    ):
        for target in config.targets.values():
            sharing = [
                other.name
                for other in config.targets.values()
                if other is not target
                and target.model_port is not None
                and other.model_port == target.model_port
            ]
            tracer = doctor_traces.TraceDoctor.of(standin, config, target, trace_wait_s)
            doctor = _TargetDoctor(target, server, client, log_wait_s, sharing, tracer)
            for check in doctor.checks():
                report(check)
    return found


@dataclass
class _TargetDoctor:
    target: TargetConfig
    server: ScriptedModelServer
    client: httpx.Client
    log_wait_s: float
    sharing: list[str]  # other targets configured with the same model_port
    tracer: doctor_traces.TraceDoctor | None  # None: no langfuse_port

    @property
    def name(self) -> str:
        return self.target.name

    def ok(self, what: str) -> Check:
        return Check(self.name, what)

    def problem(self, what: str, fix: str) -> Check:
        return Check(self.name, what, fix)

    def checks(self) -> Iterator[Check]:
        target = self.target
        if target.stack is not None:
            yield self.ok(f"the sample stack {target.stack!r}, started by `parity run` itself")
            return
        for suite, probe in sorted(target.probes.items()):
            yield self._probe(suite, probe)
        if target.url is None:
            yield self.ok("no `url`: only the probe suites run for it, nothing to check live")
            return
        health = self._health(target.url)
        yield health
        port_check = self._serve_model()
        yield port_check
        tracer = self.tracer
        said = doctor_traces.untraced() if tracer is None else tracer.listen()
        yield Check(self.name, *said)
        if said[1] is not None:
            tracer = None  # nowhere to receive the tree
        log_check, log = self._open_log()
        if log_check is not None:
            yield log_check
        if not (health.ok and port_check.ok):
            return
        answered: list[str] = []
        for provider, model in defaults.PROVIDERS:
            check, session = self._session(target.url, provider, model)
            yield check
            if session is not None:
                answered.append(session)
        if log is not None and answered:
            yield self._rows(log, answered)
        if tracer is not None and answered:
            yield Check(self.name, *tracer.arrived(answered))

    # -- 0. probe programs -------------------------------------------------------

    def _probe(self, suite: str, probe: ProbeConfig) -> Check:
        where = f"[targets.{self.name}.probes.{suite}]"
        shown = shlex.join(probe.command)
        missing = _program_problem(probe)
        if missing is not None:
            return self.problem(
                f"probe {suite}: {missing}",
                f"correct `command` (or `cwd`) in {where}: a relative path is relative to "
                "the config's folder; or build the probe",
            )
        answered = _one_answer(self.name, suite, probe)
        if answered is not None:
            return self.problem(
                f"probe {suite} ({shown}) {answered}",
                f"run it by hand: {_smoke_line(suite, probe)}; check `command` and `mode` "
                f"in {where}",
            )
        return self.ok(f"probe {suite} ({shown}) answered a case with one JSON line")

    # -- 1. health -------------------------------------------------------------

    def _health(self, url: str) -> Check:
        try:
            response = self.client.get(url + "/health", timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return self.problem(
                f"GET {url}/health failed: {_describe(exc)}",
                f"start the deployment, or correct `url` in [targets.{self.name}]",
            )
        if response.status_code != 200:
            return self.problem(
                f"GET {url}/health answered {response.status_code}: {_shown(response.text)}",
                f"check that `url` in [targets.{self.name}] is the service itself, and its log",
            )
        return self.ok(f"GET {url}/health answered 200")

    # -- 2. the model's port -----------------------------------------------------

    def _serve_model(self) -> Check:
        port = self.target.model_port
        if port is None:
            return self.problem(
                "no `model_port`: the harness has nowhere to serve this target's model",
                f"add model_port = <a free port> to [targets.{self.name}] and point the "
                "deployment's provider at it (`parity init` prints how)",
            )
        if self.sharing:
            return self.problem(
                f"model_port {port} is also the model_port of {', '.join(self.sharing)}",
                "give each target its own model_port (the harness tells runtimes apart by it) "
                "and point each deployment's provider at its own",
            )
        try:
            self.server.add_listener(self.name, port)
        except OSError as exc:
            return self.problem(
                f"cannot serve the model on 127.0.0.1:{port}: {exc.strerror or exc}",
                "stop what listens there (a `parity mock-llm`, `parity stacks up`, another run) "
                "or choose another model_port and point the provider at it",
            )
        return self.ok(f"serving the scripted model on 127.0.0.1:{port}")

    # -- 3. a session through the target -------------------------------------------

    def _session(self, url: str, provider: str, model: str) -> tuple[Check, str | None]:
        """One session; the check, and the session id when the target answered it."""
        session = f"doctor-{self.name}-{secrets.token_hex(4)}"
        self.server.model.register(session, [Reply(json.dumps(SMOKE_ARTIFACT))])
        body = {
            "kind": "playbook",
            "prompt": f"{case_marker(session)} Write a short playbook (parity doctor).",
            "provider": provider,
            "model": model,
            "max_iterations": 1,
        }
        sent = f"provider {provider!r}, model {model!r}"
        try:
            response = self.client.post(
                url + "/v1/iterate",
                json=body,
                headers={"X-Lakehouse-Trace-Id": session},
                timeout=self.target.timeout_s,
            )
        except httpx.HTTPError as exc:
            return self.problem(
                f"POST {url}/v1/iterate ({sent}) failed: {_describe(exc)}",
                "read the deployment's log; keep its upstream timeout below "
                f"timeout_s ({self.target.timeout_s:g}s)",
            ), None
        calls = self.server.model.call_log(session, self.name)
        if not calls:
            return self._elsewhere(url, sent, response), session
        return self._reached(sent, calls, response), session

    def _elsewhere(self, url: str, sent: str, response: httpx.Response) -> Check:
        port = self.target.model_port
        local = urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
        where = (
            ""
            if local
            else "; the harness's model listens on 127.0.0.1 only: run it on the deployment's host"
        )
        return self.problem(
            f"a session ({sent}) did not reach the harness's model on 127.0.0.1:{port} "
            f"(/v1/iterate answered {response.status_code}: {_shown(response.text)})",
            f"point the deployment's provider at http://127.0.0.1:{port} (OpenAI-compatible "
            f"base URL http://127.0.0.1:{port}/v1, Ollama host http://127.0.0.1:{port}) "
            f"for this provider too; `parity init` prints how{where}",
        )

    def _reached(self, sent: str, calls: list[Call], response: httpx.Response) -> Check:
        call = calls[0]
        how = f"{call.dialect.value} dialect ({DIALECT_PATHS[call.dialect]}"
        how += ", streamed)" if call.stream else ")"
        reached = f"a session ({sent}) reached the model in the {how}"
        if response.status_code != 200:
            return self.problem(
                f"{reached}, but /v1/iterate answered {response.status_code} to a valid "
                f"artifact: {_shown(response.text)}",
                "read the deployment's log (its roster and validator must be the contract's)",
            )
        return self.ok(f"{reached}; /v1/iterate answered 200")

    # -- 4. the session log ----------------------------------------------------------

    def _open_log(self) -> tuple[Check | None, SessionLog | None]:
        path = self.target.session_log
        if path is None:
            return self.problem(
                "no `session_log`: the sessions suite cannot run",
                f"set session_log = the file the deployment writes (its --session-log) "
                f"in [targets.{self.name}]",
            ), None
        if path.exists():
            try:
                with path.open("rb") as handle:
                    handle.read(1)
            except OSError as exc:
                return self.problem(
                    f"cannot read the session log {path}: {exc.strerror or exc}",
                    "point session_log at the log file itself and make it readable by this user",
                ), None
        return None, SessionLog(path)

    def _rows(self, log: SessionLog, sessions: list[str]) -> Check:
        path = self.target.session_log
        rows = _wait_for_rows(log, sessions, self.log_wait_s)
        missing = [session for session in sessions if not rows.get(session)]
        if missing:
            exists = "" if path is not None and path.exists() else " (the file does not exist)"
            return self.problem(
                f"the session log {path}{exists} received no row for session {missing[0]} "
                f"within {self.log_wait_s:g}s ({len(missing)} of {len(sessions)} missing)",
                "start the deployment with --session-log set to that file "
                "(LAKEHOUSE_SESSION_LOG), or set session_log to the file it writes",
            )
        daemon = self.target.daemon
        theirs = {_daemon_of(line) for lines in rows.values() for line in lines}
        if daemon is not None and daemon not in theirs:
            shown = ", ".join(sorted(repr(d) for d in theirs if d is not None)) or "none"
            return self.problem(
                f"the rows of its sessions carry daemon {shown}, not {daemon!r}",
                f"set daemon = the value its rows carry in [targets.{self.name}]",
            )
        return self.ok(
            f"the session log {path} received the row of each of {len(sessions)} sessions"
        )


def _program_problem(probe: ProbeConfig) -> str | None:
    """Why the probe's program cannot be started, or None."""
    if probe.cwd is not None and not probe.cwd.is_dir():
        return f"its cwd {probe.cwd} is not a folder"
    program = probe.command[0]
    if "/" not in program:
        return None if shutil.which(program) else f"{program}: not found on PATH"
    path = Path(program) if Path(program).is_absolute() else (probe.cwd or Path.cwd()) / program
    if not path.exists():
        return f"{path}: no such file"
    if path.is_dir():
        return f"{path}: is a folder, not a program"
    if not os.access(path, os.X_OK):
        return f"{path}: not executable (chmod +x, or name its interpreter first)"
    return None


def _one_answer(name: str, suite: str, probe: ProbeConfig) -> str | None:
    """Send the probe one case; what is wrong with its answer, or None."""
    from harness.suites.probe import PROBE_SUITES
    from harness.targets.probe import ProbeTarget

    target = ProbeTarget(name, {suite: probe}, {suite: PROBE_SUITES[suite].encoding})
    try:
        [observation] = target.run_batch(suite, [_SMOKE_CASES[suite]])
    except TargetError as exc:
        return f"could not be started: {exc}"
    finally:
        target.close()
    if observation.infra is not None:
        stderr = _shown(observation.stderr) if observation.stderr.strip() else "nothing"
        return f"did not answer a case ({observation.infra.message}; its stderr: {stderr})"
    try:
        json.loads(observation.text or "")
    except ValueError:
        shown = _shown(observation.text or "")
        return f"answered a case with something that is not one JSON line: {shown!r}"
    return None


def _smoke_line(suite: str, probe: ProbeConfig) -> str:
    from harness.suites.probe import PROBE_SUITES, shell_line

    return shell_line(PROBE_SUITES[suite], _SMOKE_CASES[suite], probe)


def _wait_for_rows(log: SessionLog, sessions: list[str], wait_s: float) -> dict[str, list[str]]:
    deadline = time.monotonic() + wait_s
    while True:
        rows = {session: log.rows(session, _session_key) for session in sessions}
        if all(rows.values()) or time.monotonic() >= deadline:
            return rows
        time.sleep(0.05)


def _session_key(line: str) -> str | None:
    match = CASE_MARKER_RE.search(line)
    return match.group(1) if match else None


def _daemon_of(line: str) -> str | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    daemon = row.get("daemon") if isinstance(row, dict) else None
    return daemon if isinstance(daemon, str) else None


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _shown(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SHOWN_CHARS else flat[:_SHOWN_CHARS] + "…"
