"""What a run of the engine is asked to do: its budget, seed, database,
time bound, and the gate's policy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from harness import defaults


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    profile: str = defaults.PROFILE
    max_examples: int | None = None  # cases per suite; the profile's when None
    seed: int | None = None
    database: Path | None = None  # None: no example database
    batch_size: int | None = None  # cases per Hypothesis example; the suite's when None
    shrink: bool = True
    shrink_seconds: float = defaults.SHRINK_SECONDS  # per suite, at most
    max_time_s: float | None = None  # bounds the whole run, shared between the suites
    aa_rate: float = defaults.AA_RATE  # explored live cases sent twice (A/A)
    flaky_replays: int = defaults.FLAKY_REPLAYS  # replays of a new cause's trigger
    fail_on_flaky: bool = False
    fail_on_unstable: bool = True
    shard: tuple[int, int] | None = None  # (i, n): this run explores part i of n
    coverage_goal: int = defaults.COVERAGE_GOAL  # explore on while a rule has fewer cases
    min_rule_cases: int | None = None  # a rule below it fails the run (exit 2)

    def __post_init__(self) -> None:
        if self.profile not in defaults.PROFILES:
            names = ", ".join(defaults.PROFILES)
            raise ValueError(f"profile must be one of {names}, not {self.profile!r}")
        if self.max_examples is not None and self.max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        if self.batch_size is not None and not 1 <= self.batch_size <= 256:
            raise ValueError("batch_size must be between 1 and 256")
        if self.max_time_s is not None and not (
            math.isfinite(self.max_time_s) and self.max_time_s > 0
        ):
            raise ValueError("max_time_s must be a positive number of seconds")
        if not 0.0 <= self.aa_rate <= 1.0:
            raise ValueError("aa_rate must be between 0 and 1")
        if self.flaky_replays < 1:
            raise ValueError("flaky_replays must be at least 1")
        if self.coverage_goal < 0 or (self.min_rule_cases or 0) < 0:
            raise ValueError("coverage_goal and min_rule_cases must be at least 0")
        if self.shard is not None:
            index, count = self.shard
            if not 1 <= index <= count:
                raise ValueError(f"shard must be i/n with 1 <= i <= n, not {index}/{count}")

    @property
    def budget(self) -> int:
        """Cases this run explores per suite (its shard's part of the budget)."""
        whole = self.max_examples or defaults.PROFILES[self.profile]
        if self.shard is None:
            return whole
        index, count = self.shard
        return whole // count + (1 if index <= whole % count else 0)

    @property
    def goal(self) -> int:
        """How many cases each declared rule should have before exploring stops."""
        return max(self.coverage_goal, self.min_rule_cases or 0)

    @property
    def explore_seed(self) -> int | None:
        """The seed exploration draws with: a shard's own, derived from the
        run's, so that shards draw different cases."""
        if self.seed is None or self.shard is None:
            return self.seed
        index, count = self.shard
        return (self.seed * 1_000_003 + index * 7919 + count) % 2**32
