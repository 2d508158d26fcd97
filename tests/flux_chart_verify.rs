//! A HelmRelease `chartRef` to an OCIRepository with `spec.verify`, against the real CNCF
//! registry on loopback: charts `helm push`ed by the real helm, one signed with ferry's own
//! cosign-compatible signer. `ferry vendor --flux` verifies the chart's manifest before
//! ferry.lock is written and records the key; the offline build then renders it with no key.
//! The unsigned chart is refused by name, with ferry.lock as it was, and its build is refused
//! too. A HelmChart of an OCI HelmRepository and a HelmRelease's chart template with `verify`
//! get the same check.

mod common;

use common::flux::{write, written};
use common::oras::{digest_of, refused_build, run_ok, run_refused, sign};
use common::registry::Registry;
use common::{helm, require_tool};
use ferry::artifact::sign::{keys::public_pem, new_signing_key, SignatureFormat};
use std::path::Path;

const SYNC: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 1m, url: 'https://git.example.com/fleet', ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, path: ./clusters/dev, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n";

/// An OCIRepository `name` of the chart at `tag`, verified with the Secret `cosign-pub`, and
/// a HelmRelease of it into the namespace `name`.
fn release(name: &str, url: &str, tag: &str) -> String {
    format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  interval: 5m\n  url: {url}\n  ref: {{tag: '{tag}'}}\n  verify: {{provider: cosign, secretRef: {{name: cosign-pub}}}}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  interval: 10m\n  targetNamespace: {name}\n  chartRef: {{kind: OCIRepository, name: {name}}}\n")
}

#[test]
fn chart_ref_oci_repositories_verify_the_chart_before_pinning_it() {
    if require_tool("helm").is_none() {
        return;
    }
    let Some(reg) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("helm");
    let charts = tmp.path().join("charts");
    std::fs::create_dir_all(&charts).expect("mkdir");
    let podinfo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform/charts/podinfo");
    let a = reg.addr.clone();
    for v in ["6.0.1", "6.1.0"] {
        helm(
            &[
                "package",
                podinfo.to_str().expect("utf-8"),
                "--version",
                v,
                "-d",
                "pkg",
            ],
            &charts,
            &home,
        );
        helm(
            &[
                "push",
                &format!("pkg/podinfo-{v}.tgz"),
                &format!("oci://{a}/charts"),
                "--plain-http",
            ],
            &charts,
            &home,
        );
    }
    let trusted = new_signing_key();
    let signed = digest_of(&a, "charts/podinfo", "6.0.1");
    sign(
        &a,
        "charts/podinfo",
        &signed,
        &trusted,
        SignatureFormat::Bundle,
    );
    let unsigned = digest_of(&a, "charts/podinfo", "6.1.0");

    let repo = tmp.path().join("repo");
    let url = format!("oci://{a}/charts/podinfo");
    write(&repo, "clusters/dev/flux-system/gotk-sync.yaml", SYNC);
    // The cluster's recipients: the key Secret is sealed for them in the output.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/flux/.sops.yaml"),
        repo.join(".sops.yaml"),
    )
    .expect("sops.yaml");
    let pem: String = public_pem(trusted.verifying_key())
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    write(
        &repo,
        "clusters/dev/cosign-pub.yaml",
        &format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: cosign-pub, namespace: flux-system}}\nstringData:\n  cosign.pub: |\n{pem}"),
    );
    write(
        &repo,
        "clusters/dev/signed.yaml",
        &release("signed", &url, "6.0.1"),
    );
    // `semverFilter` on a chart's OCIRepository (no verify): `>=6.0.0` alone picks 6.1.0, the
    // filter (unanchored, as Go matches it) leaves 6.0.1.
    write(
        &repo,
        "clusters/dev/filtered.yaml",
        &format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: filtered, namespace: flux-system}}\nspec: {{interval: 5m, url: '{url}', ref: {{semver: '>=6.0.0', semverFilter: '0\\.1$'}}}}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: filtered, namespace: flux-system}}\nspec: {{interval: 10m, targetNamespace: filtered, chartRef: {{kind: OCIRepository, name: filtered}}}}\n"),
    );

    run_ok(tmp.path(), &repo, &["vendor", "--flux"]);
    let lock_text = std::fs::read_to_string(repo.join("ferry.lock")).expect("lock");
    let lock: serde_yaml_ng::Value = serde_yaml_ng::from_str(&lock_text).expect("yaml");
    let pin = &lock["charts"][format!("{url}@6.0.1").as_str()];
    let fp = ferry::vendor::oci_verify::fingerprint(trusted.verifying_key());
    assert_eq!(
        pin["verifiedBy"][0].as_str(),
        Some(fp.as_str()),
        "{lock_text}"
    );
    let filtered_key = format!("{url}@>=6.0.0 filter 0\\.1$");
    assert_eq!(
        lock["ranges"][filtered_key.as_str()].as_str(),
        Some("6.0.1"),
        "{lock_text}"
    );

    reg.stop();
    run_ok(
        tmp.path(),
        &repo,
        &["build", "--flux", "--worktree", "--offline"],
    );
    let got = written(&repo.join("out/dev"), "hr.flux-system.signed");
    assert!(
        got.keys()
            .any(|(kind, ns, _)| kind == "Deployment" && ns == "signed"),
        "{:?}",
        got.keys()
    );
    let got = written(&repo.join("out/dev"), "hr.flux-system.filtered");
    let deploy = got
        .iter()
        .find(|((kind, ns, _), _)| kind == "Deployment" && ns == "filtered")
        .map(|(_, v)| v)
        .expect("the filtered release's Deployment");
    assert_eq!(
        deploy["metadata"]["labels"]["helm.sh/chart"], "podinfo-6.0.1",
        "the version the filter leaves"
    );
    reg.restart();

    // The unsigned chart: refused by name and digest, ferry.lock as it was; not built.
    write(
        &repo,
        "clusters/dev/unsigned.yaml",
        &release("unsigned", &url, "6.1.0"),
    );
    let err = run_refused(tmp.path(), &repo, &["vendor", "--flux"]);
    assert!(
        err.contains("OCIRepository flux-system/unsigned (clusters/dev/unsigned.yaml): the artifact")
            && err.contains(&format!("charts/podinfo@{unsigned} has no cosign signature by a key of Secret flux-system/cosign-pub")),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("ferry.lock")).expect("lock"),
        lock_text
    );
    let err = refused_build(tmp.path(), &repo);
    assert!(
        err.contains("HelmRelease flux-system/unsigned (clusters/dev/unsigned.yaml)"),
        "{err}"
    );
    std::fs::remove_file(repo.join("clusters/dev/unsigned.yaml")).expect("rm");

    // A HelmChart of an OCI HelmRepository with `verify`, and a HelmRelease's chart template
    // with it: the same check, the Secret in the HelmChart's namespace (the source's for a
    // template). 6.1.0 unsigned: refused, by name; signed (v2) afterwards: pinned, verified.
    let helm_repo = format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {{name: oci, namespace: flux-system}}\nspec: {{type: oci, url: 'oci://{a}/charts'}}\n");
    let hc = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: podinfo, namespace: flux-system}\nspec: {chart: podinfo, version: '6.1.0', sourceRef: {kind: HelmRepository, name: oci}, verify: {provider: cosign, secretRef: {name: cosign-pub}}}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: by-chart, namespace: flux-system}\nspec: {interval: 10m, targetNamespace: by-chart, chartRef: {kind: HelmChart, name: podinfo}}\n";
    let template = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: templated, namespace: flux-system}\nspec:\n  interval: 10m\n  targetNamespace: templated\n  chart:\n    spec: {chart: podinfo, version: '6.1.0', sourceRef: {kind: HelmRepository, name: oci}, verify: {provider: cosign, secretRef: {name: cosign-pub}}}\n";
    write(&repo, "clusters/dev/helmrepository.yaml", &helm_repo);
    for (file, text, object) in [
        (
            "clusters/dev/helmchart.yaml",
            hc,
            "HelmChart flux-system/podinfo (clusters/dev/helmchart.yaml)",
        ),
        (
            "clusters/dev/templated.yaml",
            template,
            "HelmRelease flux-system/templated (clusters/dev/templated.yaml)",
        ),
    ] {
        write(&repo, file, text);
        let err = run_refused(tmp.path(), &repo, &["vendor", "--flux"]);
        assert!(
            err.contains(&format!("{object}: the artifact oci://{a}/charts/podinfo@{unsigned} has no cosign signature")),
            "{object}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(repo.join("ferry.lock")).expect("lock"),
            lock_text
        );
        std::fs::rename(repo.join(file), tmp.path().join(file.replace('/', "-"))).expect("mv");
    }
    for file in ["clusters/dev/helmchart.yaml", "clusters/dev/templated.yaml"] {
        std::fs::rename(tmp.path().join(file.replace('/', "-")), repo.join(file)).expect("mv");
    }
    sign(
        &a,
        "charts/podinfo",
        &unsigned,
        &trusted,
        SignatureFormat::V2,
    );
    run_ok(tmp.path(), &repo, &["vendor", "--flux"]);
    let lock: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(repo.join("ferry.lock")).expect("lock"))
            .expect("yaml");
    let pin = &lock["charts"][format!("{url}@6.1.0").as_str()];
    assert_eq!(pin["verifiedBy"][0].as_str(), Some(fp.as_str()), "{lock:?}");
    reg.stop();
    run_ok(
        tmp.path(),
        &repo,
        &["build", "--flux", "--worktree", "--offline"],
    );
    for name in ["by-chart", "templated"] {
        let got = written(&repo.join("out/dev"), &format!("hr.flux-system.{name}"));
        assert!(
            got.keys()
                .any(|(kind, ns, _)| kind == "Deployment" && ns == name),
            "{name}: {:?}",
            got.keys()
        );
    }
}
