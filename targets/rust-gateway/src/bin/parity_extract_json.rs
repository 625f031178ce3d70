//! `parity_extract_json`: the extract_json probe (decisions §6).
//!
//! One-shot: all of stdin is the raw text (invalid UTF-8 replaced by
//! U+FFFD); prints `{"matched": bool, "value": object|null}`.
//! `--jsonl`: each line `{"raw": "..."}` gets one answer line, flushed;
//! a line that is not such an object gets `{"error": "..."}`.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

use serde::Serialize;
use serde_json::Value;

use rust_gateway::extract_json;

#[derive(Serialize)]
struct Answer {
    matched: bool,
    value: Option<Value>,
}

#[derive(Serialize)]
struct ErrorAnswer {
    error: String,
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
        Err(error) => serde_json::to_string(&ErrorAnswer { error }).expect("a string always serialises"),
    }
}

fn one_shot() -> io::Result<()> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    let raw = String::from_utf8_lossy(&input);
    let mut out = io::stdout().lock();
    writeln!(out, "{}", answer(&raw))?;
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
        writeln!(out, "{}", answer_line(&line))?;
        out.flush()?;
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match (args.next().as_deref(), args.next()) {
        (None, _) => one_shot(),
        (Some("--jsonl"), None) => jsonl(),
        _ => {
            eprintln!("usage: parity_extract_json [--jsonl]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout is how a driver says it is done listening.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parity_extract_json: {e}");
            ExitCode::FAILURE
        }
    }
}
