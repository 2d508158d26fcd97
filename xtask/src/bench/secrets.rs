//! `cargo xtask bench secrets`: decrypt and seal 1,000 Secrets of 20 keys in process, beside
//! the same work done by `sops` process calls (`sops -d`, then `sops -e` for the cluster),
//! measured in one run. The timing runs in an optimised build of this task.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::Command;

const SECRETS: usize = 1_000;
const KEYS: usize = 20;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    // `--sample N`: how many files the sops side runs (scaled to 1,000); all by default.
    let sample = match args.iter().position(|a| a == "--sample") {
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("--sample takes a number"))?,
        None => SECRETS,
    };
    if cfg!(debug_assertions) {
        // A debug build would understate ferry: measure in a release build of this task.
        eprintln!("==> cargo run --release -p xtask -- bench secrets (optimised)");
        return crate::run(
            Command::new("cargo")
                .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
                .args(["bench", "secrets", "--sample", &sample.to_string()])
                .current_dir(root),
        );
    }
    let sops = crate::tools::find("sops");
    if sops.is_none() {
        eprintln!("sops not found (run ../shared/tools/install-peers.sh): ferry only");
    }
    eprintln!("==> decrypt + seal {SECRETS} Secrets x {KEYS} keys; sops on {sample} files");
    let report = ferry::secrets::bench::run(SECRETS, KEYS, sops.as_deref(), sample)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("\nbench secrets\n{report}");
    match report.speedup() {
        Some(x) => println!(
            "  target >= 20x: {}",
            if x >= 20.0 { "ok" } else { "MISSED" }
        ),
        None if sops.is_some() => bail!("sops was found but not measured"),
        None => {}
    }
    Ok(())
}
