"""The engine (``engine.py``), its passes (``passes.py``, ``attribute.py``),
the Checker every pass checks cases through (``checker.py``), and the
Hypothesis plumbing (``drawing.py``)."""

from harness.defaults import DEAD_AFTER
from harness.engine.checker import AAPolicy, Checker, Listener
from harness.engine.engine import BaseRuntimes, Engine, exit_code
from harness.engine.settings import EngineSettings
from harness.engine.state import StopReason

__all__ = [
    "DEAD_AFTER",
    "AAPolicy",
    "BaseRuntimes",
    "Checker",
    "Engine",
    "EngineSettings",
    "Listener",
    "StopReason",
    "exit_code",
]
