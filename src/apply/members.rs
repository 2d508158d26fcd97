//! The set's live members: listed by their label across the kinds and namespaces the parent
//! names, judged by [`super::prune::decide`], and deleted. Reads and deletes; decides nothing.

use super::discovery::{Discovery, Resolved};
use super::inventory::{Inventory, ParentRef, PART_OF_LABEL};
use super::prune::{decide, Member};
use super::report::{Kept, PruneReport, PruneStatus};
use super::ssa::{self, SsaError};
use super::ApplyOptions;
use crate::manifest::ObjRef;
use kube::api::ListParams;
use kube::Client;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn split_group_kind(gk: &str) -> (String, String) {
    match gk.split_once('.') {
        Some((k, g)) => (g.to_string(), k.to_string()),
        None => (String::new(), gk.to_string()),
    }
}

/// A group-kind (and namespace) whose members could not be listed: none of it may be pruned,
/// and the parent must go on listing it.
#[derive(Debug, Clone)]
pub struct Unlisted {
    pub group_kind: String,
    pub namespace: Option<String>,
    pub kept: Kept,
    /// The API server said 403: the identity may not list there.
    pub forbidden: bool,
}

/// The set's live members, as listed by their label.
#[derive(Debug, Default)]
pub struct Listed {
    /// Each member with its live object (`apiVersion` and `kind` filled in).
    pub members: Vec<(Member, Value)>,
    pub resolved_by_gk: BTreeMap<String, Resolved>,
    pub unlisted: Vec<Unlisted>,
}

/// Lists the members of set `id` across the kinds and namespaces `inventory` names (and the
/// parent's namespace). Kinds no longer served are skipped: no object of them can exist.
pub async fn list_members(
    client: &Client,
    discovery: &Discovery,
    parent: &ParentRef,
    id: &str,
    inventory: &Inventory,
) -> Listed {
    let mut out = Listed::default();
    let mut namespaces: BTreeSet<String> = inventory.namespaces.clone();
    namespaces.insert(parent.namespace.clone());
    let selector = format!("{PART_OF_LABEL}={id}");
    for gk in &inventory.group_kinds {
        let (group, kind) = split_group_kind(gk);
        let resolved = match discovery.resolve_group_kind(&group, &kind).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                out.unlisted.push(Unlisted {
                    group_kind: gk.clone(),
                    namespace: None,
                    kept: Kept {
                        object: gk.clone(),
                        reason: format!("cannot list members of this kind, none pruned: {e}"),
                    },
                    forbidden: false,
                });
                continue;
            }
        };
        let scopes: Vec<Option<&str>> = if resolved.namespaced {
            namespaces.iter().map(|n| Some(n.as_str())).collect()
        } else {
            vec![None]
        };
        for ns in scopes {
            let api = ssa::api_for(client, &resolved, ns);
            match api.list(&ListParams::default().labels(&selector)).await {
                Ok(list) => {
                    for item in list.items {
                        let mut live = serde_json::to_value(&item).unwrap_or(Value::Null);
                        // Items of a built-in list carry no type; the diff shows whole objects.
                        if let Some(m) = live.as_object_mut() {
                            m.entry("apiVersion")
                                .or_insert_with(|| resolved.resource.api_version.clone().into());
                            m.entry("kind")
                                .or_insert_with(|| resolved.resource.kind.clone().into());
                        }
                        let obj_ref = ObjRef {
                            group: group.clone(),
                            kind: kind.clone(),
                            namespace: if resolved.namespaced {
                                item.metadata.namespace.clone().unwrap_or_default()
                            } else {
                                String::new()
                            },
                            name: item.metadata.name.clone().unwrap_or_default(),
                        };
                        let member =
                            Member::from_live(&resolved.resource.api_version, obj_ref, &live);
                        out.members.push((member, live));
                    }
                }
                Err(e) => out.unlisted.push(Unlisted {
                    group_kind: gk.clone(),
                    namespace: ns.map(str::to_string),
                    forbidden: matches!(&e, kube::Error::Api(s) if s.is_forbidden()),
                    kept: Kept {
                        object: format!("{gk} in {}", ns.unwrap_or("the cluster")),
                        reason: format!("cannot list members, none pruned: {}", SsaError::from(e)),
                    },
                }),
            }
        }
        out.resolved_by_gk.insert(gk.clone(), resolved);
    }
    out
}

/// Lists the set's live members, decides, and deletes. Returns the inventory the parent must
/// record afterwards: what was applied plus whatever is still a member or could not be listed.
#[allow(clippy::too_many_arguments)]
pub async fn prune(
    client: &Client,
    discovery: &Discovery,
    parent: &ParentRef,
    id: &str,
    superset: &Inventory,
    desired: &BTreeSet<ObjRef>,
    desired_inv: &Inventory,
    opts: &ApplyOptions,
    out: &mut PruneReport,
) -> Inventory {
    let mut latest = desired_inv.clone();
    let listed = list_members(client, discovery, parent, id, superset).await;
    let mut forgotten = Vec::new();
    for u in listed.unlisted {
        if u.forbidden && opts.forget_forbidden {
            forgotten.push(Kept {
                object: u.kept.object,
                reason: "not listable as this identity (403): nothing there it could prune; left out of the inventory".into(),
            });
            continue;
        }
        latest.group_kinds.insert(u.group_kind);
        if let Some(n) = u.namespace {
            latest.namespaces.insert(n);
        }
        out.failed.push(u.kept);
    }
    let members: Vec<Member> = listed.members.into_iter().map(|(m, _)| m).collect();
    let resolved_by_gk = listed.resolved_by_gk;
    let decision = decide(&members, desired, &opts.prune);
    out.kept = decision
        .kept
        .iter()
        .map(|(r, why)| Kept {
            object: r.to_string(),
            reason: why.to_string(),
        })
        .collect();
    out.kept.extend(forgotten);
    // Kept members stay members: the parent must go on listing them.
    for (r, _) in &decision.kept {
        latest.group_kinds.insert(r.group_kind());
        if !r.namespace.is_empty() {
            latest.namespaces.insert(r.namespace.clone());
        }
    }
    if let Some(why) = decision.refused {
        out.status = PruneStatus::Refused;
        out.reason = Some(format!(
            "{why}; nothing pruned. hint: check the artifact, then pass --force-prune or --max-prune N|P%"
        ));
        for m in &members {
            latest.group_kinds.insert(m.obj_ref.group_kind());
            if !m.obj_ref.namespace.is_empty() {
                latest.namespaces.insert(m.obj_ref.namespace.clone());
            }
        }
        return latest;
    }
    out.status = if opts.ssa.dry_run {
        PruneStatus::DryRun
    } else {
        PruneStatus::Done
    };
    for m in &decision.delete {
        let r = &m.obj_ref;
        let Some(resolved) = resolved_by_gk.get(&r.group_kind()) else {
            continue;
        };
        if opts.ssa.dry_run {
            out.pruned.push(r.to_string());
            continue;
        }
        let ns = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
        match ssa::delete(
            client,
            resolved,
            ns,
            &r.name,
            opts.propagation.into(),
            false,
        )
        .await
        {
            Ok(()) => out.pruned.push(r.to_string()),
            Err(e) => {
                out.failed.push(Kept {
                    object: r.to_string(),
                    reason: format!("delete failed: {e}"),
                });
                latest.group_kinds.insert(r.group_kind());
                if let Some(n) = ns {
                    latest.namespaces.insert(n.to_string());
                }
            }
        }
    }
    latest
}
