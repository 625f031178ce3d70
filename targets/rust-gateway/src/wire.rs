//! The JSON bodies of the gateway's HTTP API that `/v1/chat` and
//! `/v1/iterate` share: chat requests and answers, the error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"error": "..."}`, the body of 400 and 502 answers.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: String,
}

pub fn error_response(status: StatusCode, error: impl Into<String>) -> Response {
    (status, Json(ErrorBody { error: error.into() })).into_response()
}

/// One chat message, as sent to `/v1/chat` and on to the upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// The `/v1/chat` request: `{messages, provider, model, temperature, max_tokens}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// Routing hint of the caller; this gateway has one upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// The `/v1/chat` answer: `{"choices": [{"index": 0, "message": {...}}]}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatResponse {
    pub choices: Vec<ChatChoice>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChatChoice {
    pub index: u32,
    pub message: ChatMessage,
}

impl ChatResponse {
    /// The answer of one assistant message.
    pub fn assistant(content: String) -> Self {
        Self {
            choices: vec![ChatChoice {
                index: 0,
                message: ChatMessage {
                    role: "assistant".into(),
                    content,
                },
            }],
        }
    }
}

/// The text of `choices[0].message.content`, `""` when it is absent, null
/// or not a string.
pub fn reply_content(reply: &Value) -> &str {
    reply
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reply_content_defaults_to_empty() {
        assert_eq!(
            reply_content(&json!({"choices": [{"message": {"content": "hi"}}]})),
            "hi"
        );
        assert_eq!(reply_content(&json!({"choices": [{"message": {"content": null}}]})), "");
        assert_eq!(reply_content(&json!({"choices": [{"message": {}}]})), "");
        assert_eq!(reply_content(&json!({"choices": []})), "");
        assert_eq!(reply_content(&json!([])), "");
    }

    #[test]
    fn chat_answer_shape() {
        let body = serde_json::to_string(&ChatResponse::assistant("x".into())).unwrap();
        assert_eq!(
            body,
            r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"x"}}]}"#
        );
    }
}
