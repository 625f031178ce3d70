"""A run's environment: what the suites it runs need, started, and stopped
on every exit. Probe suites get a probe program per target; live suites in
the embedded default start both sample stacks behind one scripted model
(their logs in the work folder), and with a ``parity.toml`` use the
configured services, the harness serving the scripted model on each
target's ``model_port``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import defaults
from harness.config import Config, TargetConfig
from harness.engine.health import Watched
from harness.errors import HarnessError
from harness.suites import registry
from harness.suites.base import ProbeSuite, Suite
from harness.suites.catalog import PROBE_SUITES, LiveSuites
from harness.suites.tracing import Tracing
from harness.targets import ProbeTarget
from harness.targets.base import Target
from harness.targets.http import HttpTarget, RuntimeTarget

__all__ = ["Environment", "environment", "probe_targets"]


def probe_targets(config: Config, suites: Iterable[ProbeSuite]) -> list[Target]:
    wanted = {suite.name: suite.encoding for suite in suites}
    out: list[Target] = []
    for name, target in config.targets.items():
        probes = {s: p for s, p in target.probes.items() if s in wanted}
        out.append(ProbeTarget(name, probes, {s: e for s, e in wanted.items() if s in probes}))
    return out


@dataclass
class Environment:
    """Everything a run needs, started: its suites (in run order) and targets."""

    suites: list[Suite]
    targets: list[Target]
    # The harness's own servers whose handler errors the run reports.
    servers: list[Watched] = dataclasses.field(default_factory=list)

    def suite(self, name: str) -> Suite:
        return next(s for s in self.suites if s.name == name)


@contextlib.contextmanager
def environment(config: Config, names: Sequence[str], work_dir: Path) -> Iterator[Environment]:
    """Start what the suites ``names`` need; stop all of it on the way out.

    Live suites in the embedded default start the sample stacks (logs in
    ``work_dir/stacks``, session logs in ``work_dir/sessions``) behind one
    scripted model; with a config they use the configured services.
    """
    probe_suites = [PROBE_SUITES[n] for n in names if n in PROBE_SUITES]
    live_names = [n for n in names if n in registry.SERVICE]
    with contextlib.ExitStack() as stack:
        probes = {t.name: t for t in probe_targets(config, probe_suites)}
        stack.callback(_close_all, list(probes.values()))
        if not live_names:
            yield Environment(list(probe_suites), list(probes.values()))
            return
        servers: list[Watched] = []
        live, http = _live_targets(config, work_dir, stack, live_names, servers)
        by_name: dict[str, Suite] = {**PROBE_SUITES, **live.suites}
        targets: list[Target] = []
        for name in config.targets:
            parts: dict[str, Target] = {s.name: probes[name] for s in probe_suites}
            parts.update({n: http[name] for n in live_names})
            targets.append(RuntimeTarget(name, parts))
        yield Environment([by_name[n] for n in names], targets, servers)


def _close_all(targets: Sequence[Target]) -> None:
    for target in reversed(targets):
        with contextlib.suppress(Exception):
            target.close()


def _check_shared_logs(config: Config, live_names: Sequence[str]) -> None:
    """Targets that share one session log must say which rows are theirs."""
    if registry.SESSIONS not in live_names:
        return
    by_log: dict[Path, list[TargetConfig]] = {}
    for target in config.targets.values():
        if target.session_log is not None:
            by_log.setdefault(target.session_log.resolve(), []).append(target)
    for log, sharing in by_log.items():
        unnamed = [t.name for t in sharing if t.daemon is None]
        if len(sharing) > 1 and unnamed:
            raise HarnessError(
                f"targets {', '.join(t.name for t in sharing)} share the session log {log}: "
                f"set `daemon` (the value their rows carry) for {', '.join(unnamed)}"
            )
        daemons = [t.daemon for t in sharing]
        if len(set(daemons)) != len(daemons):
            raise HarnessError(f"targets sharing the session log {log} need distinct `daemon`s")


def _live_targets(
    config: Config,
    work_dir: Path,
    stack: contextlib.ExitStack,
    live_names: Sequence[str],
    servers: list[Watched],
) -> tuple[LiveSuites, dict[str, HttpTarget]]:
    """The live suites and an HTTP target per configured target, behind one
    scripted model (added to ``servers``)."""
    from harness import stacks
    from harness.mock_llm import ScriptedModelServer
    from reference_impl.roster import RosterError, load_roster

    roster_path = config.run.roster or defaults.PROJECT_ROOT / defaults.ROSTER
    try:
        roster = load_roster(roster_path)
    except (OSError, RosterError) as exc:
        raise HarnessError(f"cannot load the roster: {exc}") from exc
    server = ScriptedModelServer()
    server.start()
    stack.callback(server.stop)
    servers.append(Watched("the scripted model", server.handler_errors))
    _check_shared_logs(config, live_names)
    embedded = any(t.stack is not None for t in config.targets.values())
    timeout_ms = defaults.EMBEDDED_UPSTREAM_TIMEOUT_MS if embedded else defaults.UPSTREAM_TIMEOUT_MS
    tracing = _tracing(config, stack) if registry.TRACES in live_names else None
    if tracing is not None:
        servers.append(Watched("the Langfuse stand-in", tracing.standin.handler_errors))
    live = LiveSuites(server.model, roster, upstream_timeout_s=timeout_ms / 1000, tracing=tracing)
    running = stack.enter_context(stacks.Stacks(work_dir / "stacks"))
    specs = stacks.default_specs(config.root / "targets")
    http: dict[str, HttpTarget] = {}
    for name, target in config.targets.items():
        liveness: Callable[[], str | None] | None = None
        if target.stack is not None:
            server.add_listener(name)
            log = work_dir / "sessions" / f"{name}.jsonl"
            log.unlink(missing_ok=True)
            process = running.start(
                specs[target.stack],
                upstream_url=server.url(name),
                roster=roster_path,
                session_log=log,
                upstream_timeout_ms=timeout_ms,
                env=_langfuse_env(tracing, name),
            )
            target = dataclasses.replace(
                target, url=process.url, session_log=log, daemon=specs[target.stack].daemon
            )
            liveness = _liveness(process)
        elif target.model_port is not None:
            try:
                server.add_listener(name, target.model_port)
            except OSError as exc:
                raise HarnessError(
                    f"{name}: cannot serve the scripted model on 127.0.0.1:{target.model_port}: "
                    f"{exc}"
                ) from exc
        assert target.url is not None
        http[name] = HttpTarget(
            name,
            target.url,
            live.routes(),
            concurrency=target.concurrency,
            timeout_s=target.timeout_s,
            session_log=target.session_log,
            daemon=target.daemon,
            liveness=liveness,
        )
        stack.callback(http[name].close)
    return live, http


def _tracing(config: Config, stack: contextlib.ExitStack) -> Tracing:
    """The Langfuse stand-in, one listener per target: a free port for a
    sample stack, the configured ``langfuse_port`` for a deployment."""
    from harness.langfuse import Collector, Credentials, LangfuseStandIn
    from harness.langfuse.store import TraceStore
    from harness.suites.tracing import session_of

    standin = LangfuseStandIn(Collector(store=TraceStore(index=session_of)))
    standin.start()
    stack.callback(standin.stop)
    keys = Credentials(defaults.LANGFUSE_PUBLIC_KEY, defaults.LANGFUSE_SECRET_KEY)
    for name, target in config.targets.items():
        port = 0 if target.stack is not None else target.langfuse_port or 0
        try:
            standin.add_listener(name, port, credentials=keys)
        except OSError as exc:
            raise HarnessError(
                f"{name}: cannot serve the Langfuse stand-in on 127.0.0.1:{port}: {exc}"
            ) from exc
    return Tracing(standin, list(config.targets))


def _langfuse_env(tracing: Tracing | None, name: str) -> dict[str, str]:
    return langfuse_env(tracing.standin.url(name)) if tracing is not None else {}


def langfuse_env(url: str, secret_key: str = defaults.LANGFUSE_SECRET_KEY) -> dict[str, str]:
    """A runtime's Langfuse settings (CONTRACT §7) by their env names: the
    stand-in at ``url`` with the keys it accepts (tests give a wrong one)."""
    return {
        "LAKEHOUSE_LANGFUSE_URL": url,
        "LAKEHOUSE_LANGFUSE_PUBLIC_KEY": defaults.LANGFUSE_PUBLIC_KEY,
        "LAKEHOUSE_LANGFUSE_SECRET_KEY": secret_key,
    }


def _liveness(process: object) -> Callable[[], str | None]:
    from harness.stacks import StackProcess

    assert isinstance(process, StackProcess)

    def gone() -> str | None:
        code = process.popen.poll()
        if code is None:
            return None
        return f"its process (pid {process.pid}) exited with code {code}; log {process.log_path}"

    return gone
