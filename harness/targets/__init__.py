"""Targets: things that turn a case into an ``Observation``."""

from __future__ import annotations

from harness.targets.base import Target
from harness.targets.probe import ProbeTarget
from harness.targets.reference import ReferenceTarget

__all__ = ["ProbeTarget", "ReferenceTarget", "Target"]
