//! `parity_session_log`: the session-record probe (decisions §6).
//!
//! One-shot: stdin is one record; prints it after a round trip through
//! [`SessionRecord`], or `{"error": "..."}` when the type rejects it.
//! `--jsonl`: one record per line, one answer line each, flushed.

use std::process::ExitCode;

use rust_gateway::probe;
use rust_gateway::session_log::SessionRecord;

fn round_trip(text: &str) -> String {
    serde_json::from_str::<SessionRecord>(text)
        .and_then(|record| serde_json::to_string(&record))
        .unwrap_or_else(|e| probe::error_answer(&e.to_string()))
}

fn main() -> ExitCode {
    probe::run("parity_session_log", round_trip, round_trip)
}
