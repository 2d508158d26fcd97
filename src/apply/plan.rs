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
    #[error("{object}: {field} {value:?} is not valid: {why}")]
    Invalid {
        object: String,
        field: &'static str,
        value: String,
        why: &'static str,
    },
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// Refuses identities that could not be a Kubernetes object's and would otherwise end up in
/// a request path: `apiVersion` is `[group/]version`, names are path segments.
fn check_identity(o: &Object) -> Result<(), PlanError> {
    let invalid = |field, value: &str, why| PlanError::Invalid {
        object: o.obj_ref().to_string(),
        field,
        value: value.to_string(),
        why,
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !s.starts_with('.')
    };
    let api = o.api_version();
    let ok_api = match api.split_once('/') {
        Some((g, v)) => token(g) && token(v) && !v.contains('.'),
        None => token(api) && !api.contains('.'),
    };
    if !ok_api {
        return Err(invalid(
            "apiVersion",
            api,
            "expected `version` or `group/version`",
        ));
    }
    if !o.kind().chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid("kind", o.kind(), "a kind is letters and digits"));
    }
    let segment = |s: &str| s != "." && s != ".." && !s.contains(['/', '%']);
    if !segment(o.name()) {
        return Err(invalid(
            "metadata.name",
            o.name(),
            "a name cannot be . or .. or hold / or %",
        ));
    }
    if let Some(ns) = o.namespace() {
        if !token(ns) || ns.contains('.') {
            return Err(invalid(
                "metadata.namespace",
                ns,
                "a namespace is a DNS label",
            ));
        }
    }
    Ok(())
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
        check_identity(&o)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, ns: Option<&str>, name: &str) -> Object {
        let mut v = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}});
        if let Some(ns) = ns {
            v["metadata"]["namespace"] = ns.into();
        }
        Object::from_value(v).expect("valid")
    }

    #[test]
    fn identities_that_would_leave_the_request_path_are_refused() {
        assert!(check_identity(&obj("apps/v1", "Deployment", Some("shop"), "web")).is_ok());
        assert!(check_identity(&obj("v1", "ConfigMap", Some("shop"), "a.b-c")).is_ok());
        assert!(check_identity(&obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            "system:metrics"
        ))
        .is_ok());
        for (api, kind, ns, name, field) in [
            ("../../x/v1", "A", None, "a", "apiVersion"),
            ("a/b/c", "A", None, "a", "apiVersion"),
            ("v1", "Config/Map", None, "a", "kind"),
            (
                "v1",
                "ConfigMap",
                Some("shop"),
                "../secrets/x",
                "metadata.name",
            ),
            ("v1", "ConfigMap", Some("shop"), "..", "metadata.name"),
            ("v1", "ConfigMap", Some("a/b"), "x", "metadata.namespace"),
        ] {
            let err = check_identity(&obj(api, kind, ns, name)).expect_err("refused");
            assert!(
                matches!(&err, PlanError::Invalid { field: f, .. } if *f == field),
                "{err}"
            );
        }
    }
}
