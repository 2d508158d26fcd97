//! User-declared health rules per kind, as CEL expressions (Flux's `healthCheckExprs`): for
//! custom resources whose controllers report health in their own way. Each rule names an
//! `apiVersion` and `kind` and gives `current` (required), `inProgress` and `failed`; the
//! object's top-level fields (`metadata`, `spec`, `status`, ...) are the expressions'
//! variables. Evaluated as Flux does: `inProgress` first, then `failed`, then `current`; none
//! true means in progress. An expression that cannot be evaluated yet (a field the
//! controller has not written) counts as in progress, never as healthy.

use super::health::Health;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// One rule as declared (`spec.healthCheckExprs[]` of a Sync).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthExprSpec {
    pub api_version: String,
    pub kind: String,
    pub current: String,
    #[serde(default)]
    pub in_progress: Option<String>,
    #[serde(default)]
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("healthCheckExprs[{index}].{field}: {message}")]
pub struct HealthExprError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

struct Compiled {
    spec: HealthExprSpec,
    current: cel::Program,
    in_progress: Option<cel::Program>,
    failed: Option<cel::Program>,
}

/// The rules of one apply, compiled once. Empty by default.
#[derive(Clone, Default)]
pub struct HealthRules(Arc<Vec<Compiled>>);

impl std::fmt::Debug for HealthRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|c| &c.spec))
            .finish()
    }
}

fn compile(index: usize, field: &'static str, text: &str) -> Result<cel::Program, HealthExprError> {
    if text.trim().is_empty() {
        return Err(HealthExprError {
            index,
            field,
            message: "empty expression".into(),
        });
    }
    cel::Program::compile(text).map_err(|e| HealthExprError {
        index,
        field,
        message: format!("not a CEL expression: {e}"),
    })
}

impl HealthRules {
    /// Compiles every rule; all errors are reported, each naming its rule and field.
    ///
    /// # Errors
    /// The rules that do not compile, or name no apiVersion/kind, or repeat one.
    pub fn compile(specs: &[HealthExprSpec]) -> Result<HealthRules, Vec<HealthExprError>> {
        let mut errors = Vec::new();
        let mut out = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            for (field, v) in [("apiVersion", &s.api_version), ("kind", &s.kind)] {
                if v.trim().is_empty() {
                    errors.push(HealthExprError {
                        index: i,
                        field,
                        message: "missing".into(),
                    });
                }
            }
            if let Some(j) = specs[..i]
                .iter()
                .position(|p| p.api_version == s.api_version && p.kind == s.kind)
            {
                errors.push(HealthExprError {
                    index: i,
                    field: "kind",
                    message: format!(
                        "{} {} already has a rule (healthCheckExprs[{j}])",
                        s.api_version, s.kind
                    ),
                });
            }
            let current = compile(i, "current", &s.current);
            let in_progress = s
                .in_progress
                .as_deref()
                .map(|t| compile(i, "inProgress", t))
                .transpose();
            let failed = s
                .failed
                .as_deref()
                .map(|t| compile(i, "failed", t))
                .transpose();
            match (current, in_progress, failed) {
                (Ok(current), Ok(in_progress), Ok(failed)) => out.push(Compiled {
                    spec: s.clone(),
                    current,
                    in_progress,
                    failed,
                }),
                (c, p, f) => errors.extend([c.err(), p.err(), f.err()].into_iter().flatten()),
            }
        }
        if errors.is_empty() {
            Ok(HealthRules(Arc::new(out)))
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The verdict of the rule for `obj`'s apiVersion and kind; `None` when no rule names it.
    pub fn assess(&self, obj: &Value) -> Option<Health> {
        let rule = self.0.iter().find(|c| {
            obj["apiVersion"].as_str() == Some(c.spec.api_version.as_str())
                && obj["kind"].as_str() == Some(c.spec.kind.as_str())
        })?;
        let mut ctx = cel::Context::default();
        if let Some(fields) = obj.as_object() {
            for (k, v) in fields {
                match cel::to_value(v) {
                    Ok(v) => ctx.add_variable_from_value(k.as_str(), v),
                    Err(e) => {
                        return Some(Health::InProgress(format!(
                            "health rule: cannot read field {k}: {e}"
                        )))
                    }
                }
            }
        }
        let eval = |name: &str, p: &cel::Program| -> Result<bool, String> {
            match p.execute(&ctx) {
                Ok(cel::Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!("{name} returned {other:?}, not a bool")),
                Err(e) => Err(format!("{name}: {e}")),
            }
        };
        let steps = [
            ("inProgress", rule.in_progress.as_ref()),
            ("failed", rule.failed.as_ref()),
            ("current", Some(&rule.current)),
        ];
        for (name, program) in steps {
            let Some(program) = program else { continue };
            match eval(name, program) {
                Ok(true) => {
                    return Some(match name {
                        "inProgress" => Health::InProgress(format!(
                            "health rule inProgress is true: {}",
                            rule.spec.in_progress.as_deref().unwrap_or_default()
                        )),
                        "failed" => Health::Failed(format!(
                            "health rule failed is true: {}",
                            rule.spec.failed.as_deref().unwrap_or_default()
                        )),
                        _ => Health::Current,
                    })
                }
                Ok(false) => {}
                // A field not written yet: wait for it, as Flux does.
                Err(e) => return Some(Health::InProgress(format!("health rule {e}"))),
            }
        }
        Some(Health::InProgress(format!(
            "health rule current is not yet true: {}",
            rule.spec.current
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> HealthRules {
        HealthRules::compile(&[HealthExprSpec {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            current: "status.phase == 'Ready' && status.observedGeneration == metadata.generation"
                .into(),
            in_progress: Some("status.phase == 'Building'".into()),
            failed: Some(
                "status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')".into(),
            ),
        }])
        .expect("compiles")
    }

    fn widget(status: Value) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
               "metadata": {"name": "w", "generation": 2}, "status": status})
    }

    #[test]
    fn rules_decide_in_flux_order() {
        let r = rules();
        let ready = widget(json!({"phase": "Ready", "observedGeneration": 2, "conditions": []}));
        assert_eq!(r.assess(&ready), Some(Health::Current));
        let stale = widget(json!({"phase": "Ready", "observedGeneration": 1, "conditions": []}));
        assert!(
            matches!(r.assess(&stale), Some(Health::InProgress(m)) if m.contains("not yet true"))
        );
        let failed = widget(json!({"phase": "Ready", "observedGeneration": 2,
            "conditions": [{"type": "Failed", "status": "True"}]}));
        assert!(matches!(r.assess(&failed), Some(Health::Failed(_))));
        // inProgress wins over failed.
        let building = widget(json!({"phase": "Building", "observedGeneration": 2,
            "conditions": [{"type": "Failed", "status": "True"}]}));
        assert!(matches!(r.assess(&building), Some(Health::InProgress(_))));
        // No status yet: the expressions cannot be evaluated, so it is in progress.
        let fresh =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        assert!(matches!(r.assess(&fresh), Some(Health::InProgress(_))));
        // Other kinds are not the rule's.
        assert_eq!(
            r.assess(&json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            None
        );
    }

    #[test]
    fn bad_rules_are_named_by_index_and_field() {
        let errs = HealthRules::compile(&[
            HealthExprSpec {
                api_version: "example.com/v1".into(),
                kind: "Widget".into(),
                current: "status.phase ==".into(),
                in_progress: None,
                failed: Some(" ".into()),
            },
            HealthExprSpec {
                api_version: "".into(),
                kind: "Widget".into(),
                current: "true".into(),
                in_progress: None,
                failed: None,
            },
        ])
        .expect_err("invalid");
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.starts_with("healthCheckExprs[0].current: not a CEL expression")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t == "healthCheckExprs[0].failed: empty expression"),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t == "healthCheckExprs[1].apiVersion: missing"),
            "{text:?}"
        );
    }
}
