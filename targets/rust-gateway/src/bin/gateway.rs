//! `gateway`: the HTTP server.
//!
//! Flags (decisions §5, and §7 of the contract for Langfuse) fall back to
//! environment variables. A bad flag, a
//! missing or malformed roster or a port in use is one line on stderr and
//! exit code 2.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;
use tokio::net::TcpListener;
use tokio::sync::watch;

use rust_gateway::langfuse::{self, LangfuseConfig};
use rust_gateway::roster::Roster;
use rust_gateway::server::router;
use rust_gateway::state::{AppState, Config};

/// How long in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The lakehouse gateway: /health, /v1/chat, /v1/validate and /v1/iterate on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
struct Args {
    /// Port to listen on (127.0.0.1 only).
    #[arg(long, env = "LAKEHOUSE_PORT", default_value_t = 3100)]
    port: u16,

    /// Base URL of the chat-completions upstream (plain http).
    #[arg(long, env = "LAKEHOUSE_UPSTREAM", default_value = "http://127.0.0.1:11434", value_parser = parse_upstream)]
    upstream: String,

    /// Worker roster, JSON Lines.
    #[arg(long, env = "LAKEHOUSE_ROSTER")]
    roster: PathBuf,

    /// Session log file (JSON Lines); empty turns the log off.
    #[arg(long, env = "LAKEHOUSE_SESSION_LOG", default_value = "")]
    session_log: String,

    /// Upstream request timeout in milliseconds.
    #[arg(long, env = "LAKEHOUSE_UPSTREAM_TIMEOUT_MS", default_value_t = 120_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    upstream_timeout_ms: u64,

    /// Langfuse host that receives the trace tree (plain http); empty turns tracing off.
    #[arg(long, env = "LAKEHOUSE_LANGFUSE_URL", default_value = "", value_parser = parse_langfuse_url)]
    langfuse_url: String,

    /// Langfuse public key (Basic auth user); required with --langfuse-url.
    #[arg(long, env = "LAKEHOUSE_LANGFUSE_PUBLIC_KEY", default_value = "")]
    langfuse_public_key: String,

    /// Langfuse secret key (Basic auth password); required with --langfuse-url.
    #[arg(
        long,
        env = "LAKEHOUSE_LANGFUSE_SECRET_KEY",
        default_value = "",
        hide_env_values = true
    )]
    langfuse_secret_key: String,
}

impl Args {
    /// The emitter's settings: `None` when tracing is off, an error when
    /// the URL is set without both keys.
    fn langfuse(&self) -> Result<Option<LangfuseConfig>, String> {
        if self.langfuse_url.is_empty() {
            return Ok(None);
        }
        if self.langfuse_public_key.is_empty() || self.langfuse_secret_key.is_empty() {
            return Err("--langfuse-url needs --langfuse-public-key and --langfuse-secret-key (see --help)".to_owned());
        }
        Ok(Some(LangfuseConfig {
            url: self.langfuse_url.clone(),
            public_key: self.langfuse_public_key.clone(),
            secret_key: self.langfuse_secret_key.clone(),
        }))
    }
}

/// Empty (tracing off) or a plain-http URL, like `--upstream`.
fn parse_langfuse_url(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    parse_upstream(text)
}

fn parse_upstream(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!("scheme '{}' is not supported (plain http only)", url.scheme()));
    }
    if url.host().is_none() {
        return Err("the URL has no host".to_owned());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// clap's message as one line: the text before the usage block, with the
/// `error:` prefix and any tips dropped.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty() && !line.starts_with("tip:"))
        .collect();
    let joined = parts.join(" ");
    joined.strip_prefix("error: ").unwrap_or(&joined).to_owned()
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("gateway: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(format!("{} (see --help)", one_line(&e))),
    };

    let langfuse = match args.langfuse() {
        Ok(langfuse) => langfuse,
        Err(e) => return fail(e),
    };

    let roster = match Roster::load(&args.roster) {
        Ok(roster) => roster,
        Err(e) => return fail(e),
    };

    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, args.port)).await {
        Ok(listener) => listener,
        Err(e) => return fail(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)),
    };
    let port = listener.local_addr().map_or(args.port, |addr: SocketAddr| addr.port());

    let (tracer, flusher) = match langfuse.clone().map(langfuse::start).transpose() {
        Ok(started) => started.unzip(),
        Err(e) => return fail(format!("cannot build the Langfuse client: {e}")),
    };
    let config = Config {
        upstream: args.upstream.clone(),
        upstream_timeout: Duration::from_millis(args.upstream_timeout_ms),
        session_log: PathBuf::from(&args.session_log),
        tracer,
    };
    let state = match AppState::new(config, roster, port) {
        Ok(state) => Arc::new(state),
        Err(e) => return fail(format!("cannot build the HTTP client: {e}")),
    };

    eprintln!("roster {}: {} workers", args.roster.display(), state.roster.len());
    eprintln!("upstream {} (timeout {} ms)", args.upstream, args.upstream_timeout_ms);
    match state.session_log.path() {
        Some(path) => eprintln!("session log {}", path.display()),
        None => eprintln!("session log off"),
    }
    match &langfuse {
        Some(langfuse) => eprintln!(
            "langfuse {}{} (public key {})",
            langfuse.url,
            langfuse::INGESTION_PATH,
            langfuse.public_key
        ),
        None => eprintln!("langfuse off"),
    }
    let stop_signal = shutdown_signal();
    eprintln!("listening on 127.0.0.1:{port}");

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let server = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        })
        .into_future();
    tokio::pin!(server);

    let result = tokio::select! {
        result = &mut server => result,
        signal = stop_signal => {
            eprintln!("received {signal}, shutting down");
            let _ = stop_tx.send(true);
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    eprintln!("requests still running after {SHUTDOWN_GRACE:?}; exiting anyway");
                    Ok(())
                }
            }
        }
    };

    // The server has finished its requests: no event comes after this.
    if let Some(flusher) = flusher {
        let report = flusher.shutdown(langfuse::DRAIN_BOUND).await;
        eprintln!("langfuse: {report}");
    }

    match result {
        Ok(()) => {
            eprintln!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gateway: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Registers for SIGTERM and SIGINT at once, so that a signal sent right
/// after the ready line is handled rather than killing the process; the
/// future resolves with the name of the first one that arrives.
#[cfg(unix)]
fn shutdown_signal() -> impl Future<Output = &'static str> {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    async fn arrival(registered: std::io::Result<Signal>) {
        match registered {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }
    let terminate = arrival(signal(SignalKind::terminate()));
    let interrupt = arrival(signal(SignalKind::interrupt()));
    async move {
        tokio::select! {
            () = interrupt => "SIGINT",
            () = terminate => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl Future<Output = &'static str> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
