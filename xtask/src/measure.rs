//! Wall time and peak memory of a child process, measured by the kernel (wait4's rusage).

use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Sample {
    pub wall: Duration,
    /// Peak resident set of the child (or its largest waited-for descendant), in bytes.
    pub max_rss: u64,
}

/// Runs `cmd` to completion with stdout discarded.
pub fn run(cmd: &mut Command) -> Result<Sample> {
    let shown = format!("{cmd:?}");
    let start = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child, with valid pointers to locals; the Child handle is not
    // waited on again, so the pid is reaped exactly once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    std::mem::forget(child);
    if r < 0 {
        bail!("wait4 failed for {shown}");
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{shown} failed (status {status})");
    }
    Ok(Sample {
        wall,
        max_rss: usage.ru_maxrss as u64 * 1024,
    })
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_048_576.0)
}
