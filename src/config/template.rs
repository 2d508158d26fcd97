//! The commented starting file `ferry init` writes.

pub const STARTER: &str = r#"# ferry.yaml: what ferry renders, for which environments, and where it ships it.
# Paths are relative to the repository root; `${env}` is replaced by the environment name.
apiVersion: ferry.dev/v1alpha1
kind: Pipeline

# What charts see as .Capabilities.KubeVersion (an environment may override it).
kubeVersion: "1.31.0"

# Extra .Capabilities.APIVersions for every chart, e.g. CRDs your clusters have.
# apiVersions: [monitoring.coreos.com/v1]

# How helm and kustomize apps render: `auto` (the default) uses ferry's built-in helm and
# kustomize (the same bytes as helm v4.1.4's `helm template` and kubectl kustomize v5.7.1) and
# the binary only for what they do not support yet; `native` never runs a binary, `binary`
# always does. An app can set its own `renderer:`; `ferry build --compare` shows that both
# agree on this repository.
# renderer: native

# Kinds whose scope ferry cannot learn from a CRD in the render.
# clusterScoped: [example.com/Widget]

# cosign keys (`ferry keygen --signing` makes a pair): `ferry push` signs with `key` (password
# from COSIGN_PASSWORD); pull, verify, `diff --against pushed` and `apply oci://` verify with
# `publicKey`. Relative to this file; an environment may set its own. A --key flag overrides them.
# signing:
#   key: cosign.key
#   publicKey: cosign.pub

environments:
  staging:
    # age public keys of the cluster (`ferry keygen` prints one); secrets are sealed to them.
    recipients: []
    # Where `ferry push` sends this environment's artifact.
    # artifact: registry.example.com/platform/staging
    # signing: {publicKey: staging.pub}
  prod:
    recipients: []

apps: {}
  # Add apps here (and drop the `{}` above).
  # A Helm chart in the repository (or `oci://...`, or a chart name with `repo:`; pin `version:`
  # and run `ferry vendor` for those).
  # web:
  #   namespace: web
  #   helm:
  #     chart: charts/web
  #     values: [apps/web/values.yaml, apps/web/values-${env}.yaml]
  #     set: {replicaCount: 2}
  #   overrides:
  #     prod:
  #       set: {replicaCount: 3}

  # A kustomize overlay per environment.
  # ingress:
  #   kustomize: apps/ingress/overlays/${env}
  #   renderer: native

  # Plain manifests, only in prod.
  # crds:
  #   path: infra/crds
  #   environments: [prod]
"#;

#[cfg(test)]
mod tests {
    use super::STARTER;
    use std::path::Path;

    #[test]
    fn the_commented_signing_block_parses_once_uncommented() {
        let text = STARTER
            .replace(
                "# signing:\n#   key: cosign.key\n#   publicKey: cosign.pub\n",
                "signing:\n  key: cosign.key\n  publicKey: cosign.pub\n",
            )
            .replace(
                "# signing: {publicKey: staging.pub}",
                "signing: {publicKey: staging.pub}",
            )
            .replace("apps: {}", "apps: {web: {path: web}}");
        let p = crate::config::parse(Path::new("ferry.yaml"), &text).expect("valid");
        assert_eq!(
            p.signing_file(Some("staging"), true),
            Some((
                "environments.staging.signing.publicKey".into(),
                "staging.pub"
            ))
        );
        assert_eq!(
            p.signing_file(Some("prod"), true),
            Some(("signing.publicKey".into(), "cosign.pub"))
        );
        assert_eq!(
            p.signing_file(Some("staging"), false),
            Some(("signing.key".into(), "cosign.key"))
        );
    }
}
