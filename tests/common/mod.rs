//! Shared test helpers: the peer tools, the corpus, throwaway Git repositories.
#![allow(dead_code)]

pub mod flux;
pub mod oras;
pub mod registry;
pub mod rng;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `install-peers.sh` puts the real tools.
pub fn peers_bin() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gitops-peers/bin")
}

/// PATH with the peer tools first (the image's own kubectl is a different version).
pub fn test_path() -> String {
    let mut parts = vec![peers_bin().display().to_string()];
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin");
    parts.push(tools.display().to_string());
    parts.push(std::env::var("PATH").unwrap_or_default());
    parts.join(":")
}

/// Set by `cargo xtask test` after it installed every peer tool: then a missing tool or corpus
/// is a failure, since a skip there would hide a regression.
pub fn peers_required() -> bool {
    std::env::var_os("FERRY_REQUIRE_PEERS").is_some_and(|v| v == "1")
}

/// The path of a peer tool, or `None` (and a SKIP line) when it is not installed.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    for dir in std::env::split_paths(&test_path()) {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    if peers_required() {
        panic!("{name} is not installed, and FERRY_REQUIRE_PEERS=1 asks for every peer (run ../shared/tools/install-peers.sh)");
    }
    eprintln!("SKIP: {name} is not installed (run ../shared/tools/install-peers.sh)");
    None
}

/// The differential-testing corpus beside the repository, if present.
pub fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("FERRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if p.join("cases.tsv").is_file() {
        return Some(p);
    }
    if peers_required() {
        panic!("the corpus is missing at {}", p.display());
    }
    eprintln!("SKIP: no corpus at {}", p.display());
    None
}

/// The `ferry` binary with the test PATH and an isolated cache.
pub fn ferry(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
    c.env("PATH", test_path())
        .env("FERRY_CACHE_DIR", cache)
        .env_remove("FERRY_HELM")
        .env_remove("FERRY_KUSTOMIZE")
        .env_remove("FERRY_OFFLINE")
        .env_remove("SOPS_AGE_KEY")
        .env("SOPS_AGE_KEY_FILE", example_key("ci"))
        // Keys come only from what a test passes.
        .env_remove("FERRY_SIGNING_KEY")
        .env_remove("FERRY_VERIFY_KEY")
        .env_remove("FERRY_COSIGN_KEY")
        .env("NO_COLOR", "1");
    c
}

/// A demo identity of the bundled example: `ci` (the CI's, which opens the repository's
/// secrets and seals) or `cluster` (what `ferry apply` opens sealed Secrets with).
pub fn example_key(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/platform/keys/{which}.agekey"))
}

pub fn git(dir: &Path, args: &[&str]) {
    git_output(dir, args);
}

/// Runs git and returns its stdout.
pub fn git_output(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "ferry test")
        .env("GIT_AUTHOR_EMAIL", "test@ferry.dev")
        .env("GIT_COMMITTER_NAME", "ferry test")
        .env("GIT_COMMITTER_EMAIL", "test@ferry.dev")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(from).expect("under root");
        if rel.starts_with("out") {
            continue;
        }
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// A new Git repository holding a copy of the bundled example, committed on `main`.
pub fn example_repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform"),
        d.path(),
    );
    git(d.path(), &["init", "-q", "-b", "main"]);
    commit_all(d.path(), "example");
    d
}

pub fn commit_all(dir: &Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", msg]);
}

/// Every file under `dir` with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("under dir")
                .display()
                .to_string();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect();
    v.sort();
    v
}

/// The stdout of `ferry ARGS` that had to succeed (its stderr is the panic message otherwise).
pub fn succeeded(args: &[&str], out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "ferry {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stderr of `ferry ARGS` that had to fail with exit code 2 (a refused input).
pub fn refused(args: &[&str], out: std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "ferry {args:?} should fail:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Reads an HTTP/1.1 request's head from a test server's connection: the request target and
/// the `Authorization` header's value (empty when absent). `None` when nothing readable came.
pub fn read_request_head(stream: &std::net::TcpStream) -> Option<(String, String)> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = v.trim().to_string();
            }
        }
    }
    Some((target, auth))
}

/// Writes `text` to `root/file`, creating its directories.
pub fn write_file(root: &Path, file: &str, text: &str) {
    let p = root.join(file);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// A fresh age identity: (secret key text, recipient).
pub fn age_key() -> (String, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    (
        id.to_string().expose_secret().to_string(),
        id.to_public().to_string(),
    )
}

/// A short hex suffix that differs between runs, for names on the shared live cluster.
pub fn unique_id() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            % 0xfffff
    )
}

/// A CA made with an EC key on P-384 (its PEM in base64), which helm signs and the native
/// renderer refuses (it has P-256 only).
pub const P384_CA: &str = "{{ genCAWithKey \"x\" 3 (b64dec \"LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1ENENBUUVFTUFFQkFRRUJBUUVCQVFFQkFRRUJBUUVCQVFFQkFRRUJBUUVCQVFFQkFRRUJBUUVCQVFFQkFRRUJBUUVCQVFFQkFhQUhCZ1VyZ1FRQUlnPT0KLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=\") | typeOf | quote }}";

/// The real helm with its state under `home`, in `cwd`; must succeed.
pub fn helm(args: &[&str], cwd: &Path, home: &Path) {
    let out = Command::new("helm")
        .args(args)
        .current_dir(cwd)
        .env("PATH", test_path())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("helm");
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
