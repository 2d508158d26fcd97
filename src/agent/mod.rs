//! The in-cluster agent: reconciles every `Sync` (a `ferry.dev/v1alpha1` custom resource,
//! `deploy/sync-crd.yaml`) on its own schedule, keeps its status, sends events and exports
//! metrics. Dependencies point one way: the agent uses [`crate::apply`] and
//! [`crate::artifact`], never the other way round.
//!
//! [`spec`] reads and checks a Sync, [`fetch`] resolves and pulls its artifact, [`reconcile`]
//! is one sync's loop, [`leader`] decides which agent runs a sync, [`status`], [`events`] and
//! [`metrics`] report; [`run`] watches the Syncs (a list, then a watch) and runs one independent task per sync.

pub mod bootstrap;
pub mod client;
pub mod events;
pub mod fetch;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod spec;
pub mod status;
pub mod tenant_status;

use leader::Leader;
use reconcile::{until_shutdown, Worker};
use spec::{SpecError, Sync};
use status::SyncStatus;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The namespace whose Syncs are watched; `None`: every namespace.
    pub namespace: Option<String>,
    /// How long to wait before listing the Syncs again after a list or watch failed.
    pub poll: Duration,
    /// How long an apply in flight gets to reach a stage boundary after a shutdown or timeout.
    pub grace: Duration,
    /// The first wait after a failure; doubled per further failure, capped by the interval.
    pub backoff_base: Duration,
    /// The same event is sent at most once per this window.
    pub event_window: Duration,
    pub field_manager: String,
    /// This agent's name in Leases and events.
    pub identity: String,
    /// The repository commit statuses go to when an artifact names no source.
    pub notify_source: Option<String>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            namespace: Some("ferry-system".into()),
            poll: Duration::from_secs(5),
            grace: Duration::from_secs(20),
            backoff_base: Duration::from_secs(10),
            event_window: Duration::from_secs(600),
            field_manager: "ferry".into(),
            identity: default_identity(),
            notify_source: None,
        }
    }
}

/// The pod's name (`HOSTNAME` in a pod) and a random suffix, so two processes never share one.
pub fn default_identity() -> String {
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "ferry-agent".into());
    let suffix: u32 = rand::random();
    format!("{host}-{suffix:08x}")
}

/// What every sync's task shares.
pub struct Shared {
    pub client: kube::Client,
    /// Makes the clients that act as tenants; `None`: artifacts with tenants are refused.
    pub impersonate: Option<Arc<dyn crate::apply::Impersonate>>,
    pub leader: Arc<dyn Leader>,
    pub events: events::Recorder,
    pub metrics: Arc<metrics::Metrics>,
    pub opts: AgentOptions,
    pub shutdown: watch::Receiver<bool>,
    /// Where reconciliation outcomes, drift and refusals are sent (disabled by default).
    pub notifier: crate::notify::Notifier,
}

impl Shared {
    pub fn new(
        client: kube::Client,
        leader: Arc<dyn Leader>,
        metrics: Arc<metrics::Metrics>,
        opts: AgentOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Shared> {
        Shared::notifying(
            client,
            leader,
            metrics,
            opts,
            shutdown,
            crate::notify::Notifier::disabled(),
        )
    }

    /// As [`Shared::new`], sending notifications through `notifier`.
    pub fn notifying(
        client: kube::Client,
        leader: Arc<dyn Leader>,
        metrics: Arc<metrics::Metrics>,
        opts: AgentOptions,
        shutdown: watch::Receiver<bool>,
        notifier: crate::notify::Notifier,
    ) -> Arc<Shared> {
        let events =
            events::Recorder::new(client.clone(), opts.identity.clone(), opts.event_window);
        Arc::new(Shared {
            client,
            impersonate: None,
            leader,
            events,
            metrics,
            opts,
            shutdown,
            notifier,
        })
    }
}

/// What the agent's health endpoint reads.
#[derive(Debug, Default)]
pub struct AgentHealth {
    pub loop_health: crate::apply::schedule::LoopHealth,
}

/// One sync's task: a pass, then wait for the next (or for a change of the Sync, or for the
/// shutdown). Ends when the Sync is deleted or the agent stops.
async fn sync_task(shared: Arc<Shared>, mut rx: watch::Receiver<Sync>, status: SyncStatus) {
    let mut worker = Worker::new(shared.clone(), status);
    let mut shutdown = shared.shutdown.clone();
    let mut last = rx.borrow_and_update().clone();
    let grace = shared.opts.grace + Duration::from_secs(2);
    loop {
        // On shutdown the pass gets the grace period: an apply stops at its next stage
        // boundary by itself; a resolve or pull in flight is dropped (nothing was written).
        let wait = {
            let pass = worker.pass(&last);
            tokio::pin!(pass);
            tokio::select! {
                w = &mut pass => Some(w),
                _ = until_shutdown(&mut shutdown) => tokio::time::timeout(grace, &mut pass).await.ok(),
            }
        };
        let Some(wait) = wait else { break };
        let stop = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            changed = rx.changed() => changed.is_err(),
            _ = until_shutdown(&mut shutdown) => true,
        };
        if stop || *shutdown.borrow() {
            break;
        }
        last = rx.borrow_and_update().clone();
    }
    let key = last.key();
    shared.leader.release(&last.namespace, &last.name).await;
    if rx.has_changed().is_err() {
        shared.metrics.remove(&key);
    }
}

/// Watches the Syncs and runs one task per valid Sync until `shared.shutdown` says stop; then
/// waits for every task to end (each finishes or abandons its apply within the grace period).
///
/// The tasks run on a [`tokio::task::LocalSet`] of their own (the agent runs on one thread;
/// the blocking registry calls go to tokio's blocking pool), so `run` is awaited, not spawned.
pub async fn run(shared: Arc<Shared>, health: Arc<AgentHealth>) {
    tokio::task::LocalSet::new()
        .run_until(supervise(shared, health))
        .await
}

/// The tasks by `namespace/name`, and the Syncs refused as invalid (with the error said).
#[derive(Default)]
struct Tasks {
    running: HashMap<String, (watch::Sender<Sync>, tokio::task::JoinHandle<()>)>,
    invalid: HashMap<String, String>,
}

impl Tasks {
    /// A Sync as listed or watched: its task is started or told of the change; an invalid one
    /// stops its task (nothing is applied from a declaration nobody can read).
    async fn upsert(&mut self, shared: &Arc<Shared>, obj: &serde_json::Value) -> String {
        let key = object_key(obj);
        match Sync::from_object(obj) {
            Ok(sync) => {
                self.invalid.remove(&key);
                match self.running.get(&key) {
                    Some((tx, _)) => {
                        tx.send_if_modified(|old| {
                            let changed = *old != sync;
                            if changed {
                                *old = sync.clone();
                            }
                            changed
                        });
                    }
                    None => {
                        let (tx, rx) = watch::channel(sync);
                        let status = SyncStatus::from_object(obj);
                        let handle =
                            tokio::task::spawn_local(sync_task(shared.clone(), rx, status));
                        self.running.insert(key.clone(), (tx, handle));
                    }
                }
            }
            Err(e) => {
                self.running.remove(&key);
                if self.invalid.get(&key) != Some(&e.to_string()) {
                    self.invalid.insert(key.clone(), e.to_string());
                    stall(shared, obj, &e).await;
                }
            }
        }
        key
    }

    /// The Sync is gone: dropping its sender ends its task after the pass in flight.
    fn remove(&mut self, key: &str) {
        self.running.remove(key);
        self.invalid.remove(key);
    }
}

fn object_key(obj: &serde_json::Value) -> String {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    format!("{ns}/{name}")
}

/// Why a watch ended.
enum WatchEnd {
    /// The server closed it (its timeout): watch again from the version reached.
    Closed,
    /// The version is too old, or the watch failed: list again.
    Relist(String),
    Shutdown,
}

/// Lists the Syncs once, then follows their changes with a watch (re-opened from the last
/// version seen when the server closes it), so an idle agent reads nothing but the changes.
/// A failed list or watch is retried after `--poll` with a fresh list.
async fn supervise(shared: Arc<Shared>, health: Arc<AgentHealth>) {
    let mut tasks = Tasks::default();
    let mut shutdown = shared.shutdown.clone();
    let ns = shared.opts.namespace.clone();
    'list: loop {
        let mut version = match client::list_at(&shared.client, ns.as_deref()).await {
            Ok((objects, version)) => {
                health.loop_health.record(true);
                let mut seen = std::collections::HashSet::new();
                for obj in &objects {
                    seen.insert(tasks.upsert(&shared, obj).await);
                }
                tasks.running.retain(|k, _| seen.contains(k));
                tasks.invalid.retain(|k, _| seen.contains(k));
                version
            }
            Err(e) => {
                health.loop_health.record(false);
                eprintln!("agent: cannot list Syncs: {e}");
                String::new()
            }
        };
        while !version.is_empty() {
            match follow(&shared, &health, &mut tasks, &mut version, &mut shutdown).await {
                WatchEnd::Closed => {}
                WatchEnd::Relist(why) => {
                    eprintln!("agent: watching Syncs: {why}; listing them again");
                    break;
                }
                WatchEnd::Shutdown => break 'list,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.opts.poll) => {}
            _ = until_shutdown(&mut shutdown) => break,
        }
    }
    for (_, (tx, handle)) in tasks.running {
        let _ = handle.await;
        drop(tx);
    }
}

/// One watch request: applies each change to `tasks` and moves `version` along.
async fn follow(
    shared: &Arc<Shared>,
    health: &AgentHealth,
    tasks: &mut Tasks,
    version: &mut String,
    shutdown: &mut watch::Receiver<bool>,
) -> WatchEnd {
    use futures::StreamExt;
    use kube::api::WatchEvent;
    let stream =
        match client::watch(&shared.client, shared.opts.namespace.as_deref(), version).await {
            Ok(s) => s,
            Err(e) => return WatchEnd::Relist(e.to_string()),
        };
    // The loop is alive while watches open and close as they should.
    health.loop_health.record(true);
    tokio::pin!(stream);
    loop {
        let event = tokio::select! {
            e = stream.next() => e,
            _ = until_shutdown(shutdown) => return WatchEnd::Shutdown,
        };
        let object = |o: &kube::api::DynamicObject| serde_json::to_value(o).ok();
        match event {
            None => return WatchEnd::Closed,
            Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                if let Some(rv) = o.metadata.resource_version.clone() {
                    *version = rv;
                }
                if let Some(v) = object(&o) {
                    tasks.upsert(shared, &v).await;
                }
            }
            Some(Ok(WatchEvent::Deleted(o))) => {
                if let Some(rv) = o.metadata.resource_version.clone() {
                    *version = rv;
                }
                if let Some(v) = object(&o) {
                    tasks.remove(&object_key(&v));
                }
            }
            Some(Ok(WatchEvent::Bookmark(b))) => *version = b.metadata.resource_version,
            // 410 Gone: the version left the server's window; anything else is as bad.
            Some(Ok(WatchEvent::Error(e))) => return WatchEnd::Relist(e.to_string()),
            Some(Err(e)) => return WatchEnd::Relist(e.to_string()),
        }
    }
}

/// Marks an invalid Sync Stalled, with the field at fault, and says so in an event.
async fn stall(shared: &Shared, obj: &serde_json::Value, e: &SpecError) {
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    let mut status = SyncStatus::from_object(obj);
    let now = reconcile::now_rfc3339();
    status.stalled(generation, "InvalidSpec", &e.to_string(), &now);
    if let Err(err) = client::write_status(&shared.client, &e.namespace, &e.name, &status).await {
        eprintln!(
            "agent: {}/{}: cannot write status: {err}",
            e.namespace, e.name
        );
    }
    eprintln!("agent: {e}");
    let about = events::About {
        namespace: &e.namespace,
        name: &e.name,
        uid: obj["metadata"]["uid"].as_str().unwrap_or_default(),
    };
    shared
        .events
        .event(
            about,
            events::EventType::Warning,
            "InvalidSpec",
            &e.to_string(),
        )
        .await;
}
