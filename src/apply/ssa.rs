//! Server-side apply of one object: `PATCH` with `application/apply-patch+yaml` under ferry's
//! field manager, and what the server said: created, configured, unchanged, or who conflicts.

use super::discovery::Resolved;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::params::ValidationDirective;
use kube::Client;
use serde::Serialize;
use serde_json::Value;

/// How objects are applied.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SsaOptions {
    pub field_manager: String,
    /// Take over fields other managers own. Off by default: a conflict is reported instead.
    pub force_conflicts: bool,
    /// `dryRun=All`: the server runs admission and returns the result, nothing is stored.
    pub dry_run: bool,
}

impl Default for SsaOptions {
    fn default() -> Self {
        SsaOptions {
            field_manager: "ferry".into(),
            force_conflicts: false,
            dry_run: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
}

/// One field another manager owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub manager: String,
    pub field: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SsaError {
    #[error(
        "conflict: {}; hint: pass --force-conflicts to take these fields over from their managers",
        describe(conflicts)
    )]
    Conflict { conflicts: Vec<Conflict> },
    #[error("{reason} ({code}): {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{0}")]
    Transport(String),
}

fn describe(conflicts: &[Conflict]) -> String {
    conflicts
        .iter()
        .map(|c| format!("{} is owned by {:?}", c.field, c.manager))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SsaError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, SsaError::Api { code: 404, .. })
    }
}

impl From<kube::Error> for SsaError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) if status.code == 409 && status.reason == "Conflict" => {
                let conflicts = conflicts_of(&status);
                if conflicts.is_empty() {
                    SsaError::Api {
                        code: status.code,
                        reason: status.reason.clone(),
                        message: status.message.clone(),
                    }
                } else {
                    SsaError::Conflict { conflicts }
                }
            }
            kube::Error::Api(status) => SsaError::Api {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => SsaError::Transport(other.to_string()),
        }
    }
}

/// The managers and fields of a field-manager conflict, from the 409's causes:
/// `{"reason":"FieldManagerConflict","message":"conflict with \"kubectl-edit\" using apps/v1","field":".spec.replicas"}`.
fn conflicts_of(status: &kube::core::Status) -> Vec<Conflict> {
    let Some(details) = &status.details else {
        return Vec::new();
    };
    details
        .causes
        .iter()
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| Conflict {
            manager: quoted(&c.message).unwrap_or_else(|| c.message.clone()),
            field: c.field.clone(),
        })
        .collect()
}

fn quoted(s: &str) -> Option<String> {
    let start = s.find('"')? + 1;
    let len = s[start..].find('"')?;
    Some(s[start..start + len].to_string())
}

/// The API for one object's resource and namespace.
pub fn api_for(
    client: &Client,
    resolved: &Resolved,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match (resolved.namespaced, namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resolved.resource),
        _ => Api::all_with(client.clone(), &resolved.resource),
    }
}

fn to_value(obj: &DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// What decides "unchanged": the object without the bookkeeping every write touches, and
/// without the status a controller may update between the read and the apply.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    v
}

/// Reads an object; `None` when it does not exist.
pub async fn get(
    client: &Client,
    resolved: &Resolved,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<Value>, SsaError> {
    let api = api_for(client, resolved, namespace);
    Ok(api.get_opt(name).await?.as_ref().map(to_value))
}

/// Applies one object and returns what happened and the object the server returned. The
/// live object is read first to tell created, configured and unchanged apart.
pub async fn apply(
    client: &Client,
    resolved: &Resolved,
    object: &Value,
    opts: &SsaOptions,
) -> Result<(Outcome, Value), SsaError> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = object["metadata"]["namespace"].as_str();
    let before = api_for(client, resolved, namespace)
        .get_opt(name)
        .await?
        .as_ref()
        .map(to_value);
    apply_over(client, resolved, object, before.as_ref(), opts).await
}

/// Applies one object whose live state (`None`: absent) the caller already listed.
pub async fn apply_over(
    client: &Client,
    resolved: &Resolved,
    object: &Value,
    before: Option<&Value>,
    opts: &SsaOptions,
) -> Result<(Outcome, Value), SsaError> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = object["metadata"]["namespace"].as_str();
    let api = api_for(client, resolved, namespace);
    let params = PatchParams {
        dry_run: opts.dry_run,
        force: opts.force_conflicts,
        field_manager: Some(opts.field_manager.clone()),
        field_validation: Some(ValidationDirective::Strict),
    };
    let after = to_value(&api.patch(name, &params, &Patch::Apply(object)).await?);
    let outcome = match before {
        None => Outcome::Created,
        Some(b) if comparable(b) == comparable(&after) => Outcome::Unchanged,
        Some(_) => Outcome::Configured,
    };
    Ok((outcome, after))
}

/// Lists the live objects of one resource in one namespace (or cluster-wide), keyed by name.
pub async fn list(
    client: &Client,
    resolved: &Resolved,
    namespace: Option<&str>,
) -> Result<std::collections::BTreeMap<String, Value>, SsaError> {
    let api = api_for(client, resolved, namespace);
    let list = api.list(&kube::api::ListParams::default()).await?;
    // Items of a built-in list carry no apiVersion and kind; put them back so that the live
    // object compares with the desired one.
    Ok(list
        .items
        .iter()
        .filter_map(|o| {
            let mut v = to_value(o);
            if let Some(m) = v.as_object_mut() {
                m.entry("apiVersion")
                    .or_insert_with(|| resolved.resource.api_version.clone().into());
                m.entry("kind")
                    .or_insert_with(|| resolved.resource.kind.clone().into());
            }
            Some((o.metadata.name.clone()?, v))
        })
        .collect())
}

/// Deletes one object; one already gone counts as deleted.
pub async fn delete(
    client: &Client,
    resolved: &Resolved,
    namespace: Option<&str>,
    name: &str,
    propagation: PropagationPolicy,
    dry_run: bool,
) -> Result<(), SsaError> {
    let api = api_for(client, resolved, namespace);
    let params = DeleteParams {
        dry_run,
        propagation_policy: Some(propagation),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::response::{StatusCause, StatusDetails};
    use kube::core::Status;

    #[test]
    fn conflicts_name_each_manager_and_field() {
        let status = Status {
            code: 409,
            reason: "Conflict".into(),
            message: "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas".into(),
            details: Some(StatusDetails {
                name: "web".into(),
                group: "apps".into(),
                kind: "deployments".into(),
                uid: String::new(),
                causes: vec![
                    StatusCause {
                        reason: "FieldManagerConflict".into(),
                        message: "conflict with \"kubectl-edit\" using apps/v1".into(),
                        field: ".spec.replicas".into(),
                    },
                    StatusCause {
                        reason: "FieldManagerConflict".into(),
                        message: "conflict with \"helm\" using apps/v1".into(),
                        field: ".spec.template.spec.containers[name=\"web\"].image".into(),
                    },
                ],
                retry_after_seconds: 0,
            }),
            ..Status::default()
        };
        let err = SsaError::from(kube::Error::Api(Box::new(status)));
        let SsaError::Conflict { conflicts } = &err else {
            panic!("not a conflict: {err:?}");
        };
        assert_eq!(conflicts.len(), 2);
        assert_eq!(conflicts[0].manager, "kubectl-edit");
        assert_eq!(conflicts[1].manager, "helm");
        let msg = err.to_string();
        assert!(
            msg.contains(".spec.replicas is owned by \"kubectl-edit\""),
            "{msg}"
        );
        assert!(msg.contains("--force-conflicts"), "{msg}");
    }
}
