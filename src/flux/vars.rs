//! The variables of a Kustomization's `postBuild`: every `substituteFrom` ConfigMap and Secret
//! in order (later ones win), then `substitute` over them, each value with its newlines
//! removed, as kustomize-controller loads them. Flux reads them from the cluster; ferry reads
//! them from the objects the cluster's Kustomizations render from this repository.

use super::spec::PostBuild;
use crate::secrets::Disclosed;
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why the variables could not be loaded.
#[derive(Debug)]
pub enum VarsError {
    /// A ConfigMap or Secret that is not rendered (yet): `Kind/name`.
    Missing(String),
    Invalid(String),
}

/// Finds a rendered object by kind, namespace and name.
pub type Lookup<'a> = dyn Fn(&str, &str, &str) -> Option<Value> + 'a;

/// Flux's rule for variable names.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub fn load(
    post: &PostBuild,
    namespace: &str,
    lookup: &Lookup<'_>,
    disclosed: &mut Disclosed,
) -> Result<BTreeMap<String, String>, VarsError> {
    let mut vars = BTreeMap::new();
    for r in &post.substitute_from {
        let what = format!("{}/{}", r.kind, r.name);
        if r.kind != "ConfigMap" && r.kind != "Secret" {
            return Err(VarsError::Invalid(format!(
                "postBuild.substituteFrom: kind `{}` of `{}` is neither ConfigMap nor Secret",
                r.kind, r.name
            )));
        }
        let Some(obj) = lookup(&r.kind, namespace, &r.name) else {
            if r.optional {
                continue;
            }
            return Err(VarsError::Missing(what));
        };
        if let Some(data) = obj["data"].as_object() {
            for (k, v) in data {
                let text = v.as_str().unwrap_or_default();
                let value = if r.kind == "Secret" {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|_| {
                            VarsError::Invalid(format!(
                                "postBuild.substituteFrom: Secret {namespace}/{}: data.{k} is not base64",
                                r.name
                            ))
                        })?;
                    String::from_utf8_lossy(&bytes).into_owned()
                } else {
                    text.to_string()
                };
                vars.insert(k.clone(), value.replace('\n', ""));
            }
        }
        if r.kind == "Secret" {
            if let Some(data) = obj["stringData"].as_object() {
                for (k, v) in data {
                    vars.insert(k.clone(), v.as_str().unwrap_or_default().replace('\n', ""));
                }
            }
            let origin = format!("Secret {namespace}/{} (substituteFrom)", r.name);
            for (k, v) in &vars {
                if obj["data"].get(k).is_some() || obj["stringData"].get(k).is_some() {
                    disclosed.add(format!("{origin}: {k}"), v);
                }
            }
        }
    }
    for (k, v) in &post.substitute {
        vars.insert(k.clone(), v.replace('\n', ""));
    }
    if let Some(bad) = vars.keys().find(|k| !valid_name(k)) {
        return Err(VarsError::Invalid(format!(
            "'{bad}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
        )));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_sources_win_and_secrets_are_disclosed() {
        let post: PostBuild = serde_json::from_value(json!({
            "substitute": {"b": "inline\n"},
            "substituteFrom": [
                {"kind": "ConfigMap", "name": "vars"},
                {"kind": "Secret", "name": "creds"},
                {"kind": "ConfigMap", "name": "absent", "optional": true}
            ]
        }))
        .unwrap();
        let lookup = |kind: &str, _ns: &str, name: &str| match (kind, name) {
            ("ConfigMap", "vars") => Some(json!({"data": {"a": "cm", "b": "cm", "c": "x"}})),
            ("Secret", "creds") => Some(json!({"data": {"a": "c2VjcmV0LXZhbHVl"}})),
            _ => None,
        };
        let mut d = Disclosed::default();
        let v = load(&post, "flux-system", &lookup, &mut d).unwrap();
        assert_eq!(v["a"], "secret-value");
        assert_eq!(v["b"], "inline");
        assert_eq!(v["c"], "x");
        assert!(!d.redact("secret-value").contains("secret-value"));
        let missing: PostBuild =
            serde_json::from_value(json!({"substituteFrom": [{"kind": "Secret", "name": "no"}]}))
                .unwrap();
        assert!(
            matches!(load(&missing, "ns", &lookup, &mut d), Err(VarsError::Missing(m)) if m == "Secret/no")
        );
    }
}
