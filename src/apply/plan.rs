//! The plan of one apply: every object labelled as a member, its scope settled, its resource
//! found (or deferred until the artifact's own CRDs are in), and its stage.

use super::discovery::{Discovery, DiscoveryError, Resolved};
use super::inventory::{label_member, Inventory};
use super::stage::{stage_of, Stage};
use crate::manifest::{ObjRef, Object, Scope, ScopeTable};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One object ready to send.
#[derive(Debug, Clone)]
pub struct Planned {
    pub obj_ref: ObjRef,
    pub api_version: String,
    pub value: Value,
    pub stage: Stage,
    /// `None` until the CRD that defines the kind is established.
    pub resolved: Option<Resolved>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{object} appears twice in the artifact")]
    Duplicate { object: String },
    #[error("{object}: namespaced {kind} has no metadata.namespace; hint: set it, or give the app a namespace in ferry.yaml")]
    NoNamespace { object: String, kind: String },
    #[error("the cluster does not serve these kinds and the artifact defines no CRD for them: {}; hint: apply their CRDs first, or check apiVersion", objects.join(", "))]
    UnknownKinds { objects: Vec<String> },
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// The plan: objects in apply order, and what the inventory must list for them.
#[derive(Debug)]
pub struct Plan {
    pub objects: Vec<Planned>,
    /// Kinds the artifact's CRDs define: `(group, kind)`.
    pub crd_kinds: BTreeSet<(String, String)>,
}

impl Plan {
    /// The inventory these objects make: their group-kinds and namespaces.
    pub fn inventory(&self) -> Inventory {
        let mut inv = Inventory::default();
        for p in &self.objects {
            inv.group_kinds.insert(p.obj_ref.group_kind());
            if !p.obj_ref.namespace.is_empty() {
                inv.namespaces.insert(p.obj_ref.namespace.clone());
            }
        }
        inv
    }

    pub fn desired(&self) -> BTreeSet<ObjRef> {
        self.objects.iter().map(|p| p.obj_ref.clone()).collect()
    }
}

/// Builds the plan. Fails before anything is applied when an object is a duplicate, lacks a
/// namespace, or has a kind that neither the cluster nor the artifact's CRDs define.
pub async fn plan(
    objects: Vec<Object>,
    applyset_id: &str,
    discovery: &Discovery,
) -> Result<Plan, PlanError> {
    let mut scopes = ScopeTable::default();
    let mut crd_kinds = BTreeSet::new();
    for o in &objects {
        scopes.learn_from(o);
        if o.kind() == "CustomResourceDefinition" && o.group() == "apiextensions.k8s.io" {
            let spec = &o.value()["spec"];
            if let (Some(g), Some(k)) = (spec["group"].as_str(), spec["names"]["kind"].as_str()) {
                crd_kinds.insert((g.to_string(), k.to_string()));
            }
        }
    }
    let mut seen = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut planned = Vec::new();
    for o in objects {
        let group = o.group().to_string();
        let kind = o.kind().to_string();
        let api_version = o.api_version().to_string();
        let resolved = discovery.resolve(&api_version, &kind).await?;
        let namespaced = match &resolved {
            Some(r) => r.namespaced,
            None if crd_kinds.contains(&(group.clone(), kind.clone())) => {
                scopes.scope_of(&group, &kind) == Scope::Namespaced
            }
            None => {
                unknown.push(format!("{} (apiVersion {api_version})", o.obj_ref()));
                continue;
            }
        };
        if let Some(r) = &resolved {
            scopes.insert(
                &group,
                &kind,
                if r.namespaced {
                    Scope::Namespaced
                } else {
                    Scope::Cluster
                },
            );
        }
        let mut value = o.into_value();
        if namespaced {
            if value["metadata"]["namespace"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                let obj = Object::from_value(value.clone())
                    .map(|o| o.obj_ref().to_string())
                    .unwrap_or_default();
                return Err(PlanError::NoNamespace { object: obj, kind });
            }
        } else if let Some(meta) = value["metadata"].as_object_mut() {
            // A namespace on a cluster-scoped object means nothing; the server ignores it and
            // the inventory must not list it.
            meta.remove("namespace");
        }
        label_member(&mut value, applyset_id);
        super::sync::stamp(&mut value);
        let obj_ref = ObjRef {
            group: group.clone(),
            kind: kind.clone(),
            namespace: if namespaced {
                value["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            } else {
                String::new()
            },
            name: value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        if seen.insert(obj_ref.clone(), ()).is_some() {
            return Err(PlanError::Duplicate {
                object: obj_ref.to_string(),
            });
        }
        planned.push(Planned {
            obj_ref,
            api_version,
            value,
            stage: Stage::Resources,
            resolved,
        });
    }
    if !unknown.is_empty() {
        return Err(PlanError::UnknownKinds { objects: unknown });
    }
    for p in &mut planned {
        let (g, k) = (&p.obj_ref.group, &p.obj_ref.kind);
        p.stage = stage_of(g, k, &scopes);
    }
    planned.sort_by_cached_key(|p| {
        (
            p.stage,
            crate::manifest::apply_rank(&p.obj_ref.group, &p.obj_ref.kind),
            p.obj_ref.clone(),
        )
    });
    Ok(Plan {
        objects: planned,
        crd_kinds,
    })
}
