"""The CLI's error policy: a ``HarnessError`` (config, target, stack
lifecycle) is one line; anything else is a harness bug, shown with its
traceback. Both exit 2, never 0 or 1."""

from __future__ import annotations

import pytest

from harness.cli import reported_errors
from harness.errors import HarnessError
from harness.stacks import StackError


def test_a_stack_error_is_a_harness_error_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert issubclass(StackError, HarnessError)
    with pytest.raises(SystemExit) as exited, reported_errors():
        raise StackError("rust: the build failed")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error: rust: the build failed" in err
    assert "Traceback" not in err


def test_any_other_exception_is_a_harness_bug_with_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited, reported_errors():
        raise RuntimeError("an invariant broke")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "an invariant broke" in err
    assert "a harness bug" in err
