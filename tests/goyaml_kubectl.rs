//! The Go output layer against the real thing: a table of tricky scalars, keys and shapes is
//! rendered by `kubectl kustomize` (kustomize v5.7.1) and by `ferry::goyaml::to_yaml`, and the
//! bytes must agree. Skips with a notice when kubectl is not installed.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn find_kubectl() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cache/gitops-peers/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

fn long(words: usize) -> String {
    (0..words)
        .map(|i| format!("word{i:02}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Strings that exercise quoting, block styles, folding and escaping.
fn tricky_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "plain",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "N",
        "True",
        "NULL",
        "~",
        "null",
        "true",
        "false",
        "1",
        "1.0",
        "0x1f",
        "1e3",
        "0o17",
        "017",
        "08",
        "1_000",
        "+1",
        "-1",
        ".5",
        ".inf",
        "-.Inf",
        ".nan",
        "1e400",
        "0b101",
        "0b-1",
        "1.2.3",
        "1:20",
        "-1:20:30.5",
        "12:30:45",
        "1:60",
        "2001-12-14",
        "2001-12-14T21:59:43.10-05:00",
        "2001-12-14 21:59:43.10",
        "2023-02-29",
        "2024-02-29",
        "<<",
        "line1\nline2",
        "line1\nline2\n",
        "line1\nline2\n\n",
        "\n",
        "\n\n",
        "x\n",
        " leading\nx",
        "\nleading break",
        "trailing space \nx",
        "x\ntrailing ",
        "a\n b",
        "a \nb",
        "tab\tin\nblock",
        "a\r\nb",
        "héllo wörld",
        "日本語",
        "emoji 😀",
        "\u{feff}bom",
        "nbsp\u{a0}x",
        "ls\u{2028}x",
        "ctrl\u{1}x",
        "nel\u{85}x",
        "a \u{85} b",
        "a\u{85}\u{85}b",
        "\u{85}x\u{85}",
        "\u{e000}",
        "a: b",
        "a:b",
        "a:",
        ":a",
        ": a",
        "a #b",
        "a#b",
        "#a",
        "- a",
        "-a",
        "-",
        "--- a",
        "---",
        "...x",
        "*a",
        "&a",
        "!a",
        "%a",
        "@a",
        "`a",
        "|a",
        ">a",
        "'a'",
        "\"a\"",
        "[a]",
        "{a}",
        ",a",
        "a,b",
        "?a",
        "? a",
        "a'b",
        "it's",
        "<&>",
        "a\\b",
        " lead",
        "trail ",
        "  both  ",
        "tab\tx",
        "http://example.com/a?b=c#d",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let text = long(20);
    v.push(text.clone());
    v.push(format!("yes {text}"));
    v.push(format!("- {text}"));
    v.push(format!("{text}\t"));
    v.push(format!("{text}\n{text}\n"));
    v.push(format!("{text} \n{text}"));
    v.push(format!("{}  {}", "x".repeat(79), long(5)));
    v.push(format!("{}  {}", "x".repeat(81), long(5)));
    v.push(format!("'{}  {}", "x".repeat(81), long(5)));
    v.push(format!("\t{}  {}", "x".repeat(81), long(5)));
    v.push("x".repeat(200));
    v.push(format!("{} {}", "y".repeat(120), "z".repeat(120)));
    v.push(format!("emoji 😀 {text}"));
    v
}

/// Objects holding the cases, named so that kustomize's output order is the table's order.
fn cases() -> Vec<Value> {
    let mut objects = Vec::new();
    let mut push = |spec: Value| {
        let name = format!("case-{:03}", objects.len());
        objects.push(json!({"apiVersion": "example.com/v1", "kind": "Sample", "metadata": {"name": name}, "spec": spec}));
    };
    for s in tricky_strings() {
        // The same text as a value at three depths, in a list, and as a key.
        let mut spec = json!({"value": s, "deep": {"er": {"still": s}}, "list": [s, [s]]});
        // kustomize's YAML reader (go-yaml v3) takes a `<<` key as a merge and drops it before
        // the output layer sees it; the output layer itself keeps it (as Helm's `toYaml` shows).
        // NEL in a key makes kustomize fail (see `unwritable_characters_match_kubectl_failures`).
        if s != "<<" && !s.contains('\u{85}') {
            spec["keyed"] = json!({s.clone(): 1});
        }
        push(spec);
    }
    let text = long(20);
    push(
        json!({"numbers": [0, -0.0, 1, -1, 1.0, 1.5, 1e3, 1e20, 1e21, 1e-7, 0.000001, 0.0001, 0.00001,
        1234567.5, 2.71, 12345678901234567890u64, i64::MIN, 123456789012.0]}),
    );
    push(
        json!({"bool": true, "off": false, "nothing": null, "empty_list": [], "empty_map": {},
        "lists": [[], {}, [[1, 2], [3]], [{"a": 1, "b": [1, {"c": text}]}], null]}),
    );
    push(json!([{"name": "a", "items": [{"x": 1}, {"y": [text, {"z": text}]}]}]));
    let keys = [
        "a10",
        "a9",
        "_x",
        "B",
        "a",
        "1",
        "10",
        "2",
        "-x",
        "x-1",
        "x-10",
        "x-2",
        "é",
        "Z",
        "z",
        "a b",
        "yes",
        "a01",
        "a1",
        "a001",
        "v1.10",
        "v1.9",
        "v1.09",
        "app.kubernetes.io/name",
        "app",
        "apps",
        "~",
        "0",
    ];
    let map: Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!(k))).collect();
    push(Value::Object(map));
    push(
        json!({"x".repeat(129): "long key", "y".repeat(128): "longest simple key", format!("{} {}", "k".repeat(70), "k".repeat(70)): {"nested": [1]}, "multi\nline": "v", "multi\nline2": ["a"], "multi\nline3": {"a": 1}}),
    );
    objects
}

/// JSON is YAML, except that a YAML reader refuses DEL and C1 controls written raw: escape them.
fn yaml_safe(json: &str) -> String {
    json.chars()
        .map(|c| {
            if ('\u{7f}'..='\u{9f}').contains(&c) || c == '\u{fffe}' || c == '\u{ffff}' {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[test]
fn tricky_scalars_and_maps_match_kubectl_kustomize() {
    let Some(kubectl) = find_kubectl() else {
        println!("SKIP: kubectl not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let objects = cases();
    let dir = tempfile::tempdir().expect("temp dir");
    let resources: Vec<String> = objects
        .iter()
        .map(|o| yaml_safe(&ferry::goyaml::to_json(o)))
        .collect();
    std::fs::write(dir.path().join("resources.yaml"), resources.join("\n---\n"))
        .expect("write resources");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- resources.yaml\n",
    )
    .expect("write kustomization");
    let out = Command::new(&kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let want: Vec<&str> = stdout.split("\n---\n").collect();
    assert_eq!(want.len(), objects.len(), "one document per case");
    let mut failures = Vec::new();
    for (i, (object, want)) in objects.iter().zip(want).enumerate() {
        let want = if i + 1 == objects.len() {
            want.to_string()
        } else {
            format!("{want}\n")
        };
        let got = ferry::goyaml::to_yaml(object);
        if got != want {
            failures.push(format!("case-{i:03}:\n--- kubectl\n{want}--- ferry\n{got}"));
        }
    }
    println!(
        "{} of {} cases identical to kubectl kustomize",
        objects.len() - failures.len(),
        objects.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The characters `unwritable_char` flags are exactly those kubectl kustomize fails on.
#[test]
fn unwritable_characters_match_kubectl_failures() {
    let Some(kubectl) = find_kubectl() else {
        println!("SKIP: kubectl not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let mut failures = Vec::new();
    for c in [
        '\u{7f}',
        '\u{80}',
        '\u{85}',
        '\u{9f}',
        '\u{fffe}',
        '\u{ffff}',
        '\u{a0}',
        '\u{feff}',
        '\u{fffd}',
        '\u{1f600}',
    ] {
        // In a key, so that NEL (which values fold) is refused too.
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {format!("k{c}"): format!("a{c}b")}});
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("r.yaml"),
            yaml_safe(&ferry::goyaml::to_json(&object)),
        )
        .expect("write");
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources: [r.yaml]\n",
        )
        .expect("write");
        let out = Command::new(&kubectl)
            .arg("kustomize")
            .arg(dir.path())
            .output()
            .expect("run kubectl");
        let flagged = ferry::goyaml::unwritable_char(&object).is_some();
        if out.status.success() == flagged {
            failures.push(format!(
                "U+{:04X}: kubectl ok={} but flagged={flagged}",
                c as u32,
                out.status.success()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
