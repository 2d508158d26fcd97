//! The native Helm renderer against the shared corpus: every helm case is rendered in process
//! and compared byte for byte with the recorded `helm template` (v4.1.4) output; error cases
//! must fail with helm's message. Cases in `MUST_MATCH` must match; every other case is listed
//! in `KNOWN_DIFFERENT` with the reason, so none passes silently and a fixed one is noticed.

mod common;

use ferry::render::helm_native::{self, Options};
use std::path::Path;

/// Corpus cases that must match byte for byte (error cases: fail with helm's message).
const MUST_MATCH: &[&str] = &[
    "helm-alertmanager-default",
    "helm-alertmanager-features",
    "helm-argo-cd-default",
    "helm-argo-cd-ha",
    "helm-argo-cd-minimal",
    "helm-bitnami-nginx-default",
    "helm-bitnami-nginx-features",
    "helm-bitnami-nginx-gitclone",
    "helm-bitnami-postgresql-backup",
    "helm-bitnami-postgresql-default",
    "helm-bitnami-postgresql-replication",
    "helm-cert-manager-crds",
    "helm-cert-manager-default",
    "helm-cert-manager-podmonitor",
    "helm-descheduler-default",
    "helm-descheduler-deployment",
    "helm-descheduler-err-required",
    "helm-flux2-default",
    "helm-flux2-multitenancy",
    "helm-grafana-default",
    "helm-grafana-features",
    "helm-grafana-sidecar",
    "helm-jenkins-default",
    "helm-jenkins-features",
    "helm-keda-default",
    "helm-keda-features",
    "helm-kube-state-metrics-default",
    "helm-kube-state-metrics-features",
    "helm-metrics-server-default",
    "helm-metrics-server-features",
    "helm-metrics-server-helm-tls",
    "helm-opentelemetry-operator-certmanager",
    "helm-opentelemetry-operator-default",
    "helm-opentelemetry-operator-nowebhook",
    "helm-podinfo-default",
    "helm-podinfo-features",
    "helm-podinfo-gateway",
    "helm-prometheus-blackbox-exporter-default",
    "helm-prometheus-blackbox-exporter-features",
    "helm-prometheus-node-exporter-default",
    "helm-prometheus-node-exporter-features",
    "helm-tempo-default",
    "helm-tempo-features",
    "helm-traefik-default",
    "helm-traefik-err-nocapabilities",
    "helm-traefik-features",
    "helm-traefik-hpa",
];

/// Cases not yet identical, with the reason.
const KNOWN_DIFFERENT: &[(&str, &str)] = &[];

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}: want {w:?}, got {g:?}", i + 1);
        }
    }
    format!(
        "want {} lines / {} bytes, got {} lines / {} bytes",
        want.lines().count(),
        want.len(),
        got.lines().count(),
        got.len()
    )
}

/// Options from a case's columns, as the recorded command line gives them to helm.
fn options(dir: &Path, cols: &[&str]) -> Options {
    let values_text = std::fs::read(dir.join(cols[5])).expect("read values file");
    let values = helm_native::read_values_file(&values_text, cols[5]).expect("values file");
    let mut api_versions = Vec::new();
    let mut include_crds = false;
    let extra: Vec<&str> = cols[6].split_whitespace().collect();
    let mut i = 0;
    while i < extra.len() {
        match extra[i] {
            "--api-versions" => {
                api_versions.push(extra[i + 1].to_string());
                i += 1;
            }
            "--include-crds" => include_crds = true,
            "-" => {}
            other => panic!("flag {other} not understood by this test"),
        }
        i += 1;
    }
    Options {
        release_name: cols[3].to_string(),
        namespace: cols[4].to_string(),
        kube_version: "1.31.0".into(),
        api_versions,
        include_crds,
        values,
        ..Options::default()
    }
}

/// Two lines `key: <base64>` whose values decode to PEM blocks of the same type (a generated
/// certificate or key: its length varies with the random serial and key).
fn same_pem_kind(a: &str, b: &str) -> bool {
    use base64::Engine;
    let pem_kind = |line: &str| -> Option<(String, String)> {
        let (key, value) = line.split_once(": ")?;
        let value = value.trim_matches('"');
        let text = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let text = String::from_utf8(text).ok()?;
        let kind = text.strip_prefix("-----BEGIN ")?.split("-----").next()?;
        Some((key.to_string(), kind.to_string()))
    };
    matches!((pem_kind(a), pem_kind(b)), (Some(x), Some(y)) if x == y)
}

/// For cases whose chart draws random values (the corpus README names them): equal line
/// count, and every differing line differs only in random-looking characters (letters,
/// digits, `+/=`) at the same places, so a random password, token, name suffix or checksum
/// is masked and nothing else is.
fn equal_after_masking(want: &str, got: &str) -> Result<(), String> {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    if w.len() != g.len() {
        return Err(first_difference(want, got));
    }
    let random = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    for (i, (a, b)) in w.iter().zip(&g).enumerate() {
        if a == b {
            continue;
        }
        if same_pem_kind(a, b) {
            continue;
        }
        let same_shape = a.len() == b.len()
            && a.chars()
                .zip(b.chars())
                .all(|(x, y)| x == y || (random(x) && random(y)));
        if !same_shape {
            return Err(format!(
                "line {}: want {a:?}, got {b:?} (not a masked field)",
                i + 1
            ));
        }
    }
    Ok(())
}

/// The outcome of one case: Ok(()) when identical, else why not.
fn run_case(dir: &Path, cols: &[&str]) -> Result<(), String> {
    let opts = options(dir, cols);
    let got = helm_native::render(&dir.join(cols[2]), &opts);
    if cols[7].starts_with("error") {
        let stderr = std::fs::read_to_string(dir.join(format!("expected/{}.stderr", cols[0])))
            .expect("read expected stderr");
        let want = stderr
            .trim()
            .trim_start_matches("Error: ")
            .split("\n\nUse --debug")
            .next()
            .unwrap_or_default()
            .to_string();
        return match got {
            Ok(_) => Err(format!("rendered, but helm fails with: {want}")),
            Err(e) if e.to_string() == want => Ok(()),
            Err(e) => Err(format!("error {:?}, helm's is {want:?}", e.to_string())),
        };
    }
    let want = std::fs::read_to_string(dir.join(cols[8])).expect("read expected output");
    let deterministic = cols[9] == "yes";
    match got {
        Err(e) => Err(format!("failed: {e}")),
        Ok(got) if got == want => Ok(()),
        Ok(got) if !deterministic => equal_after_masking(&want, &got),
        Ok(got) => Err(first_difference(&want, &got)),
    }
}

#[test]
fn corpus_charts_match_helm_template() {
    let Some(dir) = common::corpus() else {
        return;
    };
    let cases = std::fs::read_to_string(dir.join("cases.tsv")).expect("read cases.tsv");
    let mut total = 0;
    let mut matched = Vec::new();
    let mut deterministic = 0;
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for line in cases.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 10 || cols[1] != "helm" {
            continue;
        }
        total += 1;
        let id = cols[0];
        let is_deterministic = cols[9] == "yes";
        let outcome = run_case(&dir, &cols);
        let must = MUST_MATCH.contains(&id);
        let known = KNOWN_DIFFERENT.iter().find(|(k, _)| *k == id);
        match (&outcome, must, known) {
            (Ok(()), true, None) => {
                matched.push(id);
                deterministic += usize::from(is_deterministic);
            }
            (Ok(()), _, _) => failures.push(format!("{id}: identical; move it to MUST_MATCH")),
            (Err(e), true, _) => failures.push(format!("{id}: must match: {e}")),
            (Err(e), false, Some((_, why))) => report.push(format!("{id}: {why} ({e})")),
            (Err(e), false, None) => failures.push(format!("{id}: differs and is not listed: {e}")),
        }
    }
    println!(
        "{deterministic} of {total} helm cases byte-identical; {} of {total} identical \
         (the nondeterministic ones after masking their random fields)",
        matched.len()
    );
    for r in &report {
        println!("known different: {r}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
