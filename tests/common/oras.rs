//! Flux source artifacts pushed by the real oras (`oci-artifact`, oras-py), as
//! `flux push artifact` writes them: a tar+gzip content layer and Flux's config media type.

use std::path::Path;
use std::process::Command;

pub const CONTENT: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
pub const CONFIG: &str = "application/vnd.cncf.flux.config.v1+json";

/// A tar+gzip of `dir`'s `apps/`, written as `file`.
pub fn tgz(dir: &Path, file: &Path) {
    let st = Command::new("tar")
        .arg("czf")
        .arg(file)
        .arg("-C")
        .arg(dir)
        .arg("apps")
        .status()
        .expect("tar");
    assert!(st.success());
}

/// Pushes `layers` (`FILE:MEDIATYPE`, relative to `work`) with Flux's config media type, as
/// `flux push artifact`; the manifest digest.
pub fn push(tool: &Path, work: &Path, reference: &str, layers: &[String]) -> String {
    let config = work.join("config.json");
    std::fs::write(&config, "{}").expect("config");
    let out = Command::new(tool)
        .current_dir(work)
        .arg("push")
        .arg(reference)
        .args(layers)
        .arg("--config")
        .arg(format!("{}:{CONFIG}", config.display()))
        .output()
        .expect("oci-artifact");
    assert!(
        out.status.success(),
        "push {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Signs `addr/repo@digest` with `key` in `format`, as `ferry push --key` does.
pub fn sign(
    addr: &str,
    repo: &str,
    digest: &str,
    key: &ferry::artifact::sign::SigningKey,
    format: ferry::artifact::sign::SignatureFormat,
) {
    use ferry::artifact::{oci::Registry, ArtifactRef, RegistryOptions};
    let r = ArtifactRef::parse(&format!("oci://{addr}/{repo}@{digest}")).expect("ref");
    let client = Registry::connect(&r, "test", &RegistryOptions::default()).expect("client");
    let (manifest, _) = client.manifest(&r).expect("manifest");
    ferry::artifact::push::sign_pushed(&client, &r, (digest, manifest.len()), key, format)
        .expect("sign");
}

/// The digest of the manifest `addr/repo:tag`.
pub fn digest_of(addr: &str, repo: &str, tag: &str) -> String {
    use ferry::artifact::{oci::Registry, ArtifactRef, RegistryOptions};
    let r = ArtifactRef::parse(&format!("oci://{addr}/{repo}:{tag}")).expect("ref");
    let client = Registry::connect(&r, "test", &RegistryOptions::default()).expect("client");
    client.manifest(&r).expect("manifest").1
}

/// The apps of testdata/flux as artifact content under `tmp/content` (returned), packed as
/// `work/good.tgz`, and a copy packed as `work/broken.tgz` whose `broken` directories'
/// kustomizations name a missing file, so building it fails.
pub fn content_and_broken(tmp: &Path, work: &Path, broken: &[&str]) -> std::path::PathBuf {
    let content = tmp.join("content");
    super::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/flux/apps"),
        &content.join("apps"),
    );
    tgz(&content, &work.join("good.tgz"));
    let copy = tmp.join("broken");
    super::copy_dir(&content, &copy);
    for dir in broken {
        super::flux::write(
            &copy,
            &format!("{dir}/kustomization.yaml"),
            "resources: [missing.yaml]\n",
        );
    }
    tgz(&copy, &work.join("broken.tgz"));
    content
}

/// ferry in `repo` for registry tests (see `super::registry::ferry`).
pub fn run(tmp: &Path, repo: &Path, args: &[&str]) -> std::process::Output {
    super::registry::ferry(tmp)
        .current_dir(repo)
        .args(args)
        .output()
        .expect("runs ferry")
}

/// [`run`], which must succeed.
pub fn run_ok(tmp: &Path, repo: &Path, args: &[&str]) -> std::process::Output {
    let out = run(tmp, repo, args);
    assert!(
        out.status.success(),
        "ferry {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`run`], which must fail with exit code 2: its stderr.
pub fn run_refused(tmp: &Path, repo: &Path, args: &[&str]) -> String {
    let out = run(tmp, repo, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "ferry {args:?}: {err}");
    err
}

/// `ferry build --flux --worktree --offline`, which must fail with exit code 2: its stderr.
pub fn refused_build(tmp: &Path, repo: &Path) -> String {
    run_refused(tmp, repo, &["build", "--flux", "--worktree", "--offline"])
}

/// `ferry vendor --flux --offline` again: everything is `present` (`count` entries) and
/// ferry.lock is left as it was.
pub fn revendor_offline(tmp: &Path, repo: &Path, count: usize) {
    let before = std::fs::read_to_string(repo.join("ferry.lock")).expect("lock");
    let out = run_ok(
        tmp,
        repo,
        &["vendor", "--flux", "--offline", "--output", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["present"].as_array().map(Vec::len),
        Some(count),
        "{report}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("ferry.lock")).expect("lock"),
        before
    );
}
