//! Bad input to the commands other than `ferry build`: push, pull, apply, diff, secrets. Each
//! case is refused with a message that says what to do, exit status 2, nothing sent, signed or
//! written; a reader that closes the pipe is no error at all. Every case is named after what
//! it pins.

use super::apply_fake::artifact::write_artifact;
use super::apply_fake::server::HttpFake;
use super::common;
use super::common::registry::{self, Registry};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn out(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Nothing on stderr may drive the terminal: no control character but the line break.
fn assert_no_raw_controls(stderr: &str) {
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters reach the terminal: {stderr:?}"
    );
}

fn configmap(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": name}})
}

fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        configmap("shop", "a"),
        configmap("shop", "b"),
    ]
}

/// `ferry push prod --to oci://127.0.0.1:9/...` (nothing listens there) with a key file that
/// does not exist: the integrity check must refuse before any key is opened or byte sent.
fn push_unreachable(root: &Path) -> (i32, String, String) {
    let cache = root.join("cache");
    out(&common::ferry(&cache)
        .arg("-C")
        .arg(root)
        .args(["push", "prod", "--to", "oci://127.0.0.1:9/platform/prod:v1"])
        .arg("--key")
        .arg(root.join("no-such.key"))
        .output()
        .expect("ferry runs"))
}

fn index(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).expect("index"))
        .expect("json")
}

/// Item: `ferry push` of an out/ changed after `ferry build` (a file edited, a file added, an
/// index naming `../`) is refused as apply and diff refuse it, before signing anything.
#[test]
fn push_checks_the_build_before_signing_or_sending_anything() {
    type Tamper = fn(&Path);
    let cases: [(&str, Tamper, &str); 4] = [
        (
            "a file edited after the build",
            |d| {
                let f = d.join("app/configmap_shop_a.yaml");
                let t = std::fs::read_to_string(&f).expect("read");
                std::fs::write(f, t.replace("k: a", "k: edited")).expect("write");
            },
            "does not match its digest in index.json: the directory was changed after `ferry build`",
        ),
        (
            "a file added after the build",
            |d| std::fs::write(d.join("app/extra.yaml"), "kind: ConfigMap\n").expect("write"),
            "is not listed in index.json",
        ),
        (
            "a file removed after the build",
            |d| std::fs::remove_file(d.join("app/configmap_shop_b.yaml")).expect("rm"),
            "cannot read",
        ),
        (
            "an index naming a file outside the directory",
            |d| {
                // A file outside with the very digest the index claims: only the path rule
                // stops it.
                let outside = d.parent().expect("out").join("stolen.yaml");
                std::fs::write(&outside, "secret: x\n").expect("write");
                let mut ix = index(d);
                let o = &mut ix["apps"]["app"]["objects"][0];
                o["path"] = json!("../stolen.yaml");
                o["digest"] = json!(format!(
                    "sha256:{}",
                    sha256_hex(b"secret: x\n")
                ));
                std::fs::write(d.join("index.json"), ix.to_string()).expect("write");
            },
            "has path \"../stolen.yaml\", which leaves the directory",
        ),
    ];
    for (name, tamper, want) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("out/prod");
        write_artifact(&dir, "prod", &objects());
        tamper(&dir);
        let (code, _, err) = push_unreachable(tmp.path());
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(want), "{name}: stderr lacks {want:?}:\n{err}");
        assert!(
            !err.contains("no-such.key") && !err.contains("127.0.0.1:9"),
            "{name}: the key or the registry was reached first:\n{err}"
        );
    }
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}

/// Item: two applies into one inventory: the second waits for the first's lock, with a
/// message, and `--lock-timeout` bounds the wait.
#[test]
fn apply_waits_for_the_inventory_lock_and_gives_up_after_lock_timeout() {
    let server = HttpFake::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(true)).expect("write");
    let dir = tmp.path().join("out/prod");
    write_artifact(&dir, "prod", &objects());
    let lease = |holder: &str, seconds: i64| {
        server.with(|s| {
            s.put("", "namespaces", "", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ferry-system"}}));
            s.put("coordination.k8s.io", "leases", "ferry-system", json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "ferry-prod", "namespace": "ferry-system", "resourceVersion": "77"},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                         "renewTime": "2026-12-07T08:00:00.000000Z"}}));
        })
    };
    let apply = |extra: &[&str]| {
        out(&common::ferry(&tmp.path().join("cache"))
            .arg("apply")
            .arg(&dir)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(extra)
            .env_remove("KUBECONFIG")
            .output()
            .expect("ferry runs"))
    };
    // Held by a live apply (a 5-minute lease): refused at once with 0s, naming the holder.
    lease("ferry@ci-7 pid 4242 0f0f0f0f", 300);
    let (code, _, err) = apply(&["--lock-timeout", "0s"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("Lease ferry-system/ferry-prod is held by ferry@ci-7 pid 4242 0f0f0f0f")
            && err.contains("--lock-timeout"),
        "{err}"
    );
    assert!(
        server.with(|s| s.get("", "configmaps", "shop", "a").is_none()),
        "nothing applied"
    );
    // Left by a crashed apply (a 1 s lease nobody renews): waited for, with a message, then
    // taken over.
    lease("ferry@gone pid 1 00000000", 1);
    let (code, stdout, err) = apply(&["--lock-timeout", "1m"]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(
        err.contains("waiting: another apply into this inventory holds Lease ferry-system/ferry-prod (ferry@gone pid 1 00000000"),
        "{err}"
    );
    assert!(server.with(|s| s.get("", "configmaps", "shop", "a").is_some()));
}

/// Item: `--interval 0s` ran ~8 applies a second; intervals under 10 s are refused by name.
#[test]
fn apply_refuses_an_interval_below_the_minimum() {
    let cache = tempfile::tempdir().expect("tempdir");
    for interval in ["0s", "0", "9s"] {
        let (code, _, err) = out(&common::ferry(cache.path())
            .args(["apply", "out/prod", "--interval", interval])
            .output()
            .expect("ferry runs"));
        assert_eq!(code, 2, "{interval}: {err}");
        assert!(
            err.contains("is shorter than the minimum interval, 10s"),
            "{interval}: {err}"
        );
    }
}

/// Spawns `ferry ARGS` with stdout on a pipe, reads `keep` bytes and closes the pipe, as
/// `| head -c` does; returns the exit status and stderr.
fn reader_goes_away(cmd: &mut Command, keep: usize) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry starts");
    let mut stdout = child.stdout.take().expect("piped");
    if keep > 0 {
        let mut first = vec![0u8; keep];
        stdout.read_exact(&mut first).expect("some output");
    }
    drop(stdout);
    let o = child.wait_with_output().expect("exits");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Item: `ferry secrets encrypt ... | head -1` exited 2 with an error; every command that
/// writes to stdout ends quietly when its reader goes away.
#[test]
fn commands_end_quietly_when_the_reader_closes_the_pipe() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let key = tmp.path().join("key.txt");
    let keygen = common::ferry(&cache)
        .args(["keygen", "-q", "--output"])
        .arg(&key)
        .output()
        .expect("keygen");
    let recipient = String::from_utf8_lossy(&keygen.stdout).trim().to_string();
    assert!(recipient.starts_with("age1"), "{keygen:?}");
    // Far more than a pipe holds, so the writer meets the closed end.
    let plain = tmp.path().join("values.yaml");
    let text: String = (0..20_000)
        .map(|i| format!("key{i}: value {i}\n"))
        .collect();
    std::fs::write(&plain, text).expect("write");
    let sealed = tmp.path().join("values.enc.yaml");
    let enc = common::ferry(&cache)
        .args(["secrets", "encrypt", "--age", &recipient])
        .arg(&plain)
        .output()
        .expect("encrypt");
    assert!(
        enc.status.success(),
        "{}",
        String::from_utf8_lossy(&enc.stderr)
    );
    std::fs::write(&sealed, &enc.stdout).expect("write");
    let runs: Vec<(&str, Command, usize)> = vec![
        (
            "secrets encrypt | head -1",
            {
                let mut c = common::ferry(&cache);
                c.args(["secrets", "encrypt", "--age", &recipient])
                    .arg(&plain);
                c
            },
            16,
        ),
        (
            "secrets decrypt | head -1",
            {
                let mut c = common::ferry(&cache);
                c.args(["secrets", "decrypt", "--identity"])
                    .arg(&key)
                    .arg(&sealed);
                c
            },
            16,
        ),
        (
            "secrets rotate | (closed at once)",
            {
                let mut c = common::ferry(&cache);
                c.args(["secrets", "rotate", "--identity"])
                    .arg(&key)
                    .arg(&sealed);
                c
            },
            0,
        ),
        (
            "completions bash | (closed at once)",
            {
                let mut c = common::ferry(&cache);
                c.args(["completions", "bash"]);
                c
            },
            0,
        ),
        (
            "keygen | (closed at once)",
            {
                let mut c = common::ferry(&cache);
                c.args(["keygen", "-q", "--output"])
                    .arg(tmp.path().join("key2.txt"));
                c
            },
            0,
        ),
    ];
    for (name, mut cmd, keep) in runs {
        let (code, err) = reader_goes_away(&mut cmd, keep);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(err.is_empty(), "{name}: no error on a closed pipe: {err}");
    }
    // The identity was written although nobody read the recipient.
    assert!(tmp.path().join("key2.txt").is_file());
}

/// A pipeline with two environments and a path app, committed, for the commands that build.
fn small_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = dir.path();
    std::fs::write(
        r.join("ferry.yaml"),
        "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {}\n  staging: {}\napps:\n  web:\n    namespace: shop\n    path: web\n",
    )
    .expect("write");
    std::fs::create_dir_all(r.join("web")).expect("mkdir");
    std::fs::write(
        r.join("web/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  k: v\n",
    )
    .expect("write");
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "init");
    dir
}

/// Item: `ferry diff --from HEAD out/prod out/staging` ended with `hint: environments: ` and an
/// empty list.
#[test]
fn diff_from_a_revision_with_directories_or_unknown_environments_names_what_to_do() {
    let repo = small_repo();
    let r = repo.path();
    let cache = r.join(".cache");
    let build = common::ferry(&cache)
        .arg("-C")
        .arg(r)
        .args(["build", "-q"])
        .output()
        .expect("build");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let diff = |args: &[&str]| {
        out(&common::ferry(&cache)
            .arg("-C")
            .arg(r)
            .current_dir(r)
            .arg("diff")
            .args(args)
            .output()
            .expect("diff"))
    };
    let (code, _, err) = diff(&["--from", "HEAD", "out/prod", "out/staging"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`out/prod` is a directory")
            && err.contains("drop --from: ferry diff out/prod out/staging"),
        "{err}"
    );
    assert!(!err.contains("environments: \n") && !err.trim_end().ends_with("environments:"));
    let (code, _, err) = diff(&["--from", "HEAD", "qa"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("hint: environments: prod, staging"), "{err}");
    // What the hint says works.
    let (code, _, err) = diff(&["out/prod", "out/staging"]);
    assert!(code == 0 || code == 1, "{err}");
}

/// Item: "cannot read identity from the CI identity: none found" said nothing a person can
/// act on; the message says what is missing and which variable to set.
#[test]
fn build_with_secrets_and_no_ci_identity_says_what_to_set() {
    let repo = small_repo();
    let r = repo.path();
    std::fs::write(
        r.join("ferry.yaml"),
        "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod:\n    recipients: [age1udgrequ7akhmgpk92zc2u580z9rlzrsx760vkkgkv3j0gtemkqnsgc476e]\napps:\n  web:\n    namespace: shop\n    path: web\n",
    )
    .expect("write");
    std::fs::write(
        r.join("web/secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n",
    )
    .expect("write");
    common::commit_all(r, "a secret");
    let (code, _, err) = out(&common::ferry(&r.join(".cache"))
        .arg("-C")
        .arg(r)
        .arg("build")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env("HOME", r.join("no-home"))
        .env("XDG_CONFIG_HOME", r.join("no-home"))
        .output()
        .expect("build"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("sealing them needs the CI's age identity, but none is set")
            && err.contains("set SOPS_AGE_KEY_FILE"),
        "{err}"
    );
    assert!(!err.contains("from the CI identity"), "{err}");
    assert!(!err.contains("hunter2"));
}

/// A registry with `out/prod` pushed to it, signed.
struct Pushed {
    reg: Registry,
    tmp: tempfile::TempDir,
    key: (PathBuf, PathBuf),
}

impl Pushed {
    fn new() -> Option<Pushed> {
        let reg = Registry::start()?;
        let tmp = tempfile::tempdir().expect("tempdir");
        let key = registry::keygen(tmp.path(), &tmp.path().join("keys"), "cosign");
        let dir = tmp.path().join("out/prod");
        write_artifact(&dir, "prod", &objects());
        Some(Pushed { reg, tmp, key })
    }

    fn ferry(&self) -> Command {
        let mut c = registry::ferry(self.tmp.path());
        c.arg("-C").arg(self.tmp.path());
        c
    }

    fn reference(&self, tag: &str) -> String {
        format!("oci://{}/platform/prod:{tag}", self.reg.addr)
    }
}

/// Item: `ferry push --to oci://host/repo:v1` dropped `:v1`; the tag in the reference is
/// pushed, and a tag given both ways is refused.
#[test]
fn push_takes_the_tag_from_the_reference_and_refuses_it_twice() {
    let Some(p) = Pushed::new() else { return };
    let (code, stdout, err) = out(&p
        .ferry()
        .args(["push", "prod", "--to", &p.reference("v1"), "--key"])
        .arg(&p.key.0)
        .output()
        .expect("push"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("tags: v1 "), "{err}");
    assert!(stdout.contains("@sha256:"), "{stdout}");
    let (code, _, err) = out(&p
        .ferry()
        .args(["verify", &p.reference("v1"), "--key"])
        .arg(&p.key.1)
        .output()
        .expect("verify"));
    assert_eq!(code, 0, "v1 was pushed and signed: {err}");
    let (code, _, err) = out(&p
        .ferry()
        .args(["verify", &p.reference("latest"), "--insecure-skip-verify"])
        .output()
        .expect("verify"));
    assert_ne!(code, 0, "no other tag was moved: {err}");
    let (code, _, err) = out(&p
        .ferry()
        .args([
            "push",
            "prod",
            "--to",
            &p.reference("v1"),
            "--tag",
            "v2",
            "--key",
        ])
        .arg(&p.key.0)
        .output()
        .expect("push"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the tag is given twice: `:v1`") && err.contains("--tag v2"),
        "{err}"
    );
}

/// Item: `ferry diff` ignored `FERRY_COSIGN_KEY`, which `ferry apply` reads: every verifying
/// command reads the same key sources.
#[test]
fn every_verifying_command_reads_the_same_key_variables() {
    let Some(p) = Pushed::new() else { return };
    let push = p
        .ferry()
        .args(["push", "prod", "--to", &p.reference("v1"), "--key"])
        .arg(&p.key.0)
        .output()
        .expect("push");
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let dir = p.tmp.path().join("out/prod");
    for var in ["FERRY_COSIGN_KEY", "FERRY_VERIFY_KEY"] {
        let runs: [(&str, Vec<String>); 3] = [
            (
                "diff",
                vec!["diff".into(), p.reference("v1"), dir.display().to_string()],
            ),
            ("verify", vec!["verify".into(), p.reference("v1")]),
            (
                "pull",
                vec![
                    "pull".into(),
                    p.reference("v1"),
                    "-o".into(),
                    p.tmp
                        .path()
                        .join(format!("pulled-{var}"))
                        .display()
                        .to_string(),
                ],
            ),
        ];
        for (name, args) in runs {
            let (code, _, err) = out(&p
                .ferry()
                .args(&args)
                .env(var, &p.key.1)
                .output()
                .expect("runs"));
            assert_eq!(code, 0, "{name} with {var}: {err}");
            assert!(!err.contains("NOT checked"), "{name} with {var}: {err}");
        }
    }
}

/// Item: `ferry pull -o LINK`, LINK a symbolic link to an empty directory, failed with "Not a
/// directory"; the directory behind the link is filled and the link kept.
#[test]
fn pull_into_a_symlink_to_an_empty_directory_fills_the_directory() {
    let Some(p) = Pushed::new() else { return };
    let push = p
        .ferry()
        .args(["push", "prod", "--to", &p.reference("v1")])
        .output()
        .expect("push");
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let target = p.tmp.path().join("target");
    std::fs::create_dir(&target).expect("mkdir");
    let link = p.tmp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let (code, _, err) = out(&p
        .ferry()
        .args(["pull", &p.reference("v1"), "--insecure-skip-verify", "-o"])
        .arg(&link)
        .output()
        .expect("pull"));
    assert_eq!(code, 0, "{err}");
    assert!(target.join("index.json").is_file(), "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    // A link to a file is refused by name, and the file kept.
    let file = p.tmp.path().join("file");
    std::fs::write(&file, "mine").expect("write");
    let to_file = p.tmp.path().join("to-file");
    std::os::unix::fs::symlink(&file, &to_file).expect("symlink");
    let (code, _, err) = out(&p
        .ferry()
        .args(["pull", &p.reference("v1"), "--insecure-skip-verify", "-o"])
        .arg(&to_file)
        .output()
        .expect("pull"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already exists") || err.contains("not a directory"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "mine");
}

/// A layer pushed as is (a valid manifest and digests around whatever bytes).
fn push_layer(reg: &Registry, repo: &str, layer: Vec<u8>) -> String {
    use ferry::artifact::oci_json::{digest_of, flux_config, flux_manifest};
    use ferry::artifact::{
        push_prepared, ArtifactRef, Prepared, Provenance, PushOptions, RegistryOptions,
    };
    let config = flux_config(None, &digest_of(&layer));
    let manifest = flux_manifest(&config, &layer, &Provenance::default());
    let prepared = Prepared {
        digest: digest_of(&manifest),
        manifest,
        config,
        layer,
        files: 1,
    };
    let reference = format!("{}/{repo}:v1", reg.addr);
    let target = ArtifactRef::parse(&reference).expect("reference");
    push_prepared(
        &target,
        &prepared,
        &PushOptions {
            tags: vec!["v1".into()],
            registry: RegistryOptions::new(),
            ..PushOptions::default()
        },
    )
    .expect("pushed");
    format!("oci://{reference}")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// A tar of one regular file with this raw name.
fn tar_with_name(name: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(b"00000000002");
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut tar = h.to_vec();
    tar.extend_from_slice(b"x\n");
    tar.resize(512 * 4, 0);
    tar
}

/// Item: a corrupt layer dumped raw bytes on stderr, and a tar entry name with escape
/// sequences reached the terminal as is; every untrusted string is escaped.
#[test]
fn untrusted_text_from_an_artifact_is_escaped_before_it_is_printed() {
    let Some(reg) = Registry::start() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    // gzip of random bytes.
    let mut noise = vec![0u8; 8192];
    let mut x = 0x9e37_79b9_u32;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let cases = [
        ("noise", gzip(&noise), "not a valid gzip'd tar"),
        (
            "escapes",
            gzip(&tar_with_name(b"/\x1b]0;owned\x07\x1b[2J\x1b[31mred")),
            "\\x1b]0;owned\\x07\\x1b[2J",
        ),
        (
            "bidi",
            gzip(&tar_with_name("../\u{202e}lmy.yaml".as_bytes())),
            "\\u{202e}lmy.yaml",
        ),
    ];
    for (repo, layer, want) in cases {
        let reference = push_layer(&reg, &format!("hostile/{repo}"), layer);
        let dest = tmp.path().join(repo);
        let (code, _, err) = out(&registry::ferry(tmp.path())
            .args(["pull", &reference, "--insecure-skip-verify", "-o"])
            .arg(&dest)
            .output()
            .expect("pull"));
        assert_eq!(code, 2, "{repo}: {err}");
        assert!(err.contains(want), "{repo}: stderr lacks {want:?}: {err:?}");
        assert_no_raw_controls(&err);
        assert!(!dest.exists(), "{repo}: nothing unpacked");
    }
}
