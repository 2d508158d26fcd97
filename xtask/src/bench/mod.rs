//! `cargo xtask bench <what>`: ferry's figure beside the peer's, measured in one run.

mod build;

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("build") => build::run(root),
        other => bail!("unknown benchmark {other:?}; available: build"),
    }
}

/// Builds the release binary and returns its path.
pub fn release_ferry(root: &Path) -> Result<PathBuf> {
    eprintln!("==> cargo build --release --bin ferry");
    crate::run(
        Command::new("cargo")
            .args(["build", "--release", "--quiet", "--bin", "ferry"])
            .current_dir(root),
    )?;
    Ok(root.join("target/release/ferry"))
}
