//! The worker roster (`WorkerLookup`): a JSON Lines file, one worker a line.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// One worker of the roster. Unknown keys on a roster line are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Worker {
    pub candidate_id: String,
    pub name: String,
    pub city: String,
    pub state: String,
    pub role: String,
    pub available: bool,
}

/// Workers by `candidate_id`.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    workers: HashMap<String, Worker>,
}

/// Why a roster could not be loaded. Names the file and, where there is
/// one, the 1-based line.
#[derive(Debug)]
pub struct RosterError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for RosterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "roster {}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "roster {}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for RosterError {}

impl Roster {
    /// Reads and parses a roster file.
    pub fn load(path: &Path) -> Result<Self, RosterError> {
        let text = std::fs::read_to_string(path).map_err(|e| RosterError {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(&text).map_err(|(line, message)| RosterError {
            path: path.to_path_buf(),
            line: Some(line),
            message,
        })
    }

    /// Parses roster text. Blank lines are skipped; a line that is not a
    /// worker object, or a repeated id, is an error `(line, message)`.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut workers = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let worker = parse_worker(line).map_err(|message| (line_no, message))?;
            if workers.contains_key(&worker.candidate_id) {
                return Err((
                    line_no,
                    format!("candidate_id '{}' appears more than once", worker.candidate_id),
                ));
            }
            workers.insert(worker.candidate_id.clone(), worker);
        }
        Ok(Self { workers })
    }

    pub fn from_workers(workers: impl IntoIterator<Item = Worker>) -> Self {
        Self {
            workers: workers.into_iter().map(|w| (w.candidate_id.clone(), w)).collect(),
        }
    }

    pub fn find(&self, candidate_id: &str) -> Option<&Worker> {
        self.workers.get(candidate_id)
    }

    pub fn contains(&self, candidate_id: &str) -> bool {
        self.workers.contains_key(candidate_id)
    }

    pub fn len(&self) -> usize {
        self.workers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }
}

fn parse_worker(line: &str) -> Result<Worker, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    // Checked first: serde's derive would also accept a JSON array as a struct.
    if !value.is_object() {
        return Err("expected a JSON object".to_owned());
    }
    Worker::deserialize(value).map_err(|e| format!("not a worker: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE_W1: &str = r#"{"candidate_id": "W-1", "name": "Ada", "city": "Louisville", "state": "KY", "role": "Welder", "available": true}"#;
    const LINE_W2: &str = r#"{"candidate_id": "W-2", "name": "Ben", "city": "Toledo", "state": "OH", "role": "Welder", "available": false, "extra": 1}"#;

    #[test]
    fn parses_workers_and_skips_blank_lines() {
        let roster = Roster::parse(&format!("{LINE_W1}\n\n   \n{LINE_W2}\n")).unwrap();
        assert_eq!(roster.len(), 2);
        assert_eq!(roster.find("W-1").unwrap().city, "Louisville");
        assert!(!roster.find("W-2").unwrap().available);
        assert!(!roster.contains("W-3"));
    }

    #[test]
    fn rejects_duplicate_ids_naming_the_line() {
        let (line, message) = Roster::parse(&format!("{LINE_W1}\n{LINE_W1}\n")).unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("W-1"), "{message}");
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(Roster::parse("{not json").unwrap_err().0, 1);
        assert_eq!(
            Roster::parse(&format!("{LINE_W1}\n[\"W-2\",\"n\",\"c\",\"s\",\"r\",true]"))
                .unwrap_err()
                .0,
            2
        );
        assert_eq!(Roster::parse(r#"{"candidate_id": "W-1"}"#).unwrap_err().0, 1);
        assert_eq!(
            Roster::parse(
                r#"{"candidate_id": "W-1", "name": "A", "city": "C", "state": "S", "role": "R", "available": "yes"}"#
            )
            .unwrap_err()
            .0,
            1
        );
    }

    #[test]
    fn loads_the_project_fixture() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/roster.jsonl");
        if path.exists() {
            let roster = Roster::load(&path).unwrap();
            assert!(roster.contains("W-1"));
        }
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = Roster::load(Path::new("/nonexistent/roster.jsonl")).unwrap_err();
        assert!(
            err.to_string().starts_with("roster /nonexistent/roster.jsonl: "),
            "{err}"
        );
    }
}
