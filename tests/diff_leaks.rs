//! Leak tests: for builds that add, change and remove secret keys, every output format and every
//! error path of `ferry diff` is searched for each plaintext value, its base64 and its SHA-256.
//! The expected number of hits is zero.

mod diff_fixture;

use diff_fixture::*;
use sha2::{Digest, Sha256};
use std::path::Path;

fn all_output(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn no_output_format_leaks_a_secret_value() {
    let shop = Shop::new();
    let (v1, v2) = shop.builds();
    let mut runs = 0;
    for format in ["text", "json", "markdown"] {
        for key in [None, Some(TEST_KEY)] {
            let env: Vec<(&str, &str)> = key.map(|k| ("FERRY_DIFF_KEY", k)).into_iter().collect();
            for args in [
                vec!["diff", "--from", "v1", "--to", "v2", "--output", format],
                vec!["diff", "--from", "v2", "--to", "v1", "--output", format],
                vec![
                    "diff",
                    path(&v1.join("prod")),
                    path(&v2.join("prod")),
                    "--output",
                    format,
                ],
                vec![
                    "diff",
                    path(&v2.join("staging")),
                    path(&v1.join("staging")),
                    "--output",
                    format,
                ],
                vec![
                    "diff", "--from", "v1", "--to", "v2", "-U", "100", "--output", format,
                ],
            ] {
                let out = shop.ferry_env(&args, &env);
                assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
                assert!(
                    stdout(&out).contains("password"),
                    "the secret's keys are reported: {args:?}"
                );
                assert_no_leak(
                    &format!("{args:?} with key {key:?}"),
                    &all_output(&out),
                    SECRET_VALUES,
                );
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 30);
}

#[test]
fn markdown_overflow_file_does_not_leak_either() {
    let shop = Shop::new();
    let (v1, v2) = shop.builds();
    let key = ferry::diff::FingerprintKey::new(TEST_KEY.as_bytes(), "test").expect("key");
    let secrets = ferry::diff::SecretContext {
        fingerprint_key: Some(&key),
        decryptor: None,
    };
    let env = ferry::diff::diff_dirs(
        &v1.join("prod"),
        &v2.join("prod"),
        &Default::default(),
        secrets,
    )
    .expect("diffs");
    let report = ferry::diff::DiffReport::from_envs(vec![env]);
    let c = ferry::diff::render::markdown::comment(&report, 700, Some("diff-full.md"));
    let full = c
        .overflow
        .expect("the full diff does not fit in 700 characters");
    assert!(c.body.len() <= 700, "{}", c.body.len());
    assert!(c.body.contains("written to `diff-full.md`"), "{}", c.body);
    assert!(full.contains("Deployment.apps/shop/web") && full.contains("```diff"));
    assert_no_leak("comment body", &c.body, SECRET_VALUES);
    assert_no_leak("overflow file", &full, SECRET_VALUES);
}

#[test]
fn markdown_overflow_flag_writes_the_file_through_the_cli() {
    let shop = Shop::new();
    let file = shop.tmp.path().join("full.md");
    let out = shop.ferry(&[
        "diff",
        "--from",
        "v1",
        "--to",
        "v2",
        "--output",
        "markdown",
        "--markdown-overflow",
        path(&file),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Small enough for a comment: the comment is the whole diff, and so is the file.
    assert!(stdout(&out).starts_with("### ferry diff\n"));
    assert!(!stdout(&out).contains("larger than a comment allows"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        stdout(&out)
    );
    assert_no_leak("overflow file", &stdout(&out), SECRET_VALUES);
}

/// Rewrites one object file of a build and, when `fix_index`, its digest in `index.json` too.
fn tamper(build: &Path, rel: &str, text: &str, fix_index: bool) {
    let old = std::fs::read(build.join(rel)).expect("file exists");
    std::fs::write(build.join(rel), text).expect("write");
    if fix_index {
        let index = std::fs::read_to_string(build.join("index.json")).expect("index");
        let from = format!("sha256:{}", hex::encode(Sha256::digest(&old)));
        let to = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        assert!(index.contains(&from));
        std::fs::write(build.join("index.json"), index.replace(&from, &to)).expect("write index");
    }
}

#[test]
fn error_paths_do_not_leak_a_secret_value() {
    let shop = Shop::new();
    let (v1, v2) = shop.builds();
    let secret_file = "db/secret_shop_db.yaml";
    let (value, other) = (SECRET_VALUES[6], SECRET_VALUES[8]);
    let cases = [
        // Not YAML, the value right where the parser stops.
        (format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: [{value}, {other}\n"), true, "not valid YAML"),
        // YAML of the wrong shape around the value: `data` a string, `stringData` a list.
        (format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ndata: {value}\nstringData: [{other}]\n"), true, ""),
        // Valid, but another object than the index says.
        (format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {value}\n  namespace: shop\n"), true, "but index.json lists Secret/shop/db"),
        // Changed after the build without the index.
        (format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {value}\n"), false, "does not match its digest"),
        // Two documents in one file.
        (format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n---\npassword: {other}\n"), true, "exactly one object"),
    ];
    for (i, (text, fix, expect)) in cases.iter().enumerate() {
        let broken = shop.tmp.path().join(format!("broken-{i}"));
        copy_dir(&v2.join("prod"), &broken);
        tamper(&broken, secret_file, text, *fix);
        for format in ["text", "json", "markdown"] {
            let out = shop.ferry(&[
                "diff",
                path(&v1.join("prod")),
                path(&broken),
                "--output",
                format,
            ]);
            let all = all_output(&out);
            if out.status.code() == Some(2) {
                assert!(stderr(&out).contains(expect), "case {i}: {}", stderr(&out));
                assert!(
                    stderr(&out).contains("secret_shop_db.yaml")
                        || stderr(&out).contains("Secret/shop/db"),
                    "case {i} names the file: {}",
                    stderr(&out)
                );
            }
            // The third case's name is a secret value too, so it is never printed either.
            assert_ne!(out.status.code(), Some(0), "case {i}");
            assert_no_leak(&format!("error case {i} ({format})"), &all, SECRET_VALUES);
        }
    }
}

#[test]
fn a_broken_secret_in_a_revision_does_not_leak_through_the_build_error() {
    let shop = Shop::new();
    let value = SECRET_VALUES[8];
    write(&shop.repo, "apps/db/prod/secret.yaml", &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: [{value}\n"));
    let out = shop.ferry(&["diff", "--from", "v1", "--to", "v2"]);
    assert_eq!(out.status.code(), Some(1), "v2 itself is fine");
    let commit = std::process::Command::new("git")
        .args([
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qam",
            "broken",
        ])
        .current_dir(&shop.repo)
        .status()
        .expect("git");
    assert!(commit.success());
    let out = shop.ferry(&["diff", "--from", "v1", "--to", "HEAD"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot build HEAD"),
        "{}",
        stderr(&out)
    );
    assert_no_leak("build error", &all_output(&out), SECRET_VALUES);
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("under");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}
