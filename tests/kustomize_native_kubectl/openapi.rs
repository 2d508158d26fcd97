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

/// Scopes by `paths`: Foo cluster-scoped, Bar namespaced (one of its paths has the
/// parameter), Baz unknown (no `get`).
const PATHS_SCHEMA: &str = r#"{"swagger": "2.0", "paths": {
 "/apis/x.io/v1/foos/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "x.io", "version": "v1", "kind": "Foo"}}},
 "/apis/x.io/v1/bars/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "x.io", "version": "v1", "kind": "Bar"}}},
 "/apis/x.io/v1/namespaces/{namespace}/bars/{name}": {"get": {"x-kubernetes-group-version-kind": {"group": "x.io", "version": "v1", "kind": "Bar"}}},
 "/apis/x.io/v1/bazs/{name}": {"post": {"x-kubernetes-group-version-kind": {"group": "x.io", "version": "v1", "kind": "Baz"}}}
}, "definitions": {}}
"#;

/// A custom kind whose pod template and container list refer to built-in definitions.
const REF_SCHEMA: &str = r##"{"definitions": {"x.Foo": {"x-kubernetes-group-version-kind": [{"group": "x.io", "version": "v1", "kind": "Foo"}], "properties": {"spec": {"properties": {"template": {"$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"}, "list": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}, "x-kubernetes-patch-merge-key": "image", "x-kubernetes-patch-strategy": "merge"}}}}}}}
"##;

const REF_FOO: &str = "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec:\n  template: {spec: {containers: [{name: a, image: x, ports: [{containerPort: 1, protocol: TCP}, {containerPort: 2}]}, {name: b, image: y}]}}\n  list: [{name: a, image: x, ports: [{containerPort: 1, protocol: TCP}]}, {name: b, image: y}]\n";

const REF_PATCH: &str = "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec:\n  template: {spec: {containers: [{name: a, ports: [{containerPort: 1, protocol: TCP, name: p}, {containerPort: 3}]}]}}\n  list: [{image: y, ports: [{containerPort: 1, protocol: TCP, name: q}]}, {image: x, ports: [{containerPort: 1, protocol: TCP, name: r}]}]\n";

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
            // Found by the random differential test (seed 7, case 133): the schema file
            // knows Deployment only; a Deployment patch targeting a StatefulSet merges its
            // containers by the patch's type (kyaml's walker takes the first of object and
            // patch whose type the schema knows), a StatefulSet patch replaces them.
            name: "openapi-patch-type-gives-merge-keys-the-object-lacks",
            files: vec![
                ("kustomization.yaml", "resources: [s.yaml]\nopenapi:\n  path: schema.json\npatches:\n- target: {kind: StatefulSet, name: a}\n  patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: any}\n    spec:\n      template:\n        spec:\n          containers:\n          - {name: c0, image: patched, env: [{name: A, value: \"1\"}]}\n- target: {kind: StatefulSet, name: b}\n  patch: |\n    apiVersion: apps/v1\n    kind: StatefulSet\n    metadata: {name: any}\n    spec:\n      template:\n        spec:\n          containers:\n          - {name: c0, image: patched}\n"),
                ("schema.json", r##"{"definitions": {"d": {"x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}], "properties": {"spec": {"properties": {"template": {"$ref": "#/definitions/t"}}}}}, "t": {"properties": {"spec": {"properties": {"containers": {"type": "array", "items": {"properties": {"env": {"type": "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}, "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}}}}}"##),
                ("s.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - {name: c1, image: x}\n      - {name: c0, image: nginx, args: [\"yes\"], env: [{name: B, value: \"2\"}]}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: b\nspec:\n  template:\n    spec:\n      containers:\n      - {name: c1, image: x}\n      - {name: c0, image: nginx, args: [\"yes\"]}\n"),
            ],
        },
        Case {
            // Found by the random differential test (seed 7, case 771): object elements
            // sharing a merge key value keep one slot, where the first stood, taken by the
            // last as it stands in the object (unmerged); a deleted key takes all of them.
            name: "openapi-object-elements-sharing-a-merge-key",
            files: vec![
                ("kustomization.yaml", "resources: [d.yaml]\nopenapi:\n  path: schema.yaml\npatches: [{path: p.yaml}]\n"),
                ("schema.yaml", "definitions:\n  d:\n    x-kubernetes-group-version-kind:\n    - {group: apps, version: v1, kind: Deployment}\n    properties:\n      spec:\n        properties:\n          template:\n            properties:\n              spec:\n                properties:\n                  containers:\n                    type: array\n                    x-kubernetes-patch-strategy: merge\n                    x-kubernetes-patch-merge-key: image\n"),
                ("d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n      - {name: c0, image: x}\n      - {name: c1, image: x}\n      - {name: c2, image: y}\n      - {name: c3, image: y, args: [a]}\n      - {name: c4, image: z}\n      - {name: c5, image: z}\n      - {name: c6, image: w}\n"),
                ("p.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n      - {name: side, image: s}\n      - {image: y, extra: \"1\"}\n      - {image: z, $patch: delete}\n"),
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
            // The schema's `paths` give custom kinds a scope (kyaml's namespaceability):
            // a kind whose `get` paths lack a namespace parameter is cluster-scoped (no
            // namespace, name references across namespaces); one path with it makes the
            // kind namespaced; paths without a `get` say nothing.
            name: "openapi-paths-give-custom-kinds-their-scope",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nopenapi: {path: schema.json}\nnamespace: ns\nnameSuffix: -s\n"),
                ("schema.json", PATHS_SCHEMA),
                ("r.yaml", "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\n---\napiVersion: x.io/v1\nkind: Bar\nmetadata: {name: b}\n---\napiVersion: x.io/v1\nkind: Baz\nmetadata: {name: z}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb}\nroleRef: {apiGroup: x.io, kind: Foo, name: f}\nsubjects: [{kind: ServiceAccount, name: sa}]\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n"),
            ],
        },
        Case {
            // A base names the schema after the top loaded a kind it scopes: the scope
            // check of the namespace transformer reads the file then.
            name: "openapi-paths-from-a-base-scope-the-top-objects",
            files: vec![
                ("kustomization.yaml", "resources: [foo.yaml, base]\nnamespace: ns\n"),
                ("foo.yaml", "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: top}\n---\napiVersion: x.io/v1\nkind: Qux\nmetadata: {name: q}\n"),
                ("base/kustomization.yaml", "resources: [r.yaml]\nopenapi: {path: schema.json}\n"),
                ("base/schema.json", PATHS_SCHEMA),
                ("base/r.yaml", "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\n---\napiVersion: x.io/v1\nkind: Bar\nmetadata: {name: b}\n"),
            ],
        },
        Case {
            // `$ref`s into built-in definitions resolve once the built-in schema is read
            // too, here owed by a custom kind seen before the base named the file: the
            // pod template's containers and their ports merge by the built-in keys.
            name: "openapi-ref-into-built-in-definitions",
            files: vec![
                ("kustomization.yaml", "resources: [bar.yaml, base]\npatches: [{path: p.yaml}]\n"),
                ("bar.yaml", BAR),
                ("base/kustomization.yaml", "resources: [foo.yaml]\nopenapi: {path: schema.json}\n"),
                ("base/schema.json", REF_SCHEMA),
                ("base/foo.yaml", REF_FOO),
                ("p.yaml", REF_PATCH),
            ],
        },
        Case {
            // Read by a first base's patch before the second base's file.
            name: "openapi-ref-into-built-in-definitions-read-before",
            files: vec![
                ("kustomization.yaml", "resources: [one, two]\npatches: [{path: p.yaml}]\n"),
                ("one/kustomization.yaml", "resources: [d.yaml]\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d}\n    spec: {template: {spec: {containers: [{name: a, image: w}]}}}\n"),
                ("one/d.yaml", DEPLOY),
                ("two/kustomization.yaml", "resources: [foo.yaml]\nopenapi: {path: schema.json}\n"),
                ("two/schema.json", REF_SCHEMA),
                ("two/foo.yaml", REF_FOO),
                ("p.yaml", REF_PATCH),
            ],
        },
        Case {
            // Without the built-in schema the references lead nowhere: lists are replaced,
            // except the one the file gives keys itself.
            name: "openapi-ref-into-built-in-definitions-not-read",
            files: vec![
                ("kustomization.yaml", "resources: [base]\npatches: [{path: p.yaml}]\n"),
                ("base/kustomization.yaml", "resources: [foo.yaml]\nopenapi: {path: schema.json}\n"),
                ("base/schema.json", REF_SCHEMA),
                ("base/foo.yaml", REF_FOO),
                ("p.yaml", REF_PATCH),
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
