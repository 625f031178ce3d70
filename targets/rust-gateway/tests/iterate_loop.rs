//! End-to-end tests of the gateway against a tiny in-test upstream: the
//! iterate loop's real HTTP hops, its answers and its session rows.

mod common;

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use common::{CONSISTENCY, Gateway, Upstream, fill_request};

/// A gateway with tracing off and its scripted upstream.
struct Harness {
    gateway: Gateway,
    upstream: Arc<Upstream>,
}

impl Harness {
    async fn start(name: &str, replies: Vec<(StatusCode, String)>) -> Self {
        let (upstream, addr): (_, SocketAddr) = Upstream::start(replies).await;
        Self {
            gateway: Gateway::start(name, addr, None).await,
            upstream,
        }
    }
}

impl Deref for Harness {
    type Target = Gateway;

    fn deref(&self) -> &Gateway {
        &self.gateway
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_accepted() {
    let h = Harness::start(
        "accepted",
        vec![
            Upstream::content("I think W-1 would be great!"),
            Upstream::content("```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```"),
            Upstream::content("Sure: {\"fills\": [{\"candidate_id\": \"W-2\", \"note\": \"é\"}]}"),
        ],
    )
    .await;

    let (status, _, body) = h.post("/v1/iterate", &fill_request(None), Some("trace-accepted")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["iterations"], 3);
    assert_eq!(body["trace_id"], "trace-accepted");
    assert_eq!(
        body["artifact"],
        json!({"fills": [{"candidate_id": "W-2", "note": "é"}]})
    );
    assert_eq!(body["validation"], json!({"kind": "fill", "valid": true, "checked": 1}));
    let consistency = CONSISTENCY;
    assert_eq!(
        body["history"],
        json!([
            {"iteration": 0, "raw": "I think W-1 would be great!", "status": {"kind": "no_json"}},
            {"iteration": 1, "raw": "```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```",
             "status": {"kind": "validation_failed", "error": consistency}},
            {"iteration": 2, "raw": "Sure: {\"fills\": [{\"candidate_id\": \"W-2\", \"note\": \"é\"}]}",
             "status": {"kind": "accepted"}},
        ])
    );

    // Every hop carried the trace id; the prompts followed the contract.
    let seen = h.upstream.seen();
    assert_eq!(seen.len(), 3);
    let original = "Fill 1 Welder in Toledo, OH.";
    let expected_prompts = [
        original.to_owned(),
        rust_gateway::iterate::no_json_prompt(original),
        rust_gateway::iterate::validation_feedback_prompt(original, consistency),
    ];
    for ((trace, sent), prompt) in seen.iter().zip(expected_prompts) {
        assert_eq!(trace.as_deref(), Some("trace-accepted"));
        assert_eq!(sent["model"], "mock-1");
        assert_eq!(sent["temperature"], 0.2);
        assert_eq!(sent["max_tokens"], 4096);
        assert_eq!(
            sent["messages"],
            json!([
                {"role": "system", "content": "You are a staffing assistant."},
                {"role": "user", "content": prompt},
            ])
        );
    }

    let rows = h.rows();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.session_id, "trace-accepted");
    assert_eq!(row.final_verdict, "accepted");
    assert_eq!((row.iterations, row.max_iterations), (3, 3));
    assert_eq!(row.grounded_in_roster, Some(true));
    let verdicts: Vec<&str> = row.attempts.iter().map(|a| a.verdict_kind.as_str()).collect();
    assert_eq!(verdicts, ["no_json", "validation_failed", "accepted"]);
    assert_eq!(row.attempts[1].error.as_deref(), Some(consistency));
    // Tracing is off: no attempt names a span.
    assert!(row.attempts.iter().all(|a| a.span_id.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausts_and_mints_a_trace_id() {
    let long = "é".repeat(2500);
    let h = Harness::start(
        "exhausted",
        vec![Upstream::content(&long), Upstream::content("{\"fills\": []}")],
    )
    .await;

    let (status, _, body) = h.post("/v1/iterate", &fill_request(Some(2)), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "max iterations reached (2) without passing validation");
    assert_eq!(body["iterations"], 2);
    assert_eq!(body["history"][0]["raw"].as_str().unwrap().chars().count(), 2000);
    assert_eq!(
        body["history"][1]["status"]["error"],
        r#"{"kind":"count","message":"expected 1 fills, got 0","path":"artifact.fills"}"#
    );
    let trace = body["trace_id"].as_str().unwrap();
    assert!(!trace.is_empty() && trace.len() <= 64);
    assert!(
        trace
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(h.upstream.seen().iter().all(|(t, _)| t.as_deref() == Some(trace)));

    let rows = h.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].session_id, trace);
    assert_eq!(rows[0].final_verdict, "max_iter_exhausted");
    assert_eq!((rows[0].iterations, rows[0].max_iterations), (2, 2));
    assert!(rows[0].artifact.is_none() && rows[0].grounded_in_roster.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failure_is_a_502_and_an_infra_row() {
    let h = Harness::start(
        "infra",
        vec![
            Upstream::content("no json"),
            (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_owned()),
        ],
    )
    .await;

    let (status, content_type, body) = h.post("/v1/iterate", &fill_request(None), Some("t-infra")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(body.starts_with("/v1/chat hop failed at iter 1: "), "{body}");

    let rows = h.rows();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row.final_verdict.as_str(), row.iterations, row.max_iterations),
        ("infra_error", 0, 3)
    );
    assert_eq!(row.attempts.len(), 1);
    assert_eq!(
        (row.attempts[0].iteration, row.attempts[0].verdict_kind.as_str()),
        (0, "infra_error")
    );
    assert_eq!(row.attempts[0].error.as_deref(), Some(body.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_route_and_its_502s() {
    let h = Harness::start(
        "chat",
        vec![
            (
                StatusCode::OK,
                r#"{"choices": [{"message": {"content": null}}]}"#.to_owned(),
            ),
            (StatusCode::OK, "not json".to_owned()),
        ],
    )
    .await;
    let chat = r#"{"messages": [{"role": "user", "content": "hi"}], "provider": "p", "model": "m", "temperature": 0.5, "max_tokens": 9}"#;

    let (status, _, body) = h.post("/v1/chat", chat, Some("t")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":""}}]}"#
    );

    let (status, _, body) = h.post("/v1/chat", chat, None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());

    let sent = h.upstream.seen();
    assert_eq!(sent[0].0.as_deref(), Some("t"));
    assert_eq!(sent[1].0, None);
    assert_eq!(
        sent[0].1,
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, "max_tokens": 9})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_route_and_bad_requests() {
    let h = Harness::start("routes", vec![]).await;

    // Any content type, any body that is not an object: schema error at `$`.
    let response = h
        .client
        .post(format!("{}/v1/validate", h.base))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"kind":"schema","path":"$","message":"$: expected object"}"#
    );

    let response = h.client.post(format!("{}/v1/validate", h.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (status, content_type, body) = h
        .post("/v1/validate", r#"{"kind": "email", "artifact": {"candidate_id": "W-2", "subject": "s", "body": "b"}, "context": {"candidate_id": "W-2"}}"#, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/json"));
    assert_eq!(body, r#"{"kind":"email","valid":true,"checked":1}"#);

    for bad in ["[]", "nope", r#"{"kind": "fill", "prompt": "p", "provider": "p"}"#] {
        let (status, _, body) = h.post("/v1/iterate", bad, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    }
    assert!(h.rows().is_empty(), "a malformed request is not a session");

    let health = h.client.get(format!("{}/health", h.base)).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok","daemon":"gateway"}"#);
}
