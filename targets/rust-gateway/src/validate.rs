//! The fill / email / playbook validators behind `POST /v1/validate`
//! (contract §3, decisions §1).
//!
//! Every check compares exactly (no case folding, no trimming) and the
//! first failure is the answer.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::roster::Roster;

/// The artifact kinds the validators know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    Fill,
    Email,
    Playbook,
}

impl ArtifactKind {
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "fill" => Some(Self::Fill),
            "email" => Some(Self::Email),
            "playbook" => Some(Self::Playbook),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fill => "fill",
            Self::Email => "email",
            Self::Playbook => "playbook",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ArtifactKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The 200 body: `{"kind": k, "valid": true, "checked": n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    pub kind: ArtifactKind,
    pub valid: bool,
    pub checked: usize,
}

impl ValidationReport {
    fn passed(kind: ArtifactKind, checked: usize) -> Self {
        Self {
            kind,
            valid: true,
            checked,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Schema,
    Count,
    Duplicate,
    Phantom,
    Consistency,
    Unavailable,
}

/// The 422 body: `{"kind": error_kind, "path": p, "message": m}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    pub kind: ErrorKind,
    pub path: String,
    pub message: String,
}

impl ValidationError {
    fn new(kind: ErrorKind, path: impl Into<String>, message: String) -> Self {
        Self {
            kind,
            path: path.into(),
            message,
        }
    }

    /// A `schema` error: the message is always `{path}: expected {what}`.
    fn schema(path: impl Into<String>, what: &str) -> Self {
        let path = path.into();
        let message = format!("{path}: expected {what}");
        Self::new(ErrorKind::Schema, path, message)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

pub type Outcome = Result<ValidationReport, ValidationError>;

/// Validates a raw `/v1/validate` request body `{kind, artifact, context}`.
///
/// Any body that is not a JSON object — not JSON at all, not UTF-8, an
/// array — is a `schema` error at `$`.
pub fn validate_body(body: &[u8], roster: &Roster) -> Outcome {
    let request: Value = serde_json::from_slice(body).map_err(|_| ValidationError::schema("$", "object"))?;
    validate_request(&request, roster)
}

/// Validates a parsed `/v1/validate` request. `artifact` and `context`
/// absent count as `null`.
pub fn validate_request(request: &Value, roster: &Roster) -> Outcome {
    let request = request
        .as_object()
        .ok_or_else(|| ValidationError::schema("$", "object"))?;
    let kind = request
        .get("kind")
        .and_then(Value::as_str)
        .and_then(ArtifactKind::parse)
        .ok_or_else(|| ValidationError::schema("kind", "one of fill, email, playbook"))?;
    let artifact = request.get("artifact").unwrap_or(&Value::Null);
    let context = request.get("context").unwrap_or(&Value::Null);
    validate(kind, artifact, context, roster)
}

/// Runs the validator for `kind`.
pub fn validate(kind: ArtifactKind, artifact: &Value, context: &Value, roster: &Roster) -> Outcome {
    match kind {
        ArtifactKind::Fill => validate_fill(artifact, context, roster),
        ArtifactKind::Email => validate_email(artifact, context, roster),
        ArtifactKind::Playbook => validate_playbook(artifact),
    }
}

fn validate_fill(artifact: &Value, context: &Value, roster: &Roster) -> Outcome {
    let context = require_object(context, "context")?;
    // An integer is a number written without fraction or exponent; with
    // serde_json's number model that is a u64 (or i64, never >= 1 here).
    let target_count = context
        .get("target_count")
        .and_then(Value::as_u64)
        .filter(|&n| n >= 1)
        .ok_or_else(|| ValidationError::schema("context.target_count", "integer >= 1"))?;
    let contract_city = require_non_empty_str(context, "city", "context")?;
    let contract_state = require_non_empty_str(context, "state", "context")?;
    let contract_role = require_non_empty_str(context, "role", "context")?;

    let artifact = require_object(artifact, "artifact")?;
    let fills = artifact
        .get("fills")
        .and_then(Value::as_array)
        .ok_or_else(|| ValidationError::schema("artifact.fills", "array"))?;

    // Shape of every fill before anything else.
    let ids = fills
        .iter()
        .enumerate()
        .map(|(i, fill)| {
            let path = format!("artifact.fills[{i}]");
            let fill = require_object(fill, &path)?;
            require_non_empty_str(fill, "candidate_id", &path)
        })
        .collect::<Result<Vec<&str>, _>>()?;

    if ids.len() as u64 != target_count {
        return Err(ValidationError::new(
            ErrorKind::Count,
            "artifact.fills",
            format!("expected {target_count} fills, got {}", ids.len()),
        ));
    }

    let id_path = |i: usize| format!("artifact.fills[{i}].candidate_id");

    let mut seen = HashSet::with_capacity(ids.len());
    if let Some((i, id)) = ids.iter().enumerate().find(|(_, id)| !seen.insert(**id)) {
        return Err(ValidationError::new(
            ErrorKind::Duplicate,
            id_path(i),
            format!("candidate '{id}' appears more than once"),
        ));
    }

    // Every id is in the roster before any worker is compared.
    let workers = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            roster.find(id).ok_or_else(|| {
                ValidationError::new(
                    ErrorKind::Phantom,
                    id_path(i),
                    format!("candidate '{id}' is not in the roster"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    for (i, worker) in workers.iter().enumerate() {
        let pairs = [
            ("city", &worker.city, contract_city),
            ("state", &worker.state, contract_state),
            ("role", &worker.role, contract_role),
        ];
        for (field, worker_value, contract_value) in pairs {
            if worker_value != contract_value {
                return Err(mismatch(id_path(i), field, worker_value, contract_value));
            }
        }
    }

    if let Some((i, worker)) = workers.iter().enumerate().find(|(_, w)| !w.available) {
        return Err(ValidationError::new(
            ErrorKind::Unavailable,
            id_path(i),
            format!("candidate '{}' is not available", worker.candidate_id),
        ));
    }

    Ok(ValidationReport::passed(ArtifactKind::Fill, ids.len()))
}

const MAX_SUBJECT_CHARS: usize = 200;

fn validate_email(artifact: &Value, context: &Value, roster: &Roster) -> Outcome {
    let context = require_object(context, "context")?;
    let contract_id = require_non_empty_str(context, "candidate_id", "context")?;

    let artifact = require_object(artifact, "artifact")?;
    let candidate_id = require_non_empty_str(artifact, "candidate_id", "artifact")?;
    let subject = require_non_empty_str(artifact, "subject", "artifact")?;
    require_non_empty_str(artifact, "body", "artifact")?;

    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ValidationError::schema("artifact.subject", "at most 200 characters"));
    }
    if candidate_id != contract_id {
        return Err(mismatch(
            "artifact.candidate_id".to_owned(),
            "candidate_id",
            candidate_id,
            contract_id,
        ));
    }
    if !roster.contains(candidate_id) {
        return Err(ValidationError::new(
            ErrorKind::Phantom,
            "artifact.candidate_id",
            format!("candidate '{candidate_id}' is not in the roster"),
        ));
    }
    Ok(ValidationReport::passed(ArtifactKind::Email, 1))
}

const MAX_STEPS: usize = 20;

fn validate_playbook(artifact: &Value) -> Outcome {
    let artifact = require_object(artifact, "artifact")?;
    require_non_empty_str(artifact, "title", "artifact")?;
    let steps = artifact
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| ValidationError::schema("artifact.steps", "array"))?;
    if !(1..=MAX_STEPS).contains(&steps.len()) {
        return Err(ValidationError::schema("artifact.steps", "1 to 20 items"));
    }
    if let Some(i) = steps.iter().position(|step| !is_non_empty_str(step)) {
        return Err(ValidationError::schema(
            format!("artifact.steps[{i}]"),
            "non-empty string",
        ));
    }
    Ok(ValidationReport::passed(ArtifactKind::Playbook, steps.len()))
}

fn mismatch(path: String, field: &str, actual: &str, expected: &str) -> ValidationError {
    ValidationError::new(
        ErrorKind::Consistency,
        path,
        format!("{field} '{actual}' doesn't match contract {field} '{expected}'"),
    )
}

fn require_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ValidationError> {
    value.as_object().ok_or_else(|| ValidationError::schema(path, "object"))
}

fn require_non_empty_str<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    parent: &str,
) -> Result<&'a str, ValidationError> {
    object
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ValidationError::schema(format!("{parent}.{field}"), "non-empty string"))
}

fn is_non_empty_str(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Worker;
    use serde_json::json;

    fn worker(id: &str, city: &str, state: &str, role: &str, available: bool) -> Worker {
        Worker {
            candidate_id: id.into(),
            name: format!("Worker {id}"),
            city: city.into(),
            state: state.into(),
            role: role.into(),
            available,
        }
    }

    fn roster() -> Roster {
        Roster::from_workers([
            worker("W-1", "Louisville", "KY", "Welder", true),
            worker("W-2", "Toledo", "OH", "Welder", true),
            worker("W-3", "Toledo", "OH", "Welder", true),
            worker("W-4", "Toledo", "OH", "Electrician", true),
            worker("W-5", "Toledo", "OH", "Welder", false),
            worker("W-6", "Toledo", "MI", "Welder", true),
        ])
    }

    fn check(request: Value) -> Outcome {
        validate_request(&request, &roster())
    }

    /// Asserts an error's kind, path and exact message.
    fn assert_err(request: Value, kind: ErrorKind, path: &str, message: &str) {
        let err = check(request.clone()).expect_err(&format!("expected an error for {request}"));
        assert_eq!(
            (err.kind, err.path.as_str(), err.message.as_str()),
            (kind, path, message),
            "request {request}"
        );
    }

    fn toledo(target_count: Value) -> Value {
        json!({"target_count": target_count, "city": "Toledo", "state": "OH", "role": "Welder"})
    }

    fn fill(ids: &[&str], target_count: u64) -> Value {
        let fills: Vec<Value> = ids.iter().map(|id| json!({"candidate_id": id})).collect();
        json!({"kind": "fill", "artifact": {"fills": fills}, "context": toledo(json!(target_count))})
    }

    // ── envelope ──

    #[test]
    fn body_that_is_not_an_object() {
        let roster = roster();
        for body in [
            &b"not json"[..],
            b"",
            b"[1]",
            b"\"fill\"",
            b"null",
            b"\xff\xfe{}",
            b"{\"kind\": \"fill\"",
        ] {
            let err = validate_body(body, &roster).unwrap_err();
            assert_eq!(
                err,
                ValidationError {
                    kind: ErrorKind::Schema,
                    path: "$".into(),
                    message: "$: expected object".into()
                }
            );
        }
    }

    #[test]
    fn unknown_or_missing_kind() {
        let message = "kind: expected one of fill, email, playbook";
        assert_err(json!({}), ErrorKind::Schema, "kind", message);
        assert_err(json!({"kind": "Fill"}), ErrorKind::Schema, "kind", message);
        assert_err(json!({"kind": 1}), ErrorKind::Schema, "kind", message);
        assert_err(json!({"kind": null}), ErrorKind::Schema, "kind", message);
    }

    // ── fill ──

    #[test]
    fn fill_accepts_a_grounded_fill() {
        assert_eq!(
            check(fill(&["W-2", "W-3"], 2)),
            Ok(ValidationReport::passed(ArtifactKind::Fill, 2))
        );
    }

    #[test]
    fn fill_context_checks() {
        assert_err(
            json!({"kind": "fill", "artifact": {"fills": []}}),
            ErrorKind::Schema,
            "context",
            "context: expected object",
        );
        for bad in [json!(0), json!(-1), json!(2.0), json!("2"), json!(null), json!(1e2)] {
            let mut request = fill(&["W-2"], 1);
            request["context"]["target_count"] = bad;
            assert_err(
                request,
                ErrorKind::Schema,
                "context.target_count",
                "context.target_count: expected integer >= 1",
            );
        }
        for field in ["city", "state", "role"] {
            let mut request = fill(&["W-2"], 1);
            request["context"][field] = json!("");
            let path = format!("context.{field}");
            assert_err(
                request,
                ErrorKind::Schema,
                &path,
                &format!("{path}: expected non-empty string"),
            );
        }
        // city is checked before state.
        let mut request = fill(&["W-2"], 1);
        request["context"]["city"] = json!(7);
        request["context"]["state"] = json!(null);
        assert_err(
            request,
            ErrorKind::Schema,
            "context.city",
            "context.city: expected non-empty string",
        );
    }

    #[test]
    fn fill_artifact_shape() {
        let context = toledo(json!(1));
        assert_err(
            json!({"kind": "fill", "context": context}),
            ErrorKind::Schema,
            "artifact",
            "artifact: expected object",
        );
        assert_err(
            json!({"kind": "fill", "artifact": {"fills": {}}, "context": context}),
            ErrorKind::Schema,
            "artifact.fills",
            "artifact.fills: expected array",
        );
        assert_err(
            json!({"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-2"}, "W-3"]}, "context": context}),
            ErrorKind::Schema,
            "artifact.fills[1]",
            "artifact.fills[1]: expected object",
        );
        assert_err(
            json!({"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-2"}, {"candidate_id": ""}]}, "context": context}),
            ErrorKind::Schema,
            "artifact.fills[1].candidate_id",
            "artifact.fills[1].candidate_id: expected non-empty string",
        );
    }

    #[test]
    fn fill_shape_is_checked_before_count() {
        // Two fills for a target of one, the second malformed: shape wins.
        let request =
            json!({"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-2"}, {}]}, "context": toledo(json!(1))});
        assert_err(
            request,
            ErrorKind::Schema,
            "artifact.fills[1].candidate_id",
            "artifact.fills[1].candidate_id: expected non-empty string",
        );
    }

    #[test]
    fn fill_count() {
        assert_err(
            fill(&["W-2"], 2),
            ErrorKind::Count,
            "artifact.fills",
            "expected 2 fills, got 1",
        );
        assert_err(
            fill(&[], 1),
            ErrorKind::Count,
            "artifact.fills",
            "expected 1 fills, got 0",
        );
    }

    #[test]
    fn fill_duplicate_names_the_later_occurrence() {
        assert_err(
            fill(&["W-2", "W-3", "W-2"], 3),
            ErrorKind::Duplicate,
            "artifact.fills[2].candidate_id",
            "candidate 'W-2' appears more than once",
        );
    }

    #[test]
    fn fill_phantom() {
        assert_err(
            fill(&["W-2", "W-99"], 2),
            ErrorKind::Phantom,
            "artifact.fills[1].candidate_id",
            "candidate 'W-99' is not in the roster",
        );
    }

    #[test]
    fn fill_phantom_is_checked_before_consistency() {
        assert_err(
            fill(&["W-1", "W-99"], 2),
            ErrorKind::Phantom,
            "artifact.fills[1].candidate_id",
            "candidate 'W-99' is not in the roster",
        );
    }

    #[test]
    fn fill_consistency_seed_message() {
        assert_err(
            fill(&["W-1"], 1),
            ErrorKind::Consistency,
            "artifact.fills[0].candidate_id",
            "city 'Louisville' doesn't match contract city 'Toledo'",
        );
        assert_err(
            fill(&["W-2", "W-6"], 2),
            ErrorKind::Consistency,
            "artifact.fills[1].candidate_id",
            "state 'MI' doesn't match contract state 'OH'",
        );
        assert_err(
            fill(&["W-4"], 1),
            ErrorKind::Consistency,
            "artifact.fills[0].candidate_id",
            "role 'Electrician' doesn't match contract role 'Welder'",
        );
    }

    #[test]
    fn fill_comparisons_are_exact() {
        let mut request = fill(&["W-2"], 1);
        request["context"]["city"] = json!("toledo");
        assert_err(
            request,
            ErrorKind::Consistency,
            "artifact.fills[0].candidate_id",
            "city 'Toledo' doesn't match contract city 'toledo'",
        );
        assert_err(
            fill(&["W-2 "], 1),
            ErrorKind::Phantom,
            "artifact.fills[0].candidate_id",
            "candidate 'W-2 ' is not in the roster",
        );
    }

    #[test]
    fn fill_consistency_is_checked_before_availability() {
        assert_err(
            fill(&["W-5", "W-4"], 2),
            ErrorKind::Consistency,
            "artifact.fills[1].candidate_id",
            "role 'Electrician' doesn't match contract role 'Welder'",
        );
    }

    #[test]
    fn fill_unavailable() {
        assert_err(
            fill(&["W-2", "W-5"], 2),
            ErrorKind::Unavailable,
            "artifact.fills[1].candidate_id",
            "candidate 'W-5' is not available",
        );
    }

    #[test]
    fn fill_allows_other_keys() {
        let request = json!({"kind": "fill", "artifact": {"fills": [{"candidate_id": "W-2", "note": 1}], "x": true}, "context": toledo(json!(1))});
        assert!(check(request).is_ok());
    }

    // ── email ──

    fn email(artifact: Value, contract_id: &str) -> Value {
        json!({"kind": "email", "artifact": artifact, "context": {"candidate_id": contract_id}})
    }

    #[test]
    fn email_accepts() {
        let request = email(json!({"candidate_id": "W-1", "subject": "Shift", "body": "Hi"}), "W-1");
        assert_eq!(check(request), Ok(ValidationReport::passed(ArtifactKind::Email, 1)));
    }

    #[test]
    fn email_schema_errors() {
        assert_err(
            json!({"kind": "email", "context": []}),
            ErrorKind::Schema,
            "context",
            "context: expected object",
        );
        assert_err(
            json!({"kind": "email", "context": {}}),
            ErrorKind::Schema,
            "context.candidate_id",
            "context.candidate_id: expected non-empty string",
        );
        assert_err(
            json!({"kind": "email", "context": {"candidate_id": "W-1"}}),
            ErrorKind::Schema,
            "artifact",
            "artifact: expected object",
        );
        for field in ["candidate_id", "subject", "body"] {
            let mut artifact = json!({"candidate_id": "W-1", "subject": "s", "body": "b"});
            artifact.as_object_mut().unwrap().remove(field);
            let path = format!("artifact.{field}");
            assert_err(
                email(artifact, "W-1"),
                ErrorKind::Schema,
                &path,
                &format!("{path}: expected non-empty string"),
            );
        }
    }

    #[test]
    fn email_subject_length_counts_characters() {
        let ok = "é".repeat(200);
        assert!(check(email(json!({"candidate_id": "W-1", "subject": ok, "body": "b"}), "W-1")).is_ok());
        let too_long = "é".repeat(201);
        assert_err(
            email(json!({"candidate_id": "W-1", "subject": too_long, "body": "b"}), "W-1"),
            ErrorKind::Schema,
            "artifact.subject",
            "artifact.subject: expected at most 200 characters",
        );
    }

    #[test]
    fn email_consistency_then_phantom() {
        assert_err(
            email(json!({"candidate_id": "W-2", "subject": "s", "body": "b"}), "W-1"),
            ErrorKind::Consistency,
            "artifact.candidate_id",
            "candidate_id 'W-2' doesn't match contract candidate_id 'W-1'",
        );
        assert_err(
            email(json!({"candidate_id": "W-99", "subject": "s", "body": "b"}), "W-99"),
            ErrorKind::Phantom,
            "artifact.candidate_id",
            "candidate 'W-99' is not in the roster",
        );
    }

    // ── playbook ──

    #[test]
    fn playbook_accepts_and_ignores_context() {
        let request = json!({"kind": "playbook", "artifact": {"title": "T", "steps": ["a", " "]}, "context": 42});
        assert_eq!(check(request), Ok(ValidationReport::passed(ArtifactKind::Playbook, 2)));
    }

    #[test]
    fn playbook_errors() {
        assert_err(
            json!({"kind": "playbook"}),
            ErrorKind::Schema,
            "artifact",
            "artifact: expected object",
        );
        assert_err(
            json!({"kind": "playbook", "artifact": {"steps": ["a"]}}),
            ErrorKind::Schema,
            "artifact.title",
            "artifact.title: expected non-empty string",
        );
        assert_err(
            json!({"kind": "playbook", "artifact": {"title": "T"}}),
            ErrorKind::Schema,
            "artifact.steps",
            "artifact.steps: expected array",
        );
        assert_err(
            json!({"kind": "playbook", "artifact": {"title": "T", "steps": []}}),
            ErrorKind::Schema,
            "artifact.steps",
            "artifact.steps: expected 1 to 20 items",
        );
        let steps: Vec<String> = (0..21).map(|i| format!("step {i}")).collect();
        assert_err(
            json!({"kind": "playbook", "artifact": {"title": "T", "steps": steps}}),
            ErrorKind::Schema,
            "artifact.steps",
            "artifact.steps: expected 1 to 20 items",
        );
        assert_err(
            json!({"kind": "playbook", "artifact": {"title": "T", "steps": ["a", "", 3]}}),
            ErrorKind::Schema,
            "artifact.steps[1]",
            "artifact.steps[1]: expected non-empty string",
        );
    }

    // ── wire shape ──

    #[test]
    fn wire_bodies() {
        let ok = serde_json::to_string(&ValidationReport::passed(ArtifactKind::Fill, 2)).unwrap();
        assert_eq!(ok, r#"{"kind":"fill","valid":true,"checked":2}"#);
        let err = check(fill(&["W-1"], 1)).unwrap_err();
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"kind":"consistency","path":"artifact.fills[0].candidate_id","message":"city 'Louisville' doesn't match contract city 'Toledo'"}"#
        );
    }
}
