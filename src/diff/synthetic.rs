//! Synthetic builds of any size, for the `cargo xtask bench diff` benchmark and for tests that
//! need more output than a pipe holds. Written in the exact layout `ferry build` writes.

use crate::build::{object_file_name, INDEX_FILE};
use crate::manifest::{to_yaml, Object};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Objects per app in a synthetic build.
const PER_APP: usize = 100;

/// Writes two builds of `objects` objects each (Deployments, Services and ConfigMaps spread over
/// apps of 100) into `old` and `new`; every `1000 / changed_per_mille`-th object differs (its
/// image tag). Returns how many objects differ.
///
/// # Errors
/// When a directory or file cannot be written.
pub fn write_pair(
    old: &Path,
    new: &Path,
    objects: usize,
    changed_per_mille: usize,
) -> std::io::Result<usize> {
    let step = 1000usize
        .checked_div(changed_per_mille)
        .map_or(usize::MAX, |s| s.max(1));
    write_build(old, objects, |_| false)?;
    write_build(new, objects, |i| i % step == step / 2)?;
    Ok((0..objects).filter(|i| i % step == step / 2).count())
}

fn object(i: usize, changed: bool) -> Value {
    let name = format!("svc-{i:05}");
    let ns = format!("team-{:03}", i / PER_APP);
    let tag = if changed { "1.1.0" } else { "1.0.0" };
    match i % 3 {
        0 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/name": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}},
                    "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/{name}:{tag}"),
                        "ports": [{"containerPort": 8080}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}}),
        1 => json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "annotations": {"example.com/tag": tag}},
            "spec": {"selector": {"app.kubernetes.io/name": name}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        _ => json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns},
            "data": {"LOG_LEVEL": "info", "VERSION": tag, "FEATURES": "a,b,c"}}),
    }
}

fn write_build(dir: &Path, objects: usize, changed: impl Fn(usize) -> bool) -> std::io::Result<()> {
    let objects: Vec<Value> = (0..objects).map(|i| object(i, changed(i))).collect();
    write_objects(dir, "synthetic", &objects)
}

/// Writes `objects` as the build of `environment`, in apps of 100 objects, exactly as
/// `ferry build` lays it out (the apply benchmark's 1,000 ConfigMaps, for one).
///
/// # Errors
/// When a directory or file cannot be written, or a value is not an object.
pub fn write_objects(dir: &Path, environment: &str, objects: &[Value]) -> std::io::Result<()> {
    let mut apps = serde_json::Map::new();
    for (i, value) in objects.iter().enumerate() {
        let app = format!("app-{:03}", i / PER_APP);
        let obj = Object::from_value(value.clone()).map_err(std::io::Error::other)?;
        let file = object_file_name(&obj);
        let text = to_yaml(obj.value());
        std::fs::create_dir_all(dir.join(&app))?;
        std::fs::write(dir.join(&app).join(&file), &text)?;
        let entry = apps.entry(app.clone()).or_insert_with(|| {
            json!({"renderer": "synthetic", "namespace": null, "inputDigest": "sha256:0", "inputs": {}, "objects": []})
        });
        if let Some(list) = entry.get_mut("objects").and_then(Value::as_array_mut) {
            list.push(json!({"apiVersion": obj.api_version(), "kind": obj.kind(), "namespace": obj.namespace(),
                "name": obj.name(), "path": format!("{app}/{file}"),
                "digest": format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))}));
        }
    }
    let index = json!({"apiVersion": crate::config::API_VERSION, "kind": "BuildIndex", "environment": environment,
        "source": {"revision": null, "commit": null, "branch": null, "created": null, "worktree": false},
        "apps": apps});
    std::fs::write(
        dir.join(INDEX_FILE),
        serde_json::to_string_pretty(&index).map_err(std::io::Error::other)? + "\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percent_of_a_thousand_differs_and_the_diff_finds_exactly_those() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
        let changed = write_pair(&old, &new, 1000, 10).expect("written");
        assert_eq!(changed, 10);
        let d = super::super::diff_dirs(&old, &new, &Default::default(), Default::default())
            .expect("diffs");
        assert_eq!(
            (
                d.counts.changed,
                d.counts.unchanged,
                d.counts.added,
                d.counts.removed
            ),
            (10, 990, 0, 0)
        );
        assert!(d.changes.iter().all(|c| c.diff.contains("1.1.0")));
    }
}

/// `cargo test --lib synthetic_10k -- --ignored --nocapture` writes the benchmark's builds to
/// `$FERRY_BENCH_DIR` (default: a temporary directory) and times one diff.
#[cfg(test)]
#[test]
#[ignore = "benchmark-sized; run by hand"]
fn synthetic_10k() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base =
        std::env::var_os("FERRY_BENCH_DIR").map_or_else(|| tmp.path().to_path_buf(), Into::into);
    let (old, new) = (base.join("old"), base.join("new"));
    let t = std::time::Instant::now();
    write_pair(&old, &new, 10_000, 10).expect("written");
    eprintln!("wrote in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let d = super::diff_dirs(&old, &new, &Default::default(), Default::default()).expect("diffs");
    eprintln!("diffed in {:?}: {:?}", t.elapsed(), d.counts);
}
