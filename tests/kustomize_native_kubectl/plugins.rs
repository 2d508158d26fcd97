//! Issue 18, second part: `generators`, `validators`, `crds`, the remaining builtin plugin
//! configs and `vars` field forms, each built by kubectl and natively; and what kubectl
//! refuses about them, refused natively too.

use super::complete::{Case, Failure};

const OBJECTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        env:\n        - name: X\n          valueFrom:\n            configMapKeyRef: {name: c, key: a}\n";

const BINDINGS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: has\n  namespace: mine\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: empty\n  namespace: \"\"\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: crb\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\nsubjects:\n- {kind: ServiceAccount, name: default}\n- {kind: ServiceAccount, name: x, namespace: other}\n- {kind: User, name: u}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects:\n- {kind: ServiceAccount, name: default, namespace: old}\n- {kind: ServiceAccount, name: y}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: old\n";

const CRD_DEFS: &str = "example.com/v1.Widget:\n  Schema:\n    properties:\n      apiVersion: {type: string}\n      kind: {type: string}\n      metadata: {type: object}\n      spec:\n        $ref: example.com/v1.WidgetSpec\nexample.com/v1.WidgetSpec:\n  Schema:\n    properties:\n      sel:\n        x-kubernetes-label-selector: \"\"\n      notes:\n        x-kubernetes-annotation: \"\"\n      ident:\n        x-kubernetes-identity: \"\"\n      config:\n        x-kubernetes-object-ref-api-version: v1\n        x-kubernetes-object-ref-kind: ConfigMap\n      secretRef:\n        x-kubernetes-object-ref-api-version: v1\n        x-kubernetes-object-ref-kind: Secret\n        x-kubernetes-object-ref-name-key: key\n      nested:\n        $ref: example.com/v1.Nested\n      boolish:\n        x-kubernetes-annotation: true\nexample.com/v1.Nested:\n  Schema:\n    properties:\n      cm:\n        x-kubernetes-object-ref-api-version: v1\n        x-kubernetes-object-ref-kind: ConfigMap\nexample.com/v1.NotAType:\n  Schema:\n    properties:\n      kind: {type: string}\n      ref:\n        x-kubernetes-object-ref-api-version: v1\n        x-kubernetes-object-ref-kind: ConfigMap\n";

const WIDGET: &str = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  sel: {x: y}\n  notes: {k: v}\n  ident: id\n  boolish: {b: c}\n  config: {name: cfg}\n  secretRef: {key: s}\n  nested:\n    cm: {name: cfg}\n---\napiVersion: example.com/v1\nkind: NotAType\nmetadata:\n  name: n\nref: {name: cfg}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n";

pub fn builds() -> Vec<Case> {
    vec![
        Case {
            // GKE: a ServiceAccount annotated with its Google service account; field names
            // fold case; then transformed like any object (prefix, namespace, labels).
            name: "builtin-iam-policy-generator",
            files: vec![
                ("kustomization.yaml", "namePrefix: p-\ncommonLabels: {team: a}\ngenerators:\n- g.yaml\n- |-\n  apiVersion: builtin\n  kind: IAMPolicyGenerator\n  metadata:\n    name: inline\n  cloud: gke\n  KubernetesService: {name: other}\n  serviceAccount: {name: gsa2, projectId: \"123\"}\n"),
                ("g.yaml", "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata:\n  name: iam\ncloud: gke\nkubernetesService:\n  namespace: ns\n  name: ksa\nserviceAccount:\n  name: gsa\n  projectId: proj\nignored: field\n"),
            ],
        },
        Case {
            // Ops inline (JSON) and from a YAML file; paths and inline documents.
            name: "builtin-json6902-and-strategic-merge-transformers",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata:\n  name: j\ntarget: {kind: Deployment, name: web, group: apps, version: v1}\njsonOp: '[{\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 3}]'\n---\napiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata:\n  name: j2\ntarget: {kind: ConfigMap, name: c}\npath: p.yaml\n---\napiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata:\n  name: s\npaths: [s.yaml]\npatches: |-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    z: \"9\"\n"),
                ("p.yaml", "- op: add\n  path: /data/b\n  value: \"2\"\n"),
                ("s.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:2.0\n"),
                ("r.yaml", OBJECTS),
            ],
        },
        Case {
            // unsetOnly keeps set namespaces; subjects: none, then every ServiceAccount;
            // a field spec for binding subjects is overridden by the subject mode.
            name: "builtin-namespace-transformer-options",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: NamespaceTransformer\n  metadata:\n    name: a\n    namespace: first\n  unsetOnly: true\n  setRoleBindingSubjects: none\n  fieldSpecs:\n  - path: metadata/namespace\n    create: true\n  - kind: RoleBinding\n    path: subjects/namespace\n- |-\n  apiVersion: builtin\n  kind: NamespaceTransformer\n  metadata:\n    name: b\n    namespace: second\n  setRoleBindingSubjects: allServiceAccounts\n  fieldSpecs:\n  - kind: Namespace\n    path: metadata/name\n"),
                ("r.yaml", BINDINGS),
            ],
        },
        Case {
            // The hash transformer hashes generated objects again (kustomize then adds the
            // final suffix too), and leaves disableNameSuffixHash ones alone.
            // Inline configs run before those read from paths, whatever the listed order.
            name: "builtin-hash-and-prefix-suffix-transformers",
            files: vec![
                ("kustomization.yaml", "configMapGenerator:\n- name: g\n  literals: [a=b]\n- name: h\n  literals: [a=b]\n  options: {disableNameSuffixHash: true}\ntransformers:\n- t.yaml\n- |-\n  apiVersion: builtin\n  kind: PrefixTransformer\n  metadata:\n    name: inline\n  prefix: inline-\n  fieldSpecs: [{path: metadata/name}]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: HashTransformer\nmetadata:\n  name: h\n---\napiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: ps\nprefix: a-\nsuffix: -z\nfieldSpecs: [{path: metadata/name}]\n"),
            ],
        },
        Case {
            // Generator configs from a file, inline and from a directory; names and
            // namespaces from metadata; merge into an earlier object; the global
            // generatorOptions do not reach them.
            name: "generators-field-with-builtin-configs",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ngeneratorOptions:\n  labels: {global: \"yes\"}\nconfigMapGenerator:\n- name: own\n  literals: [x=y]\ngenerators:\n- g.yaml\n- gen\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata:\n    name: c\n  behavior: merge\n  literals: [merged=yes]\n"),
                ("g.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: gen\n  namespace: ns1\nliterals: [k=v]\nfiles: [f.txt]\nenvs: [e.env]\noptions:\n  labels: {x: y}\n---\napiVersion: builtin\nkind: SecretGenerator\nmetadata:\n  name: ignored\nname: sec\ntype: kubernetes.io/tls\nliterals: [tls.crt=c, tls.key=k]\noptions: {disableNameSuffixHash: true}\n"),
                ("f.txt", "hello\n"),
                ("e.env", "A=1\n# comment\nB=two\n"),
                ("gen/kustomization.yaml", "resources: [g.yaml]\n"),
                ("gen/g.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: fromdir\nliterals: [a=b]\n"),
                ("r.yaml", OBJECTS),
            ],
        },
        Case {
            // A validator that changes nothing passes; one adding only the validated-by
            // label to objects without labels passes, and the label stays in the output.
            name: "validators-that-change-nothing",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nvalidators:\n- |-\n  apiVersion: builtin\n  kind: AnnotationsTransformer\n  metadata:\n    name: none\n  annotations: {keep: \"1\"}\n  fieldSpecs: [{kind: Nothing, path: metadata/annotations}]\n- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata:\n    name: v\n  labels: {validated-by: me}\n  fieldSpecs: [{path: metadata/labels, create: true}]\n"),
                ("r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {keep: \"1\"}\n"),
            ],
        },
        Case {
            // Legacy CRD definitions: label selector, annotation, identity (prefix only)
            // and name references, through $refs; a non-string extension and a type
            // without apiVersion/metadata count for nothing.
            name: "crds-legacy-openapi-definitions",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml, g.yaml]\ncrds: [crd.yaml, crd.json]\nnamePrefix: p-\nnameSuffix: -s\ncommonLabels: {team: a}\ncommonAnnotations: {note: \"n\"}\nconfigMapGenerator:\n- name: cfg\n  literals: [a=b]\n"),
                ("crd.yaml", CRD_DEFS),
                ("crd.json", "{\"x.io/v1.Gadget\": {\"Schema\": {\"properties\": {\"apiVersion\": {}, \"kind\": {}, \"metadata\": {}, \"target\": {\"x-kubernetes-object-ref-api-version\": \"v1\", \"x-kubernetes-object-ref-kind\": \"Secret\"}}}}}\n"),
                ("r.yaml", WIDGET),
                ("g.yaml", "apiVersion: x.io/v1\nkind: Gadget\nmetadata:\n  name: g\ntarget: {name: s}\n"),
            ],
        },
        Case {
            // vars read list items by index, numbers, booleans, labels, namespaces and the
            // default metadata.name, embedded in text or alone; unknown and escaped stay.
            name: "vars-field-path-forms",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nnamePrefix: p-\nvars:\n- name: PORT\n  objref: {kind: Service, name: svc, apiVersion: v1}\n  fieldref: {fieldpath: \"spec.ports[0].port\"}\n- name: LBL\n  objref: {kind: Service, name: svc, apiVersion: v1}\n  fieldref: {fieldpath: metadata.labels.app}\n- name: SVCNAME\n  objref: {kind: Service, name: svc, apiVersion: v1}\n- name: NS\n  objref: {kind: Service, name: svc, apiVersion: v1}\n  fieldref: {fieldpath: metadata.namespace}\n- name: BOOL\n  objref: {kind: Service, name: svc, apiVersion: v1}\n  fieldref: {fieldpath: spec.publishNotReadyAddresses}\n"),
                ("r.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  namespace: n1\n  labels: {app: foo}\nspec:\n  publishNotReadyAddresses: true\n  ports:\n  - port: 8080\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1\n        command: [\"$(PORT)\", \"$(LBL)\", \"$(SVCNAME)\", \"$(NS)\", \"$(BOOL)\", \"x$(PORT)y\"]\n        env:\n        - name: A\n          value: $(PORT)\n        args: [\"$(UNKNOWN)\", \"$$(PORT)\"]\n"),
            ],
        },
        Case {
            // Found by the random test: each base's tables reach the parent's empty
            // accumulator already settled; base0's keeps the kind-less metadata/labels spec,
            // so base1's Deployment-only spec no longer hides it for the component's labels.
            name: "configurations-from-two-bases-then-component-labels",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml, base0, base1]\ncomponents: [comp]\n"),
                ("r.yaml", OBJECTS),
                ("base0/kustomization.yaml", "resources: [r.yaml]\nconfigurations: [c.yaml]\n"),
                ("base0/c.yaml", "commonAnnotations:\n- kind: ConfigMap\n  path: data\n  create: true\ncommonLabels:\n- kind: ConfigMap\n  path: data\n  create: true\n"),
                ("base0/r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b0\n  labels: {}\n"),
                ("base1/kustomization.yaml", "resources: [r.yaml]\nconfigurations: [c.yaml]\n"),
                ("base1/c.yaml", "commonLabels:\n- kind: Deployment\n  path: metadata/labels\n  create: true\n"),
                ("base1/r.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: b1\n"),
                ("comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels:\n  team: \"yes\"\n"),
            ],
        },
        Case {
            // The kustomization is read with YAML 1.1 (sigs.k8s.io/yaml): `010` is 8.
            name: "kustomization-read-as-yaml-1-1",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nreplicas:\n- name: web\n  count: 010\n"),
                ("r.yaml", OBJECTS),
            ],
        },
    ]
}

pub fn failures() -> Vec<Failure> {
    vec![
        Failure {
            name: "builtin-iam-policy-generator-other-cloud",
            files: vec![
                ("kustomization.yaml", "generators: [g.yaml]\n"),
                ("g.yaml", "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata:\n  name: iam\ncloud: aws\n"),
            ],
            both_say: "cloud provider aws not supported yet",
        },
        Failure {
            name: "builtin-iam-policy-generator-no-cloud",
            files: vec![
                ("kustomization.yaml", "generators: [g.yaml]\n"),
                ("g.yaml", "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata:\n  name: iam\n"),
            ],
            both_say: "cloud provider  not supported yet",
        },
        Failure {
            // kustomize keeps SortOrderTransformer out of its builtin table.
            name: "sort-order-transformer-is-not-a-builtin-plugin",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: SortOrderTransformer\nmetadata:\n  name: s\nsortOptions:\n  order: fifo\n"),
                ("r.yaml", OBJECTS),
            ],
            both_say: "unable to load builtin SortOrderTransformer",
        },
        Failure {
            // `yes` is a boolean in YAML 1.1, and namePrefix a string.
            name: "kustomization-yaml-1-1-boolean-for-a-string",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nnamePrefix: yes\n"),
                ("r.yaml", OBJECTS),
            ],
            both_say: "namePrefix",
        },
        Failure {
            name: "transformer-listed-as-generator",
            files: vec![("kustomization.yaml", "generators:\n- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata:\n    name: x\n")],
            both_say: "not a generator",
        },
        Failure {
            name: "generator-listed-as-transformer",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata:\n    name: x\n"),
                ("r.yaml", OBJECTS),
            ],
            both_say: "not a transformer",
        },
        Failure {
            // A validator after one that added the validated-by label sees it gone.
            name: "validator-after-a-validated-by-label",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nvalidators:\n- v.yaml\n- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata:\n    name: v\n  labels: {validated-by: me}\n  fieldSpecs: [{path: metadata/labels, create: true}]\n"),
                ("v.yaml", "apiVersion: builtin\nkind: AnnotationsTransformer\nmetadata:\n  name: none\nannotations: {keep: \"1\"}\nfieldSpecs: [{kind: Nothing, path: metadata/annotations}]\n"),
                ("r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"),
            ],
            both_say: "validator shouldn't modify the resource map",
        },
        Failure {
            name: "validator-that-changes-an-object",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nvalidators: [v.yaml]\n"),
                ("v.yaml", "apiVersion: builtin\nkind: ValueAddTransformer\nmetadata:\n  name: v\nvalue: hello\ntargets:\n- selector: {kind: ConfigMap}\n  fieldPath: data/new\n"),
                ("r.yaml", OBJECTS),
            ],
            both_say: "validator shouldn't modify the resource map",
        },
        Failure {
            // The validated-by label on an object with other labels rebuilds its labels.
            name: "validator-label-on-labelled-object",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\nvalidators: [v.yaml]\n"),
                ("v.yaml", "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: v\nlabels: {validated-by: me}\nfieldSpecs: [{path: metadata/labels, create: true}]\n"),
                ("r.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  labels: {a: b}\n"),
            ],
            both_say: "validator shouldn't modify the resource map",
        },
        Failure {
            name: "duplicate-key-in-generator-config",
            files: vec![
                ("kustomization.yaml", "generators: [g.yaml]\n"),
                ("g.yaml", "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nliterals: [a=b]\nliterals: [c=d]\n"),
            ],
            both_say: "\"literals\"",
        },
        Failure {
            name: "json6902-transformer-without-target-name",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: PatchJson6902Transformer\nmetadata:\n  name: j\ntarget: {kind: ConfigMap}\njsonOp: '[{\"op\": \"add\", \"path\": \"/data/b\", \"value\": \"2\"}]'\n"),
                ("r.yaml", OBJECTS),
            ],
            both_say: "must specify the target name",
        },
        Failure {
            name: "namespace-transformer-bad-subject-mode",
            files: vec![
                ("kustomization.yaml", "resources: [r.yaml]\ntransformers: [t.yaml]\n"),
                ("t.yaml", "apiVersion: builtin\nkind: NamespaceTransformer\nmetadata:\n  name: n\n  namespace: x\nsetRoleBindingSubjects: some\n"),
                ("r.yaml", OBJECTS),
            ],
            both_say: "invalid value \"some\" for setRoleBindingSubjects",
        },
    ]
}
