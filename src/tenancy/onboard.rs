//! `ferry tenant create`: the manifests the platform applies for a new tenant (its namespaces,
//! the ServiceAccount ferry applies its apps as, a RoleBinding per namespace), and the
//! `ferry.yaml` entries that declare it, added to the file's text so that its comments, order
//! and layout stay as they were. What cannot be edited that way (a flow-style `apps:` or
//! `tenants:`) is refused; the caller then checks the edited text parses to the same pipeline
//! plus the additions, so nothing is ever lost silently.

use serde_json::{json, Value};

/// What `ferry tenant create` was asked for.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub namespaces: Vec<String>,
    pub service_account: String,
    /// The ClusterRole bound to the ServiceAccount in each namespace (`admin` by default).
    pub cluster_role: String,
    /// Existing apps that become the tenant's.
    pub apps: Vec<String>,
    /// Repository-relative directory of the manifests.
    pub dir: String,
    /// The agent's ServiceAccount (`NAMESPACE/NAME`), granted `impersonate` on exactly this
    /// tenant's ServiceAccount and its two groups; `None`: no grant (an admin applies).
    pub agent: Option<String>,
    /// The tenant's age recipients (its Secrets are sealed to them and the platform's).
    pub recipients: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OnboardError {
    #[error("ferry.yaml: `{key}:` is written in flow style (`{line}`), which ferry cannot extend without rewriting it\nhint: write `{key}:` as a block mapping (one entry per line), or add the entries by hand")]
    FlowStyle { key: &'static str, line: String },
    #[error("ferry.yaml: no top-level `{key}:` block")]
    Missing { key: &'static str },
}

impl NewTenant {
    /// The platform's app that applies the manifests: `tenant-<name>`.
    pub fn app_name(&self) -> String {
        format!("tenant-{}", self.name)
    }

    /// The manifests, as one multi-document YAML file.
    pub fn manifests(&self) -> String {
        let labels = json!({"ferry.dev/tenant": self.name});
        let home = &self.namespaces[0];
        let mut docs: Vec<Value> = self
            .namespaces
            .iter()
            .map(|ns| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}))
            .collect();
        docs.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": self.service_account, "namespace": home, "labels": labels}}));
        for ns in &self.namespaces {
            docs.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("ferry-tenant-{}", self.name), "namespace": ns, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.cluster_role},
                "subjects": [{"kind": "ServiceAccount", "name": self.service_account, "namespace": home}]}));
        }
        if let Some((agent_ns, agent)) = self.agent.as_deref().and_then(|a| a.split_once('/')) {
            let name = format!("ferry-impersonate-{}", self.name);
            let subjects =
                json!([{"kind": "ServiceAccount", "name": agent, "namespace": agent_ns}]);
            docs.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": name, "namespace": home, "labels": labels},
                "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"],
                           "resourceNames": [self.service_account]}]}));
            docs.push(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": home, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": subjects}),
            );
            // Groups are cluster-wide: a ClusterRole that names only this tenant's two groups.
            docs.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": labels},
                "rules": [{"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"],
                           "resourceNames": ["system:serviceaccounts", format!("system:serviceaccounts:{home}")]}]}));
            docs.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": subjects}));
        }
        let mut out = format!(
            "# Tenant `{}`, written by `ferry tenant create`: its namespaces, the ServiceAccount ferry\n# applies the tenant's apps as, and ClusterRole `{}` for it in each of its namespaces.\n",
            self.name, self.cluster_role
        );
        for (i, d) in docs.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&crate::manifest::to_yaml(d));
        }
        out
    }

    /// `text` with the tenant under `tenants:` and its manifests' app under `apps:`.
    pub fn add_to_pipeline(&self, text: &str) -> Result<String, OnboardError> {
        let flow = |items: &[String]| format!("[{}]", items.join(", "));
        let sa = if self.service_account == crate::config::DEFAULT_SERVICE_ACCOUNT {
            String::new()
        } else {
            format!("\n{{2}}serviceAccount: {}", self.service_account)
        };
        let recipients = if self.recipients.is_empty() {
            String::new()
        } else {
            format!("{{2}}recipients: {}\n", flow(&self.recipients))
        };
        let tenant = format!(
            "{{1}}{}:\n{{2}}namespaces: {}{sa}\n{{2}}apps: {}\n{recipients}",
            self.name,
            flow(&self.namespaces),
            flow(&self.apps)
        );
        let app = format!(
            "{{1}}{}:            # the tenant's namespaces, ServiceAccount and RoleBindings\n{{2}}path: {}\n",
            self.app_name(),
            self.dir
        );
        let text = append_entry(text, "apps", &app, false)?;
        append_entry(&text, "tenants", &tenant, true)
    }
}

fn is_top_level_key(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_alphabetic()) && line.contains(':')
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Appends `entry` (`{1}` and `{2}` stand for one and two levels of the block's indentation)
/// at the end of the top-level block `key`; creates the block at the end of the file when
/// `create` and it is absent (or `key: {}`).
fn append_entry(
    text: &str,
    key: &'static str,
    entry: &str,
    create: bool,
) -> Result<String, OnboardError> {
    let lines: Vec<&str> = text.lines().collect();
    let head = format!("{key}:");
    let start = lines
        .iter()
        .position(|l| is_top_level_key(l) && l.split(':').next() == Some(key));
    let fill = |indent: usize| {
        entry
            .replace("{1}", &" ".repeat(indent))
            .replace("{2}", &" ".repeat(indent * 2))
    };
    let Some(start) = start else {
        if !create {
            return Err(OnboardError::Missing { key });
        }
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&head);
        out.push('\n');
        out.push_str(&fill(2));
        return Ok(out);
    };
    let rest = lines[start][head.len()..].trim();
    let rest = rest.split(" #").next().unwrap_or("").trim();
    if rest == "{}" && create {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        out[start] = head.clone();
        let mut joined = out[..=start].join("\n");
        joined.push('\n');
        joined.push_str(&fill(2));
        for l in &out[start + 1..] {
            joined.push_str(l);
            joined.push('\n');
        }
        return Ok(joined);
    }
    if !rest.is_empty() && !rest.starts_with('#') {
        return Err(OnboardError::FlowStyle {
            key,
            line: lines[start].to_string(),
        });
    }
    let end = lines[start + 1..]
        .iter()
        .position(|l| is_top_level_key(l))
        .map_or(lines.len(), |i| start + 1 + i);
    // After the block's last entry line, before the blank lines and comments that lead into
    // the next block.
    let last = (start + 1..end)
        .rev()
        .find(|i| !is_blank(lines[*i]))
        .unwrap_or(start);
    let indent = lines[start + 1..end]
        .iter()
        .find(|l| !is_blank(l))
        .map_or(2, |l| l.len() - l.trim_start().len());
    let mut out = String::with_capacity(text.len() + entry.len() + 64);
    for l in &lines[..=last] {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&fill(indent));
    for l in &lines[last + 1..] {
        out.push_str(l);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> NewTenant {
        NewTenant {
            name: "team-a".into(),
            namespaces: vec!["team-a".into(), "team-a-dev".into()],
            service_account: "ferry".into(),
            cluster_role: "admin".into(),
            apps: vec!["web".into()],
            dir: "tenants/team-a".into(),
            agent: None,
            recipients: Vec::new(),
        }
    }

    const TEXT: &str = "# the pipeline\napiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {}   # the only one\napps:\n    web:   # team a's\n        namespace: team-a\n        path: web\n\n# what follows is signing\nsigning:\n    publicKey: cosign.pub\n";

    #[test]
    fn entries_go_at_the_end_of_their_blocks_and_every_comment_stays() {
        let out = t().add_to_pipeline(TEXT).expect("edits");
        assert_eq!(
            out,
            "# the pipeline\napiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {}   # the only one\napps:\n    web:   # team a's\n        namespace: team-a\n        path: web\n    tenant-team-a:            # the tenant's namespaces, ServiceAccount and RoleBindings\n        path: tenants/team-a\n\n# what follows is signing\nsigning:\n    publicKey: cosign.pub\ntenants:\n  team-a:\n    namespaces: [team-a, team-a-dev]\n    apps: [web]\n"
        );
        let again = NewTenant {
            name: "team-b".into(),
            namespaces: vec!["team-b".into()],
            service_account: "deployer".into(),
            apps: vec![],
            dir: "tenants/team-b".into(),
            ..t()
        }
        .add_to_pipeline(&out)
        .expect("edits again");
        assert!(again.ends_with("tenants:\n  team-a:\n    namespaces: [team-a, team-a-dev]\n    apps: [web]\n  team-b:\n    namespaces: [team-b]\n    serviceAccount: deployer\n    apps: []\n"), "{again}");
    }

    #[test]
    fn flow_style_blocks_are_refused() {
        let text = TEXT.replace(
            "apps:\n    web:   # team a's\n        namespace: team-a\n        path: web\n",
            "apps: {web: {namespace: team-a, path: web}}\n",
        );
        assert_eq!(
            t().add_to_pipeline(&text).expect_err("flow"),
            OnboardError::FlowStyle {
                key: "apps",
                line: "apps: {web: {namespace: team-a, path: web}}".into()
            }
        );
        let empty = format!("{TEXT}tenants: {{}}\n");
        let out = t()
            .add_to_pipeline(&empty)
            .expect("an empty flow map is replaced");
        assert!(
            out.ends_with(
                "tenants:\n  team-a:\n    namespaces: [team-a, team-a-dev]\n    apps: [web]\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn manifests_hold_namespaces_service_account_and_bindings() {
        let docs = crate::manifest::parse_documents(&t().manifests()).expect("yaml");
        let names: Vec<String> = docs
            .iter()
            .map(|d| {
                format!(
                    "{}/{}/{}",
                    d["kind"].as_str().unwrap_or(""),
                    d["metadata"]["namespace"].as_str().unwrap_or(""),
                    d["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "Namespace//team-a",
                "Namespace//team-a-dev",
                "ServiceAccount/team-a/ferry",
                "RoleBinding/team-a/ferry-tenant-team-a",
                "RoleBinding/team-a-dev/ferry-tenant-team-a"
            ]
        );
        assert_eq!(docs[4]["roleRef"]["name"], "admin");
        assert_eq!(docs[4]["subjects"][0]["namespace"], "team-a");
    }
}
