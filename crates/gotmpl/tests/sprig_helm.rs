//! Sprig's functions in ferry's engine against the real helm (v4.1.4, Go's Sprig v3.3.0):
//! every case of tests/sprig/*.tmpl becomes a template of a generated chart, rendered by
//! `helm template` and natively, the outputs compared byte for byte. Each case is a `define`
//! included (Helm's own `include`) and base64-encoded into a YAML comment, so any output
//! survives Helm's manifest handling. helm comes from ~/.cache/gitops-peers/bin or PATH; with
//! none, the test skips unless FERRY_REQUIRE_PEERS=1.

mod support;

use gotmpl::{Func, MissingKey, Signature, Templates, Type, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use support::{read_corpus, Case};

fn helm() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    std::iter::once(home.join(".cache/gitops-peers/bin"))
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ))
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
}

/// The engine as Helm sets it up: Sprig, an `include`, missingkey=zero.
fn native_set() -> Templates {
    let mut funcs = gotmpl::sprig::funcs();
    funcs.insert(
        "include",
        Func::new(Signature::fixed(&[Type::String, Type::Any]), |ctx, a| {
            let name = a[0].as_str().unwrap_or("").to_string();
            ctx.execute_template(&name, a[1].clone())
                .map(|s| Value::str(&s))
                .map_err(|e| e.to_string())
        }),
    );
    let mut t = Templates::with_funcs(funcs);
    t.missing_key = MissingKey::Zero;
    t
}

fn b64decode(s: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .expect("helm wrote base64");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Renders `cases` (all with the same values) with helm: output of each case by index.
fn render_with_helm(helm: &PathBuf, cases: &[&Case]) -> Result<BTreeMap<usize, String>, String> {
    let dir = tempfile_dir();
    let chart = dir.join("sprigtest");
    std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: sprigtest\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(chart.join("values.yaml"), cases[0].data.to_string()).expect("values");
    for (i, c) in cases.iter().enumerate() {
        std::fs::write(chart.join(format!("templates/c{i}.yaml")), file_text(i, c))
            .expect("template");
    }
    let out = Command::new(helm)
        .args(["template", "rel"])
        .arg(&chart)
        .output()
        .expect("run helm");
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut res = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(src) = line.strip_prefix("# Source: sprigtest/templates/c") {
            current = src
                .strip_suffix(".yaml")
                .and_then(|n| n.parse::<usize>().ok());
        } else if let (Some(i), Some(b64)) = (current, line.strip_prefix("# ")) {
            res.insert(i, b64decode(b64));
            current = None;
        }
    }
    Ok(res)
}

fn tempfile_dir() -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for n in 0.. {
        let d = base.join(format!("sprig-chart-{}-{n}", std::process::id()));
        if std::fs::create_dir(&d).is_ok() {
            return d;
        }
    }
    unreachable!()
}

/// The text of the chart file holding case `i`.
fn file_text(i: usize, c: &Case) -> String {
    format!(
        "{{{{- define \"c{i}\" }}}}{}{{{{ end }}}}# {{{{ include \"c{i}\" . | b64enc }}}}\n",
        c.text
    )
}

/// An error case alone in a chart: helm's error message (without "Error: ").
fn helm_error(helm: &PathBuf, c: &Case) -> String {
    match render_with_helm(helm, &[c]) {
        Ok(out) => format!("no error; output {out:?}"),
        Err(e) => go_words(e.trim_end().strip_prefix("Error: ").unwrap_or(&e)),
    }
}

/// Helm rewords Go's template errors (a `--debug` hint; for argument errors, one indented
/// line per template); this undoes it, so the engine is held to Go's own words. Helm's
/// wording is the Helm layer's business.
fn go_words(e: &str) -> String {
    let e = e
        .strip_suffix("\n\nUse --debug flag to render out invalid YAML")
        .unwrap_or(e);
    if e.starts_with("template: ") || !e.contains("\n  executing ") {
        return e.to_string();
    }
    let lines: Vec<&str> = e.lines().collect();
    let mut out = String::new();
    for chunk in lines.chunks(3) {
        if let [loc, exec, msg] = chunk {
            if !out.is_empty() {
                out.push(' ');
            }
            let exec = exec.trim().trim_end_matches(':');
            out.push_str(&format!("template: {loc}: {exec}: {}", msg.trim()));
        }
    }
    out
}

/// The same file parsed and executed natively, as Helm would: its error message.
fn native_error(c: &Case) -> String {
    let mut t = native_set();
    let name = "sprigtest/templates/c0.yaml";
    if let Err(e) = t.parse(name, &file_text(0, c)) {
        return e.to_string();
    }
    let data = Value::map([("Values".to_string(), Value::from_json(&c.data))].into());
    match t.execute(name, data) {
        Ok(out) => format!("no error; output {out:?}"),
        Err(e) => e.to_string(),
    }
}

fn native(c: &Case) -> Result<String, String> {
    let mut t = native_set();
    let body = format!("{{{{- define \"c\" }}}}{}{{{{ end }}}}", c.text);
    t.parse("case", &body).map_err(|e| e.to_string())?;
    let data = Value::map([("Values".to_string(), Value::from_json(&c.data))].into());
    t.execute("c", data).map_err(|e| e.to_string())
}

#[test]
fn sprig_functions_match_helm() {
    let Some(helm) = helm() else {
        if std::env::var("FERRY_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("helm is required (FERRY_REQUIRE_PEERS=1) but not found");
        }
        eprintln!("SKIP: no helm");
        return;
    };
    let mut cases = Vec::new();
    let files = support::corpus_files("sprig");
    for f in files {
        cases.extend(read_corpus(&std::fs::read_to_string(f).expect("read")));
    }
    // Error cases (named err_*) one chart each; the rest one chart per distinct values.
    let mut diffs = Vec::new();
    let (errors, cases): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(|c| c.name.starts_with("err_"));
    for c in &errors {
        let (want, got) = (helm_error(&helm, c), native_error(c));
        if want != got {
            diffs.push(format!(
                "case {}:\n  template: {:?}\n  helm:  {want:?}\n  ferry: {got:?}",
                c.name, c.text
            ));
        }
    }
    let mut groups: BTreeMap<String, Vec<&Case>> = BTreeMap::new();
    for c in &cases {
        groups.entry(c.data.to_string()).or_default().push(c);
    }
    for group in groups.values() {
        let want = render_with_helm(&helm, group)
            .unwrap_or_else(|e| panic!("helm failed on the sprig corpus:\n{e}"));
        for (i, c) in group.iter().enumerate() {
            let got = native(c);
            let w = want.get(&i).cloned();
            if w.as_ref() != got.as_ref().ok() {
                diffs.push(format!(
                    "case {}:\n  template: {:?}\n  helm:  {:?}\n  ferry: {:?}",
                    c.name, c.text, w, got
                ));
            }
        }
    }
    eprintln!(
        "{} sprig cases against helm, {} differences",
        cases.len(),
        diffs.len()
    );
    assert!(
        diffs.is_empty(),
        "{} differences from helm:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
