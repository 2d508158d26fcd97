//! The in-cluster agent: reconciles every `Sync` (a `ferry.dev/v1alpha1` custom resource,
//! `deploy/sync-crd.yaml`) on its own schedule, keeps its status, sends events and exports
//! metrics. Dependencies point one way: the agent uses [`crate::apply`] and
//! [`crate::artifact`], never the other way round.
//!
//! [`spec`] reads and checks a Sync, [`fetch`] resolves and pulls its artifact, [`reconcile`]
//! is one sync's loop, [`leader`] decides which agent runs a sync, [`status`], [`events`] and
//! [`metrics`] report; [`run`] watches the Syncs and runs one independent task per sync.

pub mod bootstrap;
pub mod client;
pub mod events;
pub mod fetch;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod spec;
pub mod status;

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
    /// How often the list of Syncs is read (new Syncs, changes, reconcile requests).
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

async fn supervise(shared: Arc<Shared>, health: Arc<AgentHealth>) {
    let mut tasks: HashMap<String, (watch::Sender<Sync>, tokio::task::JoinHandle<()>)> =
        HashMap::new();
    let mut invalid: HashMap<String, String> = HashMap::new();
    let mut shutdown = shared.shutdown.clone();
    loop {
        match client::list(&shared.client, shared.opts.namespace.as_deref()).await {
            Ok(objects) => {
                health.loop_health.record(true);
                let mut seen = std::collections::HashSet::new();
                for obj in objects {
                    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
                    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                    let key = format!("{ns}/{name}");
                    seen.insert(key.clone());
                    match Sync::from_object(&obj) {
                        Ok(sync) => {
                            invalid.remove(&key);
                            match tasks.get(&key) {
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
                                    let status = SyncStatus::from_object(&obj);
                                    let handle = tokio::task::spawn_local(sync_task(
                                        shared.clone(),
                                        rx,
                                        status,
                                    ));
                                    tasks.insert(key, (tx, handle));
                                }
                            }
                        }
                        Err(e) => {
                            // An invalid Sync stops its task: nothing is applied from a
                            // declaration nobody can read.
                            tasks.remove(&key);
                            if invalid.get(&key) != Some(&e.to_string()) {
                                invalid.insert(key, e.to_string());
                                stall(&shared, &obj, &e).await;
                            }
                        }
                    }
                }
                tasks.retain(|k, _| seen.contains(k));
                invalid.retain(|k, _| seen.contains(k));
            }
            Err(e) => {
                health.loop_health.record(false);
                eprintln!("agent: cannot list Syncs: {e}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.opts.poll) => {}
            _ = until_shutdown(&mut shutdown) => break,
        }
    }
    for (_, (tx, handle)) in tasks {
        let _ = handle.await;
        drop(tx);
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
