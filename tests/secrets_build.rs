//! `ferry build` with secrets: encrypted helm values reach helm through a pipe, encrypted
//! manifests are opened in memory, every Secret is sealed to the environment's recipients, and
//! no plaintext value (nor its base64 or sha256) is left in out/, the cache or the output.

use age::secrecy::ExposeSecret;
use base64::Engine;
use ferry::secrets::sops::metadata::Selectors;
use ferry::secrets::{self, EncryptOptions, Format, Identities, Recipient};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/gitops-peers/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

const HELM_SECRET: &str = "helm-values-s3cr3t";
const PLAIN_SECRET: &str = "plain-manifest-s3cr3t";
const KUSTOMIZE_SECRET: &str = "kustomize-pass-s3cr3t";

struct Key {
    text: String,
    recipient: String,
}

fn key() -> Key {
    let id = age::x25519::Identity::generate();
    Key {
        text: format!("{}\n", id.to_string().expose_secret()),
        recipient: id.to_public().to_string(),
    }
}

fn enc(text: &str, to: &Key, selectors: Selectors) -> String {
    let opts = EncryptOptions {
        recipients: vec![Recipient::parse(&to.recipient).expect("r")],
        selectors,
        mac_only_encrypted: false,
        allow_empty: false,
    };
    secrets::encrypt(text, Format::Yaml, &opts).expect("encrypts")
}

fn k8s() -> Selectors {
    Selectors {
        encrypted_regex: Some("^(data|stringData)$".into()),
        ..Default::default()
    }
}

/// A repository with one helm app (encrypted values), one plain app (an encrypted Secret
/// manifest) and one kustomize app (passing an encrypted Secret through).
fn repo(root: &Path, ci: &Key, cluster: &Key) {
    write(
        root,
        "ferry.yaml",
        &format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nkubeVersion: \"1.31.0\"\nenvironments:\n  prod:\n    recipients: [{}]\napps:\n  web:\n    namespace: web\n    helm:\n      chart: charts/web\n      values: [apps/web/values.yaml, apps/web/secrets.sops.yaml]\n  raw:\n    namespace: raw\n    path: apps/raw\n  kust:\n    namespace: kust\n    kustomize: apps/kust\nseal:\n  - kind: ConfigMap\n    name: ^web$\n",
            cluster.recipient
        ),
    );
    write(
        root,
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(
        root,
        "charts/web/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-db\n  annotations:\n    rotated: \"2024-01-01\"\n    count: \"1_000\"\n    flag: \"yes\"\ntype: Opaque\ndata:\n  password: {{ .Values.db.password | b64enc }}\nstringData:\n  user: {{ .Values.db.user }}\n",
    );
    write(
        root,
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  replicas: \"{{ .Values.replicas }}\"\n",
    );
    write(
        root,
        "apps/web/values.yaml",
        "replicas: 2\ndb:\n  user: app\n  password: placeholder\n",
    );
    write(
        root,
        "apps/web/secrets.sops.yaml",
        &enc(
            &format!("db:\n    password: {HELM_SECRET}\n"),
            ci,
            Selectors::default(),
        ),
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    write(
        root,
        "apps/raw/secret.yaml",
        &enc(
            &format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n    name: raw\ndata:\n    token: {}\n",
                b64(PLAIN_SECRET)
            ),
            ci,
            k8s(),
        ),
    );
    write(
        root,
        "apps/kust/kustomization.yaml",
        "resources:\n  - secret.yaml\n",
    );
    write(
        root,
        "apps/kust/secret.yaml",
        &enc(&format!("apiVersion: v1\nkind: Secret\nmetadata:\n    name: kust\nstringData:\n    key: {KUSTOMIZE_SECRET}\n"), ci, k8s()),
    );
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

fn build(root: &Path, ci_key: &Path) -> std::process::Output {
    build_with(root, ci_key, "auto")
}

/// [`build`] with `--renderer`.
fn build_with(root: &Path, ci_key: &Path, renderer: &str) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("ferry").expect("bin");
    if let Some(h) = tool("helm") {
        cmd.env("FERRY_HELM", h);
    }
    if let Some(k) = tool("kubectl") {
        cmd.env("FERRY_KUSTOMIZE", k);
    }
    cmd.args(["build", "--worktree", "--renderer", renderer, "-C"])
        .arg(root)
        .env("SOPS_AGE_KEY_FILE", ci_key)
        .env_remove("SOPS_AGE_KEY")
        .env("FERRY_CACHE_DIR", root.join(".cache"))
        .env("HOME", root)
        .env("XDG_CONFIG_HOME", root.join(".config"))
        .output()
        .expect("runs")
}

#[test]
fn build_seals_every_secret_and_leaks_nothing() {
    seals_every_secret_and_leaks_nothing("auto");
}

/// The same through the binaries: helm reads the decrypted values through a pipe.
#[test]
fn build_with_the_binaries_seals_every_secret_and_leaks_nothing() {
    seals_every_secret_and_leaks_nothing("binary");
}

fn seals_every_secret_and_leaks_nothing(renderer: &str) {
    for t in ["helm", "kubectl", "sops"] {
        if tool(t).is_none() {
            eprintln!("SKIP: `{t}` not found on PATH or in ~/.cache/gitops-peers/bin");
            return;
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    let (ci, cluster) = (key(), key());
    repo(&root, &ci, &cluster);
    let ci_file = dir.path().join("ci.txt");
    std::fs::write(&ci_file, &ci.text).expect("write");

    let first = build_with(&root, &ci_file, renderer);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(first.status.success(), "{log}");
    let out = root.join("out/prod");
    let snapshot: Vec<(PathBuf, Vec<u8>)> = files_under(&out)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).expect("read")))
        .collect();

    // Leak scan: out/, the cache and the log hold no value, base64 or sha256 of one.
    let mut haystack: Vec<(String, Vec<u8>)> = files_under(&root.join("out"))
        .into_iter()
        .chain(files_under(&root.join(".cache")))
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
        .collect();
    haystack.push(("build log".into(), log.into_bytes()));
    for secret in [HELM_SECRET, PLAIN_SECRET, KUSTOMIZE_SECRET] {
        let needles = [
            secret.to_string(),
            base64::engine::general_purpose::STANDARD.encode(secret),
            hex::encode(Sha256::digest(secret.as_bytes())),
        ];
        for (name, bytes) in &haystack {
            let text = String::from_utf8_lossy(bytes);
            for n in &needles {
                assert!(!text.contains(n.as_str()), "{name} leaks {secret} (as {n})");
            }
        }
    }

    // Every Secret is sealed for the cluster and opens with its key to the rendered value.
    let cluster_ids = Identities::from_text(&cluster.text, "cluster").expect("ids");
    let sealed: Vec<&(PathBuf, Vec<u8>)> = snapshot
        .iter()
        .filter(|(p, _)| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("secret_"))
        })
        .collect();
    assert_eq!(
        sealed.len(),
        3,
        "{:?}",
        snapshot.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    let mut opened = String::new();
    for (path, bytes) in &sealed {
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(
            text.contains("encrypted_regex: ^(data|stringData)$"),
            "{}",
            path.display()
        );
        opened.push_str(
            &secrets::decrypt(&text, Format::Yaml, &cluster_ids).expect("cluster opens it"),
        );
        // The real sops opens it too.
        let out = Command::new(tool("sops").expect("sops"))
            .args(["-d", "--input-type", "yaml", "--output-type", "yaml"])
            .arg(path)
            .env("SOPS_AGE_KEY", &cluster.text)
            .env_remove("SOPS_AGE_KEY_FILE")
            .output()
            .expect("sops runs");
        assert!(
            out.status.success(),
            "sops -d {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        opened.contains(&base64::engine::general_purpose::STANDARD.encode(HELM_SECRET)),
        "helm got the decrypted values"
    );
    assert!(opened.contains(KUSTOMIZE_SECRET));
    // A `seal:` rule seals a ConfigMap too.
    let cm =
        std::fs::read_to_string(out.join("web/configmap_web_web.yaml")).expect("configmap written");
    assert!(
        cm.contains("sops:") && cm.contains("ENC[AES256_GCM"),
        "{cm}"
    );

    // Sealing is stable: a second build writes the same bytes.
    let second = build_with(&root, &ci_file, renderer);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    for (p, bytes) in &snapshot {
        assert_eq!(
            &std::fs::read(p).expect("read"),
            bytes,
            "{} changed between builds",
            p.display()
        );
    }
}

#[test]
fn secrets_without_recipients_are_refused() {
    if tool("kubectl").is_none() && tool("kustomize").is_none() {
        eprintln!("SKIP: kubectl not found");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    write(&root, "ferry.yaml", "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  dev: {}\napps:\n  raw:\n    namespace: raw\n    path: apps/raw\n");
    write(&root, "apps/raw/s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: plain-value-never-written\n");
    let ci_file = dir.path().join("ci.txt");
    std::fs::write(&ci_file, key().text).expect("write");
    let out = build(&root, &ci_file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("recipients") && !err.contains("plain-value-never-written"),
        "{err}"
    );
    assert!(files_under(&root.join("out"))
        .iter()
        .all(|p| !std::fs::read_to_string(p)
            .unwrap_or_default()
            .contains("plain-value")));
}
