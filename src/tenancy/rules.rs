//! The build-time rules for a tenant's objects. Every object of every tenant app is checked
//! against every rule and every violation is reported, so a pull request shows all of them
//! at once. Objects are checked after post-processing, when every namespaced object has its
//! namespace and no cluster-scoped one has any.

use crate::config::{Pipeline, Tenant};
use crate::manifest::Object;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Which rule an object breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A namespaced object outside the tenant's namespaces.
    TenantNamespaces,
    /// A cluster-scoped kind not on the tenant's `allowClusterScoped`.
    ClusterScoped,
    /// A RoleBinding to a ClusterRole not on the tenant's `allowClusterRoles`.
    ClusterRoleBinding,
    /// A field that names another tenant's namespace.
    ForeignNamespace,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::TenantNamespaces => "tenant-namespaces",
            Rule::ClusterScoped => "cluster-scoped",
            Rule::ClusterRoleBinding => "cluster-role-binding",
            Rule::ForeignNamespace => "foreign-namespace",
        }
    }
}

/// One broken rule: where (environment, app, object, field), which rule, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub env: String,
    pub app: String,
    pub tenant: String,
    /// `Kind/namespace/name`.
    pub object: String,
    /// The field's path in the object, e.g. `subjects[0].namespace`.
    pub field: String,
    pub rule: Rule,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {}: {}: {} (tenant `{}`, rule {})\nhint: {}",
            self.env,
            self.app,
            self.object,
            self.field,
            self.message,
            self.tenant,
            self.rule.name(),
            self.hint
        )
    }
}

/// The rules of one tenant, with the namespaces of every other tenant.
struct Checker<'a> {
    env: &'a str,
    app: &'a str,
    name: &'a str,
    tenant: &'a Tenant,
    /// Namespace -> owning tenant, for every other tenant.
    foreign: BTreeMap<&'a str, &'a str>,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn push(&mut self, obj: &Object, field: &str, rule: Rule, message: String, hint: String) {
        self.out.push(Violation {
            env: self.env.to_string(),
            app: self.app.to_string(),
            tenant: self.name.to_string(),
            object: obj.obj_ref().to_string(),
            field: field.to_string(),
            rule,
            message,
            hint,
        });
    }

    fn own_namespaces(&self) -> String {
        self.tenant.namespaces.join(", ")
    }

    fn check(&mut self, obj: &Object) {
        let key = format!("tenants.{}", self.name);
        match obj.namespace() {
            Some(ns) if !self.tenant.namespaces.iter().any(|n| n == ns) => {
                let whose = match self.foreign.get(ns) {
                    Some(other) => format!("tenant `{other}`'s namespace `{ns}`"),
                    None => format!("namespace `{ns}`"),
                };
                let message = format!(
                    "{whose} is not one of the tenant's namespaces ({})",
                    self.own_namespaces()
                );
                self.push(
                    obj,
                    "metadata.namespace",
                    Rule::TenantNamespaces,
                    message,
                    format!("render it into one of the tenant's namespaces, or add the namespace to {key}.namespaces"),
                );
            }
            Some(_) => {}
            None => {
                let kind = if obj.group().is_empty() {
                    obj.kind().to_string()
                } else {
                    format!("{}/{}", obj.group(), obj.kind())
                };
                if !self.tenant.allow_cluster_scoped.contains(&kind) {
                    self.push(
                        obj,
                        "kind",
                        Rule::ClusterScoped,
                        format!("cluster-scoped kind `{kind}` is not allowed for the tenant"),
                        format!("the platform creates it (move it to an app of no tenant), or add `{kind}` to {key}.allowClusterScoped"),
                    );
                }
                if obj.kind() == "Namespace" && obj.group().is_empty() {
                    if let Some(other) = self.foreign.get(obj.name()).copied() {
                        self.push(
                            obj,
                            "metadata.name",
                            Rule::ForeignNamespace,
                            format!("names tenant `{other}`'s namespace `{}`", obj.name()),
                            "a tenant never creates or changes another tenant's namespace".into(),
                        );
                    }
                }
            }
        }
        if obj.kind() == "RoleBinding" && obj.group() == "rbac.authorization.k8s.io" {
            let role_ref = &obj.value()["roleRef"];
            if role_ref["kind"].as_str() == Some("ClusterRole") {
                let role = role_ref["name"].as_str().unwrap_or_default();
                if !self.tenant.allow_cluster_roles.iter().any(|r| r == role) {
                    self.push(
                        obj,
                        "roleRef.name",
                        Rule::ClusterRoleBinding,
                        format!("binds ClusterRole `{role}`, which the tenant may not grant"),
                        format!("bind a Role of the tenant's own, or add `{role}` to {key}.allowClusterRoles"),
                    );
                }
            }
        }
        let mut found = Vec::new();
        walk(obj.value(), &mut String::new(), &self.foreign, &mut found);
        for (field, ns) in found {
            if field == "metadata.namespace" {
                continue; // said above, by the namespace rule
            }
            let other = self.foreign[ns.as_str()];
            self.push(
                obj,
                &field,
                Rule::ForeignNamespace,
                format!("refers to tenant `{other}`'s namespace `{ns}`"),
                "a tenant's objects refer only to its own namespaces and the platform's".into(),
            );
        }
    }
}

/// The services DNS names a string may hold: `NAME.NS.svc`, followed by its end, `.`, `:` or
/// `/` (`http://api.team-b.svc.cluster.local:8080/x`).
fn svc_namespace<'a>(s: &str, foreign: &BTreeMap<&'a str, &'a str>) -> Option<&'a str> {
    for (ns, _) in foreign.iter() {
        let needle = format!(".{ns}.svc");
        let mut from = 0;
        while let Some(i) = s[from..].find(&needle) {
            let at = from + i;
            let end = at + needle.len();
            let before = s[..at].chars().next_back();
            let after = s[end..].chars().next();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
                && after.is_none_or(|c| matches!(c, '.' | ':' | '/'))
            {
                return Some(ns);
            }
            from = end;
        }
    }
    None
}

/// Collects `(field path, namespace)` for every field that names a foreign namespace: a key
/// `namespace` (in references: `subjects[].namespace`, `spec.sourceRef.namespace`...), the
/// `kubernetes.io/metadata.name` label of a namespace selector, and service DNS names.
fn walk(
    v: &Value,
    path: &mut String,
    foreign: &BTreeMap<&str, &str>,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if let Value::String(s) = child {
                    let names_ns = k == "namespace" || k == "kubernetes.io/metadata.name";
                    if names_ns && foreign.contains_key(s.as_str()) {
                        out.push((path.clone(), s.clone()));
                    } else if let Some(ns) = svc_namespace(s, foreign) {
                        out.push((path.clone(), ns.to_string()));
                    }
                } else {
                    walk(child, path, foreign, out);
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                match child {
                    Value::String(s) => {
                        if let Some(ns) = svc_namespace(s, foreign) {
                            out.push((path.clone(), ns.to_string()));
                        }
                    }
                    _ => walk(child, path, foreign, out),
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Checks the objects `app` rendered for `env` against its tenant's rules; an app of no
/// tenant (the platform's) has none. Returns every violation, in object order.
pub fn check_objects(
    pipeline: &Pipeline,
    env: &str,
    app: &str,
    objects: &[Object],
) -> Vec<Violation> {
    let Some((name, tenant)) = pipeline.tenant_of(app) else {
        return Vec::new();
    };
    let foreign = pipeline
        .tenants
        .iter()
        .filter(|(n, _)| n.as_str() != name)
        .flat_map(|(n, t)| t.namespaces.iter().map(move |ns| (ns.as_str(), n.as_str())))
        .collect();
    let mut c = Checker {
        env,
        app,
        name,
        tenant,
        foreign,
        out: Vec::new(),
    };
    for obj in objects {
        c.check(obj);
    }
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    const P: &str = "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments: {prod: {}}\napps:\n  web: {namespace: team-a, path: web}\n  api: {namespace: team-b, path: api}\n  infra: {path: infra}\ntenants:\n  team-a:\n    namespaces: [team-a, team-a-dev]\n    allowClusterScoped: [Namespace]\n    allowClusterRoles: [view]\n    apps: [web]\n  team-b:\n    namespaces: [team-b]\n    apps: [api]\n";

    fn pipeline() -> Pipeline {
        crate::config::parse(Path::new("ferry.yaml"), P).expect("valid")
    }

    fn obj(v: Value) -> Object {
        Object::from_value(v).expect("object")
    }

    fn rules_of(app: &str, v: Value) -> Vec<(Rule, String)> {
        check_objects(&pipeline(), "prod", app, &[obj(v)])
            .into_iter()
            .map(|v| (v.rule, v.field))
            .collect()
    }

    #[test]
    fn allowed_objects_pass() {
        let allowed = [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team-a"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team-a-dev"},
                   "data": {"url": "http://db.team-a.svc:5432", "other": "http://x.team-bee.svc"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a-dev"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "r", "namespace": "team-a"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                   "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "team-a"}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "r2", "namespace": "team-a"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mine"}}),
        ];
        for v in allowed {
            assert_eq!(rules_of("web", v.clone()), [], "{v}");
        }
        // The platform's apps have no rules.
        let anywhere = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "x"}, "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "team-b"}]});
        assert_eq!(rules_of("infra", anywhere), []);
    }

    #[test]
    fn refused_objects_name_rule_and_field() {
        let cases = [
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}}),
                vec![(Rule::TenantNamespaces, "metadata.namespace")],
            ),
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team-b"}}),
                vec![(Rule::TenantNamespaces, "metadata.namespace")],
            ),
            (
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}}),
                vec![(Rule::ClusterScoped, "kind")],
            ),
            (
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}}),
                vec![(Rule::ForeignNamespace, "metadata.name")],
            ),
            (
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                       "metadata": {"name": "r", "namespace": "team-a"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                       "subjects": [{"kind": "ServiceAccount", "name": "x", "namespace": "team-b"}]}),
                vec![
                    (Rule::ClusterRoleBinding, "roleRef.name"),
                    (Rule::ForeignNamespace, "subjects[0].namespace"),
                ],
            ),
            (
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "team-a"},
                       "spec": {"type": "ExternalName", "externalName": "api.team-b.svc.cluster.local"}}),
                vec![(Rule::ForeignNamespace, "spec.externalName")],
            ),
            (
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n", "namespace": "team-a"},
                       "spec": {"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}}]}]}}),
                vec![(Rule::ForeignNamespace, "spec.ingress[0].from[0].namespaceSelector.matchLabels.kubernetes.io/metadata.name")],
            ),
        ];
        for (v, want) in cases {
            let want: Vec<(Rule, String)> =
                want.into_iter().map(|(r, f)| (r, f.to_string())).collect();
            assert_eq!(rules_of("web", v.clone()), want, "{v}");
        }
    }

    #[test]
    fn the_message_names_app_object_field_rule_and_what_to_do() {
        let v = check_objects(
            &pipeline(),
            "prod",
            "web",
            &[obj(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team-b"}}),
            )],
        );
        assert_eq!(
            v[0].to_string(),
            "prod/web: ConfigMap/team-b/a: metadata.namespace: tenant `team-b`'s namespace `team-b` is not one of the tenant's namespaces (team-a, team-a-dev) (tenant `team-a`, rule tenant-namespaces)\nhint: render it into one of the tenant's namespaces, or add the namespace to tenants.team-a.namespaces"
        );
    }
}
