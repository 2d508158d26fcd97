//! Issue 18: a mapping key defined twice, wherever kustomize reads YAML. Strategic merge
//! patches keep the first value where they merge into a mapping the object has, and fail
//! where the mapping is copied whole; JSON 6902 ops and replacement files keep the last (read
//! by sigs.k8s.io/yaml), as the kustomization file does; resources and plugin configs fail.

use super::complete::{Case, Failure};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n";
const BARE_CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
const DUP_DATA: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  name: d\ndata:\n  y: \"1\"\n  y: \"2\"\n  a: \"7\"\n  a: \"8\"\n";
const DUP_OPS: &str = "- op: add\n  path: /data/b\n  path: /data/c\n  value: x\n";

pub fn builds() -> Vec<Case> {
    vec![
        Case {
            name: "duplicate-key-in-patch-merged-keeps-first",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatches: [{path: p.yaml}, {path: p.yaml, target: {kind: ConfigMap}}]\npatchesStrategicMerge:\n- p.yaml\n- |-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    z: \"1\"\n    z: \"2\"\n"),
                ("r.yaml", CM),
                ("p.yaml", DUP_DATA),
            ],
        },
        Case {
            name: "duplicate-key-in-json6902-and-replacements-keeps-last",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatchesJson6902: [{path: j.yaml, target: {version: v1, kind: ConfigMap, name: c}}]\npatches: [{path: j.yaml, target: {kind: ConfigMap}}]\nreplacements: [{path: rep.yaml}]\n"),
                ("r.yaml", CM),
                ("j.yaml", DUP_OPS),
                ("rep.yaml", "- source: {kind: ConfigMap, fieldPath: data.a}\n  source: {kind: ConfigMap, fieldPath: metadata.name}\n  targets: [{select: {kind: ConfigMap}, fieldPaths: [data.q], options: {create: true}}]\n"),
            ],
        },
        Case {
            // patchesStrategicMerge and targeted patches read labels and annotations into a
            // map: there the last value counts, even where the object has none.
            name: "duplicate-key-in-patch-labels-keeps-last",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatchesStrategicMerge: [p.yaml]\npatches: [{path: q.yaml, target: {kind: ConfigMap}}]\n"),
                ("r.yaml", CM),
                ("p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {q: \"1\", q: \"2\"}\n"),
                ("q.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {n: \"1\", n: \"2\"}\n"),
            ],
        },
        Case {
            name: "duplicate-key-in-kustomization-keeps-last",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nnamePrefix: a-\nnamePrefix: b-\n"),
                ("r.yaml", CM),
            ],
        },
    ]
}

pub fn failures() -> Vec<Failure> {
    vec![
        Failure {
            name: "duplicate-key-in-patch-copied-whole",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatches: [{path: p.yaml}]\n"),
                ("r.yaml", BARE_CM),
                ("p.yaml", DUP_DATA),
            ],
            both_say: "mapping key \"y\" already defined",
        },
        Failure {
            name: "duplicate-key-in-patch-new-labels",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatches: [{path: p.yaml}]\n"),
                ("r.yaml", CM),
                ("p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {q: \"1\", q: \"2\"}\n"),
            ],
            both_say: "mapping key \"q\" already defined",
        },
        Failure {
            name: "duplicate-key-in-transformer-config",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("r.yaml", CM),
                ("t.yaml", "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels: {a: b}\nlabels: {c: d}\nfieldSpecs: [{path: metadata/labels, create: true}]\n"),
            ],
            both_say: "mapping key \"labels\" already defined at line 5",
        },
        Failure {
            name: "duplicate-key-in-generator-config",
            files: vec![
                ("kustomization.yaml", "generators: [g.yaml]\n"),
                ("g.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nliterals: [a=b]\nliterals: [c=d]\n"),
            ],
            both_say: "mapping key \"literals\" already defined at line 5",
        },
    ]
}
