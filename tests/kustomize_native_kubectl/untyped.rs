//! Issue 18: fields a replacement creates (`options.create: true`). kyaml gives the new node
//! the source's text and no tag, so later steps see that text ("0x1f", "1.0") and the value is
//! typed only when the object goes through JSON: a JSON 6902 patch, or the output (found by
//! the random differential test: seed 424242 case 819, seed 5150 case 762, seed 31337 case
//! 685). Each case is built by kubectl and natively.

use super::complete::Case;

const OBJECTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: w}\ndata: {k0: \"0x1f\", k1: \"1.0\", k2: \"yes\"}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {note: keep, ports: [{port: 80}]}\n";

pub fn builds() -> Vec<Case> {
    vec![
        // A component creates an annotation from "1.0"; the overlay's JSON patch turns the
        // object into JSON, where the untyped text is the number 1, and the annotation is
        // rebuilt from that ("1"), not from the text.
        Case {
            name: "replacement-created-annotation-typed-by-a-later-json-patch",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\ncomponents: [comp]\npatches:\n- target: {kind: Service}\n  patch: |\n    - op: add\n      path: /metadata/labels\n      value: {a: b}\n",
                ),
                ("r.yaml", OBJECTS),
                (
                    "comp/kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nreplacements:\n- source: {kind: ConfigMap, name: w, fieldPath: data.k1}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [metadata.annotations.copied]\n    options: {create: true}\n",
                ),
            ],
        },
        // A created "0x1f" keeps its text for a later delimiter replacement ("0x1f-w", which
        // stays text), where a number 31 would refuse the new text.
        Case {
            name: "replacement-created-field-keeps-its-text-for-a-delimiter",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, fieldPath: data.k0}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.x, metadata.annotations.h]\n    options: {create: true}\n- source: {kind: ConfigMap, fieldPath: metadata.name}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.x]\n    options: {delimiter: \"-\", index: 1}\n",
                ),
                ("r.yaml", OBJECTS),
            ],
        },
        // Created fields as sources: a string target takes the text ("0x1f"), a list target
        // takes the untyped node itself (31 at the output); created labels and plain fields are
        // typed at the output (1), a created annotation keeps its text ("1.0").
        Case {
            name: "replacement-created-field-copied-on-as-its-text",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, fieldPath: data.k0}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.x]\n    options: {create: true}\n- source: {kind: ConfigMap, fieldPath: data.k1}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.y, metadata.labels.v, metadata.annotations.v]\n    options: {create: true}\n- source: {kind: Service, fieldPath: spec.x}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.note, spec.ports]\n",
                ),
                ("r.yaml", OBJECTS),
            ],
        },
        // A base creates fields; the overlay's JSON patch sees them typed as go-yaml v3 types
        // plain text: "0x1f" is 31 (in the annotation too), "yes" stays a string.
        Case {
            name: "replacement-created-fields-typed-for-a-json-patch-test",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [base]\npatches:\n- target: {kind: Service}\n  patch: |\n    - {op: test, path: /spec/x, value: 31}\n    - {op: test, path: /metadata/annotations/x, value: 31}\n    - {op: test, path: /spec/y, value: \"yes\"}\n    - {op: copy, from: /spec/x, path: /spec/z}\n",
                ),
                (
                    "base/kustomization.yaml",
                    "resources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, fieldPath: data.k0}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.x, metadata.annotations.x]\n    options: {create: true}\n- source: {kind: ConfigMap, fieldPath: data.k2}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.y, metadata.annotations.y]\n    options: {create: true}\n",
                ),
                ("base/r.yaml", OBJECTS),
            ],
        },
    ]
}
