//! Randomised differential test: small random kustomization trees (resources of many kinds,
//! nested bases, a component, namespaces, prefixes, suffixes, labels, annotations, images)
//! built by `kubectl kustomize` and natively, compared byte for byte; when kubectl refuses a
//! tree, the native build must refuse it too. A fixed seed keeps runs reproducible:
//! `FERRY_DIFF_SEED` and `FERRY_DIFF_CASES` (default 30) change them. Skips without kubectl.

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

/// splitmix64: small, seedable, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
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

/// A name that may or may not be one of the tree's objects, to exercise name references.
fn reference(rng: &mut Rng) -> String {
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

fn pod_spec(rng: &mut Rng, indent: &str) -> String {
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
        let _ = writeln!(s, "{indent}serviceAccountName: {}", reference(rng));
    }
    if rng.chance(50) {
        let _ = write!(
            s,
            "{indent}volumes:\n{indent}- name: cfg\n{indent}  configMap:\n{indent}    name: {}\n{indent}- name: sec\n{indent}  secret:\n{indent}    secretName: {}\n{indent}- name: data\n{indent}  persistentVolumeClaim:\n{indent}    claimName: {}\n",
            reference(rng),
            reference(rng),
            reference(rng)
        );
    }
    s
}

fn resource(rng: &mut Rng, kind: &str, name: &str) -> String {
    let ns = if rng.chance(30) {
        format!("\n  namespace: {}", rng.pick(&["team-a", "default", "x"]))
    } else {
        String::new()
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
            pod_spec(rng, "      ")
        ),
        "StatefulSet" => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\n{meta}spec:\n  serviceName: {name}\n  selector:\n    matchLabels: {sel}\n  template:\n    metadata:\n      labels: {sel}\n    spec:\n{}  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      resources: {{requests: {{storage: 1Gi}}}}\n",
            pod_spec(rng, "      ")
        ),
        "CronJob" => format!(
            "apiVersion: batch/v1\nkind: CronJob\n{meta}spec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n{}",
            pod_spec(rng, "          ")
        ),
        "Job" => format!("apiVersion: batch/v1\nkind: Job\n{meta}spec:\n  template:\n    spec:\n{}", pod_spec(rng, "      ")),
        "Service" => format!("apiVersion: v1\nkind: Service\n{meta}spec:\n  selector: {sel}\n  ports:\n  - port: {}\n", 80 + rng.below(9000)),
        "ServiceAccount" => format!("apiVersion: v1\nkind: ServiceAccount\n{meta}"),
        "ClusterRole" => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n{meta}rules: []\n"),
        "Namespace" => format!("apiVersion: v1\nkind: Namespace\n{meta}"),
        "Secret" => format!("apiVersion: v1\nkind: Secret\n{meta}type: Opaque\nstringData:\n  k: {}\n", json(rng.pick(VALUES))),
        "PersistentVolumeClaim" => format!("apiVersion: v1\nkind: PersistentVolumeClaim\n{meta}spec:\n  resources: {{requests: {{storage: 1Gi}}}}\n"),
        "Role" => format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n{meta}rules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  resourceNames: [{}]\n  verbs: [get]\n", reference(rng)),
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = if kind == "RoleBinding" { rng.pick(&["Role", "ClusterRole"]) } else { "ClusterRole" };
            let ns = if rng.chance(50) { format!("\n  namespace: {}", rng.pick(&["team-a", "prod"])) } else { String::new() };
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n{meta}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {}\nsubjects:\n- kind: ServiceAccount\n  name: {}{ns}\n- kind: ServiceAccount\n  name: default\n",
                reference(rng),
                reference(rng)
            )
        }
        "HorizontalPodAutoscaler" => format!(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n{meta}spec:\n  maxReplicas: 3\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: {}\n    name: {}\n",
            rng.pick(&["Deployment", "StatefulSet"]),
            reference(rng)
        ),
        "Ingress" => format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\n{meta}spec:\n  tls:\n  - secretName: {}\n  rules:\n  - http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {}\n            port: {{number: 80}}\n",
            reference(rng),
            reference(rng)
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

/// Transformer fields for one kustomization.
fn fields(rng: &mut Rng) -> String {
    let mut s = String::new();
    let mut patches: Vec<String> = Vec::new();
    if rng.chance(25) {
        let target = rng.pick(&[
            "kind: Deployment|StatefulSet",
            "kind: ConfigMap",
            "labelSelector: l0=x",
            "labelSelector: \"l1 in (x, v-2)\"",
            "name: web.*",
            "group: apps\n    version: v1",
        ]);
        let op = rng.pick(&[
            "- op: add\n      path: /metadata/labels/patched\n      value: \"1.0\"",
            "- op: replace\n      path: /spec/replicas\n      value: 5",
            "- op: remove\n      path: /metadata/labels/l0",
            "- op: add\n      path: /metadata/labels/big\n      value: 12345678901234567890",
        ]);
        patches.push(format!("- target:\n    {target}\n  patch: |\n    {op}\n"));
    }
    if rng.chance(30) {
        // A strategic merge patch, by target or by its own name.
        let body = rng.pick(&[
            "spec:\n      template:\n        spec:\n          containers:\n          - name: c0\n            image: patched:1\n            env:\n            - name: A\n              value: \"1\"",
            "spec:\n      template:\n        spec:\n          containers:\n          - name: sidecar\n            image: side:2",
            "spec:\n      replicas: null\n      template:\n        metadata:\n          labels:\n            smp: \"yes\"",
            "spec:\n      template:\n        spec:\n          containers:\n          - name: c1\n            $patch: delete",
            "spec:\n      template:\n        spec:\n          volumes:\n          - name: cfg\n            configMap: null\n            emptyDir: {}",
        ]);
        match rng.below(2) {
            0 => {
                patches.push(format!(
                    "- target:\n    kind: {}\n  patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    {body}\n",
                    rng.pick(&["Deployment", "StatefulSet|DaemonSet", "Deployment|StatefulSet"])
                ));
            }
            _ => {
                let _ = write!(
                    s,
                    "patchesStrategicMerge:\n- |\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: {}\n  {}\n",
                    reference(rng),
                    body.replace("\n    ", "\n  ")
                );
            }
        }
    }
    if !patches.is_empty() {
        let _ = write!(s, "patches:\n{}", patches.concat());
    }
    if rng.chance(15) {
        let _ = write!(
            s,
            "patchesJson6902:\n- target:\n    version: v1\n    kind: ConfigMap\n    name: \"{}\"\n  patch: |\n    - op: add\n      path: /data/extra\n      value: \"x\"\n",
            rng.pick(&["web.*", ".*", "settings.*"])
        );
    }
    if rng.chance(8) {
        let _ = writeln!(
            s,
            "replicas:\n- name: {}0\n  count: {}",
            rng.pick(&["web", "db", "api"]),
            rng.below(5)
        );
    }
    if rng.chance(15) {
        // One replacement: sources that may select none or several objects, target fields that
        // may be missing, delimiters and creation (kubectl must refuse what native refuses).
        let source = rng.pick(&[
            "{kind: Service}",
            "{kind: ConfigMap, fieldPath: data.k0}",
            "{kind: Deployment, fieldPath: spec.template.spec.containers.0.image, options: {delimiter: ':', index: 1}}",
            "{kind: Deployment, fieldPath: spec.replicas}",
            "{kind: Secret, fieldPath: metadata.name}",
        ]);
        let select = rng.pick(&[
            "{kind: Deployment}",
            "{kind: ConfigMap}",
            "{name: web.*}",
            "{kind: Service, labelSelector: l0}",
        ]);
        let path = rng.pick(&[
            "metadata.annotations.copied",
            "metadata.annotations.copied",
            "spec.template.spec.containers.[name=c0].image",
            "data.k0",
            "spec.ports.0.name",
            "metadata.labels.[app.kubernetes.io/x]",
            "spec.replicas",
        ]);
        let options = rng.pick(&[
            "",
            "    options: {create: true}\n",
            "    options: {create: true}\n",
            "    options: {delimiter: '-', index: 1, create: true}\n",
            "    options: {delimiter: '.', index: -1}\n",
        ]);
        let _ = write!(
            s,
            "replacements:\n- source: {source}\n  targets:\n  - select: {select}\n    fieldPaths:\n    - {path}\n{options}"
        );
    }
    if rng.chance(40) {
        let _ = writeln!(s, "namespace: {}", rng.pick(&["prod", "team-b", "default"]));
    }
    if rng.chance(40) {
        let _ = writeln!(s, "namePrefix: {}", rng.pick(&["p-", "x-", "long-prefix-"]));
    }
    if rng.chance(30) {
        let _ = writeln!(s, "nameSuffix: {}", rng.pick(&["-s", "-v2"]));
    }
    if rng.chance(40) {
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
        let include = rng.pick(&[
            "",
            "  includeSelectors: true\n",
            "  includeTemplates: true\n",
        ]);
        let _ = write!(
            s,
            "labels:\n- pairs:\n    env: {}\n{include}",
            json(rng.pick(&["dev", "on"]))
        );
    }
    if rng.chance(40) {
        let _ = write!(
            s,
            "images:\n- name: {}\n",
            rng.pick(&[
                "nginx",
                "docker.io/library/redis",
                "busybox",
                "ghcr.io/org/app"
            ])
        );
        match rng.below(4) {
            0 => s.push_str("  newTag: \"2.0\"\n"),
            1 => s.push_str("  newName: mirror.local/img\n"),
            2 => s.push_str("  digest: sha256:feed\n"),
            _ => s.push_str("  newName: mirror.local/img\n  newTag: v3\n"),
        }
    }
    s
}

/// Generator fields (and the files they read, written through `write`).
fn generators(rng: &mut Rng, write: &dyn Fn(&str, &str), overlay: bool) -> String {
    let mut s = String::new();
    let options = |rng: &mut Rng| match rng.below(4) {
        0 => "  options:\n    disableNameSuffixHash: true\n".to_string(),
        1 => format!(
            "  options:\n    labels:\n      gen: {}\n    immutable: true\n",
            json(rng.pick(&["a", "yes"]))
        ),
        _ => String::new(),
    };
    if rng.chance(40) {
        let behavior = if overlay && rng.chance(40) {
            rng.pick(&["  behavior: merge\n", "  behavior: replace\n"])
        } else {
            ""
        };
        write("data.txt", rng.pick(VALUES));
        write(
            "vars.env",
            &format!(
                "# comment\n\nA_KEY={}\nB.key=two words\n",
                rng.pick(&["1", "yes", "x=y"])
            ),
        );
        let _ = write!(
            s,
            "configMapGenerator:\n- name: {}\n{behavior}  literals:\n  - {}\n  files:\n  - data.txt\n  - other=data.txt\n  envs:\n  - vars.env\n{}",
            rng.pick(&["settings", "web0", "db1"]),
            json(&format!("lit={}", rng.pick(VALUES))),
            options(rng)
        );
    }
    if rng.chance(30) {
        let _ = write!(
            s,
            "secretGenerator:\n- name: {}\n  literals:\n  - {}\n  - {}\n{}",
            rng.pick(&["creds", "api1"]),
            json(&format!("password={}", rng.pick(VALUES))),
            json(&format!("long={}", "x".repeat(rng.below(120)))),
            options(rng)
        );
    }
    if rng.chance(20) {
        let _ = write!(
            s,
            "generatorOptions:\n  disableNameSuffixHash: {}\n  labels:\n    global: g\n",
            rng.chance(50)
        );
    }
    s
}

/// Writes one random tree under `dir` and returns the directory to build.
fn write_case(rng: &mut Rng, dir: &Path) -> PathBuf {
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    let level = |rng: &mut Rng, sub: &str, extra: &str, kind: &str| {
        let mut res = Vec::new();
        for i in 0..1 + rng.below(3) {
            let kind_name = rng.pick(KINDS);
            let name = format!("{}{i}", rng.pick(NAMES));
            let file = format!("r{i}.yaml");
            write(&format!("{sub}/{file}"), &resource(rng, kind_name, &name));
            res.push(file);
        }
        let mut k = kind.to_string();
        let _ = writeln!(
            k,
            "resources: [{}]",
            res.iter()
                .chain(
                    extra
                        .split(',')
                        .filter(|e| !e.is_empty())
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .iter()
                )
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        k.push_str(&fields(rng));
        k.push_str(&generators(
            rng,
            &|rel: &str, text: &str| write(&format!("{sub}/{rel}"), text),
            !sub.starts_with("base"),
        ));
        k
    };
    let bases = rng.below(3);
    let mut extra = Vec::new();
    for b in 0..bases {
        let k = level(rng, &format!("base{b}"), "", "");
        write(
            &format!("base{b}/kustomization.yaml"),
            &format!("{k}namePrefix: b{b}-\n"),
        );
        extra.push(format!("../base{b}"));
    }
    let mut root = level(rng, "overlay", &extra.join(","), "");
    if rng.chance(30) {
        let comp = level(
            rng,
            "comp",
            "",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
        );
        write("comp/kustomization.yaml", &comp);
        root.push_str("components: [../comp]\n");
    }
    write("overlay/kustomization.yaml", &root);
    dir.join("overlay")
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
        let root = write_case(&mut rng, dir.path());
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
                    println!("case {case}: both refused; ferry: {e}");
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
