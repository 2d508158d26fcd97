//! `cargo xtask bench artifact`: a 10,000-object environment packaged, signed and pushed to a
//! local registry (CNCF distribution on a free loopback port), then pulled and verified, by
//! ferry; beside `oci-artifact` (oras-py) pushing and pulling the same tarball, in one run.

use crate::measure::{self, mb, secs, Sample};
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const OBJECTS: usize = 10_000;
const ENV: &str = "synthetic";
const PASSWORD: &str = "bench-only-password";
const MEMORY_TARGET: u64 = 300 * 1_048_576;
const RUNS: usize = 3;

/// The median wall time and the largest peak memory of some runs.
fn summary(runs: Vec<Sample>) -> Sample {
    let max_rss = runs.iter().map(|s| s.max_rss).max().unwrap_or(0);
    Sample {
        wall: measure::median(runs.into_iter().map(|s| s.wall).collect()),
        max_rss,
    }
}

/// A registry process, killed when dropped.
pub(super) struct Registry {
    child: Child,
    pub(super) addr: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `GET /v2/` answers 200.
fn answers(addr: &str) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(s, "GET /v2/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

pub(super) fn start_registry(work: &Path) -> Result<Registry> {
    let bin = ["docker-registry", "registry"]
        .iter()
        .find_map(|n| crate::tools::find(n))
        .context("no registry binary (docker-registry) on PATH or in the peers directory\nhint: run ../shared/tools/install-peers.sh")?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let config = work.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n  secret: bench-only-secret\n",
            work.join("registry-data").display()
        ),
    )?;
    let log = std::fs::File::create(work.join("registry.log"))?;
    let child = Command::new(&bin)
        .arg("serve")
        .arg(&config)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let reg = Registry { child, addr };
    let deadline = Instant::now() + Duration::from_secs(15);
    while !answers(&reg.addr) {
        if Instant::now() > deadline {
            bail!(
                "the registry did not answer on {} (log: {})",
                reg.addr,
                work.join("registry.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(reg)
}

pub fn run(root: &Path) -> Result<()> {
    let ferry = super::release_ferry(root)?;
    let oras = crate::tools::find("oci-artifact")
        .context("oci-artifact is not installed\nhint: run ../shared/tools/install-peers.sh")?;
    let work = std::env::temp_dir().join(format!("ferry-bench-artifact-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let result = measure_all(&ferry, &oras, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Writes the inputs into `work`: `repo/out/synthetic`, the layer ferry pushes as
/// `layer.tar.gz` (for the peer), `config.json`, and a key pair. Run in a child process: the
/// kernel counts a parent's peak memory at fork into its children's, so the measuring process
/// must stay small.
pub fn generate(work: &Path) -> Result<()> {
    let env_dir = work.join("repo/out").join(ENV);
    // The synthetic build the diff bench uses; its second half is not needed here.
    ferry::diff::synthetic::write_pair(&env_dir, &work.join("unused"), OBJECTS, 0)?;
    std::fs::remove_dir_all(work.join("unused"))?;
    let pair = ferry::artifact::sign::keys::generate(PASSWORD.as_bytes());
    std::fs::write(work.join("cosign.key"), pair.private_pem)?;
    std::fs::write(work.join("cosign.pub"), pair.public_pem)?;
    // The peer pushes exactly the layer ferry pushes.
    let packed = ferry::artifact::pack_dir(&env_dir)?;
    let tarball = work.join("layer.tar.gz");
    std::fs::write(&tarball, &packed.gz)?;
    std::fs::write(work.join("config.json"), "{}")?;
    Ok(())
}

fn measure_all(ferry: &Path, oras: &Path, work: &Path) -> Result<()> {
    crate::run(
        Command::new(std::env::current_exe()?)
            .args(["bench", "artifact", "--generate"])
            .arg(work),
    )?;
    let repo = work.join("repo");
    let tarball = work.join("layer.tar.gz");
    let config = work.join("config.json");
    let layer_mb = std::fs::metadata(&tarball)?.len() as f64 / 1_048_576.0;
    let reg = start_registry(work)?;
    eprintln!(
        "==> {OBJECTS} objects, layer {layer_mb:.1} MB, registry on {}",
        reg.addr
    );
    let ferry_cmd = |args: &[&str]| {
        let mut c = Command::new(ferry);
        c.args(args)
            .env("COSIGN_PASSWORD", PASSWORD)
            .env("DOCKER_CONFIG", work.join("docker"))
            .env_remove("FERRY_OFFLINE")
            .env("NO_COLOR", "1");
        c
    };
    let key = work.join("cosign.key").display().to_string();
    let public = work.join("cosign.pub").display().to_string();
    let repo_s = repo.display().to_string();
    // Rounds interleave ferry and the peer, so that load from elsewhere on the machine hits
    // both alike; each round pushes to new repositories (nothing to skip) and pulls afresh.
    let mut rounds: [Vec<Sample>; 5] = Default::default();
    for round in 0..RUNS {
        let target = format!("oci://{}/bench/ferry-{round}", reg.addr);
        rounds[0].push(measure::run(&mut ferry_cmd(&[
            "-q", "-C", &repo_s, "push", ENV, "--to", &target, "--tag", "bench", "--key", &key,
        ]))?);
        let pulled = work.join(format!("pulled-{round}"));
        rounds[1].push(measure::run(&mut ferry_cmd(&[
            "-q",
            "pull",
            &format!("{target}:bench"),
            "-o",
            &pulled.display().to_string(),
            "--key",
            &public,
        ]))?);
        let files = walk_files(&pulled)?;
        if files != OBJECTS + 1 {
            bail!("ferry pull unpacked {files} files, expected {OBJECTS} objects and index.json");
        }
        let peer_ref = format!("{}/bench/oras-{round}:bench", reg.addr);
        rounds[2].push(measure::run(
            Command::new(oras)
                .arg("push")
                .arg(&peer_ref)
                .arg(format!(
                    "{}:application/vnd.cncf.flux.content.v1.tar+gzip",
                    tarball.display()
                ))
                .arg("--config")
                .arg(format!(
                    "{}:application/vnd.cncf.flux.config.v1+json",
                    config.display()
                )),
        )?);
        rounds[3].push(measure::run(
            Command::new(oras)
                .arg("pull")
                .arg(&peer_ref)
                .arg(work.join(format!("oras-{round}"))),
        )?);
        // Unpacking 10,000 files is most of a pull: `tar` doing only that is the floor.
        let untarred = work.join(format!("tar-{round}"));
        std::fs::create_dir_all(&untarred)?;
        rounds[4].push(measure::run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&untarred),
        )?);
    }
    let [push, pull, peer_push, peer_pull, untar] = rounds.map(summary);
    print_table(layer_mb, [&push, &peer_push], [&pull, &peer_pull, &untar]);
    Ok(())
}

fn walk_files(dir: &Path) -> Result<usize> {
    let mut n = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    Ok(n)
}

fn verdict(s: &Sample) -> &'static str {
    if s.max_rss < MEMORY_TARGET {
        "ok"
    } else {
        "MISSED"
    }
}

fn print_table(layer_mb: f64, push: [&Sample; 2], pull: [&Sample; 3]) {
    println!("\nbench artifact: an environment of {OBJECTS} objects (layer {layer_mb:.1} MB), local registry; median of {RUNS} runs, largest peak");
    println!(
        "{:<32} {:>9} {:>13} {:>10}   result (target)",
        "", "ferry", "oci-artifact", "tar -xzf"
    );
    for (what, [ours, peer], floor) in [
        ("push", push, None),
        ("pull+verify+unpack", [pull[0], pull[1]], Some(pull[2])),
    ] {
        println!(
            "{:<32} {:>9} {:>13} {:>10}",
            format!("{what} wall time"),
            secs(ours.wall),
            secs(peer.wall),
            floor.map(|f| secs(f.wall)).unwrap_or_default()
        );
        println!(
            "{:<32} {:>9} {:>13} {:>10}   (< 300 MB) {}",
            format!("{what} peak memory"),
            mb(ours.max_rss),
            mb(peer.max_rss),
            floor.map(|f| mb(f.max_rss)).unwrap_or_default(),
            verdict(ours)
        );
    }
    println!("ferry packs and signs (cosign) on push; on pull it verifies the signature and digests and unpacks {OBJECTS} files.");
    println!("oci-artifact moves the same tarball unsigned and does not unpack it; tar -xzf only unpacks it.");
}
