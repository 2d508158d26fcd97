//! `ferry diff --against live` against the in-memory API server: the library through kube-rs's
//! mock service (exact requests: only reads and `dryRun=All` patches, nothing stored), and the
//! binary through the loopback fake with a kubeconfig (exit codes, every output format, and no
//! secret value, base64 or sha256 in any of them).

mod apply_fake;
mod common;

use apply_fake::artifact::write_artifact;
use apply_fake::server::HttpFake;
use apply_fake::Fake;
use base64::Engine;
use ferry::apply::live::{dry_run, LiveOptions};
use ferry::apply::{self, ApplyOptions, Artifact};
use ferry::diff::{self, Build, ChangeKind, DiffOptions, EnvDiff, SecretContext};
use ferry::manifest::Object;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Output;

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(ns: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": value}})
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret(ns: &str, name: &str, data: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(b64(v))))
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque", "data": data})
}

fn shop(extra: &[Value]) -> Vec<Value> {
    let mut v = vec![
        namespace("shop"),
        configmap("shop", "a", "1"),
        configmap("shop", "b", "1"),
        configmap("shop", "c", "1"),
    ];
    v.extend_from_slice(extra);
    v
}

/// Writes the objects as a build and loads it back, as the CLI does.
fn build(dir: &Path, objects: &[Value]) -> (Build, Vec<Object>) {
    let _ = std::fs::remove_dir_all(dir);
    write_artifact(dir, "prod", objects);
    let b = diff::load_dir(dir).expect("loads");
    let objects = b
        .objects
        .iter()
        .map(|(r, e)| Object::from_value(e.parse(&b, r, true).expect("parses")).expect("object"))
        .collect();
    (b, objects)
}

async fn apply_all(client: &kube::Client, objects: &[Value]) {
    let artifact = Artifact {
        environment: "prod".into(),
        digest: "sha256:0123".into(),
        revision: Some("main@sha1:abcd".into()),
        objects: objects
            .iter()
            .map(|v| Object::from_value(v.clone()).expect("object"))
            .collect(),
        tenants: Default::default(),
        wait: None,
    };
    let report = apply::apply(
        client,
        artifact,
        &ApplyOptions::default(),
        &apply::NoProgress,
    )
    .await
    .expect("applies");
    assert!(report.success(), "{report:#?}");
}

async fn live_diff(client: &kube::Client, dir: &Path, objects: &[Value]) -> (EnvDiff, Vec<String>) {
    let (b, objs) = build(dir, objects);
    let state = dry_run(client, "prod", objs, &LiveOptions::default())
        .await
        .expect("dry run");
    let (old, new) = diff::live::live_sides(&b, &state);
    let d = diff::compare(
        &old,
        &new,
        &DiffOptions::default(),
        SecretContext::default(),
    )
    .expect("compares");
    (d, state.notes)
}

fn changes(d: &EnvDiff) -> Vec<(ChangeKind, String)> {
    d.changes
        .iter()
        .map(|c| (c.change, c.object.to_string()))
        .collect()
}

#[tokio::test]
async fn unchanged_after_an_apply_and_only_dry_run_patches_are_sent() {
    let (fake, client) = Fake::new();
    apply_all(&client, &shop(&[])).await;
    let before = fake.with(|s| s.objects.clone());
    fake.clear_requests();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (d, notes) = live_diff(&client, &tmp.path().join("out"), &shop(&[])).await;
    assert!(d.changes.is_empty(), "{:#?}", d.changes);
    assert_eq!(d.counts.unchanged, 4);
    assert!(notes.is_empty(), "{notes:?}");
    let requests = fake.requests();
    let patches: Vec<_> = requests.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 4, "one dry-run apply per object");
    for r in &requests {
        assert!(
            r.method == "GET" || r.method == "PATCH",
            "only reads and dry runs: {} {}",
            r.method,
            r.path
        );
    }
    for p in patches {
        assert_eq!(
            p.query.get("dryRun").map(String::as_str),
            Some("All"),
            "{}",
            p.path
        );
        assert_eq!(
            p.query.get("fieldManager").map(String::as_str),
            Some("ferry")
        );
        assert_eq!(
            p.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
    }
    assert_eq!(fake.with(|s| s.objects.clone()), before, "nothing stored");
}

#[tokio::test]
async fn drift_changes_added_and_removed_objects_are_shown() {
    let (fake, client) = Fake::new();
    apply_all(&client, &shop(&[])).await;
    // Someone edits `a` in the cluster, and another manager holds the field now.
    fake.with(|s| {
        let a = s.get_mut("", "configmaps", "shop", "a").expect("live");
        a["data"]["k"] = json!("edited");
        s.conflicts
            .insert("a".into(), ("kubectl-edit".into(), ".data.k".into()));
    });
    let tmp = tempfile::tempdir().expect("tempdir");
    // The build changes `b`, drops `c` and adds `d`.
    let objects = vec![
        namespace("shop"),
        configmap("shop", "a", "1"),
        configmap("shop", "b", "2"),
        configmap("shop", "d", "1"),
    ];
    let before = fake.with(|s| s.objects.clone());
    let (d, notes) = live_diff(&client, &tmp.path().join("out"), &objects).await;
    assert_eq!(
        changes(&d),
        [
            (ChangeKind::Changed, "ConfigMap/shop/a".to_string()),
            (ChangeKind::Changed, "ConfigMap/shop/b".to_string()),
            (ChangeKind::Removed, "ConfigMap/shop/c".to_string()),
            (ChangeKind::Added, "ConfigMap/shop/d".to_string()),
        ]
    );
    assert_eq!(d.counts.unchanged, 1, "the namespace");
    let a = &d.changes[0].diff;
    assert!(
        a.contains("-  k: edited\n") && a.contains("+  k: \"1\"\n"),
        "{a}"
    );
    assert!(
        !a.contains("applied-digest") && !a.contains("resourceVersion"),
        "{a}"
    );
    let b = &d.changes[1].diff;
    assert!(
        b.contains("-  k: \"1\"\n") && b.contains("+  k: \"2\"\n"),
        "{b}"
    );
    assert!(
        notes.iter().any(|n| n.contains("ConfigMap/shop/a")
            && n.contains("--force-conflicts")
            && n.contains("kubectl-edit")),
        "{notes:?}"
    );
    assert_eq!(fake.with(|s| s.objects.clone()), before, "nothing stored");
    assert!(fake.with_method("DELETE").is_empty());
}

#[tokio::test]
async fn an_object_in_a_namespace_the_build_creates_is_added_without_failing() {
    let (_fake, client) = Fake::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (d, notes) = live_diff(
        &client,
        &tmp.path().join("out"),
        &[namespace("new"), configmap("new", "x", "1")],
    )
    .await;
    assert_eq!(d.counts.added, 2, "{:#?}", d.changes);
    assert!(
        notes.iter().any(|n| n.contains("ConfigMap/new/x")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn secret_keys_are_compared_on_values_and_never_shown() {
    let (_fake, client) = Fake::new();
    let db = |pw: &str| secret("shop", "db", &[("password", pw), ("user", "admin-user")]);
    apply_all(&client, &shop(&[db("old-pass-1234")])).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (d, _) = live_diff(
        &client,
        &tmp.path().join("out"),
        &shop(&[db("new-pass-5678")]),
    )
    .await;
    let c = &d.changes[0];
    assert_eq!(
        (c.change, c.object.to_string()),
        (ChangeKind::Changed, "Secret/shop/db".into())
    );
    let keys: Vec<_> = c
        .secret_keys
        .as_ref()
        .expect("keys")
        .iter()
        .map(|k| (k.key.as_str(), k.status))
        .collect();
    assert_eq!(
        keys,
        [
            ("password", diff::KeyStatus::Changed),
            ("user", diff::KeyStatus::Unchanged)
        ]
    );
    for v in ["old-pass-1234", "new-pass-5678", "admin-user"] {
        assert!(
            !c.diff.contains(v) && !c.diff.contains(&b64(v)),
            "{}",
            c.diff
        );
    }
}

// ---- the binary against the loopback fake ----

struct Env {
    tmp: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    dir: std::path::PathBuf,
}

fn setup(server: &HttpFake, objects: &[Value]) -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(false)).expect("write");
    let dir = tmp.path().join("out/prod");
    write_artifact(&dir, "prod", objects);
    Env {
        tmp,
        kubeconfig,
        dir,
    }
}

fn ferry(env: &Env, args: &[&str]) -> Output {
    common::ferry(&env.tmp.path().join("cache"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .args(["--kube-context", "fake"])
        .env_remove("KUBECONFIG")
        .env_remove("FERRY_DIFF_KEY")
        .env("HOME", env.tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("ferry runs")
}

fn rewrite(env: &Env, objects: &[Value]) {
    std::fs::remove_dir_all(&env.dir).expect("rm");
    write_artifact(&env.dir, "prod", objects);
}

fn out(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn cli_exit_codes_and_no_secret_in_any_output_format() {
    let server = HttpFake::start();
    let old = secret(
        "shop",
        "db",
        &[("password", "s3cr3t-Old-pw"), ("token", "tok-Removed-77")],
    );
    let env = setup(&server, &shop(&[old]));
    let dir = env.dir.to_str().expect("utf-8").to_string();
    let (code, _, err) = out(&ferry(&env, &["apply", &dir]));
    assert_eq!(code, 0, "{err}");

    let (code, stdout, err) = out(&ferry(&env, &["diff", "--against", "live", &dir]));
    assert_eq!(code, 0, "no changes after an apply: {stdout}\n{err}");
    let (code, stdout, _) = out(&ferry(
        &env,
        &["diff", "--against", "live", &dir, "--output", "json"],
    ));
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(report["summary"]["unchanged"], 5, "{report:#}");

    // The password changes, a key is removed, one is added, and `c` left the build.
    let new = secret(
        "shop",
        "db",
        &[("password", "s3cr3t-New-pw"), ("apikey", "k3y-Added-99")],
    );
    let mut objects = shop(&[new]);
    objects.retain(|o| o["metadata"]["name"] != "c");
    rewrite(&env, &objects);
    let key = env.tmp.path().join("fp.key");
    std::fs::write(&key, "a-ci-only-fingerprint-key-0123456789").expect("key");
    let values = [
        "s3cr3t-Old-pw",
        "tok-Removed-77",
        "s3cr3t-New-pw",
        "k3y-Added-99",
    ];
    let before = server.with(|s| s.objects.clone());
    for format in ["text", "json", "markdown"] {
        let o = ferry(
            &env,
            &[
                "diff",
                "--against",
                "live",
                &dir,
                "--output",
                format,
                "--fingerprint-key-file",
                key.to_str().expect("utf-8"),
            ],
        );
        let (code, stdout, stderr) = out(&o);
        assert_eq!(code, 1, "{format}: {stdout}\n{stderr}");
        assert!(
            stdout.contains("Secret") && stdout.contains("password"),
            "{format}: {stdout}"
        );
        assert!(
            stdout.contains("ConfigMap/shop/c") || stdout.contains("\"c\""),
            "{format}: {stdout}"
        );
        for v in values {
            let hex = hex::encode(Sha256::digest(v.as_bytes()));
            for needle in [v.to_string(), b64(v), hex] {
                assert!(
                    !stdout.contains(&needle) && !stderr.contains(&needle),
                    "{format} leaks {needle:?}:\n{stdout}\n{stderr}"
                );
            }
        }
    }
    assert_eq!(
        server.with(|s| s.objects.clone()),
        before,
        "the diff stored nothing"
    );
    let (_, stdout, _) = out(&ferry(
        &env,
        &["diff", "--against", "live", &dir, "--output", "json"],
    ));
    let report: Value = serde_json::from_str(&stdout).expect("json");
    let counts = &report["summary"];
    assert_eq!(
        (counts["changed"].as_u64(), counts["removed"].as_u64()),
        (Some(1), Some(1)),
        "{report:#}"
    );
}

#[test]
fn cli_refuses_offline_and_needs_an_environment() {
    let server = HttpFake::start();
    let env = setup(&server, &shop(&[]));
    let dir = env.dir.to_str().expect("utf-8").to_string();
    let o = ferry(&env, &["--offline", "diff", "--against", "live", &dir]);
    let (code, _, err) = out(&o);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--offline"), "{err}");
    let (code, _, err) = out(&ferry(&env, &["diff", "--against", "live"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ferry diff --against live prod"), "{err}");
    assert!(server.with(|s| s.requests.is_empty()), "nothing sent");
}
