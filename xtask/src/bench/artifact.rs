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

/// A registry process, killed when dropped.
struct Registry {
    child: Child,
    addr: String,
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

fn start_registry(work: &Path) -> Result<Registry> {
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

fn measure_all(ferry: &Path, oras: &Path, work: &Path) -> Result<()> {
    let repo = work.join("repo");
    let env_dir = repo.join("out").join(ENV);
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
    let layer_mb = packed.gz.len() as f64 / 1_048_576.0;
    let config = work.join("config.json");
    std::fs::write(&config, "{}")?;
    drop(packed);

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
    let target = format!("oci://{}/bench/ferry", reg.addr);
    let key = work.join("cosign.key").display().to_string();
    let public = work.join("cosign.pub").display().to_string();
    let repo_s = repo.display().to_string();
    let push = measure::run(&mut ferry_cmd(&[
        "-q", "-C", &repo_s, "push", ENV, "--to", &target, "--tag", "bench", "--key", &key,
    ]))?;
    let pulled = work.join("pulled");
    let pull = measure::run(&mut ferry_cmd(&[
        "-q",
        "pull",
        &format!("{target}:bench"),
        "-o",
        &pulled.display().to_string(),
        "--key",
        &public,
    ]))?;
    let files = walk_files(&pulled)?;
    if files != OBJECTS + 1 {
        bail!("ferry pull unpacked {files} files, expected {OBJECTS} objects and index.json");
    }

    let peer_ref = format!("{}/bench/oras:bench", reg.addr);
    let peer_push = measure::run(
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
    )?;
    let peer_pull = measure::run(
        Command::new(oras)
            .arg("pull")
            .arg(&peer_ref)
            .arg(work.join("oras-pulled")),
    )?;
    print_table(layer_mb, &push, &pull, &peer_push, &peer_pull);
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

fn print_table(
    layer_mb: f64,
    push: &Sample,
    pull: &Sample,
    peer_push: &Sample,
    peer_pull: &Sample,
) {
    println!("\nbench artifact: an environment of {OBJECTS} objects (layer {layer_mb:.1} MB), local registry");
    println!(
        "{:<30} {:>10} {:>14}   result (target)",
        "", "ferry", "oci-artifact"
    );
    println!(
        "{:<30} {:>10} {:>14}",
        "push wall time",
        secs(push.wall),
        secs(peer_push.wall)
    );
    println!(
        "{:<30} {:>10} {:>14}   (< 300 MB) {}",
        "push peak memory",
        mb(push.max_rss),
        mb(peer_push.max_rss),
        verdict(push)
    );
    println!(
        "{:<30} {:>10} {:>14}",
        "pull+verify wall time",
        secs(pull.wall),
        secs(peer_pull.wall)
    );
    println!(
        "{:<30} {:>10} {:>14}   (< 300 MB) {}",
        "pull+verify peak memory",
        mb(pull.max_rss),
        mb(peer_pull.max_rss),
        verdict(pull)
    );
    println!("ferry packs, signs and verifies (cosign) and unpacks {OBJECTS} files; oci-artifact only moves the tarball, unsigned and not unpacked.");
}
