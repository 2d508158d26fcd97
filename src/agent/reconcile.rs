//! One sync's loop: each pass resolves the tag with a manifest HEAD and pulls, verifies and
//! applies only when something asks for it (a new digest, a changed Sync, a reconcile
//! request, a failure to retry); it keeps the Sync's status and sends events and metrics.
//!
//! A pass is bounded by the sync's timeout; a shutdown or a timeout stops the apply at its
//! next stage boundary (the apply then prunes nothing), and an apply that does not get there
//! within the grace period is abandoned.

use super::client;
use super::events::EventType;
use super::fetch::{self, Trust};
use super::metrics;
use super::spec::{DriftMode, Sync};
use super::status::{HistoryEntry, SyncStatus};
use super::Shared;
use crate::apply::discovery::Discovery;
use crate::apply::drift::{self, strip_ignored};
use crate::apply::schedule::{jittered, seed};
use crate::apply::{
    self, ApplyOptions, ApplyReport, ObjectStatus, ParentRef, PrunePolicy, PruneStatus,
};
use crate::notify::{Event, Kind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    crate::source::rfc3339(secs)
}

/// After `failures` failures in a row: `base`, 2x, 4x, ... at most `cap`, jittered.
pub fn backoff(failures: u32, base: Duration, cap: Duration) -> Duration {
    let d = base.saturating_mul(1 << failures.saturating_sub(1).min(16));
    jittered(d.min(cap.max(base)), seed())
}

/// `sha256:0123456789ab`, for messages.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// Why a pass did not finish its apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Timeout,
    Shutdown,
}

/// Resolves once the agent is asked to stop (or its sender is gone).
pub async fn until_shutdown(rx: &mut tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The state one sync's loop keeps between passes.
pub struct Worker {
    shared: Arc<Shared>,
    /// The status as this worker means it to be.
    pub status: SyncStatus,
    /// The status last written (or read): a pass that changes nothing writes nothing.
    written: SyncStatus,
    pub failures: u32,
    leading: bool,
    /// The last artifact pulled and verified, for drift checks between digests.
    cache: Option<Cached>,
    /// The last pulled artifact's `org.opencontainers.image.source` (for commit statuses).
    source: Option<String>,
    /// The failure about to be recorded was already notified (from its apply report).
    notified_failure: bool,
}

struct Cached {
    digest: String,
    generation: i64,
    /// Sealed Secrets are open in it: it lives in memory only, as during an apply.
    artifact: apply::Artifact,
    /// Which resources serve the artifact's kinds, for its drift checks: asked again for a
    /// new artifact, after [`DISCOVERY_MAX_AGE`], and after a check found objects missing
    /// (a kind may have come or gone).
    discovery: Option<(Arc<Discovery>, Instant)>,
}

/// How long a drift check trusts what discovery said.
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(600);

/// `2 objects: ConfigMap/shop/a (/data/k), Deployment.apps/shop/web (deleted)`.
fn describe_drift(found: &[drift::Drifted]) -> String {
    let parts: Vec<String> = found
        .iter()
        .take(10)
        .map(|d| {
            if d.missing {
                format!("{} (deleted)", d.object)
            } else {
                format!("{} ({})", d.object, d.fields.join(", "))
            }
        })
        .collect();
    let more = if found.len() > 10 { ", ..." } else { "" };
    format!(
        "{} object(s) drifted: {}{more}",
        found.len(),
        parts.join(", ")
    )
}

impl Worker {
    pub fn new(shared: Arc<Shared>, status: SyncStatus) -> Worker {
        Worker {
            shared,
            written: status.clone(),
            status,
            failures: 0,
            leading: false,
            cache: None,
            source: None,
            notified_failure: false,
        }
    }

    /// Queues a notification about `sync` (never waits; a disabled notifier drops it).
    fn notify(&self, sync: &Sync, mut event: Event, digest: Option<&str>, revision: Option<&str>) {
        if !self.shared.notifier.is_enabled() {
            return;
        }
        event.environment = sync.name.clone();
        if event.digest.is_none() {
            event.digest = digest.map(str::to_string);
        }
        if event.revision.is_none() {
            event.revision = revision.map(str::to_string);
        }
        if event.source.is_none() {
            event.source = self
                .source
                .clone()
                .or_else(|| self.shared.opts.notify_source.clone());
        }
        self.shared.notifier.send(event);
    }

    async fn flush(&mut self, sync: &Sync) {
        if self.shared.notifier.is_enabled() {
            self.status.notifications_failing = self.shared.notifier.failing(&sync.name);
        }
        if self.status == self.written {
            return;
        }
        match client::write_status(
            &self.shared.client,
            &sync.namespace,
            &sync.name,
            &self.status,
        )
        .await
        {
            Ok(()) => self.written = self.status.clone(),
            Err(e) => eprintln!("agent: {}: cannot write status: {e}", sync.key()),
        }
    }

    /// One pass; returns how long to wait before the next.
    pub async fn pass(&mut self, sync: &Sync) -> Duration {
        let key = sync.key();
        let interval = jittered(sync.interval, seed());
        let m = self.shared.metrics.clone();
        if sync.suspend {
            if !self.status.suspended || self.status.observed_generation != sync.generation {
                self.status.suspended = true;
                self.status.observed_generation = sync.generation;
                self.flush(sync).await;
                self.shared
                    .events
                    .event(
                        sync,
                        EventType::Normal,
                        "Suspended",
                        "reconciliation is suspended",
                    )
                    .await;
            }
            m.state(&key, self.status.ready() == "True", true);
            return interval;
        }
        // Leadership first: a follower writes nothing, not even status.
        // Long enough that a pass started just before a renewal is due (half of it) still ends
        // within it: the lease is written about every other pass, not every pass.
        let hold =
            sync.interval + (sync.timeout + self.shared.opts.grace) * 2 + Duration::from_secs(15);
        match self
            .shared
            .leader
            .acquire(&sync.namespace, &sync.name, hold)
            .await
        {
            Ok(true) => {
                if !self.leading {
                    // Another agent may have led until now: start from what it wrote.
                    if let Ok(Some(obj)) =
                        client::get(&self.shared.client, &sync.namespace, &sync.name).await
                    {
                        self.status = SyncStatus::from_object(&obj);
                        self.written = self.status.clone();
                    }
                    self.leading = true;
                }
            }
            Ok(false) => {
                self.leading = false;
                return interval;
            }
            Err(e) => {
                self.leading = false;
                eprintln!("agent: {key}: leader election: {e}");
                return self.backoff(sync);
            }
        }
        let was_suspended = self.status.suspended;
        self.status.suspended = false;
        m.state(&key, self.status.ready() == "True", false);
        let started = Instant::now();
        let started_at = now_rfc3339();
        let deadline = started + sync.timeout;

        let digest = match tokio::time::timeout(
            sync.timeout,
            fetch::resolve(&sync.reference, sync.insecure),
        )
        .await
        {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                return self
                    .fail(
                        sync,
                        "ArtifactFailed",
                        &format!("resolving oci://{}: {e}", sync.reference),
                        None,
                        None,
                        started,
                        &started_at,
                    )
                    .await
            }
            Err(_) => {
                return self
                    .fail(
                        sync,
                        "Timeout",
                        &format!(
                            "resolving oci://{} took longer than the timeout",
                            sync.reference
                        ),
                        None,
                        None,
                        started,
                        &started_at,
                    )
                    .await
            }
        };
        let requested = sync.requested_at.is_some()
            && sync.requested_at != self.status.last_handled_reconcile_at;
        let new_digest = self.status.last_applied_digest.as_deref() != Some(digest.as_str());
        let new_generation = sync.generation != self.status.observed_generation;
        let mut drifted = 0;
        if !(new_digest || new_generation || requested || self.failures > 0 || was_suspended) {
            if sync.drift.mode != DriftMode::Disabled {
                match self.check_drift(sync, &digest, deadline).await {
                    Ok(n) => drifted = n,
                    Err(message) => {
                        return self
                            .fail(
                                sync,
                                "DriftCheckFailed",
                                &message,
                                Some(&digest),
                                None,
                                started,
                                &started_at,
                            )
                            .await
                    }
                }
            }
            if drifted == 0 || sync.drift.mode == DriftMode::Report {
                m.reconciled(
                    &key,
                    metrics::Result::Unchanged,
                    started.elapsed().as_secs_f64(),
                );
                self.flush(sync).await;
                return interval;
            }
        }
        self.status.last_attempted_digest = Some(digest.clone());
        if requested {
            self.status.last_handled_reconcile_at = sync.requested_at.clone();
        }
        let why = if new_digest {
            format!("new digest {}", short(&digest))
        } else if requested {
            "reconcile requested".to_string()
        } else if drifted > 0 {
            format!("correcting drift in {drifted} object(s)")
        } else {
            "the Sync changed".to_string()
        };
        self.status.progressing(
            sync.generation,
            &format!("applying {}: {why}", short(&digest)),
            &started_at,
        );
        self.flush(sync).await;

        // Drift alone: the artifact verified for this digest and generation is at hand.
        let cached = self
            .cache
            .as_ref()
            .filter(|c| drifted > 0 && c.digest == digest && c.generation == sync.generation)
            .map(|c| c.artifact.clone());
        let artifact = match cached {
            Some(a) => a,
            None => match self.fetch(sync, &digest, deadline).await {
                Ok(a) => a,
                Err((reason, message)) => {
                    return self
                        .fail(
                            sync,
                            reason,
                            &message,
                            Some(&digest),
                            None,
                            started,
                            &started_at,
                        )
                        .await
                }
            },
        };
        let revision = artifact.revision.clone();
        self.status.last_attempted_revision = revision.clone();
        if new_digest || new_generation || requested {
            self.notify(
                sync,
                Event::progressing(&sync.name, &digest, revision.as_deref()),
                Some(&digest),
                revision.as_deref(),
            );
        }
        let (result, stop) = self.apply(sync, artifact, deadline).await;
        if let Some(Ok(report)) = &result {
            // Written with the Sync's outcome below, by `succeeded` or `fail`.
            self.status.tenants =
                super::tenant_status::from_report(report, &now_rfc3339(), failures);
        }
        match (result, stop) {
            (Some(Ok(report)), stop) if report.success() && stop.is_none() => {
                let outcome = if drifted > 0 && !(new_digest || new_generation || requested) {
                    metrics::Result::Corrected
                } else {
                    metrics::Result::Applied
                };
                self.succeeded(sync, &digest, &report, outcome, started, &started_at)
                    .await
            }
            (Some(Ok(report)), stop) => {
                let (reason, message) = match stop {
                    Some(Stop::Shutdown) => ("Interrupted", "the agent is stopping: the apply stopped between stages, nothing was pruned".to_string()),
                    Some(Stop::Timeout) => ("Timeout", format!("the apply did not finish within {}: it stopped between stages, nothing was pruned", super::spec::format_duration(sync.timeout))),
                    None => ("ApplyFailed", failures(&report)),
                };
                if stop.is_none() {
                    // Failed objects, a health timeout or a refused prune: the report says which.
                    self.notify(
                        sync,
                        Event::from_report(&report),
                        Some(&digest),
                        revision.as_deref(),
                    );
                    self.notified_failure = true;
                }
                self.fail(
                    sync,
                    reason,
                    &message,
                    Some(&digest),
                    revision.as_deref(),
                    started,
                    &started_at,
                )
                .await
            }
            (Some(Err(e)), _) => {
                self.fail(
                    sync,
                    "ApplyFailed",
                    &e.to_string(),
                    Some(&digest),
                    revision.as_deref(),
                    started,
                    &started_at,
                )
                .await
            }
            (None, stop) => {
                let message = if stop == Some(Stop::Shutdown) {
                    "the agent stopped during the apply: abandoned, nothing was pruned"
                } else {
                    "the apply did not reach a stage boundary within the grace after the timeout: abandoned, nothing was pruned"
                };
                self.fail(
                    sync,
                    if stop == Some(Stop::Shutdown) {
                        "Interrupted"
                    } else {
                        "Timeout"
                    },
                    message,
                    Some(&digest),
                    revision.as_deref(),
                    started,
                    &started_at,
                )
                .await
            }
        }
    }

    /// Reads the key material, pulls and verifies the artifact at `digest`, strips ignored
    /// fields, and keeps it for drift checks. Errors: the status reason and message.
    async fn fetch(
        &mut self,
        sync: &Sync,
        digest: &str,
        deadline: Instant,
    ) -> Result<apply::Artifact, (&'static str, String)> {
        let trust = self.trust(sync).await.map_err(|m| ("SecretError", m))?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut artifact = match tokio::time::timeout(
            remaining,
            fetch::fetch(&sync.reference, digest, sync.insecure, trust),
        )
        .await
        {
            Ok(Ok((a, source))) => {
                self.source = source;
                a
            }
            Ok(Err(e)) => {
                let reason = match e {
                    fetch::FetchError::Verify { .. } => "VerificationFailed",
                    _ => "ArtifactFailed",
                };
                return Err((reason, e.to_string()));
            }
            Err(_) => {
                return Err((
                    "Timeout",
                    "pulling the artifact took longer than the timeout".to_string(),
                ))
            }
        };
        artifact.objects = strip_ignored(artifact.objects, &sync.drift.ignore);
        self.cache = Some(Cached {
            digest: digest.to_string(),
            generation: sync.generation,
            artifact: artifact.clone(),
            discovery: None,
        });
        Ok(artifact)
    }

    /// Compares the last applied artifact with the cluster; records drift (and its start) in
    /// status, events and metrics. Returns how many objects drifted.
    async fn check_drift(
        &mut self,
        sync: &Sync,
        digest: &str,
        deadline: Instant,
    ) -> Result<usize, String> {
        let fresh = self
            .cache
            .as_ref()
            .is_some_and(|c| c.digest == digest && c.generation == sync.generation);
        if !fresh {
            // After a restart: pull the applied artifact again (read-only) to compare.
            self.fetch(sync, digest, deadline)
                .await
                .map_err(|(reason, m)| format!("{reason}: {m}"))?;
        }
        let client = self.shared.client.clone();
        let Some(cached) = self.cache.as_mut() else {
            return Ok(0);
        };
        let discovery = match &cached.discovery {
            Some((d, at)) if at.elapsed() < DISCOVERY_MAX_AGE => d.clone(),
            _ => {
                let d = Arc::new(Discovery::new(client));
                cached.discovery = Some((d.clone(), Instant::now()));
                d
            }
        };
        let parent = ParentRef {
            kind: sync.parent_kind,
            namespace: sync.inventory_namespace.clone(),
            name: sync
                .inventory_name
                .clone()
                .unwrap_or_else(|| format!("ferry-{}", cached.artifact.environment)),
        };
        // The platform's set only: tenants' objects are members of their own sets, read with
        // their own rights, and corrected when their artifact is applied again.
        let mut objects = cached.artifact.objects.clone();
        let tenants = &cached.artifact.tenants;
        objects.retain(|o| {
            let r = o.obj_ref();
            !tenants.values().any(|m| m.objects.contains(&r))
        });
        let found = drift::detect(&self.shared.client, &discovery, objects, &parent, 8)
            .await
            .map_err(|e| format!("checking drift: {e}"))?;
        if found.iter().any(|d| d.missing) {
            if let Some(c) = self.cache.as_mut() {
                c.discovery = None;
            }
        }
        let Some(cached) = self.cache.as_ref() else {
            return Ok(0);
        };
        let n = found.len();
        let summary = describe_drift(&found);
        let (began, ended) = self.status.set_drift(found, &now_rfc3339());
        let revision = cached.artifact.revision.clone();
        if !began.is_empty() {
            let mut e = Event::new(
                Kind::DriftBegan,
                &sync.name,
                format!("{}: drift in {n} object(s)", sync.name),
            );
            for line in summary.split("; ") {
                e = e.with_detail(line.to_string());
            }
            self.notify(sync, e, Some(digest), revision.as_deref());
        }
        if !ended.is_empty() {
            let mut e = Event::new(
                Kind::DriftEnded,
                &sync.name,
                format!(
                    "{}: no longer drifted: {} object(s)",
                    sync.name,
                    ended.len()
                ),
            );
            for o in &ended {
                e = e.with_detail(o.clone());
            }
            self.notify(sync, e, Some(digest), revision.as_deref());
        }
        let key = sync.key();
        self.shared.metrics.drift(&key, n as i64);
        let events = &self.shared.events;
        if !began.is_empty() {
            let mode = match sync.drift.mode {
                DriftMode::Report => "reported only (drift mode report)",
                _ => "correcting",
            };
            events
                .event(
                    sync,
                    EventType::Warning,
                    "DriftDetected",
                    &format!("{summary}; {mode}"),
                )
                .await;
        }
        if !ended.is_empty() {
            events
                .event(
                    sync,
                    EventType::Normal,
                    "DriftEnded",
                    &format!("no longer drifted: {}", ended.join(", ")),
                )
                .await;
        }
        Ok(n)
    }

    /// Runs the apply until it ends; at the deadline or on shutdown asks it to stop at the
    /// next stage boundary and gives it the grace period to get there.
    async fn apply(
        &self,
        sync: &Sync,
        artifact: apply::Artifact,
        deadline: Instant,
    ) -> (Option<Result<ApplyReport, apply::ApplyError>>, Option<Stop>) {
        let cancel = Arc::new(AtomicBool::new(false));
        let remaining = deadline.saturating_duration_since(Instant::now());
        let opts = ApplyOptions {
            ssa: apply::SsaOptions {
                field_manager: self.shared.opts.field_manager.clone(),
                force_conflicts: sync.force_conflicts,
                dry_run: false,
            },
            parent_kind: sync.parent_kind,
            inventory_namespace: sync.inventory_namespace.clone(),
            inventory_name: sync.inventory_name.clone(),
            prune: PrunePolicy {
                enabled: sync.prune,
                ..PrunePolicy::default()
            },
            wait: sync.wait.then_some(remaining),
            crd_timeout: remaining.min(Duration::from_secs(120)),
            cancel: Some(cancel.clone()),
            // Validated when the Sync was read.
            health_rules: apply::health_expr::HealthRules::compile(&sync.health_check_exprs)
                .unwrap_or_default(),
            ..ApplyOptions::default()
        };
        let client = self.shared.client.clone();
        let impersonate = self.shared.impersonate.clone();
        // Tenants' objects are applied as the tenants; without the means to impersonate
        // (`apply::apply`), an artifact with tenants is refused, naming them.
        let run = async {
            match &impersonate {
                Some(i) => {
                    apply::apply_with_tenants(
                        &client,
                        i.as_ref(),
                        artifact,
                        &apply::TenantKeys {
                            given: Default::default(),
                            parser: Some(&crate::secrets::open::AgeIdentityParser),
                        },
                        &opts,
                        &apply::NoProgress,
                    )
                    .await
                }
                None => apply::apply(&client, artifact, &opts, &apply::NoProgress).await,
            }
        };
        tokio::pin!(run);
        let mut shutdown = self.shared.shutdown.clone();
        let stop = tokio::select! {
            r = &mut run => return (Some(r), None),
            _ = tokio::time::sleep_until(deadline.into()) => Stop::Timeout,
            _ = until_shutdown(&mut shutdown) => Stop::Shutdown,
        };
        cancel.store(true, Ordering::SeqCst);
        match tokio::time::timeout(self.shared.opts.grace, &mut run).await {
            Ok(r) => (Some(r), Some(stop)),
            Err(_) => (None, Some(stop)),
        }
    }

    async fn trust(&self, sync: &Sync) -> Result<Trust, String> {
        let c = &self.shared.client;
        let public_key = match &sync.verify.secret_ref {
            Some(r) => Some(
                client::secret_key(c, &sync.namespace, r, "spec.verify.secretRef")
                    .await?
                    .to_string(),
            ),
            None => None,
        };
        let identity = match &sync.decryption {
            Some(d) => Some(
                client::secret_key(
                    c,
                    &sync.namespace,
                    &d.secret_ref,
                    "spec.decryption.secretRef",
                )
                .await?,
            ),
            None => None,
        };
        Ok(Trust {
            public_key,
            identity,
            key_source: sync
                .verify
                .secret_ref
                .as_ref()
                .map(|r| format!("Secret {}/{} key {}", sync.namespace, r.name, r.key))
                .unwrap_or_default(),
        })
    }

    fn backoff(&self, sync: &Sync) -> Duration {
        backoff(
            self.failures.max(1),
            self.shared.opts.backoff_base,
            sync.interval,
        )
    }

    #[allow(clippy::too_many_arguments)]
    async fn fail(
        &mut self,
        sync: &Sync,
        reason: &str,
        message: &str,
        digest: Option<&str>,
        revision: Option<&str>,
        started: Instant,
        started_at: &str,
    ) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let elapsed = started.elapsed();
        self.status
            .failed(sync.generation, reason, message, &now_rfc3339());
        if let Some(r) = sync.requested_at.as_ref() {
            self.status.last_handled_reconcile_at = Some(r.clone());
        }
        let entry = HistoryEntry {
            digest: digest.map(str::to_string),
            revision: revision.map(str::to_string),
            started_at: started_at.to_string(),
            duration_ms: elapsed.as_millis() as u64,
            outcome: "Failed".into(),
            message: format!("{reason}: {message}").chars().take(512).collect(),
        };
        // A failure repeating the same message replaces its entry: the history stays a
        // record of changes, not of retries.
        let same = self.status.history.first().is_some_and(|h| {
            h.outcome == entry.outcome && h.message == entry.message && h.digest == entry.digest
        });
        if same {
            self.status.history[0] = entry;
        } else {
            self.status.record(entry);
        }
        self.flush(sync).await;
        self.shared
            .events
            .event(sync, EventType::Warning, reason, message)
            .await;
        if !std::mem::take(&mut self.notified_failure) {
            let (kind, summary) = match reason {
                "VerificationFailed" => (
                    Kind::VerificationRefused,
                    format!(
                        "{}: the artifact did not verify; nothing was applied",
                        sync.name
                    ),
                ),
                _ => (Kind::Failed, format!("{} failed: {reason}", sync.name)),
            };
            let event = Event::new(kind, &sync.name, summary).with_detail(message.to_string());
            self.notify(sync, event, digest, revision);
        }
        let key = sync.key();
        self.shared
            .metrics
            .reconciled(&key, metrics::Result::Failed, elapsed.as_secs_f64());
        self.shared.metrics.state(&key, false, false);
        eprintln!("agent: {key}: {reason}: {message}");
        self.backoff(sync)
    }

    async fn succeeded(
        &mut self,
        sync: &Sync,
        digest: &str,
        report: &ApplyReport,
        outcome: metrics::Result,
        started: Instant,
        started_at: &str,
    ) -> Duration {
        self.failures = 0;
        let elapsed = started.elapsed();
        let now = now_rfc3339();
        let revision = report.revision.clone();
        let s = &report.summary;
        let message = format!(
            "Applied revision: {}",
            revision.as_deref().unwrap_or(digest)
        );
        self.status.last_applied_digest = Some(digest.to_string());
        self.status.last_applied_revision = revision.clone();
        self.status.last_applied_at = Some(now.clone());
        self.status.inventory = Some(report.parent.clone());
        self.status
            .succeeded(sync.generation, "ReconciliationSucceeded", &message, &now);
        self.status.record(HistoryEntry {
            digest: Some(digest.to_string()),
            revision: revision.clone(),
            started_at: started_at.to_string(),
            duration_ms: elapsed.as_millis() as u64,
            outcome: if outcome == metrics::Result::Corrected {
                "DriftCorrected"
            } else {
                "Applied"
            }
            .into(),
            message: format!(
                "{} created, {} configured, {} unchanged, {} pruned",
                s.created, s.configured, s.unchanged, s.pruned
            ),
        });
        let corrected: Vec<String> = self.status.drift.iter().map(|d| d.object.clone()).collect();
        self.status.drift.clear();
        self.flush(sync).await;
        if !corrected.is_empty() {
            let mut e = Event::new(
                Kind::DriftCorrected,
                &sync.name,
                format!(
                    "{}: drift corrected in {} object(s)",
                    sync.name,
                    corrected.len()
                ),
            );
            for o in &corrected {
                e = e.with_detail(o.clone());
            }
            self.notify(sync, e, Some(digest), revision.as_deref());
        }
        if outcome == metrics::Result::Applied {
            self.notify(
                sync,
                Event::from_report(report),
                Some(digest),
                revision.as_deref(),
            );
        }
        let events = &self.shared.events;
        if !corrected.is_empty() {
            events
                .event(
                    sync,
                    EventType::Normal,
                    "DriftCorrected",
                    &format!("applied again: {}", corrected.join(", ")),
                )
                .await;
        }
        events
            .event(
                sync,
                EventType::Normal,
                "Applied",
                &format!(
                    "{} ({}): {} created, {} configured, {} unchanged in {:.1}s",
                    revision.as_deref().unwrap_or("no revision"),
                    short(digest),
                    s.created,
                    s.configured,
                    s.unchanged,
                    elapsed.as_secs_f64()
                ),
            )
            .await;
        if report.prune.status == PruneStatus::Done && !report.prune.pruned.is_empty() {
            let mut list = report.prune.pruned.join(", ");
            if list.len() > 900 {
                list.truncate(900);
                list.push_str(", ...");
            }
            events
                .event(
                    sync,
                    EventType::Normal,
                    "Pruned",
                    &format!("{} deleted: {list}", report.prune.pruned.len()),
                )
                .await;
        }
        let key = sync.key();
        let m = &self.shared.metrics;
        m.reconciled(&key, outcome, elapsed.as_secs_f64());
        m.drift(&key, 0);
        m.objects(&key, (s.created + s.configured) as u64, s.pruned as u64);
        m.state(&key, true, false);
        jittered(sync.interval, seed())
    }
}

/// The first failures of a report, for the status message.
fn failures(report: &ApplyReport) -> String {
    let failed: Vec<String> = report
        .objects
        .iter()
        .filter_map(|o| match &o.result {
            ObjectStatus::Failed { error } => Some(format!("{}: {error}", o.object)),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    if !failed.is_empty() {
        parts.push(format!(
            "{} object(s) failed: {}",
            failed.len(),
            failed
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if let Some(r) = &report.prune.reason {
        if report.prune.status == PruneStatus::Refused {
            parts.push(format!("prune refused: {r}"));
        }
    }
    for k in report.prune.failed.iter().take(3) {
        parts.push(format!("prune of {} failed: {}", k.object, k.reason));
    }
    if report.summary.unhealthy > 0 {
        parts.push(format!(
            "{} object(s) not healthy",
            report.summary.unhealthy
        ));
    }
    // A tenant fails alone: the others and the platform were applied.
    for t in report.tenants.iter().filter(|t| !t.success()) {
        let why = match (&t.error, &t.report) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => failures(r),
            (None, None) => "not applied".into(),
        };
        parts.push(format!("tenant {} (as {}): {why}", t.tenant, t.user));
    }
    if parts.is_empty() {
        "the apply did not succeed".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(10);
        let cap = Duration::from_secs(300);
        let near = |d: Duration, s: u64| {
            d >= Duration::from_secs(s) * 9 / 10 && d <= Duration::from_secs(s) * 11 / 10
        };
        assert!(near(backoff(1, base, cap), 10));
        assert!(near(backoff(2, base, cap), 20));
        assert!(near(backoff(4, base, cap), 80));
        assert!(near(backoff(20, base, cap), 300));
        // An interval shorter than the base does not make the backoff shorter than the base.
        assert!(near(backoff(1, base, Duration::from_secs(1)), 10));
    }
}
