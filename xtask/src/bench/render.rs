//! `cargo xtask bench render [kustomize|helm]`: every kustomize root and every deterministic
//! helm chart of the shared corpus rendered three ways, per case and in total, in one run:
//!
//! - native in process: the renderer as `ferry build` runs it, once per case inside one
//!   process (the release-built example `bench_render_inprocess` calls the same library entry
//!   points, `NativeKustomizeRenderer` and `NativeHelmRenderer`, and reports the median of its
//!   timed renders after a warm-up);
//! - native as a whole process: `ferry render kustomize|helm --renderer native`, start-up
//!   included;
//! - the peer, `kubectl kustomize` or `helm template`, a whole process, which is how the binary
//!   renderer always runs.
//!
//! Both native paths are checked byte for byte against the corpus before anything is timed,
//! and so is the peer's own output in this run (the installed helm or kubectl must be the one
//! the corpus recorded). The target judges in-process native against the peer (the cost inside
//! `ferry build`); the whole-process ratio is printed beside it.

use crate::measure::{self, mb, median};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Targets (issues 18 and 17): native in process at least this many times faster than the
/// peer in total.
const TARGET_KUSTOMIZE: f64 = 20.0;
const TARGET_HELM: f64 = 30.0;

/// The in-process measuring program, an example of the ferry package.
const INPROCESS: &str = "bench_render_inprocess";

/// The `--kube-version` every corpus helm case was recorded with.
const KUBE_VERSION: &str = "1.31.0";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Kustomize,
    Helm,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Kustomize => "kustomize",
            Kind::Helm => "helm",
        }
    }

    fn peer(self) -> &'static str {
        match self {
            Kind::Kustomize => "kubectl",
            Kind::Helm => "helm",
        }
    }

    fn target(self) -> f64 {
        match self {
            Kind::Kustomize => TARGET_KUSTOMIZE,
            Kind::Helm => TARGET_HELM,
        }
    }
}

struct Case {
    id: String,
    kind: Kind,
    path: String,
    release: String,
    namespace: String,
    values: String,
    api_versions: Vec<String>,
    expected: PathBuf,
}

impl Case {
    /// What the in-process program takes (see examples/bench_render_inprocess.rs).
    fn spec(&self) -> String {
        match self.kind {
            Kind::Kustomize => format!("{}={}", self.path, self.expected.display()),
            Kind::Helm => format!(
                "helm:{}|{}|{}|{}|{}={}",
                self.path,
                self.release,
                self.namespace,
                self.values,
                self.api_versions.join(","),
                self.expected.display()
            ),
        }
    }

    /// `helm template` / `ferry render helm` arguments after the command, as the corpus
    /// recorded them.
    fn helm_args(&self) -> Vec<String> {
        let mut a = vec![
            self.release.clone(),
            self.path.clone(),
            "-n".into(),
            self.namespace.clone(),
            "-f".into(),
            self.values.clone(),
            "--kube-version".into(),
            KUBE_VERSION.into(),
        ];
        for v in &self.api_versions {
            a.extend(["--api-versions".to_string(), v.clone()]);
        }
        a
    }
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

/// The corpus cases that render (`ok`) and, for helm, render the same each time
/// (`deterministic`), as tests/helm_native_corpus.rs reads them.
fn cases(dir: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(dir.join("cases.tsv")).context("read cases.tsv")?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        if c.len() < 10 || c[7] != "ok" {
            continue;
        }
        let kind = match c[1] {
            "kustomize" => Kind::Kustomize,
            "helm" if c[9] == "yes" => Kind::Helm,
            _ => continue,
        };
        let mut api_versions = Vec::new();
        let extra: Vec<&str> = c[6].split_whitespace().collect();
        let mut i = 0;
        while i < extra.len() {
            match (extra[i], extra.get(i + 1)) {
                ("-", _) => {}
                ("--api-versions", Some(v)) => {
                    api_versions.push(v.to_string());
                    i += 1;
                }
                (other, _) => bail!("{}: helm flag {other} not understood by the bench", c[0]),
            }
            i += 1;
        }
        out.push(Case {
            id: c[0].to_string(),
            kind,
            path: c[2].to_string(),
            release: c[3].to_string(),
            namespace: c[4].to_string(),
            values: c[5].to_string(),
            api_versions,
            expected: dir.join(c[8]),
        });
    }
    Ok(out)
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

/// One in-process sample: the median render time the program reports, its peak RSS and the
/// time of the case's first render in that process.
fn inprocess(
    program: &Path,
    dir: &Path,
    inner: usize,
    case: &Case,
) -> Result<(Duration, u64, Duration)> {
    let out = Command::new(program)
        .arg(dir)
        .arg(inner.to_string())
        .arg(case.spec())
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
    Ok((
        Duration::from_nanos(parse(1)?),
        parse(3)?,
        Duration::from_nanos(parse(4)?),
    ))
}

/// What runs a case as a whole process: native ferry or the peer.
struct Runner<'a> {
    ferry: &'a Path,
    dir: &'a Path,
    path: &'a str,
}

impl Runner<'_> {
    fn native(&self, case: &Case) -> Command {
        let mut c = Command::new(self.ferry);
        c.args(["--repo"])
            .arg(self.dir)
            .args(["render", case.kind.name(), "--renderer", "native"]);
        match case.kind {
            Kind::Kustomize => c.arg(&case.path),
            Kind::Helm => c.args(case.helm_args()),
        };
        c
    }

    fn peer(&self, case: &Case) -> Command {
        let mut c = Command::new(case.kind.peer());
        match case.kind {
            Kind::Kustomize => c.arg("kustomize").arg(self.dir.join(&case.path)),
            Kind::Helm => c.arg("template").args(case.helm_args()),
        };
        // Deprecation warnings would break up the table; the output is compared, not stderr.
        c.current_dir(self.dir)
            .env("PATH", self.path)
            .stderr(std::process::Stdio::null());
        c
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let kinds: Vec<Kind> = match args.first().map(String::as_str) {
        None => vec![Kind::Kustomize, Kind::Helm],
        Some("kustomize") => vec![Kind::Kustomize],
        Some("helm") => vec![Kind::Helm],
        Some(other) => bail!("bench render [kustomize|helm]: unknown {other:?}"),
    };
    let runs = env_count("FERRY_BENCH_RUNS", 5);
    let inner = env_count("FERRY_BENCH_INNER", 20);
    let (path, _) = crate::tools::ensure(root, false)?;
    let ferry = super::release_ferry(root)?;
    let program = release_inprocess(root)?;
    let dir = corpus(root)?;
    let all = cases(&dir)?;
    let runner = Runner {
        ferry: &ferry,
        dir: &dir,
        path: &path,
    };
    for kind in kinds {
        let cases: Vec<&Case> = all.iter().filter(|c| c.kind == kind).collect();
        check(&runner, &program, &cases)?;
        table(&runner, &program, kind, &cases, runs, inner)?;
    }
    Ok(())
}

/// Native output (whole process and in process) and the peer's output in this run, each
/// against the corpus, before anything is timed.
fn check(runner: &Runner<'_>, program: &Path, cases: &[&Case]) -> Result<()> {
    eprintln!("==> checking native (process, in process) and peer output against the corpus");
    for case in cases {
        let want = std::fs::read(&case.expected)?;
        let out = runner.native(case).output().context("run ferry")?;
        if !out.status.success() || out.stdout != want {
            bail!(
                "{}: native output differs from the corpus; fix that before timing\n{}",
                case.id,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        inprocess(program, runner.dir, 1, case)?;
        let peer = runner
            .peer(case)
            .stderr(std::process::Stdio::piped())
            .output()
            .with_context(|| format!("run {}", case.kind.peer()))?;
        if !peer.status.success() || peer.stdout != want {
            bail!(
                "{}: {}'s output in this run differs from the corpus (another version?)\n{}",
                case.id,
                case.kind.peer(),
                String::from_utf8_lossy(&peer.stderr)
            );
        }
    }
    Ok(())
}

/// Times every case (interleaved rounds) and prints the table with its totals and verdict.
fn table(
    runner: &Runner<'_>,
    program: &Path,
    kind: Kind,
    cases: &[&Case],
    runs: usize,
    inner: usize,
) -> Result<()> {
    let (name, peer) = (kind.name(), kind.peer());
    eprintln!(
        "==> {} {name} cases, {runs} interleaved rounds (in process: median of {inner} renders per round)",
        cases.len()
    );
    let what = match kind {
        Kind::Kustomize => "corpus kustomize roots",
        Kind::Helm => "deterministic corpus helm charts",
    };
    println!(
        "\nbench render {name}: {} {what}; median of {runs} interleaved rounds",
        cases.len()
    );
    println!(
        "in-proc: native renderer inside one process (median of {inner} renders after a warm-up);"
    );
    let peer_cmd = match kind {
        Kind::Kustomize => "`kubectl kustomize`",
        Kind::Helm => "`helm template`",
    };
    println!("process: `ferry render {name} --renderer native`; {peer}: {peer_cmd}");
    let head_peer = format!("RSS {}", &peer[..3]);
    println!(
        "{:<42} {:>9} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "case", "in-proc", "process", peer, "x in-pr", "x proc", "RSS in", "RSS pr", head_peer
    );
    let (mut total_in, mut total_native, mut total_peer) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut total_first = Duration::ZERO;
    let (mut peak_in, mut peak_native, mut peak_peer) = (0u64, 0u64, 0u64);
    for case in cases {
        let (mut iw, mut nw, mut pw) = (Vec::new(), Vec::new(), Vec::new());
        let mut fw = Vec::new();
        let (mut ir, mut nr, mut pr) = (0u64, 0u64, 0u64);
        for _ in 0..runs {
            let (i, rss, first) = inprocess(program, runner.dir, inner, case)?;
            fw.push(first);
            let n = measure::run(&mut runner.native(case))?;
            let p = measure::run(&mut runner.peer(case))?;
            iw.push(i);
            nw.push(n.wall);
            pw.push(p.wall);
            ir = ir.max(rss);
            nr = nr.max(n.max_rss);
            pr = pr.max(p.max_rss);
        }
        let (i, n, p) = (median(iw), median(nw), median(pw));
        total_first += median(fw);
        total_in += i;
        total_native += n;
        total_peer += p;
        peak_in = peak_in.max(ir);
        peak_native = peak_native.max(nr);
        peak_peer = peak_peer.max(pr);
        println!(
            "{:<42} {:>9} {:>9} {:>10} {:>7.0}x {:>7.1}x {:>8} {:>8} {:>8}",
            case.id
                .trim_start_matches("kustomize-")
                .trim_start_matches("helm-"),
            us(i),
            ms2(n),
            ms2(p),
            p.as_secs_f64() / i.as_secs_f64(),
            p.as_secs_f64() / n.as_secs_f64(),
            mb(ir),
            mb(nr),
            mb(pr)
        );
    }
    let speedup_in = total_peer.as_secs_f64() / total_in.as_secs_f64();
    let speedup_process = total_peer.as_secs_f64() / total_native.as_secs_f64();
    println!(
        "{:<42} {:>9} {:>9} {:>10} {:>7.0}x {:>7.1}x {:>8} {:>8} {:>8}",
        "TOTAL (memory: largest case)",
        us(total_in),
        ms2(total_native),
        ms2(total_peer),
        speedup_in,
        speedup_process,
        mb(peak_in),
        mb(peak_native),
        mb(peak_peer)
    );
    println!("RSS in: peak resident set of the measuring process after rendering that case {inner}+ times");
    println!(
        "first render of each case in its process (reusing nothing a render of it left: \
         parsed templates, manifest heads, compiled schemas and patterns, the loaded chart): {} in total, {:.1}x {peer}",
        us(total_first),
        total_peer.as_secs_f64() / total_first.as_secs_f64()
    );
    let target = kind.target();
    println!(
        "target: native in process >= {target}x faster than {peer} in total: {:.0}x {}; \
         as whole processes: {speedup_process:.1}x ({}); peak memory below {peer}'s: {}",
        speedup_in,
        if speedup_in >= target { "ok" } else { "MISSED" },
        if speedup_process >= target {
            "also >= the target"
        } else {
            "below the target: a process start per case"
        },
        if peak_in < peak_peer && peak_native < peak_peer {
            "ok"
        } else {
            "MISSED"
        }
    );
    Ok(())
}
