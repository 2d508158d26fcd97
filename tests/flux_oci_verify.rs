//! OCIRepository `spec.ref.semverFilter` and `spec.verify` end to end against the real CNCF
//! registry on loopback: artifacts pushed by oras (`oci-artifact`), signed with ferry's own
//! cosign-compatible signer (v2 `.sig` tag and v3 Sigstore bundle), `ferry vendor --flux`
//! resolving, verifying and pinning them, `ferry build --flux --offline` building them with no
//! key. Every artifact Flux would refuse (unsigned, signed by another key) and every check
//! ferry cannot make (no key, keyless, notation) fails by name and leaves ferry.lock as it was.

mod common;

use common::flux::{encrypt_for_ci, write, written};
use common::oras::{
    content_and_broken, push, refused_build, revendor_offline, run_ok, run_refused, sign, CONTENT,
};
use common::registry::Registry;
use common::require_tool;
use ferry::artifact::sign::{keys::public_pem, new_signing_key, SignatureFormat};
use std::path::Path;

const SYNC: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 1m, url: 'https://git.example.com/fleet', ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, path: ./clusters/prod, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n";

/// An OCIRepository `name` of `url` with `extra` spec lines, and a Kustomization building
/// `apps/base/podinfo` from it into the namespace `name`.
fn source(name: &str, url: &str, extra: &str) -> String {
    format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  interval: 5m\n  url: {url}\n{extra}---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  interval: 10m\n  path: ./apps/base/podinfo\n  prune: true\n  sourceRef: {{kind: OCIRepository, name: {name}}}\n  targetNamespace: {name}\n  postBuild:\n    substitute: {{cluster_env: {name}, app_version: '1.0.0'}}\n")
}

/// `ferry vendor --flux` with `extra` flags, expected to fail: its stderr; ferry.lock must be
/// `lock` still (`None`: absent).
fn refused_vendor(tmp: &Path, repo: &Path, extra: &[&str], lock: Option<&str>) -> String {
    let mut args = vec!["vendor", "--flux"];
    args.extend_from_slice(extra);
    let err = run_refused(tmp, repo, &args);
    assert_eq!(
        std::fs::read_to_string(repo.join("ferry.lock"))
            .ok()
            .as_deref(),
        lock,
        "ferry.lock untouched: {err}"
    );
    err
}

#[test]
fn verified_and_filtered_oci_sources_pin_what_flux_accepts() {
    let Some(oras) = require_tool("oci-artifact") else {
        return;
    };
    let Some(reg) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    content_and_broken(tmp.path(), &work, &["apps/base/podinfo"]);
    let layer = |file: &str| vec![format!("{file}.tgz:{CONTENT}")];
    let a = reg.addr.clone();

    let trusted = new_signing_key();
    let other = new_signing_key();
    let pushed = |repo: &str, tag: &str, file: &str| {
        push(&oras, &work, &format!("{a}/{repo}:{tag}"), &layer(file))
    };
    let v2 = pushed("fleet/v2", "1.0.0", "good");
    sign(&a, "fleet/v2", &v2, &trusted, SignatureFormat::V2);
    let bundled = pushed("fleet/bundled", "stable", "good");
    sign(
        &a,
        "fleet/bundled",
        &bundled,
        &trusted,
        SignatureFormat::Bundle,
    );
    let by_other = pushed("fleet/other", "1.0.0", "good");
    sign(&a, "fleet/other", &by_other, &other, SignatureFormat::Both);
    let unsigned = pushed("fleet/unsigned", "1.0.0", "good");
    // Only 1.1.0-rc.1 builds. The range alone picks 1.2.0; a filter anchored at both ends
    // (`^-rc$`, unlike Go's MatchString) would pick none.
    for (tag, file) in [
        ("1.0.0", "broken"),
        ("1.0.5-rc.2", "broken"),
        ("1.1.0-rc.1", "good"),
        ("1.2.0-beta.1", "broken"),
        ("1.2.0", "broken"),
    ] {
        pushed("fleet/filtered", tag, file);
    }

    let repo = tmp.path().join("repo");
    write(&repo, "clusters/prod/flux-system/gotk-sync.yaml", SYNC);
    // The trusted key, SOPS-encrypted in the repository: opened in memory, as Flux reads it.
    let plain = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: cosign-pub, namespace: flux-system}}\nstringData:\n  cosign.pub: |\n{}",
        public_pem(trusted.verifying_key())
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    // Deployed by another Kustomization, rendered after the ones that need the key: those
    // wait for it rather than asking for --verify-key.
    write(&repo, "infra/keys/cosign-pub.yaml", &encrypt_for_ci(&plain));
    write(
        &repo,
        "clusters/prod/keys.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: keys, namespace: flux-system}\nspec: {interval: 10m, path: ./infra/keys, prune: true, sourceRef: {kind: GitRepository, name: flux-system}, decryption: {provider: sops}}\n",
    );
    // The cluster's recipients, which the Secret is sealed for in the output.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/flux/.sops.yaml"),
        repo.join(".sops.yaml"),
    )
    .expect("sops.yaml");
    let verify =
        |secret: &str| format!("  verify: {{provider: cosign, secretRef: {{name: {secret}}}}}\n");
    write(
        &repo,
        "clusters/prod/v2.yaml",
        &source(
            "v2",
            &format!("oci://{a}/fleet/v2"),
            &format!("  ref: {{tag: '1.0.0'}}\n{}", verify("cosign-pub")),
        ),
    );
    // Its Secret is not in the repository: the key comes from --verify-key.
    write(
        &repo,
        "clusters/prod/bundled.yaml",
        &source(
            "bundled",
            &format!("oci://{a}/fleet/bundled"),
            &format!("  ref: {{tag: stable}}\n{}", verify("external")),
        ),
    );
    let filtered_ref = "  ref: {semver: '>=1.0.0-0', semverFilter: '-rc'}\n";
    let write_filtered = |extra: &str| {
        let url = format!("oci://{a}/fleet/filtered");
        write(
            &repo,
            "clusters/prod/filtered.yaml",
            &source("filtered", &url, extra),
        );
    };
    write_filtered(filtered_ref);
    let external = work.join("external.pub");
    std::fs::write(&external, public_pem(trusted.verifying_key())).expect("pub");
    let flag = format!("flux-system/external={}", external.display());

    // Without the key of the Secret the repository does not hold: nothing pinned.
    let err = refused_vendor(tmp.path(), &repo, &[], None);
    assert!(
        !err.contains("Secret flux-system/cosign-pub, which"),
        "{err}"
    );
    assert!(err.contains("OCIRepository flux-system/bundled (clusters/prod/bundled.yaml): spec.verify.secretRef names Secret flux-system/external, which this repository does not hold"), "{err}");
    assert!(
        err.contains("--verify-key flux-system/external=cosign.pub"),
        "{err}"
    );

    run_ok(
        tmp.path(),
        &repo,
        &["vendor", "--flux", "--verify-key", &flag],
    );
    let lock_text = std::fs::read_to_string(repo.join("ferry.lock")).expect("lock");
    let lock: serde_yaml_ng::Value = serde_yaml_ng::from_str(&lock_text).expect("yaml");
    let fp = ferry::vendor::oci_verify::fingerprint(trusted.verifying_key());
    for (key, digest) in [
        (format!("oci://{a}/fleet/v2:1.0.0"), &v2),
        (format!("oci://{a}/fleet/bundled:stable"), &bundled),
    ] {
        let pin = &lock["artifacts"][key.as_str()];
        assert_eq!(pin["digest"].as_str(), Some(digest.as_str()), "{lock_text}");
        assert_eq!(
            pin["verifiedBy"][0].as_str(),
            Some(fp.as_str()),
            "{lock_text}"
        );
    }
    let filtered_key = format!("oci://{a}/fleet/filtered:semver >=1.0.0-0 filter -rc");
    let pin = &lock["artifacts"][filtered_key.as_str()];
    assert_eq!(pin["version"].as_str(), Some("1.1.0-rc.1"), "{lock_text}");
    assert!(pin["verifiedBy"].is_null(), "not verified: {lock_text}");

    // Built offline with the registry gone and no key: the pins record the verification.
    reg.stop();
    run_ok(
        tmp.path(),
        &repo,
        &["build", "--flux", "--worktree", "--offline"],
    );
    for name in ["v2", "bundled", "filtered"] {
        let got = written(&repo.join("out/prod"), &format!("flux-system.{name}"));
        assert!(
            got.contains_key(&("Deployment".into(), name.into(), "podinfo".into())),
            "{name}: {:?}",
            got.keys()
        );
    }
    reg.restart();

    // Verification added to an OCIRepository already pinned: the build refuses the pin, and
    // vendoring refuses the unsigned artifact, ferry.lock untouched.
    write_filtered(&format!("{filtered_ref}{}", verify("cosign-pub")));
    let err = refused_build(tmp.path(), &repo);
    assert!(
        err.contains("Kustomization flux-system/filtered (clusters/prod/filtered.yaml)")
            && err.contains("does not record")
            && err.contains("hint: run `ferry vendor --flux`"),
        "{err}"
    );
    let err = refused_vendor(
        tmp.path(),
        &repo,
        &["--verify-key", &flag],
        Some(&lock_text),
    );
    assert!(
        err.contains(&format!(
            "fleet/filtered@{}",
            pin["digest"].as_str().expect("digest")
        )) && err.contains("has no cosign signature by a key of Secret flux-system/cosign-pub"),
        "{err}"
    );
    write_filtered(filtered_ref);

    // Each artifact or check Flux would refuse, or ferry cannot make, on its own.
    let cases = [
        ("unsigned", "fleet/unsigned", verify("cosign-pub"), format!("fleet/unsigned@{unsigned}")),
        ("other", "fleet/other", verify("cosign-pub"), format!("fleet/other@{by_other} has no cosign signature")),
        ("absent", "fleet/unsigned", verify("absent"), "names Secret flux-system/absent, which this repository does not hold".into()),
        ("keyless", "fleet/v2", "  verify:\n    provider: cosign\n    matchOIDCIdentity: [{issuer: '^https://token.actions.githubusercontent.com$', subject: '.*'}]\n".into(), "keyless verification (spec.verify.matchOIDCIdentity)".into()),
        ("notation", "fleet/v2", "  verify: {provider: notation, secretRef: {name: cosign-pub}}\n".into(), "spec.verify.provider `notation`".into()),
    ];
    for (name, path, verify, want) in cases {
        let file = format!("clusters/prod/{name}.yaml");
        write(
            &repo,
            &file,
            &source(
                name,
                &format!("oci://{a}/{path}"),
                &format!("  ref: {{tag: '1.0.0'}}\n{verify}"),
            ),
        );
        let err = refused_vendor(
            tmp.path(),
            &repo,
            &["--verify-key", &flag],
            Some(&lock_text),
        );
        assert!(err.contains(&want), "{name}: {err}");
        assert!(
            err.contains(&format!("OCIRepository flux-system/{name}")),
            "{name}: {err}"
        );
        assert!(
            err.contains(&format!("({file})")),
            "{name} names its file: {err}"
        );
        assert!(err.contains("hint: "), "{name}: {err}");
        std::fs::remove_file(repo.join(&file)).expect("rm");
    }
    // The pins record their verification: vendoring again needs neither the registry nor
    // the key of the Secret the repository does not hold.
    reg.stop();
    revendor_offline(tmp.path(), &repo, 3);
}
