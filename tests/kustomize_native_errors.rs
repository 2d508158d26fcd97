//! Malformed kustomizations: each must fail with an error that names the file and the field
//! (or entry) at fault, never panic and never build something.

use ferry::render::kustomize_native::build;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";

/// (name, files, directory to build, strings the error must contain)
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    Vec<&'static str>,
);

fn cases() -> Vec<Case> {
    vec![
        ("no kustomization", vec![("x.yaml", CM)], ".", vec!["unable to find one of 'kustomization.yaml'"]),
        (
            "two kustomization files",
            vec![("kustomization.yaml", "resources: [x.yaml]\n"), ("Kustomization", "resources: [x.yaml]\n"), ("x.yaml", CM)],
            ".",
            vec!["multiple kustomization files", "kustomization.yaml", "Kustomization"],
        ),
        (
            "empty kustomization",
            vec![("kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")],
            ".",
            vec!["kustomization.yaml", "empty"],
        ),
        ("unknown field", vec![("kustomization.yaml", "resourcez: [x.yaml]\n")], ".", vec!["kustomization.yaml", "`resourcez`", "unknown field"]),
        ("missing resource file", vec![("kustomization.yaml", "resources: [nope.yaml]\n")], ".", vec!["kustomization.yaml", "`resources`", "nope.yaml", "does not exist"]),
        ("missing base", vec![("kustomization.yaml", "bases: [../nowhere]\n")], ".", vec!["kustomization.yaml", "`bases`", "../nowhere"]),
        (
            "file outside the root",
            vec![("app/kustomization.yaml", "resources: [../x.yaml]\n"), ("x.yaml", CM)],
            "app",
            vec!["app/kustomization.yaml", "`resources`", "../x.yaml", "outside the kustomization root"],
        ),
        ("self reference", vec![("kustomization.yaml", "resources: [.]\n")], ".", vec!["kustomization.yaml", "`resources`", "cycle"]),
        (
            "cycle through two kustomizations",
            vec![("a/kustomization.yaml", "resources: [../b]\n"), ("b/kustomization.yaml", "resources: [../a]\n")],
            "a",
            vec!["b/kustomization.yaml", "`resources`", "../a", "cycle"],
        ),
        (
            "parent directory as a base",
            vec![("kustomization.yaml", "resources: [x.yaml]\n"), ("x.yaml", CM), ("sub/kustomization.yaml", "resources: [..]\n")],
            "sub",
            vec!["sub/kustomization.yaml", "cycle"],
        ),
        (
            "component that is a kustomization",
            vec![("kustomization.yaml", "components: [comp]\n"), ("comp/kustomization.yaml", "resources: [x.yaml]\n"), ("comp/x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`components`", "expected kind 'Component'"],
        ),
        (
            "component listed as a resource",
            vec![
                ("kustomization.yaml", "resources: [comp]\n"),
                ("comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [x.yaml]\n"),
                ("comp/x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`resources`", "Component"],
        ),
        (
            "remote base",
            vec![("kustomization.yaml", "resources:\n- github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v1.0.6\n")],
            ".",
            vec!["kustomization.yaml", "`resources`", "vendor"],
        ),
        (
            "helm charts",
            vec![("kustomization.yaml", "helmCharts:\n- name: x\n  repo: https://example.com\n")],
            ".",
            vec!["kustomization.yaml", "`helmCharts`", "helm app in ferry.yaml"],
        ),
        (
            "openapi schema file missing",
            vec![("kustomization.yaml", "resources: [x.yaml]\nopenapi:\n  path: s.json\n"), ("x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`openapi.path`", "'s.json' does not exist"],
        ),
        (
            "missing crds file",
            vec![("kustomization.yaml", "resources: [x.yaml]\ncrds: [c.yaml]\n"), ("x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`crds[0]`", "'c.yaml' does not exist"],
        ),
        (
            "external generator plugin",
            vec![("kustomization.yaml", "generators:\n- |-\n  apiVersion: someteam.example.com/v1\n  kind: Gen\n  metadata:\n    name: g\n")],
            ".",
            vec!["kustomization.yaml", "`generators`", "runs no plugins"],
        ),
        (
            "replacement source selects nothing",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: Secret, name: s}\n  targets:\n  - select: {kind: ConfigMap}\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0].source`", "nothing selected", "Secret"],
        ),
        (
            "replacement source field missing",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap, fieldPath: data.nope}\n  targets:\n  - select: {kind: ConfigMap}\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0].source`", "fieldPath `data.nope` is missing"],
        ),
        (
            "replacement target field missing without create",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data.k]\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0]`", "ConfigMap", "unable to find field \"data.k\"", "create: true"],
        ),
        (
            "replacement fieldPath through a list",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [metadata.name.0]\n    options: {create: true}\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0]`", "metadata.name.0"],
        ),
        (
            "replacement without targets",
            vec![("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap}\n"), ("x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`replacements[0]`", "at least one target"],
        ),
        (
            "replacement with sourceValue, which kustomize v5.7.1 lacks",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- sourceValue: v\n  source: {kind: ConfigMap}\n  targets:\n  - select: {kind: ConfigMap}\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0]`", "unknown field 'sourceValue'"],
        ),
        (
            "replacement with a misspelt key",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap}\n  targets:\n  - selects: {kind: ConfigMap}\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0].targets[0]`", "unknown field 'selects'"],
        ),
        (
            "replacement source index out of bounds",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap, options: {delimiter: '-', index: 3}}\n  targets:\n  - select: {kind: ConfigMap}\n"),
                ("x.yaml", CM),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0].source`", "options.index 3 is out of bounds"],
        ),
        (
            "replacement file missing",
            vec![("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- path: r.yaml\n"), ("x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`replacements[0].path`", "r.yaml", "does not exist"],
        ),
        (
            "replacement path through a scalar",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\nreplacements:\n- source: {kind: ConfigMap}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data.cfg.a]\n"),
                ("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  cfg: 'a: 1'\n"),
            ],
            ".",
            vec!["kustomization.yaml", "`replacements[0]`", "data.cfg.a", "expected a mapping"],
        ),
        (
            "value add without targets",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\ntransformers: [v.yaml]\n"),
                ("x.yaml", CM),
                ("v.yaml", "apiVersion: builtin\nkind: ValueAddTransformer\nmetadata:\n  name: v\n"),
            ],
            ".",
            vec!["v.yaml", "`targets`", "at least one target"],
        ),
        (
            "strategic merge patch for nothing",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\npatches:\n- path: p.yaml\n"),
                ("x.yaml", CM),
                ("p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata: {k: v}\n"),
            ],
            ".",
            vec!["kustomization.yaml", "`patches[0]`", "no resource matches", "other"],
        ),
        ("resources is a string", vec![("kustomization.yaml", "resources: x.yaml\n")], ".", vec!["kustomization.yaml", "`resources`", "list"]),
        (
            "label value not a string",
            vec![("kustomization.yaml", "resources: [x.yaml]\ncommonLabels:\n  tier: 3\n"), ("x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`commonLabels.tier`", "quote"],
        ),
        (
            "wrong kind",
            vec![("kustomization.yaml", "kind: Kustomisation\nresources: [x.yaml]\n"), ("x.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "`kind`"],
        ),
        (
            "resource without kind",
            vec![("kustomization.yaml", "resources: [x.yaml]\n"), ("x.yaml", "metadata:\n  name: a\n")],
            ".",
            vec!["x.yaml", "missing kind"],
        ),
        (
            "resource without name",
            vec![("kustomization.yaml", "resources: [x.yaml]\n"), ("x.yaml", "apiVersion: v1\nkind: ConfigMap\n")],
            ".",
            vec!["x.yaml", "metadata.name"],
        ),
        (
            "same object twice",
            vec![("kustomization.yaml", "resources: [x.yaml, y.yaml]\n"), ("x.yaml", CM), ("y.yaml", CM)],
            ".",
            vec!["kustomization.yaml", "already registered id", "ConfigMap"],
        ),
        ("invalid kustomization YAML", vec![("kustomization.yaml", "resources: [x.yaml\n")], ".", vec!["kustomization.yaml", "invalid Kustomization"]),
        (
            "invalid resource YAML",
            vec![("kustomization.yaml", "resources: [x.yaml]\n"), ("x.yaml", "a: [b\n")],
            ".",
            vec!["x.yaml", "invalid YAML"],
        ),
        (
            "label path through a scalar",
            vec![
                ("kustomization.yaml", "resources: [x.yaml]\ncommonLabels: {a: b}\n"),
                ("x.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template: oops\n"),
            ],
            ".",
            vec!["kustomization.yaml", "`commonLabels`", "Deployment", "x.yaml", "spec/template"],
        ),
    ]
}

#[test]
fn every_bad_kustomization_names_file_and_field() {
    let mut failures = Vec::new();
    let all = cases();
    for (name, files, root, needles) in &all {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        match build(&dir.path().join(root)) {
            Ok(out) => failures.push(format!("{name}: built instead of failing:\n{out}")),
            Err(e) => {
                let msg = e.to_string();
                println!("{name}: {msg}");
                for needle in needles {
                    if !msg.contains(needle) {
                        failures.push(format!("{name}: error lacks {needle:?}: {msg}"));
                    }
                }
            }
        }
    }
    assert!(all.len() >= 15);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
