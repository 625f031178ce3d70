"""Every default value of the harness, once: the CLI, the config loader, the
runner, the stacks and the engine read them here."""

from __future__ import annotations

from pathlib import Path
from typing import Final

# The project: its sample stacks (targets/) and fixtures, which the embedded
# default configuration and the paths below name.
PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]

# Cases per suite for each profile (``--profile``).
PROFILES: Final = {"quick": 400, "ci": 2000, "thorough": 20000}
PROFILE: Final = "quick"

# Probe programs and HTTP targets (parity.toml may override each per target).
PROBE_TIMEOUT_S: Final = 5.0
HTTP_TIMEOUT_S: Final = 30.0
HTTP_CONCURRENCY: Final = 8

# The daemons' upstream (model) timeout: their own default, used for a
# configured deployment, and the embedded default's short one, so that a
# scripted hang costs two seconds, not two minutes.
UPSTREAM_TIMEOUT_MS: Final = 120_000
EMBEDDED_UPSTREAM_TIMEOUT_MS: Final = 2000

# The sample stacks: how long a build, a start (until /health answers) and
# a graceful stop may take.
STACK_BUILD_TIMEOUT_S: Final = 1800.0
STACK_HEALTH_TIMEOUT_S: Final = 30.0
STACK_STOP_GRACE_S: Final = 5.0

# Where a run writes, relative to the project (or the config's folder).
REPORT_DIR: Final = "parity-report"
DATABASE_DIR: Final = ".parity/hypothesis"
# The roster the sample stacks validate against and the live suites' cases
# are written for, relative to the project (parity.toml ``roster`` overrides).
ROSTER: Final = "fixtures/roster.jsonl"

# The (provider, model) pairs the iterate and faults suites send, the scripted
# model as it is first; `parity doctor` tries each: a deployment that routes by
# provider must send every one of them to the harness's model.
PROVIDERS: Final = (("mock", "scripted"), ("ollama_cloud", "kimi-k2.6"), ("openai", "gpt-4o-mini"))

# The engine: time spent shrinking one suite's findings at most; the share of
# explored live cases sent twice to each runtime (A/A, ``harness.stability``;
# every minimal case is too); how many times a new cause's trigger is
# replayed before it fails the gate (fewer sightings: flaky).
SHRINK_SECONDS: Final = 20.0
# After this many infrastructure failures in a row a target is treated as
# down for the rest of the suite (each would cost a restart or a timeout);
# a probe target stops a batch at that count too, not only between batches.
DEAD_AFTER: Final = 10
# --max-time: how long past a suite's share the engine waits for answers
# still in flight before it interrupts the targets and says it ran out.
DEADLINE_GRACE_S: Final = 2.0
AA_RATE: Final = 0.1
FLAKY_REPLAYS: Final = 3

# Rule coverage (``harness.coverage``): exploration goes on past the budget,
# by at most a half of it, while a rule its suite declares has been
# exercised by fewer than this many cases.
COVERAGE_GOAL: Final = 5

# The longest the engine waits for one answer without a deadline: more
# than any target's own timeouts add up to; past it the harness lost track
# of a request (a bug), which ends the run with exit 2 instead of a hang.
ANSWER_BOUND_S: Final = 300.0

# The live trace tree (CONTRACT §7; ``suites/tracing.py``): the keys the
# harness's Langfuse stand-in accepts from the sample stacks; how long a
# runtime's collector must have been quiet before a session's tree is taken
# as complete (more than the contract's flush bound of one second), and how
# long one tree is waited for at most; how late a slow collector answers
# (below both runtimes' request timeouts, so that a runtime that waits on
# its collector before it answers is seen waiting).
LANGFUSE_PUBLIC_KEY: Final = "pk-lf-parity"
LANGFUSE_SECRET_KEY: Final = "sk-lf-parity"
TREE_QUIET_S: Final = 1.5
TREE_WAIT_S: Final = 10.0
COLLECTOR_SLOW_S: Final = 1.5
# The collector suite's batch: small, so that the events a faulty collector
# holds up in a runtime's queue stay far below any queue's bound.
COLLECTOR_BATCH: Final = 8
