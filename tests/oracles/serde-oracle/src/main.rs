//! Oracle for the reference implementation's tests: the contract says
//! "what parses" is serde_json with `float_roundtrip`, and the record type is
//! a serde-derived struct. Reads `{"op": ..., "text": ...}` lines and answers
//! one line each:
//!   op "extract"  -> {"matched": bool, "value": object|null}
//!   op "parse"    -> {"ok": true, "value": v} | {"ok": false}
//!   op "record"   -> the record written back | {"error": "..."}
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, BufRead, Write};

#[derive(Deserialize, Serialize)]
struct Attempt {
    iteration: u32,
    verdict_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct Record {
    schema: String,
    session_id: String,
    timestamp: String,
    daemon: String,
    kind: String,
    model: String,
    provider: String,
    prompt: String,
    iterations: u32,
    max_iterations: u32,
    final_verdict: String,
    attempts: Vec<Attempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grounded_in_roster: Option<bool>,
    duration_ms: u64,
}

fn object(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text).ok().filter(Value::is_object)
}

fn fenced(raw: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let body = match after.find('\n') {
            Some(newline) => &after[newline + 1..],
            None => after,
        };
        let Some(close) = body.find("```") else { break };
        found.push(body[..close].trim());
        rest = &body[close + 3..];
    }
    found
}

fn extract(raw: &str) -> Option<Value> {
    if let Some(v) = fenced(raw).into_iter().find_map(object) {
        return Some(v);
    }
    let mut depth = 0i64;
    let mut start = None;
    for (i, byte) in raw.bytes().enumerate() {
        if byte == b'{' {
            start.get_or_insert(i);
            depth += 1;
        } else if byte == b'}' {
            depth -= 1;
            if depth == 0 {
                if let Some(s) = start.take() {
                    if let Some(v) = object(&raw[s..=i]) {
                        return Some(v);
                    }
                }
            }
        }
    }
    None
}

fn answer(line: &str) -> String {
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return serde_json::json!({"error": format!("bad request line: {e}")}).to_string(),
    };
    let text = request["text"].as_str().unwrap_or_default();
    let reply = match request["op"].as_str() {
        Some("extract") => {
            let value = extract(text);
            serde_json::json!({"matched": value.is_some(), "value": value})
        }
        Some("parse") => match serde_json::from_str::<Value>(text) {
            Ok(v) => serde_json::json!({"ok": true, "value": v}),
            Err(_) => serde_json::json!({"ok": false}),
        },
        Some("record") => match serde_json::from_str::<Record>(text) {
            // Written as serde's own text: struct field order, not a Value's.
            Ok(r) => return serde_json::to_string(&r).unwrap_or_default(),
            Err(e) => serde_json::json!({"error": e.to_string()}),
        },
        _ => serde_json::json!({"error": "unknown op"}),
    };
    reply.to_string()
}

fn main() {
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        if writeln!(out, "{}", answer(&line)).and_then(|_| out.flush()).is_err() {
            break;
        }
    }
}
