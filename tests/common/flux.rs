//! The Flux repository under testdata/flux, copied for a test, and `ferry build --flux` on it.

use std::path::{Path, PathBuf};

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
