//! The test repository for `ferry diff`, generated here (not committed as blobs): two tagged
//! revisions of a small pipeline with plain apps, so no peer tool is needed.
//!
//! Between `v1` and `v2`, in both environments: the `web` Deployment's image changes, Service
//! `legacy` is removed, ConfigMap `feature-flags` is added, ConfigMap `shared` moves from app
//! `web` to app `extras`, ConfigMap `web-config` stays; in Secret `db` the key `user` stays,
//! `password` changes, `legacy` is removed and `token` is added; `api-key` (in `stringData`)
//! stays.
#![allow(dead_code)]

use base64::Engine;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The CI's fingerprint key in tests. Test-only.
pub const TEST_KEY: &str = "test-only-fingerprint-key-0001";

/// The age identity both environments are sealed to, and the CI's; test-only.
pub const TEST_IDENTITY: &str =
    "AGE-SECRET-KEY-1344PKNANS44JXUEYW239J7V2M6PEVXE4XFGX0X792ZZMZFATDRVSH7JCH0";
pub const TEST_RECIPIENT: &str = "age1swa7nz5a3dc6uvzsqerf0e2ay2v50qjf0h26vrhqhug465tfhgvqhehctg";

/// Every plaintext secret value in the fixture, in either revision or environment.
pub const SECRET_VALUES: &[&str] = &[
    "staging-user-R4nd0m",
    "staging-pw-old-Zq81xv",
    "staging-legacy-Pp02kk",
    "staging-pw-new-Lm55rt",
    "staging-tok-Wx93aa",
    "prod-user-Q7v2mm",
    "prod-pw-old-Hh61cd",
    "prod-legacy-Jj48ee",
    "prod-pw-new-Kk37ff",
    "prod-tok-Nn26gg",
    "staging-apikey-Tt11uu",
    "prod-apikey-Tt11uu",
];

const FERRY_YAML_V1: &str = "apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  staging: {recipients: [age1swa7nz5a3dc6uvzsqerf0e2ay2v50qjf0h26vrhqhug465tfhgvqhehctg]}
  prod: {recipients: [age1swa7nz5a3dc6uvzsqerf0e2ay2v50qjf0h26vrhqhug465tfhgvqhehctg]}
apps:
  web:
    namespace: shop
    path: apps/web
  db:
    namespace: shop
    path: apps/db/${env}
";

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: {image}
          ports: [{{containerPort: 8080}}]
"
    )
}

fn configmap(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n{data}")
}

const LEGACY_SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: legacy
spec:
  selector: {app: legacy}
  ports: [{port: 80}]
";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `data` (base64) for the keys that change, `stringData` for one that stays, so that both
/// are read.
fn secret(env: &str, pairs: &[(&str, &str)]) -> String {
    let mut s =
        String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n");
    for (k, v) in pairs {
        s.push_str(&format!("  {k}: {}\n", b64(v)));
    }
    s.push_str(&format!(
        "stringData:\n  api-key: \"{env}-apikey-Tt11uu\"\n"
    ));
    s
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

pub fn git(root: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.email=test@ferry.dev",
            "-c",
            "user.name=test",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(root)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Shop {
    pub tmp: tempfile::TempDir,
    pub repo: PathBuf,
    pub cache: PathBuf,
}

impl Shop {
    pub fn new() -> Shop {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("repo");
        let cache = tmp.path().join("cache");
        std::fs::create_dir_all(&repo).expect("mkdir");
        git(&repo, &["init", "-q"]);
        write(&repo, "ferry.yaml", FERRY_YAML_V1);
        write(&repo, "apps/web/deployment.yaml", &deployment("web:1.0"));
        write(
            &repo,
            "apps/web/config.yaml",
            &configmap("web-config", "  mode: fast\n"),
        );
        write(&repo, "apps/web/legacy.yaml", LEGACY_SERVICE);
        write(
            &repo,
            "apps/web/shared.yaml",
            &configmap("shared", "  region: eu\n"),
        );
        for (env, v) in [
            ("staging", &SECRET_VALUES[..5]),
            ("prod", &SECRET_VALUES[5..]),
        ] {
            write(
                &repo,
                &format!("apps/db/{env}/secret.yaml"),
                &secret(env, &[("user", v[0]), ("password", v[1]), ("legacy", v[2])]),
            );
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "v1"]);
        git(&repo, &["tag", "v1"]);

        write(
            &repo,
            "ferry.yaml",
            &format!("{FERRY_YAML_V1}  extras:\n    namespace: shop\n    path: apps/extras\n"),
        );
        write(&repo, "apps/web/deployment.yaml", &deployment("web:1.1"));
        std::fs::remove_file(repo.join("apps/web/legacy.yaml")).expect("rm");
        write(
            &repo,
            "apps/web/flags.yaml",
            &configmap("feature-flags", "  checkout: \"on\"\n"),
        );
        std::fs::rename(repo.join("apps/web/shared.yaml"), {
            std::fs::create_dir_all(repo.join("apps/extras")).expect("mkdir");
            repo.join("apps/extras/shared.yaml")
        })
        .expect("mv");
        for (env, v) in [
            ("staging", &SECRET_VALUES[..5]),
            ("prod", &SECRET_VALUES[5..]),
        ] {
            write(
                &repo,
                &format!("apps/db/{env}/secret.yaml"),
                &secret(env, &[("user", v[0]), ("password", v[3]), ("token", v[4])]),
            );
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "v2"]);
        git(&repo, &["tag", "v2"]);
        Shop { tmp, repo, cache }
    }

    pub fn ferry(&self, args: &[&str]) -> Output {
        self.ferry_env(args, &[])
    }

    pub fn ferry_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = assert_cmd::Command::cargo_bin("ferry").expect("binary built");
        cmd.args(args)
            .current_dir(&self.repo)
            .env("FERRY_CACHE_DIR", &self.cache)
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env_remove("FERRY_DIFF_KEY")
            .env_remove("SOPS_AGE_KEY_FILE")
            .env("HOME", self.tmp.path())
            .env("SOPS_AGE_KEY", TEST_IDENTITY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("ferry runs")
    }

    /// `ferry build` of `v1` and `v2` into `out-v1/` and `out-v2/` beside the repository.
    pub fn builds(&self) -> (PathBuf, PathBuf) {
        let dirs = (
            self.tmp.path().join("out-v1"),
            self.tmp.path().join("out-v2"),
        );
        for (rev, dir) in [("v1", &dirs.0), ("v2", &dirs.1)] {
            let out = self.ferry(&["build", "--revision", rev, "-o", path(dir), "-q"]);
            assert!(out.status.success(), "build {rev}: {}", stderr(&out));
        }
        dirs
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every way a value could leak: itself, its base64 (padded or not, standard or URL-safe), and
/// its SHA-256 in hex, either case.
pub fn leak_forms(value: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let sha = hex::encode(Sha256::digest(value.as_bytes()));
    vec![
        value.to_string(),
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        URL_SAFE.encode(value),
        URL_SAFE_NO_PAD.encode(value),
        sha.clone(),
        sha.to_uppercase(),
    ]
}

/// Fails when any form of any value occurs in `text`.
pub fn assert_no_leak(what: &str, text: &str, values: &[&str]) {
    for v in values {
        for form in leak_forms(v) {
            assert!(
                !text.contains(&form),
                "{what} leaks a secret value (as `{form}`)"
            );
        }
    }
}

/// An insta snapshot with temporary paths and commit ids filtered out.
pub fn snapshot(name: &str, text: &str, shop: &Shop) {
    let tmp = shop.tmp.path().to_str().expect("UTF-8").to_string();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&tmp), "[TMP]");
    settings.add_filter(r"sha1:[0-9a-f]{40}", "sha1:[COMMIT]");
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]");
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
