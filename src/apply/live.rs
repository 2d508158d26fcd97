//! What the cluster would become, without changing it: every object of a build sent as a
//! server-side apply with `dryRun=All`, next to the live object, and the ApplySet members the
//! build no longer holds (what a prune would delete). `ferry diff --against live` compares them.
//!
//! Only reads and dry-run patches are sent: a dry run is the one way to see what admission,
//! defaulting and the merge with other managers' fields make of the applied configuration.

use super::discovery::Discovery;
use super::inventory::{read_parent, Inventory, InventoryError, ParentKind, ParentRef};
use super::members::list_members;
use super::plan::{plan, PlanError, Planned};
use super::prune::{decide, PrunePolicy};
use super::ssa::{self, SsaError, SsaOptions};
use crate::diff::secrets::SecretPolicy;
use crate::manifest::{ObjRef, Object};
use futures::StreamExt;
use kube::core::ApiResource;
use kube::Client;
use serde_json::Value;

/// Where the set lives and how objects are sent.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub field_manager: String,
    pub parent_kind: ParentKind,
    pub inventory_namespace: String,
    /// Default: `ferry-<environment>`, as `ferry apply` names it.
    pub inventory_name: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Kinds whose server messages are withheld from errors (besides `Secret`).
    pub secret_kinds: Vec<String>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            field_manager: "ferry".into(),
            parent_kind: ParentKind::Secret,
            inventory_namespace: "ferry-system".into(),
            inventory_name: None,
            concurrency: 8,
            secret_kinds: Vec::new(),
        }
    }
}

/// One object of the build: what is live, and what the server says it would be after the apply.
#[derive(Debug, Clone)]
pub struct LiveObject {
    pub obj_ref: ObjRef,
    pub api_version: String,
    /// `None`: not in the cluster.
    pub live: Option<Value>,
    /// The dry-run result; the configuration itself when it could not be sent (see `notes`).
    pub would_be: Value,
}

/// One member of the set that the build no longer holds.
#[derive(Debug, Clone)]
pub struct RemovedObject {
    pub obj_ref: ObjRef,
    /// The tenant whose set it is a member of; `None`: the platform's (the caller sets it).
    pub tenant: Option<String>,
    pub api_version: String,
    pub live: Value,
}

/// Both sides of a live diff of one environment.
#[derive(Debug, Default)]
pub struct LiveState {
    pub objects: Vec<LiveObject>,
    pub removed: Vec<RemovedObject>,
    /// The revision the set was last applied from, as its parent records it.
    pub applied_revision: Option<String>,
    /// What the diff should say beside the objects: conflicts, objects not sent, prune notes.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("{what}: {source}")]
    Cluster {
        what: String,
        #[source]
        source: SsaError,
    },
    #[error("the server refused the dry run of {object}: {message}\nhint: `ferry apply` would fail on it too; fix the object in the build")]
    Refused { object: String, message: String },
    #[error("cannot tell which members of ApplySet {parent} would be pruned:\n  {}\nhint: the credentials need list access to every kind the set holds", failures.join("\n  "))]
    Unlisted {
        parent: String,
        failures: Vec<String>,
    },
}

/// Sends every object with `dryRun=All` and reads what is live. Nothing is written: the only
/// requests are discovery, GET, LIST and PATCH with `dryRun=All`.
///
/// # Errors
/// A build ferry apply would refuse (see [`PlanError`]), a parent that is not ferry's, an object
/// the server refuses, or members that cannot be listed.
pub async fn dry_run(
    client: &Client,
    environment: &str,
    objects: Vec<Object>,
    opts: &LiveOptions,
) -> Result<LiveState, LiveError> {
    let parent = ParentRef {
        kind: opts.parent_kind,
        namespace: opts.inventory_namespace.clone(),
        name: opts
            .inventory_name
            .clone()
            .unwrap_or_else(|| format!("ferry-{environment}")),
    };
    parent.validate()?;
    let id = parent.id();
    let discovery = Discovery::new(client.clone());
    // The same plan `ferry apply` makes: the member label and the applied-digest stamp are
    // part of what would be applied, so an unchanged object compares equal.
    let plan = plan(objects, &id, &discovery).await?;
    let desired = plan.desired();
    let policy = SecretPolicy::new(&opts.secret_kinds);
    let sent: Vec<Result<(LiveObject, Option<String>), LiveError>> =
        futures::stream::iter(plan.objects.iter().map(|p| one(client, p, opts, &policy)))
            .buffered(opts.concurrency.max(1))
            .collect()
            .await;
    let mut state = LiveState::default();
    for r in sent {
        let (o, note) = r?;
        state.objects.extend([o]);
        state.notes.extend(note);
    }

    let parent_res = super::run::core_resource(parent.kind.kind(), parent.kind.plural());
    let display = format!(
        "{}/{}/{}",
        parent.kind.kind(),
        parent.namespace,
        parent.name
    );
    let live_parent = ssa::get(client, &parent_res, Some(&parent.namespace), &parent.name)
        .await
        .map_err(|source| LiveError::Cluster {
            what: format!("reading ApplySet parent {display}"),
            source,
        })?;
    let Some(live_parent) = live_parent else {
        // Never applied: nothing can be pruned.
        return Ok(state);
    };
    let inventory: Inventory = read_parent(&parent, &live_parent)?;
    state.applied_revision = inventory.revision.clone();
    let listed = list_members(client, &discovery, &parent, &id, &inventory).await;
    if !listed.unlisted.is_empty() {
        return Err(LiveError::Unlisted {
            parent: display,
            failures: listed
                .unlisted
                .iter()
                .map(|u| format!("{}: {}", u.kept.object, u.kept.reason))
                .collect(),
        });
    }
    let members: Vec<_> = listed.members.iter().map(|(m, _)| m.clone()).collect();
    // What the prune would delete with no budget; the budget only decides whether it runs.
    let forced = PrunePolicy {
        enabled: true,
        force: true,
        ..PrunePolicy::default()
    };
    let decision = decide(&members, &desired, &forced);
    for (r, why) in &decision.kept {
        state
            .notes
            .push(format!("{r} left the build but is kept: {why}"));
    }
    if let Some(why) = decide(&members, &desired, &PrunePolicy::default()).refused {
        state.notes.push(format!(
            "ferry apply would refuse this prune unless --force-prune or --max-prune allows it: {why}"
        ));
    }
    for m in decision.delete {
        if let Some((_, live)) = listed.members.iter().find(|(x, _)| x.obj_ref == m.obj_ref) {
            state.removed.push(RemovedObject {
                tenant: None,
                obj_ref: m.obj_ref.clone(),
                api_version: m.api_version.clone(),
                live: live.clone(),
            });
        }
    }
    Ok(state)
}

/// One object: GET, then the dry-run apply. A field another manager owns is taken over in the
/// dry run (and noted), so the diff shows the values ferry would set: after someone edited an
/// object in the cluster, that edit is the drift to show, not an error.
async fn one(
    client: &Client,
    p: &Planned,
    opts: &LiveOptions,
    policy: &SecretPolicy,
) -> Result<(LiveObject, Option<String>), LiveError> {
    let unsent = |live: Option<Value>, why: String| {
        Ok((
            LiveObject {
                obj_ref: p.obj_ref.clone(),
                api_version: p.api_version.clone(),
                live,
                would_be: p.value.clone(),
            },
            Some(format!("{} not sent to the server: {why}", p.obj_ref)),
        ))
    };
    let Some(resolved) = &p.resolved else {
        return unsent(
            None,
            "its CustomResourceDefinition is in the build, not in the cluster yet".into(),
        );
    };
    let ns = (!p.obj_ref.namespace.is_empty()).then_some(p.obj_ref.namespace.as_str());
    let mut live = ssa::get(client, resolved, ns, &p.obj_ref.name)
        .await
        .map_err(|source| LiveError::Cluster {
            what: format!("reading {}", p.obj_ref),
            source,
        })?;
    if let Some(l) = live.as_mut() {
        typed(l, &resolved.resource);
    }
    let mut ssa_opts = SsaOptions {
        field_manager: opts.field_manager.clone(),
        force_conflicts: false,
        dry_run: true,
    };
    let mut note = None;
    let mut result = ssa::apply_over(client, resolved, &p.value, live.as_ref(), &ssa_opts).await;
    if let Err(SsaError::Conflict { conflicts }) = &result {
        let fields: Vec<String> = conflicts
            .iter()
            .map(|c| format!("{} (owned by {:?})", c.field, c.manager))
            .collect();
        note = Some(format!(
            "{}: ferry apply needs --force-conflicts to take over {}",
            p.obj_ref,
            fields.join(", ")
        ));
        ssa_opts.force_conflicts = true;
        result = ssa::apply_over(client, resolved, &p.value, live.as_ref(), &ssa_opts).await;
    }
    match result {
        Ok((_, mut would_be)) => {
            typed(&mut would_be, &resolved.resource);
            Ok((
                LiveObject {
                    obj_ref: p.obj_ref.clone(),
                    api_version: p.api_version.clone(),
                    live,
                    would_be,
                },
                note,
            ))
        }
        // Its namespace does not exist yet (the build creates it): a dry run cannot place it.
        Err(e) if e.is_not_found() && live.is_none() => unsent(
            None,
            format!(
                "namespace {} does not exist yet",
                ns.unwrap_or("(cluster scope)")
            ),
        ),
        Err(e) => {
            Err(LiveError::Refused {
                object: p.obj_ref.to_string(),
                // A server message may quote what it refused; for a secret, that may be a value.
                message: if policy.is_secret_kind(&p.obj_ref) {
                    match &e {
                        SsaError::Api { code, reason, .. } => {
                            format!("{reason} ({code}); details withheld: the object holds secret values")
                        }
                        _ => "details withheld: the object holds secret values".into(),
                    }
                } else {
                    e.to_string()
                },
            })
        }
    }
}

/// Makes sure an object the server returned names its type, as a build's objects do.
fn typed(v: &mut Value, r: &ApiResource) {
    if let Some(m) = v.as_object_mut() {
        m.entry("apiVersion")
            .or_insert_with(|| r.api_version.clone().into());
        m.entry("kind").or_insert_with(|| r.kind.clone().into());
    }
}
