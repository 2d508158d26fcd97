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
