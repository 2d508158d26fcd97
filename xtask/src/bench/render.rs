//! `cargo xtask bench render`: every kustomize root of the shared corpus rendered by the
//! native renderer (`ferry render kustomize --renderer native`, a release build) and by
//! `kubectl kustomize`, per root and in total, in one run. Both sides are whole processes, so
//! ferry's figure includes its start-up; the output is checked byte for byte first.

use crate::measure::{self, mb, median};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Target: native at least this many times faster in total.
const TARGET_SPEEDUP: f64 = 20.0;

struct Case {
    id: String,
    path: String,
    expected: PathBuf,
}

fn corpus(root: &Path) -> Result<PathBuf> {
    let dir = std::env::var_os("FERRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus"));
    if !dir.join("cases.tsv").is_file() {
        bail!(
            "no corpus at {} (set FERRY_CORPUS to a directory with cases.tsv)",
            dir.display()
        );
    }
    Ok(dir)
}

fn cases(dir: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(dir.join("cases.tsv")).context("read cases.tsv")?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            (c.len() >= 9 && c[1] == "kustomize" && c[7] == "ok").then(|| Case {
                id: c[0].to_string(),
                path: c[2].to_string(),
                expected: dir.join(c[8]),
            })
        })
        .collect())
}

fn ms2(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn run(root: &Path) -> Result<()> {
    let runs: usize = std::env::var("FERRY_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5);
    let (path, _) = crate::tools::ensure(root, false)?;
    let ferry = super::release_ferry(root)?;
    let dir = corpus(root)?;
    let cases = cases(&dir)?;
    let native = |case: &Case| {
        let mut c = Command::new(&ferry);
        c.args(["--repo"]).arg(&dir).args([
            "render",
            "kustomize",
            "--renderer",
            "native",
            &case.path,
        ]);
        c
    };
    let kubectl = |case: &Case| {
        let mut c = Command::new("kubectl");
        c.arg("kustomize")
            .arg(dir.join(&case.path))
            .env("PATH", &path);
        c
    };
    eprintln!("==> checking native output against the corpus");
    for case in &cases {
        let out = native(case).output().context("run ferry")?;
        let want = std::fs::read(&case.expected)?;
        if !out.status.success() || out.stdout != want {
            bail!(
                "{}: native output differs from the corpus; fix that before timing\n{}",
                case.id,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    eprintln!("==> {} roots, {runs} runs each side (median)", cases.len());
    println!("\nbench render: {} corpus kustomize roots, native vs kubectl kustomize (whole processes, median of {runs})", cases.len());
    println!(
        "{:<46} {:>10} {:>10} {:>8} {:>9} {:>9}",
        "root", "native", "kubectl", "faster", "RSS nat", "RSS kub"
    );
    let (mut total_native, mut total_kubectl) = (Duration::ZERO, Duration::ZERO);
    let (mut peak_native, mut peak_kubectl) = (0u64, 0u64);
    for case in &cases {
        let (mut nw, mut kw) = (Vec::new(), Vec::new());
        let (mut nr, mut kr) = (0u64, 0u64);
        for _ in 0..runs {
            let n = measure::run(&mut native(case))?;
            let k = measure::run(&mut kubectl(case))?;
            nw.push(n.wall);
            kw.push(k.wall);
            nr = nr.max(n.max_rss);
            kr = kr.max(k.max_rss);
        }
        let (n, k) = (median(nw), median(kw));
        total_native += n;
        total_kubectl += k;
        peak_native = peak_native.max(nr);
        peak_kubectl = peak_kubectl.max(kr);
        println!(
            "{:<46} {:>10} {:>10} {:>7.1}x {:>9} {:>9}",
            case.id.trim_start_matches("kustomize-"),
            ms2(n),
            ms2(k),
            k.as_secs_f64() / n.as_secs_f64(),
            mb(nr),
            mb(kr)
        );
    }
    let speedup = total_kubectl.as_secs_f64() / total_native.as_secs_f64();
    println!(
        "{:<46} {:>10} {:>10} {:>7.1}x {:>9} {:>9}",
        "TOTAL (peak memory: largest root)",
        ms2(total_native),
        ms2(total_kubectl),
        speedup,
        mb(peak_native),
        mb(peak_kubectl)
    );
    println!(
        "target: >= {TARGET_SPEEDUP}x faster in total: {}; peak memory below kubectl's: {}",
        if speedup >= TARGET_SPEEDUP {
            "ok"
        } else {
            "MISSED"
        },
        if peak_native < peak_kubectl {
            "ok"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
