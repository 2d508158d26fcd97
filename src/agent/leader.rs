//! Who may reconcile a sync: one `coordination.k8s.io/v1` Lease per sync, so two agents (a
//! rolling update, or `replicas: 2`) never apply the same sync at once, while different syncs
//! can be led by different agents.
//!
//! The loop sees only the [`Leader`] trait, so the lock can be swapped (say, for the
//! inventory's own lease) without touching the loop.

use futures::future::BoxFuture;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use std::time::Duration;

/// A lock per sync.
pub trait Leader: Send + Sync {
    /// Takes or renews the lock on the sync `namespace/name` for `hold`. `Ok(false)`: another
    /// holder has it and its lease has not run out.
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

/// Leases named `ferry-sync-<sync>` in the sync's namespace, held by `identity`.
pub struct LeaseLeader {
    pub client: Client,
    /// Unique per agent process: the pod name plus a random suffix.
    pub identity: String,
}

pub fn lease_name(sync: &str) -> String {
    format!("ferry-sync-{sync}")
}

fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let secs = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    renewed.0.as_second().saturating_add(secs) < now.as_second()
}

impl LeaseLeader {
    async fn try_acquire(
        &self,
        namespace: &str,
        name: &str,
        hold: Duration,
    ) -> Result<bool, String> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), namespace);
        let lease = lease_name(name);
        let now = Timestamp::now();
        let seconds = i32::try_from(hold.as_secs().max(1)).unwrap_or(i32::MAX);
        let current = api
            .get_opt(&lease)
            .await
            .map_err(|e| format!("reading Lease {namespace}/{lease}: {e}"))?;
        let Some(mut current) = current else {
            let new = Lease {
                metadata: ObjectMeta {
                    name: Some(lease.clone()),
                    namespace: Some(namespace.to_string()),
                    labels: Some(
                        [(
                            "app.kubernetes.io/managed-by".to_string(),
                            "ferry".to_string(),
                        )]
                        .into(),
                    ),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_duration_seconds: Some(seconds),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match api.create(&PostParams::default(), &new).await {
                Ok(_) => Ok(true),
                // Another agent created it first.
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(format!("creating Lease {namespace}/{lease}: {e}")),
            };
        };
        let spec = current.spec.get_or_insert_with(LeaseSpec::default);
        let mine = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let free = spec.holder_identity.as_deref().is_none_or(str::is_empty);
        if !mine && !free && !expired(spec, now) {
            return Ok(false);
        }
        // Renewed less than half its duration ago: still safely ours (the caller sizes `hold`
        // so that a pass started now ends within it), and a quiet pass writes nothing.
        if mine && !expired(spec, now) {
            let renewed = spec.renew_time.as_ref().map_or(0, |t| t.0.as_second());
            if now.as_second().saturating_sub(renewed) < i64::from(seconds) / 2
                && spec.lease_duration_seconds == Some(seconds)
            {
                return Ok(true);
            }
        }
        if !mine {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(seconds);
        // The resourceVersion read above makes this a compare-and-swap: of two agents taking
        // an expired lease at once, one gets 409 Conflict.
        match api.replace(&lease, &PostParams::default(), &current).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(format!("renewing Lease {namespace}/{lease}: {e}")),
        }
    }

    async fn give_up(&self, namespace: &str, name: &str) {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), namespace);
        let lease = lease_name(name);
        let Ok(Some(mut current)) = api.get_opt(&lease).await else {
            return;
        };
        let Some(spec) = current.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        let _ = api.replace(&lease, &PostParams::default(), &current).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_runs_out_after_its_duration() {
        let t = |s: i64| Timestamp::from_second(s).expect("time");
        let spec = LeaseSpec {
            renew_time: Some(MicroTime(t(1000))),
            lease_duration_seconds: Some(30),
            ..LeaseSpec::default()
        };
        assert!(!expired(&spec, t(1020)));
        assert!(!expired(&spec, t(1030)));
        assert!(expired(&spec, t(1031)));
        assert!(expired(&LeaseSpec::default(), t(0)));
    }
}
