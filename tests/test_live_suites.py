"""The live suites: the reference's answers are schema-valid, each comparison
classifies what it should (and ignores only what the contract leaves open),
and a run against the real stacks joins every session to one row per runtime."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import runner, schema_store
from harness.errors import HarnessError
from harness.mock_llm import ScriptedModel
from harness.model import REFERENCE, DivergenceClass, Observation, Session
from harness.stacks import build, default_specs
from harness.strategies import fault_scenarios, iterate_scenarios, validate_requests
from harness.suites.catalog import LiveSuites
from harness.suites.derived import compare_sessions
from harness.suites.live import Instance
from harness.suites.live_compare import compare_iterate, compare_validate
from reference_impl.jsonmodel import dumps
from reference_impl.roster import load_roster
from tests.procs import processes_mentioning

REPO = Path(__file__).resolve().parents[1]
ROSTER = load_roster(REPO / "fixtures" / "roster.jsonl")
JSON = {"content-type": "application/json"}
PLAIN = {"content-type": "text/plain; charset=utf-8"}


def live() -> LiveSuites:
    return LiveSuites(ScriptedModel(), ROSTER, upstream_timeout_s=2.0)


def reference_answer(suites: LiveSuites, case: dict[str, Any]) -> tuple[Instance, Observation]:
    suite = suites.suites["iterate"]
    with suite.executions([case]) as (instance,):
        answer = suite.reference(instance)
    assert isinstance(instance, Instance)
    return instance, answer


# -- the reference's own answers are what the schemas say ------------------------------

ITERATE_SCHEMAS = {200: "iterate-success", 422: "iterate-failure", 502: None}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(iterate_scenarios(), fault_scenarios()))
def test_reference_iterate_answers_and_rows_are_schema_valid(case: dict[str, Any]) -> None:
    suites = live()
    instance, answer = reference_answer(suites, case)
    assert answer.status in ITERATE_SCHEMAS, answer.text
    schema = ITERATE_SCHEMAS[answer.status or 0]
    if schema is None:
        assert (answer.text or "").startswith("/v1/chat hop failed at iter ")
    else:
        body = json.loads(answer.text or "")
        assert schema_store.errors(schema, body) == []
        assert body["iterations"] == len(body["history"])
    assert answer.session is not None
    row = answer.session.row
    assert schema_store.errors("session-record", row) == [], row
    assert row["prompt"].startswith(f"[parity-case:{instance.session}] ")
    assert schema_store.errors("iterate-request", case["request"]) == []


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(validate_requests())
def test_reference_validate_answers_are_schema_valid(case: dict[str, str]) -> None:
    answer = live().suites["validate"].reference(case)
    assert isinstance(answer, Observation)
    schema = {200: "validate-report", 422: "validate-error"}[answer.status or 0]
    assert schema_store.errors(schema, json.loads(answer.text or "")) == []


def test_each_execution_is_a_fresh_session() -> None:
    suites = live()
    case = {"id": "i1", "request": {"kind": "playbook", "prompt": "p", "provider": "x",
            "model": "m"}, "trace": "t-", "header": "x-lakehouse-trace-id",
            "replies": ["no"]}  # fmt: skip
    first, second = suites.instance(case), suites.instance(case)
    assert first.session != second.session
    assert first.trace == "t-" + first.session
    assert first.headers["x-lakehouse-trace-id"] == first.trace
    assert json.loads(first.text)["prompt"] == f"[parity-case:{first.session}] p"
    minted = suites.instance({**case, "trace": ""})
    assert minted.trace is None and minted.headers["x-lakehouse-trace-id"] == ""
    # A reduced case may lose any field; it still makes a (malformed) request.
    odd = suites.instance({"request": "not an object"})
    assert odd.text == '"not an object"' and odd.trace is None


@pytest.mark.parametrize(
    ("replies", "says"),
    [
        ([{"fault": "nonsense"}], "replies[0] is not a script entry"),
        (["ok", {"text": 3}], "replies[1] is not a script entry"),
        ("one string", "a list of script entries"),
    ],
)
def test_a_script_entry_that_does_not_parse_is_an_error_not_another_session(
    replies: object, says: str
) -> None:
    """A hand-edited reproducer with a broken reply must not replay another
    session (an empty reply) and let ``parity repro`` call it fixed."""
    case = {"id": "i1", "request": {"kind": "playbook", "prompt": "p", "provider": "x",
            "model": "m"}, "replies": replies}  # fmt: skip
    with pytest.raises(HarnessError, match=re.escape(says)):
        live().instance(case)


# -- comparisons -----------------------------------------------------------------------


def obs(
    text: str | None,
    status: int | None = 200,
    *,
    target: str = "rust",
    headers: dict[str, str] | None = None,
    upstream: list[Any] | None = None,
) -> Observation:
    session = Session("s1", model_calls=tuple(upstream)) if upstream is not None else None
    headers = JSON if headers is None else headers
    return Observation(target, text, status=status, headers=headers, session=session)


def ref(
    body: Any, status: int = 200, *, minted: bool = False, upstream: list[Any] | None = None
) -> Observation:
    text = body if isinstance(body, str) else dumps(body)
    calls = tuple(upstream) if upstream is not None else None
    session = Session("s1", model_calls=calls, minted=minted)
    return Observation(REFERENCE, text, status=status, session=session)


SUCCESS = {
    "artifact": {"title": "T", "steps": ["a"]},
    "validation": {"checked": 1, "kind": "playbook", "valid": True},
    "iterations": 1,
    "history": [{"iteration": 0, "raw": '{"title":"T","steps":["a"]}',
                 "status": {"kind": "accepted"}}],
    "trace_id": "ref-abc",
}  # fmt: skip
ERROR_TEXT = '{"kind":"schema","message":"artifact.title: expected non-empty string <&>","path":"artifact.title"}'  # noqa: E501
FAILURE = {
    "error": "max iterations reached (1) without passing validation",
    "iterations": 1,
    "history": [{"iteration": 0, "raw": "{}",
                 "status": {"kind": "validation_failed", "error": ERROR_TEXT}}],
    "trace_id": "t-1",
}  # fmt: skip


def classes(found: tuple[Any, ...]) -> list[tuple[str, str]]:
    return [(str(d.cls), d.path) for d in found]


def test_iterate_identical_bodies_and_minted_ids_of_the_right_shape_agree() -> None:
    reference = ref(SUCCESS, minted=True)
    same = dict(SUCCESS, trace_id="gw-0123abcd")
    assert compare_iterate(reference, obs(json.dumps(same, separators=(",", ":")))) == ()
    assert compare_iterate(reference, obs(dumps(same))) == ()
    bad = dict(SUCCESS, trace_id="not a valid id!")
    assert classes(compare_iterate(reference, obs(dumps(bad)))) == [("value", "$.trace_id")]


def test_iterate_a_sent_trace_id_is_compared_by_value() -> None:
    reference = ref(FAILURE, 422, minted=False)
    echoed = dict(FAILURE, trace_id="t-2")
    assert classes(compare_iterate(reference, obs(dumps(echoed), 422))) == [("value", "$.trace_id")]


def test_iterate_go_bytes_are_encoding_only() -> None:
    reference = ref(FAILURE, 422, minted=False)
    escaped = dumps(FAILURE).replace("<", "\\u003c").replace(">", "\\u003e")
    assert classes(compare_iterate(reference, obs(dumps(FAILURE) + "\n", 422))) == [
        ("encoding_only", "$")
    ]
    found = compare_iterate(reference, obs(escaped + "\n", 422))
    assert found and all(d.cls is DivergenceClass.ENCODING_ONLY for d in found)


def test_iterate_status_schema_and_content_type() -> None:
    reference = ref(SUCCESS, minted=False)
    assert classes(compare_iterate(reference, obs(dumps(FAILURE), 422))) == [("status", "$")]
    extra = dict(SUCCESS, surprise=1)
    found = classes(compare_iterate(reference, obs(dumps(extra))))
    assert ("schema", "$") in found and ("extra_field", "$.surprise") in found
    assert classes(compare_iterate(reference, obs("<html>", 200))) == [("schema", "$")]
    wrong_type = obs(dumps(SUCCESS), headers={"content-type": "text/html"})
    assert classes(compare_iterate(reference, wrong_type)) == [("value", "$<content-type>")]


def test_iterate_502_prefix_is_exact_and_detail_free() -> None:
    reference = ref("/v1/chat hop failed at iter 1: upstream returned 500", 502)
    same = obs("/v1/chat hop failed at iter 1: chat status 502: {...}", 502, headers=PLAIN)
    assert compare_iterate(reference, same) == ()
    other = obs("/v1/chat hop failed at iter 0: boom", 502, headers=PLAIN)
    assert classes(compare_iterate(reference, other)) == [("value", "$")]
    as_json = obs("/v1/chat hop failed at iter 1: boom", 502)
    assert classes(compare_iterate(reference, as_json)) == [("value", "$<content-type>")]


def test_iterate_400_message_is_free_but_its_shape_is_not() -> None:
    reference = ref({"error": "missing field `kind`"}, 400)
    assert compare_iterate(reference, obs('{"error":"kind must be a string"}', 400)) == ()
    assert classes(compare_iterate(reference, obs('{"error":5}', 400))) == [
        ("schema", "$.error"),
        ("type", "$.error"),
    ]


def call(content: str, temperature: float | int = 0.2) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}],
            "temperature": temperature, "max_tokens": 4096}  # fmt: skip


def test_iterate_model_calls_are_compared_call_by_call() -> None:
    retry = (
        "p\n\nPrior attempt failed validation:\n"
        + ERROR_TEXT
        + ("\n\nFix the specific issue above and respond with a corrected JSON object.")
    )
    expected = [call("p"), call(retry)]
    reference = ref(FAILURE, 422, upstream=expected)
    escaped = retry.replace("<", "\\u003c").replace(">", "\\u003e")
    assert (
        compare_iterate(reference, obs(dumps(FAILURE), 422, upstream=[call("p"), call(escaped)]))
        == ()
    )
    integer = [call("p"), call(retry, temperature=0)]
    reference = ref(FAILURE, 422, upstream=[call("p"), call(retry, temperature=0.0)])
    assert classes(compare_iterate(reference, obs(dumps(FAILURE), 422, upstream=integer))) == [
        ("number_type", "$.model_calls[1].temperature")
    ]
    fewer = obs(dumps(FAILURE), 422, upstream=[call("p")])
    assert classes(compare_iterate(reference, fewer)) == [("value", "$.model_calls")]
    reference = ref(FAILURE, 422, upstream=expected)
    wrong = [call("p"), call("p\n\nPrior attempt failed validation:\n{}\n\nFix it.")]
    found = classes(compare_iterate(reference, obs(dumps(FAILURE), 422, upstream=wrong)))
    assert found == [("type", "$.model_calls[1].messages[0].content")]


def test_validate_comparison() -> None:
    body = {"kind": "phantom", "path": "artifact.fills[0].candidate_id",
            "message": "candidate 'W-99' is not in the roster"}  # fmt: skip
    reference = ref(body, 422)
    assert compare_validate(reference, obs(dumps(body), 422)) == ()
    assert classes(compare_validate(reference, obs(dumps(body) + "\n", 422))) == [
        ("encoding_only", "$")
    ]
    report = {"kind": "fill", "valid": True, "checked": 1}
    assert classes(compare_validate(reference, obs(dumps(report), 200))) == [("status", "$")]
    wrong = dict(body, kind="ghost")
    assert classes(compare_validate(reference, obs(dumps(wrong), 422))) == [
        ("schema", "$.kind"),
        ("value", "$.kind"),
    ]


ROW = {
    "schema": "session.iterate.v1", "session_id": "ref-s1", "timestamp": "2026-01-01T00:00:00Z",
    "daemon": "gateway", "kind": "playbook", "model": "m", "provider": "p",
    "prompt": "[parity-case:s1] p", "iterations": 0, "max_iterations": 3,
    "final_verdict": "infra_error",
    "attempts": [{"iteration": 0, "verdict_kind": "infra_error",
                  "error": "/v1/chat hop failed at iter 0: upstream returned 500"}],
    "duration_ms": 3,
}  # fmt: skip


def session_ref(row: dict[str, Any], answered: dict[str, Any], minted: bool = True) -> Observation:
    session = Session("s1", minted=minted, answers=answered)
    return Observation(REFERENCE, dumps(row), session=session)


def row_obs(*rows: dict[str, Any], target: str = "go") -> Observation:
    text = "\n".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in rows)
    return Observation(target, text, log="/logs/go.jsonl")


def test_sessions_rows_compare_without_volatile_fields_and_free_infra_detail() -> None:
    body = "/v1/chat hop failed at iter 0: chat status 502: EOF"
    reference = session_ref(ROW, {"go": {"body502": body}})
    theirs = dict(ROW, session_id="0f3a", daemon="validatord", duration_ms=9,
                  timestamp="2026-01-01T00:00:01.5Z",
                  attempts=[dict(ROW["attempts"][0], error=body)])  # fmt: skip
    assert compare_sessions(reference, row_obs(theirs)) == ()
    other_body = session_ref(ROW, {"go": {"body502": body + "!"}})
    assert classes(compare_sessions(other_body, row_obs(theirs))) == [
        ("value", "$.attempts[0].error")
    ]
    wrong_iter = dict(
        theirs, attempts=[dict(ROW["attempts"][0], error="/v1/chat hop failed at iter 1: x")]
    )
    assert ("value", "$.attempts[0].error") in classes(
        compare_sessions(session_ref(ROW, {"go": {}}), row_obs(wrong_iter))
    )


def test_sessions_one_row_per_session() -> None:
    reference = session_ref(ROW, {"go": {}})
    [missing] = compare_sessions(reference, Observation("go", "", log="/l"))
    assert (missing.cls, missing.path) == (DivergenceClass.MISSING_FIELD, "$")
    assert "no row for session s1 in /l" in missing.note
    found = compare_sessions(reference, row_obs(ROW, ROW))
    assert classes(found) == [("extra_field", "$")]
    assert "2 rows for session s1" in found[0].note
    # A runtime that never answered the session (its request failed) is not joined.
    assert compare_sessions(session_ref(ROW, {}), Observation("go", "")) == ()


def test_sessions_schema_and_echo() -> None:
    reference = session_ref(ROW, {"go": {"trace_id": "abc"}})
    assert classes(compare_sessions(reference, row_obs(dict(ROW, session_id="xyz")))) == [
        ("value", "$.session_id")
    ]
    bad = dict(ROW, session_id="abc", daemon="python", timestamp="yesterday")
    found = classes(compare_sessions(reference, row_obs(bad)))
    assert ("schema", "$.daemon") in found and ("schema", "$.timestamp") in found
    sent = session_ref(dict(ROW, session_id="t-s1"), {"go": {}}, minted=False)
    assert classes(compare_sessions(sent, row_obs(dict(ROW, session_id="t-s2")))) == [
        ("value", "$.session_id")
    ]
    assert classes(compare_sessions(sent, row_obs(dict(ROW, session_id="t-s1")))) == []


# -- against the real stacks -----------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> None:
    for spec in default_specs().values():
        build(spec)


def test_a_live_run_joins_every_session_to_one_row_per_runtime(built: None, tmp_path: Path) -> None:
    report = tmp_path / "report"
    options = runner.RunOptions(
        suites=("validate", "iterate", "faults", "sessions"),
        max_examples=60,
        report_dir=report,
        shrink=False,
    )
    summary, paths = runner.run(runner.default_config(), options)
    by_suite = {suite.suite: suite for suite in summary.suites}
    assert list(by_suite) == ["validate", "iterate", "faults", "sessions"]
    assert all(suite.errors == [] for suite in summary.suites), [
        f.failure.message for s in summary.suites for f in s.errors
    ]
    for name in ("validate", "iterate", "faults"):
        # The budget explored; the example database may add replays first.
        assert by_suite[name].explored == 60 and by_suite[name].cases >= 60
    sessions = by_suite["iterate"].cases + by_suite["faults"].cases
    assert by_suite["sessions"].cases == sessions
    assert summary.exit_code in (0, 1)
    # Every session wrote exactly one row in each runtime's own log: those of
    # the run, those asked a second time (A/A), and those that grouping
    # findings into causes ran again.
    again = sum(
        by_suite[name].replayed + by_suite[name].aa_pairs + by_suite[name].settled
        for name in ("iterate", "faults")
    )
    for name in ("rust", "go"):
        log = report / "sessions" / f"{name}.jsonl"
        rows = log.read_text(encoding="utf-8").rstrip("\n").split("\n")  # not splitlines: U+2028
        assert len(rows) == sessions + again
        assert (report / "stacks" / f"{name}.log").is_file()
    assert processes_mentioning(str(report)) == []
    assert paths["json"].is_file()


def deployment_config(tmp_path: Path, urls: dict[str, str], ports: dict[str, int],
                      daemons: dict[str, str | None]) -> Path:  # fmt: skip
    lines = ['[run]\nreport_dir = "report"\n']
    for name in ("rust", "go"):
        lines.append(
            f'[targets.{name}]\nurl = "{urls[name]}"\nmodel_port = {ports[name]}\n'
            'session_log = "deploy/sessions.jsonl"\nconcurrency = 4\ntimeout_s = 20\n'
        )
        if daemons[name]:
            lines.append(f'daemon = "{daemons[name]}"\n')
    path = tmp_path / "parity.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_a_configured_deployment_is_driven_through_its_url(built: None, tmp_path: Path) -> None:
    """A deployment the harness did not start: its provider points at the
    model the harness serves on ``model_port``; both share one session log."""
    from harness import config
    from harness.stacks import Stacks, free_port

    ports = {name: free_port() for name in ("rust", "go")}
    shared = tmp_path / "deploy" / "sessions.jsonl"
    with Stacks(tmp_path / "deploy") as running:
        urls = {
            name: running.start(
                spec,
                upstream_url=f"http://127.0.0.1:{ports[name]}",
                roster=REPO / "fixtures" / "roster.jsonl",
                session_log=shared,
                upstream_timeout_ms=2000,
            ).url
            for name, spec in default_specs().items()
        }
        unnamed = deployment_config(tmp_path, urls, ports, {"rust": "gateway", "go": None})
        with pytest.raises(HarnessError, match=r"set `daemon`.* for go"):
            runner.run(config.load(unnamed), runner.RunOptions(max_examples=1))
        path = deployment_config(tmp_path, urls, ports, {"rust": "gateway", "go": "validatord"})
        summary, _ = runner.run(config.load(path), runner.RunOptions(max_examples=40, shrink=False))
    by_suite = {suite.suite: suite.cases for suite in summary.suites}
    for suite in summary.suites:
        if suite.suite != "sessions":
            # The budget, and past it while a declared rule was still rare.
            assert suite.explored == 40 and suite.cases == 40 + suite.steered, suite
    assert by_suite["sessions"] == by_suite["iterate"] + by_suite["faults"]
    seconds = sum(
        suite.aa_pairs + suite.settled for suite in summary.suites if suite.suite != "validate"
    )
    assert [f.failure.message for s in summary.suites for f in s.errors] == []
    assert (tmp_path / "report" / "report.json").is_file()
    rows = [json.loads(r) for r in shared.read_text(encoding="utf-8").rstrip("\n").split("\n")]
    # One row per session and runtime, in one file: the sessions of the two
    # suites, and those that grouping findings into causes ran again.
    again = sum(suite.replayed for suite in summary.suites if suite.suite in {"iterate", "faults"})
    again += seconds  # the sessions asked a second time (A/A)
    sessions = by_suite["sessions"]
    expected = {"gateway": sessions + again, "validatord": sessions + again}
    assert Counter(row["daemon"] for row in rows) == expected
    assert len({(row["session_id"], row["daemon"]) for row in rows}) == len(rows)


def test_the_sessions_suite_brings_the_sessions_it_checks() -> None:
    names = runner.choose_suite_names(runner.default_config(), ["sessions"])
    assert names == ["iterate", "faults", "collector_faults", "sessions"]
    assert runner.choose_suite_names(runner.default_config(), ["sessions", "faults"]) == [
        "faults",
        "sessions",
    ]
