//! `ferry diff` end to end: a small repository with two tagged revisions is built by the real
//! binary, then diffed as directories and as revisions, in every output format. Snapshots are the
//! reviewed output; the assertions beside them are what the tests check.

mod diff_fixture;

use diff_fixture::*;
use serde_json::Value;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn env_counts(doc: &Value, env: &str) -> (u64, u64, u64, u64, u64) {
    let e = doc["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["name"] == env)
        .expect("env present");
    let n = |k: &str| e[k].as_u64().expect("count");
    (
        n("added"),
        n("removed"),
        n("changed"),
        n("moved"),
        n("unchanged"),
    )
}

fn find<'a>(doc: &'a Value, kind: &str, name: &str) -> Vec<&'a Value> {
    doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["kind"] == kind && c["name"] == name)
        .collect()
}

#[test]
fn revisions_json_counts_kinds_and_grouping() {
    let shop = Shop::new();
    let out = shop.ferry(&["diff", "--from", "v1", "--to", "v2", "--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "changes exit 1; stderr: {}",
        stderr(&out)
    );
    let doc = json_of(&out);
    assert_eq!(doc["apiVersion"], "ferry.dev/v1alpha1");
    assert_eq!(doc["kind"], "DiffReport");
    for env in ["prod", "staging"] {
        assert_eq!(
            env_counts(&doc, env),
            (1, 1, 2, 1, 1),
            "{env}: added, removed, changed, moved, unchanged"
        );
    }
    // The Deployment changed identically in both environments: reported once, with both.
    let web = find(&doc, "Deployment", "web");
    assert_eq!(web.len(), 1);
    assert_eq!(
        web[0]["environments"],
        serde_json::json!(["prod", "staging"])
    );
    assert_eq!(web[0]["change"], "changed");
    assert!(web[0]["diff"]
        .as_str()
        .expect("diff")
        .contains("+      - image: web:1.1"));
    // Moved between apps, same content.
    let shared = find(&doc, "ConfigMap", "shared");
    assert_eq!(
        (
            shared[0]["change"].as_str(),
            shared[0]["app"].as_str(),
            shared[0]["previousApp"].as_str()
        ),
        (Some("moved"), Some("extras"), Some("web"))
    );
    assert_eq!(find(&doc, "Service", "legacy")[0]["change"], "removed");
    assert_eq!(
        find(&doc, "ConfigMap", "feature-flags")[0]["change"],
        "added"
    );
    // Secret keys, without a fingerprint key: identical per-key result in both environments.
    let db = find(&doc, "Secret", "db");
    assert_eq!(
        db.len(),
        1,
        "same key changes without fingerprints group together"
    );
    let keys: Vec<(String, String)> = db[0]["secretKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["key"].as_str().unwrap_or_default().to_string(),
                k["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expect = [
        ("api-key", "unchanged"),
        ("legacy", "removed"),
        ("password", "changed"),
        ("token", "added"),
        ("user", "unchanged"),
    ];
    assert_eq!(keys, expect.map(|(a, b)| (a.to_string(), b.to_string())));
    assert!(db[0]["secretKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .all(|k| k.get("newFingerprint").is_none()));
    assert_eq!(doc["summary"]["changed"], 4);
}

#[test]
fn with_a_fingerprint_key_changed_keys_carry_hmacs_that_tell_environments_apart() {
    let shop = Shop::new();
    let out = shop.ferry_env(
        &["diff", "--from", "v1", "--to", "v2", "--output", "json"],
        &[("FERRY_DIFF_KEY", TEST_KEY)],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc = json_of(&out);
    let db = find(&doc, "Secret", "db");
    assert_eq!(
        db.len(),
        2,
        "different values per environment, different fingerprints, shown apart"
    );
    for d in db {
        let pw = d["secretKeys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["key"] == "password")
            .expect("password");
        let (old, new) = (
            pw["oldFingerprint"].as_str().expect("old"),
            pw["newFingerprint"].as_str().expect("new"),
        );
        assert!(
            old.starts_with("hmac:") && new.starts_with("hmac:") && old != new,
            "{old} {new}"
        );
    }
}

#[test]
fn directories_mode_compares_one_environment() {
    let shop = Shop::new();
    let (v1, v2) = shop.builds();
    let out = shop.ferry(&[
        "diff",
        path(&v1.join("prod")),
        path(&v2.join("prod")),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_eq!(doc["environments"].as_array().map(Vec::len), Some(1));
    assert_eq!(env_counts(&doc, "prod"), (1, 1, 2, 1, 1));
    assert!(doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .all(|c| c["environments"] == serde_json::json!(["prod"])));
}

/// Regression: a build compared with itself is empty and exits 0, in every format.
#[test]
fn regression_diff_of_a_build_against_itself_is_empty_and_exits_0() {
    let shop = Shop::new();
    let (v1, _) = shop.builds();
    let prod = v1.join("prod");
    for format in ["text", "json", "markdown"] {
        let out = shop.ferry(&["diff", path(&prod), path(&prod), "--output", format]);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{format}: {}", stderr(&out));
    }
    let out = shop.ferry(&["diff", path(&prod), path(&prod), "--output", "json"]);
    let doc = json_of(&out);
    assert_eq!(doc["changes"], serde_json::json!([]));
    assert_eq!(env_counts(&doc, "prod"), (0, 0, 0, 0, 5));
    let out = shop.ferry(&["diff", "--from", "v1", "--to", "v1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("no changes\n"));
}

#[test]
fn snapshots_revisions_mode_every_format() {
    let shop = Shop::new();
    for format in ["text", "json", "markdown"] {
        let out = shop.ferry_env(
            &["diff", "--from", "v1", "--to", "v2", "--output", format],
            &[("FERRY_DIFF_KEY", TEST_KEY)],
        );
        assert_eq!(out.status.code(), Some(1));
        snapshot(&format!("revisions_{format}"), &stdout(&out), &shop);
    }
}

#[test]
fn snapshots_directories_mode_every_format() {
    let shop = Shop::new();
    let (v1, v2) = shop.builds();
    for format in ["text", "json", "markdown"] {
        let out = shop.ferry(&[
            "diff",
            path(&v1.join("staging")),
            path(&v2.join("staging")),
            "--output",
            format,
        ]);
        assert_eq!(out.status.code(), Some(1));
        snapshot(&format!("directories_{format}"), &stdout(&out), &shop);
    }
}

#[test]
fn text_has_no_colour_off_a_terminal() {
    let shop = Shop::new();
    let out = shop.ferry_env(&["diff", "--from", "v1", "--to", "v2"], &[("NO_COLOR", "")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stdout(&out).contains('\x1b'),
        "stdout is a pipe: no escapes"
    );
}

#[test]
fn one_environment_of_two_revisions() {
    let shop = Shop::new();
    let out = shop.ferry(&[
        "diff", "--from", "v1", "--to", "v2", "staging", "--output", "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json_of(&out);
    let names: Vec<&str> = doc["environments"]
        .as_array()
        .expect("envs")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["staging"]);
}

#[test]
fn errors_exit_2_and_name_what_is_wrong() {
    let shop = Shop::new();
    let (v1, _) = shop.builds();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["diff".into(), path(&v1.join("prod")).into()],
            "two build directories",
        ),
        (
            vec![
                "diff".into(),
                path(&v1.join("prod")).into(),
                "/nonexistent/out/prod".into(),
            ],
            "/nonexistent/out/prod/index.json",
        ),
        (
            vec!["diff".into(), "--from".into(), "v1".into(), "qa".into()],
            "environment `qa` exists in neither",
        ),
        (
            vec!["diff".into(), "--from".into(), "no-such-tag".into()],
            "no-such-tag",
        ),
        (
            vec![
                "diff".into(),
                "oci://localhost:5000/platform/prod:latest".into(),
                path(&v1.join("prod")).into(),
            ],
            // Refused before any network access: no key to verify it with.
            "no public key to verify",
        ),
    ];
    for (args, expect) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = shop.ferry(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn short_fingerprint_key_is_refused() {
    let shop = Shop::new();
    let out = shop.ferry_env(
        &["diff", "--from", "v1", "--to", "v2"],
        &[("FERRY_DIFF_KEY", "tiny")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at least 16"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("tiny"));
}

#[test]
fn broken_pipe_is_a_clean_exit() {
    use std::io::Read;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    // Far more output than a pipe holds, so the writer meets the closed end.
    ferry::diff::synthetic::write_pair(&old, &new, 3000, 500).expect("written");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["diff", path(&old), path(&new)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = [0u8; 64];
    child
        .stdout
        .take()
        .expect("piped")
        .read_exact(&mut first)
        .expect("some output");
    // The reader goes away, like `head` does.
    let out = child.wait_with_output().expect("exits");
    assert_eq!(
        out.status.code(),
        Some(1),
        "changes were found; stderr: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).is_empty(),
        "no error on a closed pipe: {}",
        stderr(&out)
    );
}

fn keys_of(v: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                keys_of(child, &p, out);
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|c| keys_of(c, &format!("{prefix}[]"), out)),
        _ => {}
    }
}

/// The JSON schema is a promise: every field the report has is the documented one, and
/// docs/diff-json.md names each of them.
#[test]
fn json_fields_are_exactly_the_documented_ones() {
    let shop = Shop::new();
    let out = shop.ferry_env(
        &["diff", "--from", "v1", "--to", "v2", "--output", "json"],
        &[("FERRY_DIFF_KEY", TEST_KEY)],
    );
    let mut keys = std::collections::BTreeSet::new();
    keys_of(&json_of(&out), "", &mut keys);
    let counts = ["added", "removed", "changed", "moved", "unchanged"];
    let mut expected: Vec<String> = ["apiVersion", "kind", "summary", "environments", "changes"]
        .map(String::from)
        .to_vec();
    expected.extend(counts.iter().map(|c| format!("summary.{c}")));
    expected.extend(
        ["name", "from", "to"]
            .iter()
            .chain(&counts)
            .map(|c| format!("environments[].{c}")),
    );
    let change_fields = [
        "environments",
        "change",
        "group",
        "kind",
        "namespace",
        "name",
        "apiVersion",
        "app",
        "previousApp",
        "diff",
        "secretKeys",
        "secretKeys[].key",
        "secretKeys[].status",
        "secretKeys[].oldFingerprint",
        "secretKeys[].newFingerprint",
    ];
    expected.extend(change_fields.iter().map(|c| format!("changes[].{c}")));
    let expected: std::collections::BTreeSet<String> = expected.into_iter().collect();
    assert_eq!(keys, expected);
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diff-json.md"))
        .expect("docs/diff-json.md");
    for k in &keys {
        let last = k.rsplit(['.', ']']).next().unwrap_or(k);
        assert!(
            docs.contains(&format!("`{last}")) || docs.contains(&format!(".{last}`")),
            "docs/diff-json.md does not describe `{k}`"
        );
    }
}

#[test]
fn secret_kind_flag_redacts_other_kinds_and_key_file_equals_env_key() {
    let shop = Shop::new();
    let (v1, v2) = shop.builds();
    let (old, new) = (v1.join("prod"), v2.join("prod"));
    let out = shop.ferry(&[
        "diff",
        path(&old),
        path(&new),
        "--secret-kind",
        "ConfigMap",
        "--output",
        "json",
    ]);
    let doc = json_of(&out);
    let flags = find(&doc, "ConfigMap", "feature-flags");
    let diff = flags[0]["diff"].as_str().expect("diff");
    assert!(
        diff.contains("+  checkout: <redacted>") && !diff.contains("on\n"),
        "{diff}"
    );
    assert_eq!(flags[0]["secretKeys"][0]["key"], "data.checkout");
    assert_eq!(flags[0]["secretKeys"][0]["status"], "added");

    let key_file = shop.tmp.path().join("diff.key");
    std::fs::write(&key_file, format!("{TEST_KEY}\n")).expect("write key");
    let by_file = shop.ferry(&[
        "diff",
        path(&old),
        path(&new),
        "--fingerprint-key-file",
        path(&key_file),
        "--output",
        "json",
    ]);
    let by_env = shop.ferry_env(
        &["diff", path(&old), path(&new), "--output", "json"],
        &[("FERRY_DIFF_KEY", TEST_KEY)],
    );
    assert_eq!(by_file.stdout, by_env.stdout);
    assert!(stdout(&by_file).contains("\"newFingerprint\": \"hmac:"));
}

#[test]
fn markdown_above_the_comment_limit_goes_to_the_overflow_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (old, new, file) = (
        tmp.path().join("old"),
        tmp.path().join("new"),
        tmp.path().join("full.md"),
    );
    let changed = ferry::diff::synthetic::write_pair(&old, &new, 1000, 500).expect("written");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args([
            "diff",
            path(&old),
            path(&new),
            "--output",
            "markdown",
            "--markdown-overflow",
            path(&file),
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let body = stdout(&out);
    assert!(body.len() <= 65_536, "{} characters", body.len());
    assert!(
        body.contains(&format!("it was written to `{}`", path(&file))),
        "{body}"
    );
    assert!(
        body.contains("| synthetic | 0 | 500 | 0 | 0 | 500 |"),
        "{body}"
    );
    let full = std::fs::read_to_string(&file).expect("overflow written");
    assert!(full.len() > 65_536);
    assert_eq!(full.matches("```diff").count(), changed);
}

#[test]
fn worktree_as_the_new_side_shows_uncommitted_changes() {
    let shop = Shop::new();
    let out = shop.ferry(&["diff", "--from", "HEAD", "--worktree"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "clean checkout: {}",
        stderr(&out)
    );
    write(
        &shop.repo,
        "apps/web/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  mode: safe\n",
    );
    let out = shop.ferry(&["diff", "--from", "HEAD", "--worktree", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json_of(&out);
    let cm = find(&doc, "ConfigMap", "web-config");
    assert_eq!(cm.len(), 1);
    assert_eq!(
        cm[0]["environments"],
        serde_json::json!(["prod", "staging"])
    );
    assert!(cm[0]["diff"]
        .as_str()
        .expect("diff")
        .contains("-  mode: fast\n+  mode: safe\n"));
    assert_eq!(doc["summary"]["changed"], 2);
    let out = shop.ferry(&["diff", "--worktree", "--to", "v2", "--from", "v1"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--worktree and --to exclude each other"
    );
}
