//! `ferry pull` and `ferry verify`: nothing is trusted, and nothing written, before the signature
//! and every digest checked out.

use super::push::registry_options;
use super::repo_root;
use super::signing;
use crate::artifact::{
    fetch_verified, pull, ArtifactRef, UnpackLimits, VerifyOptions, VerifyReport,
};
use crate::cli::args::{
    GlobalArgs, OutputFormat, PullArgs, RegistryArgs, VerifyArgs, VerifyKeyArgs,
};
use crate::cli::ExitCode;

fn options(
    g: &GlobalArgs,
    k: &VerifyKeyArgs,
    reg: &RegistryArgs,
    r: &ArtifactRef,
    limits: UnpackLimits,
) -> anyhow::Result<VerifyOptions> {
    Ok(VerifyOptions {
        keys: signing::keys_for(&repo_root(&g.repo), &k.keys, k.insecure_skip_verify, r)?,
        insecure_skip_verify: k.insecure_skip_verify,
        limits,
        registry: registry_options(g, reg, r)?,
    })
}

fn print(
    g: &GlobalArgs,
    format: OutputFormat,
    report: &VerifyReport,
    verb: &str,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => crate::outln!("{}", serde_json::to_string_pretty(report)?)?,
        OutputFormat::Text => {
            crate::outln!("{}", report.reference)?;
            if !g.quiet {
                let how = match (report.signed, report.signature_format) {
                    (true, Some("bundle")) => "Sigstore bundle signature and digests verified",
                    (true, Some(_)) => "cosign v2 signature and digests verified",
                    (true, None) => "signature and digests verified",
                    (false, _) => "digests verified, signature NOT checked",
                };
                let rev = report.revision.as_deref().unwrap_or("(no revision)");
                eprintln!("{verb}: {how}; revision {rev}");
            }
        }
    }
    Ok(())
}

pub fn run_pull(g: &GlobalArgs, a: PullArgs) -> anyhow::Result<ExitCode> {
    let r = ArtifactRef::parse(&a.reference)?;
    let limits = UnpackLimits {
        max_entries: a.max_entries,
        max_file_size: a.max_file_size,
        max_total_size: a.max_size,
    };
    // Fail before any download when the destination is unusable.
    if std::fs::read_dir(&a.dir).is_ok_and(|mut d| d.next().is_some()) {
        anyhow::bail!(
            "{} already exists and is not empty\nhint: pull into a new directory",
            a.dir.display()
        );
    }
    let opts = options(g, &a.verify, &a.registry, &r, limits)?;
    let (verified, unpacked) = pull(&r, &a.dir, &opts)?;
    print(
        g,
        a.output,
        &verified.report(Some(&unpacked)),
        &format!("unpacked {} files into {}", unpacked.files, a.dir.display()),
    )?;
    Ok(ExitCode::Success)
}

pub fn run_verify(g: &GlobalArgs, a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let r = ArtifactRef::parse(&a.reference)?;
    let opts = options(g, &a.verify, &a.registry, &r, UnpackLimits::default())?;
    let verified = fetch_verified(&r, &opts)?;
    print(g, a.output, &verified.report(None), "verified")?;
    Ok(ExitCode::Success)
}
