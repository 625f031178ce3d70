"""lakehouse-parity: a cross-runtime parity harness for the lakehouse iterate stack."""

from __future__ import annotations

__version__ = "0.1.0"
