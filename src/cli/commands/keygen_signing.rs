//! `ferry keygen --signing`: a cosign-compatible key pair, and the cosign password rules
//! (`COSIGN_PASSWORD`, else a prompt on the terminal) that `push` shares.

use crate::artifact::sign::keys;
use crate::cli::args::{GlobalArgs, KeygenArgs};
use crate::cli::ExitCode;
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The password for a cosign private key: `COSIGN_PASSWORD` (empty is allowed, as with cosign),
/// else asked on the terminal (twice when making a key).
pub(super) fn cosign_password(confirm: bool) -> anyhow::Result<Vec<u8>> {
    if let Some(p) = std::env::var_os("COSIGN_PASSWORD") {
        return Ok(p.into_encoded_bytes());
    }
    let hint = "hint: set COSIGN_PASSWORD when there is no terminal to ask on";
    let first = rpassword::prompt_password("Enter password for private key: ")
        .with_context(|| format!("cannot ask for the key password\n{hint}"))?;
    if confirm {
        let again = rpassword::prompt_password("Enter password for private key again: ")
            .with_context(|| format!("cannot ask for the key password\n{hint}"))?;
        if again != first {
            bail!("the passwords do not match");
        }
    }
    Ok(first.into_bytes())
}

fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists\nhint: ferry never overwrites a key; choose another --output",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        }
    })?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run(g: &GlobalArgs, a: KeygenArgs) -> anyhow::Result<ExitCode> {
    if !a.signing {
        bail!("ferry keygen makes signing keys with --signing\nhint: ferry keygen --signing [-o PREFIX]");
    }
    let prefix = a.output.unwrap_or_else(|| PathBuf::from("cosign"));
    let with_ext = |ext: &str| {
        let mut s = prefix.clone().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    let (key_path, pub_path) = (with_ext(".key"), with_ext(".pub"));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!(
                "{} already exists\nhint: ferry never overwrites a key; choose another --output",
                p.display()
            );
        }
    }
    let password = cosign_password(true)?;
    let files = keys::generate(&password);
    write_new(&key_path, &files.private_pem, 0o600)?;
    write_new(&pub_path, &files.public_pem, 0o644)?;
    if !g.quiet {
        eprintln!("Private key written to {}", key_path.display());
        eprintln!("Public key written to {}", pub_path.display());
    }
    Ok(ExitCode::Success)
}
