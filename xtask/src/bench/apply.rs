//! `cargo xtask bench apply [--kubeconfig FILE]` (live): 1,000 ConfigMaps applied to an empty
//! namespace and re-applied unchanged, by ferry, by `kubectl apply --server-side`, and by the
//! thinnest concurrent kube-rs client (the API server's ceiling), measured in one run.
//!
//! Needs a cluster: `FERRY_TEST_KUBECONFIG` or `--kubeconfig`. Without one it says so and
//! reports "not measured", exit 0, so `cargo xtask bench apply` is harmless anywhere.

use super::apply_cluster as cluster;
use crate::measure::{self, secs};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const OBJECTS: usize = 1_000;

fn kubeconfig(args: &[String]) -> Result<Option<PathBuf>> {
    match args.iter().position(|a| a == "--kubeconfig") {
        Some(i) => match args.get(i + 1) {
            Some(p) => Ok(Some(PathBuf::from(p))),
            None => bail!("--kubeconfig needs a FILE"),
        },
        None => Ok(std::env::var_os("FERRY_TEST_KUBECONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)),
    }
}

fn configmap(i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("bench-{i:04}"), "namespace": "placeholder",
                     "labels": {"app.kubernetes.io/name": "ferry-bench"}},
        "data": {"LOG_LEVEL": "info", "VERSION": "1.0.0", "INDEX": i.to_string(),
                 "FEATURES": "a,b,c,d,e,f"}})
}

fn in_namespace(objects: &[Value], ns: &str) -> Vec<Value> {
    objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            o["metadata"]["namespace"] = ns.into();
            o
        })
        .collect()
}

/// This run's suffix, so that namespaces of an interrupted earlier run never get in the way.
fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("{:x}", t % 0xfffff)
}

struct Figures {
    ferry_first: Duration,
    ferry_again: Duration,
    kubectl_first: Duration,
    kubectl_again: Duration,
    ceiling: Duration,
    concurrency: usize,
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let Some(kc) = kubeconfig(args)? else {
        println!("bench apply: not measured: it needs a Kubernetes API server (set FERRY_TEST_KUBECONFIG=/path/kubeconfig or pass --kubeconfig FILE); none can run here");
        return Ok(());
    };
    let kubectl = crate::tools::find("kubectl")
        .context("bench apply compares with kubectl, which is not installed\nhint: cargo xtask demo installs it")?;
    let ferry = super::release_ferry(root)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = runtime.block_on(cluster::client(&kc))?;
    let id = run_id();
    let namespaces: Vec<String> = ["ferry", "kubectl", "ceiling"]
        .iter()
        .map(|w| format!("bench-{w}-{id}"))
        .collect();
    let work = std::env::temp_dir().join(format!("ferry-bench-apply-{id}"));
    let result = measure_all(&runtime, &client, &ferry, &kubectl, &kc, &namespaces, &work);
    // Always clean up, also after a failed measurement.
    eprintln!("==> deleting namespaces {}", namespaces.join(", "));
    runtime.block_on(cluster::delete_namespaces(&client, &namespaces));
    let _ = std::fs::remove_dir_all(&work);
    print_table(&result?);
    Ok(())
}

fn measure_all(
    runtime: &tokio::runtime::Runtime,
    client: &kube::Client,
    ferry: &Path,
    kubectl: &Path,
    kc: &Path,
    namespaces: &[String],
    work: &Path,
) -> Result<Figures> {
    let [ns_ferry, ns_kubectl, ns_ceiling] = namespaces else {
        bail!("three namespaces expected");
    };
    // Empty namespaces first, outside the timings: every tool starts from the same state.
    for ns in namespaces {
        runtime.block_on(cluster::create_namespace(client, ns))?;
    }
    let objects: Vec<Value> = (0..OBJECTS).map(configmap).collect();
    let build = work.join("out/bench");
    ferry::diff::synthetic::write_objects(&build, "bench", &in_namespace(&objects, ns_ferry))
        .context("cannot write the build")?;
    let files = work.join("kubectl");
    ferry::diff::synthetic::write_objects(&files, "bench", &in_namespace(&objects, ns_kubectl))
        .context("cannot write kubectl's files")?;
    // kubectl reads every file under the directory; the index is not a Kubernetes object.
    std::fs::remove_file(files.join(ferry::build::INDEX_FILE))?;
    let concurrency = ferry::apply::ApplyOptions::default().concurrency;

    let ferry_apply = || {
        measure::run(
            Command::new(ferry)
                .arg("apply")
                .arg(&build)
                .arg("--kubeconfig")
                .arg(kc)
                // The parent lives in the bench namespace, so cleaning up removes it too.
                .args(["--inventory-namespace", ns_ferry, "--output", "json"])
                .env_remove("FERRY_OFFLINE"),
        )
    };
    eprintln!("==> ferry apply: {OBJECTS} ConfigMaps into {ns_ferry}");
    let ferry_first = ferry_apply()?.wall;
    let applied = runtime.block_on(cluster::count_configmaps(client, ns_ferry))?;
    if applied < OBJECTS {
        bail!("ferry's first apply left {applied} ConfigMaps in {ns_ferry}, expected {OBJECTS}");
    }
    eprintln!("==> ferry apply again, unchanged");
    let ferry_again = ferry_apply()?.wall;

    let kubectl_apply = || {
        measure::run(
            Command::new(kubectl)
                .arg("--kubeconfig")
                .arg(kc)
                .args(["apply", "--server-side", "--recursive", "-f"])
                .arg(&files),
        )
    };
    eprintln!("==> kubectl apply --server-side: {OBJECTS} ConfigMaps into {ns_kubectl}");
    let kubectl_first = kubectl_apply()?.wall;
    eprintln!("==> kubectl apply --server-side again, unchanged");
    let kubectl_again = kubectl_apply()?.wall;

    // The ceiling sends exactly what ferry sends: the member label and the applied stamp too.
    let set = ferry::apply::applyset_id("ferry-bench", ns_ceiling, "Secret", "");
    let patches: Vec<Value> = in_namespace(&objects, ns_ceiling)
        .into_iter()
        .map(|mut o| {
            ferry::apply::inventory::label_member(&mut o, &set);
            ferry::apply::sync::stamp(&mut o);
            o
        })
        .collect();
    eprintln!("==> ceiling: {OBJECTS} apply patches, {concurrency} at once, into {ns_ceiling}");
    let ceiling = runtime.block_on(cluster::ceiling(client, ns_ceiling, &patches, concurrency))?;
    Ok(Figures {
        ferry_first,
        ferry_again,
        kubectl_first,
        kubectl_again,
        ceiling,
        concurrency,
    })
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

fn print_table(f: &Figures) {
    // Throughput relative to the ceiling: the ceiling's time over ferry's.
    let of_ceiling = f.ceiling.as_secs_f64() / f.ferry_first.as_secs_f64().max(1e-9);
    let faster = f.kubectl_again.as_secs_f64() / f.ferry_again.as_secs_f64().max(1e-9);
    println!(
        "\nbench apply: {OBJECTS} ConfigMaps into an empty namespace, concurrency {}",
        f.concurrency
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10}   result (target)",
        "", "ferry", "kubectl", "ceiling"
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10}   {:.0}% of the ceiling (>= 90%) {}",
        "first apply",
        secs(f.ferry_first),
        secs(f.kubectl_first),
        secs(f.ceiling),
        of_ceiling * 100.0,
        verdict(of_ceiling >= 0.9)
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10}   {faster:.1}x faster than kubectl (>= 10x) {}",
        "unchanged re-apply",
        secs(f.ferry_again),
        secs(f.kubectl_again),
        "-",
        verdict(faster >= 10.0)
    );
}
