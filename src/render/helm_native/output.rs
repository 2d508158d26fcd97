//! The text `helm template` prints (helm 4.1.4 `releaseutil.SortManifests`,
//! `action.renderResources`, `cmd/template.go`): rendered files split into documents, hooks
//! set apart, manifests sorted by kind in install order, `# Source:` headers.

use super::Error;
use std::collections::BTreeMap;

/// helm v4's `InstallOrder`; unknown kinds follow, alphabetically.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One document with the file it came from.
pub struct Doc {
    pub path: String,
    pub content: String,
    pub kind: String,
    /// The `helm.sh/hook` events of a hook.
    pub hook_events: Option<Vec<String>>,
}

/// Helm's `SplitManifests`: documents separated by `---` at the start of a line (the rest of
/// that line's whitespace is part of the separator), each trimmed, empty ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    static SEP: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let sep = SEP
        .get_or_init(|| regex::Regex::new(r"(?:^|\s*\n)---\s*").unwrap_or_else(|_| unreachable!()));
    sep.split(text.trim())
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_string())
        .collect()
}

/// The head of a document Helm reads (`SimpleHead`): kind and annotations.
/// A libyaml error as go-yaml v2 words it: `line N: PROBLEM`, where N is libyaml's 0-based
/// line of the problem for parser errors and the 1-based one for scanner errors (go-yaml
/// adds one only for those), and no position at all on line 0.
fn go_yaml_error(e: &str) -> String {
    let (problem, context) = match e.split_once(", while ") {
        Some((p, c)) => (p, Some(c)),
        None => (e, None),
    };
    let Some((msg, pos)) = problem.rsplit_once(" at line ") else {
        return e.to_string();
    };
    let Some(line) = pos.split(' ').next().and_then(|l| l.parse::<usize>().ok()) else {
        return e.to_string();
    };
    let scanner = match context {
        Some(c) => c.starts_with("scanning"),
        None => {
            msg.starts_with("found ")
                || msg.starts_with("mapping values are not allowed")
                || msg.starts_with("block sequence entries are not allowed")
        }
    };
    let line = if scanner { line } else { line - 1 };
    if line == 0 {
        msg.to_string()
    } else {
        format!("line {line}: {msg}")
    }
}

type Head = (String, Option<BTreeMap<String, String>>);

/// [`read_head`] of a manifest, kept by its text: reading YAML is most of what is left of a
/// render once its templates are parsed, and a chart rendered again gives the same manifests.
fn head(path: &str, doc: &str) -> Result<Head, Error> {
    static HEADS: super::text_memo::TextMemo<Head> = super::text_memo::TextMemo::new(16 << 20);
    HEADS.get_or_try(doc, || read_head(path, doc))
}

/// Helm's `SimpleHead` of a manifest, with the errors helm gives when it is no YAML mapping.
fn read_head(path: &str, doc: &str) -> Result<Head, Error> {
    let bad = |m: String| Error::Render(format!("YAML parse error on {path}: {m}"));
    use crate::render::kustomize_native::yaml11;
    // Most manifests are plain mappings: read only their head. Anything else (an error, an
    // anchor, a top that is no mapping) goes the whole way, which words it as helm does.
    let v: serde_json::Value = match yaml11::read_head(doc).or_else(|_| yaml11::read(doc)) {
        Ok(v) => v,
        Err(_)
            if doc
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) =>
        {
            serde_json::Value::Null
        }
        Err(_) => {
            let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(doc).map_err(|e| {
                bad(format!(
                    "error converting YAML to JSON: yaml: {}",
                    go_yaml_error(&e.to_string())
                ))
            })?;
            if let Some(m) = super::map_key::invalid_map_key(&y) {
                return Err(bad(format!("error converting YAML to JSON: yaml: {m}")));
            }
            serde_json::to_value(y).map_err(|e| bad(e.to_string()))?
        }
    };
    let obj = match v {
        serde_json::Value::Null => return Ok((String::new(), None)),
        serde_json::Value::Object(m) => m,
        other => {
            return Err(bad(format!(
                "error unmarshaling JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                if other.is_array() { "array" } else { "string" }
            )))
        }
    };
    let kind = match obj.get("kind") {
        Some(serde_json::Value::String(s)) => s.clone(),
        None | Some(serde_json::Value::Null) => String::new(),
        Some(_) => {
            return Err(bad(
                "error unmarshaling JSON: json: cannot unmarshal into Go struct field SimpleHead.kind of type string".into(),
            ))
        }
    };
    let ann = obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.as_object());
    let annotations = match ann {
        None => None,
        Some(a) => {
            let mut out = BTreeMap::new();
            for (k, v) in a {
                match v {
                    serde_json::Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    serde_json::Value::Null => {
                        out.insert(k.clone(), String::new());
                    }
                    _ => return Err(bad(format!(
                        "error unmarshaling JSON: json: cannot unmarshal into Go struct field .metadata.annotations of type string (annotation {k})"
                    ))),
                }
            }
            Some(out)
        }
    };
    Ok((kind, annotations))
}

/// Splits the rendered files into manifests and hooks (Helm's `SortManifests`), both sorted
/// by kind.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<(Vec<Doc>, Vec<Doc>), Error> {
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in files {
        if path.rsplit('/').next().unwrap_or("").starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let (kind, annotations) = head(path, &doc)?;
            let hook = annotations
                .as_ref()
                .filter(|a| !a.is_empty())
                .and_then(|a| a.get("helm.sh/hook"));
            match hook {
                None => generic.push(Doc {
                    path: path.clone(),
                    content: doc,
                    kind,
                    hook_events: None,
                }),
                Some(events) => {
                    let events: Vec<String> =
                        events.split(',').map(|e| e.trim().to_lowercase()).collect();
                    // Helm drops a document naming a hook it does not know.
                    if events.iter().all(|e| HOOK_EVENTS.contains(&e.as_str())) {
                        hooks.push(Doc {
                            path: path.clone(),
                            content: doc,
                            kind,
                            hook_events: Some(events),
                        });
                    }
                }
            }
        }
    }
    sort_by_kind(&mut generic);
    sort_by_kind(&mut hooks);
    Ok((generic, hooks))
}

fn sort_by_kind(docs: &mut [Doc]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|o| *o == k);
    docs.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

/// What to print besides the manifests.
pub struct Print<'a> {
    /// `--include-crds`: the charts' `crds/` files, (path, text), first.
    pub crds: &'a [(String, String)],
    pub skip_tests: bool,
    pub no_hooks: bool,
}

fn is_test(d: &Doc) -> bool {
    d.hook_events
        .iter()
        .flatten()
        .any(|e| e == "test" || e == "test-success")
}

/// `helm template`'s stdout.
pub fn print(manifests: &[Doc], hooks: &[Doc], p: &Print<'_>) -> String {
    let mut b = String::new();
    for (path, text) in p.crds {
        b.push_str(&format!("---\n# Source: {path}\n{text}\n"));
    }
    for m in manifests {
        b.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content));
    }
    let mut out = format!("{}\n", b.trim());
    if !p.no_hooks {
        for h in hooks {
            if p.skip_tests && is_test(h) {
                continue;
            }
            out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.content));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn yaml_errors_in_go_yaml_words() {
        assert_eq!(
            super::go_yaml_error("did not find expected ',' or ']' at line 12 column 1, while parsing a flow sequence at line 11 column 7"),
            "line 11: did not find expected ',' or ']'"
        );
        assert_eq!(
            super::go_yaml_error(
                "mapping values are not allowed in this context at line 3 column 8"
            ),
            "line 3: mapping values are not allowed in this context"
        );
    }

    use super::*;

    #[test]
    fn split_as_helm() {
        assert_eq!(
            split_manifests("\n---\na: 1\n---   \nb: 2\n  ---\nc\n---x: 1"),
            ["a: 1", "b: 2\n  ---\nc", "x: 1"]
        );
        assert_eq!(split_manifests("# only a comment\n"), ["# only a comment"]);
    }

    #[test]
    fn kinds_sort_in_install_order_unknown_last() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Zed\n---\nkind: Deployment\n---\nkind: Alpha\n---\nkind: Namespace\n---\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n---\nkind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: bogus\n".to_string(),
        );
        let (m, h) = sort_manifests(&files).unwrap();
        let kinds: Vec<&str> = m.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["Namespace", "Deployment", "Alpha", "Zed"]);
        assert_eq!(h.len(), 1);
    }
}
