//! `cargo xtask bench build`: a synthetic repository of 100 apps x 3 environments (helm apps on
//! the corpus charts with varied values, kustomize apps with per-environment overlays), built
//! by ferry cold, warm and after one change, beside the sequential `helm template` /
//! `kubectl kustomize` loop a CI script runs today.
//!
//! ferry's default builds run with no helm and no kubectl on PATH, so `renderer: auto` cannot
//! hand anything to a binary: a chart or root native refused would fail the build. Their
//! object files are checked against a `--renderer binary` build (helm and kubectl per pair).

use crate::measure::{self, mb, ms, secs};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const ENVS: [&str; 3] = ["dev", "staging", "prod"];
/// Issue 17's targets: cold build against the sequential loop, warm rebuild, one change, peak.
const TARGET_COLD: f64 = 20.0;
const TARGET_WARM_MS: u128 = 100;
const TARGET_ONE_MS: u128 = 300;
const TARGET_PEAK_MB: u64 = 150;
const HELM_APPS: usize = 60;
const KUSTOMIZE_APPS: usize = 40;
/// Deterministic charts from the corpus that render without extra flags.
pub(super) const CHARTS: [&str; 6] = [
    "podinfo",
    "kube-state-metrics",
    "prometheus-node-exporter",
    "metrics-server",
    "descheduler",
    "prometheus-blackbox-exporter",
];

pub(super) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for e in walk(from)? {
        let rel = e.strip_prefix(from)?;
        let dest = to.join(rel);
        if e.is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else {
            std::fs::create_dir_all(dest.parent().expect("file has a parent"))?;
            std::fs::copy(&e, &dest)?;
        }
    }
    Ok(())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

pub(super) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::create_dir_all(path.parent().expect("file has a parent"))?;
    std::fs::write(path, text)?;
    Ok(())
}

pub(super) fn git(repo: &Path, args: &[&str]) -> Result<()> {
    crate::run(
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_AUTHOR_NAME", "bench")
            .env("GIT_AUTHOR_EMAIL", "bench@ferry.dev")
            .env("GIT_COMMITTER_NAME", "bench")
            .env("GIT_COMMITTER_EMAIL", "bench@ferry.dev")
            .stdout(std::process::Stdio::null()),
    )
}

/// Copies the corpus charts into `repo/charts/` (podinfo from the example when the corpus is
/// not beside the checkout) and returns their names.
pub(super) fn copy_charts(root: &Path, repo: &Path) -> Result<Vec<&'static str>> {
    let corpus = root.join("../shared/corpus/charts");
    let charts: Vec<&str> = if corpus.is_dir() {
        CHARTS.to_vec()
    } else {
        vec!["podinfo"]
    };
    for c in &charts {
        let src = if corpus.is_dir() {
            corpus.join(c)
        } else {
            root.join("examples/platform/charts/podinfo")
        };
        copy_dir(&src, &repo.join("charts").join(c))?;
    }
    Ok(charts)
}

/// Writes the synthetic repository and returns the peer's shell loop for it.
fn generate(root: &Path, repo: &Path) -> Result<String> {
    let charts = copy_charts(root, repo)?;
    let mut cfg = String::from(
        "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nkubeVersion: \"1.31.0\"\nenvironments:\n",
    );
    for e in ENVS {
        writeln!(cfg, "  {e}: {{}}")?;
    }
    cfg.push_str("apps:\n");
    let mut script = String::from("set -e\n");
    for i in 0..HELM_APPS {
        let app = format!("h{i:03}");
        let chart = charts[i % charts.len()];
        writeln!(cfg, "  {app}:\n    namespace: ns-{app}\n    helm:\n      chart: charts/{chart}\n      values: [\"apps/{app}/values-${{env}}.yaml\"]")?;
        for (n, e) in ENVS.iter().enumerate() {
            write(
                &repo.join(format!("apps/{app}/values-{e}.yaml")),
                &format!(
                    "fullnameOverride: {app}\nreplicaCount: {}\nreplicas: {}\napiService:\n  create: false\n",
                    n + 1,
                    n + 1
                ),
            )?;
            writeln!(script, "mkdir -p peer/{e}; helm template {app} charts/{chart} -n ns-{app} -f apps/{app}/values-{e}.yaml --kube-version 1.31.0 --include-crds > peer/{e}/{app}.yaml")?;
        }
    }
    for i in 0..KUSTOMIZE_APPS {
        let app = format!("k{i:03}");
        writeln!(
            cfg,
            "  {app}:\n    namespace: ns-{app}\n    kustomize: apps/{app}/overlays/${{env}}"
        )?;
        write(&repo.join(format!("apps/{app}/base/kustomization.yaml")), "resources: [deployment.yaml, service.yaml]\nlabels:\n  - pairs: {app.kubernetes.io/part-of: bench}\n    includeSelectors: true\n")?;
        write(&repo.join(format!("apps/{app}/base/deployment.yaml")), &format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n"))?;
        write(&repo.join(format!("apps/{app}/base/service.yaml")), &format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  ports: [{{port: 80}}]\n"))?;
        for (n, e) in ENVS.iter().enumerate() {
            write(
                &repo.join(format!("apps/{app}/overlays/{e}/kustomization.yaml")),
                &format!("resources: [../../base]\nnamePrefix: {e}-\nreplicas: [{{name: {app}, count: {}}}]\nconfigMapGenerator:\n  - name: {app}-env\n    literals: [ENV={e}]\n", n + 1),
            )?;
            writeln!(script, "mkdir -p peer/{e}; kubectl kustomize apps/{app}/overlays/{e} > peer/{e}/{app}.yaml")?;
        }
    }
    write(&repo.join("ferry.yaml"), &cfg)?;
    git(repo, &["init", "-q", "-b", "main"])?;
    git(repo, &["add", "-A"])?;
    git(repo, &["commit", "-q", "-m", "synthetic"])?;
    Ok(script)
}

/// Writes the synthetic repository into `dir` and stops (for profiling by hand).
pub fn generate_only(root: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    generate(root, dir)?;
    eprintln!("synthetic repository written to {}", dir.display());
    Ok(())
}

pub fn run(root: &Path) -> Result<()> {
    let (path, _) = crate::tools::ensure(root, false)?;
    let ferry = super::release_ferry(root)?;
    let work = std::env::temp_dir().join(format!("ferry-bench-build-{}", std::process::id()));
    let repo = work.join("repo");
    std::fs::create_dir_all(&repo)?;
    let script = generate(root, &repo)?;
    let cache = work.join("cache");
    // An empty PATH directory: no helm, no kubectl, so every pair must render natively.
    let no_tools = work.join("no-tools");
    std::fs::create_dir_all(&no_tools)?;
    let build = |extra: &[&str]| -> Result<measure::Sample> {
        measure::run(
            Command::new(&ferry)
                .args(["build", "-q", "-C"])
                .arg(&repo)
                .args(extra)
                .env("PATH", &no_tools)
                .env_remove("FERRY_HELM")
                .env_remove("FERRY_KUSTOMIZE")
                .env("FERRY_CACHE_DIR", &cache),
        )
    };

    eprintln!(
        "==> peer: sequential helm template / kubectl kustomize loop ({} renders)",
        (HELM_APPS + KUSTOMIZE_APPS) * ENVS.len()
    );
    let peer = run_peer_loop(&script, &repo, &path)?;
    eprintln!("==> ferry build, cold cache, no helm or kubectl on PATH");
    let cold = build(&[])?;
    // The same cold build with every chart through helm and every root through kubectl (the
    // default renders them natively), into another directory and cache; its object files must
    // be the same.
    eprintln!("==> ferry build --renderer binary, cold cache");
    let native_out = work.join("out-binary");
    let binary = measure::run(
        Command::new(&ferry)
            .args(["build", "-q", "--renderer", "binary", "-C"])
            .arg(&repo)
            .arg("-o")
            .arg(&native_out)
            .env("PATH", &path)
            .env("FERRY_CACHE_DIR", work.join("cache-binary")),
    )?;
    let same = Command::new("diff")
        .args(["-r", "-q", "-x", "index.json"])
        .arg(repo.join("out"))
        .arg(&native_out)
        .status()?
        .success();
    if !same {
        anyhow::bail!("native and binary builds differ (diff -r out out-binary)");
    }
    eprintln!("==> ferry build, warm, nothing changed (median of 5)");
    let warm = measure::median(
        (0..5)
            .map(|_| build(&[]).map(|s| s.wall))
            .collect::<Result<_>>()?,
    );
    eprintln!("==> ferry build after one app's values changed (median of 3)");
    let mut one = Vec::new();
    for n in 0..3 {
        change_one_app(&repo, n)?;
        one.push(build(&[])?.wall);
    }
    let one = measure::median(one);
    // The same change once more, under strace: what one change costs the file system, and
    // how many pairs it rendered.
    let traced = one_change_syscalls(&ferry, &repo, &no_tools.to_string_lossy(), &cache, 3)?;

    let speedup = peer.wall.as_secs_f64() / cold.wall.as_secs_f64();
    println!("\nbench build: {} apps x {} environments ({HELM_APPS} helm, {KUSTOMIZE_APPS} kustomize), {} cores", HELM_APPS + KUSTOMIZE_APPS, ENVS.len(), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!(
        "{:<34} {:>10} {:>12}   result (target)",
        "", "ferry", "peer loop"
    );
    println!(
        "{:<34} {:>10} {:>12}   {:.2}x faster (>= {TARGET_COLD}x) {}",
        "cold build, all native (auto)",
        secs(cold.wall),
        secs(peer.wall),
        speedup,
        verdict(speedup >= TARGET_COLD)
    );
    let binary_speedup = peer.wall.as_secs_f64() / binary.wall.as_secs_f64();
    println!(
        "{:<34} {:>10} {:>12}   {:.2}x faster (same objects; reference)",
        "cold build, --renderer binary",
        secs(binary.wall),
        secs(peer.wall),
        binary_speedup,
    );
    println!(
        "{:<34} {:>10} {:>12}   (< {TARGET_WARM_MS} ms) {}",
        "warm rebuild, nothing changed",
        ms(warm),
        "-",
        verdict(warm.as_millis() < TARGET_WARM_MS)
    );
    println!(
        "{:<34} {:>10} {:>12}   (< {TARGET_ONE_MS} ms) {}",
        "one app's values changed",
        ms(one),
        "-",
        verdict(one.as_millis() < TARGET_ONE_MS)
    );
    match &traced {
        Some(t) => println!(
            "{:<34} {:>10} {:>12}   {}",
            "  one change: pairs rendered", t.rendered, "-", t.counts
        ),
        None => println!("  one change: syscalls not counted (strace is not installed)"),
    }
    println!(
        "{:<34} {:>10} {:>12}   (< {TARGET_PEAK_MB} MB) {}",
        "peak memory (cold build)",
        mb(cold.max_rss),
        mb(peer.max_rss),
        verdict(cold.max_rss < TARGET_PEAK_MB * 1_048_576)
    );
    println!(
        "load average at the end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "?".into())
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// Commits change number `n` to one app's prod values.
/// Runs the peer's loop, a bash script, in `repo` with the peer tools on `path`.
pub fn run_peer_loop(script: &str, repo: &Path, path: &str) -> Result<measure::Sample> {
    measure::run(
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(repo)
            .env("PATH", path),
    )
}

fn change_one_app(repo: &Path, n: usize) -> Result<()> {
    write(
        &repo.join("apps/h000/values-prod.yaml"),
        &format!(
            "fullnameOverride: h000\nreplicaCount: {}\napiService:\n  create: false\n",
            10 + n
        ),
    )?;
    git(repo, &["commit", "-qam", &format!("one change ({n})")])
}

struct Traced {
    /// Pairs rendered (not served from the cache), over every environment.
    rendered: usize,
    /// `mkdir N, openat N, ...` from `strace -c -f`.
    counts: String,
}

/// Commits one more change to one app's prod values and builds under `strace -c -f`.
fn one_change_syscalls(
    ferry: &Path,
    repo: &Path,
    path: &str,
    cache: &Path,
    n: usize,
) -> Result<Option<Traced>> {
    let Some(strace) = crate::tools::strace() else {
        return Ok(None);
    };
    change_one_app(repo, n)?;
    let summary = repo.join("../strace.txt");
    let out = Command::new(strace)
        .args(["-c", "-f", "-o"])
        .arg(&summary)
        .arg(ferry)
        .args(["build", "-q", "--output", "json", "-C"])
        .arg(repo)
        .env("PATH", path)
        .env("FERRY_CACHE_DIR", cache)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "traced build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let rendered = report["environments"]
        .as_array()
        .map(|envs| {
            envs.iter()
                .map(|e| e["rendered"].as_u64().unwrap_or(0) as usize)
                .sum()
        })
        .unwrap_or(0);
    let text = std::fs::read_to_string(&summary)?;
    Ok(Some(Traced {
        rendered,
        counts: syscall_counts(&text),
    }))
}

/// The calls that show how much of out/ a build touched, from `strace -c` output (its table:
/// `% time  seconds  usecs/call  calls  errors  syscall`).
fn syscall_counts(summary: &str) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for line in summary.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(calls)) = (cols.last(), cols.get(3)) else {
            continue;
        };
        let Ok(calls) = calls.parse::<u64>() else {
            continue;
        };
        let key = match *name {
            "mkdir" | "mkdirat" => "mkdir",
            "open" | "openat" => "openat",
            "link" | "linkat" => "link",
            "rename" | "renameat" | "renameat2" => "rename",
            "unlink" | "unlinkat" | "rmdir" => "unlink",
            "write" => "write",
            _ => continue,
        };
        *counts.entry(key).or_insert(0) += calls;
    }
    ["mkdir", "openat", "link", "rename", "unlink", "write"]
        .iter()
        .map(|k| format!("{k} {}", counts.get(k).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}
