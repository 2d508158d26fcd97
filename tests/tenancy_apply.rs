//! Tenants at apply time, request by request (issue 20): the `ferry` binary against the fake
//! API server on a loopback socket. Every request of a tenant's apply, prune, dry run and
//! health read carries `Impersonate-User: system:serviceaccount:NS:NAME` and its groups, and
//! none of the platform's does; a tenant the server refuses fails alone. Whether RBAC really
//! holds a tenant is proven against a real API server in tests/tenancy_live.rs.

mod apply_fake;
mod common;

use apply_fake::artifact::write_tenant_artifact;
use apply_fake::server::HttpFake;
use apply_fake::Recorded;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

const USER_A: &str = "system:serviceaccount:team-a:ferry";

fn cm(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": name}})
}

fn ns(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn artifact(dir: &Path, a: &[Value], b: &[Value]) {
    let platform = [cm("infra", "platform-own")];
    write_tenant_artifact(
        dir,
        "prod",
        &[
            ("platform", None, &platform),
            ("web", Some("team-a"), a),
            ("api", Some("team-b"), b),
        ],
        &[
            ("team-a", "team-a/ferry", &["team-a"]),
            ("team-b", "team-b/deployer", &["team-b"]),
        ],
    );
}

fn fake() -> (HttpFake, tempfile::TempDir) {
    let fake = HttpFake::start();
    fake.with(|st| {
        st.allowed_namespaces
            .insert(USER_A.into(), ["team-a".to_string()].into());
        st.allowed_namespaces.insert(
            "system:serviceaccount:team-b:deployer".into(),
            ["team-b".to_string()].into(),
        );
    });
    // The namespaces exist, as the platform made them in an earlier run.
    fake.with(|st| {
        for name in ["infra", "team-a", "team-b"] {
            let mut v = ns(name);
            v["status"] = json!({"phase": "Active"});
            st.put("", "namespaces", "", v);
        }
    });
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("kubeconfig"), fake.kubeconfig(true)).expect("kubeconfig");
    (fake, d)
}

fn apply(kubeconfig: &Path, dir: &Path, extra: &[&str]) -> (i32, Value) {
    let cache = tempfile::tempdir().expect("cache");
    let out = common::ferry(cache.path())
        .arg("apply")
        .arg(dir)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "--inventory-namespace",
            "infra",
            "--output",
            "json",
            "--timeout",
            "10s",
        ])
        .args(extra)
        .output()
        .expect("ferry runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON report; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The namespace a request's path names (`/api/v1/namespaces/NS/...` or the namespace itself).
fn namespace_of(r: &Recorded) -> Option<String> {
    let segs: Vec<&str> = r.path.split('/').collect();
    let i = segs.iter().position(|s| *s == "namespaces")?;
    segs.get(i + 1).map(|s| s.to_string())
}

fn tenant(report: &Value, name: &str) -> Value {
    report["tenants"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tenant"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no tenant {name} in {report:#}"))
}

/// `METHOD plural` of each request, e.g. `PATCH configmaps`, `GET leases`.
fn verbs(requests: &[&Recorded]) -> BTreeSet<String> {
    requests
        .iter()
        .map(|r| {
            let plural = r
                .path
                .rsplit('/')
                .find(|s| ["configmaps", "secrets", "leases", "namespaces"].contains(s))
                .unwrap_or("discovery");
            let list = r.method == "GET" && r.path.ends_with(plural);
            format!("{} {plural}", if list { "LIST" } else { &r.method })
        })
        .collect()
}

#[test]
fn every_request_of_a_tenant_apply_prune_and_health_read_impersonates_its_service_account() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let first = tempfile::tempdir().expect("tempdir");
    artifact(
        first.path(),
        &[cm("team-a", "a1"), cm("team-a", "a2")],
        &[cm("team-b", "b1")],
    );
    let (code, report) = apply(&kc, first.path(), &["--wait"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(tenant(&report, "team-a")["user"], USER_A);
    assert_eq!(
        tenant(&report, "team-a")["report"]["parent"],
        "Secret/team-a/ferry-prod-team-a"
    );

    // Then team-a drops a2: its prune runs as team-a.
    let second = tempfile::tempdir().expect("tempdir");
    artifact(second.path(), &[cm("team-a", "a1")], &[cm("team-b", "b1")]);
    let (code, report) = apply(&kc, second.path(), &["--wait"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        tenant(&report, "team-a")["report"]["prune"]["pruned"],
        json!(["ConfigMap/team-a/a2"])
    );

    let requests = fake.with(|st| st.requests.clone());
    let as_a: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.impersonate_user.as_deref() == Some(USER_A))
        .collect();
    let as_platform: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.impersonate_user.is_none())
        .collect();
    // team-a's requests: its lock, its parent, its objects, the health reads, the prune.
    let seen = verbs(&as_a);
    for want in [
        "PATCH configmaps",
        "LIST configmaps",
        "GET configmaps",
        "DELETE configmaps",
        "GET secrets",
        "PATCH secrets",
        "GET namespaces",
    ] {
        assert!(seen.contains(want), "team-a never sent {want}: {seen:?}");
    }
    assert!(
        as_a.iter().any(|r| r.path.contains("/leases")),
        "team-a's lock is taken as team-a"
    );
    for r in &as_a {
        assert_eq!(
            r.impersonate_groups,
            ["system:serviceaccounts", "system:serviceaccounts:team-a"],
            "{} {}",
            r.method,
            r.path
        );
        if let Some(ns) = namespace_of(r) {
            assert_eq!(ns, "team-a", "{} {}", r.method, r.path);
        }
    }
    // Every request about team-a's namespace was team-a's, and the platform's reach none of it.
    for r in &as_platform {
        let about_a =
            namespace_of(r).as_deref() == Some("team-a") && !r.path.ends_with("/namespaces/team-a");
        assert!(
            !about_a,
            "sent with the platform's rights: {} {}",
            r.method, r.path
        );
    }
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "DELETE")
            .all(|r| r.impersonate_user.as_deref() == Some(USER_A)),
        "only team-a pruned"
    );
}

#[test]
fn a_dry_run_of_a_tenant_impersonates_it_too() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let dir = tempfile::tempdir().expect("tempdir");
    artifact(dir.path(), &[cm("team-a", "a1")], &[cm("team-b", "b1")]);
    let (code, report) = apply(&kc, dir.path(), &["--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    let requests = fake.with(|st| st.requests.clone());
    let dry_patches: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/configmaps/a1"))
        .collect();
    assert!(!dry_patches.is_empty());
    for r in dry_patches {
        assert_eq!(r.query.get("dryRun").map(String::as_str), Some("All"));
        assert_eq!(r.impersonate_user.as_deref(), Some(USER_A));
    }
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" || r.query.get("dryRun").map(String::as_str) == Some("All")),
        "a dry run writes nothing"
    );
}

#[test]
fn a_tenant_the_server_refuses_fails_alone_with_the_servers_message() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let dir = tempfile::tempdir().expect("tempdir");
    artifact(
        dir.path(),
        &[cm("team-a", "a1"), cm("team-b", "intruder")],
        &[cm("team-b", "b1")],
    );
    let (code, report) = apply(&kc, dir.path(), &[]);
    assert_eq!(code, 3, "partial failure: {report:#}");
    assert!(report["summary"]["failed"] == 0, "the platform applied");
    let a = tenant(&report, "team-a");
    let failed: Vec<&Value> = a["report"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["result"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{a:#}");
    let error = failed[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("User \"system:serviceaccount:team-a:ferry\" cannot")
            && error.contains("in the namespace \"team-b\""),
        "{error}"
    );
    assert_eq!(tenant(&report, "team-b")["report"]["summary"]["created"], 1);
    assert!(fake.with(|st| st.get("", "configmaps", "team-b", "intruder").is_none()));
    assert!(fake.with(|st| st.get("", "configmaps", "team-a", "a1").is_some()));
}

/// Adds `decryption.secretRef` to a tenant of an artifact's `index.json`, as `ferry build`
/// records `tenants.NAME.decryption` of `ferry.yaml`.
fn with_decryption(dir: &Path, tenant: &str, secret: &str) {
    let path = dir.join("index.json");
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("index")).expect("json");
    index["tenants"][tenant]["decryption"] =
        json!({"secretRef": {"name": secret, "key": "age.agekey"}});
    std::fs::write(&path, serde_json::to_vec_pretty(&index).expect("json")).expect("write");
}

/// The identity file's text as a Secret of the tenant's namespace (what the platform team
/// creates for the tenant, or the tenant itself).
fn identity_secret(ns: &str, name: &str, key_file: &Path) -> Value {
    use base64::Engine;
    let text = std::fs::read(key_file).expect("identity");
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
        "data": {"age.agekey": base64::engine::general_purpose::STANDARD.encode(text)}})
}

/// Each tenant's Secret is sealed to a key of its own only: team-a's identity comes from its
/// `decryption.secretRef`, read as team-a; team-b's from `--tenant-identity`.
fn sealed_tenants(
    fake: &HttpFake,
    keys: &Path,
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let (ka, kb) = (keys.join("a"), keys.join("b"));
    std::fs::create_dir_all(&ka).expect("mkdir");
    std::fs::create_dir_all(&kb).expect("mkdir");
    let (sa, key_a) = apply_fake::artifact::sealed_secret_in(&ka, "team-a", PASSWORD_A);
    let (sb, key_b) = apply_fake::artifact::sealed_secret_in(&kb, "team-b", PASSWORD_B);
    let dir = tempfile::tempdir().expect("tempdir");
    artifact(
        dir.path(),
        &[cm("team-a", "a1"), sa],
        &[cm("team-b", "b1"), sb],
    );
    let s = identity_secret("team-a", "team-a-age", &key_a);
    fake.with(|st| st.put("", "secrets", "team-a", s));
    (dir, key_a, key_b)
}

const PASSWORD_A: &str = "dGVhbS1hLXNlY3JldA=="; // base64, as `data` holds it
const PASSWORD_B: &str = "dGVhbS1iLXNlY3JldA==";

#[test]
fn each_tenants_secrets_open_with_its_own_identity_read_as_the_tenant() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let (dir, _key_a, key_b) = sealed_tenants(&fake, d.path());
    with_decryption(dir.path(), "team-a", "team-a-age");
    let kb = format!("team-b={}", key_b.display());
    let (code, report) = apply(&kc, dir.path(), &["--tenant-identity", &kb]);
    assert_eq!(code, 0, "{report:#}");
    for (ns, password) in [("team-a", PASSWORD_A), ("team-b", PASSWORD_B)] {
        let live = fake
            .with(|st| st.get("", "secrets", ns, "db").cloned())
            .unwrap_or_else(|| panic!("{ns}'s Secret applied"));
        assert_eq!(
            live["data"]["password"], password,
            "opened before the apply"
        );
        assert!(live.get("sops").is_none());
    }
    // team-a's identity was read with team-a's rights, from its own namespace.
    let requests = fake.with(|st| st.requests.clone());
    let reads: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/secrets/team-a-age"))
        .collect();
    assert_eq!(reads.len(), 1, "read once");
    assert_eq!(reads[0].impersonate_user.as_deref(), Some(USER_A));
    assert_eq!(
        reads[0].path,
        "/api/v1/namespaces/team-a/secrets/team-a-age"
    );
}

#[test]
fn a_tenant_whose_identity_is_missing_or_foreign_fails_alone() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let (dir, key_a, key_b) = sealed_tenants(&fake, d.path());
    // No identity for team-a at all: it fails, naming what to configure; team-b applies.
    let kb = format!("team-b={}", key_b.display());
    let cache = tempfile::tempdir().expect("cache");
    let out = common::ferry(cache.path())
        .arg("apply")
        .arg(dir.path())
        .arg("--kubeconfig")
        .arg(&kc)
        .args([
            "--inventory-namespace",
            "infra",
            "--output",
            "json",
            "--tenant-identity",
            &kb,
        ])
        .output()
        .expect("ferry runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(out.status.code(), Some(3), "{report:#}");
    let a = tenant(&report, "team-a");
    let error = a["error"].as_str().unwrap_or_default();
    assert_eq!(
        error,
        "Secret/team-a/db is sealed for tenant `team-a` and the platform's identity does not open it, but no identity of the tenant is configured; hint: set tenants.team-a.decryption.secretRef in ferry.yaml (a Secret in namespace team-a holding the tenant's age identity), or pass --tenant-identity team-a=FILE"
    );
    assert_eq!(tenant(&report, "team-b")["report"]["summary"]["created"], 2);
    assert!(fake.with(|st| st.get("", "configmaps", "infra", "platform-own").is_some()));
    assert!(
        fake.with(|st| st.get("", "configmaps", "team-a", "a1").is_none()),
        "nothing of team-a is applied"
    );

    // team-b's identity given as team-a's opens nothing of team-a's (and team-a's as
    // team-b's nothing of team-b's): both fail, each alone, with no value shown.
    let ka = format!("team-b={}", key_a.display());
    let kb = format!("team-a={}", key_b.display());
    let (code, report) = apply(
        &kc,
        dir.path(),
        &["--tenant-identity", &kb, "--tenant-identity", &ka],
    );
    assert_eq!(code, 3, "{report:#}");
    for t in ["team-a", "team-b"] {
        let e = tenant(&report, t)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "tenant `{t}`'s identity: cannot decrypt Secret/{t}/db"
            )),
            "{e}"
        );
    }
    let text = report.to_string();
    assert!(!text.contains(PASSWORD_A) && !text.contains(PASSWORD_B));
    assert!(fake.with(|st| st.get("", "secrets", "team-a", "db").is_none()));

    // A tenant named by --tenant-identity must be one of the artifact's.
    let kc2 = format!("team-c={}", key_a.display());
    let out = common::ferry(cache.path())
        .arg("apply")
        .arg(dir.path())
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["--inventory-namespace", "infra", "--tenant-identity", &kc2])
        .output()
        .expect("ferry runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the artifact has no tenant `team-c`")
            && err.contains("its tenants: team-a, team-b"),
        "{err}"
    );
}

#[test]
fn a_decryption_secret_the_tenant_cannot_read_fails_it_alone() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let (dir, _, key_b) = sealed_tenants(&fake, d.path());
    // The Secret it names does not exist in team-a's namespace.
    with_decryption(dir.path(), "team-a", "no-such-secret");
    let kb = format!("team-b={}", key_b.display());
    let (code, report) = apply(&kc, dir.path(), &["--tenant-identity", &kb]);
    assert_eq!(code, 3, "{report:#}");
    let e = tenant(&report, "team-a")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        e.starts_with("the tenant's decryption identity: Secret team-a/no-such-secret not found")
            && e.ends_with("(read as system:serviceaccount:team-a:ferry)"),
        "{e}"
    );
    assert_eq!(tenant(&report, "team-b")["report"]["summary"]["created"], 2);
}

#[test]
fn diff_against_live_dry_runs_each_tenant_as_itself_and_filters_by_tenant() {
    let (fake, d) = fake();
    let kc = d.path().join("kubeconfig");
    let dir = tempfile::tempdir().expect("tempdir");
    artifact(dir.path(), &[cm("team-a", "a1")], &[cm("team-b", "b1")]);
    let diff = |extra: &[&str]| {
        let cache = tempfile::tempdir().expect("cache");
        let out = common::ferry(cache.path())
            .args(["diff", "--against", "live"])
            .arg(dir.path())
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["--inventory-namespace", "infra", "--output", "json"])
            .args(extra)
            .output()
            .expect("ferry runs");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("no JSON; stderr: {}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code(), v)
    };
    let (code, v) = diff(&["--tenant", "team-a"]);
    assert_eq!(code, Some(1), "{v:#}");
    let changes: Vec<(String, String)> = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c["namespace"].as_str().unwrap_or_default(),
                    c["name"].as_str().unwrap_or_default()
                ),
                c["tenant"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(changes, [("team-a/a1".to_string(), "team-a".to_string())]);
    let requests = fake.with(|st| st.requests.clone());
    let dry: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/configmaps/a1"))
        .collect();
    assert!(!dry.is_empty());
    for r in dry {
        assert_eq!(r.query.get("dryRun").map(String::as_str), Some("All"));
        assert_eq!(r.impersonate_user.as_deref(), Some(USER_A), "as team-a");
    }
    assert!(
        requests
            .iter()
            .filter(|r| r.path.ends_with("/configmaps/platform-own"))
            .all(|r| r.impersonate_user.is_none()),
        "the platform's own objects with the caller's rights"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" || r.query.get("dryRun").map(String::as_str) == Some("All")),
        "a diff writes nothing"
    );
}
