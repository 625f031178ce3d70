//! `parity_extract_json`: the extract_json probe (decisions §6).
//!
//! One-shot: all of stdin is the raw text (invalid UTF-8 replaced by
//! U+FFFD); prints `{"matched": bool, "value": object|null}`.
//! `--jsonl`: each line `{"raw": "..."}` gets one answer line, flushed;
//! a line that is not such an object gets `{"error": "..."}`.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::Value;

use rust_gateway::{extract_json, probe};

#[derive(Serialize)]
struct Answer {
    matched: bool,
    value: Option<Value>,
}

fn answer(raw: &str) -> String {
    let value = extract_json(raw);
    let answer = Answer {
        matched: value.is_some(),
        value,
    };
    serde_json::to_string(&answer).expect("a JSON value always serialises")
}

fn answer_line(line: &str) -> String {
    let raw = serde_json::from_str::<Value>(line)
        .map_err(|e| format!("input line is not JSON: {e}"))
        .and_then(|value| match value.get("raw") {
            Some(Value::String(raw)) => Ok(raw.clone()),
            _ if !value.is_object() => Err("input line is not a JSON object".to_owned()),
            _ => Err("input line has no string \"raw\"".to_owned()),
        });
    match raw {
        Ok(raw) => answer(&raw),
        Err(error) => probe::error_answer(&error),
    }
}

fn main() -> ExitCode {
    probe::run("parity_extract_json", answer, answer_line)
}
