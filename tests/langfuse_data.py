"""Shared by the Langfuse stand-in's tests: batches as the ingestion API takes
them, and a tree's shape with what differs between transports taken out."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import httpx

from harness.langfuse import Credentials, LangfuseStandIn, Tree, TreeObservation

KEYS = Credentials("pk-lf-test", "sk-lf-test")
NOW = "2026-12-07T10:00:00.000Z"
LATER = "2026-12-07T10:00:01.500Z"
_ids = itertools.count()


def basic(credentials: Credentials = KEYS) -> str:
    token = f"{credentials.public_key}:{credentials.secret_key}".encode()
    return "Basic " + base64.b64encode(token).decode("ascii")


def envelope(kind: str, body: dict[str, Any], *, envelope_id: str | None = None) -> dict[str, Any]:
    return {
        "id": envelope_id or f"env-{next(_ids)}",
        "type": kind,
        "timestamp": NOW,
        "body": body,
    }


def post_batch(
    client: httpx.Client,
    url: str,
    events: list[dict[str, Any]],
    *,
    credentials: Credentials | None = KEYS,
) -> httpx.Response:
    headers = {"Authorization": basic(credentials)} if credentials is not None else {}
    return client.post(url + "/api/public/ingestion", json={"batch": events}, headers=headers)


def session_batch(trace_id: str) -> list[dict[str, Any]]:
    """One session as the batch API carries it: the trace, a root span, a
    generation and a failed generation under it, and a WARNING span."""
    root, chat, failed = f"{trace_id}-root", f"{trace_id}-chat", f"{trace_id}-failed"
    return [
        envelope(
            "trace-create",
            {
                "id": trace_id,
                "name": "iterate",
                "input": {"kind": "playbook", "prompt": "write one"},
                "output": {"done": True},
            },
        ),
        envelope(
            "span-create",
            {
                "id": root,
                "traceId": trace_id,
                "name": "iterate",
                "input": {"kind": "playbook", "prompt": "write one"},
                "output": {"done": True},
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
        envelope(
            "generation-create",
            {
                "id": chat,
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "chat",
                "model": "m-1",
                "modelParameters": {"temperature": 0.2, "max_tokens": 4096},
                "input": [{"role": "user", "content": "write one"}],
                "output": "here it is",
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
        envelope(
            "generation-create",
            {
                "id": failed,
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "chat.failed",
                "model": "m-1",
                "input": [{"role": "user", "content": "again"}],
                "level": "ERROR",
                "statusMessage": "upstream answered 500",
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
        envelope(
            "span-create",
            {
                "id": f"{trace_id}-attempt",
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "iterate.attempt[0]",
                "input": {"iteration": 0, "model": "m-1"},
                "output": {"verdict": "no_json", "raw": "here it is"},
                "level": "WARNING",
                "startTime": NOW,
                "endTime": LATER,
            },
        ),
    ]


def shape(tree: Tree) -> list[tuple[Any, ...]]:
    """What a tree says, whichever transport carried it: each observation by
    its type and name, under its parent's, with its content; ids, times,
    transport and envelopes taken out (times only checked for order)."""
    by_id = {o.id: o for o in tree.observations if o.type != "trace"}
    rows = []
    for o in tree.observations:
        parent = by_id.get(o.parent_id) if o.parent_id else None
        assert o.trace_id == tree.trace_id
        if o.start_time and o.end_time:
            assert o.start_time <= o.end_time, o
        rows.append(
            (
                o.type,
                o.name,
                None if parent is None else (parent.type, parent.name),
                repr(o.input),
                repr(o.output),
                o.level,
                o.model,
                repr(o.model_parameters),
                o.status_message,
            )
        )
    return sorted(rows, key=repr)


def only_tree(standin: LangfuseStandIn, listener: str) -> Tree:
    trees = standin.trees(listener)
    assert len(trees) == 1, list(trees)
    return next(iter(trees.values()))


def by_name(tree: Tree, name: str, kind: str | None = None) -> TreeObservation:
    found = [o for o in tree.observations if o.name == name and (kind is None or o.type == kind)]
    assert len(found) == 1, found
    return found[0]
