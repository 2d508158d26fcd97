//! `ferry apply`: make a cluster match an artifact with server-side apply, in stages, with a
//! KEP-3659 ApplySet inventory, safe pruning and kstatus health, split as Flux's ssa is.
//!
//! [`source`] reads the input, [`plan`] settles each object's resource and [`stage`],
//! [`ssa`] sends it, [`inventory`] keeps the set, [`prune`] decides deletions, [`health`] and
//! [`wait`] judge the result; [`run`] strings them together. [`live`] sends a build with
//! `dryRun=All` for `ferry diff --against live`.

pub mod discovery;
pub mod drift;
pub mod health;
pub mod health_expr;
pub mod inventory;
pub mod lease;
pub mod live;
pub mod members;
pub mod plan;
pub mod prune;
pub mod report;
pub mod run;
pub mod schedule;
pub mod source;
pub mod ssa;
pub mod stage;
pub mod sync;
pub mod tenants;
pub mod wait;

pub use inventory::{applyset_id, ParentKind, ParentRef};
pub use prune::{MaxPrune, PrunePolicy};
pub use report::{ApplyReport, ObjectStatus, PruneStatus, TenantReport};
pub use run::{apply, ApplyError, ApplyProgress, NoProgress};
pub use source::{
    ApplySource, Artifact, Decryptor, DirSource, SourceError, SourceSpec, TenantMembers, WaitPlan,
};
pub use ssa::{Outcome, SsaOptions};
pub use stage::Stage;
pub use tenants::{apply_with_tenants, Impersonate};

use serde::Serialize;
use std::time::Duration;

/// How pruned objects' dependents are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl From<Propagation> for kube::api::PropagationPolicy {
    fn from(p: Propagation) -> Self {
        match p {
            Propagation::Background => kube::api::PropagationPolicy::Background,
            Propagation::Foreground => kube::api::PropagationPolicy::Foreground,
            Propagation::Orphan => kube::api::PropagationPolicy::Orphan,
        }
    }
}

/// Everything that shapes one apply (the behaviour); the artifact and client are the context.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub ssa: SsaOptions,
    /// Objects in flight at once within a stage.
    pub concurrency: usize,
    pub parent_kind: ParentKind,
    pub inventory_namespace: String,
    /// Default: `ferry-<environment>`.
    pub inventory_name: Option<String>,
    pub prune: PrunePolicy,
    pub propagation: Propagation,
    /// `--wait`: how long to wait for health.
    pub wait: Option<Duration>,
    /// How long CRDs get to become Established before their stage fails.
    pub crd_timeout: Duration,
    pub poll_interval: Duration,
    /// In the tooling annotation: `ferry/<version>`.
    pub tooling_version: String,
    /// Set from outside (a shutdown, a timeout) to stop at the next stage boundary: the stage
    /// in flight finishes, later stages are not sent, nothing is pruned.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The inventory's lock.
    pub lock: LockOptions,
    /// A kind or namespace the applying identity may not list (403) holds nothing it could
    /// prune: leave it out of the inventory (reported as kept) instead of failing the prune.
    /// On for tenants, whose RBAC is the boundary: an object they aimed outside their
    /// namespaces, and that the API server refused, must not block their prune for ever.
    pub forget_forbidden: bool,
    /// CEL health rules for kinds the built-in rules do not know (`healthCheckExprs`).
    pub health_rules: health_expr::HealthRules,
}

impl ApplyOptions {
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// How an apply locks its inventory (see [`lease`]).
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// Off only where nothing else can apply into the inventory (dry runs never lock).
    pub enabled: bool,
    /// How long to wait for another apply into the same inventory; `None`: as long as it takes.
    pub timeout: Option<Duration>,
    /// `leaseDurationSeconds`: how long the lock outlives a holder that stopped renewing it.
    pub duration: Duration,
    /// How often a waiting apply looks again.
    pub retry: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            enabled: true,
            timeout: Some(Duration::from_secs(600)),
            duration: Duration::from_secs(15),
            retry: Duration::from_secs(2),
        }
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            ssa: SsaOptions::default(),
            concurrency: 8,
            parent_kind: ParentKind::Secret,
            inventory_namespace: "ferry-system".into(),
            inventory_name: None,
            prune: PrunePolicy {
                enabled: true,
                ..PrunePolicy::default()
            },
            propagation: Propagation::Background,
            wait: None,
            crd_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(2),
            tooling_version: env!("CARGO_PKG_VERSION").to_string(),
            cancel: None,
            lock: LockOptions::default(),
            forget_forbidden: false,
            health_rules: health_expr::HealthRules::default(),
        }
    }
}
