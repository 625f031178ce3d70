//! `parity_session_log`: the session-record probe (decisions §6).
//!
//! One-shot: stdin is one record; prints it after a round trip through
//! [`SessionRecord`], or `{"error": "..."}` when the type rejects it.
//! `--jsonl`: one record per line, one answer line each, flushed.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

use serde::Serialize;

use rust_gateway::session_log::SessionRecord;

#[derive(Serialize)]
struct ErrorAnswer {
    error: String,
}

fn round_trip(text: &str) -> String {
    serde_json::from_str::<SessionRecord>(text)
        .and_then(|record| serde_json::to_string(&record))
        .unwrap_or_else(|e| {
            serde_json::to_string(&ErrorAnswer { error: e.to_string() }).expect("a string always serialises")
        })
}

fn one_shot() -> io::Result<()> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    let text = String::from_utf8_lossy(&input);
    let mut out = io::stdout().lock();
    writeln!(out, "{}", round_trip(&text))?;
    out.flush()
}

fn jsonl() -> io::Result<()> {
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        let line = String::from_utf8_lossy(&buffer);
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", round_trip(&line))?;
        out.flush()?;
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match (args.next().as_deref(), args.next()) {
        (None, _) => one_shot(),
        (Some("--jsonl"), None) => jsonl(),
        _ => {
            eprintln!("usage: parity_session_log [--jsonl]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parity_session_log: {e}");
            ExitCode::FAILURE
        }
    }
}
