//! `ferry diff --from BASE --flux`: the changed-only PR diff of a Flux repository equals the
//! diff of two full builds (`ferry build --flux --revision` of each commit, then `ferry diff`
//! of the two directories) for each kind of change, and says how many units it compared and
//! skipped. Then the Kustomization render cache of `ferry build --flux`: a warm rebuild
//! renders nothing, a change renders what it affects.

mod common;

use common::{commit_all, copy_dir, ferry, git, git_output};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The Flux fixture of tests/flux_build.rs, committed as the base of a pull request.
fn repo() -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/flux"),
        &repo,
    );
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".gitignore"), "out/\n").expect("write");
    let base = commit(&repo, "base");
    (tmp, repo, base)
}

fn commit(repo: &Path, msg: &str) -> String {
    commit_all(repo, msg);
    git_output(repo, &["rev-parse", "HEAD"]).trim().to_string()
}

fn edit(repo: &Path, rel: &str, from: &str, to: &str) {
    let p = repo.join(rel);
    let text = std::fs::read_to_string(&p).expect("read");
    assert!(text.contains(from), "{rel} holds {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).expect("write");
}

fn write(repo: &Path, rel: &str, text: &str) {
    let p = repo.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// The changes of a JSON diff report in a stable order, and its counts but `unchanged` (a
/// changed-only diff compares only the objects of the units that changed).
fn changes(report: &Value) -> (Vec<Value>, Vec<u64>) {
    let mut c: Vec<Value> = report["changes"].as_array().cloned().unwrap_or_default();
    c.sort_by_key(|v| v.to_string());
    let s = &report["summary"];
    let counts = ["added", "removed", "changed", "moved"]
        .iter()
        .map(|k| s[*k].as_u64().unwrap_or(0))
        .collect();
    (c, counts)
}

/// The diff of two full builds: each revision built into its own directory (with its own
/// cache), then every cluster's directories compared.
fn full_diff(tmp: &Path, repo: &Path, from: &str, to: &str) -> (Vec<Value>, Vec<u64>) {
    let mut all = Vec::new();
    let mut counts = vec![0; 4];
    for (rev, out) in [(from, "full-old"), (to, "full-new")] {
        let o = ferry(&tmp.join("cache-full"))
            .current_dir(repo)
            .args(["build", "--flux", "--revision", rev, "--out"])
            .arg(tmp.join(out))
            .output()
            .expect("runs ferry");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for cluster in ["production", "staging"] {
        let (old, new) = (
            tmp.join("full-old").join(cluster),
            tmp.join("full-new").join(cluster),
        );
        assert!(old.is_dir() && new.is_dir(), "both builds have {cluster}");
        let o = ferry(&tmp.join("cache-full"))
            .current_dir(repo)
            .args(["diff", "--output", "json"])
            .arg(&old)
            .arg(&new)
            .output()
            .expect("runs ferry diff");
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report: Value = serde_json::from_slice(&o.stdout).expect("json");
        let (c, n) = changes(&report);
        all.extend(c);
        for (t, x) in counts.iter_mut().zip(n) {
            *t += x;
        }
    }
    for d in ["full-old", "full-new"] {
        std::fs::remove_dir_all(tmp.join(d)).expect("rm");
    }
    all.sort_by_key(|v| v.to_string());
    (all, counts)
}

/// `ferry diff --from FROM --to TO --flux`: its report and what it said on stderr.
fn changed_only(tmp: &Path, repo: &Path, from: &str, to: &str, extra: &[&str]) -> (Value, String) {
    let o = ferry(&tmp.join("cache"))
        .current_dir(repo)
        .args([
            "diff", "--from", from, "--to", to, "--flux", "--output", "json",
        ])
        .args(extra)
        .output()
        .expect("runs ferry diff");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
    let report: Value = serde_json::from_slice(&o.stdout).expect("json");
    let changed = report["summary"]["added"].as_u64().unwrap_or(0)
        + report["summary"]["removed"].as_u64().unwrap_or(0)
        + report["summary"]["changed"].as_u64().unwrap_or(0)
        + report["summary"]["moved"].as_u64().unwrap_or(0);
    assert_eq!(o.status.code(), Some(i32::from(changed > 0)), "exit status");
    (report, stderr)
}

/// The changed-only diff of `from..to` equals the full one, is not empty, and compared
/// `compared` (`"N of M"`) units.
fn check(tmp: &Path, repo: &Path, from: &str, to: &str, compared: &str) -> Vec<Value> {
    let (report, stderr) = changed_only(tmp, repo, from, to, &[]);
    let (got, got_counts) = changes(&report);
    let (want, want_counts) = full_diff(tmp, repo, from, to);
    assert!(!want.is_empty(), "the change shows in a full diff");
    assert_eq!(got, want, "the changed-only diff equals the full one");
    assert_eq!(got_counts, want_counts);
    assert!(
        stderr.contains(&format!(
            "flux: {compared} Kustomizations and HelmReleases changed and were compared"
        )),
        "{stderr}"
    );
    got
}

fn apps(changes: &[Value]) -> Vec<String> {
    let mut a: Vec<String> = changes
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["environments"][0].as_str().unwrap_or_default(),
                c["app"].as_str().unwrap_or_default()
            )
        })
        .collect();
    a.sort();
    a.dedup();
    a
}

#[test]
fn changed_only_diff_of_a_values_change_equals_the_full_diff() {
    let (tmp, repo, base) = repo();
    edit(
        &repo,
        "apps/staging/helm.yaml",
        "replicaCount: 2",
        "replicaCount: 4",
    );
    let head = commit(&repo, "more replicas");
    let got = check(tmp.path(), &repo, &base, &head, "1 of 7");
    assert_eq!(apps(&got), ["staging/hr.podinfo.frontend"]);
    // A valuesFrom ConfigMap counts as well.
    edit(
        &repo,
        "apps/staging/helm.yaml",
        "color: \"#34577c\"",
        "color: \"#ff0000\"",
    );
    let next = commit(&repo, "red");
    // The ConfigMap is an object of the Kustomization that deploys the HelmRelease.
    let got = check(tmp.path(), &repo, &head, &next, "2 of 7");
    assert_eq!(
        apps(&got),
        ["staging/flux-system.apps", "staging/hr.podinfo.frontend"]
    );
}

#[test]
fn changed_only_diff_of_a_shared_base_change_equals_the_full_diff() {
    let (tmp, repo, base) = repo();
    let deployment =
        std::fs::read_to_string(repo.join("apps/base/podinfo/deployment.yaml")).expect("read");
    let (from, to) = if deployment.contains("minReadySeconds") {
        ("minReadySeconds: 3", "minReadySeconds: 7")
    } else {
        ("spec:\n", "spec:\n  minReadySeconds: 7\n")
    };
    edit(&repo, "apps/base/podinfo/deployment.yaml", from, to);
    let head = commit(&repo, "base");
    let got = check(tmp.path(), &repo, &base, &head, "2 of 7");
    assert_eq!(
        apps(&got),
        ["production/flux-system.apps", "staging/flux-system.apps"]
    );
    // One cluster asked for: only its units are followed and compared.
    let (report, stderr) = changed_only(tmp.path(), &repo, &base, &head, &["production"]);
    assert_eq!(apps(&changes(&report).0), ["production/flux-system.apps"]);
    assert!(stderr.contains("flux: 1 of 3 "), "{stderr}");
}

#[test]
fn changed_only_diff_of_a_kustomization_spec_change_equals_the_full_diff() {
    let (tmp, repo, base) = repo();
    edit(
        &repo,
        "clusters/production/apps.yaml",
        "value: 5",
        "value: 7",
    );
    let head = commit(&repo, "history");
    let got = check(tmp.path(), &repo, &base, &head, "1 of 7");
    assert_eq!(apps(&got), ["production/flux-system.apps"]);
    // postBuild.substitute on the Kustomization object flows into what it renders.
    edit(
        &repo,
        "clusters/production/apps.yaml",
        "replicas: \"3\"",
        "replicas: \"6\"",
    );
    let next = commit(&repo, "replicas");
    let got = check(tmp.path(), &repo, &head, &next, "1 of 7");
    assert_eq!(apps(&got), ["production/flux-system.apps"]);
}

#[test]
fn changed_only_diff_of_a_chart_change_equals_the_full_diff() {
    let (tmp, repo, base) = repo();
    edit(
        &repo,
        "charts/podinfo/templates/service.yaml",
        "  labels:\n",
        "  labels:\n    example.com/changed: \"yes\"\n",
    );
    let head = commit(&repo, "chart");
    let got = check(tmp.path(), &repo, &base, &head, "1 of 7");
    assert_eq!(apps(&got), ["staging/hr.podinfo.frontend"]);
}

#[test]
fn changed_only_diff_of_a_new_and_a_removed_kustomization_equals_the_full_diff() {
    let (tmp, repo, base) = repo();
    write(
        &repo,
        "clusters/staging/extra.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: extra\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/extra\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: podinfo\n",
    );
    write(
        &repo,
        "apps/extra/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  mode: new\n",
    );
    let head = commit(&repo, "extra");
    let got = check(tmp.path(), &repo, &base, &head, "1 of 8");
    assert_eq!(apps(&got), ["staging/flux-system.extra"]);
    assert_eq!(got[0]["change"], "added");
    // The other way round, it is removed.
    let got = check(tmp.path(), &repo, &head, &base, "1 of 8");
    assert_eq!(got[0]["change"], "removed");
}

#[test]
fn changed_only_diff_of_a_substitute_from_change_equals_the_full_diff() {
    let (tmp, repo, base) = repo();
    edit(
        &repo,
        "clusters/staging/cluster-vars.yaml",
        "replicas: \"2\"",
        "replicas: \"3\"",
    );
    let head = commit(&repo, "vars");
    // The ConfigMap itself (in the cluster root) and what substitutes it.
    let got = check(tmp.path(), &repo, &base, &head, "2 of 7");
    assert_eq!(apps(&got), ["staging/flux-system.apps", "staging/root"]);
}

/// The build's JSON report, per cluster: (rendered apps, cached count).
fn build_report(tmp: &Path, repo: &Path) -> Vec<(String, Vec<String>, u64)> {
    let o = ferry(&tmp.join("cache"))
        .current_dir(repo)
        .args(["build", "--flux", "--worktree", "--output", "json"])
        .output()
        .expect("runs ferry");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).expect("json");
    report["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| {
            let apps = e["renderedApps"]
                .as_array()
                .expect("renderedApps")
                .iter()
                .map(|a| a.as_str().unwrap_or_default().to_string())
                .collect();
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                apps,
                e["cached"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn rendered(report: &[(String, Vec<String>, u64)]) -> Vec<(&str, Vec<&str>)> {
    report
        .iter()
        .map(|(n, a, _)| (n.as_str(), a.iter().map(String::as_str).collect()))
        .collect()
}

#[test]
fn warm_flux_rebuild_renders_nothing_and_a_change_renders_what_it_affects() {
    let (tmp, repo, _) = repo();
    let cold = build_report(tmp.path(), &repo);
    // Both clusters' infra-configs read the same spec and files: rendered once.
    assert_eq!(
        rendered(&cold),
        [
            (
                "production",
                vec!["flux-system.apps", "flux-system.infra-configs", "root"]
            ),
            (
                "staging",
                vec!["flux-system.apps", "hr.podinfo.frontend", "root"]
            ),
        ]
    );
    // Warm, with the output removed so that every unit must be produced again.
    std::fs::remove_dir_all(repo.join("out")).expect("rm out");
    let warm = build_report(tmp.path(), &repo);
    assert_eq!(
        rendered(&warm),
        [("production", vec![]), ("staging", vec![])]
    );
    assert_eq!(warm[0].2, 3, "production: every unit from the cache");
    assert_eq!(warm[1].2, 4, "staging: every unit from the cache");
    // A base both overlays read: their two Kustomizations, nothing else.
    edit(
        &repo,
        "apps/base/podinfo/service.yaml",
        "metadata:\n",
        "metadata:\n  annotations:\n    example.com/changed: \"yes\"\n",
    );
    let after = build_report(tmp.path(), &repo);
    assert_eq!(
        rendered(&after),
        [
            ("production", vec!["flux-system.apps"]),
            ("staging", vec!["flux-system.apps"])
        ]
    );
    // A chart: its HelmRelease alone.
    edit(
        &repo,
        "charts/podinfo/templates/service.yaml",
        "  labels:\n",
        "  labels:\n    example.com/changed: \"yes\"\n",
    );
    let after = build_report(tmp.path(), &repo);
    assert_eq!(
        rendered(&after),
        [
            ("production", vec![]),
            ("staging", vec!["hr.podinfo.frontend"])
        ]
    );
    // A substituteFrom ConfigMap: the root that holds it and the Kustomization that reads it.
    edit(
        &repo,
        "clusters/staging/cluster-vars.yaml",
        "replicas: \"2\"",
        "replicas: \"3\"",
    );
    let after = build_report(tmp.path(), &repo);
    assert_eq!(
        rendered(&after),
        [
            ("production", vec![]),
            ("staging", vec!["flux-system.apps", "root"])
        ]
    );
}

#[test]
fn changed_only_diff_names_what_does_not_build_and_unknown_clusters() {
    let (tmp, repo, base) = repo();
    edit(
        &repo,
        "clusters/staging/apps.yaml",
        "path: ./apps/staging",
        "path: ./apps/stagin",
    );
    let head = commit(&repo, "typo");
    let o = ferry(&tmp.path().join("cache"))
        .current_dir(&repo)
        .args(["diff", "--from", &base, "--to", &head, "--flux"])
        .output()
        .expect("runs ferry diff");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("cannot build {head}"))
            && err.contains("staging: Kustomization flux-system/apps (clusters/staging/apps.yaml): spec.path `apps/stagin` does not exist"),
        "{err}"
    );
    let o = ferry(&tmp.path().join("cache"))
        .current_dir(&repo)
        .args([
            "diff", "--from", &base, "--to", &base, "--flux", "clusters", "qa",
        ])
        .output()
        .expect("runs ferry diff");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("environment `qa` exists in neither") && err.contains("production, staging"),
        "{err}"
    );
}
