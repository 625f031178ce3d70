"""``parity init`` and ``parity doctor``: pointing the harness at a deployment.

``init`` writes a commented ``parity.toml`` for the two runtimes and prints,
for each, how to point its model provider at the port where the harness
serves its scripted model, in either dialect, and its Langfuse host at the
port where the harness serves its Langfuse stand-in (CONTRACT §7); ``doctor``
checks the wiring (``harness.doctor``).
"""

from __future__ import annotations

import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click

from harness import defaults
from harness.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    err,
    fail,
    is_text,
    out,
    reported_errors,
    resolve_config,
)
from harness.waivers import toml_string as _toml_str

# The timeout the sample commands give a deployment's model calls: a scripted
# hang then costs two seconds, well inside a target's timeout_s.
SUGGESTED_UPSTREAM_TIMEOUT_MS: Final = 2000
SUGGESTED_TIMEOUT_S: Final = 30
# The only keys the harness's Langfuse stand-in accepts from a deployment.
_LANGFUSE_KEYS: Final = (defaults.LANGFUSE_PUBLIC_KEY, defaults.LANGFUSE_SECRET_KEY)


@dataclass(frozen=True)
class Runtime:
    """One runtime of the deployment, as ``init`` writes it."""

    name: str  # the target's name in parity.toml
    title: str
    url: str
    model_port: int
    session_log: str
    daemon: str
    langfuse_port: int

    @property
    def langfuse_url(self) -> str:
        return f"http://127.0.0.1:{self.langfuse_port}"


def render_config(runtimes: list[Runtime], roster: Path | None) -> str:
    """The commented parity.toml (relative paths resolve from its folder)."""
    roster_line = (
        f"roster = {_toml_str(str(roster))}   # the roster the deployment validates against"
        if roster is not None
        else '# roster = "roster.jsonl"   # the roster the deployment validates against\n'
        "#                             (default: the harness's fixtures/roster.jsonl)"
    )
    lines = [
        "# parity.toml: the harness against your deployment (written by `parity init`).",
        "# Check the wiring with `parity doctor`, then `parity run`; both read ./parity.toml",
        "# by default (or --config FILE). Relative paths are relative to this file's folder.",
        "",
        "[run]",
        roster_line,
        '# profile = "ci"              # quick (400 cases per suite), ci (2000), thorough (20000)',
        '# waivers = "waivers.toml"    # accepted divergences, each with a reason and an expiry',
        "",
    ]
    for runtime in runtimes:
        lines += [
            f"# {runtime.title}",
            f"[targets.{runtime.name}]",
            f"url = {_toml_str(runtime.url)}   # where the harness sends /v1/validate, /v1/iterate",
            f"model_port = {runtime.model_port}   # the harness serves its scripted model on "
            f"127.0.0.1:{runtime.model_port}:",
            "#                     the deployment's provider must point there",
            f"langfuse_port = {runtime.langfuse_port}   # the harness serves its Langfuse "
            f"stand-in on 127.0.0.1:{runtime.langfuse_port}:",
            "#                     the deployment's Langfuse host must point there (the "
            "traces suite)",
            f"session_log = {_toml_str(runtime.session_log)}   # the file the deployment appends "
            "its sessions to",
            f"daemon = {_toml_str(runtime.daemon)}   # the `daemon` of its rows (tells them apart "
            "in a shared log)",
            f"timeout_s = {SUGGESTED_TIMEOUT_S}   # per request; keep the deployment's "
            "upstream timeout below it",
            "# concurrency = 8           # requests in flight to this target",
            f"# [targets.{runtime.name}.probes.extract_json]   # the probe suites, if you "
            "build the probes",
            '# command = ["path/to/parity_extract_json", "--jsonl"]',
            '# mode = "jsonl"',
            "",
        ]
    return "\n".join(lines)


def instructions(runtimes: list[Runtime], config_path: Path, roster: Path) -> list[str]:
    """For each runtime, how to point its provider at the harness, in each dialect."""
    from harness import stacks

    specs = stacks.default_specs()
    folder = config_path.resolve().parent
    lines = []
    for runtime in runtimes:
        port = runtime.model_port
        log = (folder / runtime.session_log).resolve()
        lines += [
            f"{runtime.title} ({runtime.url}): point its model provider at http://127.0.0.1:{port}",
            f"  OpenAI-compatible provider: base URL http://127.0.0.1:{port}/v1 "
            f"(it will POST /v1/chat/completions; the sample stacks: --upstream "
            f"http://127.0.0.1:{port} or LAKEHOUSE_UPSTREAM)",
            f"  Ollama provider (e.g. ollama_cloud): host http://127.0.0.1:{port} "
            f"(it will POST /api/chat; OLLAMA_HOST=http://127.0.0.1:{port} for clients "
            "that read it)",
            "  every provider the suites send (mock, ollama_cloud, openai) must go there",
            f"  session log: {log} (--session-log or LAKEHOUSE_SESSION_LOG)",
            f"  upstream timeout: below timeout_s={SUGGESTED_TIMEOUT_S}s, e.g. "
            f"--upstream-timeout-ms {SUGGESTED_UPSTREAM_TIMEOUT_MS} (a scripted hang lasts "
            "that long)",
            *_langfuse_lines(runtime),
        ]
        spec = specs.get(runtime.name)
        if spec is not None:
            argv = stacks.daemon_argv(
                spec,
                port=_port_of(runtime.url, spec.default_port),
                upstream_url=f"http://127.0.0.1:{port}",
                roster=roster,
                session_log=log,
                upstream_timeout_ms=SUGGESTED_UPSTREAM_TIMEOUT_MS,
                langfuse=(runtime.langfuse_url, *_LANGFUSE_KEYS),
            )
            lines.append(f"  the sample {spec.daemon}, by hand: {shlex.join(argv)}")
        lines.append("")
    shown = shlex.quote(str(config_path))
    lines += [
        "Then, with the deployment running:",
        f"  parity doctor --config {shown}   # checks each target; exit 0 when all is well",
        f"  parity run --config {shown}      # validate, iterate, faults, sessions, traces",
    ]
    return lines


def _langfuse_lines(runtime: Runtime) -> list[str]:
    """Where the runtime sends its trace tree (CONTRACT §7), by flag and by env name."""
    url = runtime.langfuse_url
    public_key, secret_key = _LANGFUSE_KEYS
    return [
        f"  Langfuse host: {url}, public key {public_key}, secret key {secret_key} "
        "(the traces suite reads the trace tree of each session there)",
        f"    flags: --langfuse-url {url} --langfuse-public-key {public_key} "
        f"--langfuse-secret-key {secret_key}",
        f"    or env: LAKEHOUSE_LANGFUSE_URL={url} LAKEHOUSE_LANGFUSE_PUBLIC_KEY={public_key} "
        f"LAKEHOUSE_LANGFUSE_SECRET_KEY={secret_key}",
    ]


def _port_of(url: str, default: int) -> int:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).port or default
    except ValueError:
        return default


@click.command("init")
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("parity.toml"),
    show_default=True,
)
@click.option("--force", is_flag=True, help="overwrite an existing file")
@click.option("--rust-url", default="http://127.0.0.1:3100", show_default=True)
@click.option("--go-url", default="http://127.0.0.1:4110", show_default=True)
@click.option("--rust-model-port", type=click.IntRange(1, 65535), default=18101, show_default=True)
@click.option("--go-model-port", type=click.IntRange(1, 65535), default=18102, show_default=True)
@click.option(
    "--rust-langfuse-port", type=click.IntRange(1, 65535), default=18111, show_default=True
)
@click.option("--go-langfuse-port", type=click.IntRange(1, 65535), default=18112, show_default=True)
@click.option("--rust-session-log", default="sessions/gateway.jsonl", show_default=True)
@click.option("--go-session-log", default="sessions/validatord.jsonl", show_default=True)
@click.option("--rust-daemon", default="gateway", show_default=True)
@click.option("--go-daemon", default="validatord", show_default=True)
@click.option(
    "--roster",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="the roster the deployment validates against (default: fixtures/roster.jsonl)",
)
def init(
    out_path: Path,
    force: bool,
    rust_url: str,
    go_url: str,
    rust_model_port: int,
    go_model_port: int,
    rust_langfuse_port: int,
    go_langfuse_port: int,
    rust_session_log: str,
    go_session_log: str,
    rust_daemon: str,
    go_daemon: str,
    roster: Path | None,
) -> None:
    """Write a commented parity.toml for a deployment and say how to wire it up."""
    from harness import atomic, config

    texts = {
        "--rust-url": rust_url,
        "--go-url": go_url,
        "--rust-session-log": rust_session_log,
        "--go-session-log": go_session_log,
        "--rust-daemon": rust_daemon,
        "--go-daemon": go_daemon,
        "--out": str(out_path),
    }
    for option, value in texts.items():
        if not is_text(value):
            raise click.BadParameter("not valid text (bytes that are not UTF-8)", param_hint=option)
    if rust_model_port == go_model_port:
        raise click.BadParameter(
            "each runtime needs its own model port", param_hint="--go-model-port"
        )
    _check_langfuse_ports(
        {"--rust-langfuse-port": rust_langfuse_port, "--go-langfuse-port": go_langfuse_port},
        {rust_model_port, go_model_port},
    )
    if out_path.exists() and not force:
        fail(f"{out_path} exists; pass --force to overwrite it")
    runtimes = [
        Runtime(
            "rust",
            "the Rust gateway",
            rust_url,
            rust_model_port,
            rust_session_log,
            rust_daemon,
            rust_langfuse_port,
        ),
        Runtime(
            "go",
            "the Go validatord",
            go_url,
            go_model_port,
            go_session_log,
            go_daemon,
            go_langfuse_port,
        ),
    ]
    roster_path = roster.resolve() if roster is not None else None
    text = render_config(runtimes, roster_path)
    with reported_errors():
        # What is written must load: a bad --rust-url is reported now, naming the key.
        config.parse(tomllib.loads(text), source=str(out_path), root=out_path.parent, path=out_path)
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_text(out_path, text)
            for runtime in runtimes:
                # A deployment may expect its log's folder to exist (the samples create it).
                (out_path.parent / runtime.session_log).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot write {out_path}: {exc.strerror or exc}")
    out.print(f"wrote {out_path}", markup=False)
    out.print("", markup=False)
    used_roster = roster_path or defaults.PROJECT_ROOT / defaults.ROSTER
    for line in instructions(runtimes, out_path, used_roster):
        out.print(line, markup=False, soft_wrap=True)


def _check_langfuse_ports(ports: dict[str, int], model_ports: set[int]) -> None:
    """Each runtime its own Langfuse port, none of them a model port (both
    are served on 127.0.0.1 during a run)."""
    seen: set[int] = set()
    for option, port in ports.items():
        if port in model_ports:
            raise click.BadParameter(
                f"{port} is also a model port; the Langfuse stand-in needs its own",
                param_hint=option,
            )
        if port in seen:
            raise click.BadParameter("each runtime needs its own Langfuse port", param_hint=option)
        seen.add(port)


@click.command("doctor")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="parity.toml (default: ./parity.toml, else the sample stacks)",
)
def doctor(config_path: Path | None) -> None:
    """Check each target: /health, a session reaching the harness's model, its session log.

    One line per check; a problem says what is wrong and how to fix it. Exit 0
    when all is well, 2 otherwise.
    """
    from harness import doctor as checks

    with reported_errors():
        cfg = resolve_config(config_path)
        shown = cfg.path if cfg.path is not None else "the embedded default (sample stacks)"
        out.print(f"checking {shown}", markup=False)

        def show(check: checks.Check) -> None:
            (out if check.ok else err).print(check.line(), markup=False, soft_wrap=True)

        found = checks.diagnose(cfg, on_check=show)
    problems = sum(1 for check in found if not check.ok)
    if problems:
        err.print(f"{problems} problem(s)", markup=False)
        sys.exit(EXIT_ERROR)
    out.print("all is well", markup=False)
    sys.exit(EXIT_OK)
