//! The sample Rust gateway of the lakehouse-parity harness.
//!
//! It implements the iterate contract (`shared/CONTRACT.md`) and the
//! decisions page (`docs/decisions.md`):
//!
//! * [`extract`] — `extract_json`, pulling the first JSON object out of model output;
//! * [`roster`] — the worker roster (`WorkerLookup`) loaded from JSON Lines;
//! * [`validate`] — the fill / email / playbook validators behind `POST /v1/validate`;
//! * [`session_log`] — the `session.iterate.v1` record and its append-only logger;
//! * [`iterate`] — the generate → validate → retry loop behind `POST /v1/iterate`;
//! * [`state`] — the gateway's settings and the state its handlers share;
//! * [`wire`] — the JSON bodies `/v1/chat` and `/v1/iterate` share;
//! * [`server`] — the axum router, `/health`, `/v1/validate` and `/v1/chat`;
//! * [`langfuse`] — the trace-tree emitter (contract §7): queue, flusher, transport.

pub mod extract;
pub mod iterate;
pub mod langfuse;
pub mod probe;
pub mod roster;
pub mod server;
pub mod session_log;
pub mod state;
pub mod text;
pub mod validate;
pub mod wire;

pub use extract::extract_json;

/// Name of the header that carries the trace id across hops. Header names
/// are case-insensitive; `http` stores them lower-cased.
pub const TRACE_ID_HEADER: &str = "x-lakehouse-trace-id";

/// The value of `daemon` in this runtime's session rows.
pub const DAEMON_NAME: &str = "gateway";
