//! Bad input gets a clear error that names what and where, exit code 2, no panic, and loses
//! nothing: the previous `out/` stays exactly as it was for every environment that failed.

mod common;

use std::path::Path;

struct Case {
    name: &'static str,
    /// Breaks the repository (it is committed afterwards unless `worktree`).
    setup: fn(&Path),
    args: &'static [&'static str],
    /// Every one must appear in stderr.
    expect: &'static [&'static str],
    /// Environments whose previous output must survive; the others may be rebuilt.
    untouched: &'static [&'static str],
}

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

const BOTH: &[&str] = &["prod", "staging"];

const CASES: &[Case] = &[
    Case {
        name: "ferry.yaml missing",
        setup: |r| std::fs::remove_file(r.join("ferry.yaml")).expect("rm"),
        args: &[],
        expect: &["ferry.yaml", "ferry init"],
        untouched: BOTH,
    },
    Case {
        name: "malformed YAML",
        setup: |r| edit(r, "ferry.yaml", "apps:\n", "apps: [\n"),
        args: &[],
        expect: &["ferry.yaml:19: apps: invalid type: sequence, expected a map"],
        untouched: BOTH,
    },
    Case {
        name: "unknown top-level key",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "kind: Pipeline",
                "kind: Pipeline\nenviroments: {}",
            )
        },
        args: &[],
        expect: &[
            "ferry.yaml:9: enviroments: unknown field `enviroments`",
            "expected one of",
        ],
        untouched: BOTH,
    },
    Case {
        name: "unknown app key",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "    path: infra/namespaces",
                "    paht: infra/namespaces",
            )
        },
        args: &[],
        expect: &["apps.namespaces", "unknown field `paht`", "ferry.yaml:"],
        untouched: BOTH,
    },
    Case {
        name: "wrong apiVersion",
        setup: |r| edit(r, "ferry.yaml", "ferry.dev/v1alpha1", "ferry.dev/v9"),
        args: &[],
        expect: &[
            "ferry.yaml:7: apiVersion",
            "use `apiVersion: ferry.dev/v1alpha1`",
        ],
        untouched: BOTH,
    },
    Case {
        name: "wrong value type",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "environments: [prod]",
                "environments: prod",
            )
        },
        args: &[],
        expect: &["apps.monitoring-crds.environments", "expected a sequence"],
        untouched: BOTH,
    },
    Case {
        name: "app without a source",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "    path: infra/namespaces",
                "    namespace: x",
            )
        },
        args: &[],
        expect: &[
            "apps.namespaces",
            "exactly one of `helm`, `kustomize` or `path`",
        ],
        untouched: BOTH,
    },
    Case {
        name: "app with two sources",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "    path: infra/namespaces",
                "    path: infra/namespaces\n    kustomize: x",
            )
        },
        args: &[],
        expect: &["apps.namespaces", "found 2"],
        untouched: BOTH,
    },
    Case {
        name: "unknown environment in an app filter",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "environments: [prod]",
                "environments: [qa]",
            )
        },
        args: &[],
        expect: &[
            "apps.monitoring-crds.environments[0]",
            "unknown environment `qa`",
            "known environments: prod, staging",
        ],
        untouched: BOTH,
    },
    Case {
        name: "override for an unknown environment",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "    overrides:\n      prod:",
                "    overrides:\n      production:",
            )
        },
        args: &[],
        expect: &["apps.podinfo.overrides.production", "unknown environment"],
        untouched: BOTH,
    },
    Case {
        name: "unknown variable",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "overlays/${env}",
                "overlays/${environment}",
            )
        },
        args: &[],
        expect: &[
            "apps.frontend.kustomize",
            "`${environment}` is not a known variable",
        ],
        untouched: BOTH,
    },
    Case {
        name: "path leaving the repository",
        setup: |r| edit(r, "ferry.yaml", "path: infra/namespaces", "path: ../../etc"),
        args: &[],
        expect: &["apps.namespaces.path", "leaves the repository"],
        untouched: BOTH,
    },
    Case {
        name: "invalid kube version",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "kubeVersion: \"1.31.0\"",
                "kubeVersion: latest",
            )
        },
        args: &[],
        expect: &["kubeVersion", "`latest` is not a Kubernetes version"],
        untouched: BOTH,
    },
    Case {
        name: "unknown environment on the command line",
        setup: |_| {},
        args: &["qa"],
        expect: &["unknown environment `qa`", "prod, staging"],
        untouched: BOTH,
    },
    Case {
        name: "missing chart",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "chart: charts/podinfo",
                "chart: charts/nope",
            )
        },
        args: &[],
        expect: &[
            "prod/podinfo",
            "staging/podinfo",
            "apps.podinfo.helm.chart",
            "`charts/nope` does not exist",
        ],
        untouched: BOTH,
    },
    Case {
        name: "missing values file in one environment",
        setup: |r| std::fs::remove_file(r.join("apps/podinfo/values-prod.yaml")).expect("rm"),
        args: &[],
        expect: &[
            "prod/podinfo",
            "apps.podinfo.helm.values[1]",
            "`apps/podinfo/values-prod.yaml` does not exist",
        ],
        untouched: &["prod"],
    },
    Case {
        name: "template error",
        setup: |r| {
            write(
                r,
                "charts/podinfo/templates/boom.yaml",
                "{{ fail \"the boom value is required\" }}\n",
            )
        },
        args: &[],
        expect: &["podinfo", "helm failed", "the boom value is required"],
        untouched: BOTH,
    },
    Case {
        name: "output that is not YAML",
        setup: |r| write(r, "infra/namespaces/broken.yaml", "kind: [unclosed\n"),
        args: &[],
        expect: &["namespaces", "not YAML", "document 1"],
        untouched: BOTH,
    },
    Case {
        name: "a document that is not an object",
        setup: |r| {
            write(
                r,
                "infra/namespaces/noname.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            )
        },
        args: &[],
        expect: &[
            "namespaces",
            "infra/namespaces/noname.yaml",
            "`metadata.name` is missing",
        ],
        untouched: BOTH,
    },
    Case {
        name: "the same object from two apps",
        setup: |r| {
            write(
                r,
                "infra/monitoring-crds/ns.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: podinfo}\n",
            )
        },
        args: &[],
        expect: &[
            "Namespace/podinfo is produced twice",
            "`monitoring-crds`",
            "`namespaces`",
        ],
        untouched: &["prod"],
    },
    Case {
        name: "a kustomize cycle",
        setup: |r| {
            write(
                r,
                "apps/frontend/base/kustomization.yaml",
                "resources: [../loop]\n",
            );
            write(
                r,
                "apps/frontend/loop/kustomization.yaml",
                "resources: [../base]\n",
            );
        },
        args: &[],
        expect: &["frontend", "cycle"],
        untouched: BOTH,
    },
    Case {
        name: "a kustomization path that is a file",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "kustomize: apps/frontend/overlays/${env}",
                "kustomize: infra/namespaces/namespaces.yaml",
            )
        },
        args: &[],
        expect: &[
            "apps.frontend.kustomize",
            "a kustomization directory was expected",
        ],
        untouched: BOTH,
    },
    Case {
        name: "a remote chart that is not vendored",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "chart: charts/podinfo",
                "chart: oci://127.0.0.1:1/charts/podinfo\n      version: 6.7.0",
            )
        },
        args: &[],
        expect: &[
            "oci://127.0.0.1:1/charts/podinfo@6.7.0",
            "not pinned in ferry.lock",
            "ferry vendor",
        ],
        untouched: BOTH,
    },
    Case {
        name: "a pinned chart missing from the cache",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "chart: charts/podinfo",
                "chart: oci://127.0.0.1:1/charts/podinfo\n      version: 6.7.0",
            );
            write(r, "ferry.lock", "charts:\n  oci://127.0.0.1:1/charts/podinfo@6.7.0:\n    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n");
        },
        args: &[],
        expect: &["not in the chart cache", "ferry vendor"],
        untouched: BOTH,
    },
    Case {
        name: "a manifest that is not UTF-8",
        setup: |r| {
            std::fs::write(r.join("infra/namespaces/latin1.yaml"), b"kind: \xe9\n").expect("write")
        },
        args: &[],
        expect: &["infra/namespaces/latin1.yaml", "not UTF-8"],
        untouched: BOTH,
    },
    Case {
        name: "a missing helm binary",
        setup: |_| {},
        args: &["--helm", "/nonexistent/helm"],
        expect: &["helm was not found", "/nonexistent/helm", "FERRY_HELM"],
        untouched: BOTH,
    },
    Case {
        name: "an unknown revision",
        setup: |_| {},
        args: &["--revision", "no-such-branch"],
        expect: &["revision `no-such-branch` cannot be resolved"],
        untouched: BOTH,
    },
    Case {
        name: "a negative job count",
        setup: |_| {},
        args: &["-j", "-3"],
        expect: &["-3", "Usage: ferry build"],
        untouched: BOTH,
    },
];

#[test]
fn every_bad_input_is_a_clear_error_and_loses_nothing() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    assert!(CASES.len() >= 20);
    let cache = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for case in CASES.iter().chain(HARDEN_B_CASES) {
        let repo = common::example_repo();
        let r = repo.path();
        let good = common::ferry(cache.path())
            .args(["build", "-q", "-C"])
            .arg(r)
            .output()
            .expect("runs");
        assert!(
            good.status.success(),
            "{}: the good build failed: {}",
            case.name,
            String::from_utf8_lossy(&good.stderr)
        );
        let before: Vec<_> = case
            .untouched
            .iter()
            .map(|e| common::snapshot(&r.join("out").join(e)))
            .collect();
        (case.setup)(r);
        common::commit_all(r, case.name);
        let out = common::ferry(cache.path())
            .args(["build", "-C"])
            .arg(r)
            .args(case.args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(2) {
            problems.push(format!(
                "{}: exit {:?}, want 2; stderr: {stderr}",
                case.name,
                out.status.code()
            ));
        }
        if stderr.contains("panicked") {
            problems.push(format!("{}: panicked: {stderr}", case.name));
        }
        for want in case.expect {
            if !stderr.contains(want) {
                problems.push(format!("{}: stderr lacks {want:?}:\n{stderr}", case.name));
            }
        }
        for (env, snap) in case.untouched.iter().zip(&before) {
            if &common::snapshot(&r.join("out").join(env)) != snap {
                problems.push(format!("{}: out/{env} changed", case.name));
            }
        }
        let leftovers: Vec<_> = std::fs::read_dir(r.join("out"))
            .expect("out")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with('.'))
            .collect();
        if !leftovers.is_empty() {
            problems.push(format!(
                "{}: temporary directories left in out/: {leftovers:?}",
                case.name
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn outside_a_git_repository_the_error_suggests_worktree() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ferry.yaml"), ferry::config::STARTER).expect("write");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a Git repository") && stderr.contains("--worktree"),
        "{stderr}"
    );
    // The starter file itself is valid and says what to add.
    let out = common::ferry(cache.path())
        .args(["build", "--worktree", "-C"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("apps: no app is defined"), "{stderr}");
}

// ---- issue 13, items 3, 11, 12, 22: offline binaries, decrypted values, missing tools ----

/// The CI recipient of the example (`keys/ci.agekey`).
const CI_RECIPIENT: &str = "age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93";

/// Adds a SOPS-encrypted values file holding `password` to the podinfo app, and `template` to
/// its chart.
fn secret_values(r: &Path, template: &str) {
    let opts = ferry::secrets::EncryptOptions {
        recipients: vec![ferry::secrets::Recipient::parse(CI_RECIPIENT).expect("recipient")],
        selectors: Default::default(),
        mac_only_encrypted: false,
    };
    let sealed = ferry::secrets::encrypt(
        "dbPassword: hunter2-but-longer\n",
        ferry::secrets::Format::Yaml,
        &opts,
    )
    .expect("encrypts");
    write(r, "apps/podinfo/secret-values.yaml", &sealed);
    edit(
        r,
        "ferry.yaml",
        "        - apps/podinfo/values-${env}.yaml",
        "        - apps/podinfo/values-${env}.yaml\n        - apps/podinfo/secret-values.yaml",
    );
    write(r, "charts/podinfo/templates/zz-extra.yaml", template);
}

const HARDEN_B_CASES: &[Case] = &[
    Case {
        name: "a remote base behind a local one, --offline with the kubectl binary",
        setup: |r| {
            edit(
                r,
                "apps/frontend/base/kustomization.yaml",
                "resources:\n",
                "resources:\n  - github.com/example/deploy//base?ref=v1\n",
            )
        },
        args: &["--offline", "--renderer", "binary"],
        expect: &[
            "apps/frontend/base/kustomization.yaml: resources: `github.com/example/deploy//base?ref=v1`",
            "--offline",
            "vendor them",
        ],
        untouched: BOTH,
    },
    Case {
        name: "a component path the repository lacks, --offline with the kubectl binary",
        setup: |r| {
            edit(
                r,
                "apps/frontend/overlays/prod/kustomization.yaml",
                "resources:",
                "components: [../../no-such-component]\nresources:",
            )
        },
        args: &["--offline", "--renderer", "binary"],
        expect: &[
            "apps/frontend/overlays/prod/kustomization.yaml: components: `../../no-such-component`",
        ],
        untouched: &["prod"],
    },
    Case {
        name: "a chart copying a decrypted value into a ConfigMap",
        setup: |r| {
            secret_values(
                r,
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  url: {{ printf \"postgres://app:%s@db\" .Values.dbPassword | quote }}\n",
            )
        },
        args: &[],
        expect: &[
            "ConfigMap/podinfo/leak: field `data.url` holds a decrypted value (apps/podinfo/secret-values.yaml: dbPassword, in clear)",
            "under `seal:` in ferry.yaml",
        ],
        untouched: BOTH,
    },
    Case {
        name: "a chart copying the hex of a decrypted value into a label",
        setup: |r| {
            secret_values(
                r,
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\n  labels:\n    h: {{ printf \"%x\" .Values.dbPassword | trunc 60 | quote }}\n",
            )
        },
        args: &[],
        expect: &["field `metadata.labels.h` holds a decrypted value", "hex-encoded"],
        untouched: BOTH,
    },
    Case {
        name: "a chart failing with the base64 of a decrypted value",
        setup: |r| secret_values(r, "{{ fail (.Values.dbPassword | b64enc) }}\n"),
        args: &[],
        expect: &["helm failed", "<redacted>"],
        untouched: BOTH,
    },
    Case {
        name: "a missing helm is said once, with the pairs it blocks",
        setup: |_| {},
        args: &["--helm", "/nonexistent/helm"],
        expect: &[
            "it blocks 2 pairs (prod: 1, staging: 1)",
            "scripts/install-tools.sh",
            "prod: 1 pair not rendered without helm (see above)",
        ],
        untouched: BOTH,
    },
];
