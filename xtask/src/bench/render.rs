//! `cargo xtask bench render`: every kustomize root of the shared corpus rendered three ways,
//! per root and in total, in one run:
//!
//! - native in process: the renderer as `ferry build` runs it, once per root inside one process
//!   (the release-built example `bench_render_inprocess` calls the same library entry point,
//!   `NativeKustomizeRenderer`, and reports the median of its timed renders after a warm-up);
//! - native as a whole process: `ferry render kustomize --renderer native`, start-up included;
//! - `kubectl kustomize`, a whole process, which is how the binary renderer always runs.
//!
//! Both native paths are checked byte for byte against the corpus before anything is timed.
//! The target judges in-process native against kubectl (the cost inside `ferry build`); the
//! whole-process ratio is printed beside it.

use crate::measure::{self, mb, median};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Target: native (in process) at least this many times faster than kubectl in total.
const TARGET_SPEEDUP: f64 = 20.0;

/// The in-process measuring program, an example of the ferry package.
const INPROCESS: &str = "bench_render_inprocess";

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

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(default)
}

/// Builds the in-process measuring program in release and returns its path.
fn release_inprocess(root: &Path) -> Result<PathBuf> {
    eprintln!("==> cargo build --release --example {INPROCESS}");
    crate::run(
        Command::new("cargo")
            .args(["build", "--release", "--quiet", "--example", INPROCESS])
            .current_dir(root),
    )?;
    Ok(crate::target_dir(root)?
        .join("release/examples")
        .join(INPROCESS))
}

/// One in-process sample: the median render time the program reports and its peak RSS.
fn inprocess(program: &Path, dir: &Path, inner: usize, case: &Case) -> Result<(Duration, u64)> {
    let out = Command::new(program)
        .arg(dir)
        .arg(inner.to_string())
        .arg(format!("{}={}", case.path, case.expected.display()))
        .output()
        .context("run the in-process measuring program")?;
    if !out.status.success() {
        bail!(
            "{}: in-process render failed or differs from the corpus\n{}",
            case.id,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.trim_end().split('\t').collect();
    let parse = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("{}: unexpected in-process output {text:?}", case.id))
    };
    Ok((Duration::from_nanos(parse(1)?), parse(3)?))
}

pub fn run(root: &Path) -> Result<()> {
    let runs = env_count("FERRY_BENCH_RUNS", 5);
    let inner = env_count("FERRY_BENCH_INNER", 20);
    let (path, _) = crate::tools::ensure(root, false)?;
    let ferry = super::release_ferry(root)?;
    let program = release_inprocess(root)?;
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
        // Its deprecation warnings would break up the table; its output is not compared.
        c.arg("kustomize")
            .arg(dir.join(&case.path))
            .env("PATH", &path)
            .stderr(std::process::Stdio::null());
        c
    };
    eprintln!("==> checking native output (whole process and in process) against the corpus");
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
        inprocess(&program, &dir, 1, case)?;
    }
    eprintln!(
        "==> {} roots, {runs} interleaved rounds (in process: median of {inner} renders per round)",
        cases.len()
    );
    println!(
        "\nbench render: {} corpus kustomize roots; median of {runs} interleaved rounds",
        cases.len()
    );
    println!(
        "in-proc: native renderer inside one process (median of {inner} renders after a warm-up);"
    );
    println!("process: `ferry render kustomize --renderer native`; kubectl: `kubectl kustomize`");
    println!(
        "{:<38} {:>9} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "root", "in-proc", "process", "kubectl", "x in-pr", "x proc", "RSS in", "RSS pr", "RSS kub"
    );
    let (mut total_in, mut total_native, mut total_kubectl) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut peak_in, mut peak_native, mut peak_kubectl) = (0u64, 0u64, 0u64);
    for case in &cases {
        let (mut iw, mut nw, mut kw) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ir, mut nr, mut kr) = (0u64, 0u64, 0u64);
        for _ in 0..runs {
            let (i, rss) = inprocess(&program, &dir, inner, case)?;
            let n = measure::run(&mut native(case))?;
            let k = measure::run(&mut kubectl(case))?;
            iw.push(i);
            nw.push(n.wall);
            kw.push(k.wall);
            ir = ir.max(rss);
            nr = nr.max(n.max_rss);
            kr = kr.max(k.max_rss);
        }
        let (i, n, k) = (median(iw), median(nw), median(kw));
        total_in += i;
        total_native += n;
        total_kubectl += k;
        peak_in = peak_in.max(ir);
        peak_native = peak_native.max(nr);
        peak_kubectl = peak_kubectl.max(kr);
        println!(
            "{:<38} {:>9} {:>9} {:>10} {:>7.0}x {:>7.1}x {:>8} {:>8} {:>8}",
            case.id.trim_start_matches("kustomize-"),
            us(i),
            ms2(n),
            ms2(k),
            k.as_secs_f64() / i.as_secs_f64(),
            k.as_secs_f64() / n.as_secs_f64(),
            mb(ir),
            mb(nr),
            mb(kr)
        );
    }
    let speedup_in = total_kubectl.as_secs_f64() / total_in.as_secs_f64();
    let speedup_process = total_kubectl.as_secs_f64() / total_native.as_secs_f64();
    println!(
        "{:<38} {:>9} {:>9} {:>10} {:>7.0}x {:>7.1}x {:>8} {:>8} {:>8}",
        "TOTAL (memory: largest root)",
        us(total_in),
        ms2(total_native),
        ms2(total_kubectl),
        speedup_in,
        speedup_process,
        mb(peak_in),
        mb(peak_native),
        mb(peak_kubectl)
    );
    println!("RSS in: peak resident set of the measuring process after rendering that root {inner}+ times");
    println!(
        "target: native in process >= {TARGET_SPEEDUP}x faster than kubectl in total: {:.0}x {}; \
         as whole processes: {speedup_process:.1}x ({}); peak memory below kubectl's: {}",
        speedup_in,
        if speedup_in >= TARGET_SPEEDUP {
            "ok"
        } else {
            "MISSED"
        },
        if speedup_process >= TARGET_SPEEDUP {
            "also >= the target"
        } else {
            "below the target: a process start per root"
        },
        if peak_in < peak_kubectl && peak_native < peak_kubectl {
            "ok"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
