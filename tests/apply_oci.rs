//! `ferry apply oci://REF`: an artifact pushed to a real registry (CNCF distribution) is pulled,
//! verified and applied to the fake API server; an unsigned, wrongly signed or tampered one, or
//! one asked for `--offline`, applies nothing and exits 2 with a message that says why.

mod apply_fake;
mod common;

use apply_fake::artifact::write_artifact;
use apply_fake::server::HttpFake;
use common::registry::{self, Registry};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}, "data": {"k": "1"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "shop"}, "data": {"k": "2"}}),
    ]
}

struct World {
    tmp: tempfile::TempDir,
    kubeconfig: PathBuf,
    server: HttpFake,
}

impl World {
    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    /// Pushes `out/prod` of `repo` to `target` with tag v1; returns the manifest digest.
    fn push(&self, repo: &Path, target: &str, extra: &[&str]) -> String {
        let out = registry::ferry(self.tmp.path())
            .arg("-C")
            .arg(repo)
            .args([
                "push", "prod", "--to", target, "--tag", "v1", "--output", "json",
            ])
            .args(extra)
            .output()
            .expect("ferry push");
        assert!(
            out.status.success(),
            "push: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v[0]["push"]["digest"].as_str().expect("digest").to_string()
    }

    fn apply(&self, reference: &str, extra: &[&str]) -> (i32, String, String) {
        let o: Output = registry::ferry(self.tmp.path())
            .arg("apply")
            .arg(reference)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(extra)
            .env_remove("KUBECONFIG")
            .env_remove("SOPS_AGE_KEY_FILE")
            .output()
            .expect("ferry apply");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn refused(&self, reference: &str, extra: &[&str], want: &str) {
        let (code, out, err) = self.apply(reference, extra);
        assert_eq!(
            code, 2,
            "{reference} {extra:?} must be refused:\n{out}\n{err}"
        );
        assert!(err.contains(want), "{extra:?}: want {want:?} in:\n{err}");
        assert!(
            err.contains("nothing was applied") || want == "--offline",
            "{err}"
        );
        assert!(
            self.server.with(|s| s.objects.is_empty()),
            "{extra:?}: nothing may reach the cluster"
        );
    }
}

fn world() -> World {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = HttpFake::start();
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(true)).expect("write");
    World {
        tmp,
        kubeconfig,
        server,
    }
}

#[test]
fn a_pushed_artifact_is_verified_then_applied_and_a_bad_one_applies_nothing() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = world();
    let keys = w.path("keys");
    let (key, public) = registry::keygen(w.tmp.path(), &keys, "cosign");
    let (_, other) = registry::keygen(w.tmp.path(), &keys, "other");
    let (key, public, other) = (
        key.display().to_string(),
        public.display().to_string(),
        other.display().to_string(),
    );
    let repo = w.path("repo");
    write_artifact(&repo.join("out/prod"), "prod", &objects());
    let signed = format!("oci://{}/platform/prod", reg.addr);
    let digest = w.push(&repo, &signed, &["--key", &key]);
    let unsigned = format!("oci://{}/platform/unsigned", reg.addr);
    w.push(&repo, &unsigned, &[]);
    let signed_v1 = format!("{signed}:v1");
    let unsigned_v1 = format!("{unsigned}:v1");

    w.refused(&signed_v1, &["--key", &other], "no signature on");
    w.refused(&signed_v1, &[], "no public key");
    w.refused(&unsigned_v1, &["--key", &public], "has no cosign signature");
    w.refused(&signed_v1, &["--key", &public, "--offline"], "--offline");

    // The dry run reads exactly the pushed objects, reports the manifest digest, stores nothing.
    let (code, out, err) = w.apply(
        &signed_v1,
        &["--key", &public, "--dry-run", "--output", "json"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(
        report["revision"],
        "main@sha1:0000000000000000000000000000000000000001"
    );
    let mut applied: Vec<&str> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o["object"].as_str())
        .collect();
    applied.sort();
    assert_eq!(
        applied,
        ["ConfigMap/shop/a", "ConfigMap/shop/b", "Namespace/shop"]
    );
    assert!(
        w.server.with(|s| s.objects.is_empty()),
        "a dry run stores nothing"
    );

    // Accepting an unsigned artifact must be spelled out, and is said on stderr.
    let (code, out, err) = w.apply(&unsigned_v1, &["--insecure-skip-verify", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("signature NOT checked"), "{err}");

    // A layer changed in the registry's storage: refused on its digest, even unverified.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(reg.blob_file(&digest)).expect("manifest blob"))
            .expect("json");
    let layer = reg.blob_file(manifest["layers"][0]["digest"].as_str().expect("layer"));
    let original = std::fs::read(&layer).expect("layer blob");
    let mut changed = original.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    std::fs::write(&layer, &changed).expect("tamper");
    w.refused(&signed_v1, &["--key", &public], "refusing it");
    w.refused(&signed_v1, &["--insecure-skip-verify"], "refusing it");
    std::fs::write(&layer, &original).expect("restore");

    // Untouched, it applies for real.
    let (code, out, err) = w.apply(&signed_v1, &["--key", &public]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&digest), "{out}");
    assert!(
        out.contains("summary: 3 created, 0 configured, 0 unchanged"),
        "{out}"
    );
    assert!(w.server.with(|s| s
        .get("", "configmaps", "shop", "b")
        .is_some_and(|b| b["data"]["k"] == "2")));
}

/// Keys from ferry.yaml: the environment whose `artifact:` is the pulled repository names the
/// public key; a flag overrides it, and it overrides $FERRY_COSIGN_KEY.
#[test]
fn apply_verifies_with_the_key_ferry_yaml_names() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = world();
    let repo = w.path("repo");
    let (key, _) = registry::keygen(w.tmp.path(), &repo.join("keys"), "cosign");
    let (_, other) = registry::keygen(w.tmp.path(), &repo.join("keys"), "other");
    write_artifact(&repo.join("out/prod"), "prod", &objects());
    let target = format!("{}/platform/prod", reg.addr);
    std::fs::write(
        repo.join("ferry.yaml"),
        format!("apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod:\n    artifact: {target}\n    signing:\n      publicKey: keys/cosign.pub\napps:\n  app:\n    path: app\n"),
    )
    .expect("write");
    w.push(
        &repo,
        &format!("oci://{target}"),
        &["--key", key.to_str().expect("utf8")],
    );
    let reference = format!("oci://{target}:v1");
    let repo_s = repo.to_str().expect("utf8");
    let with_env = |extra: &[&str], var: Option<&Path>| {
        let mut c = registry::ferry(w.tmp.path());
        c.args([
            "-C",
            repo_s,
            "apply",
            &reference,
            "--dry-run",
            "--kubeconfig",
        ])
        .arg(&w.kubeconfig)
        .args(extra)
        .env_remove("KUBECONFIG");
        if let Some(v) = var {
            c.env("FERRY_COSIGN_KEY", v);
        }
        let o = c.output().expect("ferry apply");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = with_env(&[], None);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = with_env(&[], Some(&other));
    assert_eq!(
        code,
        Some(0),
        "ferry.yaml's key wins over the variable: {err}"
    );
    let (code, err) = with_env(&["--key", other.to_str().expect("utf8")], None);
    assert_eq!(code, Some(2), "--key wins over ferry.yaml: {err}");
    assert!(err.contains("no signature on"), "{err}");

    // A configured key that is not there: the line and key path in ferry.yaml say where.
    std::fs::remove_file(repo.join("keys/cosign.pub")).expect("rm");
    let (code, err) = with_env(&[], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("ferry.yaml:7: environments.prod.signing.publicKey"),
        "{err}"
    );
}
