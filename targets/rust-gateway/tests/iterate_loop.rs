//! End-to-end tests of the gateway against a tiny in-test upstream: the
//! iterate loop's real HTTP hops, its answers and its session rows.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use rust_gateway::roster::Roster;
use rust_gateway::server::{AppState, Config, router};
use rust_gateway::session_log::SessionRecord;

const ROSTER: &str = r#"
{"candidate_id": "W-1", "name": "Ada Byrd", "city": "Louisville", "state": "KY", "role": "Welder", "available": true}
{"candidate_id": "W-2", "name": "Ben Ortiz", "city": "Toledo", "state": "OH", "role": "Welder", "available": true}
"#;

/// A scripted upstream: answers each chat-completions call with the next
/// `(status, body)` and records what it was sent.
#[derive(Default)]
struct Upstream {
    replies: Mutex<VecDeque<(StatusCode, String)>>,
    seen: Mutex<Vec<(Option<String>, Value)>>,
}

impl Upstream {
    fn content(text: &str) -> (StatusCode, String) {
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]});
        (StatusCode::OK, body.to_string())
    }

    fn seen(&self) -> Vec<(Option<String>, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn completions(State(upstream): State<Arc<Upstream>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let trace = headers
        .get("x-lakehouse-trace-id")
        .map(|v| v.to_str().unwrap().to_owned());
    upstream.seen.lock().unwrap().push((trace, body));
    let (status, body) = upstream
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Upstream::content("out of script"));
    (status, body).into_response()
}

struct Harness {
    base: String,
    upstream: Arc<Upstream>,
    log: PathBuf,
    client: reqwest::Client,
}

impl Harness {
    async fn start(name: &str, replies: Vec<(StatusCode, String)>) -> Self {
        let upstream = Arc::new(Upstream {
            replies: Mutex::new(replies.into()),
            ..Default::default()
        });
        let upstream_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream_listener.local_addr().unwrap();
        let upstream_app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(upstream.clone());
        tokio::spawn(async move { axum::serve(upstream_listener, upstream_app).await.unwrap() });

        let dir = std::env::temp_dir().join(format!("rust-gateway-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = dir.join("sessions.jsonl");

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config {
            upstream: format!("http://{upstream_addr}/"),
            upstream_timeout: Duration::from_secs(5),
            session_log: log.clone(),
            tracer: None,
        };
        let state = AppState::new(config, Roster::parse(ROSTER).unwrap(), port).unwrap();
        tokio::spawn(async move { axum::serve(listener, router(Arc::new(state))).await.unwrap() });

        Self {
            base: format!("http://127.0.0.1:{port}"),
            upstream,
            log,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    async fn post(&self, path: &str, body: &str, trace: Option<&str>) -> (StatusCode, String, String) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(trace) = trace {
            request = request.header("X-LAKEHOUSE-TRACE-ID", trace);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }

    fn rows(&self) -> Vec<SessionRecord> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn fill_request(max_iterations: Option<i64>) -> String {
    let mut body = json!({
        "kind": "fill",
        "prompt": "Fill 1 Welder in Toledo, OH.",
        "provider": "mock",
        "model": "mock-1",
        "system": "You are a staffing assistant.",
        "context": {"target_count": 1, "city": "Toledo", "state": "OH", "role": "Welder"},
    });
    if let Some(n) = max_iterations {
        body["max_iterations"] = json!(n);
    }
    body.to_string()
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
    let consistency = r#"{"kind":"consistency","message":"city 'Louisville' doesn't match contract city 'Toledo'","path":"artifact.fills[0].candidate_id"}"#;
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
