"""Fake probe programs for the engine's own tests (see ``probe.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

FAKE_PROBE: Final = Path(__file__).resolve().parent / "probe.py"
