"""``python -m harness.mock_llm --port N [--script FILE | --record FILE --upstream URL]``."""

from __future__ import annotations

import sys

from harness.mock_llm.standalone import main

sys.exit(main())
