//! `ferry render` on every case of the shared corpus gives the documents the real tools gave.
//! Deterministic cases compare parsed documents exactly; cases that use random functions compare
//! their shape (kinds, names and key sets), as the corpus README prescribes; error cases must
//! fail with the template's message and print no manifest.

mod common;

use ferry::manifest::parse_rendered;
use serde_json::Value;
use std::path::Path;

struct Case {
    id: String,
    kind: String,
    path: String,
    release: String,
    namespace: String,
    values: String,
    extra: Vec<String>,
    expect_ok: bool,
    expected: String,
    deterministic: bool,
}

fn cases(corpus: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(corpus.join("cases.tsv")).expect("cases.tsv");
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Case {
                id: c[0].into(),
                kind: c[1].into(),
                path: c[2].into(),
                release: c[3].into(),
                namespace: c[4].into(),
                values: c[5].into(),
                extra: if c[6] == "-" {
                    vec![]
                } else {
                    c[6].split(' ').map(String::from).collect()
                },
                expect_ok: c[7] == "ok",
                expected: c[8].into(),
                deterministic: c[9] == "yes",
            }
        })
        .collect()
}

/// Keys and kinds only: what stays equal when random values differ.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        _ => Value::Null,
    }
}

fn identity(v: &Value) -> (String, String) {
    (
        v["kind"].as_str().unwrap_or("").to_string(),
        v["apiVersion"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn every_corpus_case_renders_like_the_real_tools() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let all = cases(&corpus);
    assert!(all.len() >= 67, "the corpus lists {} cases", all.len());
    let mut failures = Vec::new();
    for case in &all {
        let mut cmd = common::ferry(cache.path());
        cmd.current_dir(&corpus).arg("render");
        if case.kind == "helm" {
            cmd.args([
                "helm",
                &case.release,
                &case.path,
                "-n",
                &case.namespace,
                "-f",
                &case.values,
                "--kube-version",
                "1.31.0",
            ]);
            cmd.args(&case.extra);
        } else {
            cmd.args(["kustomize", &case.path]);
        }
        let out = cmd.output().expect("ferry runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{}: ferry panicked: {stderr}",
            case.id
        );
        let expected = std::fs::read_to_string(corpus.join(&case.expected)).expect("expected file");
        if !case.expect_ok {
            if out.status.code() != Some(2) || !stdout.is_empty() {
                failures.push(format!(
                    "{}: expected failure with exit 2 and no output, got {:?}",
                    case.id,
                    out.status.code()
                ));
            }
            let message = expected
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("Error: ");
            let key = message.rsplit("): ").next().unwrap_or(message);
            if !stderr.contains(key) {
                failures.push(format!("{}: stderr lacks `{key}`: {stderr}", case.id));
            }
            continue;
        }
        if !out.status.success() {
            failures.push(format!(
                "{}: exit {:?}: {stderr}",
                case.id,
                out.status.code()
            ));
            continue;
        }
        let ours = parse_rendered(&stdout).expect("our output parses");
        let theirs = parse_rendered(&expected).expect("expected output parses");
        if case.deterministic {
            if ours != theirs {
                failures.push(format!("{}: documents differ", case.id));
            }
        } else {
            let a: Vec<_> = ours.iter().map(|d| (identity(d), shape(d))).collect();
            let b: Vec<_> = theirs.iter().map(|d| (identity(d), shape(d))).collect();
            if a != b {
                failures.push(format!("{}: document shapes differ", case.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
