//! The inventory of one environment as a KEP-3659 ApplySet, so `kubectl` understands it: the
//! parent object, its id, the member label and the annotations listing the member kinds.

use base64::Engine;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
pub const GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const NAMESPACES_ANNOTATION: &str = "applyset.kubernetes.io/additional-namespaces";
/// The artifact digest and revision the set was last applied from (ferry's own metadata).
pub const DIGEST_ANNOTATION: &str = "ferry.dev/artifact-digest";
pub const REVISION_ANNOTATION: &str = "ferry.dev/artifact-revision";
pub const ENVIRONMENT_LABEL: &str = "ferry.dev/environment";
/// The tool name in the tooling annotation; kubectl refuses to touch a set with another name.
pub const TOOL_NAME: &str = "ferry";

/// The kinds kubectl accepts as ApplySet parents without a custom CRD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum ParentKind {
    #[default]
    Secret,
    ConfigMap,
}

impl ParentKind {
    pub fn kind(self) -> &'static str {
        match self {
            ParentKind::Secret => "Secret",
            ParentKind::ConfigMap => "ConfigMap",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            ParentKind::Secret => "secrets",
            ParentKind::ConfigMap => "configmaps",
        }
    }
}

/// Where the parent lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentRef {
    pub kind: ParentKind,
    pub namespace: String,
    pub name: String,
}

impl ParentRef {
    /// The parent of an environment: `ferry-<env>` in `namespace`.
    pub fn for_environment(kind: ParentKind, namespace: &str, environment: &str) -> ParentRef {
        ParentRef {
            kind,
            namespace: namespace.to_string(),
            name: format!("ferry-{environment}"),
        }
    }

    /// Both name and namespace must be DNS labels (they end up in request paths).
    pub fn validate(&self) -> Result<(), InventoryError> {
        let label = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.starts_with('-')
                && !s.ends_with('-')
        };
        if label(&self.name) && label(&self.namespace) {
            Ok(())
        } else {
            Err(InventoryError::InvalidName {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            })
        }
    }

    /// The ApplySet id; both parent kinds are in the core group.
    pub fn id(&self) -> String {
        applyset_id(&self.name, &self.namespace, self.kind.kind(), "")
    }
}

/// `applyset-<base64url-no-pad(sha256(<name>.<namespace>.<kind>.<group>))>-v1`, exactly as
/// kubectl's `ApplySet.ID()` computes it.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let unencoded = format!("{name}.{namespace}.{kind}.{group}");
    let hashed = Sha256::digest(unencoded.as_bytes());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hashed);
    format!("applyset-{b64}-v1")
}

/// What a parent says about its members: their group-kinds (`Kind` or `Kind.group`) and the
/// namespaces besides the parent's own where namespaced members live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub group_kinds: BTreeSet<String>,
    pub namespaces: BTreeSet<String>,
    pub digest: Option<String>,
    pub revision: Option<String>,
}

impl Inventory {
    /// The union of two inventories: what a parent must list while an apply is under way, so
    /// that an interrupted run leaves every member findable.
    pub fn union(&self, other: &Inventory) -> Inventory {
        Inventory {
            group_kinds: self
                .group_kinds
                .union(&other.group_kinds)
                .cloned()
                .collect(),
            namespaces: self.namespaces.union(&other.namespaces).cloned().collect(),
            digest: self.digest.clone(),
            revision: self.revision.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryError {
    #[error("ApplySet parent {parent} is managed by {tooling:?}, not ferry; hint: choose another parent with --inventory-name, or remove it if it is stale")]
    ForeignTooling { parent: String, tooling: String },
    #[error("ApplySet parent name {name:?} in namespace {namespace:?} is not valid; hint: environment names and --inventory-name/--inventory-namespace must be DNS labels")]
    InvalidName { namespace: String, name: String },
    #[error("ApplySet parent {parent} has no {ID_LABEL} label (or a wrong one: {found:?}); refusing to adopt an object that is not ferry's parent")]
    WrongId {
        parent: String,
        found: Option<String>,
    },
}

fn split_list(s: Option<&str>) -> BTreeSet<String> {
    s.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads an existing parent, refusing one that belongs to another tool or another set.
pub fn read_parent(parent: &ParentRef, live: &Value) -> Result<Inventory, InventoryError> {
    let meta = &live["metadata"];
    let display = format!(
        "{}/{}/{}",
        parent.kind.kind(),
        parent.namespace,
        parent.name
    );
    let id = meta["labels"][ID_LABEL].as_str();
    if id != Some(parent.id().as_str()) {
        return Err(InventoryError::WrongId {
            parent: display,
            found: id.map(str::to_string),
        });
    }
    let ann = &meta["annotations"];
    let tooling = ann[TOOLING_ANNOTATION].as_str().unwrap_or_default();
    if tooling.split('/').next() != Some(TOOL_NAME) {
        return Err(InventoryError::ForeignTooling {
            parent: display,
            tooling: tooling.to_string(),
        });
    }
    Ok(Inventory {
        group_kinds: split_list(ann[GROUP_KINDS_ANNOTATION].as_str()),
        namespaces: split_list(ann[NAMESPACES_ANNOTATION].as_str()),
        digest: ann[DIGEST_ANNOTATION].as_str().map(str::to_string),
        revision: ann[REVISION_ANNOTATION].as_str().map(str::to_string),
    })
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().map(String::as_str).collect::<Vec<_>>().join(",")
}

/// The parent as an apply patch. The parent's own namespace is never listed as additional.
pub fn parent_manifest(
    parent: &ParentRef,
    inventory: &Inventory,
    environment: &str,
    tooling_version: &str,
) -> Value {
    let mut annotations = Map::new();
    annotations.insert(
        TOOLING_ANNOTATION.into(),
        format!("{TOOL_NAME}/{tooling_version}").into(),
    );
    annotations.insert(
        GROUP_KINDS_ANNOTATION.into(),
        join(&inventory.group_kinds).into(),
    );
    let extra: BTreeSet<String> = inventory
        .namespaces
        .iter()
        .filter(|n| **n != parent.namespace)
        .cloned()
        .collect();
    annotations.insert(NAMESPACES_ANNOTATION.into(), join(&extra).into());
    if let Some(d) = &inventory.digest {
        annotations.insert(DIGEST_ANNOTATION.into(), d.clone().into());
    }
    if let Some(r) = &inventory.revision {
        annotations.insert(REVISION_ANNOTATION.into(), r.clone().into());
    }
    json!({
        "apiVersion": "v1",
        "kind": parent.kind.kind(),
        "metadata": {
            "name": parent.name,
            "namespace": parent.namespace,
            "labels": {ID_LABEL: parent.id(), ENVIRONMENT_LABEL: environment},
            "annotations": annotations,
        }
    })
}

/// Marks an object as a member of the set.
pub fn label_member(value: &mut Value, id: &str) {
    let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    if let Some(l) = labels.as_object_mut() {
        l.insert(PART_OF_LABEL.into(), Value::String(id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent computation of the id: sha256 then unpadded URL-safe base64 by hand.
    fn expected_id(input: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let digest = Sha256::digest(input.as_bytes());
        let mut out = String::new();
        for chunk in digest.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        format!("applyset-{out}-v1")
    }

    #[test]
    fn id_matches_kubectl_for_its_own_test_vectors() {
        // From kubectl's apply_test.go: Secret my-set in namespace test, and a cluster-scoped
        // ApplySet custom resource my-set in group company.com.
        assert_eq!(
            applyset_id("my-set", "test", "Secret", ""),
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
        assert_eq!(
            applyset_id("my-set", "", "ApplySet", "company.com"),
            "applyset-rhp1a-HVAVT_dFgyEygyA1BEB82HPp2o10UiFTpqtAs-v1"
        );
    }

    #[test]
    fn id_matches_an_independent_computation() {
        let p = ParentRef::for_environment(ParentKind::Secret, "ferry-system", "prod");
        assert_eq!(p.name, "ferry-prod");
        assert_eq!(p.id(), expected_id("ferry-prod.ferry-system.Secret."));
        let c = ParentRef::for_environment(ParentKind::ConfigMap, "ops", "staging");
        assert_eq!(c.id(), expected_id("ferry-staging.ops.ConfigMap."));
        assert_ne!(p.id(), c.id());
        // Label values are at most 63 characters.
        assert!(p.id().len() <= 63, "{}", p.id());
    }

    #[test]
    fn parent_round_trips_and_omits_its_own_namespace() {
        let p = ParentRef::for_environment(ParentKind::Secret, "ferry-system", "prod");
        let inv = Inventory {
            group_kinds: ["Deployment.apps", "ConfigMap", "Namespace"]
                .map(String::from)
                .into(),
            namespaces: ["web", "ferry-system", "api"].map(String::from).into(),
            digest: Some("sha256:abc".into()),
            revision: Some("main@sha1:123".into()),
        };
        let v = parent_manifest(&p, &inv, "prod", "0.1.0");
        let ann = &v["metadata"]["annotations"];
        assert_eq!(ann[TOOLING_ANNOTATION], "ferry/0.1.0");
        assert_eq!(
            ann[GROUP_KINDS_ANNOTATION],
            "ConfigMap,Deployment.apps,Namespace"
        );
        assert_eq!(ann[NAMESPACES_ANNOTATION], "api,web");
        assert_eq!(v["metadata"]["labels"][ID_LABEL], p.id().as_str());
        let back = read_parent(&p, &v).expect("reads");
        assert_eq!(back.group_kinds, inv.group_kinds);
        assert_eq!(back.namespaces, ["api", "web"].map(String::from).into());
        assert_eq!(back.digest.as_deref(), Some("sha256:abc"));
    }

    #[test]
    fn parent_names_must_be_dns_labels() {
        assert!(
            ParentRef::for_environment(ParentKind::Secret, "ferry-system", "prod")
                .validate()
                .is_ok()
        );
        for (ns, env) in [
            ("ferry-system", "../x"),
            ("ferry-system", "Prod"),
            ("a/b", "prod"),
            ("", "prod"),
        ] {
            assert!(
                ParentRef::for_environment(ParentKind::Secret, ns, env)
                    .validate()
                    .is_err(),
                "{ns} {env}"
            );
        }
    }

    #[test]
    fn foreign_parents_are_refused() {
        let p = ParentRef::for_environment(ParentKind::Secret, "ns", "prod");
        let mut v = parent_manifest(&p, &Inventory::default(), "prod", "0.1.0");
        v["metadata"]["annotations"][TOOLING_ANNOTATION] = "kubectl/v1.31.0".into();
        assert!(matches!(
            read_parent(&p, &v),
            Err(InventoryError::ForeignTooling { .. })
        ));
        v["metadata"]["labels"][ID_LABEL] = "applyset-other-v1".into();
        assert!(matches!(
            read_parent(&p, &v),
            Err(InventoryError::WrongId { .. })
        ));
    }

    #[test]
    fn label_member_adds_the_part_of_label() {
        let mut v = json!({"metadata": {"name": "a", "labels": {"x": "y"}}});
        label_member(&mut v, "applyset-abc-v1");
        assert_eq!(v["metadata"]["labels"][PART_OF_LABEL], "applyset-abc-v1");
        assert_eq!(v["metadata"]["labels"]["x"], "y");
        let mut bare = json!({"metadata": {"name": "a"}});
        label_member(&mut bare, "id");
        assert_eq!(bare["metadata"]["labels"][PART_OF_LABEL], "id");
    }
}
