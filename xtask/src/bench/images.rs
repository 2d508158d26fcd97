//! `cargo xtask bench images`: `ferry images scan` of 200 image repositories of 300 tags each
//! on a local registry (CNCF distribution on a loopback port, asked for pages of 100 tags;
//! distribution 2.8 answers the whole list at once, a registry that pages takes 3 each),
//! and `ferry images update` of 1,000 markers across 500 files. Targets: scan < 5 s, update
//! < 1 s, peak memory < 100 MB each. Beside it skopeo does the same registry work (`peer_scan`).

use super::artifact::start_registry;
use crate::measure::{self, mb, ms, secs, Sample};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const REPOS: usize = 200;
const TAGS: usize = 300;
const FILES: usize = 500;
const MARKERS_PER_FILE: usize = 2;
const RUNS: usize = 3;
const MEMORY_TARGET: u64 = 100 * 1_048_576;

pub fn run(root: &Path) -> Result<()> {
    let ferry = super::release_ferry(root)?;
    let work = std::env::temp_dir().join(format!("ferry-bench-images-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = measure_all(&ferry, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Pushes the first repository's tags through the distribution API, copies its storage to the
/// other 199 (the registry serves them as pushed), and writes the pipeline with its markers.
/// Runs in a child so the measuring process stays small.
pub fn generate(work: &Path, addr: &str) -> Result<()> {
    use ferry::artifact::oci::Registry;
    use ferry::artifact::{ArtifactRef, RegistryOptions};
    let r = ArtifactRef::parse(&format!("{addr}/bench/r000:x"))?;
    let reg = Registry::connect(&r, "bench push", &RegistryOptions::new())?;
    let config = b"{}".to_vec();
    reg.push_blob(&r, &config)?;
    let digest = ferry::artifact::oci_json::digest_of(&config);
    for i in 0..TAGS {
        let tag = format!("1.{}.{}", i / 100, i % 100);
        let manifest = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{digest}\",\"size\":2}},\"layers\":[],\"annotations\":{{\"tag\":\"{tag}\"}}}}"
        );
        reg.push_manifest(
            &r.with_tag(&tag),
            manifest.as_bytes(),
            "application/vnd.oci.image.manifest.v1+json",
        )?;
    }
    let repos = work.join("registry-data/docker/registry/v2/repositories/bench");
    for i in 1..REPOS {
        crate::run(
            Command::new("cp")
                .arg("-a")
                .arg(repos.join("r000"))
                .arg(repos.join(format!("r{i:03}"))),
        )?;
    }
    let pipeline = work.join("pristine");
    let mut yaml = String::from("apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {}\napps:\n  web: {path: apps}\nimages:\n");
    for i in 0..REPOS {
        yaml.push_str(&format!(
            "  p{i:03}:\n    image: {addr}/bench/r{i:03}\n    policy: {{semver: {{range: '>=1.0.0'}}}}\n"
        ));
    }
    std::fs::create_dir_all(pipeline.join("apps"))?;
    std::fs::write(pipeline.join("ferry.yaml"), yaml)?;
    for f in 0..FILES {
        let mut text = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{f}\nspec:\n  template:\n    spec:\n      containers:\n");
        for m in 0..MARKERS_PER_FILE {
            let p = (f * MARKERS_PER_FILE + m) % REPOS;
            text.push_str(&format!(
                "        - name: c{m}\n          image: {addr}/bench/r{p:03}:1.0.0 # {{\"$imagepolicy\": \"flux-system:p{p:03}\"}}\n"
            ));
        }
        std::fs::write(pipeline.join(format!("apps/d{f:03}.yaml")), text)?;
    }
    Ok(())
}

fn fresh_copy(work: &Path) -> Result<std::path::PathBuf> {
    let dir = work.join("repo");
    let _ = std::fs::remove_dir_all(&dir);
    crate::run(
        Command::new("cp")
            .arg("-a")
            .arg(work.join("pristine"))
            .arg(&dir),
    )?;
    Ok(dir)
}

fn summary(runs: Vec<Sample>) -> Sample {
    let max_rss = runs.iter().map(|s| s.max_rss).max().unwrap_or(0);
    Sample {
        wall: measure::median(runs.into_iter().map(|s| s.wall).collect()),
        max_rss,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

fn measure_all(ferry: &Path, work: &Path) -> Result<()> {
    let reg = start_registry(work)?;
    eprintln!(
        "==> pushing {REPOS} repositories x {TAGS} tags to {}",
        reg.addr
    );
    crate::run(
        Command::new(std::env::current_exe()?)
            .args(["bench", "images", "--generate"])
            .arg(work)
            .arg(&reg.addr),
    )?;
    let cache = work.join("cache");
    let ferry_cmd = |dir: &Path, args: &[&str]| {
        let mut c = Command::new(ferry);
        c.arg("-C")
            .arg(dir)
            .args(args)
            .env("FERRY_CACHE_DIR", &cache)
            .env("DOCKER_CONFIG", work.join("docker"))
            .env_remove("FERRY_OFFLINE")
            .env_remove("FERRY_REGISTRY_CREDS");
        c
    };
    let dir = fresh_copy(work)?;
    // Checks the result once: every marker moves to the newest tag.
    let out = ferry_cmd(
        &dir,
        &["images", "scan", "--cache-ttl", "0", "--output", "json"],
    )
    .output()
    .context("ferry images scan")?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| String::from_utf8_lossy(&out.stderr).into_owned())?;
    let decisions = v["decisions"].as_array().context("decisions")?;
    let pages = decisions
        .first()
        .and_then(|d| d["pages"].as_u64())
        .unwrap_or(0);
    anyhow::ensure!(
        decisions.len() == REPOS
            && decisions.iter().all(|d| d["latest"] == "1.2.99"
                && d["tags"] == TAGS
                && d["pages"] == pages
                && d["digest"].is_string()),
        "unexpected scan result: {}",
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(2000)
            .collect::<String>()
    );
    let mut scans = Vec::new();
    let mut updates = Vec::new();
    for _ in 0..RUNS {
        scans.push(measure::run(&mut ferry_cmd(
            &dir,
            &["images", "scan", "--cache-ttl", "0"],
        ))?);
        // Warm the tag cache, then measure the update alone on a fresh copy of the files.
        measure::run(&mut ferry_cmd(
            &dir,
            &["images", "scan", "--cache-ttl", "3600"],
        ))?;
        let dir = fresh_copy(work)?;
        updates.push(measure::run(&mut ferry_cmd(
            &dir,
            &["images", "update", "--no-commit", "--cache-ttl", "3600"],
        ))?);
        let sample = std::fs::read_to_string(dir.join("apps/d000.yaml"))?;
        anyhow::ensure!(
            sample.contains(":1.2.99 #"),
            "update did not rewrite:\n{sample}"
        );
    }
    let (scan, update) = (summary(scans), summary(updates));
    let peer = peer_scan(&reg.addr)?;
    println!(
        "bench images: {REPOS} repositories x {TAGS} tags ({pages} page{} each), {} markers in {FILES} files, median of {RUNS}",
        if pages == 1 { "" } else { "s" },
        FILES * MARKERS_PER_FILE
    );
    println!("{:<40} {:>10} {:>12}   (target)", "", "wall", "peak memory");
    let scan_ok = scan.wall < Duration::from_secs(5) && scan.max_rss < MEMORY_TARGET;
    let update_ok = update.wall < Duration::from_secs(1) && update.max_rss < MEMORY_TARGET;
    println!(
        "{:<40} {:>10} {:>12}   (< 5 s, < 100 MB) {}",
        format!("scan, no cache ({} requests)", REPOS as u64 * (pages + 1)),
        secs(scan.wall),
        mb(scan.max_rss),
        verdict(scan_ok)
    );
    println!(
        "{:<40} {:>10} {:>12}   (< 1 s, < 100 MB) {}",
        "update, tags cached (1000 markers)",
        ms(update.wall),
        mb(update.max_rss),
        verdict(update_ok)
    );
    match peer {
        Some(p) => println!(
            "{:<40} {:>10} {:>12}   ({:.1}x ferry's scan; memory: one process)",
            format!("peer: skopeo, {CONCURRENCY} at a time"),
            secs(p.wall),
            mb(p.max_rss),
            p.wall.as_secs_f64() / scan.wall.as_secs_f64()
        ),
        None => println!("peer: skopeo not installed (cargo xtask test installs it), not compared"),
    }
    Ok(())
}

/// ferry's default `--concurrency`, given to the peer too.
const CONCURRENCY: usize = 16;

/// The same registry work with skopeo, the peer that lists tags: per repository
/// `skopeo list-tags` and the newest tag's manifest (`inspect --raw`, hashed as ferry does),
/// `CONCURRENCY` repositories at a time; median of `RUNS`. skopeo chooses nothing by policy,
/// so this is the floor of what a script around it would cost.
fn peer_scan(addr: &str) -> Result<Option<Sample>> {
    let home = std::env::var("HOME").unwrap_or_default();
    let skopeo = Path::new(&home).join(".cache/gitops-peers/bin/skopeo");
    if !skopeo.is_file() {
        return Ok(None);
    }
    let script = format!(
        "seq -f 'r%03g' 0 {last} | xargs -P {CONCURRENCY} -I R bash -o pipefail -c '{s} list-tags --tls-verify=false docker://{addr}/bench/R >/dev/null && {s} inspect --raw --tls-verify=false docker://{addr}/bench/R:1.2.99 | sha256sum >/dev/null'",
        last = REPOS - 1,
        s = skopeo.display(),
    );
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(measure::run(Command::new("bash").args(["-c", &script]))?);
    }
    Ok(Some(summary(runs)))
}
