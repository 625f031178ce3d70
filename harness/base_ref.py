"""``parity run --base-ref REF``: the sample stacks as they were at a git
revision, built beside the ones under test, so that the gate can ask whether
a cause the baseline does not know was already there (``gate.py``).

The revision's ``targets/`` is exported with ``git archive`` (no worktree
to clean up, nothing in the user's checkout touched) into
``.parity/base/<tree>``, keyed by the git tree of ``targets/`` so that a
revision is built once. When that tree is the one checked out and unchanged,
the current build serves (same sources, same binaries) and no folder is made.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from harness import stacks
from harness.config import Config
from harness.errors import HarnessError

BASE_DIR: Final = Path(".parity") / "base"


@dataclass(frozen=True)
class BaseRevision:
    ref: str
    commit: str
    tree: str  # the git tree of targets/ at ``commit``
    root: Path  # a folder holding targets/ as it was

    @property
    def name(self) -> str:
        return f"--base-ref {self.ref} ({self.commit[:10]})"


def resolve(repo: Path, ref: str) -> BaseRevision:
    """Export (once) and build the stacks of ``ref``; where they are."""
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", what=ref)
    tree = _git(repo, "rev-parse", f"{commit}:targets", what=f"{ref}:targets")
    if _unchanged(repo, tree):
        root = repo
    else:
        root = repo / BASE_DIR / tree[:16]
        if not (root / "targets").is_dir():
            _export(repo, commit, root)
    base = BaseRevision(ref, commit, tree, root)
    for spec in stacks.default_specs(root / "targets").values():
        stacks.build(spec)
    return base


def config_for(base: BaseRevision, current: Config) -> Config:
    """The embedded default's targets, from ``base``'s build; everything else
    (the roster, the run's folders) as the run under test has it."""
    from harness.runner import default_config

    config = default_config(base.root)
    return replace(config, run=current.run, root=base.root)


def _unchanged(repo: Path, tree: str) -> bool:
    """``targets/`` in the checkout is that tree, with no change on top."""
    head = _git(repo, "rev-parse", "HEAD:targets", what="HEAD:targets")
    dirty = _git(repo, "status", "--porcelain", "--", "targets", what="targets")
    return head == tree and not dirty


def _export(repo: Path, commit: str, root: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit, "targets"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise HarnessError(
            f"--base-ref: git archive failed: {archive.stderr.decode(errors='replace').strip()}"
        )
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # what an interrupted export left
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(partial, filter="data")
    partial.rename(root)


def _git(repo: Path, *argv: str, what: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *argv], capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise HarnessError("--base-ref needs git on PATH") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        reason = detail[-1] if detail else "not a revision of this repository"
        raise HarnessError(f"--base-ref: cannot resolve {what} in {repo}: {reason}")
    return done.stdout.strip()
