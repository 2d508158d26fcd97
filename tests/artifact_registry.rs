//! `ferry push`, `pull` and `verify` against a real registry (CNCF distribution, started by
//! `../shared/tools/registry.sh`), read back by another tool (`oci-artifact`, oras-py) and `tar`;
//! tampering of every part done on the registry's own storage; skopeo where it can check sigstore
//! signatures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::registry::Registry;
use common::test_path;

fn tool(name: &str) -> Option<PathBuf> {
    common::require_tool(name)
}

/// The test's world: an isolated Docker config, a password, the ferry binary.
struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(tmp.path().join("docker")).expect("mkdir");
        World { tmp }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn ferry(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
        c.env("PATH", test_path())
            .env("FERRY_CACHE_DIR", self.path("cache"))
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("COSIGN_PASSWORD", "test-only-password")
            .env("NO_COLOR", "1")
            .env_remove("FERRY_OFFLINE")
            .env_remove("FERRY_REGISTRY_CREDS")
            .env_remove("FERRY_SIGNING_KEY")
            .env_remove("FERRY_VERIFY_KEY");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.ferry().args(args).output().expect("ferry runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(args, self.run(args))
    }

    /// Fails, with exit code 2; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        common::refused(args, self.run(args))
    }

    /// `cosign.key` / `cosign.pub` (and `other.key` / `other.pub`) made by `ferry keygen`.
    fn keys(&self) -> (String, String) {
        for name in ["cosign", "other"] {
            if !self.path(&format!("{name}.key")).exists() {
                self.ok(&[
                    "keygen",
                    "--signing",
                    "-q",
                    "-o",
                    self.path(name).to_str().expect("utf8"),
                ]);
            }
        }
        (
            self.path("cosign.key").display().to_string(),
            self.path("cosign.pub").display().to_string(),
        )
    }

    /// A hand-made build output with an index.json listing every file with its digest, like
    /// `ferry build` writes (push refuses a directory whose files and index disagree).
    fn env_dir(&self, name: &str, commit: &str) -> PathBuf {
        let root = self.path(name);
        let env = root.join("out/staging");
        let mut apps = serde_json::Map::new();
        for (app, path, api_version, kind, namespace, text) in [
            (
                "podinfo",
                "podinfo/deployment.apps_podinfo_podinfo.yaml",
                "apps/v1",
                "Deployment",
                Some("podinfo"),
                "apiVersion: apps/v1\nkind: Deployment\n",
            ),
            (
                "namespaces",
                "namespaces/namespace_podinfo.yaml",
                "v1",
                "Namespace",
                None,
                "apiVersion: v1\nkind: Namespace\n",
            ),
        ] {
            let file = env.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(&file, text).expect("write");
            let digest = format!(
                "sha256:{}",
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
            );
            let mut object = serde_json::json!({"apiVersion": api_version, "kind": kind,
                "name": "podinfo", "path": path, "digest": digest});
            if let Some(ns) = namespace {
                object["namespace"] = ns.into();
            }
            apps.insert(
                app.into(),
                serde_json::json!({"renderer": "plain", "namespace": namespace,
                    "inputDigest": "sha256:00", "inputs": {}, "objects": [object]}),
            );
        }
        let index = serde_json::json!({
            "apiVersion": "ferry.dev/v1alpha1",
            "kind": "BuildIndex",
            "environment": "staging",
            "source": {"revision": format!("main@sha1:{commit}"), "commit": commit, "branch": "main", "created": "2026-01-02T03:04:05Z", "worktree": false},
            "apps": apps,
        });
        std::fs::write(
            env.join("index.json"),
            serde_json::to_string_pretty(&index).expect("json"),
        )
        .expect("write");
        root
    }
}

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path()
                    .strip_prefix(dir)
                    .expect("under")
                    .display()
                    .to_string(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

fn push_json(w: &World, repo_root: &Path, target: &str, extra: &[&str]) -> serde_json::Value {
    let root = repo_root.to_str().expect("utf8");
    let mut args = vec![
        "-C",
        root,
        "push",
        "staging",
        "--to",
        target,
        "--source",
        "https://git.example/platform",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = w.ok(&args);
    let v: serde_json::Value = serde_json::from_str(&out).expect("push --output json");
    v[0]["push"].clone()
}

fn oci_artifact(args: &[&str]) -> Output {
    Command::new("oci-artifact")
        .args(args)
        .env("PATH", test_path())
        .output()
        .expect("oci-artifact runs")
}

#[test]
fn push_is_read_by_oras_and_tar_and_pulls_back_verified() {
    let Some(reg) = Registry::start() else {
        return;
    };
    if tool("oci-artifact").is_none() {
        return;
    }
    let w = World::new();
    let (key, public) = w.keys();
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    let report = push_json(&w, &root, &target, &["--key", &key]);
    let digest = report["digest"].as_str().expect("digest").to_string();
    assert_eq!(report["tags"], serde_json::json!(["0123456", "latest"]));
    assert!(report["signature"]
        .as_str()
        .expect("signed")
        .ends_with(&format!("{}.sig", digest.replace(':', "-"))));

    // Another tool sees Flux's media types and the provenance annotations.
    let out = oci_artifact(&[
        "manifest",
        &format!("{}/platform/staging:0123456", reg.addr),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest json");
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.cncf.flux.config.v1+json"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.cncf.flux.content.v1.tar+gzip"
    );
    assert_eq!(
        m["annotations"]["org.opencontainers.image.revision"],
        format!("main@sha1:{COMMIT}")
    );
    assert_eq!(
        m["annotations"]["org.opencontainers.image.created"],
        "2026-01-02T03:04:05Z"
    );
    assert_eq!(
        m["annotations"]["org.opencontainers.image.source"],
        "https://git.example/platform"
    );

    // oras pulls the layer; plain tar unpacks it into exactly out/staging.
    let pulled = w.path("oras");
    let out = oci_artifact(&[
        "pull",
        &format!("{}/platform/staging:latest", reg.addr),
        pulled.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let layer = std::fs::read_dir(&pulled)
        .expect("ls")
        .next()
        .expect("one layer")
        .expect("entry")
        .path();
    let untarred = w.path("untarred");
    std::fs::create_dir_all(&untarred).expect("mkdir");
    let st = Command::new("tar")
        .arg("-xzf")
        .arg(&layer)
        .arg("-C")
        .arg(&untarred)
        .status()
        .expect("tar");
    assert!(st.success());
    assert_eq!(snapshot(&untarred), snapshot(&root.join("out/staging")));

    // ferry verifies and pulls by tag and by digest.
    let out = w.ok(&["verify", &format!("{target}:latest"), "--key", &public]);
    assert!(out.trim().ends_with(&digest), "{out}");
    let dest = w.path("pulled");
    w.ok(&[
        "pull",
        &format!("{target}@{digest}"),
        "-o",
        dest.to_str().expect("utf8"),
        "--key",
        &public,
    ]);
    assert_eq!(snapshot(&dest), snapshot(&root.join("out/staging")));

    // A second push of the same thing uploads nothing and signs nothing new.
    let again = push_json(&w, &root, &target, &["--key", &key]);
    assert_eq!(again["digest"], report["digest"]);
    assert_eq!(again["uploadedBlobs"], 0);
}

#[test]
fn same_commit_same_digest_across_umask_tz_and_temp_dirs() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let one = w.env_dir("one", COMMIT);
    let two = w.env_dir("elsewhere/two", COMMIT);
    // Different modes and times on disk must not matter.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            two.join("out/staging/index.json"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
    }
    let target = format!("oci://{}/platform/staging", reg.addr);
    let first = push_json(&w, &one, &target, &["--tag", "a"]);
    // A fresh process under another umask, time zone and temp dir.
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 077; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "-C",
            two.to_str().expect("utf8"),
            "push",
            "staging",
            "--to",
            &target,
            "--tag",
            "b",
        ])
        .args([
            "--source",
            "https://git.example/platform",
            "--output",
            "json",
        ])
        .env("PATH", test_path())
        .env("DOCKER_CONFIG", w.path("docker"))
        .env("TZ", "Pacific/Kiritimati")
        .env("TMPDIR", w.path("elsewhere"))
        .output()
        .expect("ferry");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(first["digest"], second[0]["push"]["digest"]);
    // Another commit is another artifact.
    let three = w.env_dir("three", "fedcba9876543210fedcba9876543210fedcba98");
    let third = push_json(&w, &three, &target, &["--tag", "c"]);
    assert_ne!(first["digest"], third["digest"]);
}

/// Replaces a blob's bytes in the registry's storage (same length), and gives a way back.
struct Tamper {
    file: PathBuf,
    original: Vec<u8>,
}

impl Tamper {
    fn blob(reg: &Registry, digest: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Tamper {
        let file = reg.blob_file(digest);
        let original = std::fs::read(&file).expect("blob in storage");
        let mut changed = original.clone();
        edit(&mut changed);
        std::fs::write(&file, &changed).expect("tamper");
        Tamper { file, original }
    }
}

impl Drop for Tamper {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.file, &self.original);
    }
}

fn flip_last(b: &mut [u8]) {
    let n = b.len() - 1;
    b[n] ^= 1;
}

#[test]
fn tampering_and_wrong_keys_are_refused_and_nothing_is_unpacked() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let (key, public) = w.keys();
    let other = w.path("other.pub").display().to_string();
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    // The v2 format only: a valid bundle beside it would (rightly) still verify once the .sig
    // is tampered with. Bundles have their own cases in tests/artifact_sigstore.rs.
    let report = push_json(
        &w,
        &root,
        &target,
        &["--key", &key, "--signature-format", "v2"],
    );
    let digest = report["digest"].as_str().expect("digest").to_string();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reg.blob_file(&digest)).expect("manifest blob"))
            .expect("json");
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .to_string();
    let config = manifest["config"]["digest"]
        .as_str()
        .expect("config")
        .to_string();
    let latest = format!("{target}:latest");
    let dest = w.path("dest");
    let d = dest.to_str().expect("utf8");

    let refused = |args: &[&str], want: &str| {
        let err = w.fails(args);
        assert!(err.contains(want), "{args:?}: want {want:?} in:\n{err}");
        assert!(!dest.exists(), "{args:?}: nothing may be unpacked");
    };
    refused(
        &["pull", &latest, "-o", d, "--key", &other],
        "no signature on",
    );
    refused(&["pull", &latest, "-o", d], "no public key");
    {
        let _t = Tamper::blob(&reg, &layer, |b| flip_last(b));
        refused(&["pull", &latest, "-o", d, "--key", &public], "refusing it");
        // Skipping the signature never skips the digests.
        refused(
            &["pull", &latest, "-o", d, "--insecure-skip-verify"],
            "refusing it",
        );
    }
    {
        let _t = Tamper::blob(&reg, &config, |b| flip_last(b));
        refused(&["pull", &latest, "-o", d, "--key", &public], "refusing it");
    }
    {
        // The manifest the tag points at now says something else: its digest is not the signed one.
        let _t = Tamper::blob(&reg, &digest, |b| {
            let s = String::from_utf8(b.clone())
                .expect("utf8")
                .replace("2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z");
            *b = s.into_bytes();
        });
        // The registry's Docker-Content-Digest header still names the signed digest: refused on
        // that mismatch, or (without the header) for want of a signature on the new digest.
        let err = w.fails(&["pull", &latest, "-o", d, "--key", &public]);
        assert!(
            err.contains("refusing it") || err.contains("has no cosign signature"),
            "{err}"
        );
        assert!(!dest.exists());
        refused(
            &[
                "pull",
                &format!("{target}@{digest}"),
                "-o",
                d,
                "--key",
                &public,
            ],
            "refusing it",
        );
    }
    {
        // A changed signature (same length) in the .sig manifest.
        let (bytes, _) = sig_manifest(&reg, &digest);
        let mut m: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let sig = m["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .expect("sig")
            .to_string();
        let mut raw = base64_decode(&sig);
        let n = raw.len() - 1;
        raw[n] ^= 1;
        m["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"] =
            base64_encode(&raw).into();
        put_manifest(
            &reg,
            &format!("{}.sig", digest.replace(':', "-")),
            &serde_json::to_vec(&m).expect("json"),
        );
        refused(&["verify", &latest, "--key", &public], "no signature on");
        refused(
            &["pull", &latest, "-o", d, "--key", &public],
            "no signature on",
        );
        put_manifest(&reg, &format!("{}.sig", digest.replace(':', "-")), &bytes);
    }
    // Untouched, it pulls.
    w.ok(&["pull", &latest, "-o", d, "--key", &public]);
}

fn sig_manifest(reg: &Registry, digest: &str) -> (Vec<u8>, String) {
    let url = format!(
        "http://{}/v2/platform/staging/manifests/{}.sig",
        reg.addr,
        digest.replace(':', "-")
    );
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            &url,
        ])
        .output()
        .expect("curl");
    assert!(out.status.success(), "GET {url}");
    (out.stdout, url)
}

fn put_manifest(reg: &Registry, tag: &str, body: &[u8]) {
    let file = reg.dir().join("put.json");
    std::fs::write(&file, body).expect("write");
    let url = format!("http://{}/v2/platform/staging/manifests/{tag}", reg.addr);
    let st = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data-binary",
        ])
        .arg(format!("@{}", file.display()))
        .arg(&url)
        .status()
        .expect("curl");
    assert!(st.success(), "PUT {url}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn malicious_artifact_from_another_tool_is_refused() {
    let Some(reg) = Registry::start() else {
        return;
    };
    if tool("oci-artifact").is_none() {
        return;
    }
    let w = World::new();
    // An artifact in Flux's format whose tarball climbs out of its directory.
    let raw = w.path("evil.tar");
    let mut tar = Vec::new();
    let mut h = [0u8; 512];
    let name = b"../escaped.yaml";
    h[..name.len()].copy_from_slice(name);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(b"00000000004");
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    tar.extend_from_slice(&h);
    tar.extend_from_slice(b"evil");
    tar.resize(1024 + 1024, 0);
    std::fs::write(&raw, &tar).expect("write");
    let st = Command::new("gzip")
        .arg("-kn")
        .arg(&raw)
        .status()
        .expect("gzip");
    assert!(st.success());
    let config = w.path("config.json");
    std::fs::write(&config, "{}").expect("write");
    let reference = format!("{}/platform/evil:v1", reg.addr);
    let out = oci_artifact(&[
        "push",
        &reference,
        &format!(
            "{}.gz:application/vnd.cncf.flux.content.v1.tar+gzip",
            raw.display()
        ),
        "--config",
        &format!(
            "{}:application/vnd.cncf.flux.config.v1+json",
            config.display()
        ),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dest = w.path("dest");
    let err = w.fails(&[
        "pull",
        &format!("oci://{reference}"),
        "-o",
        dest.to_str().expect("utf8"),
        "--insecure-skip-verify",
    ]);
    assert!(err.contains("climbs out of its directory"), "{err}");
    assert!(!dest.exists());
    assert!(!w.path("escaped.yaml").exists());
    // And it is unsigned: without the explicit switch it is refused before any download.
    let err = w.fails(&[
        "pull",
        &format!("oci://{reference}"),
        "-o",
        dest.to_str().expect("utf8"),
        "--key",
        &w.keys().1,
    ]);
    assert!(err.contains("has no cosign signature"), "{err}");
}

#[test]
fn htpasswd_registry_takes_creds_and_docker_config() {
    let Some(reg) = Registry::start_with(Some("ferry:s3cret")) else {
        return;
    };
    let w = World::new();
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    let r = root.to_str().expect("utf8");
    let err = w.fails(&["-C", r, "push", "staging", "--to", &target]);
    assert!(
        err.contains("access denied") && err.contains("--creds"),
        "{err}"
    );
    let err = w.fails(&[
        "-C",
        r,
        "push",
        "staging",
        "--to",
        &target,
        "--creds",
        "ferry:wrong",
    ]);
    assert!(err.contains("access denied"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password must never be printed: {err}"
    );
    let out = w.ok(&[
        "-C",
        r,
        "push",
        "staging",
        "--to",
        &target,
        "--creds",
        "ferry:s3cret",
    ]);
    let digest = out.trim().rsplit('@').next().expect("digest").to_string();
    // Docker's config.json, as `docker login` leaves it.
    let auth = base64_encode(b"ferry:s3cret");
    std::fs::write(
        w.path("docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .expect("write");
    let out = w.ok(&[
        "verify",
        &format!("{target}:latest"),
        "--insecure-skip-verify",
    ]);
    assert!(out.contains(&digest), "{out}");
    // A credential helper (`credsStore`), as Docker Desktop and cloud CLIs configure.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bin = w.path("helpers");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let helper = bin.join("docker-credential-ferrytest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread host\n[ \"$1\" = get ] || exit 1\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"ferry\",\"Secret\":\"s3cret\"}' \"$host\"\n",
        )
        .expect("write");
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::write(
            w.path("docker/config.json"),
            r#"{"credsStore":"ferrytest"}"#,
        )
        .expect("write");
        let out = w
            .ferry()
            .args([
                "verify",
                &format!("{target}:latest"),
                "--insecure-skip-verify",
            ])
            .env("PATH", format!("{}:{}", bin.display(), test_path()))
            .output()
            .expect("ferry");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(&digest));
    }
}

#[test]
fn offline_refuses_every_network_access() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    let r = root.to_str().expect("utf8");
    let err = w.fails(&["--offline", "-C", r, "push", "staging", "--to", &target]);
    assert!(err.contains("offline"), "{err}");
    let out = w
        .ferry()
        .args(["-C", r, "push", "staging", "--to", &target])
        .env("FERRY_OFFLINE", "1")
        .output()
        .expect("ferry");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FERRY_OFFLINE"));
    let err = w.fails(&[
        "--offline",
        "verify",
        &format!("{target}:latest"),
        "--insecure-skip-verify",
    ]);
    assert!(err.contains("offline"), "{err}");
    // Nothing reached the registry.
    let out = Command::new("curl")
        .args(["-s", &format!("http://{}/v2/_catalog", reg.addr)])
        .output()
        .expect("curl");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("platform"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn registry_down_is_a_clear_error_no_tag_moves_and_a_rerun_completes() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let (key, public) = w.keys();
    let target = format!("oci://{}/platform/staging", reg.addr);
    let old = push_json(&w, &w.env_dir("old", COMMIT), &target, &["--key", &key]);
    reg.stop();
    let new_root = w.env_dir("new", "fedcba9876543210fedcba9876543210fedcba98");
    let r = new_root.to_str().expect("utf8");
    let err = w.fails(&["-C", r, "push", "staging", "--to", &target, "--key", &key]);
    assert!(err.contains(&reg.addr) && err.contains("attempts"), "{err}");
    reg.restart();
    // `latest` still names the old, complete artifact.
    let out = w.ok(&["verify", &format!("{target}:latest"), "--key", &public]);
    assert!(
        out.contains(old["digest"].as_str().expect("digest")),
        "{out}"
    );
    let new = push_json(&w, &new_root, &target, &["--key", &key]);
    let out = w.ok(&["verify", &format!("{target}:latest"), "--key", &public]);
    assert!(
        out.contains(new["digest"].as_str().expect("digest")),
        "{out}"
    );
}

/// skopeo with sigstore support: `scripts/install-skopeo.sh` puts Debian 13's (1.18) beside the
/// peers, since Debian 12's 1.9.3 is built without it. `None` after a SKIP line; with
/// `FERRY_REQUIRE_PEERS=1` a missing skopeo is a failure.
fn skopeo() -> Option<PathBuf> {
    if let Some(p) = which("skopeo") {
        return Some(p);
    }
    if common::peers_required() {
        panic!("skopeo is not installed, and FERRY_REQUIRE_PEERS=1 asks for every peer (run scripts/install-skopeo.sh)");
    }
    eprintln!("SKIP: skopeo is not installed (run scripts/install-skopeo.sh)");
    None
}

/// True (after a SKIP line) when this skopeo was built without sigstore, as Debian 12's is: its
/// `sigstoreSigned` policies fail with "sigstore disabled", and `standalone-verify` checks only
/// OpenPGP signatures, so nothing in it can check a cosign signature. With
/// `FERRY_REQUIRE_PEERS=1` that is a failure.
fn sigstore_disabled(stderr: &str) -> bool {
    if !stderr.contains("sigstore disabled") {
        return false;
    }
    if common::peers_required() {
        panic!("this skopeo cannot check sigstore signatures, and FERRY_REQUIRE_PEERS=1 asks for one that can (run scripts/install-skopeo.sh): {}", stderr.trim());
    }
    eprintln!(
        "SKIP: this skopeo cannot check sigstore signatures (run scripts/install-skopeo.sh): {}",
        stderr.trim()
    );
    true
}

/// `skopeo` with `policy` as its policy and a registries.d that reads and writes sigstore
/// signatures as cosign does (`sha256-<hex>.sig` tags), nothing from `/etc/containers`.
fn skopeo_with(w: &World, skopeo: &Path, policy: &serde_json::Value) -> Command {
    let dir = w.path("registries.d");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("default.yaml"),
        "default-docker:\n  use-sigstore-attachments: true\n",
    )
    .expect("write");
    let file = w.path("policy.json");
    std::fs::write(&file, policy.to_string()).expect("write");
    let mut c = Command::new(skopeo);
    c.env("PATH", test_path())
        .env("DOCKER_CONFIG", w.path("docker"))
        .env("REGISTRY_AUTH_FILE", w.path("docker/config.json"))
        .arg("--policy")
        .arg(file)
        .arg("--registries.d")
        .arg(dir);
    c
}

/// A policy that accepts images from `repository` signed by `pubkey` (a `sigstoreSigned`
/// requirement with `identity`, e.g. `matchRepoDigestOrExact`, the default), `dir:`
/// destinations, and nothing else.
fn sigstore_policy(repository: &str, pubkey: &str, identity: &str) -> serde_json::Value {
    serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {repository: [{"type": "sigstoreSigned", "keyPath": pubkey, "signedIdentity": {"type": identity}}]},
            "dir": {"": [{"type": "insecureAcceptAnything"}]}
        }
    })
}

/// What both skopeo tests start from: a registry, skopeo, and an artifact ferry pushed and
/// signed to `<registry>/platform/staging`.
struct SignedPush {
    reg: Registry,
    skopeo: PathBuf,
    w: World,
    public: String,
    digest: String,
}

/// `None` (after saying SKIP) when the registry or skopeo is missing.
fn signed_push() -> Option<SignedPush> {
    let reg = Registry::start()?;
    let skopeo = skopeo()?;
    let w = World::new();
    let (key, public) = w.keys();
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    let digest = push_json(&w, &root, &target, &["--key", &key])["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    Some(SignedPush {
        reg,
        skopeo,
        w,
        public,
        digest,
    })
}

/// skopeo checks ferry's signature with a `sigstoreSigned` policy.
#[test]
fn skopeo_verifies_ferrys_signature() {
    let Some(SignedPush {
        reg,
        skopeo,
        w,
        public,
        digest,
    }) = signed_push()
    else {
        return;
    };
    let other = w.path("other.pub").display().to_string();
    let repository = format!("{}/platform/staging", reg.addr);
    let copy = |pubkey: &str, identity: &str, source: &str, dir: &str| {
        let out = skopeo_with(&w, &skopeo, &sigstore_policy(&repository, pubkey, identity))
            .args(["copy", "--src-tls-verify=false"])
            .arg(format!("docker://{source}"))
            .arg(format!("dir:{}", w.path(dir).display()))
            .output()
            .expect("skopeo");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let by_digest = format!("{repository}@{digest}");
    let by_tag = format!("{repository}:latest");

    // `matchRepository`: the signature names this repository (ferry's, like cosign's, names no
    // tag, and the digest it signs is checked against the manifest either way).
    for source in [&by_tag, &by_digest] {
        let (ok, err) = copy(&public, "matchRepository", source, "good");
        if sigstore_disabled(&err) {
            return;
        }
        assert!(ok, "skopeo refused ferry's signature on {source}: {err}");
        eprintln!(
            "skopeo accepted ferry's signature on {source} (sigstoreSigned, matchRepository)"
        );
        // What skopeo copied is what ferry pushed.
        use sha2::Digest as _;
        let manifest = std::fs::read(w.path("good/manifest.json")).expect("manifest");
        assert_eq!(
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(&manifest))),
            digest,
            "skopeo's copy has another manifest"
        );
        std::fs::remove_dir_all(w.path("good")).expect("rm");
    }
    // The default rule, `matchRepoDigestOrExact`, refuses a signed identity that names no tag,
    // even on a digest (containers/image itself always signs `repository:tag`): a cosign or
    // ferry signature needs `matchRepository`. The key check passed (it comes first); only the
    // rule about names refuses.
    let (ok, err) = copy(&public, "matchRepoDigestOrExact", &by_digest, "exact");
    assert!(
        !ok,
        "skopeo's matchRepoDigestOrExact accepted a name-only identity"
    );
    assert!(
        err.contains("Signature for identity") && err.contains("is not accepted"),
        "{err}"
    );

    // Another key: refused by the cryptographic check, not by a rule about names.
    for source in [&by_tag, &by_digest] {
        let (ok, err) = copy(&other, "matchRepository", source, "bad");
        assert!(!ok, "skopeo accepted a signature with the wrong key");
        assert!(
            err.contains("cryptographic signature verification failed"),
            "{err}"
        );
    }
}

/// skopeo signs a copy of a ferry artifact (`copy --sign-by-sigstore-private-key`, written as a
/// cosign attachment), with a key `ferry keygen` made and with one skopeo made; `ferry verify`
/// accepts each signature with its public key and refuses it with any other. skopeo names the
/// reference it copied to, with its tag, as the signed identity.
#[test]
fn ferry_verifies_skopeos_signature() {
    let Some(SignedPush {
        reg,
        skopeo,
        w,
        public,
        digest,
    }) = signed_push()
    else {
        return;
    };
    let passphrase = w.path("passphrase");
    std::fs::write(&passphrase, common::registry::PASSWORD).expect("write");
    // A key pair in skopeo's own format, for the second copy.
    let out = Command::new(&skopeo)
        .args(["generate-sigstore-key", "--output-prefix"])
        .arg(w.path("skopeo"))
        .arg("--passphrase-file")
        .arg(&passphrase)
        .output()
        .expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo generate-sigstore-key: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skopeo_private = w.path("skopeo.private");
    let skopeo_public = w.path("skopeo.pub").display().to_string();
    let ferry_private = w.path("other.key");
    let ferry_public = w.path("other.pub").display().to_string();

    // skopeo copies only what carries ferry's signature.
    let source_policy = sigstore_policy(
        &format!("{}/platform/staging", reg.addr),
        &public,
        "matchRepository",
    );
    for (repo, signer) in [
        ("copied/ferry-key", &ferry_private),
        ("copied/skopeo-key", &skopeo_private),
    ] {
        let out = skopeo_with(&w, &skopeo, &source_policy)
            .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg("--sign-by-sigstore-private-key")
            .arg(signer)
            .arg("--sign-passphrase-file")
            .arg(&passphrase)
            .arg(format!("docker://{}/platform/staging@{digest}", reg.addr))
            .arg(format!("docker://{}/{repo}:v1", reg.addr))
            .output()
            .expect("skopeo");
        let err = String::from_utf8_lossy(&out.stderr);
        if sigstore_disabled(&err) {
            return;
        }
        assert!(
            out.status.success(),
            "skopeo copy --sign-by-sigstore-private-key: {err}"
        );
    }

    for (repo, right, wrong) in [
        ("copied/ferry-key", &ferry_public, &skopeo_public),
        ("copied/skopeo-key", &skopeo_public, &ferry_public),
    ] {
        let copied = format!("oci://{}/{repo}:v1", reg.addr);
        let out = w.ok(&["verify", &copied, "--key", right]);
        assert!(out.contains(&digest), "{out}");
        eprintln!(
            "ferry verified skopeo's signature on {copied}: {}",
            out.trim()
        );
        let err = w.fails(&["verify", &copied, "--key", wrong]);
        assert!(err.contains("no signature on"), "{err}");
        // skopeo carried ferry's own signature along; it names platform/staging, not this
        // repository, so it does not vouch for the copy.
        let err = w.fails(&["verify", &copied, "--key", &public]);
        assert!(
            err.contains("made for repository") && err.contains("platform/staging"),
            "{err}"
        );
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&test_path())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A loopback TCP proxy to the registry that, while `armed`, cuts every connection whose request
/// stream contains `trigger`: the registry "goes away" at exactly that point of a push.
fn cutting_proxy(
    upstream: String,
    trigger: &'static [u8],
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> String {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::Ordering;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let armed = armed.clone();
            let (mut client_back, mut server_back) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server_back, &mut client_back);
                let _ = client_back.shutdown(Shutdown::Both);
            });
            std::thread::spawn(move || {
                let mut seen: Vec<u8> = Vec::new();
                let mut buf = [0u8; 16 << 10];
                loop {
                    let n = match client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    seen.extend_from_slice(&buf[..n]);
                    if armed.load(Ordering::SeqCst)
                        && seen.windows(trigger.len()).any(|w| w == trigger)
                    {
                        let _ = client.shutdown(Shutdown::Both);
                        let _ = server.shutdown(Shutdown::Both);
                        return;
                    }
                    // Keep only a tail long enough to catch a trigger split across reads.
                    if seen.len() > 4096 {
                        seen.drain(..seen.len() - trigger.len());
                    }
                    if server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = server.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn registry_lost_mid_push_leaves_no_tag_and_a_rerun_completes() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let (key, public) = w.keys();
    let armed = Arc::new(AtomicBool::new(true));
    // The blobs go through; the connection dies when the manifest is written.
    let proxy = cutting_proxy(
        reg.addr.clone(),
        b"PUT /v2/platform/staging/manifests/",
        armed.clone(),
    );
    let target = format!("oci://{proxy}/platform/staging");
    let root = w.env_dir("repo", COMMIT);
    let r = root.to_str().expect("utf8");
    let err = w.fails(&["-C", r, "push", "staging", "--to", &target, "--key", &key]);
    assert!(
        err.contains(&proxy) && err.contains("writing manifest"),
        "{err}"
    );
    // No tag names a partial artifact: the registry has no tag at all.
    let out = Command::new("curl")
        .args([
            "-s",
            &format!("http://{}/v2/platform/staging/tags/list", reg.addr),
        ])
        .output()
        .expect("curl");
    let tags = String::from_utf8_lossy(&out.stdout);
    assert!(
        !tags.contains("latest") && !tags.contains("0123456"),
        "{tags}"
    );
    // The re-run completes, reusing the blobs already uploaded.
    armed.store(false, Ordering::SeqCst);
    let report = push_json(&w, &root, &target, &["--key", &key]);
    assert_eq!(report["uploadedBlobs"], 0, "{report}");
    w.ok(&["verify", &format!("{target}:latest"), "--key", &public]);
}

#[test]
fn push_without_to_uses_the_environments_artifact() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let root = w.env_dir("repo", COMMIT);
    std::fs::write(
        root.join("ferry.yaml"),
        format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  staging:\n    artifact: {}/platform/staging\n  dev: {{}}\napps:\n  podinfo:\n    path: podinfo\n",
            reg.addr
        ),
    )
    .expect("write");
    let r = root.to_str().expect("utf8");
    let out = w.ok(&["-C", r, "push", "--tag", "v1"]);
    assert!(
        out.starts_with(&format!("{}/platform/staging@sha256:", reg.addr)),
        "{out}"
    );
    let err = w.fails(&["-C", r, "push", "dev"]);
    assert!(err.contains("environments.dev.artifact"), "{err}");
    let err = w.fails(&["-C", r, "push", "staging", "--tag", "bad/tag"]);
    assert!(err.contains("bad/tag"), "{err}");
}

#[test]
fn a_second_key_adds_a_signature_and_either_key_verifies() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let (key, public) = w.keys();
    let (other_key, other_pub) = (
        w.path("other.key").display().to_string(),
        w.path("other.pub").display().to_string(),
    );
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    let first = push_json(&w, &root, &target, &["--key", &key]);
    let second = push_json(&w, &root, &target, &["--key", &other_key]);
    assert_eq!(first["digest"], second["digest"]);
    let digest = first["digest"].as_str().expect("digest");
    let (bytes, _) = sig_manifest(&reg, digest);
    let m: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(m["layers"].as_array().expect("layers").len(), 2, "{m}");
    for k in [&public, &other_pub] {
        w.ok(&["verify", &format!("{target}:latest"), "--key", k]);
    }
    // Several keys may be given; one good signature is enough.
    let stranger = w.path("stranger");
    w.ok(&[
        "keygen",
        "--signing",
        "-q",
        "-o",
        stranger.to_str().expect("utf8"),
    ]);
    let keys = format!("{},{}", w.path("stranger.pub").display(), public);
    w.ok(&["verify", &format!("{target}:latest"), "--key", &keys]);
    w.fails(&[
        "verify",
        &format!("{target}:latest"),
        "--key",
        &w.path("stranger.pub").display().to_string(),
    ]);
}

#[test]
fn working_tree_builds_get_no_revision_and_no_default_tag() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let root = w.env_dir("repo", COMMIT);
    let index = root.join("out/staging/index.json");
    let text = std::fs::read_to_string(&index).expect("read");
    std::fs::write(
        &index,
        text.replace("\"worktree\": false", "\"worktree\": true"),
    )
    .expect("write");
    let target = format!("oci://{}/platform/staging", reg.addr);
    let r = root.to_str().expect("utf8");
    let err = w.fails(&["-C", r, "push", "staging", "--to", &target]);
    assert!(err.contains("--tag"), "{err}");
    let out = w.ok(&["-C", r, "push", "staging", "--to", &target, "--tag", "dev"]);
    let digest = out.trim().rsplit('@').next().expect("digest").to_string();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reg.blob_file(&digest)).expect("manifest"))
            .expect("json");
    assert!(
        manifest["annotations"]
            .get("org.opencontainers.image.revision")
            .is_none(),
        "{manifest}"
    );
}

/// The library calls a benchmark or another tool uses: no CLI involved.
#[test]
fn library_push_dir_and_pull() {
    use ferry::artifact::{
        pull, push_dir, sign, ArtifactRef, Provenance, PushOptions, VerifyOptions,
    };
    let Some(reg) = Registry::start() else {
        return;
    };
    let w = World::new();
    let env = w.env_dir("repo", COMMIT).join("out/staging");
    let key = sign::new_signing_key();
    let target = ArtifactRef::parse(&format!("{}/bench/staging", reg.addr)).expect("ref");
    let prov = Provenance {
        revision: Some(format!("main@sha1:{COMMIT}")),
        ..Default::default()
    };
    let opts = PushOptions {
        tags: vec!["latest".into()],
        signing_key: Some(key.clone()),
        ..Default::default()
    };
    let report = push_dir(&env, &target, &prov, &opts).expect("push");
    let dest = w.path("pulled");
    let vopts = VerifyOptions {
        keys: vec![*key.verifying_key()],
        ..Default::default()
    };
    let (verified, unpacked) = pull(&target.with_tag("latest"), &dest, &vopts).expect("pull");
    assert_eq!(verified.digest, report.digest);
    assert_eq!(unpacked.files, report.files);
    assert_eq!(snapshot(&dest), snapshot(&env));
}

/// An independent ECDSA implementation (OpenSSL, through Python's `cryptography`) checks
/// ferry's signature with cosign.pub, and makes a key ferry signs with.
#[test]
fn openssl_checks_ferrys_signature_and_makes_a_key_ferry_uses() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let probe = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: python3 with the cryptography module is not available");
        return;
    }
    let w = World::new();
    // A key made by OpenSSL: unencrypted PKCS#8, as `cosign import-key-pair` starts from.
    let script = r#"
import sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s
k = ec.generate_private_key(ec.SECP256R1())
open(sys.argv[1] + ".key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(sys.argv[1] + ".pub", "wb").write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
"#;
    let prefix = w.path("openssl");
    let st = Command::new("python3")
        .args(["-c", script])
        .arg(&prefix)
        .status()
        .expect("python3");
    assert!(st.success());
    let root = w.env_dir("repo", COMMIT);
    let target = format!("oci://{}/platform/staging", reg.addr);
    let key = format!("{}.key", prefix.display());
    let report = push_json(&w, &root, &target, &["--key", &key]);
    let digest = report["digest"].as_str().expect("digest").to_string();
    // OpenSSL verifies the signature ferry wrote over the payload it stored.
    let (bytes, _) = sig_manifest(&reg, &digest);
    let m: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let layer = &m["layers"][0];
    let payload =
        std::fs::read(reg.blob_file(layer["digest"].as_str().expect("digest"))).expect("payload");
    std::fs::write(w.path("payload.json"), &payload).expect("write");
    let sig = layer["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .expect("sig");
    let verify = r#"
import sys, base64
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes, serialization
pub = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
pub.verify(base64.b64decode(sys.argv[3]), open(sys.argv[2], "rb").read(), ec.ECDSA(hashes.SHA256()))
print("verified")
"#;
    let out = Command::new("python3")
        .args(["-c", verify])
        .arg(format!("{}.pub", prefix.display()))
        .arg(w.path("payload.json"))
        .arg(sig)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "OpenSSL refused ferry's signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&payload).expect("payload json");
    assert_eq!(
        p["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert_eq!(
        p["critical"]["identity"]["docker-reference"],
        format!("{}/platform/staging", reg.addr)
    );
    // And ferry verifies with the OpenSSL-made public key.
    w.ok(&[
        "verify",
        &format!("{target}:latest"),
        "--key",
        &format!("{}.pub", prefix.display()),
    ]);
}
