//! The native kustomize renderer against the shared corpus: every kustomize case is built
//! natively and compared byte for byte with the recorded `kubectl kustomize` output. Every
//! case must match; a failure lists the reason (an unsupported field, or the first
//! differing line).

use std::path::PathBuf;

/// Corpus cases that must match byte for byte (all of them, named so a lost case is seen).
const MUST_MATCH: &[&str] = &[
    "kustomize-argo-cd-ha-namespace-install",
    "kustomize-argo-cd-namespace-install",
    "kustomize-cluster-api-capd-default",
    "kustomize-external-dns-kustomize",
    "kustomize-flux-example-infra-configs",
    "kustomize-flux-example-infra-controllers",
    "kustomize-ingress-nginx-aws-nlb-tls",
    "kustomize-ingress-nginx-prometheus",
    "kustomize-kex-ldap-production",
    "kustomize-kex-multibases",
    "kustomize-kex-transformerconfigs-crd",
    "kustomize-kex-wordpress-vars",
    "kustomize-kexmd-combineconfigs-development",
    "kustomize-kexmd-components-enterprise",
    "kustomize-kexmd-jsonpatch",
    "kustomize-kexmd-patchmultipleobjects",
    "kustomize-kexmd-valueadd-all",
    "kustomize-kubebuilder-cronjob-default",
    "kustomize-metrics-server-test-ha",
    "kustomize-podinfo-deploy-production",
];

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus"));
    dir.join("cases.tsv").is_file().then_some(dir)
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}: want {w:?}, got {g:?}", i + 1);
        }
    }
    format!("want {} bytes, got {}", want.len(), got.len())
}

#[test]
fn corpus_roots_match_kubectl_kustomize() {
    let Some(dir) = corpus_dir() else {
        println!("SKIP: corpus not found (set FERRY_CORPUS)");
        return;
    };
    let cases = std::fs::read_to_string(dir.join("cases.tsv")).expect("read cases.tsv");
    let mut matched = Vec::new();
    let mut report = Vec::new();
    for line in cases.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 9 || cols[1] != "kustomize" || cols[7] != "ok" {
            continue;
        }
        let (id, root, expected) = (cols[0], dir.join(cols[2]), dir.join(cols[8]));
        let want = std::fs::read_to_string(&expected).expect("read expected output");
        let status = match ferry::render::kustomize_native::build(&root) {
            Ok(got) if got == want => {
                matched.push(id.to_string());
                "MATCH".to_string()
            }
            Ok(got) => format!("DIFF  {}", first_difference(&want, &got)),
            Err(e) => format!("ERROR {e}"),
        };
        report.push(format!("{id:50} {status}"));
    }
    println!("{}", report.join("\n"));
    println!(
        "{} of {} kustomize roots match byte for byte",
        matched.len(),
        report.len()
    );
    let missing: Vec<&&str> = MUST_MATCH
        .iter()
        .filter(|id| !matched.iter().any(|m| m == **id))
        .collect();
    assert!(
        missing.is_empty(),
        "expected to match but did not: {missing:?}"
    );
    assert_eq!(
        matched.len(),
        report.len(),
        "every corpus kustomize root must match byte for byte"
    );
}
