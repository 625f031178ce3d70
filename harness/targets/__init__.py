"""Targets: things that turn a case into an ``Observation``."""

from __future__ import annotations

from harness.targets.base import StreamingTarget, Target
from harness.targets.probe import ProbeTarget

__all__ = ["ProbeTarget", "StreamingTarget", "Target"]
