//! The probe programs, driven as the harness drives them (decisions §6).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const EXTRACT: &str = env!("CARGO_BIN_EXE_parity_extract_json");
const SESSION: &str = env!("CARGO_BIN_EXE_parity_session_log");

fn one_shot(program: &str, input: &[u8]) -> String {
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// Writes each line and reads its answer before sending the next, which
/// proves that answers are flushed line by line.
fn jsonl(program: &str, lines: &[&[u8]]) -> Vec<String> {
    let mut child = Command::new(program)
        .arg("--jsonl")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut answers = Vec::new();
    for line in lines {
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        if line.iter().all(u8::is_ascii_whitespace) {
            continue; // blank lines get no answer
        }
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        answers.push(answer.trim_end().to_owned());
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    answers
}

#[test]
fn extract_one_shot() {
    assert_eq!(
        one_shot(EXTRACT, b"text ```json\n{\"b\": 1, \"a\": [1.5]}\n``` more"),
        "{\"matched\":true,\"value\":{\"a\":[1.5],\"b\":1}}\n"
    );
    assert_eq!(one_shot(EXTRACT, b"nothing"), "{\"matched\":false,\"value\":null}\n");
    // Invalid UTF-8 becomes U+FFFD before extraction.
    assert_eq!(
        one_shot(EXTRACT, b"{\"s\": \"\xff\"}"),
        "{\"matched\":true,\"value\":{\"s\":\"\u{fffd}\"}}\n"
    );
}

#[test]
fn extract_jsonl_goes_on_after_bad_lines() {
    let answers = jsonl(
        EXTRACT,
        &[
            br#"{"raw": "x {\"a\":1} y"}"#,
            b"not json",
            b"",
            br#"{"raw": 5}"#,
            b"[1]",
            br#"{"raw": "none"}"#,
        ],
    );
    assert_eq!(answers.len(), 5);
    assert_eq!(answers[0], r#"{"matched":true,"value":{"a":1}}"#);
    for bad in &answers[1..4] {
        assert!(bad.starts_with(r#"{"error":"#), "{bad}");
    }
    assert_eq!(answers[4], r#"{"matched":false,"value":null}"#);
}

const RECORD: &str = r#"{"schema":"session.iterate.v1","session_id":"s","timestamp":"t","daemon":"validatord","kind":"fill","model":"m","provider":"p","prompt":"Café résumé  你好","iterations":1,"max_iterations":3,"final_verdict":"accepted","attempts":[{"iteration":0,"verdict_kind":"accepted"}],"artifact":{"z":1,"a":2},"grounded_in_roster":true,"duration_ms":5}"#;

#[test]
fn session_log_one_shot_and_jsonl() {
    let canonical = RECORD.replace(r#"{"z":1,"a":2}"#, r#"{"a":2,"z":1}"#);
    assert_eq!(one_shot(SESSION, RECORD.as_bytes()), format!("{canonical}\n"));

    let missing = RECORD.replace(r#""attempts":[{"iteration":0,"verdict_kind":"accepted"}],"#, "");
    let answers = jsonl(SESSION, &[missing.as_bytes(), b"   ", RECORD.as_bytes(), b"{"]);
    assert_eq!(answers.len(), 3);
    assert!(
        answers[0].starts_with(r#"{"error":"missing field `attempts`"#),
        "{}",
        answers[0]
    );
    assert_eq!(answers[1], canonical);
    assert!(answers[2].starts_with(r#"{"error":"#));
}
