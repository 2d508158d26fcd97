//! `cargo xtask bench diff`: two builds of 10,000 objects with 1% changed, diffed by ferry
//! (object-level, with unified YAML diffs) and by `diff -r`, measured in one run.

use crate::measure::{self, mb, ms};
use anyhow::Result;
use std::path::Path;
use std::process::Command;

const OBJECTS: usize = 10_000;

pub fn run(root: &Path) -> Result<()> {
    let ferry = super::release_ferry(root)?;
    let work = tempfile_dir("ferry-bench-diff")?;
    let (old, new) = (work.join("old"), work.join("new"));
    let changed = ferry::diff::synthetic::write_pair(&old, &new, OBJECTS, 10)?;
    eprintln!("==> {OBJECTS} objects, {changed} changed");
    // `ferry diff` exits 1 when it finds differences: that is its success here.
    let ours = measure::run_allowing(
        Command::new(&ferry)
            .arg("diff")
            .arg(&old)
            .arg(&new)
            .env("NO_COLOR", "1"),
        &[0, 1],
    )?;
    let peer = measure::run_allowing(Command::new("diff").arg("-r").arg(&old).arg(&new), &[0, 1])?;
    println!("\nbench diff: two builds of {OBJECTS} objects, {changed} changed");
    println!(
        "{:<24} {:>10} {:>12}   result (target)",
        "", "ferry", "diff -r"
    );
    println!(
        "{:<24} {:>10} {:>12}   (< 1 s) {}",
        "wall time",
        ms(ours.wall),
        ms(peer.wall),
        if ours.wall.as_millis() < 1000 {
            "ok"
        } else {
            "MISSED"
        }
    );
    println!(
        "{:<24} {:>10} {:>12}   (< 300 MB) {}",
        "peak memory",
        mb(ours.max_rss),
        mb(peer.max_rss),
        if ours.max_rss < 300 * 1_048_576 {
            "ok"
        } else {
            "MISSED"
        }
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn tempfile_dir(prefix: &str) -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
