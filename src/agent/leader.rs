//! Who may reconcile a sync: one `coordination.k8s.io/v1` Lease per sync, so two agents (a
//! rolling update, or `replicas: 2`) never apply the same sync at once, while different syncs
//! can be led by different agents.
//!
//! The Lease is taken and kept with [`crate::apply::lease`], the lock `ferry apply` holds per
//! inventory: expiry is judged by this process's clock (the holder's record unchanged for a
//! whole lease duration), never by comparing the holder's `renewTime` with ours, so clock skew
//! between nodes cannot hand a live leader's sync to a second agent.
//!
//! The loop sees only the [`Leader`] trait, so tests can run without a lock ([`Always`]).

use crate::apply::lease::{Attempt, HeldLease, LeaseConfig, LeaseLock};
use futures::future::BoxFuture;
use kube::Client;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A lock per sync.
pub trait Leader: Send + Sync {
    /// Takes or keeps the lock on the sync `namespace/name` for `hold`. `Ok(false)`: another
    /// holder has it and has not gone away.
    fn acquire<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        hold: Duration,
    ) -> BoxFuture<'a, Result<bool, String>>;

    /// Gives the lock up (on shutdown), so another agent takes over at once.
    fn release<'a>(&'a self, namespace: &'a str, name: &'a str) -> BoxFuture<'a, ()>;
}

/// Every sync is this process's: for a single agent and for tests.
pub struct Always;

impl Leader for Always {
    fn acquire<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(true) })
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// One sync's lock: the waiter's view of the Lease and, while leading, the held lease.
struct Slot {
    lock: LeaseLock,
    held: Option<HeldLease>,
}

type SlotRef = Arc<tokio::sync::Mutex<Slot>>;

/// Leases named `ferry-sync-<sync>` in the sync's namespace, held by `identity`.
pub struct LeaseLeader {
    client: Client,
    identity: String,
    /// Per sync, so a slow API call for one sync never holds up another's election.
    slots: Mutex<HashMap<(String, String), SlotRef>>,
}

pub fn lease_name(sync: &str) -> String {
    format!("ferry-sync-{sync}")
}

impl LeaseLeader {
    /// `identity` must be unique per agent process: the pod name plus a random suffix.
    pub fn new(client: Client, identity: impl Into<String>) -> LeaseLeader {
        LeaseLeader {
            client,
            identity: identity.into(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, namespace: &str, name: &str, hold: Duration) -> SlotRef {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry((namespace.to_string(), name.to_string()))
            .or_insert_with(|| {
                let cfg = LeaseConfig {
                    holder: self.identity.clone(),
                    duration: hold,
                    ..LeaseConfig::new(namespace, &lease_name(name))
                };
                Arc::new(tokio::sync::Mutex::new(Slot {
                    lock: LeaseLock::new(self.client.clone(), cfg),
                    held: None,
                }))
            })
            .clone()
    }

    async fn try_acquire(
        &self,
        namespace: &str,
        name: &str,
        hold: Duration,
    ) -> Result<bool, String> {
        let slot = self.slot(namespace, name, hold);
        let mut slot = slot.lock().await;
        if let Some(held) = slot.held.as_mut() {
            // Renewed less than half its duration ago: still safely ours (the caller sizes
            // `hold` so that a pass started now ends within it), and a quiet pass writes nothing.
            if held.since_renewed() < hold / 2 && held.config().duration == hold {
                return Ok(true);
            }
            held.set_duration(hold);
            return match held.renew().await {
                Ok(()) => Ok(true),
                Err(lost) => {
                    slot.held = None;
                    Err(lost.to_string())
                }
            };
        }
        match slot.lock.try_acquire().await {
            Ok(Attempt::Acquired(mut held)) => {
                if held.config().duration != hold {
                    held.set_duration(hold);
                }
                slot.held = Some(*held);
                Ok(true)
            }
            Ok(Attempt::Busy(_)) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn give_up(&self, namespace: &str, name: &str) {
        let slot = {
            let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .get(&(namespace.to_string(), name.to_string()))
                .cloned()
        };
        let Some(slot) = slot else { return };
        let held = slot.lock().await.held.take();
        if let Some(held) = held {
            if let Err(e) = held.release().await {
                eprintln!("agent: {namespace}/{name}: releasing its lease: {e}");
            }
        }
    }
}

impl Leader for LeaseLeader {
    fn acquire<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        hold: Duration,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(self.try_acquire(namespace, name, hold))
    }

    fn release<'a>(&'a self, namespace: &'a str, name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.give_up(namespace, name))
    }
}
