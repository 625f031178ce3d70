"""The lakehouse iterate contract, executable.

Pure Python, standard library only. The harness imports this package; this
package never imports the harness.
"""

from __future__ import annotations

from reference_impl.extract import extract_json, fenced_candidates
from reference_impl.jsonmodel import JsonError, dumps, loads

__all__ = ["JsonError", "dumps", "extract_json", "fenced_candidates", "loads"]
