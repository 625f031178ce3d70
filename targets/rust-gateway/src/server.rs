//! The axum application: the router, `/health`, `/v1/validate` and
//! `/v1/chat` (decisions §4); `/v1/iterate` is [`crate::iterate`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::iterate::Trace;
use crate::langfuse::{Event, GenerationBody, Level, TraceBody, new_id, rfc3339};
use crate::state::{AppState, SharedState};
use crate::text::error_chain;
use crate::wire::{ChatMessage, ChatRequest, ChatResponse, error_response, reply_content};
use crate::{DAEMON_NAME, TRACE_ID_HEADER, iterate, text, validate};

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/chat", post(chat))
        .route("/v1/validate", post(validate_handler))
        .route("/v1/iterate", post(iterate::handler))
        .with_state(state)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    daemon: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        daemon: DAEMON_NAME,
    })
}

/// `POST /v1/validate`. The body is taken as raw bytes so that anything
/// that is not a JSON object, whatever its content type, gets the
/// contract's `schema` error at `$` rather than an extractor's 400/415.
async fn validate_handler(State(state): State<SharedState>, body: Bytes) -> Response {
    match validate::validate_body(&body, &state.roster) {
        Ok(report) => (StatusCode::OK, Json(report)).into_response(),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, Json(error)).into_response(),
    }
}

/// What goes to `{upstream}/v1/chat/completions`.
#[derive(Serialize)]
struct CompletionRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
}

/// `POST /v1/chat`: forwards to the upstream's chat-completions endpoint.
async fn chat(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, format!("invalid chat request: {e}")),
    };
    // With tracing on, a call without a parent trace is a trace of its own.
    let traced = state.tracer.as_ref().map(|tracer| {
        let trace = Trace::from_headers(&headers);
        if trace.minted {
            tracer.emit(Event::TraceCreate(TraceBody {
                id: trace.id.clone(),
                name: "chat".to_owned(),
                input: None,
            }));
        }
        (tracer, trace.id)
    });
    let started = Utc::now();
    let result = complete(&state, &headers, &request).await;
    if let Some((tracer, trace_id)) = traced {
        tracer.emit(chat_generation(trace_id, &request, &result, started, Utc::now()));
    }
    match result {
        Ok(content) => Json(ChatResponse::assistant(content)).into_response(),
        Err(detail) => error_response(StatusCode::BAD_GATEWAY, detail),
    }
}

/// The `generation-create` of one chat call: the reply as its output, or
/// an ERROR with the failure's detail and no output.
fn chat_generation(
    trace_id: String,
    request: &ChatRequest,
    result: &Result<String, String>,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
) -> Event {
    // Only what the request set: Langfuse takes no null parameter.
    let mut parameters = Map::new();
    if let Some(temperature) = request.temperature {
        parameters.insert("temperature".to_owned(), Value::from(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        parameters.insert("max_tokens".to_owned(), Value::from(max_tokens));
    }
    let (output, level, status_message) = match result {
        Ok(content) => (Some(Value::String(content.clone())), None, None),
        Err(detail) => (None, Some(Level::Error), Some(detail.clone())),
    };
    Event::GenerationCreate(GenerationBody {
        id: new_id(),
        trace_id,
        name: "chat".to_owned(),
        model: request.model.clone(),
        model_parameters: parameters,
        input: serde_json::to_value(&request.messages).unwrap_or(Value::Null),
        output,
        level,
        status_message,
        start_time: rfc3339(started),
        end_time: rfc3339(ended),
    })
}

async fn complete(state: &AppState, headers: &HeaderMap, request: &ChatRequest) -> Result<String, String> {
    let payload = CompletionRequest {
        model: &request.model,
        messages: &request.messages,
        temperature: request.temperature,
        max_tokens: request.max_tokens,
    };
    let mut call = state
        .http
        .post(state.upstream_url("/v1/chat/completions"))
        .timeout(state.upstream_timeout)
        .json(&payload);
    if let Some(trace) = headers.get(TRACE_ID_HEADER) {
        call = call.header(TRACE_ID_HEADER, trace.clone());
    }
    let timeout_ms = state.upstream_timeout.as_millis();
    let describe = |e: reqwest::Error| {
        if e.is_timeout() {
            format!("upstream timed out after {timeout_ms} ms")
        } else {
            format!("upstream request failed: {}", error_chain(&e))
        }
    };
    let response = call.send().await.map_err(describe)?;
    let status = response.status();
    let body = response.bytes().await.map_err(describe)?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(format!(
            "upstream returned {status}: {}",
            text::truncate_chars(&text, 300)
        ));
    }
    let reply: Value = serde_json::from_slice(&body).map_err(|e| format!("upstream reply is not JSON: {e}"))?;
    Ok(reply_content(&reply).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_payload_shape() {
        let messages = vec![ChatMessage {
            role: "user".into(),
            content: "p".into(),
        }];
        let payload = CompletionRequest {
            model: "m",
            messages: &messages,
            temperature: Some(0.2),
            max_tokens: Some(4096),
        };
        assert_eq!(
            serde_json::to_string(&payload).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"p"}],"temperature":0.2,"max_tokens":4096}"#
        );
    }
}
