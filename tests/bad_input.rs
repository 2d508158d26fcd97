//! Bad input gets a clear error that names what and where, exit code 2, no panic, and loses
//! nothing: the previous `out/` stays exactly as it was for every environment that failed.

mod common;

// Push, pull, apply, diff and secrets: their cases live in a file of their own.
mod apply_fake;
#[path = "bad_input/commands.rs"]
mod commands;

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
        expect: &[
            "podinfo",
            "native helm: execution error at (podinfo/templates/boom.yaml:1:3)",
            "the boom value is required",
        ],
        untouched: BOTH,
    },
    Case {
        name: "template error, through the helm binary",
        setup: |r| {
            write(
                r,
                "charts/podinfo/templates/boom.yaml",
                "{{ fail \"the boom value is required\" }}\n",
            )
        },
        args: &["--renderer", "binary"],
        expect: &["podinfo", "helm failed", "the boom value is required"],
        untouched: BOTH,
    },
    Case {
        name: "output that is not YAML",
        setup: |r| write(r, "infra/namespaces/broken.yaml", "kind: [unclosed\n"),
        args: &[],
        // The file and its own line, not "document 1 of the output" (issue 13, item 15).
        expect: &[
            "namespaces",
            "infra/namespaces/broken.yaml:2: did not find expected",
        ],
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
    assert!(CASES.len() >= 20);
    check_cases(CASES);
}

/// Text a case plants in clear (a plaintext Secret value): never in any message.
const NEVER_SHOWN: &[&str] = &["s3cr3t-plaintext"];

/// Builds the example, breaks it as each case says, builds again: exit 2, every expected text,
/// no panic, no plaintext, the untouched environments as they were, no temporaries left.
fn check_cases(cases: &[Case]) {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for case in cases {
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
        for secret in NEVER_SHOWN {
            if stderr.contains(secret) {
                problems.push(format!("{}: stderr shows a secret: {stderr}", case.name));
            }
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
        allow_empty: false,
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
        expect: &["native helm: execution error", "<redacted>"],
        untouched: BOTH,
    },
    Case {
        name: "the helm binary failing with the base64 of a decrypted value",
        setup: |r| secret_values(r, "{{ fail (.Values.dbPassword | b64enc) }}\n"),
        args: &["--renderer", "binary"],
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

#[test]
fn offline_binaries_decrypted_values_and_missing_tools_are_refused_by_name() {
    check_cases(HARDEN_B_CASES);
}

// ---------------------------------------------------------------------------------------------
// Hardening (issue 13: duplicate keys, symlinks, SOPS files that are not what they claim,
// encryption that encrypts nothing, YAML errors named by file, non-UTF-8 names, no commit).

fn link(r: &Path, at: &str, target: &str) {
    let p = r.join(at);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&p);
    std::os::unix::fs::symlink(target, p).expect("symlink");
}

/// The example's prod Secret with its `sops:` block replaced by `block` (empty: removed).
fn replace_sops_block(r: &Path, block: &str) {
    let file = "apps/db/prod/secret.yaml";
    let t = std::fs::read_to_string(r.join(file)).expect("read");
    let at = t.find("sops:\n").expect("a sops block");
    write(r, file, &format!("{}{block}", &t[..at]));
}

/// Eight levels of nine aliases each: 9^9 nodes from a few lines.
fn billion_laughs() -> String {
    let mut t = String::from("lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let p = format!("*a{}", i - 1);
        t.push_str(&format!("lol{i}: &a{i} [{}]\n", vec![p; 9].join(", ")));
    }
    t
}

fn deeply_nested() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {{x: {}{}}}\n",
        "[".repeat(300),
        "]".repeat(300)
    )
}

/// A path app whose directory is a link climbing out of the repository.
fn climb_out(r: &Path) {
    edit(r, "ferry.yaml", "path: infra/namespaces", "path: infra/up");
    link(r, "infra/up", "../..");
}

/// The example's prod Secret without the `sops:` field starting with `field`.
fn drop_sops_field(r: &Path, field: &str) {
    let file = "apps/db/prod/secret.yaml";
    let t = std::fs::read_to_string(r.join(file)).expect("read");
    let kept: Vec<&str> = t
        .lines()
        .filter(|l| !l.trim_start().starts_with(field))
        .collect();
    write(r, file, &(kept.join("\n") + "\n"));
}

const PROD: &[&str] = &["prod"];

const HARDENING_CASES: &[Case] = &[
    // 1. Duplicate keys, at any depth, in every YAML ferry reads.
    Case {
        name: "two apps with one name in ferry.yaml",
        setup: |r| {
            let t = std::fs::read_to_string(r.join("ferry.yaml")).expect("read");
            write(
                r,
                "ferry.yaml",
                &format!("{t}\n  podinfo:\n    path: infra/namespaces\n"),
            );
        },
        args: &[],
        expect: &["ferry.yaml:", "apps: mapping key \"podinfo\" already defined at line 23"],
        untouched: BOTH,
    },
    Case {
        name: "two environments with one name in ferry.yaml",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "\napps:\n",
                "  staging:\n    artifact: localhost:5000/other\n\napps:\n",
            )
        },
        args: &[],
        expect: &["ferry.yaml:18: environments: mapping key \"staging\" already defined at line 12"],
        untouched: BOTH,
    },
    Case {
        name: "a duplicate key deep inside an app",
        setup: |r| {
            edit(
                r,
                "ferry.yaml",
                "set: {ui: {message: \"shipped by ferry\"}}",
                "set: {ui: {message: \"shipped by ferry\", message: other}}",
            )
        },
        args: &[],
        expect: &["ferry.yaml:", "apps.podinfo.helm.set.ui: mapping key \"message\" already defined at line"],
        untouched: BOTH,
    },
    Case {
        name: "a duplicate key in a values file",
        setup: |r| {
            edit(
                r,
                "apps/podinfo/values-prod.yaml",
                "podDisruptionBudget:",
                "hpa:\n  enabled: false\npodDisruptionBudget:",
            )
        },
        args: &[],
        expect: &[
            "prod/podinfo",
            "apps.podinfo.helm.values[1]",
            "apps/podinfo/values-prod.yaml:6: mapping key \"hpa\" already defined at line 3",
        ],
        untouched: PROD,
    },
    Case {
        name: "a duplicate key in a plain manifest",
        setup: |r| {
            edit(
                r,
                "infra/namespaces/namespaces.yaml",
                "  name: frontend\n",
                "  name: frontend\n  name: backend\n",
            )
        },
        args: &[],
        expect: &["infra/namespaces/namespaces.yaml:10: metadata: mapping key \"name\" already defined at line 9"],
        untouched: BOTH,
    },
    Case {
        name: "a duplicate key in a kustomize resource (native renderer)",
        setup: |r| {
            edit(
                r,
                "apps/frontend/base/service.yaml",
                "kind: Service\n",
                "kind: Service\nkind: Service\n",
            )
        },
        args: &["--renderer", "native"],
        expect: &["apps/frontend/base/service.yaml", "mapping key \"kind\" already defined at line"],
        untouched: BOTH,
    },
    Case {
        name: "a duplicate key in a SOPS file",
        setup: |r| {
            edit(
                r,
                "apps/db/prod/secret.yaml",
                "type: Opaque\n",
                "type: Opaque\ntype: Opaque\n",
            )
        },
        args: &[],
        expect: &["apps/db/prod/secret.yaml:6: mapping key \"type\" already defined at line 5"],
        untouched: PROD,
    },
    Case {
        name: "a duplicate key in ferry.lock",
        setup: |r| {
            write(
                r,
                "ferry.lock",
                "apiVersion: ferry.dev/v1alpha1\nkind: Lock\ncharts: {}\ncharts: {}\n",
            )
        },
        args: &[],
        expect: &["ferry.lock", "mapping key \"charts\" already defined at line 3"],
        untouched: BOTH,
    },
    // 2. Symlinks: in-repo links are followed, links leaving the repository refused, by name.
    Case {
        name: "a path app file symlinked outside the repository",
        setup: |r| link(r, "apps/db/prod/outside.yaml", "/etc/hostname"),
        args: &[],
        expect: &["`apps/db/prod/outside.yaml`", "symbolic link to `/etc/hostname`", "leaves the repository"],
        untouched: PROD,
    },
    Case {
        name: "a path app file symlinked outside the repository (--worktree)",
        setup: |r| link(r, "apps/db/prod/outside.yaml", "/etc/hostname"),
        args: &["--worktree"],
        expect: &["`apps/db/prod/outside.yaml`", "symbolic link to `/etc/hostname`", "leaves the repository"],
        untouched: PROD,
    },
    Case {
        name: "a path app directory that climbs out of the repository (--worktree)",
        setup: climb_out,
        args: &["--worktree"],
        expect: &["`infra/up`", "leaves the repository"],
        untouched: BOTH,
    },
    Case {
        name: "a path app directory that climbs out of the repository",
        setup: climb_out,
        args: &[],
        expect: &["`infra/up`", "leaves the repository"],
        untouched: BOTH,
    },
    Case {
        name: "a values file symlinked outside the repository (--worktree)",
        setup: |r| {
            std::fs::remove_file(r.join("apps/podinfo/values-prod.yaml")).expect("rm");
            link(r, "apps/podinfo/values-prod.yaml", "/etc/hostname");
        },
        args: &["--worktree"],
        expect: &["apps.podinfo.helm.values[1]", "`apps/podinfo/values-prod.yaml`", "leaves the repository"],
        untouched: PROD,
    },
    Case {
        name: "a kustomize base symlinked outside the repository (--worktree)",
        setup: |r| {
            link(r, "apps/frontend/base/extra.yaml", "/etc/hostname");
        },
        args: &["--worktree"],
        expect: &["`apps/frontend/base/extra.yaml`", "leaves the repository"],
        untouched: BOTH,
    },
    Case {
        name: "a dangling symlink in a path app",
        setup: |r| link(r, "apps/db/prod/gone.yaml", "nowhere.yaml"),
        args: &[],
        expect: &["`apps/db/prod/gone.yaml`", "symbolic link to `nowhere.yaml`", "does not exist"],
        untouched: PROD,
    },
    // 4. SOPS files that are not what they claim.
    Case {
        name: "a sops block that is an empty mapping",
        setup: |r| replace_sops_block(r, "sops: {}\n"),
        args: &[],
        expect: &["prod/db-credentials", "Secret/db-credentials", "sops.lastmodified is missing"],
        untouched: PROD,
    },
    Case {
        name: "a sops block that is a string",
        setup: |r| replace_sops_block(r, "sops: encrypted\n"),
        args: &[],
        expect: &["Secret/db-credentials", "the `sops` entry is not a mapping"],
        untouched: PROD,
    },
    Case {
        name: "a sops block without a mac",
        setup: |r| drop_sops_field(r, "mac:"),
        args: &[],
        expect: &["Secret/db-credentials", "sops.mac is missing"],
        untouched: PROD,
    },
    Case {
        name: "a sops block without lastmodified",
        setup: |r| drop_sops_field(r, "lastmodified:"),
        args: &[],
        expect: &["Secret/db-credentials", "sops.lastmodified is missing"],
        untouched: PROD,
    },
    Case {
        name: "a truncated sops block",
        setup: |r| {
            let t = std::fs::read_to_string(r.join("apps/db/prod/secret.yaml")).expect("read");
            let at = t.find("-----END AGE").expect("armor");
            write(r, "apps/db/prod/secret.yaml", &t[..at]);
        },
        args: &[],
        expect: &["Secret/db-credentials", "sops.lastmodified is missing"],
        untouched: PROD,
    },
    Case {
        name: "a plaintext Secret with a forged sops block",
        setup: |r| {
            // Before: without `lastmodified` the block did not count, and the plaintext was
            // sealed as if it had been decrypted.
            write(
                r,
                "apps/db/prod/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db-credentials\ntype: Opaque\nstringData:\n    username: admin\n    password: s3cr3t-plaintext\nsops:\n    mac: ENC[AES256_GCM,data:Zm9yZ2Vk,iv:aC0Ug9w5KCHz7C0xFHPwsFnFgCpc6Du0shOzR+lfZm4=,tag:RsKHAfkKa6cF4xr+peDJdg==,type:str]\n    version: 3.11.0\n",
            );
        },
        args: &[],
        expect: &["Secret/db-credentials", "sops.lastmodified is missing"],
        untouched: PROD,
    },
    Case {
        name: "a plaintext Secret under a sops block copied from another file",
        setup: |r| {
            let t = std::fs::read_to_string(r.join("apps/db/prod/secret.yaml")).expect("read");
            let sops = &t[t.find("sops:\n").expect("block")..];
            write(
                r,
                "apps/db/prod/secret.yaml",
                &format!("apiVersion: v1\nkind: Secret\nmetadata:\n    name: db-credentials\ntype: Opaque\nstringData:\n    username: admin\n    password: s3cr3t-plaintext\n{sops}"),
            );
        },
        args: &[],
        expect: &["Secret/db-credentials", "stringData.", "is not a sops value"],
        untouched: PROD,
    },
    Case {
        name: "sops ciphertext without a sops block",
        setup: |r| replace_sops_block(r, ""),
        args: &[],
        expect: &[
            "Secret/db-credentials",
            "the value at `stringData.username` is sops ciphertext",
            "no `sops:` block",
        ],
        untouched: PROD,
    },
    Case {
        name: "a values file with sops ciphertext and no sops block",
        setup: |r| {
            edit(
                r,
                "apps/podinfo/values-prod.yaml",
                "hpa:\n",
                "password: ENC[AES256_GCM,data:qAX0,iv:5Hxk1bt2hKAdw8pz6WmKoU6Do+YxsFrZlxq9cJxygRM=,tag:RHi/V66FUotaTYW14d29rQ==,type:str]\nhpa:\n",
            )
        },
        args: &[],
        expect: &["apps/podinfo/values-prod.yaml", "the value at `password` is sops ciphertext"],
        untouched: PROD,
    },
    Case {
        name: "a values file whose sops block is empty",
        setup: |r| {
            let t = std::fs::read_to_string(r.join("apps/podinfo/values-prod.yaml")).expect("read");
            write(r, "apps/podinfo/values-prod.yaml", &format!("{t}sops: {{}}\n"));
        },
        args: &[],
        expect: &["apps/podinfo/values-prod.yaml", "sops.lastmodified is missing"],
        untouched: PROD,
    },
    // 5. A `seal:` rule whose regex matches nothing.
    Case {
        name: "a seal rule whose regex matches nothing",
        setup: |r| {
            write(
                r,
                "infra/namespaces/settings.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: podinfo}\ndata: {color: blue, token: abc}\n",
            );
            let t = std::fs::read_to_string(r.join("ferry.yaml")).expect("read");
            write(
                r,
                "ferry.yaml",
                &format!("{t}\nseal:\n  - kind: ConfigMap\n    name: ^settings$\n    encryptedRegex: ^(secrets)$\n"),
            );
        },
        args: &[],
        expect: &[
            "ConfigMap/settings (matched by a `seal:` rule",
            "encrypted_regex `^(secrets)$` matches no key",
            "keys seen: apiVersion, kind, metadata.name, metadata.namespace, data.color, data.token",
        ],
        untouched: BOTH,
    },
    // 15. YAML errors name the source file and its own line; bombs are refused by name.
    Case {
        name: "a YAML error in the second file of a path app",
        setup: |r| {
            write(
                r,
                "infra/namespaces/zz-broken.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [unclosed\n",
            )
        },
        args: &[],
        expect: &["infra/namespaces/zz-broken.yaml:"],
        untouched: BOTH,
    },
    Case {
        name: "a billion-laughs file in a path app",
        setup: |r| write(r, "infra/namespaces/lol.yaml", &billion_laughs()),
        args: &[],
        expect: &["infra/namespaces/lol.yaml:", "billion laughs"],
        untouched: BOTH,
    },
    Case {
        name: "a deeply nested file in a path app",
        setup: |r| write(r, "infra/namespaces/deep.yaml", &deeply_nested()),
        args: &[],
        expect: &["infra/namespaces/deep.yaml:4:", "nested deeper than 128 levels"],
        untouched: BOTH,
    },
    Case {
        name: "a billion-laughs values file",
        setup: |r| {
            let t = std::fs::read_to_string(r.join("apps/podinfo/values-prod.yaml")).expect("read");
            write(r, "apps/podinfo/values-prod.yaml", &format!("{t}{}", billion_laughs()));
        },
        args: &[],
        expect: &["apps/podinfo/values-prod.yaml:", "billion laughs"],
        untouched: PROD,
    },
    Case {
        name: "a billion-laughs ferry.yaml",
        setup: |r| {
            let t = std::fs::read_to_string(r.join("ferry.yaml")).expect("read");
            write(r, "ferry.yaml", &format!("{}\n{t}", billion_laughs().replace("lol", "x-lol")));
        },
        args: &[],
        expect: &["ferry.yaml:", "billion laughs"],
        untouched: BOTH,
    },
    Case {
        name: "a deeply nested kustomize resource",
        setup: |r| {
            write(r, "apps/frontend/base/deep.yaml", &deeply_nested());
            edit(
                r,
                "apps/frontend/base/kustomization.yaml",
                "resources:\n",
                "resources:\n  - deep.yaml\n",
            );
        },
        args: &[],
        expect: &["apps/frontend/base/deep.yaml", "nested deeper than 128 levels"],
        untouched: BOTH,
    },
];

#[test]
fn hardening_bad_inputs_are_refused_by_name() {
    check_cases(HARDENING_CASES);
}

/// Objects of `out/<env>` by file name and bytes, without the index (it names the source).
fn objects(dir: &Path) -> Vec<(String, Vec<u8>)> {
    common::snapshot(dir)
        .into_iter()
        .filter(|(p, _)| p != "index.json")
        .collect()
}

fn build(r: &Path, cache: &Path, args: &[&str]) -> std::process::Output {
    common::ferry(cache)
        .args(["build", "-q", "-C"])
        .arg(r)
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn in_repo_symlinks_build_the_same_in_git_and_worktree_mode() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    // A path app that is a link to a directory, holding a link to a file elsewhere.
    link(r, "infra/linked", "namespaces");
    link(r, "infra/namespaces/extra.yaml", "../../apps/extra/ns.yaml");
    write(
        r,
        "apps/extra/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n",
    );
    edit(
        r,
        "ferry.yaml",
        "path: infra/namespaces",
        "path: infra/linked",
    );
    common::commit_all(r, "links");
    let cache = tempfile::tempdir().expect("tempdir");
    let git = build(r, cache.path(), &["staging"]);
    assert!(
        git.status.success(),
        "{}",
        String::from_utf8_lossy(&git.stderr)
    );
    let from_git = objects(&r.join("out/staging"));
    let names: Vec<&str> = from_git.iter().map(|(p, _)| p.as_str()).collect();
    for ns in ["extra", "frontend", "podinfo"] {
        assert!(
            names.contains(&format!("namespaces/namespace_{ns}.yaml").as_str()),
            "{ns} missing: {names:?}"
        );
    }
    let wt = build(r, cache.path(), &["staging", "--worktree"]);
    assert!(
        wt.status.success(),
        "{}",
        String::from_utf8_lossy(&wt.stderr)
    );
    assert_eq!(objects(&r.join("out/staging")), from_git);
    // The link's target changes: the cache must see it (the tree id of the link does not).
    write(
        r,
        "apps/extra/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: extra2}\n",
    );
    common::commit_all(r, "target changed");
    let again = build(r, cache.path(), &["staging"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(r
        .join("out/staging/namespaces/namespace_extra2.yaml")
        .is_file());
}

#[test]
fn a_non_utf8_file_name_builds_the_same_in_both_modes() {
    use std::os::unix::ffi::OsStrExt;
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.yaml");
    std::fs::write(
        r.join("infra/namespaces").join(name),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: cafe}\n",
    )
    .expect("write");
    common::commit_all(r, "latin-1 name");
    let cache = tempfile::tempdir().expect("tempdir");
    let git = build(r, cache.path(), &["staging"]);
    assert!(
        git.status.success(),
        "{}",
        String::from_utf8_lossy(&git.stderr)
    );
    let from_git = objects(&r.join("out/staging"));
    assert!(from_git
        .iter()
        .any(|(p, _)| p.ends_with("namespace_cafe.yaml")));
    let wt = build(r, cache.path(), &["staging", "--worktree"]);
    assert!(
        wt.status.success(),
        "{}",
        String::from_utf8_lossy(&wt.stderr)
    );
    assert_eq!(objects(&r.join("out/staging")), from_git);
}

#[test]
fn a_repository_without_commits_says_so_and_suggests_worktree() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::git(dir.path(), &["init", "-q", "-b", "trunk"]);
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
        stderr.contains("has no commit yet")
            && stderr.contains("`trunk`")
            && stderr.contains("--worktree")
            && !stderr.contains("rev-spec"),
        "{stderr}"
    );
}

#[test]
fn secrets_encrypt_refuses_a_regex_that_matches_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("secret.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: s3cr3t-plaintext}\n",
    )
    .expect("write");
    let recipient = "age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93";
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        common::ferry(cache.path())
            .args([
                "secrets",
                "encrypt",
                "--age",
                recipient,
                "--encrypted-regex",
                "^(data)$",
            ])
            .args(extra)
            .arg(&file)
            .current_dir(dir.path())
            .output()
            .expect("runs")
    };
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("encrypted_regex `^(data)$` matches no key")
            && stderr.contains("keys seen: apiVersion, kind, metadata.name, stringData.password")
            && stderr.contains("--allow-empty"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t-plaintext"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing written");
    // Asked for, it is written; a regex that matches encrypts.
    assert!(run(&["--allow-empty"]).status.success());
    let out = common::ferry(cache.path())
        .args([
            "secrets",
            "encrypt",
            "--age",
            recipient,
            "--encrypted-regex",
            "^(stringData)$",
        ])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cr3t-plaintext"));
}
