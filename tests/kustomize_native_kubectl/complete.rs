//! Scenarios for issue 18: kustomizations kubectl builds that native once refused or built
//! differently, and inputs kubectl refuses that native must refuse too.

/// A kustomization kubectl builds: files to write and the directory to build.
pub struct Case {
    pub name: &'static str,
    pub files: Vec<(&'static str, &'static str)>,
}

/// A kustomization kubectl refuses; `both_say` must appear in kubectl's error and native's.
pub struct Failure {
    pub name: &'static str,
    pub files: Vec<(&'static str, &'static str)>,
    pub both_say: &'static str,
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: web, image: nginx}\n---\napiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\nspec:\n  pod:\n    metadata: {}\n";

const FOO_BAR: &str = "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\nspec:\n  ref: other\n  obj: o\n---\napiVersion: x.io/v1\nkind: Bar\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  ref: x\n";

const AFFIX_REPLICA_TRANSFORMERS_F: &str = "apiVersion: builtin\nkind: PrefixTransformer\nmetadata:\n  name: p\nprefix: pre-\nfieldSpecs:\n- path: metadata/name\n- kind: Foo\n  path: spec/ref\n---\napiVersion: builtin\nkind: SuffixTransformer\nmetadata:\n  name: s\nsuffix: -suf\nfieldSpecs:\n- kind: Foo\n  path: metadata/name\n---\napiVersion: builtin\nkind: ReplicaCountTransformer\nmetadata:\n  name: r\nreplica:\n  name: pre-f-suf\n  count: 4\nfieldSpecs:\n- kind: Foo\n  path: spec/replicas\n  create: true\n";
const AFFIX_REPLICA_TRANSFORMERS_NOTHING: &str = "apiVersion: builtin\nkind: PrefixTransformer\nmetadata:\n  name: p\nprefix: pre-\nfieldSpecs:\n- path: metadata/name\n- kind: Foo\n  path: spec/ref\n---\napiVersion: builtin\nkind: SuffixTransformer\nmetadata:\n  name: s\nsuffix: -suf\nfieldSpecs:\n- kind: Foo\n  path: metadata/name\n---\napiVersion: builtin\nkind: ReplicaCountTransformer\nmetadata:\n  name: r\nreplica:\n  name: nothing\n  count: 4\nfieldSpecs:\n- kind: Foo\n  path: spec/replicas\n  create: true\n";

const PATCH_OPTION_OBJECTS: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {a: \"1\"}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod\nspec:\n  volumes:\n  - name: v\n    configMap: {name: cm}\n";

pub fn builds() -> Vec<Case> {
    vec![
        Case {
            // The `labels` table adds field specs to every `labels:` entry; `templateLabels`
            // to those with includeTemplates.
            name: "configurations-labels-and-template-labels-tables",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [d.yaml]\nconfigurations: [c.yaml]\nlabels:\n- pairs: {team: a}\n- pairs: {tier: t}\n  includeTemplates: true\n- pairs: {sel: s}\n  includeSelectors: true\n",
                ),
                (
                    "c.yaml",
                    "labels:\n- kind: Foo\n  path: spec/selector/labels\n  create: true\ntemplateLabels:\n- kind: Foo\n  path: spec/pod/metadata/labels\n  create: true\n",
                ),
                ("d.yaml", DEPLOY),
            ],
        },
        Case {
            // Go's JSON decoding: exact name first, then case folded (including KELVIN SIGN
            // and LONG S); keys arrive sorted, so `nameprefix` beats `namePrefix`; mappings
            // given under two spellings are merged.
            name: "kustomization-field-names-fold-case",
            files: vec![
                (
                    "kustomization.yaml",
                    "re\u{17f}ources: [r.yaml]\nnameprefix: a-\nnamePrefix: b-\nNAMESUFFIX: -s\ncommonannotations: {x: \"1\"}\ncommonAnnotations: {z: \"2\"}\n\u{212a}ind: Kustomization\n",
                ),
                ("r.yaml", CM),
            ],
        },
        Case {
            // Local-config objects serve replacements and name references, then are dropped
            // at the very end; "false" keeps an object, any other value drops it.
            name: "local-config-objects-dropped-last",
            files: vec![
                (
                    "kustomization.yaml",
                    "namePrefix: p-\nresources: [r.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: local, fieldPath: data.x}\n  targets:\n  - select: {kind: ConfigMap, name: keep}\n    fieldPaths: [data.copied]\nconfigMapGenerator:\n- name: gen\n  literals: [k=v]\n  options:\n    annotations:\n      config.kubernetes.io/local-config: \"true\"\n",
                ),
                (
                    "r.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ndata: {x: fromlocal}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  annotations:\n    config.kubernetes.io/local-config: \"false\"\ndata: {copied: z}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  annotations:\n    config.kubernetes.io/local-config: \"yes\"\n",
                ),
            ],
        },
        Case {
            // A sub-kustomization's local-config object still reaches the parent's transformers.
            name: "local-config-in-base-reaches-parent",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [base]\nreplacements:\n- source: {kind: ConfigMap, name: settings, fieldPath: data.image}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.template.spec.containers.0.image]\n",
                ),
                ("base/kustomization.yaml", "resources: [s.yaml, d.yaml]\n"),
                (
                    "base/s.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  annotations: {config.kubernetes.io/local-config: \"true\"}\ndata: {image: nginx:9}\n",
                ),
                ("base/d.yaml", DEPLOY),
            ],
        },
        Case {
            // Extra name fields take the affixes; a spec for one kind on `metadata/name`
            // hides the kind-less default (kustomize's merge keeps the first spec a later
            // one's kind selects, after sorting by kind), so only Bar is renamed by the prefix.
            name: "configurations-name-prefix-suffix-tables",
            files: vec![
                ("kustomization.yaml", "namePrefix: p-\nnameSuffix: -s\nresources: [r.yaml]\nconfigurations: [c.yaml]\n"),
                (
                    "c.yaml",
                    "namePrefix:\n- path: metadata/name\n- kind: Foo\n  path: spec/ref\n- kind: Foo\n  path: spec/made\n  create: true\n- kind: Bar\n  path: metadata/name\nnameSuffix:\n- kind: Foo\n  path: spec/ref\n- kind: Foo\n  path: spec/obj\n",
                ),
                ("r.yaml", FOO_BAR),
            ],
        },
        Case {
            // The same hiding for commonLabels: only Foo gets the label.
            name: "configurations-common-labels-for-one-kind-hides-default",
            files: vec![
                ("kustomization.yaml", "commonLabels: {a: b}\nresources: [r.yaml]\nconfigurations: [c.yaml]\n"),
                ("c.yaml", "commonLabels:\n- kind: Foo\n  path: metadata/labels\n  create: true\n"),
                ("r.yaml", FOO_BAR),
            ],
        },
        Case {
            name: "configurations-replicas-and-var-reference-tables",
            files: vec![
                (
                    "kustomization.yaml",
                    "resources: [r.yaml]\nconfigurations: [c.yaml]\nreplicas:\n- name: f\n  count: 3\n- name: web\n  count: 2\nvars:\n- name: SVC\n  objref: {kind: Service, name: svc, apiVersion: v1}\n  fieldref: {fieldpath: metadata.name}\n",
                ),
                (
                    "c.yaml",
                    "replicas:\n- kind: Foo\n  path: spec/size\n  create: true\nvarReference:\n- kind: Foo\n  path: spec/target\n- path: metadata/annotations\n",
                ),
                (
                    "r.yaml",
                    "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: f\n  annotations: {to: $(SVC)}\nspec:\n  target: http://$(SVC):80\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations: {to: $(SVC)}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: i\n        args: [$(SVC)]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
                ),
            ],
        },
        Case {
            // Builtin plugin configs: a prefix over chosen fields, a suffix for one kind, and
            // a replica count found by a name the object had before.
            name: "builtin-prefix-suffix-replica-count-transformers",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", AFFIX_REPLICA_TRANSFORMERS_F),
                ("r.yaml", FOO_BAR),
            ],
        },
        Case {
            // The top kustomization's managedByLabel labels everything (overriding an old
            // value); a nested buildMetadata, and unknown options, are ignored.
            name: "build-metadata-managed-by-label",
            files: vec![
                ("kustomization.yaml", "resources: [sub]\nbuildMetadata: [managedByLabel, bogus]\nnamePrefix: p-\n"),
                ("sub/kustomization.yaml", "resources: [r.yaml]\nbuildMetadata: [originAnnotations]\n"),
                ("sub/r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    app.kubernetes.io/managed-by: helm\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n"),
            ],
        },
        Case {
            // patches[].options: a targeted strategic merge patch renames and re-kinds the
            // object (references follow the new name); other option keys are ignored.
            name: "patch-options-allow-name-and-kind-change",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatches:\n- target: {kind: Deployment, name: web}\n  options: {allowNameChange: true, allowKindChange: true}\n  patch: |\n    apiVersion: apps/v1\n    kind: StatefulSet\n    metadata:\n      name: renamed\n      namespace: ignored\n    spec:\n      serviceName: renamed\n- target: {kind: ConfigMap, name: cm}\n  options: {allowNameChange: true}\n  patch: |\n    kind: ConfigMap\n    metadata:\n      name: cm2\n    data: {b: \"2\"}\n- path: p.yaml\n  options: {allowNameChange: false, somethingElse: true}\nconfigMapGenerator:\n- name: gen\n  literals: [a=b]\n"),
                ("r.yaml", PATCH_OPTION_OBJECTS),
                ("p.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  type: NodePort\n"),
            ],
        },
        Case {
            // PatchTransformer configs: strategic merge by target, JSON 6902 inline, and a
            // patch file renaming its target.
            name: "builtin-patch-transformer",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: smp\ntarget: {kind: Deployment}\npatch: |\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: any\n  spec:\n    replicas: 3\n---\napiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: json\ntarget: {kind: ConfigMap, name: cm}\npatch: '[{\"op\": \"add\", \"path\": \"/data/x\", \"value\": \"y\"}]'\n---\napiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: file\npath: p.yaml\noptions: {allowNameChange: true}\ntarget: {kind: Service}\n"),
                ("p.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc2\nspec:\n  type: NodePort\n"),
                ("r.yaml", PATCH_OPTION_OBJECTS),
            ],
        },
    ]
}

pub fn failures() -> Vec<Failure> {
    vec![
        Failure {
            name: "duplicate-key-in-resource",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\n"),
                ("r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  x: \"1\"\n  x: \"2\"\n"),
            ],
            both_say: "\"x\"",
        },
        Failure {
            name: "duplicate-key-in-patch",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\npatches: [{path: p.yaml}]\n"),
                ("r.yaml", CM),
                ("p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  y: \"1\"\n  y: \"2\"\n"),
            ],
            both_say: "\"y\"",
        },
        Failure {
            name: "duplicate-key-in-configurations-file",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nconfigurations: [c.yaml]\n"),
                ("r.yaml", CM),
                ("c.yaml", "namespace:\n- kind: X\n  path: a\nnamespace: []\n"),
            ],
            both_say: "\"namespace\"",
        },
        Failure {
            name: "duplicate-key-in-transformer-config",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("r.yaml", CM),
                ("t.yaml", "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels: {a: b}\nlabels: {a: c}\nfieldSpecs: [{path: metadata/labels, create: true}]\n"),
            ],
            both_say: "\"labels\"",
        },
        Failure {
            // Folding reaches only KELVIN SIGN and LONG S: other look-alikes are unknown fields.
            name: "kustomization-field-that-does-not-fold",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nnamePre\u{212a}ix: q-\n"),
                ("r.yaml", CM),
            ],
            both_say: "namePre\u{212a}ix",
        },
        Failure {
            name: "configurations-conflicting-create",
            files: vec![
                ("kustomization.yaml", "namePrefix: p-\nresources: [r.yaml]\nconfigurations: [c.yaml]\n"),
                ("r.yaml", CM),
                ("c.yaml", "namePrefix:\n- path: metadata/name\n  create: true\n"),
            ],
            both_say: "conflicting fieldspecs",
        },
        Failure {
            name: "builtin-replica-count-names-no-object",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", AFFIX_REPLICA_TRANSFORMERS_NOTHING),
                ("r.yaml", FOO_BAR),
            ],
            both_say: "resource with name nothing does not match",
        },
        Failure {
            // Two objects renamed to one name collide, as in kustomize's resource map.
            name: "patch-allow-name-change-collides",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nconfigMapGenerator:\n- name: gen\n  literals: [a=b]\npatches:\n- target: {kind: ConfigMap}\n  options: {allowNameChange: true}\n  patch: |\n    kind: ConfigMap\n    metadata:\n      name: cm2\n"),
                ("r.yaml", PATCH_OPTION_OBJECTS),
            ],
            both_say: "may not add resource with an already registered id",
        },
    ]
}
