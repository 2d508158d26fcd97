//! Issue 18: list elements lacking the merge key. A schema file making `image` the merge key
//! of containers (found by the random differential test: seed 99 case 305, seed 424242 cases
//! 359, 442 and 473) lets elements of the patch or the object lack the key; kyaml's
//! associative walk then loses elements in ways a plain "patch first, then the rest" merge
//! does not. Also the other steps of that walk: `$patch: replace` on an element the object
//! has, and merged lists of scalars. Each case is built by kubectl and natively.

use super::complete::{Case, Failure};

const IMAGE_KEY: &str = "definitions:\n  d:\n    x-kubernetes-group-version-kind:\n    - {group: apps, version: v1, kind: Deployment}\n    properties:\n      spec:\n        properties:\n          template:\n            properties:\n              spec:\n                properties:\n                  containers:\n                    type: array\n                    x-kubernetes-patch-strategy: merge\n                    x-kubernetes-patch-merge-key: image\n";

/// A Deployment whose containers (a flow sequence, or none when empty) are patched with
/// `patch`'s containers, merged by `image`.
fn by_image(name: &'static str, containers: &str, patch: &str) -> Case {
    let spec = if containers.is_empty() {
        "{replicas: 1}".to_string()
    } else {
        format!("{{template: {{spec: {{containers: {containers}}}}}}}")
    };
    let object =
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d}}\nspec: {spec}\n");
    let patch = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d}}\nspec: {{template: {{spec: {{containers: {patch}}}}}}}\n");
    Case {
        name,
        files: vec![
            (
                "kustomization.yaml",
                "resources: [d.yaml]\nopenapi: {path: schema.yaml}\npatches: [{path: p.yaml}]\n",
            ),
            ("schema.yaml", IMAGE_KEY),
            ("d.yaml", Box::leak(object.into_boxed_str())),
            ("p.yaml", Box::leak(patch.into_boxed_str())),
        ],
    }
}

pub fn builds() -> Vec<Case> {
    vec![
        // The keyless patch element looks up the value "" (no element carries it) and so
        // removes every element of the object setting the key: nothing is left, not even
        // the patch's element.
        by_image(
            "openapi-keyless-patch-element-empties-the-list",
            "[{name: c0, image: x}, {name: c1, image: y}]",
            "[{name: c9}]",
        ),
        // The patch's keyed element survives; the object's are removed by the keyless one.
        by_image(
            "openapi-keyless-patch-element-beside-a-keyed-one",
            "[{name: c0, image: x}, {name: c1, image: y}]",
            "[{image: z, name: n}, {name: c9}]",
        ),
        // A keyless element of the object replaces the whole merged list when it goes to
        // the end; the object's keyed elements were removed by its value "".
        by_image(
            "openapi-keyless-object-element-replaces-the-merged-list",
            "[{name: c0, image: x}, {name: c2}]",
            "[{image: x, args: [a]}]",
        ),
        // Of several keyless elements of the object, the last one stays.
        by_image(
            "openapi-keyless-object-elements-the-last-stays",
            "[{name: a}, {name: b, image: x}, {name: c}, {name: d, image: y}]",
            "[{image: y, args: [q]}]",
        ),
        // Keyless on both sides: the object's element stays, the patch's is lost.
        by_image(
            "openapi-keyless-patch-on-keyless-object",
            "[{name: c2}]",
            "[{name: c9}]",
        ),
        // A delete directive on a keyless element deletes every keyed element.
        by_image(
            "openapi-keyless-delete-directive",
            "[{name: c0, image: x}, {name: c1, image: y}, {name: c3}]",
            "[{name: c1, $patch: delete}]",
        ),
        // The object lacks the list: the patch's list is merged into itself; the keyless
        // element removes the keyed ones and then replaces the list, nulls and all.
        by_image(
            "openapi-keyless-list-the-object-lacks",
            "",
            "[{image: z, a: null}, {name: c9, b: null}]",
        ),
        by_image(
            "openapi-keyed-list-the-object-lacks",
            "",
            "[{image: z, a: null}, {image: w, $patch: delete}, {image: z, b: 1}]",
        ),
        // An element with an empty key value is found by "" and replaces its like.
        by_image(
            "openapi-empty-key-value",
            "[{name: a, image: \"\"}, {name: b, image: x}]",
            "[{image: \"\", args: [e]}, {name: k}]",
        ),
        Case {
            // `$patch: replace` on an element the object has: kyaml merges in place but
            // returns the patch's element as a new node, so the object's unpatched element
            // wins when it goes to the end. Without the object's element, it is the patch's.
            name: "smp-replace-directive-on-an-existing-element-is-lost",
            files: vec![
                ("kustomization.yaml", "resources: [d.yaml]\npatches: [{path: p.yaml}]\n"),
                ("d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x, args: [\"1\"]}, {name: b, image: y}]\n"),
                ("p.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: z, $patch: replace}, {name: n, image: w, args: [\"2\"], $patch: replace}]\n"),
            ],
        },
        Case {
            // Two keys (Service ports by `port` and `protocol`): a patch element setting
            // neither is lost; one setting `port` only is completed from the object's
            // element sharing it, and the object's elements lacking a key go to the end
            // replacing the merged ones sharing their other key; a keyless element of the
            // object replaces the whole list; a list the object lacks merges into itself.
            name: "smp-two-key-list-with-keyless-elements",
            files: vec![
                ("kustomization.yaml", "resources: [s.yaml]\npatches: [{path: p.yaml}]\n"),
                ("s.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1, protocol: TCP}, {port: 2}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 1, protocol: TCP}, {port: 2, protocol: UDP}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {ports: [{port: 1, protocol: TCP}, {name: k}, {port: 2, protocol: UDP}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\nspec: {type: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: e}\nspec: {ports: [{port: 1, protocol: TCP, x: 1}, {port: 2, protocol: UDP}, {port: 3}]}\n"),
                ("p.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{name: x}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{name: x}, {port: 3, protocol: TCP}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {ports: [{port: 1, protocol: TCP, a: b}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\nspec: {ports: [{port: 1, protocol: TCP}, {name: k}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: e}\nspec: {ports: [{port: 1, y: 2}, {protocol: UDP, z: 3}, {port: 3, protocol: TCP}]}\n"),
            ],
        },
        Case {
            // Found by the random differential test (seed 424242, case 668): kyaml walks the
            // object's fields the patch leaves out too, merging their keyed lists with
            // nothing: elements sharing a key value collapse into the last (nested lists
            // included), a keyless element replaces the keyed ones, and a merged list of
            // scalars keeps each value once, whatever the patch touches.
            name: "smp-lists-the-patch-leaves-out-are-settled",
            files: vec![
                ("kustomization.yaml", "resources: [d.yaml]\npatches:\n- patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d}\n    spec: {replicas: 2}\n- patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: e}\n    spec: {template: {spec: {containers: [{name: b, image: w}]}}}\n"),
                ("d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, finalizers: [a, b, a]}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x, ports: [{containerPort: 1, protocol: TCP}, {containerPort: 1, protocol: TCP, name: dup}]}, {name: a, image: y}, {name: b, image: z, ports: [{containerPort: 2}, {containerPort: 2, name: two}]}]\n      initContainers: [{name: i, image: x}, {image: keyless}, {name: j, image: y}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: e}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x}, {name: a, image: y, args: [q]}]\n"),
            ],
        },
        Case {
            // Merged lists of scalars: each value once, the patch's first; a value the
            // object has keeps the object's spelling.
            name: "smp-scalar-merge-list-values-once",
            files: vec![
                ("kustomization.yaml", "resources: [c.yaml]\npatches: [{path: p.yaml}]\n"),
                ("c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers: [a, b, a, \"1\", x]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e\n"),
                ("p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [c, c, b, 1]}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, finalizers: [p, q, p]}\n"),
            ],
        },
    ]
}

pub fn failures() -> Vec<Failure> {
    // A scalar among the object's elements counts as keyless: the removal its value `""`
    // asks for must look for the key in it, which kyaml refuses.
    let Case { files, .. } = by_image("", "[{name: a, image: x}, 5]", "[{image: x}]");
    vec![Failure {
        name: "openapi-scalar-element-in-a-keyed-list",
        files,
        both_say: "wrong node kind",
    }]
}
