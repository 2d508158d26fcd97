//! A sync as declared: the `ferry.dev/v1alpha1` `Sync` custom resource the agent watches,
//! read and checked here, so that every mistake is reported with the field it is in.

use crate::apply::ParentKind;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

pub const GROUP: &str = "ferry.dev";
pub const VERSION: &str = "v1alpha1";
pub const KIND: &str = "Sync";
pub const PLURAL: &str = "syncs";
/// Set to any new value (a timestamp, as Flux's `reconcile.fluxcd.io/requestedAt`) to ask for a
/// reconciliation now; the agent echoes it in `status.lastHandledReconcileAt` once it acted.
pub const RECONCILE_ANNOTATION: &str = "ferry.dev/reconcile-requested-at";

/// A sync that failed validation: the object, the field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Sync {namespace}/{name}: {field}: {message}")]
pub struct SpecError {
    pub namespace: String,
    pub name: String,
    pub field: String,
    pub message: String,
}

/// A reference to one key of a Secret in the Sync's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifySpec {
    /// The cosign public key (PEM) that must have signed the artifact.
    pub secret_ref: Option<SecretKeyRef>,
    /// Accept an unsigned artifact (digests are still checked); must be said explicitly.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DecryptionSpec {
    /// The age identity (or identities) that open the artifact's sealed Secrets.
    pub secret_ref: SecretKeyRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InventorySpec {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What the agent does about drift between artifact changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum DriftMode {
    /// Apply again what drifted (the default).
    #[default]
    Correct,
    /// Record the drift in status and events; never re-apply because of it.
    Report,
    /// No drift check at all.
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DriftSpec {
    #[serde(default)]
    pub mode: DriftMode,
    /// Fields another controller owns: neither compared nor applied.
    #[serde(default)]
    pub ignore: Vec<crate::apply::drift::IgnoreRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    url: String,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    suspend: bool,
    #[serde(default)]
    verify: VerifySpec,
    #[serde(default)]
    decryption: Option<DecryptionSpec>,
    /// Plain HTTP to a registry that is not on loopback.
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    inventory: InventorySpec,
    #[serde(default = "yes")]
    prune: bool,
    #[serde(default)]
    wait: bool,
    /// Take fields over from other managers (a `kubectl edit` is drift to correct), as
    /// Flux's kustomize-controller does; `false` reports the conflict instead.
    #[serde(default = "yes")]
    force_conflicts: bool,
    #[serde(default)]
    drift: DriftSpec,
    #[serde(default)]
    health_check_exprs: Vec<crate::apply::health_expr::HealthExprSpec>,
}

fn yes() -> bool {
    true
}

/// A validated sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Sync {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    /// Without `oci://`: `host/repo:tag` or `host/repo@sha256:...`.
    pub reference: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub suspend: bool,
    pub verify: VerifySpec,
    pub decryption: Option<DecryptionSpec>,
    pub insecure: bool,
    pub parent_kind: ParentKind,
    pub inventory_namespace: String,
    /// Default: `ferry-<environment>` of the artifact.
    pub inventory_name: Option<String>,
    pub prune: bool,
    pub wait: bool,
    pub force_conflicts: bool,
    pub drift: DriftSpec,
    /// CEL health rules (validated: they compile).
    pub health_check_exprs: Vec<crate::apply::health_expr::HealthExprSpec>,
    /// The value of [`RECONCILE_ANNOTATION`], if set.
    pub requested_at: Option<String>,
}

impl Sync {
    /// `namespace/name`, for logs and messages.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Reads a `Sync` object as the API server returns it.
    ///
    /// # Errors
    /// The first field that is missing, unknown or wrong, named by its path.
    pub fn from_object(obj: &Value) -> Result<Sync, SpecError> {
        let meta = &obj["metadata"];
        let namespace = meta["namespace"].as_str().unwrap_or_default().to_string();
        let name = meta["name"].as_str().unwrap_or_default().to_string();
        let err = |field: &str, message: String| SpecError {
            namespace: namespace.clone(),
            name: name.clone(),
            field: field.to_string(),
            message,
        };
        let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        if !spec.is_object() {
            return Err(err(
                "spec",
                "missing: a Sync needs at least spec.url".into(),
            ));
        }
        let raw: RawSpec = serde_path_to_error::deserialize(spec).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "spec".to_string()
            } else {
                format!("spec.{path}")
            };
            err(&field, e.into_inner().to_string())
        })?;
        let reference = raw
            .url
            .strip_prefix("oci://")
            .ok_or_else(|| {
                err(
                    "spec.url",
                    format!(
                        "`{}` is not an oci:// reference (like oci://registry.example.com/platform/prod:latest)",
                        raw.url
                    ),
                )
            })?
            .to_string();
        crate::artifact::ArtifactRef::parse(&reference)
            .map_err(|e| err("spec.url", e.to_string()))?;
        let interval = match &raw.interval {
            Some(s) => parse_duration(s).map_err(|m| err("spec.interval", m))?,
            None => Duration::from_secs(300),
        };
        if interval < Duration::from_secs(1) {
            return Err(err("spec.interval", "must be at least 1s".into()));
        }
        let timeout = match &raw.timeout {
            Some(s) => parse_duration(s).map_err(|m| err("spec.timeout", m))?,
            None => Duration::from_secs(300),
        };
        if timeout < Duration::from_secs(1) {
            return Err(err("spec.timeout", "must be at least 1s".into()));
        }
        if raw.verify.secret_ref.is_none() && !raw.verify.insecure_skip_verify {
            return Err(err(
                "spec.verify.secretRef",
                "missing: name the Secret holding the cosign public key, or set spec.verify.insecureSkipVerify: true to accept unsigned artifacts".into(),
            ));
        }
        if raw.verify.secret_ref.is_some() && raw.verify.insecure_skip_verify {
            return Err(err(
                "spec.verify.insecureSkipVerify",
                "cannot be true together with spec.verify.secretRef".into(),
            ));
        }
        for (field, r) in [
            ("spec.verify.secretRef", raw.verify.secret_ref.as_ref()),
            (
                "spec.decryption.secretRef",
                raw.decryption.as_ref().map(|d| &d.secret_ref),
            ),
        ] {
            if let Some(r) = r {
                if r.name.is_empty() {
                    return Err(err(&format!("{field}.name"), "must not be empty".into()));
                }
                if r.key.is_empty() {
                    return Err(err(&format!("{field}.key"), "must not be empty".into()));
                }
            }
        }
        for (i, rule) in raw.drift.ignore.iter().enumerate() {
            if rule.paths.is_empty() {
                return Err(err(
                    &format!("spec.drift.ignore[{i}].paths"),
                    "must list at least one JSON pointer, like /spec/replicas".into(),
                ));
            }
            for (j, p) in rule.paths.iter().enumerate() {
                if !crate::apply::drift::valid_pointer(p) {
                    return Err(err(
                        &format!("spec.drift.ignore[{i}].paths[{j}]"),
                        format!("`{p}` is not a JSON pointer (RFC 6901: /spec/replicas, ~1 for a / in a key)"),
                    ));
                }
            }
        }
        if let Err(errors) =
            crate::apply::health_expr::HealthRules::compile(&raw.health_check_exprs)
        {
            let first = &errors[0];
            return Err(err(
                &format!("spec.healthCheckExprs[{}].{}", first.index, first.field),
                first.message.clone(),
            ));
        }
        let parent_kind = match raw.inventory.kind.as_deref() {
            None | Some("Secret") => ParentKind::Secret,
            Some("ConfigMap") => ParentKind::ConfigMap,
            Some(other) => {
                return Err(err(
                    "spec.inventory.kind",
                    format!("`{other}`: must be Secret or ConfigMap"),
                ))
            }
        };
        let inventory_namespace = raw
            .inventory
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.clone());
        Ok(Sync {
            uid: meta["uid"].as_str().unwrap_or_default().to_string(),
            generation: meta["generation"].as_i64().unwrap_or(0),
            requested_at: meta["annotations"][RECONCILE_ANNOTATION]
                .as_str()
                .map(str::to_string),
            namespace,
            name,
            reference,
            interval,
            timeout,
            suspend: raw.suspend,
            verify: raw.verify,
            decryption: raw.decryption,
            insecure: raw.insecure,
            parent_kind,
            inventory_namespace,
            inventory_name: raw.inventory.name,
            prune: raw.prune,
            wait: raw.wait,
            force_conflicts: raw.force_conflicts,
            drift: raw.drift,
            health_check_exprs: raw.health_check_exprs,
        })
    }
}

pub use crate::duration::parse_duration;

/// `5m0s`-like text for status and tables.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(spec: Value) -> Value {
        json!({"apiVersion": "ferry.dev/v1alpha1", "kind": "Sync",
               "metadata": {"name": "prod", "namespace": "ferry-system", "generation": 3},
               "spec": spec})
    }

    fn error(spec: Value) -> SpecError {
        Sync::from_object(&obj(spec)).expect_err("must be refused")
    }

    #[test]
    fn a_full_sync_reads() {
        let s = Sync::from_object(&obj(json!({
            "url": "oci://127.0.0.1:5000/platform/prod:latest",
            "interval": "1m30s", "timeout": "2m",
            "verify": {"secretRef": {"name": "cosign", "key": "cosign.pub"}},
            "decryption": {"secretRef": {"name": "age", "key": "identity.agekey"}},
            "inventory": {"kind": "ConfigMap", "namespace": "inv", "name": "set"},
            "prune": false, "wait": true
        })))
        .expect("valid");
        assert_eq!(s.reference, "127.0.0.1:5000/platform/prod:latest");
        assert_eq!(s.interval, Duration::from_secs(90));
        assert_eq!(s.timeout, Duration::from_secs(120));
        assert_eq!(s.parent_kind, ParentKind::ConfigMap);
        assert_eq!(s.inventory_namespace, "inv");
        assert_eq!(s.generation, 3);
        assert!(!s.prune && s.wait);
    }

    #[test]
    fn defaults() {
        let s = Sync::from_object(&obj(json!({
            "url": "oci://r.example/p:v1", "verify": {"insecureSkipVerify": true}
        })))
        .expect("valid");
        assert_eq!(s.interval, Duration::from_secs(300));
        assert!(s.prune && !s.wait && !s.suspend);
        assert_eq!(s.inventory_namespace, "ferry-system");
        assert_eq!(s.parent_kind, ParentKind::Secret);
    }

    #[test]
    fn health_rules_are_compiled_when_the_sync_is_read() {
        let verify = json!({"insecureSkipVerify": true});
        let rule = json!({"apiVersion": "example.com/v1", "kind": "Widget", "current": "status.phase == 'Ready'"});
        let s = Sync::from_object(&obj(json!({
            "url": "oci://r.example/p:v1", "verify": verify, "healthCheckExprs": [rule]
        })))
        .expect("valid");
        assert_eq!(s.health_check_exprs.len(), 1);
        let bad =
            json!({"apiVersion": "example.com/v1", "kind": "Gadget", "current": "status.phase =="});
        let e = error(
            json!({"url": "oci://r.example/p:v1", "verify": verify, "healthCheckExprs": [rule, bad]}),
        );
        assert_eq!(e.field, "spec.healthCheckExprs[1].current");
        assert!(e.message.contains("not a CEL expression"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        let verify = json!({"insecureSkipVerify": true});
        assert_eq!(
            error(json!({"url": "oci://r.example/p:v1", "verify": verify, "intervall": "5m"}))
                .field,
            "spec.intervall"
        );
        let e = error(json!({"url": "oci://r.example/p:v1", "verify": verify, "intervall": "5m"}));
        assert!(e.message.contains("unknown field `intervall`"), "{e}");
        assert_eq!(
            error(json!({"url": "r/p:v1", "verify": verify})).field,
            "spec.url"
        );
        assert_eq!(
            error(
                json!({"url": "oci://r.example/p:v1", "verify": verify, "interval": "5 minutes"})
            )
            .field,
            "spec.interval"
        );
        assert_eq!(
            error(json!({"url": "oci://r.example/p:v1"})).field,
            "spec.verify.secretRef"
        );
        assert_eq!(
            error(json!({"url": "oci://r.example/p:v1", "verify": {"secretRef": {"name": "k"}}}))
                .field,
            "spec.verify.secretRef"
        );
        assert_eq!(
            error(
                json!({"url": "oci://r.example/p:v1", "verify": {"secretRef": {"name": "", "key": "k"}}})
            )
            .field,
            "spec.verify.secretRef.name"
        );
        assert_eq!(
            error(json!({"url": "oci://r.example/p:v1", "verify": verify, "inventory": {"kind": "Pod"}}))
                .field,
            "spec.inventory.kind"
        );
        assert_eq!(
            error(json!({"url": "oci://r.example/p:v1", "verify": verify, "prune": "yes"})).field,
            "spec.prune"
        );
        assert_eq!(
            error(json!({"url": "oci://r.example/p:v1", "verify": verify,
                "drift": {"ignore": [{"target": {"kind": "Deployment"}, "paths": ["spec/replicas"]}]}}))
                .field,
            "spec.drift.ignore[0].paths[0]"
        );
        assert_eq!(
            error(
                json!({"url": "oci://r.example/p:v1", "verify": verify, "drift": {"mode": "fix"}})
            )
            .field,
            "spec.drift.mode"
        );
        let e = error(json!({"verify": verify}));
        assert!(e.message.contains("missing field `url`"), "{e}");
        assert_eq!(
            e.to_string(),
            format!("Sync ferry-system/prod: {}: {}", e.field, e.message)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m0s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("9999h").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }
}
