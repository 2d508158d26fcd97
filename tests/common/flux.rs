//! The Flux repository under testdata/flux, copied for a test, and `ferry build --flux` on it.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of testdata/flux: (the temporary directory, the repository in it).
pub fn fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    super::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/flux"),
        &repo,
    );
    (tmp, repo)
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// `ferry build --flux --worktree EXTRA...` in `repo`, its cache in `tmp/cache`.
pub fn build(tmp: &Path, repo: &Path, extra: &[&str]) -> std::process::Output {
    super::ferry(&tmp.join("cache"))
        .current_dir(repo)
        .args(["build", "--flux", "--worktree"])
        .args(extra)
        .output()
        .expect("runs ferry")
}

/// Every file under `dir` whose text holds `needle`.
pub fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            std::fs::read(e.path())
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        })
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// `plain` (YAML) SOPS-encrypted for the CI key of testdata/flux's `.sops.yaml`, its
/// `data`/`stringData` only, as Flux's guide encrypts Secrets.
pub fn encrypt_for_ci(plain: &str) -> String {
    let ci = "age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93";
    let opts = ferry::secrets::EncryptOptions {
        recipients: vec![ferry::secrets::Recipient::parse(ci).expect("recipient")],
        selectors: ferry::secrets::sops::metadata::Selectors {
            encrypted_regex: Some("^(data|stringData)$".into()),
            ..Default::default()
        },
        mac_only_encrypted: false,
        allow_empty: false,
    };
    ferry::secrets::encrypt(plain, ferry::secrets::Format::Yaml, &opts).expect("encrypt")
}

pub type Key = (String, String, String);

pub fn key(v: &Value) -> Key {
    (
        v["kind"].as_str().unwrap_or_default().to_string(),
        v["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// The objects ferry wrote for one app of one cluster.
pub fn written(out: &Path, app: &str) -> BTreeMap<Key, Value> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(out.join(app)).expect("app dir") {
        let p = e.expect("entry").path();
        let v: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&p).expect("read")).expect("yaml");
        m.insert(key(&v), v);
    }
    m
}

/// The reference substitution: only the forms the fixture uses, by regular expression.
pub fn envsubst(text: &str, vars: &BTreeMap<&str, &str>) -> String {
    let re = regex::Regex::new(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(:=([^}]*))?\}").expect("re");
    re.replace_all(text, |c: &regex::Captures<'_>| {
        if !c[1].is_empty() {
            return format!("${{{}}}", &c[2]);
        }
        match (vars.get(&c[2]), c.get(4)) {
            (Some(v), _) if !v.is_empty() => v.to_string(),
            (_, Some(d)) => d.as_str().to_string(),
            (v, None) => v.map(|v| v.to_string()).unwrap_or_default(),
        }
    })
    .into_owned()
}

/// The real `kubectl kustomize DIR`.
pub fn kustomize(kubectl: &Path, dir: &Path) -> String {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// The production apps Kustomization of testdata/flux: its `postBuild.substitute`, and the
/// kustomization file kustomize-controller writes for it.
pub fn production_apps() -> (BTreeMap<&'static str, &'static str>, &'static str) {
    (
        [
            ("cluster_env", "production"),
            ("replicas", "3"),
            ("app_version", "6.7.1"),
        ]
        .into(),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../base/podinfo\nnamespace: podinfo-prod\nnamePrefix: prod-\npatches:\n- patch: |\n    - op: add\n      path: /spec/revisionHistoryLimit\n      value: 5\n  target:\n    kind: Deployment\nimages:\n- name: ghcr.io/stefanprodan/podinfo\n  newTag: 6.7.1\n",
    )
}

/// What Flux applies for one Kustomization: `kubectl kustomize` of `dir` in a copy of the
/// repository where `kustomization` (as kustomize-controller writes it) replaces the file,
/// then substitution and common labels per object.
pub fn reference(
    kubectl: &Path,
    repo: &Path,
    dir: &str,
    kustomization: &str,
    vars: Option<&BTreeMap<&str, &str>>,
    labels: &[(&str, &str)],
) -> BTreeMap<Key, Value> {
    let tmp = tempfile::tempdir().expect("tmp");
    super::copy_dir(repo, tmp.path());
    write(
        tmp.path(),
        &format!("{dir}/kustomization.yaml"),
        kustomization,
    );
    let text = kustomize(kubectl, &tmp.path().join(dir));
    let mut m = BTreeMap::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).expect("doc");
        let disabled =
            v["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"] == "disabled";
        let mut v = match vars {
            Some(vars) if !disabled => {
                let yaml = serde_yaml_ng::to_string(&v).expect("yaml");
                serde_yaml_ng::from_str(&envsubst(&yaml, vars)).expect("substituted yaml")
            }
            _ => v,
        };
        for (k, val) in labels {
            v["metadata"]["labels"][*k] = Value::String(val.to_string());
        }
        m.insert(key(&v), v);
    }
    m
}

pub fn assert_same(
    cluster: &str,
    app: &str,
    got: &BTreeMap<Key, Value>,
    want: &BTreeMap<Key, Value>,
) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{cluster}/{app}: the same objects"
    );
    for (k, w) in want {
        assert_eq!(&got[k], w, "{cluster}/{app}: {k:?}");
    }
}
