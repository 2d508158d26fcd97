//! `cargo xtask bench flux`: a generated Flux repository (100 Kustomizations and 100
//! HelmReleases over 3 clusters, charts from the corpus) built by `ferry build --flux` cold,
//! beside the sequential `kubectl kustomize` + `helm template` loop a flux-local style tool
//! runs, in the same run, after checking the two give the same objects; then the warm
//! rebuild, a rebuild after one HelmRelease change, and the changed-only PR diff of that
//! change (`ferry diff --from HEAD~1 --flux`).

use super::build::{copy_charts, git, run_peer_loop, verdict, write};
use crate::measure::{self, mb, ms, secs};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const CLUSTERS: [&str; 3] = ["dev", "staging", "prod"];
/// Kustomizations in all: one per app, and one per cluster holding its HelmReleases.
const KUSTOMIZATIONS: usize = 100;
const HELM_RELEASES: usize = 100;
const KUBE_VERSION: &str = "1.31.0";
/// The namespace of every HelmRelease (and so of every release).
const RELEASE_NS: &str = "apps";
/// Interleaved rounds of the cold build and the peer's loop.
const COLD_ROUNDS: usize = 3;

/// How the peer's output of one unit is normalised to what Flux applies.
enum PeerUnit {
    Kustomize,
    /// A release: its name, for helm-controller's origin labels and the namespace of
    /// objects the chart leaves without one.
    Helm(String),
}

/// Writes the repository; returns the peer's loop and, per cluster, its output files.
#[allow(clippy::type_complexity)]
fn generate(
    root: &Path,
    repo: &Path,
) -> Result<(String, BTreeMap<String, Vec<(String, PeerUnit)>>)> {
    let charts = copy_charts(root, repo)?;
    let mut script = String::from("set -e\n");
    let mut units: BTreeMap<String, Vec<(String, PeerUnit)>> = BTreeMap::new();
    let mut apps: BTreeMap<&str, String> = BTreeMap::new();
    let mut releases: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in CLUSTERS {
        write(
            &repo.join(format!("clusters/{c}/flux-system/gotk-sync.yaml")),
            &format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: ssh://git@example.com/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/{c}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
        )?;
        write(
            &repo.join(format!("clusters/{c}/kustomization.yaml")),
            "resources: [flux-system/gotk-sync.yaml, apps.yaml]\n",
        )?;
        writeln!(
            script,
            "mkdir -p peer/out/{c}; kubectl kustomize clusters/{c} > peer/out/{c}/root.yaml"
        )?;
        units
            .entry(c.to_string())
            .or_default()
            .push((format!("peer/out/{c}/root.yaml"), PeerUnit::Kustomize));
        // The Kustomization that deploys the cluster's HelmReleases.
        apps.insert(c, kustomization("releases", &format!("./releases/{c}")));
        writeln!(
            script,
            "kubectl kustomize releases/{c} > peer/out/{c}/releases.yaml"
        )?;
        units
            .entry(c.to_string())
            .or_default()
            .push((format!("peer/out/{c}/releases.yaml"), PeerUnit::Kustomize));
    }
    for i in 0..KUSTOMIZATIONS - CLUSTERS.len() {
        let app = format!("k{i:03}");
        let c = CLUSTERS[i % CLUSTERS.len()];
        write(&repo.join(format!("apps/{app}/base/kustomization.yaml")), "resources: [deployment.yaml, service.yaml]\nlabels:\n  - pairs: {app.kubernetes.io/part-of: bench}\n    includeSelectors: true\n")?;
        write(&repo.join(format!("apps/{app}/base/deployment.yaml")), &format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n"))?;
        write(&repo.join(format!("apps/{app}/base/service.yaml")), &format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  ports: [{{port: 80}}]\n"))?;
        write(
            &repo.join(format!("apps/{app}/overlays/{c}/kustomization.yaml")),
            &format!("namespace: ns-{app}\nresources: [../../base]\nnamePrefix: {c}-\nreplicas: [{{name: {app}, count: {}}}]\nconfigMapGenerator:\n  - name: {app}-env\n    literals: [ENV={c}]\n", i % 5 + 1),
        )?;
        let doc = kustomization(&app, &format!("./apps/{app}/overlays/{c}"));
        let list = apps.entry(c).or_default();
        list.push_str("---\n");
        list.push_str(&doc);
        writeln!(
            script,
            "kubectl kustomize apps/{app}/overlays/{c} > peer/out/{c}/{app}.yaml"
        )?;
        units
            .entry(c.to_string())
            .or_default()
            .push((format!("peer/out/{c}/{app}.yaml"), PeerUnit::Kustomize));
    }
    for i in 0..HELM_RELEASES {
        let name = format!("h{i:03}");
        let c = CLUSTERS[i % CLUSTERS.len()];
        let chart = charts[i % charts.len()];
        let values = values(&name, i % 3 + 1);
        write(
            &repo.join(format!("releases/{c}/{name}.yaml")),
            &format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: {RELEASE_NS}\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./charts/{chart}\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n        namespace: flux-system\n  values:\n{}", indent(&values)),
        )?;
        releases.entry(c).or_default().push(format!("{name}.yaml"));
        // What a flux-local style tool does per HelmRelease: the values to a file, helm template.
        write(&repo.join(format!("peer/values/{name}.yaml")), &values)?;
        writeln!(script, "helm template {name} charts/{chart} -n {RELEASE_NS} -f peer/values/{name}.yaml --kube-version {KUBE_VERSION} --include-crds > peer/out/{c}/{name}.yaml")?;
        units
            .entry(c.to_string())
            .or_default()
            .push((format!("peer/out/{c}/{name}.yaml"), PeerUnit::Helm(name)));
    }
    for (c, list) in &apps {
        write(&repo.join(format!("clusters/{c}/apps.yaml")), list)?;
    }
    for (c, files) in &releases {
        write(
            &repo.join(format!("releases/{c}/kustomization.yaml")),
            &format!("resources: [{}]\n", files.join(", ")),
        )?;
    }
    std::fs::write(repo.join(".gitignore"), "out/\npeer/out/\n")?;
    git(repo, &["init", "-q", "-b", "main"])?;
    git(repo, &["add", "-A"])?;
    git(repo, &["commit", "-q", "-m", "fleet"])?;
    Ok((script, units))
}

fn kustomization(name: &str, path: &str) -> String {
    format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
}

fn values(name: &str, replicas: usize) -> String {
    format!("fullnameOverride: {name}\nreplicaCount: {replicas}\nreplicas: {replicas}\napiService:\n  create: false\n")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

type Key = (String, String, String, String);

fn key(v: &Value) -> Key {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&v["apiVersion"]),
        s(&v["kind"]),
        s(&v["metadata"]["namespace"]),
        s(&v["metadata"]["name"]),
    )
}

/// Kinds the charts render that are cluster-scoped (the rest get a namespace when they have
/// none, as ferry and the API server give them).
fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "APIService"
            | "PriorityClass"
            | "StorageClass"
            | "IngressClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "PersistentVolume"
    )
}

/// What Flux would apply for one cluster, from the peer's output files.
fn peer_objects(repo: &Path, units: &[(String, PeerUnit)]) -> Result<BTreeMap<Key, Value>> {
    let mut out = BTreeMap::new();
    for (file, unit) in units {
        let text = std::fs::read_to_string(repo.join(file)).with_context(|| file.clone())?;
        for mut v in
            ferry::manifest::parse_rendered(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?
        {
            // Flux's own objects are followed, not applied.
            if v["apiVersion"]
                .as_str()
                .is_some_and(|a| a.contains("toolkit.fluxcd.io/"))
            {
                continue;
            }
            let kind = v["kind"].as_str().unwrap_or_default().to_string();
            let default_ns = match unit {
                PeerUnit::Kustomize => "default",
                PeerUnit::Helm(name) => {
                    let hook = v["metadata"]["annotations"]["helm.sh/hook"]
                        .as_str()
                        .unwrap_or_default();
                    if hook.split(',').any(|h| h.trim().starts_with("test")) {
                        continue;
                    }
                    // helm-controller's origin labels.
                    let labels = &mut v["metadata"]["labels"];
                    if !labels.is_object() {
                        *labels = Value::Object(Default::default());
                    }
                    labels["helm.toolkit.fluxcd.io/name"] = Value::String(name.clone());
                    labels["helm.toolkit.fluxcd.io/namespace"] = Value::String(RELEASE_NS.into());
                    RELEASE_NS
                }
            };
            if !cluster_scoped(&kind) && v["metadata"]["namespace"].as_str().is_none() {
                v["metadata"]["namespace"] = Value::String(default_ns.into());
            }
            out.insert(key(&v), v);
        }
    }
    Ok(out)
}

/// What ferry wrote for one cluster.
fn ferry_objects(dir: &Path) -> Result<BTreeMap<Key, Value>> {
    let mut out = BTreeMap::new();
    for app in std::fs::read_dir(dir)? {
        let app = app?.path();
        if !app.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&app)? {
            let f = f?.path();
            let text = std::fs::read_to_string(&f)?;
            for v in ferry::manifest::parse_rendered(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
            {
                out.insert(key(&v), v);
            }
        }
    }
    Ok(out)
}

/// Every cluster's objects compared one by one; the first difference is an error.
fn check_same(repo: &Path, units: &BTreeMap<String, Vec<(String, PeerUnit)>>) -> Result<usize> {
    let mut n = 0;
    for (c, units) in units {
        let want = peer_objects(repo, units)?;
        let got = ferry_objects(&repo.join("out").join(c))?;
        if let Some(k) = want.keys().find(|k| !got.contains_key(*k)) {
            bail!("{c}: ferry did not write {k:?}");
        }
        if let Some(k) = got.keys().find(|k| !want.contains_key(*k)) {
            bail!("{c}: ferry wrote {k:?}, which Flux would not apply");
        }
        for (k, w) in &want {
            if &got[k] != w {
                bail!("{c}: {k:?} differs\nferry: {}\npeer:  {}", got[k], w);
            }
        }
        n += want.len();
    }
    Ok(n)
}

/// Commits a change to one HelmRelease's values (change number `n`).
fn change_one_release(repo: &Path, n: usize) -> Result<()> {
    let file = repo.join("releases/dev/h000.yaml");
    let text = std::fs::read_to_string(&file)?;
    let from = text
        .lines()
        .find(|l| l.trim_start().starts_with("replicaCount:"))
        .context("h000 has replicaCount")?
        .to_string();
    std::fs::write(
        &file,
        text.replacen(&from, &format!("    replicaCount: {}", 10 + n), 1),
    )?;
    git(repo, &["commit", "-qam", &format!("h000: replicas ({n})")])
}

/// The rendered pairs of a `ferry build --output json` report, over every cluster.
fn rendered(stdout: &[u8]) -> Result<u64> {
    let report: Value = serde_json::from_slice(stdout)?;
    Ok(report["environments"]
        .as_array()
        .map(|envs| {
            envs.iter()
                .map(|e| e["rendered"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0))
}

/// Writes the generated repository into `dir` and stops (for profiling by hand).
pub fn generate_only(root: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    generate(root, dir)?;
    eprintln!("generated Flux repository written to {}", dir.display());
    Ok(())
}

pub fn run(root: &Path) -> Result<()> {
    let (path, _) = crate::tools::ensure(root, false)?;
    let ferry = super::release_ferry(root)?;
    let work = std::env::temp_dir().join(format!("ferry-bench-flux-{}", std::process::id()));
    let repo = work.join("repo");
    std::fs::create_dir_all(&repo)?;
    let (script, units) = generate(root, &repo)?;
    let cache = work.join("cache");
    let ferry_cmd = |args: &[&str]| -> Command {
        let mut c = Command::new(&ferry);
        c.arg("-C")
            .arg(&repo)
            .args(args)
            .env("PATH", &path)
            .env("FERRY_CACHE_DIR", &cache);
        c
    };

    // One cold build is a fraction of a second, so one run is at the mercy of whatever else
    // the machine does: both sides are measured in the same interleaved rounds and the
    // median of each is compared.
    let mut peer_walls = Vec::new();
    let mut cold_walls = Vec::new();
    let (mut peer_rss, mut cold_rss) = (0, 0);
    for round in 1..=COLD_ROUNDS {
        eprintln!(
            "==> round {round}/{COLD_ROUNDS}: peer, the sequential kubectl kustomize / helm template loop ({} Kustomizations + {} cluster roots, {} HelmReleases)",
            KUSTOMIZATIONS,
            CLUSTERS.len(),
            HELM_RELEASES
        );
        let peer = run_peer_loop(&script, &repo, &path)?;
        peer_walls.push(peer.wall);
        peer_rss = peer_rss.max(peer.max_rss);
        eprintln!("==> round {round}/{COLD_ROUNDS}: ferry build --flux, cold cache, no out/");
        // Each round writes where nothing was: emptying a directory first would make the
        // file system's inode allocation step over the inodes just freed (ext4), a cost a
        // CI job on a fresh clone never pays. The last round fills the cache and `out/` the
        // rest of the bench uses.
        let cold = if round == COLD_ROUNDS {
            measure::run(&mut ferry_cmd(&["build", "-q", "--flux"]))?
        } else {
            let out = format!("out-cold-{round}");
            measure::run(
                ferry_cmd(&["build", "-q", "--flux", "--out", &out])
                    .env("FERRY_CACHE_DIR", work.join(format!("cache-cold-{round}"))),
            )?
        };
        cold_walls.push(cold.wall);
        cold_rss = cold_rss.max(cold.max_rss);
    }
    let (peer_wall, cold_wall) = (measure::median(peer_walls), measure::median(cold_walls));
    let objects = check_same(&repo, &units)?;
    eprintln!("    {objects} objects, the same as the peer's, object by object");

    eprintln!("==> ferry build --flux, warm, nothing changed (median of 5)");
    let mut warm = Vec::new();
    for _ in 0..5 {
        warm.push(measure::run(&mut ferry_cmd(&["build", "-q", "--flux"]))?.wall);
    }
    let warm = measure::median(warm);
    let out = ferry_cmd(&["build", "-q", "--flux", "--output", "json"]).output()?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let warm_rendered = rendered(&out.stdout)?;

    eprintln!("==> changed-only PR diff of one HelmRelease change, base built (median of 3)");
    let mut diffs = Vec::new();
    let mut said = String::new();
    for n in 0..3 {
        change_one_release(&repo, n)?;
        diffs.push(
            measure::run_allowing(
                &mut ferry_cmd(&["diff", "-q", "--from", "HEAD~1", "--flux"]),
                &[1],
            )?
            .wall,
        );
        let out = ferry_cmd(&["diff", "--from", "HEAD~1", "--flux"]).output()?;
        said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // The base of the next change is this commit, built as CI builds main.
        measure::run(&mut ferry_cmd(&["build", "-q", "--flux"]))?;
    }
    let diff = measure::median(diffs);
    eprintln!("    {said}");
    eprintln!("==> the same diff with an empty cache");
    change_one_release(&repo, 3)?;
    let cold_cache = work.join("cache-empty");
    let diff_cold = measure::run_allowing(
        Command::new(&ferry)
            .arg("-C")
            .arg(&repo)
            .args(["diff", "-q", "--from", "HEAD~1", "--flux"])
            .env("PATH", &path)
            .env("FERRY_CACHE_DIR", &cold_cache),
        &[1],
    )?;
    eprintln!("==> ferry build --flux after that change");
    let out = ferry_cmd(&["build", "-q", "--flux", "--output", "json"]).output()?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let one_rendered = rendered(&out.stdout)?;
    change_one_release(&repo, 4)?;
    let one = measure::run(&mut ferry_cmd(&["build", "-q", "--flux"]))?;

    let speedup = peer_wall.as_secs_f64() / cold_wall.as_secs_f64();
    println!(
        "\nbench flux: {KUSTOMIZATIONS} Kustomizations and {HELM_RELEASES} HelmReleases over {} clusters, {objects} objects, {} cores",
        CLUSTERS.len(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!(
        "{:<40} {:>10} {:>12}   result (target)",
        "", "ferry", "peer loop"
    );
    println!(
        "{:<40} {:>10} {:>12}   {:.1}x faster (>= 20x) {}",
        format!("cold build, median of {COLD_ROUNDS} (outputs equal)"),
        secs(cold_wall),
        secs(peer_wall),
        speedup,
        verdict(speedup >= 20.0)
    );
    println!(
        "{:<40} {:>10} {:>12}   {warm_rendered} rendered",
        "warm rebuild, nothing changed",
        ms(warm),
        "-"
    );
    println!(
        "{:<40} {:>10} {:>12}   {one_rendered} rendered",
        "rebuild after one HelmRelease change",
        ms(one.wall),
        "-"
    );
    println!(
        "{:<40} {:>10} {:>12}   (< 1 s) {}",
        "PR diff, one HelmRelease (base built)",
        ms(diff),
        "-",
        verdict(diff.as_millis() < 1000)
    );
    println!(
        "{:<40} {:>10} {:>12}   (< 1 s) {}",
        "PR diff, one HelmRelease (empty cache)",
        ms(diff_cold.wall),
        "-",
        verdict(diff_cold.wall.as_millis() < 1000)
    );
    println!(
        "{:<40} {:>10} {:>12}",
        "peak memory (cold build)",
        mb(cold_rss),
        mb(peer_rss)
    );
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
