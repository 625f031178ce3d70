//! The Langfuse trace tree (contract §7) as a collector on 127.0.0.1 sees
//! it: the batch envelope and Basic auth, the tree of a session, the
//! `span_id` on its row, best-effort delivery against a collector that is
//! down, slow, failing or refusing, and the drain on SIGTERM.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use common::{CONSISTENCY, Gateway, Upstream, fill_request};
use rust_gateway::iterate::{no_json_prompt, validation_feedback_prompt};
use rust_gateway::langfuse::{self, FLUSH_INTERVAL, Flusher, LangfuseConfig};
use rust_gateway::session_log::SessionRecord;

const PUBLIC_KEY: &str = "pk-lf-test";
const SECRET_KEY: &str = "sk-lf-test";
/// `Basic base64("pk-lf-test:sk-lf-test")`.
const AUTHORIZATION: &str = "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0";
/// Longest wait for events to arrive.
const DELIVERY_WAIT: Duration = Duration::from_secs(10);

/// How the collector answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// As Langfuse: 207 with every event a success, 401 on wrong credentials.
    Accept,
    ServerError,
    /// 207 with every event reported as an error.
    EventErrors,
    /// Answers as `Accept` after this long.
    Slow(Duration),
    /// Answers as `Accept` once released.
    Hold,
}

#[derive(Debug, Clone)]
struct Received {
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
}

/// A Langfuse stand-in: records every ingestion request it gets.
struct Collector {
    mode: Mutex<Mode>,
    release: watch::Sender<bool>,
    received: Mutex<Vec<Received>>,
}

impl Collector {
    async fn start(mode: Mode) -> (Arc<Self>, String) {
        let collector = Arc::new(Self {
            mode: Mutex::new(mode),
            release: watch::channel(false).0,
            received: Mutex::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/api/public/ingestion", post(ingest))
            .with_state(collector.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (collector, url)
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Every envelope received, in arrival order, each id once.
    fn events(&self) -> Vec<Value> {
        let mut seen = HashSet::new();
        self.received()
            .into_iter()
            .flat_map(|r| r.body["batch"].as_array().cloned().unwrap_or_default())
            .filter(|e| seen.insert(e["id"].as_str().unwrap().to_owned()))
            .collect()
    }

    /// Waits until `count` requests came in.
    async fn wait_requests(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + DELIVERY_WAIT;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the events satisfy `done`, then two flush intervals
    /// more so that an extra event would show.
    async fn settled_events(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + DELIVERY_WAIT;
        while !done(&self.events()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(FLUSH_INTERVAL * 2).await;
        self.events()
    }
}

async fn ingest(State(collector): State<Arc<Collector>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let received = Received {
        path: uri.path().to_owned(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let ids: Vec<Value> = received.body["batch"]
        .as_array()
        .map(|batch| batch.iter().map(|e| e["id"].clone()).collect())
        .unwrap_or_default();
    let authorized = received.authorization.as_deref() == Some(AUTHORIZATION);
    collector.received.lock().unwrap().push(received);

    let mode = *collector.mode.lock().unwrap();
    match mode {
        Mode::ServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "collector down for maintenance").into_response();
        }
        Mode::EventErrors => {
            let errors: Vec<Value> = ids
                .iter()
                .map(|id| json!({"id": id, "status": 400, "message": "Invalid request data", "error": "bad body"}))
                .collect();
            return (
                StatusCode::MULTI_STATUS,
                axum::Json(json!({"successes": [], "errors": errors})),
            )
                .into_response();
        }
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
        Mode::Hold => {
            let mut release = collector.release.subscribe();
            let _ = release.wait_for(|released| *released).await;
        }
        Mode::Accept => {}
    }
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Invalid credentials"})),
        )
            .into_response();
    }
    let successes: Vec<Value> = ids.iter().map(|id| json!({"id": id, "status": 201})).collect();
    (
        StatusCode::MULTI_STATUS,
        axum::Json(json!({"successes": successes, "errors": []})),
    )
        .into_response()
}

/// A gateway that sends its tree to `url`, and its flusher (dropping the
/// flusher would stop it).
async fn traced_gateway(name: &str, upstream: SocketAddr, url: &str, secret: &str) -> (Gateway, Flusher) {
    let (emitter, flusher) = langfuse::start(LangfuseConfig {
        url: url.to_owned(),
        public_key: PUBLIC_KEY.to_owned(),
        secret_key: secret.to_owned(),
    })
    .unwrap();
    (Gateway::start(name, upstream, Some(emitter)).await, flusher)
}

/// The three answers of a session accepted at its third attempt.
fn three_attempts() -> Vec<(StatusCode, String)> {
    vec![
        Upstream::content("I think W-1 would be great!"),
        Upstream::content("```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```"),
        Upstream::content("Sure: {\"fills\": [{\"candidate_id\": \"W-2\"}]}"),
    ]
}

/// An event with its volatile parts gone (envelope and observation ids,
/// times), after checking them: `(type, body)`.
fn stable(event: &Value) -> (String, Value) {
    let envelope = event.as_object().unwrap();
    let mut keys: Vec<&str> = envelope.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["body", "id", "timestamp", "type"], "{event}");
    assert!(!event["id"].as_str().unwrap().is_empty());
    chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().unwrap()).unwrap();
    let kind = event["type"].as_str().unwrap().to_owned();
    let mut body = event["body"].clone();
    let fields = body.as_object_mut().unwrap();
    if kind != "trace-create" {
        assert!(!fields.remove("id").unwrap().as_str().unwrap().is_empty());
        let start =
            chrono::DateTime::parse_from_rfc3339(fields.remove("startTime").unwrap().as_str().unwrap()).unwrap();
        let end = chrono::DateTime::parse_from_rfc3339(fields.remove("endTime").unwrap().as_str().unwrap()).unwrap();
        assert!(start <= end, "{event}");
    }
    (kind, body)
}

fn generation(trace: &str, messages: Value, output: &str) -> (String, Value) {
    (
        "generation-create".to_owned(),
        json!({"traceId": trace, "name": "chat", "model": "mock-1",
               "modelParameters": {"temperature": 0.2, "max_tokens": 4096},
               "input": messages, "output": output}),
    )
}

fn messages(prompt: &str) -> Value {
    json!([
        {"role": "system", "content": "You are a staffing assistant."},
        {"role": "user", "content": prompt},
    ])
}

fn span(trace: &str, iteration: u32, prompt: &str, output: Value, level: &str) -> (String, Value) {
    (
        "span-create".to_owned(),
        json!({"traceId": trace, "name": format!("iterate.attempt[{iteration}]"),
               "input": {"iteration": iteration, "model": "mock-1", "provider": "mock", "prompt": prompt},
               "output": output, "level": level}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_session_is_one_tree_and_its_row_names_the_spans() {
    let (collector, url) = Collector::start(Mode::Accept).await;
    let (_upstream, addr) = Upstream::start(three_attempts()).await;
    let (gateway, _flusher) = traced_gateway("tree", addr, &url, SECRET_KEY).await;

    let (status, _, body) = gateway.post("/v1/iterate", &fill_request(None), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let trace = serde_json::from_str::<Value>(&body).unwrap()["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let events = collector.settled_events(|events| events.len() >= 7).await;

    // The transport: every request a batch to the ingestion path, with
    // Basic auth, JSON, and envelope ids unique across the session.
    for request in collector.received() {
        assert_eq!(request.path, "/api/public/ingestion");
        assert_eq!(request.authorization.as_deref(), Some(AUTHORIZATION));
        assert!(request.content_type.unwrap().starts_with("application/json"));
        assert_eq!(request.body.as_object().unwrap().len(), 1, "only a batch");
    }
    let envelope_ids: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(envelope_ids.len(), events.len());

    let original = "Fill 1 Welder in Toledo, OH.";
    let retry = no_json_prompt(original);
    let fix = validation_feedback_prompt(original, CONSISTENCY);
    let fenced = "```json\n{\"fills\": [{\"candidate_id\": \"W-1\"}]}\n```";
    let accepted = "Sure: {\"fills\": [{\"candidate_id\": \"W-2\"}]}";
    let expected = vec![
        (
            "trace-create".to_owned(),
            json!({"id": trace, "name": "iterate", "input": {"kind": "fill", "prompt": original}}),
        ),
        generation(&trace, messages(original), "I think W-1 would be great!"),
        span(
            &trace,
            0,
            original,
            json!({"verdict": "no_json", "raw": "I think W-1 would be great!"}),
            "WARNING",
        ),
        generation(&trace, messages(&retry), fenced),
        span(
            &trace,
            1,
            &retry,
            json!({"verdict": "validation_failed", "raw": fenced, "error": CONSISTENCY}),
            "WARNING",
        ),
        generation(&trace, messages(&fix), accepted),
        span(
            &trace,
            2,
            &fix,
            json!({"verdict": "accepted", "raw": accepted}),
            "DEFAULT",
        ),
    ];
    let got: Vec<(String, Value)> = events.iter().map(stable).collect();
    assert_eq!(got, expected);

    // The row's attempts name the spans, in order.
    let rows = gateway.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].session_id, trace);
    let span_ids: Vec<Option<&str>> = rows[0].attempts.iter().map(|a| a.span_id.as_deref()).collect();
    let spans: Vec<Option<&str>> = events
        .iter()
        .filter(|e| e["type"] == "span-create")
        .map(|e| e["body"]["id"].as_str())
        .collect();
    assert_eq!(span_ids, spans);
    // Span ids are UUIDs, distinct from the generations' ids.
    let all_ids: HashSet<&str> = events.iter().filter_map(|e| e["body"]["id"].as_str()).collect();
    assert_eq!(all_ids.len(), events.len());
    for id in span_ids.into_iter().flatten() {
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_trace_id_gets_no_trace_create() {
    let (collector, url) = Collector::start(Mode::Accept).await;
    let answer = "{\"fills\": [{\"candidate_id\": \"W-2\"}]}";
    let (_upstream, addr) = Upstream::start(vec![Upstream::content(answer)]).await;
    let (gateway, _flusher) = traced_gateway("caller", addr, &url, SECRET_KEY).await;

    let (status, _, body) = gateway
        .post("/v1/iterate", &fill_request(None), Some("caller-trace-1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = collector.settled_events(|events| events.len() >= 2).await;
    let original = "Fill 1 Welder in Toledo, OH.";
    let got: Vec<(String, Value)> = events.iter().map(stable).collect();
    assert_eq!(
        got,
        vec![
            generation("caller-trace-1", messages(original), answer),
            span(
                "caller-trace-1",
                0,
                original,
                json!({"verdict": "accepted", "raw": answer}),
                "DEFAULT"
            ),
        ]
    );
    assert_eq!(
        gateway.rows()[0].attempts[0].span_id.as_deref(),
        events[1]["body"]["id"].as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_hop_is_an_error_generation_without_a_span() {
    let (collector, url) = Collector::start(Mode::Accept).await;
    let (_upstream, addr) = Upstream::start(vec![
        Upstream::content("no json here"),
        (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_owned()),
    ])
    .await;
    let (gateway, _flusher) = traced_gateway("failed-hop", addr, &url, SECRET_KEY).await;

    let (status, _, body) = gateway.post("/v1/iterate", &fill_request(None), Some("t-fail")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let events = collector.settled_events(|events| events.len() >= 3).await;
    let got: Vec<(String, Value)> = events.iter().map(stable).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    let original = "Fill 1 Welder in Toledo, OH.";
    assert_eq!(got[0], generation("t-fail", messages(original), "no json here"));
    assert_eq!(got[1].1["name"], "iterate.attempt[0]");
    assert_eq!(got[1].1["level"], "WARNING");

    let (kind, mut failed) = got[2].clone();
    assert_eq!(kind, "generation-create");
    let message = failed.as_object_mut().unwrap().remove("statusMessage").unwrap();
    assert!(message.as_str().unwrap().contains("500"), "{message}");
    assert_eq!(
        failed,
        json!({"traceId": "t-fail", "name": "chat", "model": "mock-1",
               "modelParameters": {"temperature": 0.2, "max_tokens": 4096},
               "input": messages(&no_json_prompt(original)), "level": "ERROR"})
    );

    let rows = gateway.rows();
    assert_eq!(rows[0].final_verdict, "infra_error");
    assert_eq!(rows[0].attempts.len(), 1);
    assert_eq!(rows[0].attempts[0].span_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_alone_is_its_own_trace() {
    let (collector, url) = Collector::start(Mode::Accept).await;
    let (_upstream, addr) = Upstream::start(vec![
        Upstream::content("hi back"),
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded".to_owned()),
        Upstream::content("plain"),
    ])
    .await;
    let (gateway, _flusher) = traced_gateway("chat", addr, &url, SECRET_KEY).await;
    let hi = json!([{"role": "user", "content": "hi"}]);
    let chat = json!({"messages": hi, "provider": "p", "model": "m", "temperature": 0.5, "max_tokens": 9}).to_string();

    let (status, _, _) = gateway.post("/v1/chat", &chat, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = gateway.post("/v1/chat", &chat, Some("t-chat")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    // Parameters the request leaves out are left out of the generation.
    let bare = json!({"messages": hi, "model": "m"}).to_string();
    let (status, _, _) = gateway.post("/v1/chat", &bare, Some("t-bare")).await;
    assert_eq!(status, StatusCode::OK);
    // A malformed request is no call: nothing is sent.
    let (status, _, _) = gateway.post("/v1/chat", "{}", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let events = collector.settled_events(|events| events.len() >= 4).await;
    let got: Vec<(String, Value)> = events.iter().map(stable).collect();
    assert_eq!(got.len(), 4, "{got:?}");
    let minted = got[0].1["id"].as_str().unwrap();
    assert!(minted.starts_with("gw-"), "{minted}");
    assert_eq!(
        got[0],
        ("trace-create".to_owned(), json!({"id": minted, "name": "chat"}))
    );
    assert_eq!(
        got[1],
        (
            "generation-create".to_owned(),
            json!({"traceId": minted, "name": "chat", "model": "m",
                   "modelParameters": {"temperature": 0.5, "max_tokens": 9},
                   "input": hi, "output": "hi back"})
        )
    );
    assert_eq!(got[2].1["traceId"], "t-chat");
    assert_eq!(got[2].1["level"], "ERROR");
    assert!(got[2].1["statusMessage"].is_string() && got[2].1.get("output").is_none());
    assert_eq!(
        got[3].1,
        json!({"traceId": "t-bare", "name": "chat", "model": "m", "modelParameters": {},
               "input": hi, "output": "plain"})
    );
}

/// Runs one three-attempt session on a gateway with tracing off and on a
/// gateway tracing to `url`: the answers and rows must be the same, and
/// tracing must not make the answer wait. Returns the traced gateway.
async fn same_as_tracing_off(name: &str, url: &str, secret: &str) -> (Gateway, Flusher) {
    let (_, plain_addr) = Upstream::start(three_attempts()).await;
    let (_, traced_addr) = Upstream::start(three_attempts()).await;
    let plain = Gateway::start(&format!("{name}-off"), plain_addr, None).await;
    let (traced, flusher) = traced_gateway(name, traced_addr, url, secret).await;

    let request = fill_request(None);
    let started = Instant::now();
    let off = plain.post("/v1/iterate", &request, Some("t-best-effort")).await;
    let off_time = started.elapsed();
    let started = Instant::now();
    let on = traced.post("/v1/iterate", &request, Some("t-best-effort")).await;
    let on_time = started.elapsed();

    assert_eq!(on, off, "the answer changed with tracing on");
    assert_eq!(on.0, StatusCode::OK);
    // The collector's client timeout is 2 s: waiting on it would show.
    assert!(
        on_time < off_time + Duration::from_secs(1),
        "tracing on took {on_time:?}, off {off_time:?}"
    );

    let strip = |mut row: SessionRecord| {
        row.timestamp.clear();
        row.duration_ms = 0;
        row
    };
    let off_row = strip(plain.rows().remove(0));
    let mut on_row = strip(traced.rows().remove(0));
    assert!(on_row.attempts.iter().all(|a| a.span_id.is_some()), "{on_row:?}");
    assert!(off_row.attempts.iter().all(|a| a.span_id.is_none()));
    for attempt in &mut on_row.attempts {
        attempt.span_id = None;
    }
    assert_eq!(on_row, off_row);
    (traced, flusher)
}

/// After a fault, the collector answers again: the next session arrives.
async fn recovers(collector: &Collector, gateway: &Gateway) {
    collector.set_mode(Mode::Accept);
    let (status, _, _) = gateway
        .post("/v1/iterate", &fill_request(Some(1)), Some("t-after"))
        .await;
    // The upstream script is used up: "out of script" is no JSON.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let events = collector
        .settled_events(|events| {
            events
                .iter()
                .any(|e| e["body"]["traceId"] == "t-after" && e["type"] == "span-create")
        })
        .await;
    let after: Vec<&Value> = events.iter().filter(|e| e["body"]["traceId"] == "t-after").collect();
    assert_eq!(after.len(), 2, "{after:?}");
}

/// The bodies of the requests, to tell a resent batch from a new one.
fn bodies(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.body.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_changes_nothing() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let _ = same_as_tracing_off("down", &url, SECRET_KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_collector_changes_nothing() {
    let (collector, url) = Collector::start(Mode::Slow(Duration::from_secs(4))).await;
    let (gateway, _flusher) = same_as_tracing_off("slow", &url, SECRET_KEY).await;
    // The batch timed out on the client and went again, envelope ids kept.
    let received = collector.wait_requests(2).await;
    assert!(received.len() >= 2, "{received:?}");
    assert_eq!(received[0].body, received[1].body);
    recovers(&collector, &gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_collector_changes_nothing_and_gets_the_same_batch_again() {
    let (collector, url) = Collector::start(Mode::ServerError).await;
    let (gateway, _flusher) = same_as_tracing_off("5xx", &url, SECRET_KEY).await;
    let received = collector.wait_requests(3).await;
    let sent = bodies(&received);
    assert!(sent.len() >= 3, "{sent:?}");
    assert_eq!(sent[0], sent[1]);
    assert_eq!(sent[1], sent[2]);
    recovers(&collector, &gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_change_nothing_and_are_not_retried() {
    let (collector, url) = Collector::start(Mode::Accept).await;
    let (_gateway, _flusher) = same_as_tracing_off("401", &url, "sk-lf-wrong").await;
    collector.wait_requests(1).await;
    tokio::time::sleep(FLUSH_INTERVAL * 4).await;
    let received = collector.received();
    assert!(!received.is_empty());
    assert!(
        received
            .iter()
            .all(|r| r.authorization.as_deref() != Some(AUTHORIZATION))
    );
    let sent = bodies(&received);
    let distinct: HashSet<&String> = sent.iter().collect();
    assert_eq!(distinct.len(), sent.len(), "a refused batch was sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_event_errors_change_nothing_and_are_not_retried() {
    let (collector, url) = Collector::start(Mode::EventErrors).await;
    let (gateway, _flusher) = same_as_tracing_off("207", &url, SECRET_KEY).await;
    collector.wait_requests(1).await;
    tokio::time::sleep(FLUSH_INTERVAL * 4).await;
    let sent = bodies(&collector.received());
    let distinct: HashSet<&String> = sent.iter().collect();
    assert_eq!(distinct.len(), sent.len(), "a batch taken with errors was sent again");
    recovers(&collector, &gateway).await;
}

// ---- the binary: tracing off, and the drain on SIGTERM ----

const GATEWAY: &str = env!("CARGO_BIN_EXE_gateway");

/// A `gateway` process; its stderr lines are collected as they come.
struct Process {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
}

impl Process {
    fn spawn(name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("rust-gateway-trace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let roster = dir.join("roster.jsonl");
        std::fs::write(&roster, common::ROSTER.trim_start()).unwrap();
        let mut command = Command::new(GATEWAY);
        command
            .args(["--port", "0", "--roster", roster.to_str().unwrap()])
            .args(["--session-log", dir.join("sessions.jsonl").to_str().unwrap()])
            .args(args)
            .stderr(Stdio::piped());
        for var in common::GATEWAY_ENV {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let mut child = command.spawn().unwrap();

        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let lines = stderr.clone();
        let reader = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Some(port) = line.strip_prefix("listening on 127.0.0.1:") {
                    let _ = port_tx.send(port.parse::<u16>().unwrap());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("gateway did not start");
        Self {
            child,
            port,
            stderr,
            dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn rows(&self) -> Vec<SessionRecord> {
        let text = std::fs::read_to_string(self.dir.join("sessions.jsonl")).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit, at most `limit`: whether it succeeded.
    async fn wait(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gateway still running {limit:?} after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An address where nothing listens: every chat hop fails at once.
async fn nowhere() -> String {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    url
}

async fn post_chat(process: &Process, trace: Option<&str>) -> StatusCode {
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(process.url("/v1/chat"))
        .body(r#"{"messages": [{"role": "user", "content": "hi"}], "model": "m"}"#);
    if let Some(trace) = trace {
        request = request.header("x-lakehouse-trace-id", trace);
    }
    request.send().await.unwrap().status()
}

fn traced_args(url: &str) -> Vec<String> {
    ["--langfuse-url", url, "--langfuse-public-key", PUBLIC_KEY]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_queue() {
    let (collector, url) = Collector::start(Mode::Hold).await;
    let upstream = nowhere().await;
    let args = traced_args(&url);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--upstream", &upstream]);
    let mut gateway = Process::spawn("drain", &args, &[("LAKEHOUSE_LANGFUSE_SECRET_KEY", SECRET_KEY)]);

    // The first batch is held by the collector; the next events wait
    // behind it in the queue.
    assert_eq!(post_chat(&gateway, None).await, StatusCode::BAD_GATEWAY);
    assert_eq!(collector.wait_requests(1).await.len(), 1);
    assert_eq!(post_chat(&gateway, Some("t-queued")).await, StatusCode::BAD_GATEWAY);

    gateway.terminate();
    // Long enough for a gateway that does not drain to be gone already,
    // well within the collector client's timeout.
    tokio::time::sleep(Duration::from_millis(300)).await;
    collector.release.send_replace(true);
    assert!(gateway.wait(Duration::from_secs(10)).await, "{}", gateway.stderr());

    let events = collector.events();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            let body = &e["body"];
            (
                e["type"].as_str().unwrap(),
                body["traceId"].as_str().or(body["id"].as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert_eq!(kinds[2], ("generation-create", "t-queued"));
    assert!(
        gateway.stderr().contains("langfuse: 3 events delivered"),
        "{}",
        gateway.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_is_bounded_when_the_collector_hangs() {
    let (collector, url) = Collector::start(Mode::Hold).await;
    let upstream = nowhere().await;
    let args = traced_args(&url);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--upstream", &upstream, "--langfuse-secret-key", SECRET_KEY]);
    let mut gateway = Process::spawn("hang", &args, &[]);

    assert_eq!(post_chat(&gateway, None).await, StatusCode::BAD_GATEWAY);
    assert_eq!(collector.wait_requests(1).await.len(), 1);
    gateway.terminate();
    let stopping = Instant::now();
    assert!(gateway.wait(Duration::from_secs(15)).await, "{}", gateway.stderr());
    let took = stopping.elapsed();
    assert!(
        took < langfuse::DRAIN_BOUND + Duration::from_secs(3),
        "stopping took {took:?}"
    );
    assert!(gateway.stderr().contains("gave up draining"), "{}", gateway.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_off_sends_nothing_and_writes_no_span_id() {
    // A collector nobody is told about: it must hear nothing.
    let (collector, _url) = Collector::start(Mode::Accept).await;
    let answer = "{\"fills\": [{\"candidate_id\": \"W-2\"}]}";
    let (_upstream, addr) = Upstream::start(vec![Upstream::content("none"), Upstream::content(answer)]).await;
    let upstream = format!("http://{addr}");
    // The keys alone do not turn tracing on; an empty URL is off.
    let gateway = Process::spawn(
        "off",
        &["--upstream", &upstream],
        &[
            ("LAKEHOUSE_LANGFUSE_URL", ""),
            ("LAKEHOUSE_LANGFUSE_PUBLIC_KEY", PUBLIC_KEY),
            ("LAKEHOUSE_LANGFUSE_SECRET_KEY", SECRET_KEY),
        ],
    );
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(gateway.url("/v1/iterate"))
        .body(fill_request(None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(post_chat(&gateway, None).await, StatusCode::OK);
    tokio::time::sleep(FLUSH_INTERVAL * 3).await;

    assert!(collector.received().is_empty());
    let rows = gateway.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].attempts.len(), 2);
    assert!(rows[0].attempts.iter().all(|a| a.span_id.is_none()));
    assert!(gateway.stderr().contains("langfuse off"), "{}", gateway.stderr());
}
