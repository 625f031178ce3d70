//! The longitudinal session log, `session.iterate.v1` (contract §4).
//!
//! One JSON object per line. Both runtimes may append to one shared file,
//! so each row goes out as a single `O_APPEND` write of the whole line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SESSION_RECORD_SCHEMA: &str = "session.iterate.v1";

/// Longest prompt kept in a row, in characters.
pub const MAX_PROMPT_CHARS: usize = 4000;
/// Longest infra-error text kept in a row, in characters.
pub const MAX_INFRA_ERROR_CHARS: usize = 800;

/// How long a request waits for its row to be written before it gives up
/// on it (the write itself goes on in the background).
const WRITE_WAIT: Duration = Duration::from_secs(2);

/// One row of the session log. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub schema: String,
    pub session_id: String,
    pub timestamp: String,
    pub daemon: String,
    pub kind: String,
    pub model: String,
    pub provider: String,
    pub prompt: String,
    pub iterations: u32,
    pub max_iterations: u32,
    pub final_verdict: String,
    pub attempts: Vec<SessionAttemptRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounded_in_roster: Option<bool>,
    pub duration_ms: u64,
}

/// One attempt of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAttemptRecord {
    pub iteration: u32,
    pub verdict_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

/// Appends [`SessionRecord`]s to a JSON Lines file, best effort.
///
/// Disabled when built from an empty path. Parent folders are created on
/// the first write that needs them. Writes are serialised by a mutex; a
/// failure is reported on stderr and never reaches the caller.
#[derive(Debug, Clone)]
pub struct SessionLogger {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    lock: Mutex<()>,
}

impl SessionLogger {
    /// A logger writing to `path`; an empty path turns logging off.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if path.as_os_str().is_empty() {
            return Self::disabled();
        }
        Self {
            inner: Some(Arc::new(Inner {
                path,
                lock: Mutex::new(()),
            })),
        }
    }

    pub fn disabled() -> Self {
        Self { inner: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    pub fn path(&self) -> Option<&Path> {
        self.inner.as_deref().map(|inner| inner.path.as_path())
    }

    /// Appends one row. The file work runs on tokio's blocking pool; the
    /// caller waits for it at most [`WRITE_WAIT`], so that a row is on disk
    /// when the response goes out, yet a stuck file system cannot hold a
    /// request. Never fails.
    pub async fn append(&self, record: &SessionRecord) {
        let Some(inner) = self.inner.clone() else { return };
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(e) => {
                eprintln!("warning: session log: cannot encode row {}: {e}", record.session_id);
                return;
            }
        };
        line.push(b'\n');
        let session_id = record.session_id.clone();
        let write = tokio::task::spawn_blocking(move || inner.write_line(&line));
        match tokio::time::timeout(WRITE_WAIT, write).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!("warning: session log: row {session_id} not written: {e}"),
            Ok(Err(e)) => eprintln!("warning: session log: row {session_id} writer failed: {e}"),
            Err(_) => {
                eprintln!("warning: session log: row {session_id} still pending after {WRITE_WAIT:?}; not waiting")
            }
        }
    }
}

impl Inner {
    fn write_line(&self, line: &[u8]) -> io::Result<()> {
        // A poisoned lock only means another writer panicked; the file is
        // still fine to append to.
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut file = self.open()?;
        // One write call for the whole line: with O_APPEND the kernel places
        // it at the end of the file atomically with respect to other
        // appenders, so rows from two daemons never interleave.
        file.write_all(line)
    }

    fn open(&self) -> io::Result<File> {
        let open = || OpenOptions::new().create(true).append(true).open(&self.path);
        match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                open()
            }
            result => result,
        }
    }
}

/// The current time as RFC 3339 in UTC, e.g. `2026-05-02T11:24:41.123Z`.
pub fn utc_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> SessionRecord {
        SessionRecord {
            schema: SESSION_RECORD_SCHEMA.into(),
            session_id: "trace-1".into(),
            timestamp: "2026-05-02T11:24:41.123Z".into(),
            daemon: "gateway".into(),
            kind: "fill".into(),
            model: "m".into(),
            provider: "p".into(),
            prompt: "Café résumé  你好".into(),
            iterations: 2,
            max_iterations: 3,
            final_verdict: "accepted".into(),
            attempts: vec![
                SessionAttemptRecord {
                    iteration: 0,
                    verdict_kind: "validation_failed".into(),
                    error: Some("{\"kind\":\"phantom\"}".into()),
                    span_id: None,
                },
                SessionAttemptRecord {
                    iteration: 1,
                    verdict_kind: "accepted".into(),
                    error: None,
                    span_id: Some("s-1".into()),
                },
            ],
            artifact: Some(json!({"fills": [{"candidate_id": "W-2"}]})),
            grounded_in_roster: Some(true),
            duration_ms: 12,
        }
    }

    fn round_trip(line: &str) -> Result<String, serde_json::Error> {
        serde_json::from_str::<SessionRecord>(line).and_then(|r| serde_json::to_string(&r))
    }

    #[test]
    fn serialises_in_contract_order() {
        let line = serde_json::to_string(&record()).unwrap();
        assert_eq!(
            line,
            concat!(
                r#"{"schema":"session.iterate.v1","session_id":"trace-1","timestamp":"2026-05-02T11:24:41.123Z","#,
                r#""daemon":"gateway","kind":"fill","model":"m","provider":"p","prompt":"Café résumé  你好","#,
                r#""iterations":2,"max_iterations":3,"final_verdict":"accepted","attempts":["#,
                r#"{"iteration":0,"verdict_kind":"validation_failed","error":"{\"kind\":\"phantom\"}"},"#,
                r#"{"iteration":1,"verdict_kind":"accepted","span_id":"s-1"}],"#,
                r#""artifact":{"fills":[{"candidate_id":"W-2"}]},"grounded_in_roster":true,"duration_ms":12}"#
            )
        );
    }

    #[test]
    fn round_trip_is_identity_for_a_canonical_row() {
        let line = serde_json::to_string(&record()).unwrap();
        assert_eq!(round_trip(&line).unwrap(), line);
    }

    #[test]
    fn absent_and_null_optionals_are_omitted() {
        let mut r = record();
        r.artifact = None;
        r.grounded_in_roster = None;
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            !line.contains("artifact") && !line.contains("grounded_in_roster"),
            "{line}"
        );

        let mut value = serde_json::to_value(record()).unwrap();
        value["artifact"] = Value::Null;
        value["grounded_in_roster"] = Value::Null;
        value["attempts"][0]["error"] = Value::Null;
        let out = round_trip(&value.to_string()).unwrap();
        assert!(!out.contains("null"), "{out}");
    }

    #[test]
    fn artifact_keys_come_back_sorted_and_unknown_fields_dropped() {
        let mut value = serde_json::to_value(record()).unwrap();
        value["artifact"] = json!({"z": 1, "a": {"y": 2, "b": 3}});
        value["extra"] = json!("dropped");
        let out = round_trip(&value.to_string()).unwrap();
        assert!(out.contains(r#""artifact":{"a":{"b":3,"y":2},"z":1}"#), "{out}");
        assert!(!out.contains("extra"), "{out}");
    }

    #[test]
    fn artifact_may_be_any_json_value() {
        let mut value = serde_json::to_value(record()).unwrap();
        value["artifact"] = json!([1, "two"]);
        assert!(
            round_trip(&value.to_string())
                .unwrap()
                .contains(r#""artifact":[1,"two"]"#)
        );
    }

    #[test]
    fn rejects_missing_required_fields() {
        for field in [
            "schema",
            "session_id",
            "timestamp",
            "daemon",
            "kind",
            "prompt",
            "iterations",
            "final_verdict",
            "attempts",
            "duration_ms",
        ] {
            let mut value = serde_json::to_value(record()).unwrap();
            value.as_object_mut().unwrap().remove(field);
            assert!(round_trip(&value.to_string()).is_err(), "missing {field} accepted");
        }
        let mut value = serde_json::to_value(record()).unwrap();
        value["attempts"][0].as_object_mut().unwrap().remove("verdict_kind");
        assert!(round_trip(&value.to_string()).is_err());
    }

    #[test]
    fn rejects_wrong_types_and_ranges() {
        let bad = [
            ("iterations", json!(-1)),
            ("iterations", json!(1.0)),
            ("iterations", json!(4294967296u64)),
            ("max_iterations", json!("3")),
            ("duration_ms", json!(-5)),
            ("duration_ms", json!(1.5)),
            ("attempts", json!(null)),
            ("attempts", json!({})),
            ("grounded_in_roster", json!("true")),
            ("kind", json!(1)),
        ];
        for (field, bad_value) in bad {
            let mut value = serde_json::to_value(record()).unwrap();
            value[field] = bad_value.clone();
            assert!(
                round_trip(&value.to_string()).is_err(),
                "{field} = {bad_value} accepted"
            );
        }
        assert!(round_trip("[]").is_err());
        assert!(round_trip("not json").is_err());
    }

    #[test]
    fn accepts_extreme_integers() {
        let mut value = serde_json::to_value(record()).unwrap();
        value["iterations"] = json!(u32::MAX);
        value["duration_ms"] = json!(u64::MAX);
        let out = round_trip(&value.to_string()).unwrap();
        assert!(out.contains("\"iterations\":4294967295") && out.contains("\"duration_ms\":18446744073709551615"));
    }

    #[test]
    fn rejects_a_field_given_twice() {
        let line = serde_json::to_string(&record()).unwrap();
        let doubled = line.replacen("{\"schema\"", "{\"kind\":\"email\",\"schema\"", 1);
        assert!(round_trip(&doubled).is_err());
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rust-gateway-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn disabled_for_an_empty_path() {
        let logger = SessionLogger::new("");
        assert!(!logger.is_enabled());
        logger.append(&record()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn creates_parents_and_keeps_concurrent_lines_whole() {
        let dir = temp_dir("log");
        let path = dir.join("nested/deeper/sessions.jsonl");
        // Two loggers on one file stand for two daemons sharing it.
        let a = SessionLogger::new(&path);
        let b = SessionLogger::new(&path);
        let mut big = record();
        big.prompt = "x".repeat(MAX_PROMPT_CHARS);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let logger = if i % 2 == 0 { a.clone() } else { b.clone() };
            let mut r = big.clone();
            r.session_id = format!("s-{i}");
            tasks.push(tokio::spawn(async move { logger.append(&r).await }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 40);
        for line in lines {
            let parsed: SessionRecord = serde_json::from_str(line).unwrap();
            assert_eq!(parsed.prompt.len(), MAX_PROMPT_CHARS);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_failed_write_is_only_a_warning() {
        let dir = temp_dir("fail");
        std::fs::create_dir_all(&dir).unwrap();
        // The log path is a directory: opening it for append fails.
        SessionLogger::new(&dir).append(&record()).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let ts = utc_timestamp();
        assert!(chrono::DateTime::parse_from_rfc3339(&ts).is_ok(), "{ts}");
        assert!(ts.ends_with('Z'));
    }
}
