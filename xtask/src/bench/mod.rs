//! `cargo xtask bench <what>`: ferry's figure beside the peer's, measured in one run.

mod agent;
mod apply;
mod apply_cluster;
mod artifact;
mod build;
mod diff;
mod flux;
mod images;
mod render;
mod secrets;

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("build") if args.get(1).map(String::as_str) == Some("--generate") => {
            let dir = args
                .get(2)
                .ok_or_else(|| anyhow::anyhow!("--generate DIR"))?;
            build::generate_only(root, Path::new(dir))
        }
        Some("build") => build::run(root),
        Some("diff") if args.get(1).map(String::as_str) == Some("--generate") => {
            let dir = args
                .get(2)
                .ok_or_else(|| anyhow::anyhow!("--generate DIR"))?;
            diff::generate(Path::new(dir))
        }
        Some("diff") => diff::run(root),
        Some("flux") if args.get(1).map(String::as_str) == Some("--generate") => {
            let dir = args
                .get(2)
                .ok_or_else(|| anyhow::anyhow!("--generate DIR"))?;
            flux::generate_only(root, Path::new(dir))
        }
        Some("flux") => flux::run(root),
        Some("render") => render::run(root, &args[1..]),
        Some("secrets") => secrets::run(root, &args[1..]),
        Some("artifact") if args.get(1).map(String::as_str) == Some("--generate") => {
            let dir = args
                .get(2)
                .ok_or_else(|| anyhow::anyhow!("--generate DIR"))?;
            artifact::generate(Path::new(dir))
        }
        Some("artifact") => artifact::run(root),
        Some("apply") => apply::run(root, &args[1..]),
        Some("agent") => agent::run(root, &args[1..]),
        Some("gotmpl") => gotmpl(root),
        Some("images") if args.get(1).map(String::as_str) == Some("--generate") => {
            let dir = args
                .get(2)
                .ok_or_else(|| anyhow::anyhow!("--generate DIR ADDR"))?;
            let addr = args
                .get(3)
                .ok_or_else(|| anyhow::anyhow!("--generate DIR ADDR"))?;
            images::generate(Path::new(dir), addr)
        }
        Some("images") => images::run(root),
        other => bail!(
            "unknown benchmark {other:?}; available: build, diff, flux, artifact, secrets, render, apply, agent, gotmpl, images"
        ),
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
    Ok(crate::target_dir(root)?.join("release/ferry"))
}

/// `cargo xtask bench gotmpl`: the template engine against Go's text/template, in process on
/// both sides (crates/gotmpl/examples/bench_vs_go.rs).
fn gotmpl(root: &Path) -> Result<()> {
    let go = crate::tools::ensure_go()?;
    eprintln!("==> ferry's text/template vs Go's, the differential corpus (release build)");
    crate::run(
        Command::new("cargo")
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "ferry-gotmpl",
                "--example",
                "bench_vs_go",
            ])
            .env("FERRY_GO", go)
            .current_dir(root),
    )
}
