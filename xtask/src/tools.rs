//! Finding or installing the tools ferry and its tests run against.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn peers_bin() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gitops-peers/bin")
}

/// Makes sure helm and kubectl (and, for tests, every peer tool) are installed; returns the PATH
/// to run with, and whether every peer is there (then tests must not skip). With `all`, the
/// shared `install-peers.sh` installs helm, kubectl, sops, age, a registry and oras, and
/// `scripts/install-skopeo.sh` a skopeo that checks sigstore signatures; without it (a user's
/// machine), the project's own script installs helm and kubectl into `.tools/bin`.
pub fn ensure(root: &Path, all: bool) -> Result<(String, bool)> {
    let mut complete = false;
    let shared = root.join("../shared/tools/install-peers.sh");
    let mut dirs = Vec::new();
    if all && shared.is_file() {
        eprintln!("==> installing peer tools ({})", shared.display());
        crate::run(
            Command::new("bash")
                .arg(&shared)
                .env("PEERS_HELM3", "0")
                .env("PEERS_ETCD", "0"),
        )?;
        // A skopeo that checks sigstore signatures (Debian 12's cannot), into the same bin.
        eprintln!("==> installing skopeo (scripts/install-skopeo.sh)");
        crate::run(Command::new("bash").arg(root.join("scripts/install-skopeo.sh")))?;
        install_sigstore_js()?;
        dirs.push(peers_bin());
        complete = true;
    } else if peers_bin().join("helm").is_file() && peers_bin().join("kubectl").is_file() {
        dirs.push(peers_bin());
    } else {
        let out = Command::new("bash")
            .arg(root.join("scripts/install-tools.sh"))
            .output()
            .context("cannot run scripts/install-tools.sh")?;
        if !out.status.success() {
            anyhow::bail!(
                "scripts/install-tools.sh failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    let mut path: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    path.push(std::env::var("PATH").unwrap_or_default());
    Ok((path.join(":"), complete))
}

/// A peer tool by name: the shared peers directory first, then PATH.
pub fn find(name: &str) -> Option<PathBuf> {
    std::iter::once(peers_bin())
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The Sigstore JavaScript libraries the bundle interop tests run (`tests/support/sigstore_js.cjs`),
/// from the npm registry into a private prefix; `node_modules` there is what the tests put on
/// NODE_PATH. Majors pinned: the tests use their documented APIs.
pub fn sigstore_js_prefix() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gitops-peers/sigstore-js")
}

const SIGSTORE_JS: &[&str] = &[
    "@sigstore/verify@^3",
    "@sigstore/bundle@^4",
    "@sigstore/sign@^4",
];

fn install_sigstore_js() -> Result<()> {
    let prefix = sigstore_js_prefix();
    let installed = ["verify", "bundle", "sign"].iter().all(|p| {
        prefix
            .join("node_modules/@sigstore")
            .join(p)
            .join("package.json")
            .is_file()
    });
    if installed {
        return Ok(());
    }
    eprintln!(
        "==> installing {} into {}",
        SIGSTORE_JS.join(" "),
        prefix.display()
    );
    std::fs::create_dir_all(&prefix)
        .with_context(|| format!("cannot create {}", prefix.display()))?;
    crate::run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .args(SIGSTORE_JS),
    )
    .context("npm install of the Sigstore JavaScript libraries (is node/npm installed?)")
}
