from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings

from harness.langfuse import LangfuseStandIn
from harness.stacks import StackSpec, build, default_specs
from tests.langfuse_data import KEYS
from tests.oracle import SerdeOracle, build_oracle

REPO = Path(__file__).resolve().parents[1]

# Explicit profiles: CI runs more examples and never depends on timing.
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def serde_oracle() -> Iterator[SerdeOracle]:
    oracle = SerdeOracle(build_oracle())
    yield oracle
    oracle.close()


@pytest.fixture(scope="session")
def real_specs() -> dict[str, StackSpec]:
    """Both sample stacks, built first when stale (a first Rust build takes minutes)."""
    specs = default_specs()
    for spec in specs.values():
        build(spec)
    return specs


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def json_test_suite() -> Path:
    path = Path(__file__).parent / "data" / "JSONTestSuite" / "test_parsing"
    if not path.is_dir():
        raise RuntimeError(f"the JSONTestSuite corpus is missing at {path}")
    return path


@pytest.fixture
def standin() -> Iterator[LangfuseStandIn]:
    with LangfuseStandIn() as lf:
        lf.add_listener("rust", credentials=KEYS)
        lf.add_listener("open")  # no keys: any request passes
        yield lf
        assert lf.handler_errors.count == 0, lf.handler_errors.last_traceback


@pytest.fixture
def lf_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as c:
        yield c
