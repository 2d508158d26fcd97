//! Issue 18: the `openapi` field. A schema file gives custom kinds merge keys for strategic
//! merge patches and replaces the built-in schema, unless the built-in one was read or owed
//! before the file was named; the top kustomization chooses first, then the first base or
//! component in build order. Each case is built by kubectl and natively.

use super::complete::{Case, Failure};

/// Merge keys by `x-kubernetes-patch-merge-key`, `x-kubernetes-list-map-keys` (with a
/// `merge,retainKeys` strategy) and a merged list of scalars, through `$ref`s and a map.
const SCHEMA: &str = r##"{"definitions": {
 "x.Foo": {"type": "object", "properties": {"spec": {"$ref": "#/definitions/x.FooSpec"}},
   "x-kubernetes-group-version-kind": [{"group": "x.io", "kind": "Foo", "version": "v1"}, {"group": "", "kind": "Foo", "version": "v1"}]},
 "x.FooSpec": {"type": "object", "properties": {
   "items": {"type": "array", "items": {"$ref": "#/definitions/x.Item"}, "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
   "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-patch-strategy": "merge"},
   "byName": {"type": "object", "additionalProperties": {"$ref": "#/definitions/x.Item"}},
   "plain": {"type": "array", "x-kubernetes-patch-merge-key": "name"}}},
 "x.Item": {"properties": {"ports": {"type": "array", "x-kubernetes-list-map-keys": ["port", "protocol"], "x-kubernetes-patch-strategy": "merge,retainKeys"}}}
}}
"##;

const SCHEMA_YAML: &str = "definitions:\n  x.Foo:\n    type: object\n    x-kubernetes-group-version-kind:\n    - {group: x.io, kind: Foo, version: v1}\n    properties:\n      spec:\n        properties:\n          items:\n            type: array\n            items: {type: object}\n            x-kubernetes-patch-merge-key: name\n            x-kubernetes-patch-strategy: merge\n";

const FOO: &str = "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\nspec:\n  items:\n  - name: a\n    v: 1\n    ports: [{port: 1, protocol: TCP, x: 1}, {port: 2, protocol: UDP}]\n  - name: b\n  tags: [p, q]\n  byName:\n    one:\n      ports: [{port: 5, protocol: TCP}]\n  plain: [{name: a, v: 1}]\n---\napiVersion: v1\nkind: Foo\nmetadata:\n  name: core\nspec:\n  items: [{name: a}, {name: b}]\n";

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x}, {name: b, image: y}]\n";

const FOO_PATCH: &str = "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\nspec:\n  items:\n  - name: a\n    w: 2\n    ports: [{port: 1, protocol: TCP, y: 2}, {port: 3}]\n  tags: [r, p]\n  byName:\n    one:\n      ports: [{port: 6, protocol: TCP}]\n  plain: [{name: a, w: 2}]\n---\napiVersion: v1\nkind: Foo\nmetadata:\n  name: core\nspec:\n  items: [{name: c}]\n";

const DEPLOY_PATCH: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers: [{name: b, image: z}]\n";

const BAR: &str = "apiVersion: x.io/v1\nkind: Bar\nmetadata:\n  name: bar\n";

pub fn builds() -> Vec<Case> {
    vec![
        two_key_lists(),
        Case {
            // A top-level schema file: custom merge keys, and built-in kinds lose theirs.
            name: "openapi-path-json-replaces-builtin-schema",
            files: vec![
                ("kustomization.yaml", "resources: [foo.yaml, d.yaml]\nopenapi:\n  path: schema.json\npatches: [{path: p.yaml}, {path: dp.yaml}]\n"),
                ("schema.json", SCHEMA),
                ("foo.yaml", FOO),
                ("d.yaml", DEPLOY),
                ("p.yaml", FOO_PATCH),
                ("dp.yaml", DEPLOY_PATCH),
            ],
        },
        Case {
            name: "openapi-path-yaml-with-patches-strategic-merge",
            files: vec![
                ("kustomization.yaml", "resources: [foo.yaml]\nopenapi:\n  path: schema.yaml\npatchesStrategicMerge: [p.yaml]\n"),
                ("schema.yaml", SCHEMA_YAML),
                ("foo.yaml", FOO),
                ("p.yaml", FOO_PATCH),
            ],
        },
        Case {
            // A base names the schema; the overlay's patch uses it.
            name: "openapi-from-base",
            files: vec![
                ("kustomization.yaml", "resources: [base]\npatches: [{path: p.yaml}, {path: dp.yaml}]\n"),
                ("base/kustomization.yaml", "resources: [foo.yaml, d.yaml]\nopenapi:\n  path: schema.json\n"),
                ("base/schema.json", SCHEMA),
                ("base/foo.yaml", FOO),
                ("base/d.yaml", DEPLOY),
                ("p.yaml", FOO_PATCH),
                ("dp.yaml", DEPLOY_PATCH),
            ],
        },
        Case {
            // A component names it, and patches with it.
            name: "openapi-from-component",
            files: vec![
                ("kustomization.yaml", "resources: [foo.yaml]\ncomponents: [comp]\n"),
                ("comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nopenapi:\n  path: schema.json\npatches: [{path: p.yaml}]\n"),
                ("comp/schema.json", SCHEMA),
                ("comp/p.yaml", FOO_PATCH),
                ("foo.yaml", FOO),
            ],
        },
        Case {
            // A custom kind was seen before the base named the file: kyaml owes the built-in
            // schema and reads it after the file, so Deployments keep their merge keys.
            name: "openapi-from-base-after-a-custom-kind",
            files: vec![
                ("kustomization.yaml", "resources: [bar.yaml, d.yaml, base]\npatches: [{path: p.yaml}, {path: dp.yaml}]\n"),
                ("bar.yaml", BAR),
                ("d.yaml", DEPLOY),
                ("base/kustomization.yaml", "resources: [foo.yaml]\nopenapi:\n  path: schema.json\n"),
                ("base/schema.json", SCHEMA),
                ("base/foo.yaml", FOO),
                ("p.yaml", FOO_PATCH),
                ("dp.yaml", DEPLOY_PATCH),
            ],
        },
        Case {
            // The built-in schema was read by a first base's patch; the second base's file
            // adds to it: both kinds merge.
            name: "openapi-after-builtin-schema-was-read",
            files: vec![
                ("kustomization.yaml", "resources: [one, two]\npatches: [{path: p.yaml}, {path: dp.yaml}]\n"),
                ("one/kustomization.yaml", "resources: [d.yaml]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d}\n    spec: {template: {spec: {containers: [{name: a, image: w}]}}}\n"),
                ("one/d.yaml", DEPLOY),
                ("two/kustomization.yaml", "resources: [foo.yaml]\nopenapi:\n  path: schema.json\n"),
                ("two/schema.json", SCHEMA),
                ("two/foo.yaml", FOO),
                ("p.yaml", FOO_PATCH),
                ("dp.yaml", DEPLOY_PATCH),
            ],
        },
        Case {
            // The top's built-in version wins over a base's file; a later base's settings
            // (even contradictory ones) are not looked at once one is set.
            name: "openapi-top-version-takes-precedence",
            files: vec![
                ("kustomization.yaml", "resources: [base, other]\nopenapi:\n  version: v1.21.2\npatches: [{path: p.yaml}, {path: dp.yaml}]\n"),
                ("base/kustomization.yaml", "resources: [foo.yaml]\nopenapi:\n  path: schema.json\n"),
                ("base/schema.json", SCHEMA),
                ("base/foo.yaml", FOO),
                ("other/kustomization.yaml", "resources: [d.yaml]\nopenapi:\n  path: schema.json\n  version: v1.0.0\n"),
                ("other/schema.json", SCHEMA),
                ("other/d.yaml", DEPLOY),
                ("p.yaml", FOO_PATCH),
                ("dp.yaml", DEPLOY_PATCH),
            ],
        },
        Case {
            // An empty openapi field sets nothing; a schema without definitions knows no kind.
            name: "openapi-empty-and-schema-without-definitions",
            files: vec![
                ("kustomization.yaml", "resources: [base]\nopenapi: {}\npatches: [{path: dp.yaml}]\n"),
                ("base/kustomization.yaml", "resources: [d.yaml]\nopenapi:\n  path: s.yaml\n"),
                ("base/s.yaml", "swagger: \"2.0\"\n"),
                ("base/d.yaml", DEPLOY),
                ("dp.yaml", DEPLOY_PATCH),
            ],
        },
    ]
}

/// Lists merged by two keys (container ports): the patch's new elements lead, the object's
/// follow in their order, merged in place; an element lacking `protocol` where the other
/// side sets it is not merged (kyaml's quirk, kept); one key: the patch's elements lead.
pub fn two_key_lists() -> Case {
    Case {
        name: "smp-two-key-list-order",
        files: vec![
            ("kustomization.yaml", "resources: [d.yaml]\npatches: [{path: p.yaml}]\n"),
            ("d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        ports: [{containerPort: 1, protocol: TCP, x: 1}, {containerPort: 2, protocol: UDP}, {containerPort: 4}]\n      - name: b\n        ports: [{containerPort: 1, protocol: TCP, x: 1}, {containerPort: 2, protocol: UDP}, {containerPort: 6}, {containerPort: 7, protocol: TCP}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 1}, {port: 2, protocol: UDP}, {port: 3, protocol: TCP}]\n"),
            ("p.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        ports: [{containerPort: 1, protocol: TCP, y: 2}, {containerPort: 3}, {containerPort: 4, protocol: TCP, z: 1}, {containerPort: 5, protocol: UDP}]\n      - name: c\n      - name: b\n        ports: [{containerPort: 1, y: 2}, {containerPort: 6, w: 1}, {containerPort: 7, protocol: TCP, $patch: delete}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 3, protocol: TCP, name: three}, {port: 9}, {port: 1, protocol: TCP}]\n"),
        ],
    }
}

pub fn failures() -> Vec<Failure> {
    vec![
        Failure {
            name: "openapi-path-and-version",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [foo.yaml]\nopenapi:\n  path: schema.json\n  version: v1.21.2\n",
                ),
                ("schema.json", SCHEMA),
                ("foo.yaml", FOO),
            ],
            both_say: "builtin version and custom schema provided, cannot use both",
        },
        Failure {
            name: "openapi-version-not-built-in",
            files: vec![
                ("kustomization.yaml", "resources: [base]\n"),
                (
                    "base/kustomization.yaml",
                    "resources: [foo.yaml]\nopenapi:\n  version: v1.14.1\n",
                ),
                ("base/foo.yaml", FOO),
            ],
            both_say: "the specified OpenAPI version is not built in",
        },
        Failure {
            // Read even when a schema is already chosen.
            name: "openapi-path-missing",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [base]\nopenapi:\n  version: v1.21.2\n",
                ),
                (
                    "base/kustomization.yaml",
                    "resources: [foo.yaml]\nopenapi:\n  path: nope.json\n",
                ),
                ("base/foo.yaml", FOO),
            ],
            both_say: "nope.json",
        },
    ]
}
