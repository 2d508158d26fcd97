//! The body of `cargo xtask bench secrets`: decrypt and seal N Secrets of K keys in process,
//! against the same work done by `sops` process calls (decrypt, then encrypt for the cluster),
//! measured side by side in one run.

use super::age::Recipient;
use super::identity::Identities;
use super::seal::{self, SealKey};
use super::sops::Format;
use super::{file, EncryptOptions};
use age::secrecy::ExposeSecret;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one benchmark run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub secrets: usize,
    pub keys_per_secret: usize,
    /// In-process: decrypt every file and seal it for the cluster.
    pub ferry: Duration,
    /// `sops -d` + `sops -e` per file, over `sops_sample` files, scaled to `secrets`.
    pub sops_scaled: Option<Duration>,
    pub sops_sample: usize,
}

impl BenchReport {
    /// How many times faster ferry was.
    pub fn speedup(&self) -> Option<f64> {
        self.sops_scaled
            .map(|s| s.as_secs_f64() / self.ferry.as_secs_f64().max(1e-9))
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "decrypt + seal {} Secrets x {} keys",
            self.secrets, self.keys_per_secret
        )?;
        writeln!(
            f,
            "  ferry (in process): {:>10.1} ms",
            self.ferry.as_secs_f64() * 1e3
        )?;
        match (self.sops_scaled, self.speedup()) {
            (Some(s), Some(x)) => {
                writeln!(
                    f,
                    "  sops (process calls, {} measured, scaled): {:>10.1} ms",
                    self.sops_sample,
                    s.as_secs_f64() * 1e3
                )?;
                write!(f, "  speed-up: {x:.1}x")
            }
            _ => write!(f, "  sops: not found, not measured"),
        }
    }
}

fn secret(i: usize, keys: usize) -> String {
    let mut s = format!("apiVersion: v1\nkind: Secret\nmetadata:\n    name: s{i}\n    namespace: bench\nstringData:\n");
    for k in 0..keys {
        s.push_str(&format!("    key{k}: value-{i}-{k}-0123456789abcdef\n"));
    }
    s
}

/// Runs the benchmark. `sops` is the binary to compare with (skipped when `None`); plaintext
/// for the sops side exists only in a private temporary directory that is removed at the end.
///
/// # Errors
/// Encryption failures or a failing sops call.
pub fn run(
    secrets: usize,
    keys: usize,
    sops: Option<&Path>,
    sops_sample: usize,
) -> Result<BenchReport, String> {
    let ci = age::x25519::Identity::generate();
    let cluster = age::x25519::Identity::generate();
    let ci_text = format!("{}\n", ci.to_string().expose_secret());
    let ids = Identities::from_text(&ci_text, "bench").map_err(|e| e.to_string())?;
    let ci_r = Recipient::parse(&ci.to_public().to_string()).map_err(|e| e.to_string())?;
    let cluster_r =
        Recipient::parse(&cluster.to_public().to_string()).map_err(|e| e.to_string())?;
    let opts = EncryptOptions {
        recipients: vec![ci_r],
        selectors: seal::kubernetes_selectors(),
        mac_only_encrypted: false,
        allow_empty: false,
    };
    let files: Vec<String> = (0..secrets)
        .map(|i| file::encrypt(&secret(i, keys), Format::Yaml, &opts).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;

    let key = SealKey::from_identities(&ids).ok_or("no CI key")?;
    // In parallel, as `ferry build` does it.
    let start = Instant::now();
    {
        use rayon::prelude::*;
        files.par_iter().try_for_each(|f| -> Result<(), String> {
            let opened = file::open(f, Format::Yaml, &ids).map_err(|e| e.to_string())?;
            seal::seal_docs(
                opened.docs,
                std::slice::from_ref(&cluster_r),
                &seal::kubernetes_selectors(),
                &key,
            )
            .map_err(|e| e.to_string())?;
            Ok(())
        })?;
    }
    let ferry = start.elapsed();

    let mut sops_scaled = None;
    let sample = sops_sample.min(secrets).max(1);
    if let Some(sops) = sops {
        let dir = tempfile::Builder::new()
            .prefix("ferry-bench-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let key_file = dir.path().join("ci.txt");
        std::fs::write(&key_file, &ci_text).map_err(|e| e.to_string())?;
        let start = Instant::now();
        for (i, f) in files.iter().take(sample).enumerate() {
            let enc = dir.path().join(format!("s{i}.yaml"));
            std::fs::write(&enc, f).map_err(|e| e.to_string())?;
            let plain = Command::new(sops)
                .arg("-d")
                .arg(&enc)
                .env("SOPS_AGE_KEY_FILE", &key_file)
                .output()
                .map_err(|e| e.to_string())?;
            if !plain.status.success() {
                return Err(String::from_utf8_lossy(&plain.stderr).into_owned());
            }
            let tmp = dir.path().join(format!("p{i}.yaml"));
            std::fs::write(&tmp, &plain.stdout).map_err(|e| e.to_string())?;
            let sealed = Command::new(sops)
                .args([
                    "-e",
                    "--encrypted-regex",
                    "^(data|stringData)$",
                    "--age",
                    cluster_r.as_str(),
                ])
                .arg(&tmp)
                .current_dir(dir.path())
                .output()
                .map_err(|e| e.to_string())?;
            if !sealed.status.success() {
                return Err(String::from_utf8_lossy(&sealed.stderr).into_owned());
            }
        }
        let elapsed = start.elapsed();
        sops_scaled = Some(elapsed.mul_f64(secrets as f64 / sample as f64));
    }
    Ok(BenchReport {
        secrets,
        keys_per_secret: keys,
        ferry,
        sops_scaled,
        sops_sample: sample,
    })
}
