//! One apply from start to end: plan, record the inventory, apply stage by stage, prune only
//! when everything applied, record the result on the parent, then wait for health.

use super::discovery::{Discovery, DiscoveryError, Resolved};
use super::inventory::{parent_manifest, read_parent, Inventory, InventoryError, ParentRef};
use super::lease::{self, Holder, LeaseConfig, LeaseError, LeaseLock};
use super::members;
use super::plan::{plan, Plan, PlanError, Planned};
use super::report::{
    ApplyReport, HealthResult, Kept, ObjectResult, ObjectStatus, PruneReport, PruneStatus,
    StageReport,
};
use super::source::Artifact;
use super::ssa::{self, Outcome, SsaError};
use super::stage::Stage;
use super::sync;
use super::wait::{wait_healthy, Target};
use super::ApplyOptions;
use crate::manifest::ObjRef;
use futures::StreamExt;
use kube::core::ApiResource;
use kube::Client;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Errors that stop an apply before any object of the artifact was sent.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error("{what}: {source}")]
    Cluster {
        what: String,
        #[source]
        source: SsaError,
    },
    /// The inventory's lock: held by another apply past `--lock-timeout`, or lost mid-way.
    #[error(transparent)]
    Lock(#[from] LeaseError),
    #[error("the artifact holds objects of tenants ({tenants}), which are applied only as the tenants themselves\nhint: apply it with `ferry apply` (it impersonates each tenant's ServiceAccount)")]
    TenantsNeedImpersonation { tenants: String },
}

/// Live feedback while an apply runs; the CLI draws it.
pub trait ApplyProgress: Sync {
    /// Another apply holds the inventory's lock; this one waits (told once per holder).
    fn lock_waiting(&self, _lease: &LeaseConfig, _holder: &Holder, _timeout: Option<Duration>) {}
    /// The lock could not be released; it lapses after its duration.
    fn lock_not_released(&self, _error: &LeaseError) {}
    fn stage_started(&self, _stage: Stage, _objects: usize) {}
    fn object_done(&self, _result: &ObjectResult) {}
    fn stage_done(&self, _report: &StageReport) {}
}

pub struct NoProgress;
impl ApplyProgress for NoProgress {}

pub(crate) fn core_resource(kind: &str, plural: &str) -> Resolved {
    Resolved {
        resource: ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
        },
        namespaced: kind != "Namespace",
    }
}

fn cluster_err(what: String) -> impl FnOnce(SsaError) -> ApplyError {
    move |source| ApplyError::Cluster { what, source }
}

/// Applies an artifact. Returns a report also when objects failed (see
/// [`ApplyReport::success`]); an `Err` means nothing of the artifact was applied, or (a lost
/// lock) that the apply stopped part-way, as if interrupted.
///
/// Unless it is a dry run, the inventory is locked first: a Lease named as the ApplySet
/// parent, in its namespace, held (and renewed) for the whole apply and released at the end.
/// A second apply into the same inventory waits for it (up to `opts.lock.timeout`), so two
/// applies never prune what the other created.
pub async fn apply(
    client: &Client,
    artifact: Artifact,
    opts: &ApplyOptions,
    progress: &dyn ApplyProgress,
) -> Result<ApplyReport, ApplyError> {
    let parent = ParentRef {
        kind: opts.parent_kind,
        namespace: opts.inventory_namespace.clone(),
        name: opts
            .inventory_name
            .clone()
            .unwrap_or_else(|| format!("ferry-{}", artifact.environment)),
    };
    parent.validate()?;
    // Planning only reads (discovery): an artifact the cluster cannot take is refused before
    // anything, the lock included, is written.
    let discovery = Discovery::new(client.clone());
    let Artifact {
        environment,
        digest,
        revision,
        objects,
        tenants,
        wait,
    } = artifact;
    if !tenants.is_empty() {
        // Applying a tenant's objects with the platform's rights would void the tenancy.
        return Err(ApplyError::TenantsNeedImpersonation {
            tenants: tenants.into_keys().collect::<Vec<_>>().join(", "),
        });
    }
    let plan = plan(objects, &parent.id(), &discovery).await?;
    let artifact = Artifact {
        environment,
        digest,
        revision,
        objects: Vec::new(),
        tenants: BTreeMap::new(),
        wait,
    };
    let ready = Ready {
        artifact,
        plan,
        discovery,
    };
    if opts.ssa.dry_run || !opts.lock.enabled {
        return apply_unlocked(client, ready, opts, progress, parent, None).await;
    }
    // The Lease lives beside the parent, so its namespace comes first.
    let parent_ns_exists = ensure_namespace(client, &parent.namespace, opts).await?;
    let cfg = LeaseConfig {
        duration: opts.lock.duration,
        retry: opts.lock.retry,
        ..LeaseConfig::new(&parent.namespace, &parent.name)
    };
    let mut lock = LeaseLock::new(client.clone(), cfg.clone());
    let held = lock
        .acquire(opts.lock.timeout, |holder| {
            progress.lock_waiting(&cfg, holder, opts.lock.timeout);
        })
        .await?;
    let work = apply_unlocked(
        client,
        ready,
        opts,
        progress,
        parent,
        Some(parent_ns_exists),
    );
    let (result, held) = lease::hold_while(held, work).await?;
    if let Err(e) = held.release().await {
        progress.lock_not_released(&e);
    }
    result
}

/// What [`apply`] decided before taking the lock: the artifact's metadata (its objects are in
/// the plan) and the plan, with the discovery cache that made it.
struct Ready {
    artifact: Artifact,
    plan: Plan,
    discovery: Discovery,
}

/// [`apply`] once the lock is held (or not needed). `parent_ns_exists`: already ensured.
async fn apply_unlocked(
    client: &Client,
    ready: Ready,
    opts: &ApplyOptions,
    progress: &dyn ApplyProgress,
    parent: ParentRef,
    parent_ns_exists: Option<bool>,
) -> Result<ApplyReport, ApplyError> {
    let Ready {
        artifact,
        plan,
        discovery,
    } = ready;
    let id = parent.id();
    let dry = opts.ssa.dry_run;

    // The parent: read what the set held before, refuse a parent that is not ours.
    let parent_res = core_resource(parent.kind.kind(), parent.kind.plural());
    let parent_display = format!(
        "{}/{}/{}",
        parent.kind.kind(),
        parent.namespace,
        parent.name
    );
    let old = match ssa::get(client, &parent_res, Some(&parent.namespace), &parent.name)
        .await
        .map_err(cluster_err(format!(
            "reading ApplySet parent {parent_display}"
        )))? {
        Some(live) => read_parent(&parent, &live)?,
        None => Inventory::default(),
    };
    let desired_inv = plan.inventory();
    let mut superset = old.union(&desired_inv);
    superset.digest = old.digest.clone();
    superset.revision = old.revision.clone();

    // The parent lists every kind and namespace of this run before any member is written, so
    // an interrupted apply leaves nothing a later run cannot find.
    let parent_ns_exists = match parent_ns_exists {
        Some(exists) => exists,
        None => ensure_namespace(client, &parent.namespace, opts).await?,
    };
    if parent_ns_exists || !dry {
        write_parent(
            client,
            &parent,
            &parent_res,
            &superset,
            &artifact.environment,
            opts,
        )
        .await
        .map_err(cluster_err(format!(
            "writing ApplySet parent {parent_display}"
        )))?;
    }

    let mut report = ApplyReport {
        environment: artifact.environment.clone(),
        digest: artifact.digest.clone(),
        revision: artifact.revision.clone(),
        applyset: id.clone(),
        parent: parent_display,
        dry_run: dry,
        stages: Vec::new(),
        objects: Vec::new(),
        prune: PruneReport::default(),
        health: None,
        summary: Default::default(),
        interrupted: false,
        tenants: Vec::new(),
    };

    let mut applied: Vec<Target> = Vec::new();
    // Namespaces this run creates: in a dry run their contents cannot be sent yet.
    let mut new_namespaces = BTreeSet::new();
    let mut by_stage: BTreeMap<Stage, Vec<Planned>> = BTreeMap::new();
    let desired = plan.desired();
    let crd_kinds = plan.crd_kinds.clone();
    for p in plan.objects {
        by_stage.entry(p.stage).or_default().push(p);
    }
    let ctx = StageContext {
        client,
        discovery: &discovery,
        crd_kinds: &crd_kinds,
        opts,
        progress,
    };
    for (stage, objects) in by_stage {
        if opts.cancelled() {
            report.interrupted = true;
            break;
        }
        let (sr, results, targets) = run_stage(&ctx, stage, objects, &mut new_namespaces).await?;
        progress.stage_done(&sr);
        applied.extend(targets);
        report.stages.push(sr);
        report.objects.extend(results);
    }

    let failed = report
        .objects
        .iter()
        .filter(|o| matches!(o.result, ObjectStatus::Failed { .. }))
        .count();
    if report.interrupted || opts.cancelled() {
        // The set of applied objects is partial: pruning now could delete what a later stage
        // was about to adopt. The parent keeps the superset written before any member.
        report.interrupted = true;
        report.prune.status = PruneStatus::Skipped;
        report.prune.reason = Some(
            "the apply was interrupted (shutdown or timeout): nothing pruned, the inventory keeps every earlier member".into(),
        );
    } else if failed > 0 {
        report.prune.status = PruneStatus::Skipped;
        report.prune.reason = Some(format!(
            "{failed} object(s) failed to apply: nothing pruned, the inventory keeps every earlier member"
        ));
    } else {
        // With pruning off, the set keeps listing every earlier member.
        let mut inv = if opts.prune.enabled {
            members::prune(
                client,
                &discovery,
                &parent,
                &id,
                &superset,
                &desired,
                &desired_inv,
                opts,
                &mut report.prune,
            )
            .await
        } else {
            report.prune.status = PruneStatus::Disabled;
            superset.clone()
        };
        inv.digest = Some(artifact.digest.clone());
        inv.revision = artifact.revision.clone();
        if parent_ns_exists || !dry {
            if let Err(e) = write_parent(
                client,
                &parent,
                &parent_res,
                &inv,
                &artifact.environment,
                opts,
            )
            .await
            {
                report.prune.failed.push(Kept {
                    object: report.parent.clone(),
                    reason: format!("recording the new inventory failed: {e}"),
                });
            }
        }
    }

    // `--wait`: everything; else what a Flux build's Kustomizations ask for.
    let waiting = match (opts.wait, &artifact.wait) {
        (Some(t), _) => Some(t),
        (None, Some(plan)) => {
            applied.retain(|t| plan.objects.contains(&t.obj_ref));
            Some(plan.timeout)
        }
        (None, None) => None,
    };
    if let Some(timeout) = waiting.filter(|_| !dry && !report.interrupted) {
        let verdicts = wait_healthy(
            client,
            &applied,
            timeout,
            opts.poll_interval,
            opts.concurrency,
            &opts.health_rules,
        )
        .await;
        report.health = Some(
            verdicts
                .into_iter()
                .map(|(r, health)| HealthResult {
                    object: r.to_string(),
                    health,
                })
                .collect(),
        );
    }
    report.count();
    Ok(report)
}

/// What every stage needs.
struct StageContext<'a> {
    client: &'a Client,
    discovery: &'a Discovery,
    /// Kinds the artifact's own CRDs define.
    crd_kinds: &'a BTreeSet<(String, String)>,
    opts: &'a ApplyOptions,
    progress: &'a dyn ApplyProgress,
}

/// Applies one stage: resolves kinds the CRDs just defined, lists what is live, sends what is
/// not in sync (bounded concurrency), and for the definitions stage waits for CRDs.
/// Returns the stage line, the per-object results and the objects applied (for `--wait`).
async fn run_stage(
    ctx: &StageContext<'_>,
    stage: Stage,
    mut objects: Vec<Planned>,
    new_namespaces: &mut BTreeSet<String>,
) -> Result<(StageReport, Vec<ObjectResult>, Vec<Target>), ApplyError> {
    let StageContext {
        client,
        discovery,
        crd_kinds,
        opts,
        progress,
    } = *ctx;
    let dry = opts.ssa.dry_run;
    let mut applied = Vec::new();
    let started = Instant::now();
    progress.stage_started(stage, objects.len());
    let mut results: Vec<Option<ObjectResult>> = vec![None; objects.len()];
    for (i, p) in objects.iter_mut().enumerate() {
        let skip = |reason: String| ObjectResult {
            object: p.obj_ref.to_string(),
            stage,
            result: ObjectStatus::Skipped { reason },
        };
        if p.resolved.is_none() {
            p.resolved = discovery.resolve(&p.api_version, &p.obj_ref.kind).await?;
            let key = (p.obj_ref.group.clone(), p.obj_ref.kind.clone());
            // An established CRD's kind can take a moment to appear in discovery.
            let mut tries = 0;
            while p.resolved.is_none() && !dry && crd_kinds.contains(&key) && tries < 10 {
                tries += 1;
                tokio::time::sleep(opts.poll_interval.min(Duration::from_millis(500))).await;
                discovery.forget_group(&p.obj_ref.group);
                p.resolved = discovery.resolve(&p.api_version, &p.obj_ref.kind).await?;
            }
        }
        if p.resolved.is_none() {
            let key = (p.obj_ref.group.clone(), p.obj_ref.kind.clone());
            results[i] = Some(if dry && crd_kinds.contains(&key) {
                skip("its CustomResourceDefinition is created by this apply (dry run)".into())
            } else {
                ObjectResult {
                    object: p.obj_ref.to_string(),
                    stage,
                    result: ObjectStatus::Failed {
                        error: format!(
                            "kind {} (apiVersion {}) is not served by the cluster after the CRDs were applied",
                            p.obj_ref.kind, p.api_version
                        ),
                    },
                }
            });
        } else if dry && new_namespaces.contains(&p.obj_ref.namespace) {
            results[i] = Some(skip(format!(
                "namespace {} is created by this apply (dry run)",
                p.obj_ref.namespace
            )));
        }
    }
    let todo: Vec<usize> = (0..objects.len())
        .filter(|i| results[*i].is_none())
        .collect();
    let live = list_live(client, &objects, &todo, opts.concurrency).await;
    let sent = futures::stream::iter(todo.iter().map(|i| {
        let p = &objects[*i];
        let known = live.get(&p.obj_ref);
        async move {
            let resolved = p.resolved.as_ref().expect("resolved above");
            let r = match known {
                // Everything ferry sets already holds: no request at all.
                Some(Some(l)) if sync::in_sync(&p.value, l, &opts.ssa.field_manager) => {
                    Ok((Outcome::Unchanged, Value::Null))
                }
                Some(before) => {
                    ssa::apply_over(client, resolved, &p.value, before.as_ref(), &opts.ssa).await
                }
                None => ssa::apply(client, resolved, &p.value, &opts.ssa).await,
            };
            let result = ObjectResult {
                object: p.obj_ref.to_string(),
                stage,
                result: match r {
                    Ok((outcome, _)) => ObjectStatus::Applied { outcome },
                    Err(e) => ObjectStatus::Failed {
                        error: e.to_string(),
                    },
                },
            };
            progress.object_done(&result);
            (*i, result)
        }
    }))
    .buffered(opts.concurrency.max(1))
    .collect::<Vec<_>>()
    .await;
    for (i, r) in sent {
        results[i] = Some(r);
    }
    let results: Vec<ObjectResult> = results.into_iter().flatten().collect();
    for (p, r) in objects.iter().zip(&results) {
        if let ObjectStatus::Applied { outcome } = &r.result {
            if p.obj_ref.kind == "Namespace" && *outcome == Outcome::Created {
                new_namespaces.insert(p.obj_ref.name.clone());
            }
            if let Some(resolved) = &p.resolved {
                applied.push(Target {
                    obj_ref: p.obj_ref.clone(),
                    resolved: resolved.clone(),
                });
            }
        }
    }
    let mut results = results;
    if stage == Stage::Definitions && !dry {
        establish_crds(client, discovery, &objects, &mut results, opts).await;
    }
    let mut sr = StageReport {
        stage: Some(stage),
        objects: results.len(),
        millis: started.elapsed().as_millis(),
        ..StageReport::default()
    };
    for r in &results {
        match &r.result {
            ObjectStatus::Applied { outcome } => match outcome {
                Outcome::Created => sr.created += 1,
                Outcome::Configured => sr.configured += 1,
                Outcome::Unchanged => sr.unchanged += 1,
            },
            ObjectStatus::Failed { .. } => sr.failed += 1,
            ObjectStatus::Skipped { .. } => sr.skipped += 1,
        }
    }
    Ok((sr, results, applied))
}

/// The live state of the objects about to be sent: one LIST per resource and namespace
/// instead of one GET per object. `Some(None)`: listed and absent. An object whose LIST
/// failed (say, RBAC allows no list) is missing from the map and is read on its own.
pub(crate) async fn list_live(
    client: &Client,
    objects: &[Planned],
    todo: &[usize],
    concurrency: usize,
) -> BTreeMap<ObjRef, Option<Value>> {
    let mut groups: BTreeMap<(String, String, String), (Resolved, Vec<&Planned>)> = BTreeMap::new();
    for i in todo {
        let p = &objects[*i];
        let Some(r) = &p.resolved else { continue };
        groups
            .entry((
                r.resource.api_version.clone(),
                r.resource.plural.clone(),
                p.obj_ref.namespace.clone(),
            ))
            .or_insert_with(|| (r.clone(), Vec::new()))
            .1
            .push(p);
    }
    let listed = futures::stream::iter(groups.into_values().map(|(r, members)| async move {
        let ns = members
            .first()
            .map(|p| p.obj_ref.namespace.as_str())
            .filter(|n| !n.is_empty());
        (ssa::list(client, &r, ns).await, members)
    }))
    .buffered(concurrency.max(1))
    .collect::<Vec<_>>()
    .await;
    let mut live = BTreeMap::new();
    for (result, members) in listed {
        let Ok(mut items) = result else { continue };
        for p in members {
            live.insert(p.obj_ref.clone(), items.remove(&p.obj_ref.name));
        }
    }
    live
}

/// Makes sure the parent's namespace exists; returns whether it did (or does now).
async fn ensure_namespace(
    client: &Client,
    name: &str,
    opts: &ApplyOptions,
) -> Result<bool, ApplyError> {
    let ns = core_resource("Namespace", "namespaces");
    let what = format!("namespace {name} for the ApplySet parent");
    if ssa::get(client, &ns, None, name)
        .await
        .map_err(cluster_err(what.clone()))?
        .is_some()
    {
        return Ok(true);
    }
    if opts.ssa.dry_run {
        return Ok(false);
    }
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    ssa::apply(client, &ns, &body, &opts.ssa)
        .await
        .map_err(cluster_err(what))?;
    Ok(true)
}

async fn write_parent(
    client: &Client,
    parent: &ParentRef,
    res: &Resolved,
    inv: &Inventory,
    environment: &str,
    opts: &ApplyOptions,
) -> Result<(), SsaError> {
    let body = parent_manifest(parent, inv, environment, &opts.tooling_version);
    // The parent is ferry's own: conflicts on it are taken over, as kubectl does for its parents.
    let ssa_opts = ssa::SsaOptions {
        force_conflicts: true,
        ..opts.ssa.clone()
    };
    ssa::apply(client, res, &body, &ssa_opts).await.map(|_| ())
}

/// Waits until the CRDs applied in this stage are Established, then forgets what discovery
/// knew about their groups so their kinds resolve. A CRD that does not get there fails.
async fn establish_crds(
    client: &Client,
    discovery: &Discovery,
    objects: &[Planned],
    results: &mut [ObjectResult],
    opts: &ApplyOptions,
) {
    let crds: Vec<(usize, Target)> = objects
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            p.obj_ref.kind == "CustomResourceDefinition"
                && matches!(results[*i].result, ObjectStatus::Applied { .. })
        })
        .filter_map(|(i, p)| {
            Some((
                i,
                Target {
                    obj_ref: p.obj_ref.clone(),
                    resolved: p.resolved.clone()?,
                },
            ))
        })
        .collect();
    if crds.is_empty() {
        return;
    }
    let targets: Vec<Target> = crds.iter().map(|(_, t)| t.clone()).collect();
    let verdicts = wait_healthy(
        client,
        &targets,
        opts.crd_timeout,
        opts.poll_interval,
        opts.concurrency,
        &opts.health_rules,
    )
    .await;
    for ((i, _), (_, health)) in crds.iter().zip(verdicts) {
        if !health.is_current() {
            results[*i].result = ObjectStatus::Failed {
                error: format!(
                    "not Established within {}s: {}",
                    opts.crd_timeout.as_secs(),
                    health.reason()
                ),
            };
        }
        if let Some(group) = objects[*i].value["spec"]["group"].as_str() {
            discovery.forget_group(group);
        }
    }
}
