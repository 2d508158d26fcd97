//! Tenants at build time (issue 20): real `ferry build`s of a Git repository whose
//! `ferry.yaml` declares tenants. A tenant app that leaves its namespaces, creates a
//! cluster-scoped kind it may not, binds a ClusterRole it may not grant or names another
//! tenant's namespace fails the build with every violation listed; a clean one records the
//! tenants in `index.json` for `ferry apply`.

mod common;

use serde_json::Value;
use std::path::Path;

const FERRY_YAML: &str = "apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  prod: {}
apps:
  tenants:            # the platform's: namespaces, service accounts, role bindings
    path: platform
  web:
    namespace: team-a
    path: web
  api:
    namespace: team-b
    path: api
tenants:
  team-a:
    namespaces: [team-a]
    allowClusterRoles: [view]
    apps: [web]
  team-b:
    namespaces: [team-b]
    serviceAccount: deployer
    apps: [api]
";

const WEB: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  url: http://db.team-a.svc:5432
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: readers
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: reader, namespace: team-a}]
";

/// The platform's app: it may touch every namespace.
const PLATFORM: &str = "apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: team-b-reads-team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: deployer, namespace: team-b}]
";

fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    common::write_file(r, "ferry.yaml", FERRY_YAML);
    common::write_file(r, "platform/all.yaml", PLATFORM);
    common::write_file(r, "web/all.yaml", WEB);
    common::write_file(
        r,
        "api/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\n",
    );
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "tenants");
    d
}

fn build(r: &Path) -> std::process::Output {
    let cache = tempfile::tempdir().expect("cache");
    common::ferry(cache.path())
        .arg("-C")
        .arg(r)
        .arg("build")
        .output()
        .expect("ferry runs")
}

#[test]
fn a_clean_tenant_build_records_each_apps_tenant_and_identity() {
    let d = repo();
    common::succeeded(&["build"], build(d.path()));
    let index: Value = serde_json::from_slice(
        &std::fs::read(d.path().join("out/prod/index.json")).expect("index"),
    )
    .expect("json");
    assert_eq!(index["apps"]["web"]["tenant"], "team-a");
    assert_eq!(index["apps"]["api"]["tenant"], "team-b");
    assert!(
        index["apps"]["tenants"].get("tenant").is_none(),
        "platform apps carry no tenant: {}",
        index["apps"]["tenants"]
    );
    assert_eq!(
        index["tenants"],
        serde_json::json!({
            "team-a": {"namespaces": ["team-a"], "serviceAccount": "team-a/ferry"},
            "team-b": {"namespaces": ["team-b"], "serviceAccount": "team-b/deployer"},
        })
    );
}

#[test]
fn every_violation_of_every_tenant_app_fails_the_build_naming_app_object_field_and_rule() {
    let d = repo();
    let r = d.path();
    common::succeeded(&["build"], build(r));
    let before = common::snapshot(&r.join("out/prod"));
    // team-a's app now breaks each rule once, and team-b's app one rule.
    common::write_file(
        r,
        "web/bad.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata: {name: sneaky, namespace: team-b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-a-wants-more}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: escalate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: team-b}]
---
apiVersion: v1
kind: Service
metadata: {name: b-api}
spec: {type: ExternalName, externalName: api.team-b.svc.cluster.local}
",
    );
    common::write_file(
        r,
        "api/stray.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: default}\n",
    );
    common::commit_all(r, "violations");
    let out = build(r);
    assert_eq!(out.status.code(), Some(2), "a refused build exits 2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let violations: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("(tenant `") || l.starts_with("hint:") && l.contains("tenant"))
        .collect();
    insta::assert_snapshot!("tenancy_build_violations", violations.join("\n"));
    assert_eq!(
        common::snapshot(&r.join("out/prod")),
        before,
        "a refused environment keeps its previous output"
    );
}

#[test]
fn a_tenant_app_without_a_namespace_in_its_tenant_is_refused_before_rendering() {
    let d = repo();
    let r = d.path();
    let text = FERRY_YAML.replace("    namespace: team-a\n", "    namespace: team-b\n");
    common::write_file(r, "ferry.yaml", &text);
    common::commit_all(r, "wrong namespace");
    let out = build(r);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ferry.yaml:9: apps.web.namespace: namespace `team-b` is not one of tenant `team-a`'s namespaces (team-a)"),
        "{stderr}"
    );
}

#[test]
fn a_tenants_secrets_open_with_its_own_key_and_the_platforms_only_as_configured() {
    let (platform, platform_r) = common::age_key();
    let (a, a_r) = common::age_key();
    let (b, b_r) = common::age_key();
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    common::write_file(
        r,
        "ferry.yaml",
        &format!(
            "apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  prod:
    recipients: [{platform_r}]
apps:
  web: {{namespace: team-a, path: web}}
  api: {{namespace: team-b, path: api}}
tenants:
  team-a:
    namespaces: [team-a]
    recipients: [{a_r}]
    platformRecipients: false     # only team-a's key opens its Secrets
    apps: [web]
  team-b:
    namespaces: [team-b]
    recipients: [{b_r}]           # team-b's key and the platform's
    apps: [api]
"
        ),
    );
    let secret = |name: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData: {{password: {name}-s3cr3t}}\n")
    };
    common::write_file(r, "web/secret.yaml", &secret("web"));
    common::write_file(r, "api/secret.yaml", &secret("api"));
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "tenant secrets");
    common::succeeded(&["build"], build(r));
    let sealed = |app: &str, ns: &str| {
        std::fs::read_to_string(r.join(format!("out/prod/{app}/secret_{ns}_{app}.yaml")))
            .expect("sealed secret")
    };
    let opens = |text: &str, key: &str| {
        let ids = ferry::secrets::Identities::from_text(key, "test key").expect("identity");
        ferry::secrets::decrypt(text, ferry::secrets::Format::Yaml, &ids).is_ok()
    };
    let web = sealed("web", "team-a");
    let api = sealed("api", "team-b");
    assert!(!web.contains("web-s3cr3t") && !api.contains("api-s3cr3t"));
    assert!(opens(&web, &a), "team-a opens its own");
    assert!(
        !opens(&web, &platform),
        "the platform does not, as configured"
    );
    assert!(!opens(&web, &b), "another tenant never does");
    assert!(opens(&api, &b) && opens(&api, &platform));
    assert!(!opens(&api, &a));

    // The real sops agrees.
    let Some(sops) = common::require_tool("sops") else {
        return;
    };
    let sops_opens = |app: &str, ns: &str, key: &str| {
        std::process::Command::new(&sops)
            .args(["-d", "--input-type", "yaml", "--output-type", "yaml"])
            .arg(r.join(format!("out/prod/{app}/secret_{ns}_{app}.yaml")))
            .env("SOPS_AGE_KEY", key)
            .env_remove("SOPS_AGE_KEY_FILE")
            .output()
            .expect("sops runs")
            .status
            .success()
    };
    assert!(sops_opens("web", "team-a", &a));
    assert!(!sops_opens("web", "team-a", &b));
    assert!(!sops_opens("web", "team-a", &platform));
    assert!(sops_opens("api", "team-b", &platform));
    assert!(!sops_opens("api", "team-b", &a));
}
