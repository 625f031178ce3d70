//! The Langfuse emitter (contract §7): event types, a bounded queue, one
//! background flusher and the batch-ingestion transport.
//!
//! The request path only ever calls [`Emitter::emit`], which puts an event
//! on a bounded channel and returns at once; when the channel is full the
//! event is dropped and counted. A single flusher task drains the channel
//! into batches and posts them to `{url}/api/public/ingestion`, one batch
//! at a time so that events reach the collector in the order they were
//! emitted. A batch is serialised once and resent byte for byte, so its
//! envelope ids survive a retry (Langfuse deduplicates by them).
//!
//! This module knows nothing of the handlers: they build the event bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::text::{error_chain, truncate_chars};

/// Path of the batch ingestion endpoint, appended to the configured URL.
pub const INGESTION_PATH: &str = "/api/public/ingestion";
/// Events the queue holds; beyond that new events are dropped.
pub const QUEUE_CAPACITY: usize = 2048;
/// The flusher sends what is queued at least this often.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 64;
/// Most bytes in one batch body: under Langfuse's 3.5 MB limit.
pub const MAX_BATCH_BYTES: usize = 3_000_000;
/// Time to open a connection to the collector.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time for one whole ingestion request, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// A batch that keeps failing in a retryable way is dropped after this
/// many sends.
pub const MAX_SEND_ATTEMPTS: u32 = 3;
/// How long the daemon waits for the queue to drain once it stops.
pub const DRAIN_BOUND: Duration = Duration::from_secs(3);
/// Pause between two sends of a failing batch while draining.
const DRAIN_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Where and as whom to send events.
#[derive(Clone)]
pub struct LangfuseConfig {
    /// Base URL of the Langfuse host, without a trailing slash.
    pub url: String,
    pub public_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for LangfuseConfig {
    // The secret key stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangfuseConfig")
            .field("url", &self.url)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// Langfuse observation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Default,
    Warning,
    Error,
}

/// Body of a `trace-create` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceBody {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

/// Body of a `generation-create` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationBody {
    pub id: String,
    pub trace_id: String,
    pub name: String,
    pub model: String,
    pub model_parameters: Map<String, Value>,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub start_time: String,
    pub end_time: String,
}

/// Body of a `span-create` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanBody {
    pub id: String,
    pub trace_id: String,
    pub name: String,
    pub input: Value,
    pub output: Value,
    pub level: Level,
    pub start_time: String,
    pub end_time: String,
}

/// One ingestion event; the envelope's `type` comes from the variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    TraceCreate(TraceBody),
    GenerationCreate(GenerationBody),
    SpanCreate(SpanBody),
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TraceCreate(_) => "trace-create",
            Self::GenerationCreate(_) => "generation-create",
            Self::SpanCreate(_) => "span-create",
        }
    }
}

/// `{id, type, timestamp, body}`: what the batch holds.
#[derive(Debug, Serialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    body: Event,
}

/// A fresh id for an observation or an envelope: a random UUID (v4).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A point in time as Langfuse reads it: RFC 3339, UTC, microseconds.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Counters of what happened to the events, for the stop report.
#[derive(Debug, Default)]
struct Counters {
    /// Dropped on a full queue.
    dropped: AtomicU64,
    /// In batches the collector took (2xx), including per-event errors.
    delivered: AtomicU64,
    /// Reported as errors inside a 207.
    rejected: AtomicU64,
    /// In batches given up on (4xx, or retries exhausted).
    lost: AtomicU64,
}

/// What became of the events by the time the emitter stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub delivered: u64,
    pub rejected: u64,
    pub lost: u64,
    pub dropped: u64,
    /// Events still queued when the drain bound ran out.
    pub abandoned: bool,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events delivered ({} refused by the collector), {} lost to failed sends, {} dropped on a full queue",
            self.delivered, self.rejected, self.lost, self.dropped
        )?;
        if self.abandoned {
            write!(f, "; gave up draining after {DRAIN_BOUND:?}")?;
        }
        Ok(())
    }
}

/// The handle the handlers hold: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Emitter {
    queue: mpsc::Sender<Envelope>,
    counters: Arc<Counters>,
}

/// The flusher task, kept by whoever stops the daemon.
#[derive(Debug)]
pub struct Flusher {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    counters: Arc<Counters>,
}

/// Starts the flusher on the current tokio runtime.
pub fn start(config: LangfuseConfig) -> Result<(Emitter, Flusher), reqwest::Error> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let (queue, events) = mpsc::channel(QUEUE_CAPACITY);
    let (stop, stopping) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let transport = Transport {
        http,
        endpoint: format!("{}{INGESTION_PATH}", config.url.trim_end_matches('/')),
        config,
    };
    let worker = Worker {
        events,
        transport,
        counters: counters.clone(),
        pending: None,
        carry: None,
    };
    let task = tokio::spawn(worker.run(stopping));
    Ok((
        Emitter {
            queue,
            counters: counters.clone(),
        },
        Flusher { stop, task, counters },
    ))
}

impl Emitter {
    /// Queues one event. Never waits: on a full queue the event is dropped.
    pub fn emit(&self, event: Event) {
        let envelope = Envelope {
            id: new_id(),
            kind: event.kind(),
            timestamp: rfc3339(Utc::now()),
            body: event,
        };
        if self.queue.try_send(envelope).is_err() {
            // Said once: a full queue means a stuck collector, and a line
            // per event would flood stderr.
            if self.counters.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!("warning: langfuse: queue full ({QUEUE_CAPACITY} events); dropping events");
            }
        }
    }
}

impl Flusher {
    /// Stops taking ticks, sends what is still queued and returns within
    /// `bound`, whatever the collector does.
    pub async fn shutdown(self, bound: Duration) -> Report {
        let _ = self.stop.send(true);
        let mut task = self.task;
        let abandoned = match tokio::time::timeout(bound, &mut task).await {
            Ok(_) => false,
            Err(_) => {
                task.abort();
                true
            }
        };
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Report {
            delivered: count(&self.counters.delivered),
            rejected: count(&self.counters.rejected),
            lost: count(&self.counters.lost),
            dropped: count(&self.counters.dropped),
            abandoned,
        }
    }
}

/// A serialised batch and how often it was sent.
struct Batch {
    body: Vec<u8>,
    events: u64,
    attempts: u32,
}

/// How one send ended.
enum Sent {
    /// The collector took the batch (some events may have been refused).
    Taken,
    /// Worth sending again: transport error, timeout, 5xx or 429.
    Retry(String),
    /// Not worth sending again: wrong credentials or a malformed batch.
    Refused(String),
}

struct Worker {
    events: mpsc::Receiver<Envelope>,
    transport: Transport,
    counters: Arc<Counters>,
    /// The batch in flight, kept until it is taken or given up.
    pending: Option<Batch>,
    /// A serialised event that did not fit in the previous batch.
    carry: Option<Vec<u8>>,
}

impl Worker {
    async fn run(mut self, mut stopping: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                // A dropped sender means the daemon is going away too.
                _ = stopping.wait_for(|stop| *stop) => break,
            }
            self.flush().await;
        }
        // No event comes after the stop: the server has finished its requests.
        self.events.close();
        while !self.flush().await {
            tokio::time::sleep(DRAIN_RETRY_PAUSE).await;
        }
    }

    /// Sends batches until the queue is empty (true) or a batch failed in
    /// a way worth retrying later (false).
    async fn flush(&mut self) -> bool {
        loop {
            if self.pending.is_none() {
                self.pending = self.next_batch();
            }
            let Some(batch) = self.pending.as_mut() else {
                return true;
            };
            batch.attempts += 1;
            match self.transport.send(&batch.body).await {
                Sent::Taken => {
                    self.counters.delivered.fetch_add(batch.events, Ordering::Relaxed);
                    self.pending = None;
                }
                Sent::Refused(why) => {
                    eprintln!("warning: langfuse: batch of {} events refused: {why}", batch.events);
                    self.counters.lost.fetch_add(batch.events, Ordering::Relaxed);
                    self.pending = None;
                }
                Sent::Retry(why) if batch.attempts >= MAX_SEND_ATTEMPTS => {
                    eprintln!(
                        "warning: langfuse: batch of {} events dropped after {} sends: {why}",
                        batch.events, batch.attempts
                    );
                    self.counters.lost.fetch_add(batch.events, Ordering::Relaxed);
                    self.pending = None;
                }
                Sent::Retry(_) => return false,
            }
        }
    }

    /// Takes queued events into one batch, within the count and size limits.
    fn next_batch(&mut self) -> Option<Batch> {
        let mut body = b"{\"batch\":[".to_vec();
        let mut events = 0u64;
        while (events as usize) < MAX_BATCH_EVENTS {
            let Some(event) = self.carry.take().or_else(|| self.next_event()) else {
                break;
            };
            // An event too large to share a batch still goes alone.
            if events > 0 && body.len() + event.len() + 2 > MAX_BATCH_BYTES {
                self.carry = Some(event);
                break;
            }
            if events > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&event);
            events += 1;
        }
        if events == 0 {
            return None;
        }
        body.extend_from_slice(b"]}");
        Some(Batch {
            body,
            events,
            attempts: 0,
        })
    }

    fn next_event(&mut self) -> Option<Vec<u8>> {
        loop {
            let envelope = self.events.try_recv().ok()?;
            match serde_json::to_vec(&envelope) {
                Ok(bytes) => return Some(bytes),
                Err(e) => {
                    eprintln!("warning: langfuse: cannot encode a {} event: {e}", envelope.kind);
                    self.counters.lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// A 207 answer: per-event outcomes.
#[derive(Debug, Default, Deserialize)]
struct IngestionAnswer {
    #[serde(default)]
    errors: Vec<IngestionError>,
}

#[derive(Debug, Deserialize)]
struct IngestionError {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: Value,
    #[serde(default)]
    message: Option<String>,
}

struct Transport {
    http: reqwest::Client,
    endpoint: String,
    config: LangfuseConfig,
}

impl Transport {
    async fn send(&self, body: &[u8]) -> Sent {
        let response = self
            .http
            .post(&self.endpoint)
            .basic_auth(&self.config.public_key, Some(&self.config.secret_key))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Sent::Retry(format!("no answer within {REQUEST_TIMEOUT:?}")),
            Err(e) => return Sent::Retry(error_chain(&e)),
        };
        let status = response.status();
        // The answer is read under the same request timeout.
        let answer = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            self.report_event_errors(&answer);
            return Sent::Taken;
        }
        let detail = format!("{status}: {}", truncate_chars(&String::from_utf8_lossy(&answer), 200));
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT
        {
            Sent::Retry(detail)
        } else {
            Sent::Refused(detail)
        }
    }

    /// Langfuse takes a batch with 207 and lists the events it refused;
    /// those are not sent again (the same event would be refused again).
    fn report_event_errors(&self, answer: &[u8]) {
        let Ok(answer) = serde_json::from_slice::<IngestionAnswer>(answer) else {
            return;
        };
        let Some(first) = answer.errors.first() else { return };
        eprintln!(
            "warning: langfuse: collector refused {} events (first: {} {} {})",
            answer.errors.len(),
            first.id,
            first.status,
            first.message.as_deref().unwrap_or("")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_wire_shape() {
        let envelope = Envelope {
            id: "e".into(),
            kind: "span-create",
            timestamp: "t".into(),
            body: Event::SpanCreate(SpanBody {
                id: "s".into(),
                trace_id: "T".into(),
                name: "iterate.attempt[0]".into(),
                input: json!({"iteration": 0}),
                output: json!({"verdict": "accepted"}),
                level: Level::Default,
                start_time: "a".into(),
                end_time: "b".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&envelope).unwrap(),
            json!({"id": "e", "type": "span-create", "timestamp": "t", "body": {
                "id": "s", "traceId": "T", "name": "iterate.attempt[0]", "input": {"iteration": 0},
                "output": {"verdict": "accepted"}, "level": "DEFAULT", "startTime": "a", "endTime": "b"}})
        );
    }

    #[test]
    fn generation_omits_what_it_lacks() {
        let body = GenerationBody {
            id: "g".into(),
            trace_id: "T".into(),
            name: "chat".into(),
            model: "m".into(),
            model_parameters: Map::new(),
            input: json!([]),
            output: None,
            level: Some(Level::Error),
            status_message: Some("boom".into()),
            start_time: "a".into(),
            end_time: "b".into(),
        };
        let value = serde_json::to_value(Event::GenerationCreate(body)).unwrap();
        assert_eq!(value["level"], "ERROR");
        assert_eq!(value["statusMessage"], "boom");
        assert!(value.get("output").is_none());
        assert_eq!(value["modelParameters"], json!({}));
    }

    #[test]
    fn ids_and_times() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
        let at = DateTime::parse_from_rfc3339("2026-05-02T11:24:41.123456Z").unwrap();
        assert_eq!(rfc3339(at.with_timezone(&Utc)), "2026-05-02T11:24:41.123456Z");
    }

    fn worker() -> (mpsc::Sender<Envelope>, Worker) {
        let (queue, events) = mpsc::channel(QUEUE_CAPACITY);
        let worker = Worker {
            events,
            transport: Transport {
                http: reqwest::Client::new(),
                endpoint: String::new(),
                config: LangfuseConfig {
                    url: String::new(),
                    public_key: String::new(),
                    secret_key: String::new(),
                },
            },
            counters: Arc::default(),
            pending: None,
            carry: None,
        };
        (queue, worker)
    }

    fn trace_event(name: &str) -> Envelope {
        Envelope {
            id: new_id(),
            kind: "trace-create",
            timestamp: String::new(),
            body: Event::TraceCreate(TraceBody {
                id: "T".into(),
                name: name.into(),
                input: None,
            }),
        }
    }

    #[test]
    fn batches_respect_count_size_and_order() {
        let (queue, mut worker) = worker();
        for i in 0..(MAX_BATCH_EVENTS + 3) {
            queue.try_send(trace_event(&i.to_string())).unwrap();
        }
        let first = worker.next_batch().unwrap();
        assert_eq!(first.events as usize, MAX_BATCH_EVENTS);
        let parsed: Value = serde_json::from_slice(&first.body).unwrap();
        let names: Vec<&str> = parsed["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["body"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[..3], ["0", "1", "2"]);
        assert_eq!(worker.next_batch().unwrap().events, 3);
        assert!(worker.next_batch().is_none());

        // Two events that do not fit together go in separate batches, in order.
        let big = "x".repeat(MAX_BATCH_BYTES * 2 / 3);
        queue.try_send(trace_event(&big)).unwrap();
        queue.try_send(trace_event(&big)).unwrap();
        queue.try_send(trace_event("after")).unwrap();
        let alone = worker.next_batch().unwrap();
        assert_eq!(alone.events, 1);
        assert!(alone.body.len() > MAX_BATCH_BYTES / 2 && alone.body.len() <= MAX_BATCH_BYTES);
        let next = worker.next_batch().unwrap();
        assert_eq!(next.events, 2);
        let next: Value = serde_json::from_slice(&next.body).unwrap();
        assert_eq!(next["batch"][0]["body"]["name"], big);
        assert_eq!(next["batch"][1]["body"]["name"], "after");
        assert!(worker.next_batch().is_none());
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        let (queue, events) = mpsc::channel(2);
        let emitter = Emitter {
            queue,
            counters: Arc::default(),
        };
        for _ in 0..5 {
            emitter.emit(Event::TraceCreate(TraceBody {
                id: "T".into(),
                name: "chat".into(),
                input: None,
            }));
        }
        assert_eq!(emitter.counters.dropped.load(Ordering::Relaxed), 3);
        drop(events);
    }
}
