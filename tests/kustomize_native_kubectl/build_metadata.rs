//! Issue 18: `buildMetadata: [originAnnotations, transformerAnnotations]`: the origin of
//! every object (its file, or the generator and the kustomization configuring it) and every
//! transformer each level configures, recorded on the objects the level holds, through
//! bases, components, generators and plugin configs.

use super::complete::Case;

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
const OWN: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: li}\n";
const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: nginx}\n";

pub fn builds() -> Vec<Case> {
    vec![
        Case {
            name: "build-metadata-origin-and-transformer-annotations",
            files: vec![
                ("kustomization.yaml", "resources: [base, own.yaml]\ncomponents: [comp]\nnamespace: ns\nnameSuffix: -x\ncommonAnnotations: {a: b}\npatches: [{patch: \"[{\\\"op\\\": \\\"add\\\", \\\"path\\\": \\\"/data\\\", \\\"value\\\": {}}]\", target: {kind: ConfigMap}}]\nbuildMetadata: [originAnnotations, transformerAnnotations]\nconfigMapGenerator: [{name: g, literals: [x=y]}]\nimages: [{name: nginx, newTag: \"2\"}, {name: busybox, newTag: \"1\"}]\nreplicas: [{name: web, count: 2}]\n"),
                ("own.yaml", OWN),
                ("base/kustomization.yaml", "resources: [r.yaml, d.yaml]\nnamePrefix: b-\nconfigMapGenerator: [{name: bg, literals: [a=b]}]\ncommonLabels: {team: t}\n"),
                ("base/r.yaml", CM),
                ("base/d.yaml", DEPLOY),
                ("comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels: [{pairs: {c: d}}]\nsecretGenerator: [{name: cs, literals: [a=b]}]\n"),
            ],
        },
        Case {
            // Plugin configs: generated objects take the config as origin, transformers
            // record it (with its name); transformer annotations alone, with managedByLabel.
            name: "build-metadata-plugin-configs",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nbuildMetadata: [transformerAnnotations, managedByLabel]\ngenerators:\n- g.yaml\n- |-\n  apiVersion: builtin\n  kind: SecretGenerator\n  metadata:\n    name: inline\n  literals: [k=v]\ntransformers:\n- t.yaml\n- |-\n  apiVersion: builtin\n  kind: AnnotationsTransformer\n  metadata:\n    name: ann\n  annotations: {x: y}\n  fieldSpecs: [{path: metadata/annotations, create: true}]\npatchesStrategicMerge:\n- |-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    p: q\n"),
                ("r.yaml", CM),
                ("g.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: gen\n  namespace: gns\nliterals: [a=b]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: lab\nlabels: {l: m}\nfieldSpecs: [{path: metadata/labels, create: true}]\n"),
            ],
        },
        Case {
            // Found by the random differential test: origins live in the annotations during
            // the build, so a JSON patch replacing them drops the origin and the next
            // transformer becomes it.
            name: "build-metadata-annotations-replaced-by-a-patch",
            files: vec![
                ("kustomization.yaml", "resources: [base]\nbuildMetadata: [originAnnotations, transformerAnnotations]\npatches:\n- target: {kind: ConfigMap}\n  patch: |\n    - op: add\n      path: /metadata/annotations\n      value: {patched: \"1\"}\ncommonAnnotations: {note: x}\n"),
                ("base/kustomization.yaml", "resources: [r.yaml]\ncommonLabels: {a: b}\n"),
                ("base/r.yaml", CM),
            ],
        },
        Case {
            name: "build-metadata-origin-only",
            files: vec![
                ("kustomization.yaml", "resources: [sub/r.yaml, ./d.yaml]\nbuildMetadata: [originAnnotations]\nnamePrefix: p-\ncommonAnnotations: {keep: \"1\"}\n"),
                ("sub/r.yaml", CM),
                ("d.yaml", DEPLOY),
            ],
        },
    ]
}
