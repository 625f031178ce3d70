"""A real Chromium for the page tests, driven by Playwright.

Playwright's own Chromium build when it is installed (``python -m playwright
install chromium``, which ``ensure_chromium.sh`` tries first); otherwise the
operating system's (``PARITY_CHROMIUM``, else ``chromium`` on ``PATH``: Debian's
package), started with the flags a machine without a network needs. Either
way Playwright gives the browser a fresh, empty profile of its own (its
``launch`` makes a temporary ``--user-data-dir`` and removes it on close).

No Chromium at all is a failure with the way to get one, never a skip: these
tests are the only check that the pages work in a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Error, Playwright, sync_playwright

# Without the background-networking flags Chromium keeps trying to reach
# Google's hosts, which a closed network refuses (noise, and slow starts).
SYSTEM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def system_chromium() -> str | None:
    named = os.environ.get("PARITY_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Playwright) -> Browser:
    problems = []
    if Path(playwright.chromium.executable_path).is_file():
        try:
            return playwright.chromium.launch()
        except Error as exc:
            problems.append(
                f"Playwright's own Chromium did not start: {exc.message.splitlines()[0]}"
            )
    executable = system_chromium()
    if executable is None:
        problems.append("no chromium on PATH (PARITY_CHROMIUM names another)")
        pytest.fail(
            "no Chromium for the browser tests: "
            + "; ".join(problems)
            + ". Install one: `python -m playwright install chromium`, or "
            "`apt-get install chromium` (Debian); tox -e browser does this as root.",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=executable, args=list(SYSTEM_FLAGS))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
