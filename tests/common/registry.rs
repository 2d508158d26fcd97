//! A throwaway OCI registry (CNCF distribution) on loopback, started by
//! `../shared/tools/registry.sh`, and a signing key pair made by `ferry keygen`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("FERRY_REGISTRY_SH").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/registry.sh")),
        Some(PathBuf::from("/work/shared/tools/registry.sh")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.is_file());
    if found.is_none() {
        if super::peers_required() {
            panic!("registry.sh is missing");
        }
        eprintln!("SKIP: ../shared/tools/registry.sh not found");
    }
    found
}

/// Stopped when dropped.
pub struct Registry {
    dir: tempfile::TempDir,
    script: PathBuf,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    htpasswd: Option<String>,
}

impl Registry {
    /// `None` (after a SKIP line) when the registry or its script is not installed.
    pub fn start() -> Option<Registry> {
        Registry::start_with(None)
    }

    /// With `USER:PASSWORD` for htpasswd authentication.
    pub fn start_with(htpasswd: Option<&str>) -> Option<Registry> {
        let script = script()?;
        super::require_tool("docker-registry")?;
        let mut r = Registry {
            dir: tempfile::tempdir().expect("tempdir"),
            script,
            addr: String::new(),
            htpasswd: htpasswd.map(str::to_string),
        };
        r.addr = r.run_start(None);
        Some(r)
    }

    fn run_start(&self, port: Option<&str>) -> String {
        let mut c = Command::new("bash");
        c.arg(&self.script)
            .arg("start")
            .arg(self.dir.path())
            .env("PATH", super::test_path());
        if let Some(p) = port {
            c.args(["--port", p]);
        }
        if let Some(h) = &self.htpasswd {
            c.args(["--htpasswd", h]);
        }
        let out = c.output().expect("registry.sh");
        assert!(
            out.status.success(),
            "registry start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn stop(&self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }

    /// Starts it again on the same port, with the same storage.
    pub fn restart(&self) {
        let port = self.addr.rsplit(':').next().expect("port").to_string();
        assert_eq!(self.run_start(Some(&port)), self.addr);
    }

    /// Where its state lives.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The file holding a blob in the registry's storage, to tamper with.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The password of every test key.
pub const PASSWORD: &str = "test-only-password";

/// `ferry` for registry tests: the test PATH, an isolated cache and Docker config, the key
/// password, and no registry credentials from the environment it runs in.
pub fn ferry(tmp: &Path) -> Command {
    std::fs::create_dir_all(tmp.join("docker")).expect("mkdir");
    let mut c = super::ferry(&tmp.join("cache"));
    c.env("DOCKER_CONFIG", tmp.join("docker"))
        .env("COSIGN_PASSWORD", PASSWORD)
        .env_remove("FERRY_REGISTRY_CREDS");
    c
}

/// `DIR/NAME.key` and `DIR/NAME.pub`, made by `ferry keygen --signing`.
pub fn keygen(tmp: &Path, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let out = ferry(tmp)
        .args(["keygen", "--signing", "-q", "-o"])
        .arg(dir.join(name))
        .output()
        .expect("ferry keygen");
    assert!(
        out.status.success(),
        "keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    )
}

/// Pushes one small image manifest per tag to `addr/repo` (each names its tag, so each has its
/// own digest), with `USER, PASSWORD` if given (Basic or the token flow, as the registry asks);
/// returns each tag's digest.
pub fn push_image_tags(
    addr: &str,
    repo: &str,
    tags: &[String],
    creds: Option<(&str, &str)>,
) -> std::collections::BTreeMap<String, String> {
    use ferry::artifact::{oci, ArtifactRef, RegistryOptions};
    use sha2::{Digest, Sha256};
    let r = ArtifactRef::parse(&format!("{addr}/{repo}:x")).expect("ref");
    let mut opts = RegistryOptions::new();
    opts.credentials = creds.map(|(u, p)| ferry::artifact::auth::Credentials {
        username: u.into(),
        password: p.into(),
    });
    let reg = oci::Registry::connect(&r, "test push", &opts).expect("connect");
    let config = b"{}".to_vec();
    let layer = b"a small layer".to_vec();
    reg.push_blob(&r, &config).expect("config blob");
    reg.push_blob(&r, &layer).expect("layer blob");
    let d = |b: &[u8]| format!("sha256:{}", hex::encode(Sha256::digest(b)));
    let mut out = std::collections::BTreeMap::new();
    for t in tags {
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(&config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d(&layer), "size": layer.len()}],
            "annotations": {"test.tag": t},
        });
        let bytes = serde_json::to_vec(&manifest).expect("json");
        reg.push_manifest(
            &r.with_tag(t),
            &bytes,
            "application/vnd.oci.image.manifest.v1+json",
        )
        .expect("push manifest");
        out.insert(t.clone(), d(&bytes));
    }
    out
}
