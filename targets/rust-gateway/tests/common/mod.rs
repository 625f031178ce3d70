//! What the end-to-end tests share: a scripted chat upstream and an
//! in-process gateway on 127.0.0.1 with its session log.

#![allow(dead_code)] // each test crate uses its own part

use std::collections::VecDeque;
use std::net::SocketAddr;
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

use rust_gateway::langfuse::Emitter;
use rust_gateway::roster::Roster;
use rust_gateway::server::router;
use rust_gateway::session_log::SessionRecord;
use rust_gateway::state::{AppState, Config};

pub const ROSTER: &str = r#"
{"candidate_id": "W-1", "name": "Ada Byrd", "city": "Louisville", "state": "KY", "role": "Welder", "available": true}
{"candidate_id": "W-2", "name": "Ben Ortiz", "city": "Toledo", "state": "OH", "role": "Welder", "available": true}
"#;

/// The environment variables the gateway reads, to clear around a process.
pub const GATEWAY_ENV: [&str; 8] = [
    "LAKEHOUSE_PORT",
    "LAKEHOUSE_UPSTREAM",
    "LAKEHOUSE_ROSTER",
    "LAKEHOUSE_SESSION_LOG",
    "LAKEHOUSE_UPSTREAM_TIMEOUT_MS",
    "LAKEHOUSE_LANGFUSE_URL",
    "LAKEHOUSE_LANGFUSE_PUBLIC_KEY",
    "LAKEHOUSE_LANGFUSE_SECRET_KEY",
];

/// The validator's answer to a fill naming W-1 against a Toledo contract.
pub const CONSISTENCY: &str = r#"{"kind":"consistency","message":"city 'Louisville' doesn't match contract city 'Toledo'","path":"artifact.fills[0].candidate_id"}"#;

/// A scripted upstream: answers each chat-completions call with the next
/// `(status, body)` and records what it was sent.
#[derive(Default)]
pub struct Upstream {
    replies: Mutex<VecDeque<(StatusCode, String)>>,
    seen: Mutex<Vec<(Option<String>, Value)>>,
}

impl Upstream {
    pub fn content(text: &str) -> (StatusCode, String) {
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]});
        (StatusCode::OK, body.to_string())
    }

    /// Serves the script on 127.0.0.1 from the current runtime.
    pub async fn start(replies: Vec<(StatusCode, String)>) -> (Arc<Self>, SocketAddr) {
        let upstream = Arc::new(Self {
            replies: Mutex::new(replies.into()),
            ..Default::default()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(upstream.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (upstream, addr)
    }

    pub fn seen(&self) -> Vec<(Option<String>, Value)> {
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

/// A gateway served in-process, its session log in a scratch folder.
pub struct Gateway {
    pub base: String,
    pub log: PathBuf,
    pub client: reqwest::Client,
}

impl Gateway {
    pub async fn start(name: &str, upstream: SocketAddr, tracer: Option<Emitter>) -> Self {
        let dir = std::env::temp_dir().join(format!("rust-gateway-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = dir.join("sessions.jsonl");

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Config {
            upstream: format!("http://{upstream}/"),
            upstream_timeout: Duration::from_secs(5),
            session_log: log.clone(),
            tracer,
        };
        let state = AppState::new(config, Roster::parse(ROSTER).unwrap(), port).unwrap();
        tokio::spawn(async move { axum::serve(listener, router(Arc::new(state))).await.unwrap() });

        Self {
            base: format!("http://127.0.0.1:{port}"),
            log,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// Posts `body` to `path`: the status, the content type and the body.
    pub async fn post(&self, path: &str, body: &str, trace: Option<&str>) -> (StatusCode, String, String) {
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

    pub fn rows(&self) -> Vec<SessionRecord> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn fill_request(max_iterations: Option<i64>) -> String {
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
