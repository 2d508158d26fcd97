//! The [`Notifier`] handle: events go into a bounded queue and one worker thread (with its own
//! small runtime) routes, dedups and delivers them, so a slow or dead receiver never blocks or
//! slows an apply. A full queue drops the event and counts it.

use super::config::Resolved;
use super::dedup::{Dedup, Verdict};
use super::deliver::{self, DeliveryError};
use super::event::Event;
use super::request::{self, Skip};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events waiting at most; beyond this, new events are dropped (and counted).
pub const DEFAULT_QUEUE: usize = 64;

/// Delivery counters, for metrics and status.
#[derive(Debug, Default)]
pub struct Stats {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub suppressed: AtomicU64,
    pub skipped: AtomicU64,
    /// Requests sent, retries included.
    pub attempts: AtomicU64,
    /// Per environment (a Sync's name), deliveries that failed since the last one that
    /// succeeded, and the last failure's (redacted) message.
    pub failing: std::sync::Mutex<std::collections::BTreeMap<String, Failing>>,
}

/// Deliveries for one environment that keep failing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub failed: u64,
    pub last_error: String,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub delivered: u64,
    pub failed: u64,
    pub dropped: u64,
    pub suppressed: u64,
    pub skipped: u64,
    pub attempts: u64,
}

impl Stats {
    pub fn snapshot(&self) -> Counters {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counters {
            delivered: g(&self.delivered),
            failed: g(&self.failed),
            dropped: g(&self.dropped),
            suppressed: g(&self.suppressed),
            skipped: g(&self.skipped),
            attempts: g(&self.attempts),
        }
    }
}

/// Where the worker reports what happened (already redacted): the CLI prints to stderr, the
/// agent logs.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("notifications need the network, and --offline (or FERRY_OFFLINE) forbids every network access; hint: drop the notification settings or unset FERRY_OFFLINE")]
    Offline,
    #[error("cannot start the notification worker: {0}")]
    Start(String),
}

enum Msg {
    Event(Box<Event>),
    /// Answer on the channel once every event queued before it is handled.
    Flush(SyncSender<()>),
}

/// A cheap, cloneable handle. Dropping every handle ends the worker after the queue drains.
#[derive(Clone)]
pub struct Notifier {
    tx: Option<SyncSender<Msg>>,
    stats: Arc<Stats>,
    link: Option<String>,
}

impl Notifier {
    /// A notifier that sends nothing (no providers configured).
    pub fn disabled() -> Notifier {
        Notifier {
            tx: None,
            stats: Arc::default(),
            link: None,
        }
    }

    /// Start the worker. With no providers this is [`Notifier::disabled`]; with providers and
    /// `offline`, it is refused.
    pub fn start(
        config: Resolved,
        offline: bool,
        capacity: usize,
        log: Log,
    ) -> Result<Notifier, NotifierError> {
        if config.providers.is_empty() {
            return Ok(Notifier::disabled());
        }
        if offline {
            return Err(NotifierError::Offline);
        }
        let client = deliver::client().map_err(NotifierError::Start)?;
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let stats = Arc::new(Stats::default());
        let link = config.link.clone();
        let worker_stats = stats.clone();
        std::thread::Builder::new()
            .name("ferry-notify".into())
            .spawn(move || worker(config, client, rx, worker_stats, log))
            .map_err(|e| NotifierError::Start(e.to_string()))?;
        Ok(Notifier {
            tx: Some(tx),
            stats,
            link,
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queue an event without waiting. The configured link is added when the event has none.
    pub fn send(&self, mut event: Event) {
        let Some(tx) = &self.tx else { return };
        if event.link.is_none() {
            event.link = self.link.clone();
        }
        match tx.try_send(Msg::Event(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait until everything queued so far is delivered, or `deadline` passes (then the rest
    /// is abandoned when the process exits). Returns whether the queue drained.
    pub fn flush(&self, deadline: Duration) -> bool {
        let Some(tx) = &self.tx else { return true };
        let start = Instant::now();
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        // The flush marker itself waits for room, but never past the deadline.
        let mut msg = Msg::Flush(done_tx);
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if start.elapsed() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return false,
            }
        }
        match done_rx.recv_timeout(deadline.saturating_sub(start.elapsed())) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    pub fn stats(&self) -> Counters {
        self.stats.snapshot()
    }

    /// Deliveries about `environment` failing since its last successful one, if any.
    pub fn failing(&self, environment: &str) -> Option<Failing> {
        let map = self.stats.failing.lock().unwrap_or_else(|p| p.into_inner());
        map.get(environment).cloned()
    }
}

fn worker(
    config: Resolved,
    client: reqwest::Client,
    rx: Receiver<Msg>,
    stats: Arc<Stats>,
    log: Log,
) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        log("notifications: cannot start the async runtime; nothing is sent");
        return;
    };
    let mut dedup = Dedup::new(config.dedup, config.summary_after);
    while let Ok(msg) = rx.recv() {
        let event = match msg {
            Msg::Event(e) => *e,
            Msg::Flush(done) => {
                let _ = done.try_send(());
                continue;
            }
        };
        let mut jobs = Vec::new();
        let mut seen = Vec::new();
        for route in config.routes.iter().filter(|r| r.matches(&event)) {
            if seen.contains(&route.provider) {
                continue;
            }
            seen.push(route.provider);
            let p = &config.providers[route.provider];
            let event = match dedup.judge(route.provider, &event, Instant::now()) {
                Verdict::Send(e) => *e,
                Verdict::Suppress => {
                    stats.suppressed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            match request::build(p, &event) {
                Ok(req) => jobs.push((p, req)),
                Err(Skip::NotApplicable(why)) => {
                    stats.skipped.fetch_add(1, Ordering::Relaxed);
                    log(&format!("notifications: not sent: {why}"));
                }
            }
        }
        // Providers of one event in parallel; events in order, so pending precedes success.
        let results = rt.block_on(futures::future::join_all(
            jobs.iter().map(|(p, req)| deliver::send(&client, p, req)),
        ));
        for ((p, _), r) in jobs.iter().zip(results) {
            match r {
                Ok(d) => {
                    stats.delivered.fetch_add(1, Ordering::Relaxed);
                    stats
                        .failing
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&event.environment);
                    stats
                        .attempts
                        .fetch_add(u64::from(d.attempts), Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    let attempts = match &e {
                        DeliveryError::GaveUp { attempts, .. } => *attempts,
                        _ => 1,
                    };
                    stats
                        .attempts
                        .fetch_add(u64::from(attempts), Ordering::Relaxed);
                    let message = p.redact(&e.to_string());
                    {
                        let mut map = stats.failing.lock().unwrap_or_else(|p| p.into_inner());
                        let f = map.entry(event.environment.clone()).or_insert(Failing {
                            failed: 0,
                            last_error: String::new(),
                        });
                        f.failed += 1;
                        f.last_error = format!("{}: {message}", p.name);
                    }
                    log(&format!("notifications: {message}"));
                }
            }
        }
    }
}
