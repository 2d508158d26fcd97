//! Differential test: small kustomizations exercising the loader and the transformers the
//! native renderer supports, built by `kubectl kustomize` and by
//! `ferry::render::kustomize_native::build`, compared byte for byte. Skips when kubectl is
//! not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn find_kubectl() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cache/gitops-peers/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

const WORKLOADS: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels: {app: web}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: web
        image: nginx:1.0
      - name: side
        image: docker.io/library/busybox@sha256:abc
      initContainers:
      - name: init
        image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: tick
            image: busybox:1.36
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: postgres:16
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 1Gi}
"#;

const CLUSTER: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: old
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: crb
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- kind: ServiceAccount
  name: default
  namespace: elsewhere
- kind: ServiceAccount
  name: other
  namespace: elsewhere
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: somewhere
spec:
  size: 1.0
  ratio: 0.5
  when: "2024-01-01"
  plainDate: 2024-02-29
  stamp: 2001-12-14t21:59:43.10-05:00
  mode: 0755
  quotedMode: "0644"
  big: 1_000_000
  fallback: 09.5
  flow: [0600, "0700"]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  long: "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh"
  script: |
    #!/bin/sh
    echo "hi"
  "on": "yes"
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: from-list
  data:
    k: v
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: listed
---
# an empty document is skipped
"#;

/// A scenario: files to write (path, content) and the directory to build.
struct Scenario {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    root: &'static str,
}

fn scenarios() -> Vec<Scenario> {
    let base = |extra: &str| format!("resources:\n- workloads.yaml\n- cluster.yaml\n{extra}");
    let mut v = vec![
        Scenario { name: "plain", files: vec![("kustomization.yaml", base(""))], root: "." },
        Scenario { name: "namespace", files: vec![("kustomization.yaml", base("namespace: prod\n"))], root: "." },
        // kubectl keeps the last of a repeated key in kustomization.yaml (sigs.k8s.io/yaml).
        Scenario {
            name: "duplicate-key-in-kustomization-keeps-last",
            files: vec![("kustomization.yaml", base("namePrefix: p-\nnamePrefix: q-\n"))],
            root: ".",
        },
        Scenario {
            name: "prefix-suffix",
            files: vec![("kustomization.yaml", base("namePrefix: p-\nnameSuffix: -s\n"))],
            root: ".",
        },
        Scenario {
            name: "common-labels-annotations",
            files: vec![(
                "kustomization.yaml",
                base("commonLabels:\n  team: a\n  version: \"1.0\"\ncommonAnnotations:\n  note: \"yes\"\n  owner: me\n"),
            )],
            root: ".",
        },
        Scenario {
            name: "labels-variants",
            files: vec![(
                "kustomization.yaml",
                base(
                    "labels:\n- pairs: {plain: x}\n- pairs: {tmpl: yv}\n  includeTemplates: true\n- pairs: {sel: zv}\n  includeSelectors: true\n- pairs: {custom: c}\n  fields:\n  - path: spec/extra/labels\n    kind: Widget\n    create: true\n",
                ),
            )],
            root: ".",
        },
        Scenario {
            name: "images",
            files: vec![(
                "kustomization.yaml",
                base(
                    "images:\n- name: nginx\n  newTag: \"1.25\"\n- name: docker.io/library/busybox\n  newName: registry.local/busybox\n  digest: sha256:def\n- name: busybox\n  newName: mirror/busybox\n- name: postgres\n  tagSuffix: -alpine\n",
                ),
            )],
            root: ".",
        },
    ];
    v.push(Scenario {
        name: "sort-fifo",
        files: vec![("kustomization.yaml", base("sortOptions:\n  order: fifo\n"))],
        root: ".",
    });
    v.push(Scenario {
        name: "sort-legacy-custom",
        files: vec![(
            "kustomization.yaml",
            base("sortOptions:\n  order: legacy\n  legacySortOptions:\n    orderFirst: [Widget, StatefulSet]\n    orderLast: [Namespace]\n"),
        )],
        root: ".",
    });
    v.push(Scenario {
        name: "vars",
        files: vec![
            (
                "kustomization.yaml",
                "resources:\n- app.yaml\nnamePrefix: p-\nnamespace: prod\nvars:\n- name: SVC\n  objref: {kind: Service, name: web, apiVersion: v1}\n- name: REPLICAS\n  objref: {kind: Deployment, name: web, apiVersion: apps/v1}\n  fieldref: {fieldpath: spec.replicas}\n- name: IMAGE\n  objref: {kind: Deployment, name: web, apiVersion: apps/v1}\n  fieldref: {fieldPath: \"spec.template.spec.containers[0].image\"}\n".into(),
            ),
            (
                "app.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        command: [\"run\", \"$(SVC)\", \"$(REPLICAS)\"]\n        args: [\"--svc=$(SVC).svc\", \"$$(SVC)\", \"$(UNKNOWN)\", \"x$(IMAGE)y\", \"n=$(REPLICAS)\"]\n        env:\n        - name: A\n          value: $(SVC)\n".into(),
            ),
        ],
        root: ".",
    });
    v.push(Scenario {
        name: "strategic-merge",
        files: vec![
            (
                "kustomization.yaml",
                base("patchesStrategicMerge:\n- smp-web.yaml\npatches:\n- path: smp-svc.yaml\n- target: {kind: StatefulSet}\n  patch: |\n    apiVersion: apps/v1\n    kind: StatefulSet\n    metadata: {name: x, finalizers: [b, a]}\n    spec:\n      template:\n        spec:\n          containers:\n          - name: db\n            ports:\n            - containerPort: 5432\n              name: pg\n            volumeMounts:\n            - mountPath: /data\n              name: data\n"),
            ),
            (
                "smp-web.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {smp: \"yes\"}\nspec:\n  replicas: null\n  strategy:\n    $patch: replace\n    type: Recreate\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:2\n        env:\n        - name: B\n          value: b\n      - name: extra\n        image: extra:1\n      - name: side\n        $patch: delete\n      initContainers:\n      - $patch: replace\n      - name: fresh\n        image: fresh\n".into(),
            ),
            (
                "smp-svc.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: 9090\n  - port: 443\n    targetPort: 8443\n".into(),
            ),
        ],
        root: ".",
    });
    v.push(Scenario {
        name: "builtin-transformer-configs",
        files: vec![
            (
                "kustomization.yaml",
                base("transformers:\n- labels.yaml\n- conf\n- |-\n  apiVersion: builtin\n  kind: AnnotationsTransformer\n  metadata:\n    name: notes\n  annotations:\n    inline: \"true\"\n  fieldSpecs:\n  - path: metadata/annotations\n    create: true\n"),
            ),
            (
                "labels.yaml",
                "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  only-meta: x\nfieldSpecs:\n- path: metadata/labels\n  create: true\n- kind: Deployment\n  path: spec/template/metadata/labels\n  create: true\n".into(),
            ),
            ("conf/kustomization.yaml", "resources:\n- ns.yaml\n- img.yaml\n".into()),
            (
                "conf/ns.yaml",
                "apiVersion: builtin\nkind: NamespaceTransformer\nmetadata:\n  name: ns\n  namespace: from-plugin\nfieldSpecs:\n- path: metadata/namespace\n  create: true\n".into(),
            ),
            (
                "conf/img.yaml",
                "apiVersion: builtin\nkind: ImageTagTransformer\nmetadata:\n  name: img\nimageTag:\n  name: nginx\n  newTag: \"9\"\nfieldSpecs:\n- path: spec/template/spec/containers/image\n".into(),
            ),
        ],
        root: ".",
    });
    v.push(Scenario {
        name: "nested-bases-and-components",
        files: vec![
            ("base/kustomization.yaml", "resources:\n- workloads.yaml\nnamePrefix: b-\ncommonLabels: {layer: base}\n".into()),
            ("base/workloads.yaml", WORKLOADS.into()),
            (
                "comp/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- extra.yaml\ncommonAnnotations: {from: component}\n".into(),
            ),
            ("comp/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {k: v}\n".into()),
            (
                "overlay/kustomization.yaml",
                "bases:\n- ../base\ncomponents:\n- ../comp\nnamespace: ov\nnameSuffix: -x\nlabels:\n- pairs: {env: prod}\n".into(),
            ),
        ],
        root: "overlay",
    });
    v.extend(schema_and_replacement_scenarios());
    v.extend(json6902_yaml11_scenarios());
    v
}

const SMALL_CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n";

/// JSON 6902 ops are read like `sigs.k8s.io/yaml`'s `YAMLToJSON` (go-yaml v2, YAML 1.1):
/// plain `on`/`no` are booleans, `0x10`/`010` integers, non-string keys become text.
fn json6902_yaml11_scenarios() -> Vec<Scenario> {
    let with_ops = |name: &'static str, ops: &str| {
        Scenario {
        name,
        files: vec![
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\npatches:\n- target: {kind: ConfigMap, name: cm}\n  path: ops.yaml\n".into(),
            ),
            ("cm.yaml", SMALL_CM.into()),
            ("ops.yaml", format!("- {{op: add, path: /v, value: {{}}}}\n{ops}")),
        ],
        root: ".",
    }
    };
    vec![
        // kubectl: on: true, no: false, hex: 16, oct: 8, exp: 1000, tilde: null, empty: null.
        with_ops(
            "json6902-plain-scalars-resolve-as-yaml-1-1",
            "- op: add\n  path: /v/on\n  value: on\n- {op: add, path: /v/no, value: no}\n- {op: add, path: /v/hex, value: 0x10}\n- {op: add, path: /v/oct, value: 010}\n- {op: add, path: /v/exp, value: 1e3}\n- {op: add, path: /v/tilde, value: ~}\n- {op: add, path: /v/empty, value: }\n- {op: add, path: /v/bin, value: 0b101}\n- {op: add, path: /v/under, value: 1_000}\n- {op: add, path: /v/float, value: 1.50}\n- {op: add, path: /v/list, value: [y, N, Off, .5]}\n",
        ),
        // kubectl: "false": 1000 (`n` then `Off`, the later wins), "16": true, "1.5": null,
        // "8", "3.1415927" (float32 'g'), "0" for -0, "1" for 1.0, "1e+20", "1e+07".
        // Exponent-form keys sit alone: beside other numeric keys kubectl's order varies
        // from run to run.
        with_ops(
            "json6902-non-string-keys-become-text",
            "- op: add\n  path: /data2\n  value: {n: no, 0x10: y, 1.50: ~, Off: 1e3, 010: a, 3.14159265358979: e, -0: f, 1.0: g, 'on': h}\n- {op: add, path: /v/e20, value: {1e20: c}}\n- {op: add, path: /v/e7, value: {1e7: d}}\n- op: add\n  path: /v/block\n  value:\n    y: yes\n    Y: [on, off]\n",
        ),
        // kubectl: "on", "no", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "1:20" stay text.
        with_ops(
            "json6902-quoted-and-timestamps-stay-strings",
            "- {op: add, path: /v/qon, value: \"on\"}\n- {op: add, path: /v/sq, value: 'no'}\n- {op: add, path: /v/ts, value: 2001-12-14}\n- {op: add, path: /v/ts2, value: 2001-12-14t21:59:43.10-05:00}\n- {op: add, path: /v/b60, value: 1:20}\n- op: add\n  path: /v/lit\n  value: |\n    on\n- {op: add, path: /v/tagged, value: !!str yes}\n",
        ),
        Scenario {
            name: "json6902-legacy-field-inline-patch-reads-yaml-1-1",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [cm.yaml]\npatchesJson6902:\n- target: {version: v1, kind: ConfigMap, name: cm}\n  patch: |\n    - {op: add, path: /data/on, value: on}\n    - {op: replace, path: /data/a, value: 0x1F}\n    - {op: add, path: /extra, value: &x {off: ~}}\n    - {op: add, path: /extra2, value: *x}\n".into(),
                ),
                ("cm.yaml", SMALL_CM.into()),
            ],
            root: ".",
        },
    ]
}

const CRD_OBJECTS: &str = "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\n  finalizers: [a]\nspec:\n  items:\n  - {name: a, v: 1}\n---\napiVersion: apps/v1beta2\nkind: Deployment\nmetadata:\n  name: old\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: x}\n";

/// Strategic-merge directives (kustomize keeps them as fields), lists of kinds without a
/// v1.21.2 schema (replaced), replacements, configurations and the value-add transformer.
fn schema_and_replacement_scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "smp-directives-are-kept-as-fields",
            files: vec![
                ("kustomization.yaml", "resources:\n- workloads.yaml\npatches:\n- path: p.yaml\n".into()),
                (
                    "p.yaml",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  strategy:\n    $retainKeys: [type]\n    type: Recreate\n  template:\n    spec:\n      $setElementOrder/containers:\n      - name: side\n      - name: web\n      containers:\n      - name: web\n        $deleteFromPrimitiveList/args: [x]\n        image: nginx:2\n".into(),
                ),
            ],
            root: ".",
        },
        Scenario {
            name: "lists-without-schema-are-replaced",
            files: vec![
                ("kustomization.yaml", "resources:\n- crd.yaml\npatches:\n- path: p.yaml\n- path: q.yaml\n".into()),
                ("crd.yaml", CRD_OBJECTS.into()),
                ("p.yaml", "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\n  finalizers: [b]\nspec:\n  items:\n  - {name: b, v: 2}\n".into()),
                ("q.yaml", "apiVersion: apps/v1beta2\nkind: Deployment\nmetadata:\n  name: old\nspec:\n  template:\n    spec:\n      containers:\n      - {name: b, image: y}\n".into()),
            ],
            root: ".",
        },
        Scenario {
            name: "replacements",
            files: vec![(
                "kustomization.yaml",
                "resources:\n- workloads.yaml\n- cluster.yaml\nnamespace: ns1\nnamePrefix: p-\nreplacements:\n- source: {kind: Service, name: web, fieldPath: metadata.name}\n  targets:\n  - select: {kind: Deployment}\n    reject: [{name: nothing}]\n    fieldPaths:\n    - spec.template.metadata.annotations.svc\n    - spec.template.spec.containers.[name=web].env.[name=SVC].value\n    options: {create: true}\n- source: {kind: Service, name: web, fieldPath: metadata.namespace}\n  targets:\n  - select: {kind: Deployment, name: web}\n    fieldPaths: [spec.template.metadata.annotations.svc]\n    options: {delimiter: '.', index: 1}\n- source: {kind: Deployment, fieldPath: spec.replicas}\n  targets:\n  - select: {kind: StatefulSet}\n    fieldPaths: [spec.replicas, metadata.labels.replicas, spec.template.metadata.annotations.n]\n    options: {create: true}\n".into(),
            )],
            root: ".",
        },
        Scenario {
            // Replacement ids never count a kind as cluster-scoped: a ClusterRole's stray
            // namespace is compared like any other.
            name: "replacement-reject-namespace-of-cluster-scoped-kind",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, fieldPath: data.k}\n  targets:\n  - select: {version: v1}\n    reject: [{namespace: team-a}]\n    fieldPaths: [metadata.annotations.x]\n    options: {create: true}\n  - select: {kind: ClusterRole, namespace: default}\n    fieldPaths: [metadata.labels.y]\n    options: {create: true}\n".into(),
                ),
                (
                    "r.yaml",
                    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\n  namespace: team-a\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: src\ndata:\n  k: v\n".into(),
                ),
            ],
            root: ".",
        },
        Scenario {
            // A created top-level annotation keeps the text ("1.0"); a label is typed from it.
            name: "replacement-created-annotation-keeps-text",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, fieldPath: data.k0}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [metadata.annotations.copied, metadata.labels.copied, data.new]\n    options: {create: true}\n".into(),
                ),
                (
                    "r.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a10\ndata:\n  k0: \"1.0\"\n".into(),
                ),
            ],
            root: ".",
        },
        Scenario {
            // kyaml reads the source node live: once a target rewrites the source field itself,
            // the following targets get the rewritten value.
            name: "replacement-target-rewrites-its-own-source",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: src, fieldPath: data.k0}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data.k0]\n    options: {delimiter: '-', index: 1, create: true}\n".into(),
                ),
                (
                    "r.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: src\ndata:\n  k0: X\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  k1: Y\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nodata\n".into(),
                ),
            ],
            root: ".",
        },
        Scenario {
            name: "replacement-transformer-config",
            files: vec![
                ("kustomization.yaml", "resources:\n- workloads.yaml\ntransformers:\n- r.yaml\n".into()),
                (
                    "r.yaml",
                    "apiVersion: builtin\nkind: ReplacementTransformer\nmetadata:\n  name: r\nreplacements:\n- path: list.yaml\n".into(),
                ),
                (
                    "list.yaml",
                    "- source: {kind: Deployment, name: web, fieldPath: spec.template.spec.containers.0.image}\n  targets:\n  - select: {kind: CronJob}\n    fieldPaths: [spec.jobTemplate.spec.template.spec.containers.*.image]\n".into(),
                ),
            ],
            root: ".",
        },
        Scenario {
            name: "configurations-and-value-add",
            files: vec![
                (
                    "app/kustomization.yaml",
                    "resources:\n- crd.yaml\nconfigurations: [conf.yaml]\n".into(),
                ),
                (
                    "app/conf.yaml",
                    "namespace:\n- kind: Foo\n  path: spec/targetNamespace\n  create: true\ncommonLabels:\n- kind: Foo\n  path: spec/selector/labels\n  create: true\n".into(),
                ),
                ("app/crd.yaml", CRD_OBJECTS.into()),
                (
                    "team-a/kustomization.yaml",
                    "resources:\n- ../app\nnamespace: ns-a\ncommonLabels: {team: a}\ntransformers:\n- v.yaml\n".into(),
                ),
                (
                    "team-a/v.yaml",
                    "apiVersion: builtin\nkind: ValueAddTransformer\nmetadata:\n  name: v\ntargets:\n- selector: {kind: Foo}\n  fieldPath: spec/path\n  filePathPosition: 1\n".into(),
                ),
            ],
            root: "team-a",
        },
    ]
}

#[test]
fn native_build_matches_kubectl_kustomize() {
    let Some(kubectl) = find_kubectl() else {
        println!("SKIP: kubectl not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let mut failures = Vec::new();
    let all = scenarios();
    for sc in &all {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("workloads.yaml"), WORKLOADS).expect("write");
        std::fs::write(dir.path().join("cluster.yaml"), CLUSTER).expect("write");
        write_files(dir.path(), &sc.files);
        compare(&kubectl, sc.name, &dir.path().join(sc.root), &mut failures);
    }
    println!(
        "{} of {} scenarios identical to kubectl kustomize",
        all.len() - failures.len(),
        all.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[path = "kustomize_native_kubectl/build_metadata.rs"]
mod build_metadata;
#[path = "kustomize_native_kubectl/complete.rs"]
mod complete;
#[path = "kustomize_native_kubectl/dupkeys.rs"]
mod dupkeys;
#[path = "kustomize_native_kubectl/keyless.rs"]
mod keyless;
#[path = "kustomize_native_kubectl/openapi.rs"]
mod openapi;
#[path = "kustomize_native_kubectl/plugins.rs"]
mod plugins;
#[path = "kustomize_native_kubectl/untyped.rs"]
mod untyped;

fn write_files<T: AsRef<str>>(dir: &Path, files: &[(&str, T)]) {
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text.as_ref()).expect("write");
    }
}

/// Builds `root` with kubectl (which must succeed) and natively; a difference or a native
/// error is added to `failures`.
fn compare(kubectl: &Path, name: &str, root: &Path, failures: &mut Vec<String>) {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(root)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "{name}: kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).expect("utf-8");
    match ferry::render::kustomize_native::build(root) {
        Ok(got) if got == want => {}
        Ok(got) => failures.push(format!("{name}:\n--- kubectl\n{want}\n--- ferry\n{got}")),
        Err(e) => failures.push(format!("{name}: {e}")),
    }
}

#[test]
fn native_builds_what_kubectl_builds_issue_18() {
    let Some(kubectl) = find_kubectl() else {
        println!("SKIP: kubectl not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let mut failures = Vec::new();
    let mut all = complete::builds();
    all.extend(plugins::builds());
    all.extend(openapi::builds());
    all.extend(dupkeys::builds());
    all.extend(keyless::builds());
    all.extend(build_metadata::builds());
    all.extend(untyped::builds());
    for case in &all {
        let dir = tempfile::tempdir().expect("temp dir");
        write_files(dir.path(), &case.files);
        compare(&kubectl, case.name, dir.path(), &mut failures);
    }
    println!(
        "{} of {} issue-18 scenarios identical to kubectl kustomize",
        all.len() - failures.len(),
        all.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn native_fails_where_kubectl_fails_issue_18() {
    let Some(kubectl) = find_kubectl() else {
        println!("SKIP: kubectl not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let mut failures = Vec::new();
    for case in complete::failures()
        .into_iter()
        .chain(plugins::failures())
        .chain(openapi::failures())
        .chain(dupkeys::failures())
        .chain(keyless::failures())
    {
        let dir = tempfile::tempdir().expect("temp dir");
        write_files(dir.path(), &case.files);
        let out = Command::new(&kubectl)
            .arg("kustomize")
            .arg(dir.path())
            .output()
            .expect("run kubectl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: kubectl built it", case.name);
        assert!(
            stderr.contains(case.both_say),
            "{}: kubectl said {stderr}",
            case.name
        );
        match ferry::render::kustomize_native::build(dir.path()) {
            Ok(got) => failures.push(format!("{}: native built it:\n{got}", case.name)),
            Err(e) if e.to_string().contains(case.both_say) => {}
            Err(e) => failures.push(format!(
                "{}: native's error does not say {}: {e}",
                case.name, case.both_say
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
