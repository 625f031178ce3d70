//! `POST /v1/iterate`: the generate → validate → retry loop (contract §2,
//! decisions §3).
//!
//! Both steps of an attempt are real HTTP hops to this gateway's own
//! `/v1/chat` and `/v1/validate`, carrying the session's trace id.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::extract_json;
use crate::langfuse::{Event, Level, SpanBody, TraceBody, new_id, rfc3339};
use crate::roster::Roster;
use crate::session_log::{
    MAX_INFRA_ERROR_CHARS, MAX_PROMPT_CHARS, SESSION_RECORD_SCHEMA, SessionAttemptRecord, SessionRecord, utc_timestamp,
};
use crate::state::{AppState, SharedState};
use crate::text::{error_chain, truncate_chars};
use crate::wire::{ChatMessage, ChatRequest, error_response, reply_content};
use crate::{DAEMON_NAME, TRACE_ID_HEADER};

pub const DEFAULT_MAX_ITERATIONS: u32 = 3;
pub const DEFAULT_TEMPERATURE: f64 = 0.2;
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Longest model text kept in a history entry, in characters.
pub const MAX_RAW_CHARS: usize = 2000;

pub const NO_JSON_FEEDBACK: &str = "\n\nYour previous attempt did not contain a JSON object. Reply with ONLY a valid JSON object matching the requested artifact shape.";

/// The retry prompt after a failed validation.
pub fn validation_feedback_prompt(original: &str, error: &str) -> String {
    format!(
        "{original}\n\nPrior attempt failed validation:\n{error}\n\nFix the specific issue above and respond with a corrected JSON object."
    )
}

/// The retry prompt after an answer without a JSON object.
pub fn no_json_prompt(original: &str) -> String {
    format!("{original}{NO_JSON_FEEDBACK}")
}

/// The `/v1/iterate` request body.
#[derive(Debug, Clone, Deserialize)]
pub struct IterateRequest {
    pub kind: String,
    pub prompt: String,
    pub provider: String,
    pub model: String,
    pub system: Option<String>,
    pub context: Option<Value>,
    pub max_iterations: Option<u32>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

impl IterateRequest {
    /// Parses a request body. It must be a JSON object with string `kind`,
    /// `prompt`, `provider` and `model`; the message says what is wrong.
    pub fn from_body(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"))?;
        // Checked first: serde's derive would also take a JSON array.
        if !value.is_object() {
            return Err("request body must be a JSON object".to_owned());
        }
        Self::deserialize(value).map_err(|e| format!("invalid iterate request: {e}"))
    }

    /// `max_iterations` after the default and the clamp to at least 1.
    pub fn effective_max_iterations(&self) -> u32 {
        self.max_iterations.unwrap_or(DEFAULT_MAX_ITERATIONS).max(1)
    }
}

/// One entry of `history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub iteration: u32,
    pub raw: String,
    pub status: AttemptStatus,
    /// The attempt's span in the trace tree, when tracing is on; it goes
    /// to the session row, not to the response.
    #[serde(skip)]
    pub span_id: Option<String>,
}

/// `{"kind": "no_json"}`, `{"kind": "validation_failed", "error": "..."}`
/// or `{"kind": "accepted"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptStatus {
    NoJson,
    ValidationFailed { error: String },
    Accepted,
}

impl AttemptStatus {
    fn verdict_kind(&self) -> &'static str {
        match self {
            Self::NoJson => "no_json",
            Self::ValidationFailed { .. } => "validation_failed",
            Self::Accepted => "accepted",
        }
    }

    fn error(&self) -> Option<&str> {
        match self {
            Self::ValidationFailed { error } => Some(error),
            Self::NoJson | Self::Accepted => None,
        }
    }
}

/// 200: the accepted artifact.
#[derive(Debug, Serialize)]
pub struct IterateResponse {
    pub artifact: Value,
    pub validation: Value,
    pub iterations: u32,
    pub history: Vec<HistoryEntry>,
    pub trace_id: String,
}

/// 422: no attempt passed validation.
#[derive(Debug, Serialize)]
pub struct IterateFailure {
    pub error: String,
    pub iterations: u32,
    pub history: Vec<HistoryEntry>,
    pub trace_id: String,
}

/// How a session ended.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        artifact: Value,
        validation: Value,
        history: Vec<HistoryEntry>,
    },
    Exhausted {
        history: Vec<HistoryEntry>,
    },
    /// A chat hop failed; `body` is the plain-text 502 body.
    InfraError {
        body: String,
    },
}

/// The session's trace id: the caller's header when non-empty, else a
/// freshly minted one.
#[derive(Debug, Clone)]
pub struct Trace {
    pub id: String,
    /// The header value forwarded on every hop, byte for byte.
    header: HeaderValue,
    /// True when this runtime made the id up (no usable header): the trace
    /// is then this runtime's to create.
    pub minted: bool,
}

impl Trace {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        match headers.get(TRACE_ID_HEADER).filter(|v| !v.is_empty()) {
            Some(value) => Self {
                id: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                header: value.clone(),
                minted: false,
            },
            None => Self::mint(),
        }
    }

    pub fn mint() -> Self {
        let id = mint_trace_id();
        let header = HeaderValue::from_str(&id).expect("minted ids are visible ASCII");
        Self {
            id,
            header,
            minted: true,
        }
    }
}

/// A new trace id: `gw-` and 32 hex digits (time and a random part), well
/// within the `[0-9A-Za-z_-]{1,64}` shape.
pub fn mint_trace_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // A fresh RandomState carries random keys: enough entropy for an id
    // that only has to be unique, not secret.
    let random = RandomState::new().hash_one((nanos, COUNTER.fetch_add(1, Ordering::Relaxed), std::process::id()));
    format!("gw-{nanos:016x}{random:016x}")
}

/// `POST /v1/iterate`.
pub async fn handler(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match IterateRequest::from_body(&body) {
        Ok(request) => request,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, message),
    };
    let trace = Trace::from_headers(&headers);
    let started = Instant::now();
    if let Some(tracer) = state.tracer.as_ref().filter(|_| trace.minted) {
        tracer.emit(Event::TraceCreate(TraceBody {
            id: trace.id.clone(),
            name: "iterate".to_owned(),
            input: Some(serde_json::json!({"kind": request.kind, "prompt": request.prompt})),
        }));
    }
    let outcome = run(&state, &request, &trace).await;
    let record = session_record(
        &request,
        &trace.id,
        &outcome,
        &state.roster,
        started.elapsed().as_millis(),
    );
    state.session_log.append(&record).await;
    respond(outcome, &request, trace.id)
}

/// Runs the loop for one request.
pub async fn run(state: &AppState, request: &IterateRequest, trace: &Trace) -> Outcome {
    let max_iterations = request.effective_max_iterations();
    let mut history = Vec::new();
    let mut prompt = request.prompt.clone();

    for iteration in 0..max_iterations {
        let attempt_started = Utc::now();
        let raw = match chat_hop(state, request, &prompt, trace).await {
            Ok(raw) => raw,
            Err(detail) => {
                return Outcome::InfraError {
                    body: format!("/v1/chat hop failed at iter {iteration}: {detail}"),
                };
            }
        };
        let raw_kept = truncate_chars(&raw, MAX_RAW_CHARS).to_owned();

        let mut accepted = None;
        let status = match extract_json(&raw) {
            None => AttemptStatus::NoJson,
            Some(artifact) => match validate_hop(state, request, &artifact, trace).await {
                Ok(validation) => {
                    accepted = Some((artifact, validation));
                    AttemptStatus::Accepted
                }
                Err(error) => AttemptStatus::ValidationFailed { error },
            },
        };
        let span_id = state.tracer.as_ref().map(|tracer| {
            let span = attempt_span(trace, request, iteration, &prompt, &raw_kept, &status, attempt_started);
            let id = span.id.clone();
            tracer.emit(Event::SpanCreate(span));
            id
        });
        let next_prompt = match &status {
            AttemptStatus::NoJson => no_json_prompt(&request.prompt),
            AttemptStatus::ValidationFailed { error } => validation_feedback_prompt(&request.prompt, error),
            AttemptStatus::Accepted => String::new(),
        };
        history.push(HistoryEntry {
            iteration,
            raw: raw_kept,
            status,
            span_id,
        });
        if let Some((artifact, validation)) = accepted {
            return Outcome::Accepted {
                artifact,
                validation,
                history,
            };
        }
        prompt = next_prompt;
    }
    Outcome::Exhausted { history }
}

/// The `iterate.attempt[i]` span of one finished attempt (contract §7):
/// what was asked, what came back and the verdict, WARNING unless accepted.
fn attempt_span(
    trace: &Trace,
    request: &IterateRequest,
    iteration: u32,
    prompt: &str,
    raw: &str,
    status: &AttemptStatus,
    started: DateTime<Utc>,
) -> SpanBody {
    let mut output = serde_json::json!({"verdict": status.verdict_kind(), "raw": raw});
    if let Some(error) = status.error() {
        output["error"] = Value::from(error);
    }
    SpanBody {
        id: new_id(),
        trace_id: trace.id.clone(),
        name: format!("iterate.attempt[{iteration}]"),
        input: serde_json::json!({
            "iteration": iteration,
            "model": request.model,
            "provider": request.provider,
            "prompt": prompt,
        }),
        output,
        level: match status {
            AttemptStatus::Accepted => Level::Default,
            AttemptStatus::NoJson | AttemptStatus::ValidationFailed { .. } => Level::Warning,
        },
        start_time: rfc3339(started),
        end_time: rfc3339(Utc::now()),
    }
}

/// The generate step: returns the model text or why the hop failed.
async fn chat_hop(state: &AppState, request: &IterateRequest, prompt: &str, trace: &Trace) -> Result<String, String> {
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = &request.system {
        messages.push(ChatMessage {
            role: "system".into(),
            content: system.clone(),
        });
    }
    messages.push(ChatMessage {
        role: "user".into(),
        content: prompt.to_owned(),
    });
    let chat = ChatRequest {
        messages,
        provider: Some(request.provider.clone()),
        model: request.model.clone(),
        temperature: Some(request.temperature.unwrap_or(DEFAULT_TEMPERATURE)),
        max_tokens: Some(request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    };
    let response = state
        .http
        .post(state.self_url("/v1/chat"))
        .header(TRACE_ID_HEADER, trace.header.clone())
        .timeout(state.hop_timeout())
        .json(&chat)
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| error_chain(&e))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(format!("{status}: {}", truncate_chars(&text, 300)));
    }
    let reply: Value = serde_json::from_slice(&body).map_err(|e| format!("reply is not JSON: {e}"))?;
    Ok(reply_content(&reply).to_owned())
}

#[derive(Serialize)]
struct ValidateRequest<'a> {
    kind: &'a str,
    artifact: &'a Value,
    context: &'a Value,
}

/// The validate step: the validation report on a 2xx, otherwise the error
/// as the string that goes into the history and the retry prompt.
async fn validate_hop(
    state: &AppState,
    request: &IterateRequest,
    artifact: &Value,
    trace: &Trace,
) -> Result<Value, String> {
    let payload = ValidateRequest {
        kind: &request.kind,
        artifact,
        context: request.context.as_ref().unwrap_or(&Value::Null),
    };
    let response = state
        .http
        .post(state.self_url("/v1/validate"))
        .header(TRACE_ID_HEADER, trace.header.clone())
        .timeout(state.hop_timeout())
        .json(&payload)
        .send()
        .await
        .map_err(|e| format!("/v1/validate hop failed: {}", error_chain(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("/v1/validate hop failed: {}", error_chain(&e)))?;
    let parsed = serde_json::from_slice::<Value>(&body);
    match (status.is_success(), parsed) {
        (true, Ok(report)) => Ok(report),
        (true, Err(_)) => Err(format!("/v1/validate answered {status} with a body that is not JSON")),
        // The validator's error body, compact with its keys sorted.
        (false, Ok(error)) => Err(error.to_string()),
        (false, Err(_)) if body.is_empty() => Err(format!("/v1/validate answered {status}")),
        (false, Err(_)) => Err(String::from_utf8_lossy(&body).into_owned()),
    }
}

fn respond(outcome: Outcome, request: &IterateRequest, trace_id: String) -> Response {
    match outcome {
        Outcome::Accepted {
            artifact,
            validation,
            history,
        } => {
            let iterations = history.len() as u32;
            Json(IterateResponse {
                artifact,
                validation,
                iterations,
                history,
                trace_id,
            })
            .into_response()
        }
        Outcome::Exhausted { history } => {
            let n = request.effective_max_iterations();
            let failure = IterateFailure {
                error: format!("max iterations reached ({n}) without passing validation"),
                iterations: n,
                history,
                trace_id,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, Json(failure)).into_response()
        }
        Outcome::InfraError { body } => (StatusCode::BAD_GATEWAY, body).into_response(),
    }
}

/// Whether an accepted fill names only real workers: `Some(true)` when
/// every `fills[].candidate_id` is a non-empty string in the roster, `None`
/// when the artifact has no `fills` array at all.
pub fn grounded_in_roster(artifact: &Value, roster: &Roster) -> Option<bool> {
    let fills = artifact.get("fills")?.as_array()?;
    Some(fills.iter().all(|fill| {
        fill.get("candidate_id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty() && roster.contains(id))
    }))
}

/// The session-log row for a finished session.
pub fn session_record(
    request: &IterateRequest,
    trace_id: &str,
    outcome: &Outcome,
    roster: &Roster,
    duration_ms: u128,
) -> SessionRecord {
    let max_iterations = request.effective_max_iterations();
    let attempts_from = |history: &[HistoryEntry]| -> Vec<SessionAttemptRecord> {
        history
            .iter()
            .map(|entry| SessionAttemptRecord {
                iteration: entry.iteration,
                verdict_kind: entry.status.verdict_kind().to_owned(),
                error: entry.status.error().map(str::to_owned),
                span_id: entry.span_id.clone(),
            })
            .collect()
    };
    let (final_verdict, iterations, attempts, artifact, grounded) = match outcome {
        Outcome::Accepted { artifact, history, .. } => {
            let grounded = if request.kind == "fill" {
                grounded_in_roster(artifact, roster)
            } else {
                None
            };
            (
                "accepted",
                history.len() as u32,
                attempts_from(history),
                Some(artifact.clone()),
                grounded,
            )
        }
        Outcome::Exhausted { history } => ("max_iter_exhausted", max_iterations, attempts_from(history), None, None),
        Outcome::InfraError { body } => {
            let attempt = SessionAttemptRecord {
                iteration: 0,
                verdict_kind: "infra_error".to_owned(),
                error: Some(truncate_chars(body, MAX_INFRA_ERROR_CHARS).to_owned()),
                span_id: None,
            };
            ("infra_error", 0, vec![attempt], None, None)
        }
    };
    SessionRecord {
        schema: SESSION_RECORD_SCHEMA.to_owned(),
        session_id: trace_id.to_owned(),
        timestamp: utc_timestamp(),
        daemon: DAEMON_NAME.to_owned(),
        kind: request.kind.clone(),
        model: request.model.clone(),
        provider: request.provider.clone(),
        prompt: truncate_chars(&request.prompt, MAX_PROMPT_CHARS).to_owned(),
        iterations,
        max_iterations,
        final_verdict: final_verdict.to_owned(),
        attempts,
        artifact,
        grounded_in_roster: grounded,
        duration_ms: u64::try_from(duration_ms).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Worker;
    use serde_json::json;

    fn request(body: Value) -> IterateRequest {
        IterateRequest::from_body(body.to_string().as_bytes()).unwrap()
    }

    fn base() -> Value {
        json!({"kind": "fill", "prompt": "p", "provider": "mock", "model": "m"})
    }

    #[test]
    fn parses_and_defaults() {
        let req = request(base());
        assert_eq!(req.effective_max_iterations(), 3);
        assert!(req.system.is_none() && req.context.is_none());
        for (given, effective) in [
            (json!(null), 3),
            (json!(0), 1),
            (json!(1), 1),
            (json!(5), 5),
            (json!(u32::MAX), u32::MAX),
        ] {
            let mut body = base();
            body["max_iterations"] = given;
            assert_eq!(request(body).effective_max_iterations(), effective);
        }
    }

    #[test]
    fn rejects_malformed_requests() {
        for body in [
            &b"nope"[..],
            b"[]",
            b"{}",
            br#"{"kind": "fill", "prompt": 1, "provider": "p", "model": "m"}"#,
        ] {
            assert!(IterateRequest::from_body(body).is_err());
        }
        // The counts are u32: negative, too large or fractional is a bad request.
        let bad_values = [
            ("max_iterations", json!(-1)),
            ("max_iterations", json!(1u64 << 32)),
            ("max_iterations", json!(2.0)),
            ("max_tokens", json!(-1)),
            ("temperature", json!("hot")),
            ("system", json!(1)),
        ];
        for (field, bad) in bad_values {
            let mut body = base();
            body[field] = bad;
            assert!(
                IterateRequest::from_body(body.to_string().as_bytes()).is_err(),
                "{body}"
            );
        }
        let mut no_model = base();
        no_model.as_object_mut().unwrap().remove("model");
        assert!(IterateRequest::from_body(no_model.to_string().as_bytes()).is_err());
    }

    #[test]
    fn retry_prompts_use_the_original_prompt() {
        assert_eq!(
            no_json_prompt("Fill it"),
            "Fill it\n\nYour previous attempt did not contain a JSON object. Reply with ONLY a valid JSON object matching the requested artifact shape."
        );
        assert_eq!(
            validation_feedback_prompt("Fill it", "{\"kind\":\"count\"}"),
            "Fill it\n\nPrior attempt failed validation:\n{\"kind\":\"count\"}\n\nFix the specific issue above and respond with a corrected JSON object."
        );
    }

    #[test]
    fn history_wire_shape() {
        let history = vec![
            HistoryEntry {
                iteration: 0,
                raw: "x".into(),
                status: AttemptStatus::NoJson,
                span_id: None,
            },
            HistoryEntry {
                iteration: 1,
                raw: "{}".into(),
                status: AttemptStatus::ValidationFailed { error: "e".into() },
                span_id: None,
            },
            HistoryEntry {
                iteration: 2,
                raw: "{}".into(),
                status: AttemptStatus::Accepted,
                span_id: None,
            },
        ];
        assert_eq!(
            serde_json::to_string(&history).unwrap(),
            r#"[{"iteration":0,"raw":"x","status":{"kind":"no_json"}},{"iteration":1,"raw":"{}","status":{"kind":"validation_failed","error":"e"}},{"iteration":2,"raw":"{}","status":{"kind":"accepted"}}]"#
        );
    }

    #[test]
    fn trace_id_from_header_or_minted() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Lakehouse-Trace-Id", HeaderValue::from_static("abc"));
        assert_eq!(Trace::from_headers(&headers).id, "abc");

        headers.insert("x-lakehouse-trace-id", HeaderValue::from_static(""));
        let minted = Trace::from_headers(&headers).id;
        assert!(!minted.is_empty() && minted.len() <= 64, "{minted}");
        assert!(
            minted
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{minted}"
        );
        assert_ne!(mint_trace_id(), mint_trace_id());
    }

    fn roster() -> Roster {
        Roster::from_workers([Worker {
            candidate_id: "W-2".into(),
            name: "Ben".into(),
            city: "Toledo".into(),
            state: "OH".into(),
            role: "Welder".into(),
            available: true,
        }])
    }

    #[test]
    fn grounding() {
        let roster = roster();
        let check = |artifact: Value| grounded_in_roster(&artifact, &roster);
        assert_eq!(check(json!({"fills": [{"candidate_id": "W-2"}]})), Some(true));
        assert_eq!(
            check(json!({"fills": [{"candidate_id": "W-2"}, {"candidate_id": "W-9"}]})),
            Some(false)
        );
        assert_eq!(check(json!({"fills": [{"candidate_id": ""}]})), Some(false));
        assert_eq!(check(json!({"fills": ["W-2"]})), Some(false));
        assert_eq!(check(json!({"fills": {}})), None);
        assert_eq!(check(json!({"title": "t"})), None);
    }

    #[test]
    fn records_for_each_outcome() {
        let roster = roster();
        let mut body = base();
        body["prompt"] = json!("é".repeat(5000));
        let req = request(body);

        let accepted = Outcome::Accepted {
            artifact: json!({"fills": [{"candidate_id": "W-2"}]}),
            validation: json!({"kind": "fill", "valid": true, "checked": 1}),
            history: vec![
                HistoryEntry {
                    iteration: 0,
                    raw: String::new(),
                    status: AttemptStatus::NoJson,
                    span_id: None,
                },
                HistoryEntry {
                    iteration: 1,
                    raw: String::new(),
                    status: AttemptStatus::Accepted,
                    span_id: None,
                },
            ],
        };
        let row = session_record(&req, "t", &accepted, &roster, 7);
        assert_eq!(
            (row.iterations, row.max_iterations, row.final_verdict.as_str()),
            (2, 3, "accepted")
        );
        assert_eq!(row.grounded_in_roster, Some(true));
        assert_eq!(row.prompt.chars().count(), MAX_PROMPT_CHARS);
        assert_eq!(row.attempts.len(), 2);
        assert_eq!(
            (row.schema.as_str(), row.daemon.as_str(), row.session_id.as_str()),
            ("session.iterate.v1", "gateway", "t")
        );

        let exhausted = Outcome::Exhausted {
            history: vec![HistoryEntry {
                iteration: 0,
                raw: String::new(),
                status: AttemptStatus::ValidationFailed { error: "e".into() },
                span_id: None,
            }],
        };
        let row = session_record(&req, "t", &exhausted, &roster, 7);
        assert_eq!((row.iterations, row.final_verdict.as_str()), (3, "max_iter_exhausted"));
        assert_eq!(row.attempts[0].error.as_deref(), Some("e"));
        assert!(row.artifact.is_none() && row.grounded_in_roster.is_none());

        let infra = Outcome::InfraError {
            body: format!("/v1/chat hop failed at iter 2: {}", "x".repeat(1000)),
        };
        let row = session_record(&req, "t", &infra, &roster, 7);
        assert_eq!((row.iterations, row.final_verdict.as_str()), (0, "infra_error"));
        assert_eq!(row.attempts.len(), 1);
        assert_eq!(
            (row.attempts[0].iteration, row.attempts[0].verdict_kind.as_str()),
            (0, "infra_error")
        );
        assert_eq!(
            row.attempts[0].error.as_ref().unwrap().chars().count(),
            MAX_INFRA_ERROR_CHARS
        );
    }

    #[test]
    fn grounded_only_for_fill() {
        let mut body = base();
        body["kind"] = json!("playbook");
        let req = request(body);
        let accepted = Outcome::Accepted {
            artifact: json!({"title": "t", "steps": ["a"]}),
            validation: json!({}),
            history: vec![HistoryEntry {
                iteration: 0,
                raw: String::new(),
                status: AttemptStatus::Accepted,
                span_id: None,
            }],
        };
        assert_eq!(
            session_record(&req, "t", &accepted, &roster(), 0).grounded_in_roster,
            None
        );
    }
}
