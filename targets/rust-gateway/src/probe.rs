//! The probe programs' shared driver (decisions §6): one-shot reads all of
//! stdin as one input, `--jsonl` answers each non-blank line with one line,
//! flushed. Invalid UTF-8 is replaced by U+FFFD in both modes.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

use serde::Serialize;

/// Turns one input (all of stdin, or one line) into one answer line.
pub type Answer = fn(&str) -> String;

#[derive(Serialize)]
struct ErrorAnswer<'a> {
    error: &'a str,
}

/// `{"error": message}`, the answer to an input the probe cannot take.
pub fn error_answer(message: &str) -> String {
    serde_json::to_string(&ErrorAnswer { error: message }).expect("a string always serialises")
}

fn one_shot(answer: Answer) -> io::Result<()> {
    let mut input = Vec::new();
    io::stdin().lock().read_to_end(&mut input)?;
    let text = String::from_utf8_lossy(&input);
    let mut out = io::stdout().lock();
    writeln!(out, "{}", answer(&text))?;
    out.flush()
}

fn jsonl(answer: Answer) -> io::Result<()> {
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
        writeln!(out, "{}", answer(&line))?;
        out.flush()?;
    }
}

/// Runs a probe program: `name [--jsonl]`.
pub fn run(name: &str, whole_input: Answer, per_line: Answer) -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match (args.next().as_deref(), args.next()) {
        (None, _) => one_shot(whole_input),
        (Some("--jsonl"), None) => jsonl(per_line),
        _ => {
            eprintln!("usage: {name} [--jsonl]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout is how a driver says it is done listening.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
