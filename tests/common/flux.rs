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
