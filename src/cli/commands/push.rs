//! `ferry push`: each environment's `out/<env>/` as a signed Flux artifact.

use super::signing::{self, PipelineFile};
use super::{load_pipeline, repo_root};
use crate::artifact::auth::{self, Credentials};
use crate::artifact::{
    prepare, push_prepared, ArtifactRef, Provenance, PushOptions, RegistryOptions,
};
use crate::build::integrity;
use crate::cli::args::{GlobalArgs, OutputFormat, PushArgs, RegistryArgs};
use crate::cli::ExitCode;
use crate::source::WorkTree;
use anyhow::{bail, Context};
use p256::ecdsa::SigningKey;
use std::path::{Path, PathBuf};

/// Registry options from the command line; credentials are looked up per registry.
pub(super) fn registry_options(
    g: &GlobalArgs,
    a: &RegistryArgs,
    target: &ArtifactRef,
) -> anyhow::Result<RegistryOptions> {
    let explicit = a.creds.as_deref().map(Credentials::parse).transpose()?;
    let credentials = if g.offline {
        None
    } else {
        auth::resolve(explicit.as_ref(), &target.registry)?
    };
    Ok(RegistryOptions {
        offline: g.offline,
        insecure: a.insecure,
        credentials,
        ..RegistryOptions::new()
    })
}

/// The provenance recorded by `ferry build` in out/<env>/index.json.
fn provenance(
    env_dir: &Path,
    source: Option<String>,
) -> anyhow::Result<(Provenance, Option<String>)> {
    let index = env_dir.join(crate::build::INDEX_FILE);
    let text = std::fs::read_to_string(&index).with_context(|| {
        format!(
            "cannot read {}\nhint: run `ferry build` first",
            index.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", index.display()))?;
    let field = |k: &str| {
        v.pointer(&format!("/source/{k}"))
            .and_then(|x| x.as_str())
            .map(str::to_string)
    };
    let worktree = v.pointer("/source/worktree").and_then(|x| x.as_bool()) == Some(true);
    if worktree {
        // Files from the working tree are not the commit: naming it (in the revision or as the
        // default tag) would pass uncommitted changes off as that commit.
        eprintln!(
            "warning: {} was built from the working tree; it is pushed without a revision",
            env_dir.display()
        );
        let prov = Provenance {
            source: source.or_else(|| field("url")),
            revision: None,
            created: None,
        };
        return Ok((prov, None));
    }
    let short = field("commit").map(|c| c.chars().take(7).collect::<String>());
    let source = source.or_else(|| field("url"));
    Ok((
        Provenance {
            source,
            revision: field("revision"),
            created: field("created"),
        },
        short,
    ))
}

/// The tags one push points at the artifact: those in the reference (`oci://HOST/REPO:v1`, as
/// `flux push artifact` takes it) or given with `--tag`, never both; else the short commit and
/// `latest`. A reference with a digest is refused: the digest is what the push makes.
fn push_tags(
    target: &ArtifactRef,
    flags: &[String],
    short: Option<String>,
) -> anyhow::Result<Vec<String>> {
    if let Some(d) = &target.digest {
        bail!(
            "cannot push to {target}: a digest ({d}) names content that exists, and the push makes its own\nhint: name the repository, with a tag if you like: oci://{}/{}:TAG",
            target.registry,
            target.repository
        );
    }
    match (&target.tag, flags) {
        (Some(t), []) => Ok(vec![t.clone()]),
        (Some(t), _) => bail!(
            "the tag is given twice: `:{t}` in {target} and --tag {}\nhint: give it one way: --to oci://{}/{}:{t}, or --tag {} without a tag in the reference",
            flags.join(" --tag "),
            target.registry,
            target.repository,
            flags.join(" --tag ")
        ),
        (None, []) => Ok(short.into_iter().chain(["latest".to_string()]).collect()),
        (None, _) => Ok(flags.to_vec()),
    }
}

/// `remote.origin.url` of the repository, if there is one.
fn origin_url(root: &Path) -> Option<String> {
    let repo = gix::discover(root).ok()?;
    let url = repo.config_snapshot().string("remote.origin.url")?;
    Some(url.to_string())
}

/// `--to-prefix oci://HOST/PATH`: each environment (named, else every out/<env>/ with an
/// index.json) to `oci://HOST/PATH/<env>`.
fn prefixed_targets(
    prefix: &str,
    names: &[String],
    out_dir: &Path,
) -> anyhow::Result<Vec<(String, ArtifactRef)>> {
    let base = ArtifactRef::parse(prefix).with_context(|| format!("--to-prefix {prefix}"))?;
    if base.tag.is_some() || base.digest.is_some() {
        bail!("--to-prefix {prefix}: a prefix names no tag or digest\nhint: pass tags with --tag");
    }
    let names: Vec<String> = if names.is_empty() {
        let mut found: Vec<String> = std::fs::read_dir(out_dir)
            .with_context(|| format!("{}", out_dir.display()))?
            .filter_map(Result::ok)
            .filter(|e| e.path().join("index.json").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.starts_with('.'))
            .collect();
        found.sort();
        found
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        bail!("{} holds no built environment\nhint: run `ferry build` (or `ferry build --flux`) first", out_dir.display());
    }
    names
        .into_iter()
        .map(|n| {
            let text = format!("oci://{}/{}/{n}", base.registry, base.repository);
            let r = ArtifactRef::parse(&text).with_context(|| format!("--to-prefix: {text}"))?;
            Ok((n, r))
        })
        .collect()
}

pub fn run(g: &GlobalArgs, a: PushArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let out_dir = if a.out.is_absolute() {
        a.out.clone()
    } else {
        root.join(&a.out)
    };
    // Environments and their repositories: from --to, or ferry.yaml's `artifact:`.
    let mut targets = Vec::new();
    if let Some(to) = &a.to {
        let env = match a.environments.as_slice() {
            [one] => one.clone(),
            [] => bail!("--to needs exactly one environment\nhint: ferry push ENV --to {to}"),
            _ => bail!("--to takes one environment, not {}", a.environments.len()),
        };
        targets.push((env, ArtifactRef::parse(to)?));
    } else if let Some(prefix) = &a.to_prefix {
        targets = prefixed_targets(prefix, &a.environments, &out_dir)?;
    } else {
        if !root.join(crate::config::FILE_NAME).is_file() {
            bail!("{} has no ferry.yaml to read the environments' `artifact:` from\nhint: pass --to-prefix oci://HOST/PATH to push each out/<env> to oci://HOST/PATH/<env> (a `ferry build --flux` output needs no ferry.yaml), or ENV --to oci://HOST/REPO", root.display());
        }
        let tree = WorkTree::open(&root);
        let pipeline = load_pipeline(&tree, &root)?;
        let names: Vec<String> = if a.environments.is_empty() {
            pipeline
                .environments
                .iter()
                .filter(|(_, e)| e.artifact.is_some())
                .map(|(n, _)| n.clone())
                .collect()
        } else {
            a.environments.clone()
        };
        if names.is_empty() {
            bail!("no environment in ferry.yaml has an `artifact:`\nhint: set environments.<env>.artifact, or pass ENV --to oci://HOST/REPO");
        }
        for name in names {
            let Some(env) = pipeline.environments.get(&name) else {
                bail!("ferry.yaml has no environment {name:?}");
            };
            let Some(artifact) = &env.artifact else {
                bail!("ferry.yaml: environments.{name}.artifact is not set\nhint: set it, or pass --to oci://HOST/REPO");
            };
            let r = ArtifactRef::parse(artifact)
                .with_context(|| format!("ferry.yaml: environments.{name}.artifact"))?;
            targets.push((name, r));
        }
    }
    if let Some(bad) = a
        .tags
        .iter()
        .find(|t| !crate::artifact::reference::valid_tag(t))
    {
        bail!("--tag {bad:?} is not a valid tag\nhint: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'");
    }
    // Every directory is checked before any key is opened or anything is pushed: an out/
    // edited after `ferry build` (or an index naming a file outside it) is refused, as apply
    // and diff refuse it, and no other environment has moved yet.
    for (env, _) in &targets {
        let env_dir = out_dir.join(env);
        if !env_dir.is_dir() {
            bail!(
                "{} does not exist\nhint: run `ferry build {env}` first",
                env_dir.display()
            );
        }
        integrity::verify_dir(&env_dir)?;
    }
    // Keys: --key, else ferry.yaml's `signing.key` (per environment), else $FERRY_SIGNING_KEY.
    let cfg = match a.key {
        Some(_) => None,
        None => PipelineFile::find(&root)?,
    };
    // Every key is opened before anything is pushed: a wrong password or path stops the run
    // before the first environment moves, and each file is asked for once.
    let mut opened: Vec<(PathBuf, SigningKey)> = Vec::new();
    let mut signing_keys = Vec::new();
    for (env, _) in &targets {
        let key = match signing::signing_key_file(a.key.as_deref(), cfg.as_ref(), Some(env)) {
            Some(file) => match opened.iter().find(|(p, _)| *p == file.path) {
                Some((_, k)) => Some(k.clone()),
                None => {
                    let k = signing::signing_key(&file, cfg.as_ref())?;
                    opened.push((file.path.clone(), k.clone()));
                    Some(k)
                }
            },
            None => None,
        };
        signing_keys.push(key);
    }
    let source = a.source.clone().or_else(|| origin_url(&root));
    let mut reports = Vec::new();
    for ((env, target), signing_key) in targets.iter().zip(signing_keys) {
        let env_dir = out_dir.join(env);
        let (prov, short) = provenance(&env_dir, source.clone())?;
        if a.tags.is_empty() && target.tag.is_none() && short.is_none() {
            bail!(
                "{} names no commit (a working-tree build?), so there is no default tag\nhint: pass --tag TAG, or build a commit",
                env_dir.display()
            );
        }
        let tags = push_tags(target, &a.tags, short)?;
        let prepared = prepare(&env_dir, &prov)?;
        let opts = PushOptions {
            tags,
            signing_key,
            signature_format: a.signature_format.into(),
            registry: registry_options(g, &a.registry, target)?,
        };
        let report = push_prepared(target, &prepared, &opts)
            .with_context(|| format!("pushing environment {env} to {target}"))?;
        if a.output == OutputFormat::Text {
            crate::outln!("{}", report.reference)?;
            if !g.quiet {
                let signed = match (&report.signature, &report.bundle) {
                    (Some(_), Some(_)) => "signed (v2 tag and bundle)",
                    (Some(_), None) => "signed (v2 tag)",
                    (None, Some(_)) => "signed (bundle)",
                    (None, None) => "unsigned",
                };
                eprintln!(
                    "{env}: {} files, {} bytes, {signed}, tags: {} ({} blobs uploaded, {} already there)",
                    report.files,
                    report.layer_bytes,
                    report.tags.join(", "),
                    report.uploaded_blobs,
                    report.skipped_blobs
                );
            }
        }
        reports.push(serde_json::json!({"environment": env, "push": report}));
    }
    if a.output == OutputFormat::Json {
        crate::outln!("{}", serde_json::to_string_pretty(&reports)?)?;
    }
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ArtifactRef {
        ArtifactRef::parse(s).expect("reference")
    }

    #[test]
    fn a_tag_in_the_reference_is_pushed_and_a_tag_given_twice_is_refused() {
        let short = || Some("abc1234".to_string());
        assert_eq!(
            push_tags(&r("oci://h.example/repo:v1"), &[], short()).expect("tag"),
            ["v1"]
        );
        assert_eq!(
            push_tags(&r("oci://h.example/repo"), &[], short()).expect("default"),
            ["abc1234", "latest"]
        );
        assert_eq!(
            push_tags(&r("oci://h.example/repo"), &["x".into()], short()).expect("flag"),
            ["x"]
        );
        let err = push_tags(&r("oci://h.example/repo:v1"), &["v2".into()], short())
            .expect_err("both ways")
            .to_string();
        assert!(
            err.contains("given twice") && err.contains("--tag v2"),
            "{err}"
        );
        let digest = format!("oci://h.example/repo@sha256:{}", "a".repeat(64));
        let err = push_tags(&r(&digest), &[], short())
            .expect_err("digest")
            .to_string();
        assert!(err.contains("a digest"), "{err}");
    }
}
