//! `cargo xtask bench diff`: two builds of 10,000 objects with 1% changed, diffed by ferry
//! (object-level, with unified YAML diffs) and by `diff -r`, measured in one run.

use crate::measure::{self, mb, ms};
use anyhow::Result;
use std::path::Path;
use std::process::Command;

const OBJECTS: usize = 10_000;
const ROUNDS: usize = 3;

/// Writes the two builds into `work` (`old/`, `new/`) and the number of changed objects into
/// `work/changed`. Run in a child process: the kernel counts a parent's peak memory at fork into
/// its children's, so the measuring process must stay small.
pub fn generate(work: &Path) -> Result<()> {
    let changed =
        ferry::diff::synthetic::write_pair(&work.join("old"), &work.join("new"), OBJECTS, 10)?;
    std::fs::write(work.join("changed"), changed.to_string())?;
    Ok(())
}

pub fn run(root: &Path) -> Result<()> {
    let ferry = super::release_ferry(root)?;
    let work = tempfile_dir("ferry-bench-diff")?;
    crate::run(
        Command::new(std::env::current_exe()?)
            .args(["bench", "diff", "--generate"])
            .arg(&work),
    )?;
    let (old, new) = (work.join("old"), work.join("new"));
    let changed: usize = std::fs::read_to_string(work.join("changed"))?
        .trim()
        .parse()?;
    eprintln!("==> {OBJECTS} objects, {changed} changed; median of {ROUNDS} interleaved rounds");
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // `ferry diff` exits 1 when it finds differences: that is its success here.
        ours.push(measure::run_allowing(
            Command::new(&ferry)
                .arg("diff")
                .arg(&old)
                .arg(&new)
                .env("NO_COLOR", "1"),
            &[0, 1],
        )?);
        peer.push(measure::run_allowing(
            Command::new("diff").arg("-r").arg(&old).arg(&new),
            &[0, 1],
        )?);
    }
    let ours = summary(ours);
    let peer = summary(peer);
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

/// The median wall time and the largest peak memory of the rounds.
fn summary(samples: Vec<measure::Sample>) -> measure::Sample {
    let max_rss = samples.iter().map(|s| s.max_rss).max().unwrap_or(0);
    let wall = measure::median(samples.iter().map(|s| s.wall).collect());
    measure::Sample { wall, max_rss }
}

fn tempfile_dir(prefix: &str) -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
