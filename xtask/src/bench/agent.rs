//! `cargo xtask bench agent [--kubeconfig FILE]` (live): one `ferry agent` reconciling 50 Syncs
//! of 20 objects each, their artifacts signed on a local registry, against a real API server:
//! the first convergence, then a quiet minute (CPU share, peak memory, average no-change
//! pass, and whether anything was written), a new digest picked up (against the interval),
//! and drift found on a 1,000-object Sync.
//!
//! The peer, Flux's kustomize-controller, cannot run here (no kubelet, no image): its
//! shipped resource requests and limits are printed beside ferry's figures as a reference,
//! labelled as such, not as a measurement.
//!
//! Needs a cluster: `FERRY_TEST_KUBECONFIG` or `--kubeconfig`; without one it reports "not
//! measured", exit 0.

use super::apply_cluster as cluster;
use super::artifact::start_registry;
use crate::measure::{mb, secs};
use anyhow::{bail, Context, Result};
use ferry::artifact::sign::{keys::public_pem, new_signing_key, SigningKey};
use ferry::artifact::{ArtifactRef, Provenance, PushOptions, RegistryOptions};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::ApiResource;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SYNCS: usize = 50;
const OBJECTS: usize = 20;
const DRIFT_OBJECTS: usize = 1_000;
const INTERVAL_SECS: u64 = 10;
const QUIET: Duration = Duration::from_secs(60);

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

fn kubectl(kubectl: &Path, kc: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut c = Command::new(kubectl);
    c.arg("--kubeconfig").arg(kc).args(args);
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().context("cannot run kubectl")?;
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn configmap(ns: &str, i: usize, version: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("cm-{i:04}"), "namespace": ns},
        "data": {"INDEX": i.to_string(), "VERSION": version, "FEATURES": "a,b,c"}})
}

fn objects(ns: &str, n: usize, version: &str) -> Vec<Value> {
    let mut v = vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})];
    v.extend((1..n).map(|i| configmap(ns, i, version)));
    v
}

fn push(work: &Path, addr: &str, key: &SigningKey, env: &str, objects: &[Value]) -> Result<String> {
    let dir = work.join("out").join(env);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    ferry::diff::synthetic::write_objects(&dir, env, objects)?;
    let target = ArtifactRef::parse(&format!("{addr}/bench/{env}"))?;
    let opts = PushOptions {
        tags: vec!["latest".into()],
        signing_key: Some(key.clone()),
        registry: RegistryOptions::new(),
        ..PushOptions::default()
    };
    let provenance = Provenance {
        revision: Some("main@sha1:0000000000000000000000000000000000000001".into()),
        ..Provenance::default()
    };
    Ok(ferry::artifact::push_dir(&dir, &target, &provenance, &opts)?.digest)
}

fn sync_yaml(ns: &str, name: &str, addr: &str) -> String {
    format!(
        "apiVersion: ferry.dev/v1alpha1\nkind: Sync\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  url: oci://{addr}/bench/{name}:latest\n  interval: {INTERVAL_SECS}s\n  timeout: 2m\n  verify: {{secretRef: {{name: keys, key: cosign.pub}}}}\n---\n"
    )
}

fn syncs_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let r = ApiResource {
        group: "ferry.dev".into(),
        version: "v1alpha1".into(),
        api_version: "ferry.dev/v1alpha1".into(),
        kind: "Sync".into(),
        plural: "syncs".into(),
    };
    Api::namespaced_with(client.clone(), ns, &r)
}

async fn syncs(client: &kube::Client, ns: &str) -> Result<Vec<Value>> {
    let list = syncs_api(client, ns).list(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect())
}

fn ready(v: &Value) -> bool {
    v["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// utime + stime of a process, in seconds, and its peak resident set (VmHWM), in bytes.
fn cpu_and_peak(pid: u32) -> Result<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (f.get(11).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0))
        / ticks;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024;
    Ok((cpu, hwm))
}

/// The agent's /metrics, as name{labels} → value.
fn metrics(addr: &str) -> Result<BTreeMap<String, f64>> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr)?;
    s.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect())
}

/// Sum and count of the no-change-pass histogram over the syncs `which` accepts (by
/// name), and the number of their unchanged reconciliations.
fn passes(m: &BTreeMap<String, f64>, which: impl Fn(&str) -> bool) -> (f64, f64, f64) {
    let pick = |metric: &str, extra: &str| -> f64 {
        m.iter()
            .filter(|(k, _)| {
                let sync = k
                    .split("sync=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or_default();
                k.starts_with(metric) && which(sync) && k.contains(extra)
            })
            .map(|(_, v)| v)
            .sum()
    };
    (
        pick("ferry_agent_check_duration_seconds_sum", ""),
        pick("ferry_agent_check_duration_seconds_count", ""),
        pick("ferry_agent_reconciliations_total", "result=\"unchanged\""),
    )
}

/// resourceVersions of what a quiet pass must not write: the Syncs, the ApplySet parents and
/// every applied ConfigMap.
fn versions(kubectl_bin: &Path, kc: &Path, ns: &str, id: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut add = |args: &[&str]| -> Result<()> {
        let text = kubectl(kubectl_bin, kc, args, None)?;
        let v: Value = serde_json::from_str(&text)?;
        for item in v["items"].as_array().into_iter().flatten() {
            let key = format!(
                "{}/{}/{}",
                item["kind"].as_str().unwrap_or_default(),
                item["metadata"]["namespace"].as_str().unwrap_or_default(),
                item["metadata"]["name"].as_str().unwrap_or_default()
            );
            out.insert(
                key,
                item["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        Ok(())
    };
    add(&["get", "syncs,secrets", "-n", ns, "-o", "json"])?;
    add(&["get", "configmaps", "-A", "-o", "json"])?;
    out.retain(|k, _| k.contains(id) || k.starts_with("Sync/") || k.starts_with("Secret/"));
    Ok(out)
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let Some(kc) = kubeconfig(args)? else {
        println!("bench agent: not measured: it needs a Kubernetes API server (set FERRY_TEST_KUBECONFIG=/path/kubeconfig or pass --kubeconfig FILE); none can run here");
        return Ok(());
    };
    let kubectl_bin = crate::tools::find("kubectl")
        .context("bench agent sets up with kubectl, which is not installed\nhint: cargo xtask demo installs it")?;
    let ferry = super::release_ferry(root)?;
    let work = std::env::temp_dir().join(format!("ferry-bench-agent-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
            % 0xfffff
    );
    let ns = format!("ferry-bench-agent-{id}");
    let result = measure(&ferry, &kubectl_bin, &kc, &work, &ns, &id);
    if result.is_err() {
        // What the agent said is gone with the work directory: show its end first.
        let log = std::fs::read_to_string(work.join("agent.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("==> the agent's log, last lines:");
        for line in tail.iter().rev() {
            eprintln!("    {line}");
        }
    }
    // Clean up whatever happened.
    let mut names = vec![ns.clone()];
    names.extend((0..=SYNCS).map(|i| format!("bench-{id}-{i:02}")));
    for n in &names {
        let _ = kubectl(
            &kubectl_bin,
            &kc,
            &["delete", "namespace", n, "--wait=false"],
            None,
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn measure(
    ferry: &Path,
    kubectl_bin: &Path,
    kc: &Path,
    work: &Path,
    ns: &str,
    id: &str,
) -> Result<()> {
    let reg = start_registry(work)?;
    let key = new_signing_key();
    eprintln!(
        "==> {SYNCS} artifacts of {OBJECTS} objects and one of {DRIFT_OBJECTS}, signed, on {}",
        reg.addr
    );
    let mut yaml = String::new();
    for i in 0..=SYNCS {
        let env = format!("bench-{id}-{i:02}");
        let n = if i == SYNCS { DRIFT_OBJECTS } else { OBJECTS };
        push(work, &reg.addr, &key, &env, &objects(&env, n, "1"))?;
        yaml.push_str(&sync_yaml(ns, &env, &reg.addr));
    }
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/sync-crd.yaml");
    kubectl(
        kubectl_bin,
        kc,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            &crd.display().to_string(),
        ],
        None,
    )?;
    kubectl(
        kubectl_bin,
        kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/syncs.ferry.dev",
            "--timeout=60s",
        ],
        None,
    )?;
    kubectl(kubectl_bin, kc, &["create", "namespace", ns], None)?;
    let pubkey = work.join("cosign.pub");
    std::fs::write(&pubkey, public_pem(key.verifying_key()))?;
    kubectl(
        kubectl_bin,
        kc,
        &[
            "create",
            "secret",
            "generic",
            "keys",
            "-n",
            ns,
            &format!("--from-file=cosign.pub={}", pubkey.display()),
        ],
        None,
    )?;
    kubectl(kubectl_bin, kc, &["apply", "-f", "-"], Some(&yaml))?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let health = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let agent = Agent(
        Command::new(ferry)
            .args(["agent", "--kubeconfig"])
            .arg(kc)
            .args(["-n", ns, "--poll", "1s", "--health-addr", &health])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("agent.log"))?)
            .spawn()
            .context("cannot start ferry agent")?,
    );
    let pid = agent.0.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = runtime.block_on(cluster::client(kc))?;
    eprintln!("==> waiting for all {} Syncs to be Ready", SYNCS + 1);
    loop {
        let all = runtime.block_on(syncs(&client, ns))?;
        if all.len() == SYNCS + 1 && all.iter().all(ready) {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "not all Syncs Ready after 10 minutes; see {}",
                work.join("agent.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let converged = started.elapsed();

    eprintln!("==> a quiet minute: nothing changes");
    // Let the first no-change passes begin before counting.
    std::thread::sleep(Duration::from_secs(INTERVAL_SECS + 2));
    let before = versions(kubectl_bin, kc, ns, id)?;
    let m0 = metrics(&health)?;
    let (cpu0, _) = cpu_and_peak(pid)?;
    let t0 = Instant::now();
    std::thread::sleep(QUIET);
    let (cpu1, peak) = cpu_and_peak(pid)?;
    let quiet = t0.elapsed();
    let m1 = metrics(&health)?;
    let after = versions(kubectl_bin, kc, ns, id)?;
    let written: Vec<&String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    let share = (cpu1 - cpu0) / quiet.as_secs_f64() * 100.0;
    let big = format!("bench-{id}-{SYNCS:02}");
    let big_sync = format!("{ns}/{big}");
    let small = |s: &str| s.starts_with(&format!("{ns}/bench-{id}-")) && s != big_sync;
    let (s0, c0, u0) = passes(&m0, small);
    let (s1, c1, u1) = passes(&m1, small);
    let avg_pass = if c1 > c0 { (s1 - s0) / (c1 - c0) } else { 0.0 };
    // The big Sync's quiet passes: each a drift check of its 1,000 objects.
    let (bs0, bc0, _) = passes(&m0, |s| s == big_sync);
    let (bs1, bc1, _) = passes(&m1, |s| s == big_sync);
    let big_check = (bc1 > bc0).then(|| (bs1 - bs0) / (bc1 - bc0));

    eprintln!("==> a new artifact for one Sync (interval {INTERVAL_SECS}s)");
    let env0 = format!("bench-{id}-00");
    let pushed = Instant::now();
    let new = push(work, &reg.addr, &key, &env0, &objects(&env0, OBJECTS, "2"))?;
    let picked = loop {
        let v = runtime.block_on(syncs_api(&client, ns).get(&env0))?;
        let v = serde_json::to_value(v)?;
        if v["status"]["lastAppliedDigest"] == new.as_str() {
            break pushed.elapsed();
        }
        if pushed.elapsed() > Duration::from_secs(INTERVAL_SECS * 6) {
            bail!(
                "the new digest was not applied within {}s",
                INTERVAL_SECS * 6
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    eprintln!("==> drift on the {DRIFT_OBJECTS}-object Sync");
    let edited = Instant::now();
    kubectl(
        kubectl_bin,
        kc,
        &[
            "patch",
            "configmap",
            "cm-0500",
            "-n",
            &big,
            "--type=merge",
            "-p",
            r#"{"data":{"VERSION":"edited"}}"#,
        ],
        None,
    )?;
    let corrected = loop {
        let v = kubectl(
            kubectl_bin,
            kc,
            &[
                "get",
                "configmap",
                "cm-0500",
                "-n",
                &big,
                "-o",
                "jsonpath={.data.VERSION}",
            ],
            None,
        )?;
        if v == "1" {
            break edited.elapsed();
        }
        if edited.elapsed() > Duration::from_secs(INTERVAL_SECS * 6) {
            bail!("the drift was not corrected within {}s", INTERVAL_SECS * 6);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(agent);

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!("bench agent: one ferry agent, {} Syncs ({SYNCS} of {OBJECTS} objects, 1 of {DRIFT_OBJECTS}), interval {INTERVAL_SECS}s, real kube-apiserver, {cores} cores", SYNCS + 1);
    println!("| measure | ferry agent | target | Flux kustomize-controller (shipped requests/limits, reference only) |");
    println!("|---|---|---|---|");
    println!(
        "| first convergence, all Syncs Ready | {} | - | - |",
        secs(converged)
    );
    println!(
        "| no-change pass, average per Sync | {:.0} ms ({} passes) | one full pass < 2 s | - |",
        avg_pass * 1000.0,
        (u1 - u0) as u64
    );
    println!("| CPU over a quiet minute | {share:.1}% of one core | < 5% | requests 100m (10%), limit 1 core |");
    println!(
        "| peak memory | {} | < 100 MB | requests 64 Mi, limit 1 Gi |",
        mb(peak)
    );
    println!(
        "| objects written during the quiet minute (Syncs, parents, ConfigMaps) | {} | 0 | - |",
        written.len()
    );
    println!(
        "| new digest applied after the push | {} | interval + 1 s = {}s | - |",
        secs(picked),
        INTERVAL_SECS + 1
    );
    println!(
        "| drift check of {DRIFT_OBJECTS} objects (average quiet pass) | {} | < 2 s | - |",
        big_check.map_or("not measured".into(), |s| format!("{:.0} ms", s * 1000.0))
    );
    println!(
        "| a kubectl edit corrected after | {} | interval + check | - |",
        secs(corrected)
    );
    if !written.is_empty() {
        println!("written: {:?}", written.iter().take(10).collect::<Vec<_>>());
    }
    Ok(())
}
