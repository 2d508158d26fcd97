//! The live cluster as the old side of a diff: what [`crate::apply::live::dry_run`] read and
//! what the server said each object would become, turned into two in-memory [`Build`]s so that
//! [`super::compare`] (secret key statuses, redaction, unified diffs) treats them as any build.

use super::load::{Build, Entry};
use super::strip_server_fields;
use crate::apply::live::LiveState;
use crate::apply::sync::APPLIED_ANNOTATION;
use crate::manifest::{to_yaml, ObjRef};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The app shown for set members that no app of the build renders any more.
pub const NOT_IN_BUILD: &str = "(not in the build)";

/// Drops what the server sets and ferry's own bookkeeping stamp: neither is a difference a
/// person made. Defaulted fields stay, since the dry-run result carries the same defaults.
pub fn normalize_live(value: &mut Value) {
    if let Some(ann) = value
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        ann.remove(APPLIED_ANNOTATION);
    }
    strip_server_fields(value);
}

fn entry(owner: (&str, Option<&str>), api_version: &str, path: String, value: &Value) -> Entry {
    let (app, tenant) = owner;
    let mut v = value.clone();
    normalize_live(&mut v);
    let bytes = to_yaml(&v).into_bytes();
    Entry {
        app: app.to_string(),
        tenant: tenant.map(str::to_string),
        api_version: api_version.to_string(),
        path,
        digest: Sha256::digest(&bytes).into(),
        bytes,
    }
}

/// The build entry of an object, matched on identity; a cluster-scoped object the index lists
/// with a namespace (which the server ignores) is matched without it.
fn build_entry<'a>(build: &'a Build, r: &ObjRef) -> Option<&'a Entry> {
    build.objects.get(r).or_else(|| {
        build
            .objects
            .iter()
            .find(|(k, _)| k.group == r.group && k.kind == r.kind && k.name == r.name)
            .map(|(_, e)| e)
    })
}

/// The two sides: `(live, would_be)`. The live side's revision says which revision the set was
/// last applied from, when its parent records it.
pub fn live_sides(build: &Build, state: &LiveState) -> (Build, Build) {
    let mut live = Build {
        dir: PathBuf::from("live"),
        environment: build.environment.clone(),
        revision: Some(match &state.applied_revision {
            Some(r) => format!("live (last applied {r})"),
            None => "live".into(),
        }),
        objects: Default::default(),
        tenants: build.tenants.clone(),
    };
    let mut would_be = Build {
        dir: build.dir.clone(),
        environment: build.environment.clone(),
        revision: build.revision.clone(),
        objects: Default::default(),
        tenants: build.tenants.clone(),
    };
    for o in &state.objects {
        let found = build_entry(build, &o.obj_ref);
        // The owner is the build's: the live side of a tenant's object is the tenant's too.
        let app = (
            found.map_or(NOT_IN_BUILD, |e| e.app.as_str()),
            found.and_then(|e| e.tenant.as_deref()),
        );
        let path = found.map_or_else(|| o.obj_ref.to_string(), |e| e.path.clone());
        if let Some(l) = &o.live {
            live.objects.insert(
                o.obj_ref.clone(),
                entry(app, &o.api_version, o.obj_ref.to_string(), l),
            );
        }
        would_be.objects.insert(
            o.obj_ref.clone(),
            entry(app, &o.api_version, path, &o.would_be),
        );
    }
    for r in &state.removed {
        live.objects.insert(
            r.obj_ref.clone(),
            // Set members no app renders: the owner is the set's (platform or tenant).
            entry(
                (NOT_IN_BUILD, r.tenant.as_deref()),
                &r.api_version,
                r.obj_ref.to_string(),
                &r.live,
            ),
        );
    }
    (live, would_be)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_stamp_and_server_fields_are_no_difference() {
        let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "n", "resourceVersion": "5",
                "annotations": {APPLIED_ANNOTATION: "sha256:00"}, "labels": {"x": "y"}},
            "data": {"k": "v"}});
        normalize_live(&mut v);
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "n", "labels": {"x": "y"}},
                "data": {"k": "v"}})
        );
    }
}
