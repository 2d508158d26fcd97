//! The `cargo fuzz` targets (`fuzz/`, outside the workspace): the SOPS parser (`sops_parse`)
//! and the Go template engine (`gotmpl`), run on the stable toolchain: libFuzzer's
//! instrumentation flags are nightly-only, and `RUSTC_BOOTSTRAP=1` lets stable rustc take them.
//! `cargo xtask test` fuzzes each for `FERRY_FUZZ_SECONDS` (default 60, 0 skips);
//! `cargo xtask fuzz [gotmpl] [SECONDS]` runs one longer. Both install cargo-fuzz when it is
//! missing. New inputs go to `fuzz/corpus/<target>` (ignored by git), the committed seeds
//! stay in `fuzz/seeds/<target>`, and a crashing input is saved in `fuzz/artifacts/`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

const TARGETS: [&str; 2] = ["sops_parse", "gotmpl"];
/// The cargo-fuzz release installed when `cargo fuzz` is missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Seconds of fuzzing in `cargo xtask test` unless `FERRY_FUZZ_SECONDS` says otherwise.
const SUITE_SECONDS: u64 = 60;
/// Seconds of `cargo xtask fuzz` without an argument.
const LONG_SECONDS: u64 = 600;
/// Seconds one input may take before libFuzzer reports it (slow units are bugs too); generous
/// because the machine is shared.
const UNIT_TIMEOUT: u64 = 20;

/// The suite's short run: `FERRY_FUZZ_SECONDS` (default 60; 0 skips).
pub fn suite(root: &Path) -> Result<()> {
    let secs = match std::env::var("FERRY_FUZZ_SECONDS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .with_context(|| format!("FERRY_FUZZ_SECONDS=`{v}` is not a number of seconds"))?,
        _ => SUITE_SECONDS,
    };
    if secs == 0 {
        eprintln!("==> fuzz: skipped (FERRY_FUZZ_SECONDS=0)");
        return Ok(());
    }
    for target in TARGETS {
        fuzz(root, target, secs)?;
    }
    Ok(())
}

/// `cargo xtask fuzz [SECONDS]`: a longer run (default 600 s).
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let (target, args) = match args.first().map(String::as_str) {
        Some(t) if TARGETS.contains(&t) => (t, &args[1..]),
        _ => (TARGETS[0], args),
    };
    let secs = match args {
        [] => LONG_SECONDS,
        [s] => s
            .parse()
            .with_context(|| format!("`{s}` is not a number of seconds"))?,
        _ => bail!("usage: cargo xtask fuzz [sops_parse|gotmpl] [SECONDS]"),
    };
    fuzz(root, target, secs)
}

/// Installs cargo-fuzz from crates.io unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz() -> Result<()> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    eprintln!("==> cargo install cargo-fuzz {CARGO_FUZZ_VERSION} (once; takes a minute or two)");
    crate::run(Command::new("cargo").args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))
}

/// `cargo fuzz <task> --fuzz-dir fuzz sops_parse` with the environment that makes it work on
/// stable.
fn cargo_fuzz(root: &Path, task: &str, target: &str) -> Command {
    let mut cmd = Command::new("cargo");
    // `cargo xtask` runs us with xtask's CARGO_PKG_* and CARGO_MANIFEST_* set; build scripts
    // that watch them (ring's) would rebuild half of fuzz/target whenever a run alternates
    // with one from a shell.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*key,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(&*key);
        }
    }
    cmd.env("RUSTC_BOOTSTRAP", "1")
        .current_dir(root)
        .args(["fuzz", task, "--fuzz-dir"])
        .arg(root.join("fuzz"))
        .arg(target);
    cmd
}

/// The files in `dir` modified since `since`.
fn new_files(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn fuzz(root: &Path, target: &str, secs: u64) -> Result<()> {
    ensure_cargo_fuzz()?;
    let fuzz_dir = root.join("fuzz");
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("cannot create {}", artifacts.display()))?;
    // Built first, on its own: a cold build takes minutes and is not fuzzing time.
    eprintln!("==> cargo fuzz build {target} (release, address sanitizer; fuzz/target)");
    let t0 = Instant::now();
    crate::run(&mut cargo_fuzz(root, "build", target))?;
    eprintln!("    built in {:.0?}", t0.elapsed());
    eprintln!("==> cargo fuzz run {target} for {secs} s");
    let started = SystemTime::now();
    let status = cargo_fuzz(root, "run", target)
        .arg(&corpus)
        .arg(&seeds)
        .args([
            "--".to_string(),
            format!("-max_total_time={secs}"),
            format!("-timeout={UNIT_TIMEOUT}"),
            "-print_final_stats=1".to_string(),
        ])
        .status()
        .context("cannot start cargo fuzz run")?;
    if status.success() {
        eprintln!("    no crash in {secs} s");
        return Ok(());
    }
    let found = new_files(&artifacts, started);
    if found.is_empty() {
        bail!(
            "cargo fuzz run {target} failed with {status} and saved no input in {}",
            artifacts.display()
        );
    }
    let list: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "the fuzz target {target} crashed (or ran out of time or memory) on an input; saved at:\n  {}\n\
         reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz {target} {}",
        list.join("\n  "),
        list[0]
    )
}
