//! `ferry build` under hostile conditions (issue 13): `--offline` with binaries, Ctrl-C and
//! concurrent builds, decrypted values that a chart copies into objects or prints in an error,
//! inline values past the argument limit, a missing tool with many pairs, and the cost of one
//! change in the output.

mod common;

use base64::Engine as _;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CI_RECIPIENT: &str = "age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93";

fn write(r: &Path, file: &str, text: &str) {
    let p = r.join(file);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn edit(r: &Path, file: &str, from: &str, to: &str) {
    let p = r.join(file);
    let t = std::fs::read_to_string(&p).expect("read");
    assert!(t.contains(from), "{file} lacks {from:?}");
    std::fs::write(p, t.replacen(from, to, 1)).expect("write");
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A script named `name` in `dir` that logs each call (arguments, then the variables that
/// decide network access) to `log` and runs `real`; `before` runs first for calls that are not
/// `version` (a sleep, a marker).
fn wrapper(dir: &Path, name: &str, real: &Path, log: &Path, before: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nif [ \"$1\" != version ]; then\n  echo \"call: $* | HTTPS_PROXY=$HTTPS_PROXY GIT_ALLOW_PROTOCOL=$GIT_ALLOW_PROTOCOL\" >> {log}\n  {before}\nfi\nexec {real} \"$@\"\n",
            log = log.display(),
            real = real.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    p
}

// ---- item 3: --offline holds with binaries ----

#[test]
fn offline_binary_build_refuses_remote_bases_before_kubectl_starts() {
    let (Some(helm), Some(kubectl)) = (
        common::require_tool("helm"),
        common::require_tool("kubectl"),
    ) else {
        return;
    };
    let repo = common::example_repo();
    let r = repo.path();
    let bin = tempfile::tempdir().expect("tempdir");
    let log = bin.path().join("calls.log");
    let kubectl = wrapper(bin.path(), "kubectl", &kubectl, &log, "");
    let helm = wrapper(bin.path(), "helm", &helm, &log, "");
    let cache = tempfile::tempdir().expect("tempdir");

    // Offline, the binaries run where no HTTP proxy lets them out and git may use files only.
    let ok = common::ferry(cache.path())
        .args(["build", "-q", "--offline", "--renderer", "binary", "-C"])
        .arg(r)
        .arg("--kustomize")
        .arg(&kubectl)
        .arg("--helm")
        .arg(&helm)
        .output()
        .expect("runs");
    assert!(ok.status.success(), "{}", stderr(&ok));
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(
        calls.contains("call: kustomize") && calls.contains("call: template"),
        "{calls}"
    );
    for line in calls.lines() {
        assert!(
            line.ends_with("HTTPS_PROXY=http://127.0.0.1:9 GIT_ALLOW_PROTOCOL=file"),
            "a binary ran with network access under --offline: {line}"
        );
    }

    // A remote base, reached through a local base, is refused before kubectl starts.
    std::fs::remove_file(&log).expect("rm");
    edit(
        r,
        "apps/frontend/base/kustomization.yaml",
        "resources:\n",
        "resources:\n  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.7.1\n",
    );
    common::commit_all(r, "remote base");
    let out = common::ferry(cache.path())
        .args(["build", "--offline", "--renderer", "binary", "-C"])
        .arg(r)
        .arg("--kustomize")
        .arg(&kubectl)
        .arg("--helm")
        .arg(&helm)
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("apps/frontend/base/kustomization.yaml: resources: `https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.7.1`")
            && err.contains("--offline"),
        "{err}"
    );
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !calls.contains("call: kustomize"),
        "kubectl ran on a remote base: {calls}"
    );
}

// ---- item 9: Ctrl-C and concurrent builds ----

fn dot_entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.') || n.starts_with("ferry-"))
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_during_a_build_removes_its_temporaries_and_the_next_build_sweeps_stale_ones() {
    let Some(helm) = common::require_tool("helm") else {
        return;
    };
    if common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("tempdir");
    let marker = bin.path().join("rendering");
    let log = bin.path().join("calls.log");
    let slow_helm = wrapper(
        bin.path(),
        "helm",
        &helm,
        &log,
        // Short sleeps, so that killing the shell leaves no long-lived child behind.
        &format!(
            "echo $$ >> {}; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
            marker.display()
        ),
    );
    let cache = tempfile::tempdir().expect("tempdir");
    let child = common::ferry(cache.path())
        .args(["build", "-q", "--renderer", "binary", "-C"])
        .arg(r)
        .arg("--helm")
        .arg(&slow_helm)
        .env("TMPDIR", tmp.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for("helm to start", || marker.is_file());
    assert!(
        dot_entries(tmp.path())
            .iter()
            .any(|n| n.starts_with("ferry-checkout-")),
        "the build has a checkout while helm runs"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    // The helm wrapper is still sleeping: end it (it is this test's grandchild).
    for pid in std::fs::read_to_string(&marker).unwrap_or_default().lines() {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(
        dot_entries(tmp.path()),
        Vec::<String>::new(),
        "left in TMPDIR"
    );
    assert_eq!(
        dot_entries(&r.join("out")),
        Vec::<String>::new(),
        "left in out/"
    );

    // Leftovers of a build that was killed outright (SIGKILL) go at the next build.
    let stale_checkout = tmp.path().join("ferry-checkout-4294967295-abcdef");
    std::fs::create_dir_all(stale_checkout.join("apps")).expect("mkdir");
    let stale_out = r.join("out/.prod.tmp-abcdef");
    std::fs::create_dir_all(stale_out.join("podinfo")).expect("mkdir");
    std::fs::create_dir_all(r.join("out/.staging.old")).expect("mkdir");
    let ok = common::ferry(cache.path())
        .args(["build", "-q", "-C"])
        .arg(r)
        .env("TMPDIR", tmp.path())
        .output()
        .expect("runs");
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(dot_entries(tmp.path()), Vec::<String>::new());
    assert_eq!(dot_entries(&r.join("out")), Vec::<String>::new());
}

#[test]
fn a_build_waits_while_another_holds_out_and_concurrent_builds_both_succeed() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(r.join("out")).expect("mkdir");
    // Another build holds out/.
    let held = std::fs::File::open(r.join("out")).expect("open out/");
    held.lock().expect("lock");
    let mut child = common::ferry(cache.path())
        .args(["build", "-q", "-C"])
        .arg(r)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = lines.next().expect("a line").expect("text");
    assert!(
        first.contains("another ferry build is running in") && first.contains("waiting"),
        "{first}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().expect("try_wait").is_none(), "it waits");
    assert!(
        !r.join("out/prod").exists(),
        "nothing written while waiting"
    );
    held.unlock().expect("unlock");
    let status = child.wait().expect("wait");
    assert!(status.success());
    assert!(r.join("out/prod/index.json").is_file());

    // Two builds of different revisions started together: both succeed, one after the other,
    // and out/ holds one whole build.
    edit(
        r,
        "ferry.yaml",
        "set: {replicaCount: 3}",
        "set: {replicaCount: 4}",
    );
    common::commit_all(r, "four replicas");
    let spawn = || {
        common::ferry(cache.path())
            .args(["build", "-q", "-C"])
            .arg(r)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for c in [a, b] {
        let out = c.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(dot_entries(&r.join("out")), Vec::<String>::new());
    let again = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(r)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.matches("up to date").count() == 2,
        "the concurrent builds left a whole, current out/: {text}"
    );
}

// ---- items 11 and 12: decrypted values never leave through a chart ----

const PASSWORD: &str = "p@ss w0rd/s3cr3t!";

/// A repository with one helm app whose password comes from a SOPS-encrypted values file, and
/// whose chart has `template` as its one template.
fn secret_values_repo(template: &str, seal: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    write(
        r,
        "ferry.yaml",
        &format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nkubeVersion: \"1.31.0\"\nenvironments:\n  prod:\n    recipients: [{CI_RECIPIENT}]\napps:\n  web:\n    namespace: web\n    helm:\n      chart: charts/web\n      values: [apps/web/values.yaml, apps/web/secrets.sops.yaml]\n{seal}"
        ),
    );
    write(
        r,
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(r, "charts/web/templates/t.yaml", template);
    write(r, "apps/web/values.yaml", "user: app\nreplicas: 2\n");
    let opts = ferry::secrets::EncryptOptions {
        recipients: vec![ferry::secrets::Recipient::parse(CI_RECIPIENT).expect("recipient")],
        selectors: Default::default(),
        mac_only_encrypted: false,
        allow_empty: false,
    };
    let sealed = ferry::secrets::encrypt(
        &format!("password: '{PASSWORD}'\n"),
        ferry::secrets::Format::Yaml,
        &opts,
    )
    .expect("encrypts");
    write(r, "apps/web/secrets.sops.yaml", &sealed);
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "secret values");
    d
}

fn password_forms() -> Vec<String> {
    vec![
        PASSWORD.to_string(),
        base64::engine::general_purpose::STANDARD.encode(PASSWORD),
        hex::encode(PASSWORD),
        "p%40ss+w0rd%2Fs3cr3t%21".to_string(),
    ]
}

fn assert_no_leak(r: &Path, text: &str) {
    let mut haystack = vec![("output".to_string(), text.to_string())];
    for e in walkdir::WalkDir::new(r.join("out"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        haystack.push((
            e.path().display().to_string(),
            String::from_utf8_lossy(&std::fs::read(e.path()).expect("read")).into_owned(),
        ));
    }
    for (name, t) in &haystack {
        for f in password_forms() {
            assert!(!t.contains(&f), "{name} leaks the password as {f:?}:\n{t}");
        }
    }
}

const COPIES_PASSWORD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-db\ndata:\n  url: {{ printf \"postgres://%s:%s@db\" .Values.user .Values.password | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-plain\n  annotations:\n    checksum: {{ .Values.password | b64enc | quote }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n";

#[test]
fn a_decrypted_value_copied_into_an_unsealed_object_is_refused_unless_a_rule_seals_it() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let repo = secret_values_repo(COPIES_PASSWORD, "");
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(r)
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ConfigMap/web/web-db: field `data.url` holds a decrypted value (apps/web/secrets.sops.yaml: password, in clear)"),
        "{err}"
    );
    assert!(
        err.contains("ConfigMap/web/web-plain: field `metadata.annotations.checksum` holds a decrypted value (apps/web/secrets.sops.yaml: password, base64-encoded)"),
        "{err}"
    );
    assert!(
        err.contains("seal:") && err.contains("name: \"^web-db$\""),
        "{err}"
    );
    assert!(!r.join("out/prod").exists(), "nothing written");
    assert_no_leak(r, &err);

    // With explicit rules the objects are sealed; the annotation is sealed too (whole object).
    let repo = secret_values_repo(
        COPIES_PASSWORD,
        "seal:\n  - {kind: ConfigMap, name: \"^web-db$\"}\n  - {kind: ConfigMap, name: \"^web-plain$\", encryptedRegex: \"^(data|metadata)$\"}\n",
    );
    let r = repo.path();
    let out = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(r)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let cm =
        std::fs::read_to_string(r.join("out/prod/web/configmap_web_web-db.yaml")).expect("written");
    assert!(
        cm.contains("ENC[AES256_GCM") && cm.contains("sops:"),
        "{cm}"
    );
    assert_no_leak(
        r,
        &format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout)),
    );
}

#[test]
fn renderer_errors_redact_every_encoding_of_a_decrypted_value() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let repo = secret_values_repo(
        "{{ fail (printf \"plain=%s b64=%s hex=%x url=%s\" .Values.password (.Values.password | b64enc) .Values.password (.Values.password | urlquery)) }}\n",
        "",
    );
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    for renderer in ["native", "binary"] {
        let out = common::ferry(cache.path())
            .args(["build", "--renderer", renderer, "-C"])
            .arg(r)
            .output()
            .expect("runs");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("plain=<redacted> b64=<redacted> hex=<redacted> url=<redacted>"),
            "{renderer}: {err}"
        );
        assert_no_leak(r, &err);
    }
}

// ---- item 13: inline values past the argument limit ----

#[test]
fn sixty_thousand_inline_set_values_reach_helm_through_a_file() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    // 60,000 `--set-json many.kNNNNNN=N` arguments (~45 bytes each) exceed Linux's 2 MiB argument list.
    let mut set = String::from("{many: {");
    for i in 0..60_000 {
        set.push_str(&format!("k{i:06}: {i}, "));
    }
    set.push_str("}, empty: {}}");
    write(
        r,
        "ferry.yaml",
        &format!("apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nkubeVersion: \"1.31.0\"\nenvironments:\n  prod: {{}}\napps:\n  web:\n    namespace: web\n    helm:\n      chart: charts/web\n      set: {set}\n"),
    );
    write(
        r,
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(r, "charts/web/values.yaml", "empty: {a: 1}\n");
    write(
        r,
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  count: {{ len .Values.many | quote }}\n  last: {{ .Values.many.k059999 | quote }}\n  empty: {{ .Values.empty | toJson | quote }}\n",
    );
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "many values");
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    // The binary gets them in a file; native merges them in memory, with the same result.
    for renderer in ["binary", "native"] {
        let out = common::ferry(cache.path())
            .args(["build", "-q", "--renderer", renderer, "-C"])
            .arg(r)
            .env("TMPDIR", tmp.path())
            .output()
            .expect("runs");
        assert!(out.status.success(), "{renderer}: {}", stderr(&out));
        let cm =
            std::fs::read_to_string(r.join("out/prod/web/configmap_web_web.yaml")).expect("cm");
        assert!(
            cm.contains("count: \"60000\"") && cm.contains("last: \"59999\""),
            "{renderer}: {cm}"
        );
        // An empty map set inline merges into the chart's map, as `--set-json empty={}` does.
        assert!(cm.contains("empty: '{\"a\":1}'"), "{renderer}: {cm}");
        assert_eq!(
            dot_entries(tmp.path()),
            Vec::<String>::new(),
            "the values file is removed"
        );
    }
}

// ---- item 22: a missing tool is said once ----

#[test]
fn a_missing_helm_is_reported_once_with_the_number_of_pairs_it_blocks() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    let mut cfg = String::from("apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {}\n  staging: {}\napps:\n");
    for i in 0..75 {
        cfg.push_str(&format!("  h{i:02}:\n    helm: {{chart: charts/c}}\n"));
    }
    write(r, "ferry.yaml", &cfg);
    write(
        r,
        "charts/c/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "150 helm pairs");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(r)
        .args(["--helm", "/nonexistent/helm"])
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("helm was not found").count(), 1, "{err}");
    assert_eq!(err.matches("hint:").count(), 1, "{err}");
    assert!(
        err.contains("it blocks 150 pairs (prod: 75, staging: 75)"),
        "{err}"
    );
    assert!(
        !err.contains("setup.sh") && err.contains("scripts/install-tools.sh"),
        "the hint names what really installs helm: {err}"
    );
    assert!(err.lines().count() <= 6, "{err}");
}

// ---- item 23: one change costs one change ----

fn inodes(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("under")
                .display()
                .to_string();
            (rel, e.metadata().expect("metadata").ino())
        })
        .collect()
}

#[test]
fn one_changed_object_rewrites_one_file_and_other_environments_only_their_index() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let build = || {
        let out = common::ferry(cache.path())
            .args(["build", "-q", "-C"])
            .arg(r)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
    };
    build();
    let (prod, staging) = (inodes(&r.join("out/prod")), inodes(&r.join("out/staging")));
    edit(
        r,
        "ferry.yaml",
        "set: {replicaCount: 3}",
        "set: {replicaCount: 4}",
    );
    common::commit_all(r, "prod: four replicas");
    build();
    let (prod2, staging2) = (inodes(&r.join("out/prod")), inodes(&r.join("out/staging")));

    // staging: the same directory and files; only index.json is new.
    let changed: Vec<&String> = staging
        .iter()
        .filter(|(p, ino)| staging2.get(*p) != Some(ino))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(changed, ["index.json"], "staging was rewritten");
    assert_eq!(staging.len(), staging2.len());

    // prod: a new directory, in which only the changed object's file was written.
    let written: Vec<&String> = prod2
        .iter()
        .filter(|(p, ino)| p.ends_with(".yaml") && prod.get(*p) != Some(ino))
        .map(|(p, _)| p)
        .collect();
    // The example's HPA carries the replica count.
    assert_eq!(
        written,
        ["podinfo/horizontalpodautoscaler.autoscaling_podinfo_podinfo.yaml"]
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(r.join("out/prod/index.json")).expect("index"))
            .expect("json");
    assert!(index["source"]["commit"].is_string());
    let text = std::fs::read_to_string(
        r.join("out/prod/podinfo/horizontalpodautoscaler.autoscaling_podinfo_podinfo.yaml"),
    )
    .expect("read");
    assert!(text.contains("minReplicas: 4"), "{text}");
}
