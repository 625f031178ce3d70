"""Session logs written by the real sample stacks during a harness run, both
daemons appending to one shared file: the audit finds them clean, and the
README's SQL, run in a plain DuckDB session, finds what the audit finds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from harness.audit import sql
from harness.audit.auditor import audit
from harness.stacks import Stacks, StackSpec, free_port, pid_running

REPO = Path(__file__).resolve().parents[1]
ROSTER = REPO / "fixtures" / "roster.jsonl"


def test_a_run_against_both_stacks_sharing_one_log_is_clean(
    real_specs: dict[str, StackSpec], tmp_path: Path
) -> None:
    shared = tmp_path / "logs" / "sessions.jsonl"
    ports = {name: free_port() for name in real_specs}
    config = tmp_path / "parity.toml"
    config.write_text(
        f'[run]\nroster = "{ROSTER}"\n'
        + "".join(
            f'[targets.{name}]\nurl = "{{url_{name}}}"\nmodel_port = {ports[name]}\n'
            f'session_log = "{shared}"\ndaemon = "{spec.daemon}"\n'
            for name, spec in real_specs.items()
        ),
        encoding="utf-8",
    )
    pids: list[int] = []
    # Each stack's upstream is the port on which the run will serve its scripted model.
    with Stacks(tmp_path / "stacks") as running:
        urls = {}
        for name, spec in real_specs.items():
            process = running.start(
                spec,
                upstream_url=f"http://127.0.0.1:{ports[name]}",
                roster=ROSTER,
                session_log=shared,
                upstream_timeout_ms=2000,
            )
            pids.append(process.pid)
            urls[name] = process.url
        text = config.read_text(encoding="utf-8")
        for name, url in urls.items():
            text = text.replace(f"{{url_{name}}}", url)
        config.write_text(text, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "run",
                "--config",
                str(config),
                "--no-shrink",
                "--max-examples",
                "150",
                "--report-dir",
                str(tmp_path / "report"),
                *(f"--suite={s}" for s in ("iterate", "faults", "sessions")),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    assert not any(pid_running(pid) for pid in pids)

    result = audit([str(shared)])
    document = result.to_json()
    assert result.rows_by_daemon.keys() == {"gateway", "validatord"}
    assert min(result.rows_by_daemon.values()) >= 300
    assert result.clean, json.dumps(document, indent=1)[:4000]
    assert result.parity.compared and len(result.parity.metrics) >= 5

    # The same checks, as the README shows them, in a plain DuckDB session.
    con = duckdb.connect()
    con.execute(sql.sessions_view([str(shared)]))
    assert con.execute("SELECT count(*) FROM sessions").fetchall() == [(result.rows,)]
    for check in sql.CHECKS:
        assert con.sql(check.query).fetchall() == [], check.name
