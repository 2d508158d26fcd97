//! `ferry diff` on SOPS-encrypted secrets, with the real `sops` and `age-keygen`. The repository
//! holds a Secret that `sops` encrypted; `ferry build` opens it with the CI identity and seals it
//! for the environment. With an identity the diff compares values in memory (through ferry's
//! own decryptor, and through `sops decrypt` reading ferry's sealed files); without one, what
//! differs as ciphertext "cannot tell".

mod diff_fixture;

use diff_fixture::*;
use ferry::diff::{DecryptError, DiffOptions, DiffReport, SecretContext, SecretDecryptor};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const VALUES: &[&str] = &[
    "sops-user-Aa11",
    "sops-pw-old-Bb22",
    "sops-legacy-Cc33",
    "sops-pw-new-Dd44",
    "sops-token-Ee55",
];

fn tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cache/gitops-peers/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

struct Sops {
    bin: PathBuf,
    key_file: PathBuf,
    recipient: String,
}

impl Sops {
    fn find(dir: &Path) -> Option<Sops> {
        let (bin, keygen) = (tool("sops")?, tool("age-keygen")?);
        let key_file = dir.join("age.key");
        let out = Command::new(keygen)
            .arg("-o")
            .arg(&key_file)
            .output()
            .expect("age-keygen runs");
        assert!(out.status.success());
        let text = std::fs::read_to_string(&key_file).expect("key");
        let recipient = text
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .expect("public key line")
            .to_string();
        Some(Sops {
            bin,
            key_file,
            recipient,
        })
    }

    fn run(&self, args: &[&str], file: &Path) -> Vec<u8> {
        let out = Command::new(&self.bin)
            .args(args)
            .arg(file)
            .env("SOPS_AGE_KEY_FILE", &self.key_file)
            .output()
            .expect("sops runs");
        assert!(
            out.status.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// Decrypts with `sops decrypt`, in memory: the document goes in on stdin, plaintext comes back
/// on stdout and is never written to disk.
impl SecretDecryptor for Sops {
    fn decrypt(&self, object: &Value) -> Result<Option<Value>, DecryptError> {
        let err = |m: &str| DecryptError {
            message: m.to_string(),
        };
        let mut child = Command::new(&self.bin)
            .args([
                "decrypt",
                "--input-type",
                "json",
                "--output-type",
                "json",
                "/dev/stdin",
            ])
            .env("SOPS_AGE_KEY_FILE", &self.key_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| err("cannot run sops"))?;
        let input = serde_json::to_vec(object).map_err(|_| err("cannot serialise"))?;
        child
            .stdin
            .take()
            .ok_or_else(|| err("no stdin"))?
            .write_all(&input)
            .map_err(|_| err("cannot write to sops"))?;
        let out = child
            .wait_with_output()
            .map_err(|_| err("sops did not finish"))?;
        if !out.status.success() {
            return Err(err("sops decrypt failed"));
        }
        serde_json::from_slice(&out.stdout)
            .map(Some)
            .map_err(|_| err("sops printed no JSON"))
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A repository whose one app is a SOPS-encrypted Secret; `v2` changes it with `sops set` and
/// `sops unset`, which keep the untouched keys' ciphertext byte for byte.
fn repo(sops: &Sops, root: &Path) -> PathBuf {
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("apps/db")).expect("mkdir");
    git(&repo, &["init", "-q"]);
    write(&repo, "ferry.yaml", &format!("apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {{recipients: [{}]}}\napps:\n  db:\n    namespace: shop\n    path: apps/db\n", sops.recipient));
    let plain = root.join("secret.yaml");
    std::fs::write(&plain, format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ndata:\n  user: {}\n  password: {}\n  legacy: {}\n",
        b64(VALUES[0]), b64(VALUES[1]), b64(VALUES[2])
    )).expect("write");
    let enc = sops.run(
        &[
            "encrypt",
            "--age",
            &sops.recipient,
            "--encrypted-regex",
            "^(data|stringData)$",
        ],
        &plain,
    );
    std::fs::remove_file(&plain).expect("plaintext gone");
    let file = repo.join("apps/db/secret.yaml");
    std::fs::write(&file, enc).expect("write");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "v1"]);
    git(&repo, &["tag", "v1"]);
    sops.edit(&[
        "set",
        path(&file),
        "[\"data\"][\"password\"]",
        &format!("\"{}\"", b64(VALUES[3])),
    ]);
    sops.edit(&[
        "set",
        path(&file),
        "[\"data\"][\"token\"]",
        &format!("\"{}\"", b64(VALUES[4])),
    ]);
    sops.edit(&["unset", path(&file), "[\"data\"][\"legacy\"]"]);
    git(&repo, &["commit", "-qam", "v2"]);
    git(&repo, &["tag", "v2"]);
    repo
}

impl Sops {
    fn edit(&self, args: &[&str]) {
        let out = Command::new(&self.bin)
            .args(args)
            .env("SOPS_AGE_KEY_FILE", &self.key_file)
            .output()
            .expect("sops runs");
        assert!(
            out.status.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs ferry with the CI identity (`SOPS_AGE_KEY_FILE`) or with none at all.
fn ferry(repo: &Path, args: &[&str], identity: Option<&Path>) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("ferry").expect("binary");
    cmd.args(args)
        .current_dir(repo)
        .env("FERRY_CACHE_DIR", repo.join("../cache"))
        .env("HOME", repo.join(".."))
        .env("CI", "1")
        .env("NO_COLOR", "1")
        .env("FERRY_DIFF_KEY", TEST_KEY)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE");
    if let Some(id) = identity {
        cmd.env("SOPS_AGE_KEY_FILE", id);
    }
    cmd.output().expect("runs")
}

fn statuses(doc: &Value) -> Vec<(String, String)> {
    let changes = doc["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{doc:#}");
    changes[0]["secretKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["key"].as_str().unwrap_or_default().to_string(),
                k["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn revisions_compare_decrypted_values_with_the_ci_identity() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(sops) = Sops::find(tmp.path()) else {
        eprintln!("SKIP: sops or age-keygen not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let repo = repo(&sops, tmp.path());
    let mut seen = String::new();
    for format in ["json", "text", "markdown"] {
        let out = ferry(
            &repo,
            &["diff", "--from", "v1", "--to", "v2", "--output", format],
            Some(&sops.key_file),
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
        if format == "json" {
            let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
            let expect = [
                ("legacy", "removed"),
                ("password", "changed"),
                ("token", "added"),
                ("user", "unchanged"),
            ];
            assert_eq!(statuses(&doc), pairs(&expect));
            let key = ferry::diff::FingerprintKey::new(TEST_KEY.as_bytes(), "test").expect("key");
            let pw = &doc["changes"][0]["secretKeys"][1];
            assert_eq!(pw["newFingerprint"], key.fingerprint(VALUES[3].as_bytes()));
        }
    }
    assert!(!seen.contains("ENC["), "ciphertext is redacted too");
    assert_no_leak("sops diff", &seen, VALUES);
}

#[test]
fn without_an_identity_differing_ciphertext_cannot_tell() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(sops) = Sops::find(tmp.path()) else {
        eprintln!("SKIP: sops or age-keygen not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let repo = repo(&sops, tmp.path());
    let (v1, v2) = (tmp.path().join("out-v1"), tmp.path().join("out-v2"));
    for (rev, dir) in [("v1", &v1), ("v2", &v2)] {
        let out = ferry(
            &repo,
            &["build", "--revision", rev, "-o", path(dir), "-q"],
            Some(&sops.key_file),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (old, new) = (v1.join("prod"), v2.join("prod"));
    let mut seen = String::new();
    for format in ["json", "text"] {
        let out = ferry(
            &repo,
            &["diff", path(&old), path(&new), "--output", format],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
        if format == "json" {
            let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
            // Sealing derives every IV from the whole document, so a change re-encrypts every
            // key: without an identity, only additions and removals are certain.
            let expect = [
                ("legacy", "removed"),
                ("password", "cannot-tell"),
                ("token", "added"),
                ("user", "cannot-tell"),
            ];
            assert_eq!(statuses(&doc), pairs(&expect));
            let keys = doc["changes"][0]["secretKeys"].as_array().expect("keys");
            assert!(
                keys.iter().all(|k| k.get("newFingerprint").is_none()),
                "no fingerprint of ciphertext: {keys:?}"
            );
        } else {
            assert!(
                stdout(&out).contains("cannot tell (encrypted)"),
                "{}",
                stdout(&out)
            );
        }
    }
    // The same sealed build against itself: byte-identical ciphertext is unchanged.
    let out = ferry(&repo, &["diff", path(&new), path(&new)], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!seen.contains("ENC["), "ciphertext is redacted too");
    assert_no_leak("sops diff without identity", &seen, VALUES);
}

#[test]
fn sops_itself_opens_what_ferry_sealed_and_the_diff_agrees() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(sops) = Sops::find(tmp.path()) else {
        eprintln!("SKIP: sops or age-keygen not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let repo = repo(&sops, tmp.path());
    let (v1, v2) = (tmp.path().join("out-v1"), tmp.path().join("out-v2"));
    for (rev, dir) in [("v1", &v1), ("v2", &v2)] {
        let out = ferry(
            &repo,
            &["build", "--revision", rev, "-o", path(dir), "-q"],
            Some(&sops.key_file),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let key = ferry::diff::FingerprintKey::new(TEST_KEY.as_bytes(), "test").expect("key");
    let ctx = SecretContext {
        fingerprint_key: Some(&key),
        decryptor: Some(&sops),
    };
    let env = ferry::diff::diff_dirs(
        &v1.join("prod"),
        &v2.join("prod"),
        &DiffOptions::default(),
        ctx,
    )
    .expect("diffs");
    let report = DiffReport::from_envs(vec![env]);
    let doc: Value =
        serde_json::from_str(&ferry::diff::render::json::render(&report)).expect("json");
    let expect = [
        ("legacy", "removed"),
        ("password", "changed"),
        ("token", "added"),
        ("user", "unchanged"),
    ];
    assert_eq!(statuses(&doc), pairs(&expect));
    let pw = &doc["changes"][0]["secretKeys"][1];
    assert_eq!(pw["newFingerprint"], key.fingerprint(VALUES[3].as_bytes()));
    assert_eq!(pw["oldFingerprint"], key.fingerprint(VALUES[1].as_bytes()));
    let all = format!(
        "{}{}{}",
        ferry::diff::render::json::render(&report),
        ferry::diff::render::text::render(&report, true),
        ferry::diff::render::markdown::render(&report, true)
    );
    assert_no_leak("decrypted sops diff", &all, VALUES);
    // The same builds against themselves: nothing, even though decryption ran.
    let same = ferry::diff::diff_dirs(
        &v2.join("prod"),
        &v2.join("prod"),
        &DiffOptions::default(),
        ctx,
    )
    .expect("diffs");
    assert!(same.changes.is_empty());
}
