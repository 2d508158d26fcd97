//! `cargo xtask differential [CASES] [SEED]`: the random kustomization differential test
//! (native renderer vs `kubectl kustomize`, byte for byte) with many more cases than the suite's
//! 30, optimised, so a longer search for a difference stays quick.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::Command;

const DEFAULT_CASES: usize = 1000;

/// `cargo xtask differential gotmpl [CASES] [SEED]`: random templates, ferry's engine vs Go's.
fn gotmpl(root: &Path, args: &[String]) -> Result<()> {
    let cases = match args.first() {
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => bail!("CASES must be a positive number, not {n:?}"),
        },
        None => 20_000,
    };
    let go = crate::tools::ensure_go()?;
    eprintln!("==> {cases} random templates, ferry's text/template vs Go's");
    let mut test = Command::new("cargo");
    test.args([
        "test",
        "--release",
        "-p",
        "ferry-gotmpl",
        "--test",
        "differential",
        "random_templates_match_go",
        "--",
        "--nocapture",
    ])
    .env("FERRY_GO", go)
    .env("FERRY_REQUIRE_PEERS", "1")
    .env("FERRY_DIFF_CASES", cases.to_string())
    .current_dir(root);
    if let Some(seed) = args.get(1) {
        if seed.parse::<u64>().is_err() {
            bail!("SEED must be a number, not {seed:?}");
        }
        test.env("FERRY_DIFF_SEED", seed);
    }
    crate::run(&mut test)
}

/// The positional `[CASES] [SEED]` of a differential command.
fn cases_and_seed(args: &[String], default: usize) -> Result<(usize, Option<u64>)> {
    let cases = match args.first() {
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => bail!("CASES must be a positive number, not {n:?}"),
        },
        None => default,
    };
    let seed = match args.get(1) {
        Some(s) => match s.parse::<u64>() {
            Ok(s) => Some(s),
            Err(_) => bail!("SEED must be a number, not {s:?}"),
        },
        None => None,
    };
    Ok((cases, seed))
}

/// `cargo xtask differential helm [CASES] [SEED]`: random charts, native vs `helm template`.
fn helm(root: &Path, args: &[String]) -> Result<()> {
    let (cases, seed) = cases_and_seed(args, DEFAULT_CASES)?;
    let (path, _) = crate::tools::ensure(root, false)?;
    eprintln!("==> {cases} random charts, native vs helm template");
    let mut test = Command::new("cargo");
    test.args([
        "test",
        "--release",
        "--test",
        "helm_native_random",
        "random_charts_match_helm",
        "--",
        "--nocapture",
    ])
    .env("PATH", &path)
    .env("FERRY_REQUIRE_PEERS", "1")
    .env("FERRY_DIFF_CASES", cases.to_string())
    .current_dir(root);
    if let Some(seed) = seed {
        test.env("FERRY_DIFF_SEED", seed.to_string());
    }
    crate::run(&mut test)
}

pub fn command(root: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("gotmpl") => return gotmpl(root, &args[1..]),
        Some("helm") => return helm(root, &args[1..]),
        _ => {}
    }
    let (cases, seed) = cases_and_seed(args, DEFAULT_CASES)?;
    let (path, _) = crate::tools::ensure(root, false)?;
    eprintln!("==> {cases} random kustomizations, native vs kubectl kustomize");
    let mut test = Command::new("cargo");
    test.args([
        "test",
        "--release",
        "--test",
        "kustomize_native_random",
        "--",
        "--nocapture",
    ])
    .env("PATH", &path)
    .env("FERRY_DIFF_CASES", cases.to_string())
    .current_dir(root);
    if let Some(seed) = seed {
        test.env("FERRY_DIFF_SEED", seed.to_string());
    }
    crate::run(&mut test)
}
