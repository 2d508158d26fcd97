//! Project tasks: `cargo xtask demo | test | fuzz | differential | bench <what>`. Run `cargo xtask help`.

mod bench;
mod differential;
mod fuzz;
mod measure;
mod tools;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const HELP: &str = "cargo xtask <task>

  demo           build the bundled example (examples/platform) with ferry alone: no helm, no kubectl
  test           install the peer tools, then fmt --check, clippy -D warnings and every test,
                 then fuzz the SOPS parser and the template engine for FERRY_FUZZ_SECONDS
                 each (default 60, 0 skips)
  fuzz [gotmpl] [SECONDS]
                 fuzz the SOPS parser (or the Go template engine) longer (default 600 s;
                 installs cargo-fuzz if missing)
  differential [CASES] [SEED]
                 random kustomizations rendered natively and by `kubectl kustomize`, compared
                 byte for byte (default 1000 cases; the suite runs 30)
  differential helm [CASES] [SEED]
                 random charts (subcharts, aliases, conditions, globals, tpl, include chains,
                 hooks, CRDs, files) rendered natively and by `helm template`, compared byte
                 for byte (default 1000 cases; the suite runs 20)
  differential gotmpl [CASES] [SEED]
                 random templates run by ferry's text/template and by Go's own, output and
                 error texts compared byte for byte (default 20000 cases; the suite runs 400)
  bench build    cold/warm/incremental `ferry build` vs the sequential helm/kubectl loop
  bench diff     `ferry diff` of two 10,000-object builds (1% changed) vs `diff -r`
  bench artifact push + pull/verify of a 10,000-object environment (local registry) vs oci-artifact
  bench secrets  decrypt + seal 1,000 Secrets x 20 keys in process vs sops process calls
  bench render   every corpus kustomize root: native renderer vs `kubectl kustomize`
  bench gotmpl   the Go template engine vs Go's own text/template, in process, on the
                 differential corpus; ratio Go/ferry per template and in total
  bench apply    (live: FERRY_TEST_KUBECONFIG or --kubeconfig) 1,000 ConfigMaps by ferry vs
                 kubectl apply --server-side vs a minimal concurrent client; first and unchanged
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args.first().map(String::as_str) {
        Some("demo") => demo(&root),
        Some("test") => test(&root),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("fuzz") => fuzz::command(&root, &args[1..]),
        Some("differential") => differential::command(&root, &args[1..]),
        Some("help") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_path_buf()
}

/// Where cargo puts what it builds: asked of cargo, since `CARGO_TARGET_DIR`,
/// `build.target-dir` in a config file or `--target-dir` may move it away from `target/`.
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    metadata_target_dir(Command::new("cargo").current_dir(root))
}

/// `target_directory` as `cargo metadata` run by `cargo` reports it.
fn metadata_target_dir(cargo: &mut Command) -> Result<PathBuf> {
    let out = cargo
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target_directory")
}

/// Runs a command, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Builds the example with ferry alone: its chart and overlays render natively
/// (`renderer: auto`), so neither helm nor kubectl is needed or installed.
fn demo(root: &Path) -> Result<()> {
    eprintln!("==> building ferry");
    run(Command::new("cargo")
        .args(["build", "--quiet", "--bin", "ferry"])
        .current_dir(root))?;
    let ferry = target_dir(root)?.join("debug/ferry");
    eprintln!("==> ferry build -C examples/platform (the example as committed at HEAD)");
    let mut build = Command::new(&ferry);
    build
        .args(["build", "-C", "examples/platform"])
        .current_dir(root);
    // The example's secrets are encrypted for its demo CI key; a real CI passes its own.
    let has_identity = ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if !has_identity {
        eprintln!("    (CI identity: examples/platform/keys/ci.agekey, a public demo key)");
        build.env(
            "SOPS_AGE_KEY_FILE",
            root.join("examples/platform/keys/ci.agekey"),
        );
    }
    run(&mut build)?;
    eprintln!("==> done: see examples/platform/out/<env>/ and its index.json");
    eprintln!(
        "    the db-credentials Secret there is sealed; open it in memory with:\n    \
         {} secrets decrypt --identity examples/platform/keys/cluster.agekey \\\n      \
         examples/platform/out/prod/db-credentials/secret_podinfo_db-credentials.yaml",
        ferry.strip_prefix(root).unwrap_or(&ferry).display()
    );
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    let (path, complete) = tools::ensure(root, true)?;
    // Go's own text/template is the template engine's reference.
    let go = tools::ensure_go()?;
    // With every peer installed, a test that would skip for a missing tool fails instead.
    let require = if complete { "1" } else { "0" };
    // A clean CI run gains nothing from incremental state, which is as large as the build.
    let ci = std::env::var_os("CI").is_some();
    let cargo = |args: &[&str]| -> Result<()> {
        eprintln!("==> cargo {}", args.join(" "));
        let mut cmd = Command::new("cargo");
        if ci {
            cmd.env("CARGO_INCREMENTAL", "0");
        }
        run(cmd
            .args(args)
            .env("PATH", &path)
            .env("FERRY_REQUIRE_PEERS", require)
            .env("FERRY_GO", &go)
            .current_dir(root))
    };
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--all-targets"])?;
    cargo(&["test", "--workspace", "--doc", "--quiet"])?;
    fuzz::suite(root)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_directory_is_where_cargo_builds_not_always_target() {
        let elsewhere = std::env::temp_dir().join("ferry-xtask-elsewhere");
        let got = metadata_target_dir(
            Command::new("cargo")
                .current_dir(root())
                .env("CARGO_TARGET_DIR", &elsewhere),
        )
        .expect("cargo metadata");
        assert_eq!(got, elsewhere);
        let default = metadata_target_dir(
            Command::new("cargo")
                .current_dir(root())
                .env_remove("CARGO_TARGET_DIR"),
        )
        .expect("cargo metadata");
        assert!(default.ends_with("target"), "{}", default.display());
    }
}
