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
