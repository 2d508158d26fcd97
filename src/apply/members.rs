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
    let mut namespaces: BTreeSet<String> = superset.namespaces.clone();
    namespaces.insert(parent.namespace.clone());
    let selector = format!("{PART_OF_LABEL}={id}");
    let mut members: Vec<Member> = Vec::new();
    let mut resolved_by_gk: BTreeMap<String, Resolved> = BTreeMap::new();
    for gk in &superset.group_kinds {
        let (group, kind) = split_group_kind(gk);
        let resolved = match discovery.resolve_group_kind(&group, &kind).await {
            Ok(Some(r)) => r,
            // No longer served: no object of it can exist.
            Ok(None) => continue,
            Err(e) => {
                out.failed.push(Kept {
                    object: gk.clone(),
                    reason: format!("cannot list members of this kind, none pruned: {e}"),
                });
                latest.group_kinds.insert(gk.clone());
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
                        let live = serde_json::to_value(&item).unwrap_or(Value::Null);
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
                        members.push(Member::from_live(
                            &resolved.resource.api_version,
                            obj_ref,
                            &live,
                        ));
                    }
                }
                Err(e) => {
                    out.failed.push(Kept {
                        object: format!("{gk} in {}", ns.unwrap_or("the cluster")),
                        reason: format!("cannot list members, none pruned: {}", SsaError::from(e)),
                    });
                    latest.group_kinds.insert(gk.clone());
                    if let Some(n) = ns {
                        latest.namespaces.insert(n.to_string());
                    }
                }
            }
        }
        resolved_by_gk.insert(gk.clone(), resolved);
    }
    let decision = decide(&members, desired, &opts.prune);
    out.kept = decision
        .kept
        .iter()
        .map(|(r, why)| Kept {
            object: r.to_string(),
            reason: why.to_string(),
        })
        .collect();
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
