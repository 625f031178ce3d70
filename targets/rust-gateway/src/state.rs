//! What every handler shares: the gateway's settings and its state.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::langfuse::Emitter;
use crate::roster::Roster;
use crate::session_log::SessionLogger;

/// Default upstream request timeout (decisions §4).
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);
/// The iterate hops wait this much longer than the upstream call they wrap.
pub const HOP_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// Run-time settings of one gateway.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of the chat-completions upstream, e.g. `http://127.0.0.1:11434`.
    pub upstream: String,
    pub upstream_timeout: Duration,
    /// Session log file; empty turns the log off.
    pub session_log: PathBuf,
    /// Where trace events go; `None` turns tracing off (contract §7).
    pub tracer: Option<Emitter>,
}

/// State shared by every handler.
#[derive(Debug)]
pub struct AppState {
    pub roster: Roster,
    pub http: reqwest::Client,
    upstream: String,
    pub upstream_timeout: Duration,
    /// `http://127.0.0.1:<port>`: where the iterate hops go.
    self_base: String,
    pub session_log: SessionLogger,
    pub tracer: Option<Emitter>,
}

impl AppState {
    /// Builds the state for a gateway listening on 127.0.0.1:`port`.
    pub fn new(config: Config, roster: Roster, port: u16) -> Result<Self, reqwest::Error> {
        // Every peer is a plain-HTTP address given on the command line or
        // this process itself: no proxy from the environment applies.
        let http = reqwest::Client::builder().no_proxy().build()?;
        Ok(Self {
            roster,
            http,
            upstream: config.upstream.trim_end_matches('/').to_owned(),
            upstream_timeout: config.upstream_timeout,
            self_base: format!("http://127.0.0.1:{port}"),
            session_log: SessionLogger::new(config.session_log),
            tracer: config.tracer,
        })
    }

    pub fn self_url(&self, path: &str) -> String {
        format!("{}{path}", self.self_base)
    }

    pub fn upstream_url(&self, path: &str) -> String {
        format!("{}{path}", self.upstream)
    }

    /// Timeout of one iterate hop: the upstream timeout plus a margin.
    pub fn hop_timeout(&self) -> Duration {
        self.upstream_timeout + HOP_TIMEOUT_MARGIN
    }
}

pub type SharedState = Arc<AppState>;
