//! Randomised differential test: small random kustomization trees built by `kubectl kustomize`
//! and natively, compared byte for byte. The generator tracks the objects each level sees
//! (bases, resources, a component, generators), so patches (strategic merge, inline or from a
//! file, and JSON 6902 with target selectors), generator merges, replicas, images, labels,
//! replacements and sortOptions name objects that exist: most trees render; `openapi` schema
//! files (in a base or the overlay) and `buildMetadata` options come and go too. One case in ten
//! carries one deliberately invalid feature, and then the native build must refuse it as
//! kubectl does. Left out on purpose: YAML 1.1 words (`on`, `no`, `0x10`) in JSON 6902 patches
//! (kubectl scenarios pin them instead), and null-like strings as replacement sources (a known
//! difference).
//! A fixed seed keeps runs reproducible: `FERRY_DIFF_SEED` and `FERRY_DIFF_CASES` (default 30)
//! change them; `cargo xtask differential` runs many more. Skips without kubectl.

mod common;

use common::rng::Rng;
use std::fmt::Write as _;
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

/// Strings that stress quoting, block scalars and folding, written as JSON (valid YAML).
const VALUES: &[&str] = &[
    "plain", "yes", "on", "1.0", "0x1f", "~", "null", "", " lead", "a: b", "# hash", "- dash", "it's", "multi\nline\n",
    "multi\nline", "keep\n\n", "tab\there", "日本語", "http://x.example/a?b=c#d",
    "a long value with many words that will certainly need folding past the eightieth column of output",
];
const NAMES: &[&str] = &[
    "web", "api", "db", "cache", "worker", "a1", "a10", "a9", "z",
];
const IMAGES: &[&str] = &[
    "nginx",
    "nginx:1.0",
    "docker.io/library/redis:7",
    "ghcr.io/org/app@sha256:abc",
    "busybox:1.36",
];
const KINDS: &[&str] = &[
    "ConfigMap",
    "Deployment",
    "Service",
    "StatefulSet",
    "CronJob",
    "Job",
    "ServiceAccount",
    "Widget",
    "ClusterRole",
    "Namespace",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "DaemonSet",
    "Secret",
    "PersistentVolumeClaim",
    "Role",
    "RoleBinding",
    "ClusterRoleBinding",
    "HorizontalPodAutoscaler",
    "Ingress",
];

/// A name that is often one of the tree's objects (`pool`), to exercise name references.
fn reference(rng: &mut Rng, pool: &[String]) -> String {
    if !pool.is_empty() && rng.chance(60) {
        return pool[rng.below(pool.len())].clone();
    }
    format!("{}{}", rng.pick(NAMES), rng.below(3))
}

fn json(s: &str) -> String {
    ferry::goyaml::to_json(&serde_json::Value::String(s.to_string()))
}

fn labels(rng: &mut Rng) -> String {
    let n = rng.below(3);
    let pairs: Vec<String> = (0..n)
        .map(|i| format!("\"l{i}\": {}", json(rng.pick(&["x", "yes", "1.0", "v-2"]))))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn pod_spec(rng: &mut Rng, pool: &[String], indent: &str) -> String {
    let mut s = format!("{indent}containers:\n");
    for i in 0..1 + rng.below(2) {
        let _ = write!(
            s,
            "{indent}- name: c{i}\n{indent}  image: {}\n",
            rng.pick(IMAGES)
        );
        if rng.chance(30) {
            let _ = writeln!(s, "{indent}  args: [{}]", json(rng.pick(VALUES)));
        }
    }
    if rng.chance(30) {
        let _ = write!(
            s,
            "{indent}initContainers:\n{indent}- name: init\n{indent}  image: {}\n",
            rng.pick(IMAGES)
        );
    }
    if rng.chance(40) {
        let _ = writeln!(s, "{indent}serviceAccountName: {}", reference(rng, pool));
    }
    if rng.chance(50) {
        let _ = write!(
            s,
            "{indent}volumes:\n{indent}- name: cfg\n{indent}  configMap:\n{indent}    name: {}\n{indent}- name: sec\n{indent}  secret:\n{indent}    secretName: {}\n{indent}- name: data\n{indent}  persistentVolumeClaim:\n{indent}    claimName: {}\n",
            reference(rng, pool),
            reference(rng, pool),
            reference(rng, pool)
        );
    }
    s
}

fn resource(rng: &mut Rng, pool: &[String], kind: &str, name: &str, ns: &str) -> String {
    let ns = if ns.is_empty() {
        String::new()
    } else {
        format!("\n  namespace: {ns}")
    };
    let meta = format!("metadata:\n  name: {name}{ns}\n  labels: {}\n", labels(rng));
    let sel = format!("{{app: {name}}}");
    match kind {
        "ConfigMap" => {
            let mut s = format!("apiVersion: v1\nkind: ConfigMap\n{meta}data:\n");
            for i in 0..1 + rng.below(3) {
                let _ = writeln!(s, "  k{i}: {}", json(rng.pick(VALUES)));
            }
            s
        }
        "Deployment" | "DaemonSet" => format!(
            "apiVersion: apps/v1\nkind: {kind}\n{meta}spec:\n  replicas: {}\n  selector:\n    matchLabels: {sel}\n  template:\n    metadata:\n      labels: {sel}\n    spec:\n{}",
            rng.below(4),
            pod_spec(rng, pool, "      ")
        ),
        "StatefulSet" => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\n{meta}spec:\n  serviceName: {name}\n  selector:\n    matchLabels: {sel}\n  template:\n    metadata:\n      labels: {sel}\n    spec:\n{}  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      resources: {{requests: {{storage: 1Gi}}}}\n",
            pod_spec(rng, pool, "      ")
        ),
        "CronJob" => format!(
            "apiVersion: batch/v1\nkind: CronJob\n{meta}spec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n{}",
            pod_spec(rng, pool, "          ")
        ),
        "Job" => format!("apiVersion: batch/v1\nkind: Job\n{meta}spec:\n  template:\n    spec:\n{}", pod_spec(rng, pool, "      ")),
        "Service" => format!("apiVersion: v1\nkind: Service\n{meta}spec:\n  selector: {sel}\n  ports:\n  - port: {}\n", 80 + rng.below(9000)),
        "ServiceAccount" => format!("apiVersion: v1\nkind: ServiceAccount\n{meta}"),
        "ClusterRole" => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n{meta}rules: []\n"),
        "Namespace" => format!("apiVersion: v1\nkind: Namespace\n{meta}"),
        "Secret" => format!("apiVersion: v1\nkind: Secret\n{meta}type: Opaque\nstringData:\n  k: {}\n", json(rng.pick(VALUES))),
        "PersistentVolumeClaim" => format!("apiVersion: v1\nkind: PersistentVolumeClaim\n{meta}spec:\n  resources: {{requests: {{storage: 1Gi}}}}\n"),
        "Role" => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n{meta}rules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  resourceNames: [{}]\n  verbs: [get]\n", reference(rng, pool)),
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = if kind == "RoleBinding" { rng.pick(&["Role", "ClusterRole"]) } else { "ClusterRole" };
            let ns = if rng.chance(50) { format!("\n  namespace: {}", rng.pick(&["team-a", "prod"])) } else { String::new() };
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n{meta}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {}\nsubjects:\n- kind: ServiceAccount\n  name: {}{ns}\n- kind: ServiceAccount\n  name: default\n",
                reference(rng, pool),
                reference(rng, pool)
            )
        }
        "HorizontalPodAutoscaler" => format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n{meta}spec:\n  maxReplicas: 3\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: {}\n    name: {}\n",
            rng.pick(&["Deployment", "StatefulSet"]),
            reference(rng, pool)
        ),
        "Ingress" => format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\n{meta}spec:\n  tls:\n  - secretName: {}\n  rules:\n  - http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {}\n            port: {{number: 80}}\n",
            reference(rng, pool),
            reference(rng, pool)
        ),
        "PodDisruptionBudget" => format!("apiVersion: policy/v1\nkind: PodDisruptionBudget\n{meta}spec:\n  minAvailable: 1\n  selector:\n    matchLabels: {sel}\n"),
        "NetworkPolicy" => format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n{meta}spec:\n  podSelector:\n    matchLabels: {sel}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {sel}\n"
        ),
        _ => format!(
            "apiVersion: example.com/v1\nkind: Widget\n{meta}spec:\n  size: {}\n  ratio: {}\n  note: {}\n",
            rng.pick(&["1", "1.0", "2.5", "1e3", "0.000001", "12345678.5"]),
            rng.pick(&["0.5", "3", "-1"]),
            json(rng.pick(VALUES))
        ),
    }
}

/// One object as a kustomization sees it (kind, original name and namespace), so patches,
/// generator merges, replica counts and replacement sources pick objects that exist: the tree
/// is then one kubectl accepts, unless a case breaks it on purpose (see `Bad`).
#[derive(Clone)]
struct Obj {
    kind: &'static str,
    name: String,
    ns: &'static str,
    /// A ConfigMap that has `data.k0`.
    k0: bool,
    /// A generator may merge into it or replace it (kubectl finds no object a component
    /// generated when its overlay's generators look).
    mergeable: bool,
}

fn count(vis: &[Obj], kind: &str, name: &str) -> usize {
    vis.iter()
        .filter(|o| o.kind == kind && o.name == name)
        .count()
}

/// Objects of `kind` whose original name no other object of that kind shares.
fn unique(vis: &[Obj], kind: &str) -> Vec<Obj> {
    vis.iter()
        .filter(|o| o.kind == kind && count(vis, kind, &o.name) == 1)
        .cloned()
        .collect()
}

/// In the default namespace, as a patch or generator without a namespace addresses it.
fn default_ns(o: &Obj) -> bool {
    o.ns.is_empty() || o.ns == "default"
}

/// The invalid feature a case carries on purpose (kubectl must refuse it, and native too).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Bad {
    PatchMissingObject,
    MergeMissingConfigMap,
    RemoveMissingLabel,
    ReplacementSourceMissing,
    DuplicateResource,
    DuplicateGenerator,
    ReplicasMissingObject,
}

const BADS: &[Bad] = &[
    Bad::PatchMissingObject,
    Bad::MergeMissingConfigMap,
    Bad::RemoveMissingLabel,
    Bad::ReplacementSourceMissing,
    Bad::DuplicateResource,
    Bad::DuplicateGenerator,
    Bad::ReplicasMissingObject,
];

/// Percentage of cases given one invalid feature on purpose.
const BAD_PERCENT: u64 = 10;

/// The list fields of one kustomization, collected so that several features can add entries.
#[derive(Default)]
struct Kust {
    patches: Vec<String>,
    smp: Vec<String>,
    replicas: Vec<String>,
    replacements: Vec<String>,
    config_maps: Vec<String>,
    secrets: Vec<String>,
    other: String,
}

impl Kust {
    fn render(&self) -> String {
        let mut s = String::new();
        for (key, items) in [
            ("patches", &self.patches),
            ("patchesStrategicMerge", &self.smp),
            ("replicas", &self.replicas),
            ("replacements", &self.replacements),
            ("configMapGenerator", &self.config_maps),
            ("secretGenerator", &self.secrets),
        ] {
            if !items.is_empty() {
                let _ = write!(s, "{key}:\n{}", items.concat());
            }
        }
        s.push_str(&self.other);
        s
    }
}

/// Strategic merge patch bodies (after `metadata:`), indented by four spaces.
const SMP_BODIES: &[&str] = &[
    "spec:\n      template:\n        spec:\n          containers:\n          - name: c0\n            image: patched:1\n            env:\n            - name: A\n              value: \"1\"",
    "spec:\n      template:\n        spec:\n          containers:\n          - name: sidecar\n            image: side:2",
    "spec:\n      replicas: null\n      template:\n        metadata:\n          labels:\n            smp: \"yes\"",
    "spec:\n      template:\n        spec:\n          containers:\n          - name: c1\n            $patch: delete",
    "spec:\n      template:\n        spec:\n          volumes:\n          - name: cfg\n            configMap: null\n            emptyDir: {}",
    "spec:\n      template:\n        metadata:\n          annotations:\n            smp: \"on\"\n        spec:\n          initContainers:\n          - name: init\n            image: init:9",
];

/// JSON 6902 targets, each with operations that apply to whatever the target selects.
const JSON_PATCHES: &[(&str, &[&str])] = &[
    (
        "kind: Deployment|StatefulSet",
        &[
            "- op: add\n      path: /spec/replicas\n      value: 5",
            "- op: add\n      path: /spec/template/metadata/labels/patched\n      value: \"1.0\"",
            "- op: copy\n      from: /metadata/name\n      path: /spec/template/metadata/labels/copied",
            "- op: test\n      path: /spec/template/spec/containers/0/name\n      value: c0\n    - op: add\n      path: /spec/template/spec/containers/0/args\n      value: [\"--flag\"]",
        ],
    ),
    (
        "labelSelector: l0=x",
        &[
            "- op: remove\n      path: /metadata/labels/l0",
            "- op: move\n      from: /metadata/labels/l0\n      path: /metadata/labels/moved",
            "- op: add\n      path: /metadata/labels/patched\n      value: \"1.0\"",
            "- op: test\n      path: /metadata/labels/l0\n      value: x\n    - op: replace\n      path: /metadata/labels/l0\n      value: \"yes\"",
        ],
    ),
    (
        "labelSelector: \"l1 in (x, v-2)\"",
        &[
            "- op: add\n      path: /metadata/labels/big\n      value: 12345678901234567890",
            "- op: remove\n      path: /metadata/labels/l1",
        ],
    ),
    (
        "name: web.*",
        &["- op: add\n      path: /metadata/annotations\n      value: {patched: \"1.0\", count: \"3\"}"],
    ),
    (
        "kind: ConfigMap",
        &[
            "- op: add\n      path: /data/extra\n      value: \"multi\\nline\"",
            "- op: add\n      path: /metadata/annotations\n      value: {cm: \"~\"}",
        ],
    ),
    (
        "group: apps\n    version: v1",
        &["- op: add\n      path: /spec/minReadySeconds\n      value: 7"],
    ),
    (
        "annotationSelector: note",
        &["- op: add\n      path: /metadata/annotations/seen\n      value: \"true\""],
    ),
    (
        "kind: Service\n    name: \"[a-z]+[0-9]\"",
        &["- op: replace\n      path: /spec/ports/0/port\n      value: 8443"],
    ),
];

/// Replacement target selectors, each with field paths: a path ending in `+` may be missing
/// and is created, the others exist on every object the selector picks.
const REPLACEMENT_TARGETS: &[(&str, &[&str])] = &[
    (
        "{kind: Deployment}",
        &[
            "spec.template.spec.containers.[name=c0].image",
            "metadata.annotations.copied+",
        ],
    ),
    (
        "{kind: ConfigMap}",
        &["data.k0+", "metadata.annotations.copied+"],
    ),
    (
        "{name: web.*}",
        &[
            "metadata.annotations.copied+",
            "metadata.labels.[app.kubernetes.io/x]+",
        ],
    ),
    (
        "{kind: Service, labelSelector: l0}",
        &["spec.selector.app", "metadata.annotations.copied+"],
    ),
    ("{version: v1}", &["metadata.annotations.copied+"]),
];

/// Transformer fields for one kustomization; `vis` is what it sees (its resources, bases,
/// components and generated objects). A base gets its fixed `prefix`.
fn fields(
    rng: &mut Rng,
    k: &mut Kust,
    vis: &[Obj],
    write: &dyn Fn(&str, &str),
    prefix: Option<&str>,
    bad: Option<Bad>,
) {
    let s = &mut k.other;
    if rng.chance(30) {
        let (target, ops) = JSON_PATCHES[rng.below(JSON_PATCHES.len())];
        let op = ops[rng.below(ops.len())];
        k.patches
            .push(format!("- target:\n    {target}\n  patch: |\n    {op}\n"));
    }
    if rng.chance(40) {
        // A strategic merge patch, by target or by the name of a Deployment this level sees.
        let body = rng.pick(SMP_BODIES);
        let named: Vec<Obj> = unique(vis, "Deployment")
            .into_iter()
            .filter(default_ns)
            .collect();
        let how = if named.is_empty() { 0 } else { rng.below(4) };
        let name = if named.is_empty() {
            String::new()
        } else {
            named[rng.below(named.len())].name.clone()
        };
        let doc = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{}\n",
            body.replace("\n    ", "\n").trim_start_matches("    ")
        );
        let indent =
            |d: &str, by: &str| d.lines().map(|l| format!("{by}{l}\n")).collect::<String>();
        match how {
            0 => k.patches.push(format!(
                "- target:\n    kind: {}\n  patch: |\n{}",
                rng.pick(&[
                    "Deployment",
                    "StatefulSet|DaemonSet",
                    "Deployment|StatefulSet"
                ]),
                indent(&doc.replace("name: \n", "name: any\n"), "    ")
            )),
            1 => k.smp.push(format!("- |\n{}", indent(&doc, "  "))),
            2 => k
                .patches
                .push(format!("- patch: |-\n{}", indent(&doc, "    "))),
            _ => {
                let file = format!("smp{}.yaml", k.patches.len());
                write(&file, &doc);
                k.patches.push(format!("- path: {file}\n"));
            }
        }
    }
    if bad == Some(Bad::PatchMissingObject) {
        k.smp.push(
            "- |\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: absent0\n  spec:\n    replicas: 2\n"
                .to_string(),
        );
    }
    if bad == Some(Bad::RemoveMissingLabel) {
        k.patches.push(
            "- target:\n    name: \".*\"\n  patch: |\n    - op: remove\n      path: /metadata/labels/absent\n"
                .to_string(),
        );
    }
    if rng.chance(15) {
        let _ = write!(
            s,
            "patchesJson6902:\n- target:\n    version: v1\n    kind: ConfigMap\n    name: \"{}\"\n  patch: |\n    - op: add\n      path: /data/extra\n      value: \"x\"\n",
            rng.pick(&["web.*", ".*", "settings.*"])
        );
    }
    if rng.chance(20) {
        // Replica counts for Deployments and StatefulSets the level sees, by original name.
        let mut names: Vec<String> = vis
            .iter()
            .filter(|o| o.kind == "Deployment" || o.kind == "StatefulSet")
            .map(|o| o.name.clone())
            .collect();
        names.dedup();
        for _ in 0..1 + rng.below(2) {
            if names.is_empty() {
                break;
            }
            let name = names.remove(rng.below(names.len()));
            k.replicas
                .push(format!("- name: {name}\n  count: {}\n", rng.below(5)));
        }
    }
    if bad == Some(Bad::ReplicasMissingObject) {
        k.replicas.push("- name: absent0\n  count: 2\n".to_string());
    }
    if rng.chance(25) {
        // A replacement from an object that exactly one source selector picks.
        let mut sources = Vec::new();
        for o in unique(vis, "Service") {
            sources.push(format!("{{kind: Service, name: {}}}", o.name));
        }
        if vis.iter().filter(|o| o.kind == "Service").count() == 1 {
            sources.push("{kind: Service}".to_string());
        }
        for o in unique(vis, "ConfigMap").into_iter().filter(|o| o.k0) {
            sources.push(format!(
                "{{kind: ConfigMap, name: {}, fieldPath: data.k0}}",
                o.name
            ));
        }
        for o in unique(vis, "Deployment") {
            sources.push(format!("{{kind: Deployment, name: {}, fieldPath: spec.template.spec.containers.0.image, options: {{delimiter: ':'}}}}", o.name));
            sources.push(format!(
                "{{kind: Deployment, name: {}, fieldPath: metadata.name}}",
                o.name
            ));
        }
        for o in unique(vis, "Secret") {
            sources.push(format!(
                "{{kind: Secret, name: {}, fieldPath: metadata.name}}",
                o.name
            ));
        }
        if !sources.is_empty() {
            let source = sources[rng.below(sources.len())].clone();
            let mut targets = String::new();
            for _ in 0..1 + rng.below(2) {
                let (select, paths) = REPLACEMENT_TARGETS[rng.below(REPLACEMENT_TARGETS.len())];
                let reject = rng.pick(&[
                    "",
                    "",
                    "    reject:\n    - {kind: ConfigMap, name: settings}\n",
                    "    reject:\n    - {namespace: team-a}\n",
                ]);
                let path = rng.pick(paths);
                // A field every selected object has, or one the replacement creates.
                let options = match path.strip_suffix('+') {
                    Some(_) => rng.pick(&[
                        "    options: {create: true}\n",
                        "    options: {delimiter: '-', index: 1, create: true}\n",
                    ]),
                    None => rng.pick(&[
                        "",
                        "    options: {delimiter: '.', index: -1}\n",
                        "    options: {create: true}\n",
                    ]),
                };
                let path = path.trim_end_matches('+');
                let _ = write!(
                    targets,
                    "  - select: {select}\n{reject}    fieldPaths:\n    - {path}\n{options}"
                );
            }
            k.replacements
                .push(format!("- source: {source}\n  targets:\n{targets}"));
        }
    }
    if bad == Some(Bad::ReplacementSourceMissing) {
        k.replacements.push(
            "- source: {kind: Absent}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data.x]\n"
                .to_string(),
        );
    }
    if rng.chance(40) {
        let _ = writeln!(s, "namespace: {}", rng.pick(&["prod", "team-b", "default"]));
    }
    // kubectl matches kustomization field names as Go's JSON decoding does, case folded.
    let prefix_key = rng.pick(&["namePrefix", "namePrefix", "namePrefix", "nameprefix"]);
    match prefix {
        Some(p) => {
            let _ = writeln!(s, "{prefix_key}: {p}");
        }
        None if rng.chance(40) => {
            let _ = writeln!(
                s,
                "{prefix_key}: {}",
                rng.pick(&["p-", "x-", "long-prefix-"])
            );
        }
        None => {}
    }
    if rng.chance(30) {
        let key = rng.pick(&["nameSuffix", "nameSuffix", "NAMESUFFIX"]);
        let _ = writeln!(s, "{key}: {}", rng.pick(&["-s", "-v2"]));
    }
    if rng.chance(15) {
        // Transformer configurations: extra field specs, some for one kind, which hide the
        // kind-less built-in spec on the same path.
        let tables = [
            "namePrefix:\n- kind: ConfigMap\n  path: data/prefixed\n  create: true\n",
            "nameSuffix:\n- kind: Deployment\n  path: metadata/name\n",
            "commonLabels:\n- kind: Deployment\n  path: metadata/labels\n  create: true\n",
            "commonLabels:\n- kind: ConfigMap\n  path: data\n  create: true\n",
            "labels:\n- kind: Deployment\n  path: spec/template/metadata/annotations\n  create: true\n",
            "templateLabels:\n- kind: Service\n  path: spec/selector\n  create: true\n",
            "commonAnnotations:\n- kind: ConfigMap\n  path: data\n  create: true\n",
            "namespace:\n- kind: ConfigMap\n  path: data/ns\n  create: true\n",
            "replicas:\n- kind: ConfigMap\n  path: data/replicas\n  create: true\n",
            "images:\n- kind: ConfigMap\n  path: data/image\n",
        ];
        let mut text = String::new();
        for _ in 0..1 + rng.below(2) {
            let t = tables[rng.below(tables.len())];
            let key = &t[..t.find(':').expect("key")];
            if !text.contains(&format!("{key}:")) {
                text.push_str(t);
            }
        }
        write("transformer-config.yaml", &text);
        s.push_str("configurations: [transformer-config.yaml]\n");
    }
    if rng.chance(15) {
        // Builtin plugin configs under `transformers:`, in a file or inline (inline ones run
        // first, as kustomize loads them).
        let deployments: Vec<Obj> = unique(vis, "Deployment")
            .into_iter()
            .filter(default_ns)
            .collect();
        let mut docs = Vec::new();
        for i in 0..1 + rng.below(2) {
            let doc = match rng.below(7) {
                0 => format!("apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l{i}\nlabels:\n  plug: {}\nfieldSpecs:\n- path: metadata/labels\n  create: true\n", json(rng.pick(&["x", "yes", "1"]))),
                1 => format!("apiVersion: builtin\nkind: AnnotationsTransformer\nmetadata:\n  name: a{i}\nannotations:\n  plug-note: {}\nfieldSpecs:\n- path: metadata/annotations\n  create: true\n", json(rng.pick(VALUES))),
                2 => format!(
                    "apiVersion: builtin\nkind: NamespaceTransformer\nmetadata:\n  name: n{i}\n  namespace: plugged\nunsetOnly: {}\nsetRoleBindingSubjects: {}\nfieldSpecs:\n- path: metadata/namespace\n  create: true\n",
                    rng.chance(70),
                    rng.pick(&["defaultOnly", "none", "allServiceAccounts", "\"\""])
                ),
                3 => format!("apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: ps{i}\nprefix: pp-\nsuffix: -ss\nfieldSpecs:\n- path: metadata/name\n"),
                4 => format!("apiVersion: builtin\nkind: HashTransformer\nmetadata:\n  name: h{i}\n"),
                5 => format!(
                    "apiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata:\n  name: j{i}\ntarget:\n  kind: ConfigMap\n  name: \"{}\"\njsonOp: '[{{\"op\": \"add\", \"path\": \"/data/plugged\", \"value\": \"x\"}}]'\n",
                    rng.pick(&["web.*", ".*", "settings.*"])
                ),
                _ if !deployments.is_empty() => {
                    let o = &deployments[rng.below(deployments.len())];
                    let body = rng.pick(SMP_BODIES).replace("\n    ", "\n  ");
                    format!(
                        "apiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata:\n  name: s{i}\npatches: |-\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: {}\n  {}\n",
                        o.name,
                        body.trim_start_matches("    ")
                    )
                }
                _ => continue,
            };
            docs.push(doc);
        }
        if !docs.is_empty() {
            if rng.chance(50) {
                write("plugin-transformers.yaml", &docs.join("---\n"));
                s.push_str("transformers: [plugin-transformers.yaml]\n");
            } else {
                s.push_str("transformers:\n");
                for doc in &docs {
                    let body: String = doc.lines().map(|l| format!("  {l}\n")).collect();
                    let _ = write!(s, "- |-\n{body}");
                }
            }
        }
    }
    if rng.chance(35) {
        let _ = writeln!(
            s,
            "commonLabels:\n  team: {}",
            json(rng.pick(&["a", "yes", "1.0"]))
        );
    }
    if rng.chance(30) {
        let _ = writeln!(s, "commonAnnotations:\n  note: {}", json(rng.pick(VALUES)));
    }
    if rng.chance(40) {
        s.push_str("labels:\n");
        for i in 0..1 + rng.below(2) {
            let include = rng.pick(&[
                "",
                "  includeSelectors: true\n",
                "  includeTemplates: true\n",
                "  includeSelectors: false\n  includeTemplates: true\n",
            ]);
            let _ = write!(
                s,
                "- pairs:\n    {}: {}\n{include}",
                ["env", "tier"][i],
                json(rng.pick(&["dev", "on", "1"]))
            );
        }
    }
    if rng.chance(40) {
        s.push_str("images:\n");
        let mut names = vec![
            "nginx",
            "docker.io/library/redis",
            "busybox",
            "ghcr.io/org/app",
            "patched",
        ];
        for _ in 0..1 + rng.below(2) {
            let name = names.remove(rng.below(names.len()));
            let _ = writeln!(s, "- name: {name}");
            match rng.below(5) {
                0 => s.push_str("  newTag: \"2.0\"\n"),
                1 => s.push_str("  newName: mirror.local/img\n"),
                2 => s.push_str("  digest: sha256:feed\n"),
                3 => s.push_str("  newName: mirror.local:5000/img\n  digest: sha256:beef\n"),
                _ => s.push_str("  newName: mirror.local/img\n  newTag: v3\n"),
            }
        }
    }
}

/// Generator fields (and the files they read, written through `write`); generated objects are
/// added to `vis`.
fn generators(
    rng: &mut Rng,
    k: &mut Kust,
    vis: &mut Vec<Obj>,
    write: &dyn Fn(&str, &str),
    bad: Option<Bad>,
) {
    let options = |rng: &mut Rng| match rng.below(5) {
        0 => "  options:\n    disableNameSuffixHash: true\n".to_string(),
        1 => format!(
            "  options:\n    labels:\n      gen: {}\n    immutable: true\n",
            json(rng.pick(&["a", "yes"]))
        ),
        2 => format!(
            "  options:\n    annotations:\n      gen-note: {}\n",
            json(rng.pick(VALUES))
        ),
        // Local config: serves the build, then kubectl leaves it out of the output.
        3 if rng.chance(30) => format!(
            "  options:\n    annotations:\n      config.kubernetes.io/local-config: {}\n",
            json(rng.pick(&["true", "false", "yes"]))
        ),
        _ => String::new(),
    };
    // A name no object of `kind` has yet (created), or one to merge into or replace.
    let pick_name = |rng: &mut Rng, vis: &[Obj], kind: &str, fresh: &[&str]| {
        let into: Vec<Obj> = unique(vis, kind)
            .into_iter()
            .filter(|o| default_ns(o) && o.mergeable && o.name != "tls")
            .collect();
        if !into.is_empty() && rng.chance(35) {
            let o = &into[rng.below(into.len())];
            return Some((o.name.clone(), rng.pick(&["merge", "replace"])));
        }
        let free: Vec<&str> = fresh
            .iter()
            .copied()
            .filter(|n| count(vis, kind, n) == 0)
            .collect();
        if free.is_empty() {
            return None;
        }
        Some((free[rng.below(free.len())].to_string(), "create"))
    };
    if rng.chance(45) {
        if let Some((name, behavior)) =
            pick_name(rng, vis, "ConfigMap", &["settings", "web0", "db1", "cfg"])
        {
            let line = match behavior {
                "create" if rng.chance(70) => String::new(),
                b => format!("  behavior: {b}\n"),
            };
            write("data.txt", rng.pick(VALUES));
            write(
                "vars.env",
                &format!(
                    "# comment\n\nA_KEY={}\nB.key=two words\n",
                    rng.pick(&["1", "yes", "x=y"])
                ),
            );
            k.config_maps.push(format!(
                "- name: {name}\n{line}  literals:\n  - {}\n  files:\n  - data.txt\n  - other=data.txt\n  envs:\n  - vars.env\n{}",
                json(&format!("lit={}", rng.pick(VALUES))),
                options(rng)
            ));
            match behavior {
                "create" => vis.push(Obj {
                    kind: "ConfigMap",
                    name,
                    ns: "",
                    k0: false,
                    mergeable: true,
                }),
                "replace" => {
                    for o in vis.iter_mut() {
                        if o.kind == "ConfigMap" && o.name == name {
                            o.k0 = false;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if bad == Some(Bad::MergeMissingConfigMap) {
        k.config_maps
            .push("- name: absent\n  behavior: merge\n  literals: [a=b]\n".to_string());
    }
    if bad == Some(Bad::DuplicateGenerator) {
        k.config_maps
            .push("- name: dup\n  literals: [a=b]\n- name: dup\n  literals: [c=d]\n".to_string());
    }
    if rng.chance(35) {
        if let Some((name, behavior)) = pick_name(rng, vis, "Secret", &["creds", "api1", "tls"]) {
            let line = if behavior == "create" {
                String::new()
            } else {
                format!("  behavior: {behavior}\n")
            };
            let body = if name == "tls" && behavior == "create" {
                "  type: kubernetes.io/tls\n  literals:\n  - tls.crt=CERT\n  - tls.key=KEY\n"
                    .to_string()
            } else {
                format!(
                    "  literals:\n  - {}\n  - {}\n",
                    json(&format!("password={}", rng.pick(VALUES))),
                    json(&format!("long={}", "x".repeat(rng.below(120))))
                )
            };
            k.secrets
                .push(format!("- name: {name}\n{line}{body}{}", options(rng)));
            if behavior == "create" {
                vis.push(Obj {
                    kind: "Secret",
                    name,
                    ns: "",
                    k0: false,
                    mergeable: true,
                });
            }
        }
    }
    if rng.chance(20) {
        // Builtin generator configs under `generators:` (no global generatorOptions).
        let mut docs = Vec::new();
        if let Some((name, _)) = pick_name(rng, vis, "ConfigMap", &["plugged-cm", "pcm1"])
            .filter(|(_, b)| *b == "create")
        {
            docs.push(format!(
                "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: {name}\nliterals:\n- {}\n{}",
                json(&format!("k={}", rng.pick(VALUES))),
                options(rng).replace("\n  ", "\n").trim_start_matches("  ")
            ));
            vis.push(Obj {
                kind: "ConfigMap",
                name,
                ns: "",
                k0: false,
                mergeable: true,
            });
        }
        if let Some((name, _)) =
            pick_name(rng, vis, "Secret", &["plugged-s"]).filter(|(_, b)| *b == "create")
        {
            docs.push(format!(
                "apiVersion: builtin\nkind: SecretGenerator\nmetadata:\n  name: ignored\nname: {name}\nliterals:\n- {}\n",
                json(&format!("p={}", rng.pick(VALUES)))
            ));
            vis.push(Obj {
                kind: "Secret",
                name,
                ns: "",
                k0: false,
                mergeable: true,
            });
        }
        if !docs.is_empty() {
            write("plugin-generators.yaml", &docs.join("---\n"));
            k.other.push_str("generators: [plugin-generators.yaml]\n");
        }
    }
    if rng.chance(20) {
        let _ = write!(
            k.other,
            "generatorOptions:\n  disableNameSuffixHash: {}\n  labels:\n    global: g\n{}",
            rng.chance(50),
            if rng.chance(50) {
                "  annotations:\n    global-note: \"yes\"\n"
            } else {
                ""
            }
        );
    }
}

/// Writes the resources of one level under `sub` (names numbered from `first`, so a component's
/// objects do not collide with its overlay's), adds them to `vis`, returns their files.
fn level_resources(
    rng: &mut Rng,
    write: &dyn Fn(&str, &str),
    sub: &str,
    first: usize,
    vis: &mut Vec<Obj>,
) -> Vec<String> {
    let n = 1 + rng.below(3);
    let mut has_namespace = vis.iter().any(|o| o.kind == "Namespace");
    let planned: Vec<(&'static str, String, &'static str)> = (0..n)
        .map(|i| {
            let mut kind = KINDS[rng.below(KINDS.len())];
            // Two Namespaces may become one under a `namespace:` field (an ID conflict).
            if kind == "Namespace" && has_namespace {
                kind = "ConfigMap";
            }
            has_namespace |= kind == "Namespace";
            let name = format!("{}{}", rng.pick(NAMES), first + i);
            let ns = if rng.chance(30) {
                rng.pick(&["team-a", "default", "x"])
            } else {
                ""
            };
            (kind, name, ns)
        })
        .collect();
    let pool: Vec<String> = vis
        .iter()
        .map(|o| o.name.clone())
        .chain(planned.iter().map(|p| p.1.clone()))
        .collect();
    let mut files = Vec::new();
    for (i, (kind, name, ns)) in planned.into_iter().enumerate() {
        let file = format!("r{i}.yaml");
        let text = resource(rng, &pool, kind, &name, ns);
        write(&format!("{sub}/{file}"), &text);
        // Left out: a null-like text copied into a created annotation reads back as "null"
        // after a later generator merge in kubectl (native keeps "~").
        let null_like = ["k0: \"~\"", "k0: \"null\"", "k0: \"\""]
            .iter()
            .any(|t| text.contains(t));
        files.push(file);
        vis.push(Obj {
            kind,
            name,
            ns,
            k0: kind == "ConfigMap" && !null_like,
            mergeable: true,
        });
    }
    files
}

/// Schema files for `openapi`: Deployments' containers (and their env) merged by name;
/// containers merged by image; or Widgets cluster-scoped by the schema's `paths` and
/// Deployments' pod template a `$ref` into the built-in definitions (which resolves only when
/// the built-in schema is read too). Each replaces the built-in schema for every other kind.
const SCHEMAS: &[&str] = &[
    r##"{"definitions": {"d": {"x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}], "properties": {"spec": {"properties": {"template": {"$ref": "#/definitions/t"}}}}}, "t": {"properties": {"spec": {"properties": {"containers": {"type": "array", "items": {"properties": {"env": {"type": "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}, "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}}}}}
"##,
    "definitions:
  d:
    x-kubernetes-group-version-kind:
    - {group: apps, version: v1, kind: Deployment}
    - {group: apps, version: v1, kind: DaemonSet}
    properties:
      spec:
        properties:
          template:
            properties:
              spec:
                properties:
                  containers:
                    type: array
                    x-kubernetes-patch-strategy: merge
                    x-kubernetes-patch-merge-key: image
",
    "swagger: \"2.0\"
paths:
  /apis/example.com/v1/widgets/{name}:
    get:
      x-kubernetes-group-version-kind: {group: example.com, version: v1, kind: Widget}
definitions:
  d:
    x-kubernetes-group-version-kind:
    - {group: apps, version: v1, kind: Deployment}
    properties:
      spec:
        properties:
          template:
            $ref: \"#/definitions/io.k8s.api.core.v1.PodTemplateSpec\"
",
];

/// Sometimes an `openapi` field: a schema file, or the one built-in version.
fn openapi(rng: &mut Rng, k: &mut Kust, write: &dyn Fn(&str, &str)) {
    if !rng.chance(10) {
        return;
    }
    if rng.chance(20) {
        k.other.push_str("openapi:\n  version: v1.21.2\n");
        return;
    }
    let (file, text) = match rng.below(SCHEMAS.len()) {
        0 => ("schema.json", SCHEMAS[0]),
        i => ("schema.yaml", SCHEMAS[i]),
    };
    write(file, text);
    let _ = writeln!(k.other, "openapi:\n  path: {file}");
}

/// Writes one random tree under `dir` and returns the directory to build.
fn write_case(rng: &mut Rng, dir: &Path) -> (PathBuf, Option<Bad>) {
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    let bad = rng.chance(BAD_PERCENT).then(|| BADS[rng.below(BADS.len())]);
    let mut seen = Vec::new();
    let mut resources = Vec::new();
    for b in 0..rng.below(3) {
        let sub = format!("base{b}");
        let in_sub = |rel: &str, text: &str| write(&format!("{sub}/{rel}"), text);
        let mut vis = Vec::new();
        let files = level_resources(rng, &write, &sub, 0, &mut vis);
        let mut k = Kust::default();
        generators(rng, &mut k, &mut vis, &in_sub, None);
        fields(rng, &mut k, &vis, &in_sub, Some(&format!("b{b}-")), None);
        openapi(rng, &mut k, &in_sub);
        write(
            &format!("{sub}/kustomization.yaml"),
            &format!("resources: [{}]\n{}", files.join(", "), k.render()),
        );
        seen.extend(vis);
        resources.push(format!("../{sub}"));
    }
    let mut files = level_resources(rng, &write, "overlay", 0, &mut seen);
    if bad == Some(Bad::DuplicateResource) {
        files.push(files[0].clone());
    }
    files.append(&mut resources);
    let mut k = Kust::default();
    if rng.chance(30) {
        // A component sees the overlay's resources and bases, and runs before its generators.
        let in_comp = |rel: &str, text: &str| write(&format!("comp/{rel}"), text);
        let comp_files = level_resources(rng, &write, "comp", 3, &mut seen);
        let mut c = Kust::default();
        let before = seen.len();
        generators(rng, &mut c, &mut seen, &in_comp, None);
        seen[before..].iter_mut().for_each(|o| o.mergeable = false);
        fields(rng, &mut c, &seen, &in_comp, None, None);
        write(
            "comp/kustomization.yaml",
            &format!(
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [{}]\n{}",
                comp_files.join(", "),
                c.render()
            ),
        );
        k.other.push_str("components: [../comp]\n");
    }
    let in_overlay = |rel: &str, text: &str| write(&format!("overlay/{rel}"), text);
    generators(rng, &mut k, &mut seen, &in_overlay, bad);
    fields(rng, &mut k, &seen, &in_overlay, None, bad);
    openapi(rng, &mut k, &in_overlay);
    if rng.chance(15) {
        k.other.push_str(rng.pick(&[
            "buildMetadata: [originAnnotations]\n",
            "buildMetadata: [transformerAnnotations]\n",
            "buildMetadata: [originAnnotations, transformerAnnotations]\n",
            "buildMetadata: [managedByLabel, transformerAnnotations, originAnnotations]\n",
        ]));
    }
    if rng.chance(15) {
        k.other.push_str(rng.pick(&[
            "sortOptions:\n  order: fifo\n",
            "sortOptions:\n  order: legacy\n",
            "sortOptions:\n  order: legacy\n  legacySortOptions:\n    orderFirst: [Deployment, Namespace]\n    orderLast: [ConfigMap]\n",
        ]));
    }
    write(
        "overlay/kustomization.yaml",
        &format!("resources: [{}]\n{}", files.join(", "), k.render()),
    );
    (PathBuf::from(dir).join("overlay"), bad)
}

#[test]
fn random_kustomizations_match_kubectl() {
    let Some(kubectl) = find_kubectl() else {
        println!("SKIP: kubectl not found on PATH or in ~/.cache/gitops-peers/bin");
        return;
    };
    let seed: u64 = std::env::var("FERRY_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261123);
    let cases: usize = std::env::var("FERRY_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut rng = Rng(seed);
    let (mut same, mut both_failed) = (0, 0);
    let mut failures = Vec::new();
    for case in 0..cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let (root, bad) = write_case(&mut rng, dir.path());
        let out = Command::new(&kubectl)
            .arg("kustomize")
            .arg(&root)
            .output()
            .expect("run kubectl");
        let native = ferry::render::kustomize_native::build(&root);
        match (out.status.success(), native) {
            (true, Ok(got)) if got.as_bytes() == out.stdout.as_slice() => same += 1,
            (false, Err(e)) => {
                both_failed += 1;
                if std::env::var_os("FERRY_DIFF_VERBOSE").is_some() {
                    println!(
                        "case {case}: both refused ({}); ferry: {e}\n  kubectl: {}",
                        bad.map_or("by accident".to_string(), |b| format!("on purpose: {b:?}")),
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
            }
            (true, Ok(got)) => {
                let want = String::from_utf8_lossy(&out.stdout);
                let line = want
                    .lines()
                    .zip(got.lines())
                    .position(|(w, g)| w != g)
                    .unwrap_or(0);
                failures.push(format!(
                    "case {case}: output differs at line {} (kept in {}):\n  want {:?}\n  got  {:?}",
                    line + 1,
                    dir.keep().display(),
                    want.lines().nth(line).unwrap_or(""),
                    got.lines().nth(line).unwrap_or("")
                ));
            }
            (true, Err(e)) => failures.push(format!(
                "case {case}: native failed, kubectl did not (kept in {}): {e}",
                dir.keep().display()
            )),
            (false, Ok(_)) => failures.push(format!(
                "case {case}: kubectl failed, native did not (kept in {}): {}",
                dir.keep().display(),
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
    println!(
        "seed {seed}: {same} identical, {both_failed} refused by both, {} different, of {cases}",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
