"""The stand-in's API for the harness over real sockets: listeners, the bounded
wait, forgetting, and the collector faults (down, slow, 500, 401; for every
request or for some sessions)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from harness.langfuse import CollectorFault, LangfuseStandIn
from harness.langfuse.faults import rule
from tests.langfuse_data import envelope, only_tree, post_batch, session_batch


def test_the_stand_in_must_run_and_names_are_unique() -> None:
    standin = LangfuseStandIn()
    with pytest.raises(RuntimeError, match="not started"):
        standin.add_listener("rust")
    with standin:
        standin.add_listener("rust")
        with pytest.raises(ValueError, match="already exists"):
            standin.add_listener("rust")
    standin.stop()  # idempotent


def test_wait_for_returns_once_the_tree_is_complete(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    events = session_batch("late")
    url = standin.url("rust")

    def deliver() -> None:
        time.sleep(0.3)
        post_batch(lf_http, url, events[:2])
        time.sleep(0.3)
        post_batch(lf_http, url, events[2:])

    sender = threading.Thread(target=deliver)
    sender.start()
    try:
        partial = standin.wait_for("rust", "late", timeout_s=5)
        assert partial.met and partial.tree is not None and len(partial.tree) >= 2
        waited = standin.wait_for("rust", "late", count=5, timeout_s=5)
    finally:
        sender.join()
    assert waited.met and waited.tree is not None and len(waited.tree) == 5
    assert 0.3 <= waited.waited_s < 5
    named = standin.wait_for(
        "rust", "late", predicate=lambda tree: tree.trace is not None, timeout_s=0
    )
    assert named.met


def test_wait_for_is_bounded_and_says_what_it_found(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    nothing = standin.wait_for("rust", "never", timeout_s=0.2)
    assert (nothing.tree, nothing.met) == (None, False)
    assert nothing.waited_s >= 0.2
    post_batch(lf_http, standin.url("rust"), session_batch("short")[:1])
    short = standin.wait_for("rust", "short", count=5, timeout_s=0.2)
    assert not short.met and short.tree is not None and len(short.tree) == 1


def test_forget_drops_a_compared_tree(standin: LangfuseStandIn, lf_http: httpx.Client) -> None:
    post_batch(lf_http, standin.url("rust"), session_batch("gone"))
    standin.forget("rust", "gone")
    assert standin.trees("rust") == {}
    post_batch(lf_http, standin.url("rust"), [envelope("span-create", {"id": "x", "traceId": "t"})])
    assert list(standin.trees("rust")) == ["t"]


def test_an_observation_naming_no_trace_is_kept_under_no_trace(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    post_batch(lf_http, standin.url("rust"), [envelope("span-create", {"id": "lonely"})])
    (observation,) = standin.trees("rust")[""].observations
    assert (observation.id, observation.trace_id) == ("lonely", None)


# -- faults ------------------------------------------------------------------------------


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_down_everywhere_refuses_connections_until_lifted(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    url = standin.url("rust")
    port = int(url.rsplit(":", 1)[1])
    standin.set_fault("rust", CollectorFault.DOWN)
    assert refused(port)
    with pytest.raises(httpx.ConnectError):
        post_batch(lf_http, url, session_batch("a"))
    assert (
        post_batch(lf_http, standin.url("open"), session_batch("a"), credentials=None).status_code
        == 207
    )
    standin.clear_faults("rust")
    assert post_batch(lf_http, url, session_batch("a")).status_code == 207  # the same port again
    assert list(standin.trees("rust")) == ["a"]


def test_down_for_some_sessions_closes_without_an_answer(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    standin.set_fault("rust", "down", sessions=["bad"])
    url = standin.url("rust")
    with pytest.raises(httpx.RemoteProtocolError):
        post_batch(lf_http, url, session_batch("bad"))
    with pytest.raises(httpx.RemoteProtocolError):  # a batch that mixes sessions is one request
        post_batch(lf_http, url, session_batch("good") + session_batch("bad"))
    assert post_batch(lf_http, url, session_batch("good")).status_code == 207
    assert list(standin.trees("rust")) == ["good"]
    faults = [d.fault for d in standin.deliveries("rust")]
    assert faults == ["down", "down", None]


def test_slow_delays_the_answer_then_stores(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    standin.set_fault("rust", CollectorFault.SLOW, sessions=["slow"], delay_s=0.5)
    url = standin.url("rust")
    started = time.monotonic()
    assert post_batch(lf_http, url, session_batch("slow")).status_code == 207
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    assert post_batch(lf_http, url, session_batch("quick")).status_code == 207
    assert time.monotonic() - started < 0.5
    assert set(standin.trees("rust")) == {"slow", "quick"}


@pytest.mark.parametrize(("mode", "status"), [("500", 500), ("401", 401)])
def test_500_and_401_answer_every_request_and_store_nothing(
    standin: LangfuseStandIn, lf_http: httpx.Client, mode: str, status: int
) -> None:
    standin.set_fault("rust", mode)
    response = post_batch(lf_http, standin.url("rust"), session_batch("s"))  # the right keys
    assert response.status_code == status
    assert "collector fault" in response.json()["message"]
    otel = lf_http.post(
        standin.url("rust") + "/api/public/otel/v1/traces",
        content=b"",
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert otel.status_code == status
    assert standin.trees("rust") == {}
    standin.clear_faults("rust")
    assert post_batch(lf_http, standin.url("rust"), session_batch("s")).status_code == 207


def test_a_session_fault_matches_the_seeded_trace_id(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    from harness.langfuse import seeded_trace_id

    standin.set_fault("open", "500", sessions=["session-9"])
    url = standin.url("open")
    seeded = session_batch(seeded_trace_id("session-9"))
    assert post_batch(lf_http, url, seeded, credentials=None).status_code == 500
    assert (
        post_batch(lf_http, url, session_batch("session-10"), credentials=None).status_code == 207
    )


def test_the_first_fault_that_applies_answers(
    standin: LangfuseStandIn, lf_http: httpx.Client
) -> None:
    standin.set_faults("rust", [rule("401", sessions=["a"]), rule("500", sessions=["a", "b"])])
    url = standin.url("rust")
    assert post_batch(lf_http, url, session_batch("a")).status_code == 401
    assert post_batch(lf_http, url, session_batch("b")).status_code == 500
    assert post_batch(lf_http, url, session_batch("c")).status_code == 207


def test_fault_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="delay_s > 0"):
        rule("slow")
    with pytest.raises(ValueError):
        rule("sideways")
    with pytest.raises(ValueError, match=">= 0"):
        rule("500", delay_s=-1)


def test_two_listeners_two_trees(standin: LangfuseStandIn, lf_http: httpx.Client) -> None:
    post_batch(lf_http, standin.url("rust"), session_batch("x"))
    post_batch(lf_http, standin.url("open"), session_batch("x")[:2], credentials=None)
    assert len(only_tree(standin, "rust")) == 5
    assert len(only_tree(standin, "open")) == 2
