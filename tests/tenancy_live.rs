//! Tenants at apply time against a real API server (issue 20): run with
//! `FERRY_TEST_KUBECONFIG=/path/kubeconfig` (an admin, who may impersonate). Without it the
//! test prints SKIP. Only a real API server can prove RBAC: a fake one would only prove that
//! ferry sends the headers (tests/tenancy_apply.rs does that in CI).

mod apply_fake;
mod common;

use apply_fake::artifact::write_tenant_artifact;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn live() -> Option<PathBuf> {
    match std::env::var_os("FERRY_TEST_KUBECONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIP: FERRY_TEST_KUBECONFIG is not set; the live tenancy test needs an API server"
            );
            None
        }
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let bin = common::require_tool("kubectl").unwrap_or_else(|| PathBuf::from("kubectl"));
    let out = Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn exists(kubeconfig: &Path, ns: &str, name: &str) -> bool {
    kubectl(kubeconfig, &["get", "configmap", "-n", ns, name]).0
}

/// Deletes what a test created, also when it fails: the cluster is shared.
struct Cleanup<'a> {
    kubeconfig: &'a Path,
    namespaces: Vec<String>,
    cluster_roles: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            kubectl(
                self.kubeconfig,
                &[
                    "delete",
                    "namespace",
                    ns,
                    "--wait=false",
                    "--ignore-not-found",
                ],
            );
        }
        for name in &self.cluster_roles {
            kubectl(
                self.kubeconfig,
                &[
                    "delete",
                    "clusterrole,clusterrolebinding",
                    name,
                    "--ignore-not-found",
                ],
            );
        }
    }
}

fn cm(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": name}})
}

/// What the platform creates for a tenant, as `ferry tenant create` writes it.
fn tenant_platform(ns: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ferry", "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "ferry-tenant", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "ferry", "namespace": ns}]}),
    ]
}

struct Run {
    code: i32,
    report: Value,
    stdout_text: String,
    millis: u128,
}

fn apply(kubeconfig: &Path, dir: &Path, inventory_ns: &str, text: bool) -> Run {
    let cache = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let out = common::ferry(cache.path())
        .arg("apply")
        .arg(dir)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "--inventory-namespace",
            inventory_ns,
            "--inventory-name",
            "ferry-live",
        ])
        .args(["--timeout", "60s"])
        .args(["--output", if text { "text" } else { "json" }])
        .output()
        .expect("ferry runs");
    let millis = started.elapsed().as_millis();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout_text: stdout + &String::from_utf8_lossy(&out.stderr),
        millis,
    }
}

fn tenant<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tenants"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tenant"] == name))
        .unwrap_or_else(|| panic!("no tenant {name} in {report:#}"))
}

#[test]
fn tenants_apply_as_their_service_accounts_rbac_refuses_the_other_namespace_and_prune_stays_inside()
{
    let Some(kc) = live() else { return };
    let id = common::unique_id();
    let (ns_a, ns_b, ns_p) = (
        format!("tenants-a-{id}"),
        format!("tenants-b-{id}"),
        format!("tenants-p-{id}"),
    );
    let _cleanup = Cleanup {
        kubeconfig: &kc,
        namespaces: vec![ns_a.clone(), ns_b.clone(), ns_p.clone()],
        cluster_roles: Vec::new(),
    };
    let tenants: Vec<(&str, String, Vec<&str>)> = vec![
        ("team-a", format!("{ns_a}/ferry"), vec![ns_a.as_str()]),
        ("team-b", format!("{ns_b}/ferry"), vec![ns_b.as_str()]),
    ];
    let tenant_refs: Vec<(&str, &str, &[&str])> = tenants
        .iter()
        .map(|(n, sa, nss)| (*n, sa.as_str(), nss.as_slice()))
        .collect();
    let mut platform = tenant_platform(&ns_a);
    platform.extend(tenant_platform(&ns_b));
    platform.push(cm(&ns_p, "platform-own"));
    let write = |a: &[Value], b: &[Value]| {
        let d = tempfile::tempdir().expect("tempdir");
        write_tenant_artifact(
            d.path(),
            "prod",
            &[
                ("platform", None, &platform),
                ("web", Some("team-a"), a),
                ("api", Some("team-b"), b),
            ],
            &tenant_refs,
        );
        d
    };

    // 1. Everyone applies: tenants create their objects as themselves.
    let first = write(&[cm(&ns_a, "a1"), cm(&ns_a, "a2")], &[cm(&ns_b, "b1")]);
    let r1 = apply(&kc, first.path(), &ns_p, false);
    eprintln!("first apply: exit {} in {} ms", r1.code, r1.millis);
    assert_eq!(r1.code, 0, "{:#}", r1.report);
    assert_eq!(
        tenant(&r1.report, "team-a")["user"],
        format!("system:serviceaccount:{ns_a}:ferry")
    );
    assert_eq!(
        tenant(&r1.report, "team-a")["report"]["summary"]["created"],
        2
    );
    assert_eq!(
        tenant(&r1.report, "team-b")["report"]["summary"]["created"],
        1
    );
    for (ns, name) in [
        (&ns_a, "a1"),
        (&ns_a, "a2"),
        (&ns_b, "b1"),
        (&ns_p, "platform-own"),
    ] {
        assert!(exists(&kc, ns, name), "{ns}/{name} exists");
    }
    // Each tenant's inventory is its own parent, in its own namespace.
    let (ok, parent) = kubectl(
        &kc,
        &[
            "get",
            "secret",
            "-n",
            &ns_a,
            "ferry-live-team-a",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{parent}");
    let parent: Value = serde_json::from_str(&parent).expect("json");
    assert!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
            .as_str()
            .is_some_and(|s| s.starts_with("applyset-")),
        "{parent:#}"
    );

    // 2. team-a aims an object at team-b's namespace: the API server refuses it (403), team-a
    // fails alone, team-b and the platform still apply; the exit code says partial.
    let second = write(
        &[cm(&ns_a, "a1"), cm(&ns_a, "a2"), cm(&ns_b, "intruder")],
        &[cm(&ns_b, "b1"), cm(&ns_b, "b2")],
    );
    let r2 = apply(&kc, second.path(), &ns_p, false);
    eprintln!(
        "apply with a refused tenant: exit {} in {} ms",
        r2.code, r2.millis
    );
    assert_eq!(r2.code, 3, "{:#}", r2.report);
    let a = tenant(&r2.report, "team-a");
    let failed: Vec<&Value> = a["report"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["result"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{a:#}");
    assert_eq!(failed[0]["object"], format!("ConfigMap/{ns_b}/intruder"));
    let error = failed[0]["error"].as_str().unwrap_or_default();
    eprintln!("the API server said: {error}");
    assert!(
        error.contains(&format!(
            "User \"system:serviceaccount:{ns_a}:ferry\" cannot"
        )) && error.contains(&format!("in the namespace \"{ns_b}\"")),
        "{error}"
    );
    assert!(!exists(&kc, &ns_b, "intruder"), "RBAC kept it out");
    assert_eq!(
        a["report"]["prune"]["status"], "skipped",
        "a failed tenant prunes nothing"
    );
    let b = tenant(&r2.report, "team-b");
    assert_eq!(b["report"]["summary"]["created"], 1, "{b:#}");
    assert!(exists(&kc, &ns_b, "b2"), "team-b proceeded");
    assert_eq!(
        r2.report["summary"]["failed"], 0,
        "the platform is unaffected"
    );

    // The text report says who failed and why.
    let r2t = apply(&kc, second.path(), &ns_p, true);
    assert!(
        r2t.stdout_text
            .contains("tenants: 1 of 2 failed (team-a); platform ok"),
        "{}",
        r2t.stdout_text
    );

    // 3. team-a drops a2: its prune deletes a2 and nothing of team-b's or the platform's.
    let third = write(&[cm(&ns_a, "a1")], &[cm(&ns_b, "b1"), cm(&ns_b, "b2")]);
    let r3 = apply(&kc, third.path(), &ns_p, false);
    eprintln!(
        "apply with team-a pruning: exit {} in {} ms",
        r3.code, r3.millis
    );
    assert_eq!(r3.code, 0, "{:#}", r3.report);
    let pruned = &tenant(&r3.report, "team-a")["report"]["prune"]["pruned"];
    assert_eq!(pruned, &json!([format!("ConfigMap/{ns_a}/a2")]));
    assert!(!exists(&kc, &ns_a, "a2"));
    // The namespace team-a may not list (where RBAC refused its object) leaves its inventory
    // with a note, rather than failing every later prune.
    let kept = &tenant(&r3.report, "team-a")["report"]["prune"]["kept"];
    assert!(
        kept.as_array()
            .into_iter()
            .flatten()
            .any(|k| k["object"] == format!("ConfigMap in {ns_b}")
                && k["reason"].as_str().is_some_and(|r| r.contains("403"))),
        "{kept:#}"
    );
    for (ns, name) in [
        (&ns_a, "a1"),
        (&ns_b, "b1"),
        (&ns_b, "b2"),
        (&ns_p, "platform-own"),
    ] {
        assert!(exists(&kc, ns, name), "{ns}/{name} survives team-a's prune");
    }
}

/// End to end: `ferry tenant create`, `ferry build`, `ferry apply`: the platform creates the
/// tenant's namespace, ServiceAccount and RoleBinding, then the tenant's app is applied as it.
#[test]
fn a_tenant_onboarded_with_tenant_create_is_built_and_applied_as_itself() {
    let Some(kc) = live() else { return };
    let id = common::unique_id();
    let (ns, ns_p) = (format!("tenants-x-{id}"), format!("tenants-px-{id}"));
    let _cleanup = Cleanup {
        kubeconfig: &kc,
        namespaces: vec![ns.clone(), ns_p.clone()],
        cluster_roles: vec!["ferry-impersonate-team-x".into()],
    };
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    std::fs::write(
        r.join("ferry.yaml"),
        format!("apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {{}}\napps:\n  web:\n    namespace: {ns}\n    path: web\n"),
    )
    .expect("write");
    std::fs::create_dir_all(r.join("web")).expect("mkdir");
    std::fs::write(
        r.join("web/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {k: v}\n",
    )
    .expect("write");
    common::git(r, &["init", "-q", "-b", "main"]);
    let cache = tempfile::tempdir().expect("cache");
    let run = |args: &[&str]| {
        let out = common::ferry(cache.path())
            .arg("-C")
            .arg(r)
            .args(args)
            .output()
            .expect("ferry runs");
        assert!(
            out.status.success(),
            "ferry {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let agent = format!("{ns_p}/agent");
    run(&[
        "tenant",
        "create",
        "team-x",
        "--namespace",
        &ns,
        "--app",
        "web",
        "--agent",
        &agent,
    ]);
    common::commit_all(r, "tenant team-x");
    run(&["build"]);
    let report = apply(&kc, &r.join("out/prod"), &ns_p, false);
    eprintln!(
        "tenant create + build + apply: exit {} in {} ms",
        report.code, report.millis
    );
    assert_eq!(report.code, 0, "{:#}", report.report);
    assert_eq!(
        report.report["summary"]["created"], 7,
        "Namespace, ServiceAccount, RoleBinding, and the agent's Role, RoleBinding, ClusterRole, ClusterRoleBinding"
    );
    let t = tenant(&report.report, "team-x");
    assert_eq!(t["user"], format!("system:serviceaccount:{ns}:ferry"));
    assert_eq!(t["report"]["summary"]["created"], 1, "{t:#}");
    assert!(exists(&kc, &ns, "web"));
    // The agent may impersonate exactly this tenant's ServiceAccount and groups.
    let as_agent = format!("system:serviceaccount:{ns_p}:agent");
    let can = |args: &[&str]| {
        let mut all = vec!["auth", "can-i", "--as", as_agent.as_str()];
        all.extend_from_slice(args);
        kubectl(&kc, &all).1.trim().to_string()
    };
    assert_eq!(
        can(&["impersonate", "serviceaccounts/ferry", "-n", &ns]),
        "yes"
    );
    assert_eq!(
        can(&["impersonate", "serviceaccounts/default", "-n", &ns]),
        "no"
    );
    let group = format!("groups/system:serviceaccounts:{ns}");
    assert_eq!(can(&["impersonate", &group]), "yes");
    assert_eq!(can(&["impersonate", "groups/system:masters"]), "no");
}

/// Per-tenant decryption, live: a real `ferry build` seals each tenant's Secret to the
/// tenant's key only (`platformRecipients: false`); `ferry apply` with the platform's
/// identity opens each with the identity the tenant's `decryption.secretRef` names, read as
/// the tenant from its namespace. A tenant whose Secret holds another tenant's identity fails
/// alone; fixed, it applies.
#[test]
fn tenant_secrets_open_with_the_identity_each_tenant_reads_as_itself() {
    let Some(kc) = live() else { return };
    let id = common::unique_id();
    let (ns_a, ns_b, ns_p) = (
        format!("tenancy-rest-a-{id}"),
        format!("tenancy-rest-b-{id}"),
        format!("tenancy-rest-p-{id}"),
    );
    let _cleanup = Cleanup {
        kubeconfig: &kc,
        namespaces: vec![ns_a.clone(), ns_b.clone(), ns_p.clone()],
        cluster_roles: Vec::new(),
    };
    let (platform, platform_r) = common::age_key();
    let (key_a, a_r) = common::age_key();
    let (key_b, b_r) = common::age_key();
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    let write = |file: &str, text: &str| {
        let p = r.join(file);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "ferry.yaml",
        &format!(
            "apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  prod:
    recipients: [{platform_r}]
apps:
  platform: {{path: platform}}
  web: {{namespace: {ns_a}, path: web}}
  api: {{namespace: {ns_b}, path: api}}
tenants:
  team-a:
    namespaces: [{ns_a}]
    recipients: [{a_r}]
    platformRecipients: false
    decryption: {{secretRef: {{name: age}}}}
    apps: [web]
  team-b:
    namespaces: [{ns_b}]
    recipients: [{b_r}]
    platformRecipients: false
    decryption: {{secretRef: {{name: age, key: age.agekey}}}}
    apps: [api]
"
        ),
    );
    let mut platform_objects: Vec<Value> = tenant_platform(&ns_a);
    platform_objects.extend(tenant_platform(&ns_b));
    platform_objects.push(cm(&ns_p, "platform-own"));
    write(
        "platform/all.yaml",
        &platform_objects
            .iter()
            .map(|v| serde_json::to_string(v).expect("json"))
            .collect::<Vec<_>>()
            .join("\n---\n"),
    );
    let secret = |name: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData: {{password: {name}-s3cr3t}}\n")
    };
    write("web/secret.yaml", &secret("web"));
    write("api/secret.yaml", &secret("api"));
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "tenant secrets");
    let cache = tempfile::tempdir().expect("cache");
    let built = common::ferry(cache.path())
        .arg("-C")
        .arg(r)
        .arg("build")
        .output()
        .expect("ferry runs");
    common::succeeded(&["build"], built);
    let index: Value =
        serde_json::from_slice(&std::fs::read(r.join("out/prod/index.json")).expect("index"))
            .expect("json");
    assert_eq!(
        index["tenants"]["team-a"]["decryption"],
        json!({"secretRef": {"name": "age", "key": "age.agekey"}}),
        "the artifact carries where each tenant's identity is"
    );

    // The real sops: team-a's Secret opens with team-a's key only.
    if let Some(sops) = common::require_tool("sops") {
        let file = r.join(format!("out/prod/web/secret_{ns_a}_web.yaml"));
        let opens = |key: &str| {
            Command::new(&sops)
                .args(["-d", "--input-type", "yaml", "--output-type", "yaml"])
                .arg(&file)
                .env("SOPS_AGE_KEY", key)
                .env_remove("SOPS_AGE_KEY_FILE")
                .output()
                .expect("sops runs")
                .status
                .success()
        };
        assert!(opens(&key_a), "team-a's identity opens team-a's Secret");
        assert!(!opens(&key_b), "team-b's identity does not");
        assert!(!opens(&platform), "nor the platform's");
    }

    // The platform team gives each tenant its identity in its namespace; team-b's by mistake
    // holds team-a's.
    let keys = tempfile::tempdir().expect("keys");
    let key_file = |name: &str, text: &str| {
        let p = keys.path().join(name);
        std::fs::write(&p, format!("{text}\n")).expect("write key");
        p
    };
    let (fa, fb, fp) = (
        key_file("a.agekey", &key_a),
        key_file("b.agekey", &key_b),
        key_file("platform.agekey", &platform),
    );
    for ns in [&ns_a, &ns_b, &ns_p] {
        let (ok, out) = kubectl(&kc, &["create", "namespace", ns]);
        assert!(ok, "{out}");
    }
    let give = |ns: &str, file: &Path| {
        let from = format!("--from-file=age.agekey={}", file.display());
        kubectl(
            &kc,
            &["delete", "secret", "age", "-n", ns, "--ignore-not-found"],
        );
        let (ok, out) = kubectl(
            &kc,
            &["create", "secret", "generic", "age", "-n", ns, &from],
        );
        assert!(ok, "{out}");
    };
    give(&ns_a, &fa);
    give(&ns_b, &fa);
    let run = || {
        let out = common::ferry(cache.path())
            .arg("apply")
            .arg(r.join("out/prod"))
            .arg("--kubeconfig")
            .arg(&kc)
            .arg("--identity")
            .arg(&fp)
            .args([
                "--inventory-namespace",
                &ns_p,
                "--inventory-name",
                "ferry-live",
            ])
            .args(["--timeout", "60s", "--output", "json"])
            .output()
            .expect("ferry runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("web-s3cr3t") && !text.contains("api-s3cr3t"),
            "no value in the output: {text}"
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), report)
    };
    let password = |ns: &str, name: &str| {
        let (ok, out) = kubectl(
            &kc,
            &[
                "get",
                "secret",
                "-n",
                ns,
                name,
                "-o",
                "jsonpath={.data.password}",
            ],
        );
        use base64::Engine;
        ok.then(|| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(out.trim())
                    .expect("base64"),
            )
            .expect("utf-8")
        })
    };

    let (code, report) = run();
    eprintln!("apply with team-b holding team-a's identity: exit {code}");
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["summary"]["failed"], 0, "the platform applied");
    assert_eq!(
        tenant(&report, "team-a")["report"]["summary"]["created"],
        1,
        "{report:#}"
    );
    assert_eq!(password(&ns_a, "web").as_deref(), Some("web-s3cr3t"));
    let e = tenant(&report, "team-b")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    eprintln!("team-b: {e}");
    assert!(
        e.starts_with(&format!(
            "tenant `team-b`'s identity: cannot decrypt Secret/{ns_b}/api"
        )),
        "{e}"
    );
    assert_eq!(password(&ns_b, "api"), None, "nothing of team-b applied");

    // Given its own identity, team-b applies too.
    give(&ns_b, &fb);
    let (code, report) = run();
    eprintln!("apply with each tenant's own identity: exit {code}");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(password(&ns_b, "api").as_deref(), Some("api-s3cr3t"));

    // `ferry diff --against live --tenant`: the tenant's Secret is opened with its identity
    // (the platform's does not open it) and compared with what is live: no change.
    let diff = |extra: &[&str]| {
        let out = common::ferry(cache.path())
            .arg("diff")
            .args(["--against", "live"])
            .arg(r.join("out/prod"))
            .arg("--kubeconfig")
            .arg(&kc)
            .arg("--identity")
            .arg(&fp)
            .args([
                "--inventory-namespace",
                &ns_p,
                "--inventory-name",
                "ferry-live",
            ])
            .args(["--output", "json"])
            .args(extra)
            .output()
            .expect("ferry runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = diff(&["--tenant", "team-a"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("Secret/{ns_a}/web"))
            && err.contains(
                "hint: it is tenant `team-a`'s; pass its identity: --tenant-identity team-a=FILE"
            ),
        "{err}"
    );
    let ta = format!("team-a={}", fa.display());
    let tb = format!("team-b={}", fb.display());
    let (code, out, err) = diff(&[
        "--tenant",
        "team-a",
        "--tenant-identity",
        &ta,
        "--tenant-identity",
        &tb,
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["summary"]["unchanged"], 1, "team-a's Secret only: {v:#}");
    assert!(!out.contains("web-s3cr3t") && !err.contains("web-s3cr3t"));
    // Every owner at once: each tenant dry-run as itself into its own set, nothing differs.
    let (code, out, err) = diff(&["--tenant-identity", &ta, "--tenant-identity", &tb]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        v["summary"]["unchanged"], 9,
        "the platform's 7 objects and the tenants' 2 Secrets: {v:#}"
    );
}
