//! Deterministic clean-up of one environment's objects: namespaces, duplicates, order.

use super::job::PairOutput;
use crate::manifest::{sort_objects, ObjRef, Scope, ScopeTable};
use crate::config::Pipeline;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PostError {
    #[error("{obj} is produced twice: by app `{first}` and by app `{second}`\nhint: remove it from one of them, or limit one app to other environments")]
    Duplicate { obj: ObjRef, first: String, second: String },
}

/// Scope knowledge for one environment: built-ins, `clusterScoped:` and every CRD rendered.
fn scopes(pipeline: &Pipeline, outputs: &[&PairOutput]) -> ScopeTable {
    let mut t = ScopeTable::default();
    for k in &pipeline.cluster_scoped {
        let (group, kind) = k.split_once('/').unwrap_or(("", k));
        t.insert(group, kind, Scope::Cluster);
    }
    for o in outputs {
        for obj in &o.objects {
            t.learn_from(obj);
        }
    }
    t
}

/// Sets or clears `metadata.namespace` by scope, refuses duplicates, sorts each app's objects.
pub fn finish_environment(pipeline: &Pipeline, outputs: &mut [PairOutput]) -> Result<(), Vec<PostError>> {
    let table = {
        let refs: Vec<&PairOutput> = outputs.iter().collect();
        scopes(pipeline, &refs)
    };
    let mut owners: BTreeMap<ObjRef, String> = BTreeMap::new();
    let mut errors = Vec::new();
    for out in outputs.iter_mut() {
        let default_ns = out.app.namespace.clone().unwrap_or_else(|| "default".to_string());
        for obj in out.objects.iter_mut() {
            match table.scope_of(obj.group(), obj.kind()) {
                Scope::Namespaced => {
                    if obj.namespace().is_none() {
                        obj.set_namespace(&default_ns);
                    }
                }
                Scope::Cluster => {
                    if let Some(meta) = obj.value_mut().get_mut("metadata").and_then(|m| m.as_object_mut()) {
                        meta.remove("namespace");
                    }
                }
            }
            let r = obj.obj_ref();
            match owners.get(&r) {
                Some(first) => errors.push(PostError::Duplicate { obj: r, first: first.clone(), second: out.app.app.clone() }),
                None => {
                    owners.insert(r, out.app.app.clone());
                }
            }
        }
        sort_objects(&mut out.objects);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
